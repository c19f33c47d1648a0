//! `tocsin [run]`: loads the config, logs its warnings and waits for SIGTERM/SIGINT. The serving
//! daemon replaces the body of [`run`] later; the flags are Alertmanager's.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use tracing::{info, warn};

use crate::config::Config;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `key=value` text lines.
    Logfmt,
    /// One JSON object per line.
    Json,
}

/// Log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    /// Everything.
    Debug,
    /// Lifecycle and above (default).
    Info,
    /// Problems.
    Warn,
    /// Failures only.
    Error,
}

/// Flags of `run` (Alertmanager's names).
#[derive(Debug, Clone, Args)]
pub struct RunOpts {
    /// Config file (Alertmanager's `alertmanager.yml` schema plus tocsin's extensions).
    #[arg(
        long = "config.file",
        value_name = "FILE",
        default_value = "alertmanager.yml"
    )]
    pub config_file: PathBuf,
    /// Directory of the persistent state.
    #[arg(long = "storage.path", value_name = "DIR", default_value = "data/")]
    pub storage_path: PathBuf,
    /// Address the HTTP API listens on.
    #[arg(
        long = "web.listen-address",
        value_name = "ADDR",
        default_value = ":9093"
    )]
    pub web_listen_address: String,
    /// The URL under which tocsin is reachable (used in links and `externalURL`).
    #[arg(long = "web.external-url", value_name = "URL")]
    pub web_external_url: Option<String>,
    /// Log level.
    #[arg(long = "log.level", value_enum, default_value = "info")]
    pub log_level: LogLevel,
    /// Log format.
    #[arg(long = "log.format", value_enum, default_value = "logfmt")]
    pub log_format: LogFormat,
}

/// Sets up `tracing` output on stderr.
pub fn init_logging(level: LogLevel, format: LogFormat) {
    let level = match level {
        LogLevel::Debug => tracing::Level::DEBUG,
        LogLevel::Info => tracing::Level::INFO,
        LogLevel::Warn => tracing::Level::WARN,
        LogLevel::Error => tracing::Level::ERROR,
    };
    let b = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    // A second initialisation (tests) is harmless: keep the first.
    let _ = match format {
        LogFormat::Logfmt => b.try_init(),
        LogFormat::Json => b.json().try_init(),
    };
}

/// Entry point of `run`: logging, a runtime, then [`run`]; the exit code.
pub fn main(opts: RunOpts) -> i32 {
    init_logging(opts.log_level, opts.log_format);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "Cannot start the runtime.");
            return 1;
        }
    };
    match rt.block_on(run(opts)) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "Exiting.");
            1
        }
    }
}

/// Loads the config, logs warnings and "Loaded configuration", then waits for SIGTERM/SIGINT.
/// The signal handlers are installed first, so a signal sent once the config is reported loaded
/// always ends the process cleanly.
pub async fn run(opts: RunOpts) -> anyhow::Result<()> {
    let shutdown = Shutdown::install()?;
    info!(version = env!("CARGO_PKG_VERSION"), "Starting tocsin.");
    let file = opts.config_file.display().to_string();
    let cfg = Config::load(&opts.config_file)?;
    for w in &cfg.warnings {
        warn!(file = %file, warning = %w, "Config warning.");
    }
    info!(file = %file, hash = format!("{:016x}", cfg.hash), "Loaded configuration");
    shutdown.wait().await;
    info!("Received shutdown signal; exiting.");
    Ok(())
}

/// SIGTERM and SIGINT listeners.
#[cfg(unix)]
struct Shutdown {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Shutdown {
    fn install() -> anyhow::Result<Shutdown> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Shutdown {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

/// Ctrl-C listener.
#[cfg(not(unix))]
struct Shutdown;

#[cfg(not(unix))]
impl Shutdown {
    fn install() -> anyhow::Result<Shutdown> {
        Ok(Shutdown)
    }

    async fn wait(self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}
