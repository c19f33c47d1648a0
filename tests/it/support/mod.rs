//! Shared helpers of the integration tests.

use std::path::PathBuf;

pub mod alertmanager;
pub mod daemon;
pub mod dns;
pub mod fake_healthchecks;
// The strict fakes are shared with the integrations' unit tests, which use other parts of them.
#[allow(dead_code)]
pub mod fake_pagerduty;
#[allow(dead_code)]
pub mod fake_slack;
#[allow(dead_code)]
pub mod fake_smtp;
pub mod fake_webhook;
#[allow(dead_code)]
pub mod fake_zendesk;
pub mod pair;
pub mod peers;
pub mod pki;
#[allow(dead_code)]
pub mod script;
pub mod webdriver;

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

/// A directory a Debian package installs (Alertmanager's source from
/// `golang-github-prometheus-alertmanager-dev`, ...). When it is missing: prints why the calling
/// test is skipped and returns None, or panics when `CI=true`.
pub fn debian_dir(path: &str, package: &str) -> Option<PathBuf> {
    let p = PathBuf::from(path);
    if p.is_dir() {
        return Some(p);
    }
    let why = format!("{path} is missing (Debian package {package})");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}; CI must install it");
    }
    eprintln!("skipping: {why}");
    None
}
