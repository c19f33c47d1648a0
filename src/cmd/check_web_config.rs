//! `tocsin check-web-config FILE...`: validates `--web.config.file` files (exporter-toolkit's
//! format plus `tocsin_roles`), reading every certificate, key and CA they name, with promtool's
//! output (`FILE SUCCESS` on stdout, `FILE FAILED: why` on stderr) and exit codes (0 when all
//! are valid, 1 otherwise). Warnings (a cipher suite rustls lacks) follow a success.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::webconfig::WebConfig;

/// Arguments of `check-web-config`.
#[derive(Debug, Clone, Args)]
pub struct CheckWebConfigOpts {
    /// Web config files to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Checks each file; returns the exit code.
pub fn run(opts: &CheckWebConfigOpts, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let mut failed = false;
    for f in &opts.files {
        match WebConfig::load(f) {
            Ok(c) => {
                let _ = writeln!(out, "{} SUCCESS", f.display());
                for w in &c.warnings {
                    let _ = writeln!(out, "  warning: {w}");
                }
            }
            Err(e) => {
                failed = true;
                let _ = writeln!(err, "{} FAILED: {e}", f.display());
            }
        }
    }
    i32::from(failed)
}
