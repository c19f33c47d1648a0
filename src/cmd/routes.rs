//! `tocsin routes [show|test]`: amtool's `config routes` against a local config file. `show`
//! prints the routing tree; `test` prints the receivers an alert with the given labels reaches,
//! comma-separated, and with `--verify.receivers` exits 1 when they differ.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::features::FeatureOpts;
use crate::config::{Config, Route};
use crate::dispatch::route::matching_routes;
use crate::model::{LabelSet, MatchType, MatcherSyntax, matchers_to_string, parse_matcher};

/// Arguments of `routes`.
#[derive(Debug, Clone, Args)]
pub struct RoutesOpts {
    /// The config file.
    #[arg(
        long = "config.file",
        value_name = "FILE",
        global = true,
        default_value = "alertmanager.yml"
    )]
    pub config_file: PathBuf,
    /// `--enable-feature` (matcher and label-name syntax).
    #[command(flatten)]
    pub features: FeatureOpts,
    /// `show` (the default) or `test`.
    #[command(subcommand)]
    pub command: Option<RoutesCommand>,
}

/// The `routes` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum RoutesCommand {
    /// Print the routing tree.
    Show,
    /// Print the receivers an alert with these labels reaches.
    Test(TestOpts),
}

/// Arguments of `routes test`.
#[derive(Debug, Clone, Args)]
pub struct TestOpts {
    /// Expected receivers, comma-separated; exit 1 when the result differs.
    #[arg(long = "verify.receivers", value_name = "RECEIVERS")]
    pub verify_receivers: Option<String>,
    /// Labels of the alert: `name=value`, `name="quoted value"`, `name=`.
    #[arg(value_name = "LABEL")]
    pub labels: Vec<String>,
}

/// Parses labels the way amtool does: each is an `=` matcher.
pub fn parse_labels(args: &[String]) -> Result<LabelSet, String> {
    let mut ls = LabelSet::new();
    for a in args {
        let m = parse_matcher(a, MatcherSyntax::Fallback).map_err(|e| format!("{a:?}: {e}"))?;
        if m.op != MatchType::Equal {
            return Err("labels must be specified as key=value pairs".into());
        }
        ls.insert(m.name, m.value);
    }
    Ok(ls)
}

/// Runs `routes`; returns the exit code.
pub fn run(opts: &RoutesOpts, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let load = match opts.features.parse() {
        Ok(f) => f.load_options(),
        Err(e) => {
            let _ = writeln!(err, "tocsin: error: {e}");
            return 1;
        }
    };
    let cfg = match Config::load_with(&opts.config_file, load) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(err, "tocsin: error: {e}");
            return 1;
        }
    };
    match &opts.command {
        None | Some(RoutesCommand::Show) => {
            let _ = writeln!(out, "Routing tree:");
            let _ = write!(out, "{}", render_tree(&cfg.route));
            let _ = writeln!(out);
            0
        }
        Some(RoutesCommand::Test(t)) => {
            let labels = match parse_labels(&t.labels) {
                Ok(l) => l,
                Err(e) => {
                    let _ = writeln!(err, "tocsin: error: {e}");
                    return 1;
                }
            };
            let receivers: Vec<&str> = matching_routes(&cfg.route, &labels)
                .iter()
                .map(|r| r.receiver.as_str())
                .collect();
            let slug = receivers.join(",");
            let _ = writeln!(out, "{slug}");
            match &t.verify_receivers {
                Some(want) if *want != slug => {
                    let _ = writeln!(
                        out,
                        "WARNING: Expected receivers did not match resolved receivers."
                    );
                    1
                }
                _ => 0,
            }
        }
    }
}

/// One node's line, as amtool prints it.
fn slug(r: &Route) -> String {
    let mut s = if r.matchers.is_empty() {
        "default-route".to_owned()
    } else {
        matchers_to_string(&r.matchers)
    };
    if r.continue_matching {
        s.push_str("  continue: true");
    }
    s.push_str("  receiver: ");
    s.push_str(&r.receiver);
    s
}

/// The tree in amtool's (treeprint's) layout, starting with a `.` line.
pub fn render_tree(root: &Route) -> String {
    let mut out = String::from(".\n");
    // (node, prefix of its children, is last) — iterative, in order.
    let mut stack: Vec<(&Route, String, bool)> = vec![(root, String::new(), true)];
    while let Some((r, prefix, last)) = stack.pop() {
        out.push_str(&prefix);
        out.push_str(if last { "└── " } else { "├── " });
        out.push_str(&slug(r));
        out.push('\n');
        let child_prefix = format!("{prefix}{}", if last { "    " } else { "│   " });
        let n = r.routes.len();
        for (i, c) in r.routes.iter().enumerate().rev() {
            stack.push((c, child_prefix.clone(), i + 1 == n));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_like_amtool() {
        let l = parse_labels(&["a=b".into(), "c=\"d e\"".into(), "f=".into()]).unwrap();
        assert_eq!(l.get("a"), "b");
        assert_eq!(l.get("c"), "d e");
        assert_eq!(l.get("f"), "");
        assert!(parse_labels(&["a!=b".into()]).is_err());
        assert!(parse_labels(&["nonsense".into()]).is_err());
    }

    #[test]
    fn tree_layout() {
        let cfg = Config::from_yaml(
            "route:\n  receiver: d\n  routes:\n  - matchers: [a=b]\n    receiver: x\n    continue: true\n    routes:\n    - matchers: [c=d]\n      receiver: y\n  - matchers: [e=~f]\n    receiver: d\nreceivers: [{name: d}, {name: x}, {name: y}]\n",
            std::path::Path::new("."),
            "t.yml",
        )
        .unwrap();
        assert_eq!(
            render_tree(&cfg.route),
            ".\n└── default-route  receiver: d\n    ├── {a=\"b\"}  continue: true  receiver: x\n    │   └── {c=\"d\"}  receiver: y\n    └── {e=~\"f\"}  receiver: d\n"
        );
    }
}
