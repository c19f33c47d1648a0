//! Shared helpers of the integration tests.

use std::path::PathBuf;

pub mod daemon;
pub mod fake_webhook;

/// The path of a tool a Debian package installs (`amtool`, `alertmanager`, ...), found on
/// `PATH`. When it is missing: prints why the calling test is skipped and returns None, or
/// panics when `CI=true` (CI installs every tool, so a missing one is a broken setup).
pub fn debian_tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let why =
            format!("{name} is not installed (Debian package prometheus-alertmanager or similar)");
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{why}; CI must install it");
        }
        eprintln!("skipping: {why}");
    }
    found
}
