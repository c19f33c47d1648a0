//! `tocsin check-config FILE...`: amtool's output and exit codes (0 all valid, 1 otherwise),
//! plus tocsin's warnings.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::features::FeatureOpts;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::notify::Notifier;
use crate::notify::http::ClientCache;

/// Arguments of `check-config`.
#[derive(Debug, Clone, Args)]
pub struct CheckConfigOpts {
    /// Config files to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// `--enable-feature`: `classic-mode` checks as Alertmanager 0.26 and earlier do.
    #[command(flatten)]
    pub features: FeatureOpts,
}

/// Checks each file; returns the exit code.
pub fn run(opts: &CheckConfigOpts, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let load = match opts.features.parse() {
        Ok(f) => f.load_options(),
        Err(e) => {
            let _ = writeln!(err, "tocsin: error: {e}");
            return 1;
        }
    };
    let mut failed = 0;
    for f in &opts.files {
        let name = f.display();
        // Templates and integrations are built too: whatever would fail the daemon's load
        // (a broken template, a `payload:` template, an unsupported http_config option) fails
        // the check.
        let loaded = Config::load_with(f, load)
            .map_err(|e| e.to_string())
            .and_then(|c| {
                let templates = std::sync::Arc::new(c.load_templates().map_err(|e| e.to_string())?);
                let built = Notifier::build_receivers(
                    &c.receivers,
                    &templates,
                    &Metrics::new(),
                    ClientCache::shared(),
                )
                .map_err(|e| e.to_string())?;
                let mut warnings = c.warnings.clone();
                warnings.extend(built.warnings);
                Ok((c, warnings))
            });
        match loaded {
            Ok((c, warnings)) => {
                let _ = writeln!(out, "Checking '{name}'  SUCCESS");
                let _ = writeln!(out, "Found:");
                let _ = writeln!(out, " - global config");
                let _ = writeln!(out, " - route");
                let _ = writeln!(out, " - {} inhibit rules", c.inhibit_rules.len());
                let _ = writeln!(out, " - {} receivers", c.receivers.len());
                let _ = writeln!(out, " - {} templates", c.templates.len());
                if !c.time_intervals.is_empty() {
                    let _ = writeln!(out, " - {} time intervals", c.time_intervals.len());
                }
                if !warnings.is_empty() {
                    let _ = writeln!(out, "Warnings:");
                    for w in &warnings {
                        let _ = writeln!(out, " - {name}:{w}");
                    }
                }
                let _ = writeln!(out);
            }
            Err(e) => {
                failed += 1;
                let text = e;
                if text.lines().count() > 1 {
                    let _ = writeln!(out, "Checking '{name}'  FAILED:");
                    for l in text.lines() {
                        let _ = writeln!(out, "  {l}");
                    }
                } else {
                    let _ = writeln!(out, "Checking '{name}'  FAILED: {text}");
                }
                let _ = writeln!(out);
            }
        }
    }
    if failed > 0 {
        let _ = writeln!(err, "tocsin: error: failed to validate {failed} file(s)");
        1
    } else {
        0
    }
}
