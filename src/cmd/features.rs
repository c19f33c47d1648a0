//! `--enable-feature`: Alertmanager's feature flags, repeatable and comma-separated. `classic-mode`
//! and `utf8-strict-mode` choose the matcher syntax and the label-name rule (the default is
//! Alertmanager's fallback mode: UTF-8 first, classic when that fails); the other flags are
//! accepted, and the daemon says which of them have no effect in tocsin.

use clap::Args;

use crate::config::LoadOptions;
use crate::model::MatcherSyntax;

/// Every flag Alertmanager 0.34 knows.
pub const KNOWN: &[&str] = &[
    "receiver-name-in-metrics",
    "alert-names-in-metrics",
    "group-key-in-metrics",
    "classic-mode",
    "utf8-strict-mode",
    "auto-gomemlimit",
    "event-recorder",
];

/// The `--enable-feature` flag, shared by the daemon and the offline commands.
#[derive(Debug, Clone, Default, Args)]
pub struct FeatureOpts {
    /// Alertmanager feature flags (comma-separated, repeatable): `classic-mode`,
    /// `utf8-strict-mode` (matcher and label-name syntax), `receiver-name-in-metrics`,
    /// `alert-names-in-metrics`, `group-key-in-metrics`, `auto-gomemlimit`, `event-recorder`.
    #[arg(long = "enable-feature", value_name = "FEATURE", global = true)]
    pub enable_feature: Vec<String>,
}

/// The features asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    /// Config load options (matcher syntax, label-name rule).
    pub syntax: MatcherSyntax,
    /// Every flag given, in order, without duplicates.
    pub enabled: Vec<String>,
}

impl Features {
    /// The config load options these features select.
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            matcher_syntax: self.syntax,
        }
    }
}

impl FeatureOpts {
    /// Checks the flags as Alertmanager does: an unknown name is an error, and the two matcher
    /// modes exclude each other.
    pub fn parse(&self) -> Result<Features, String> {
        let mut enabled: Vec<String> = Vec::new();
        for v in &self.enable_feature {
            for f in v.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                if !KNOWN.contains(&f) {
                    return Err(format!(
                        "unknown option {f:?} for --enable-feature (known: {})",
                        KNOWN.join(", ")
                    ));
                }
                if !enabled.iter().any(|e| e == f) {
                    enabled.push(f.to_owned());
                }
            }
        }
        let has = |f: &str| enabled.iter().any(|e| e == f);
        let syntax = match (has("classic-mode"), has("utf8-strict-mode")) {
            (true, true) => {
                return Err("cannot have both classic and UTF-8 modes enabled".into());
            }
            (true, false) => MatcherSyntax::Classic,
            (false, true) => MatcherSyntax::Utf8Strict,
            (false, false) => MatcherSyntax::Fallback,
        };
        Ok(Features { syntax, enabled })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &[&str]) -> Result<Features, String> {
        FeatureOpts {
            enable_feature: v.iter().map(|s| s.to_string()).collect(),
        }
        .parse()
    }

    #[test]
    fn modes_and_errors() {
        assert_eq!(parse(&[]).unwrap().syntax, MatcherSyntax::Fallback);
        assert_eq!(
            parse(&["classic-mode"]).unwrap().syntax,
            MatcherSyntax::Classic
        );
        let f = parse(&[
            "utf8-strict-mode,receiver-name-in-metrics",
            "event-recorder",
        ])
        .unwrap();
        assert_eq!(f.syntax, MatcherSyntax::Utf8Strict);
        assert_eq!(f.enabled.len(), 3);
        assert!(parse(&["classic-mode,utf8-strict-mode"]).is_err());
        assert!(
            parse(&["no-such-thing"])
                .unwrap_err()
                .contains("no-such-thing")
        );
    }
}
