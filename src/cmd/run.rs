//! `tocsin [run]`: the serving daemon. Binds the listen address, starts the app, reloads on
//! SIGHUP and shuts down cleanly on SIGTERM/SIGINT. The flags are Alertmanager's.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use tracing::{info, warn};

use anyhow::Context as _;

use super::am_flags::AlertmanagerFlags;
use super::cluster_flags::ClusterFlags;
use super::features::FeatureOpts;
use crate::app;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// logfmt lines as Alertmanager's: `ts=... caller=... level=info msg="..." key=value`.
    Logfmt,
    /// One flat JSON object per line, with the same keys.
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
    /// Move the state store aside (it is kept as a copy beside the new one) and start empty:
    /// the way out when the store is damaged or of a newer format.
    #[arg(long = "storage.reset")]
    pub storage_reset: bool,
    /// Keep no state on disk (as Alertmanager keeps alerts): a restart forgets everything.
    #[arg(long = "storage.in-memory")]
    pub storage_in_memory: bool,
    /// The size in bytes at which a log segment is sealed and folded into the store (0: 64 MiB).
    /// For tests: a small size exercises sealing, folding and recycling.
    #[arg(long = "storage.wal-segment-bytes", hide = true, default_value_t = 0)]
    pub storage_segment_bytes: u64,
    /// Address the HTTP API listens on. Repeatable, as in Alertmanager; tocsin listens on the
    /// first and warns about the others.
    #[arg(
        long = "web.listen-address",
        value_name = "ADDR",
        default_value = ":9093"
    )]
    pub web_listen_address: Vec<String>,
    /// The URL under which tocsin is reachable (used in links and `externalURL`).
    #[arg(long = "web.external-url", value_name = "URL")]
    pub web_external_url: Option<String>,
    /// Log level.
    #[arg(long = "log.level", value_enum, default_value = "info")]
    pub log_level: LogLevel,
    /// Log format.
    #[arg(long = "log.format", value_enum, default_value = "logfmt")]
    pub log_format: LogFormat,
    /// The longest an HTTP request may take (503 after); 0 means no limit, as in Alertmanager.
    #[arg(long = "web.timeout", value_name = "DURATION", default_value = "0s")]
    pub web_timeout: crate::model::Duration,
    /// How long notification-log entries are kept at most.
    #[arg(
        long = "data.retention",
        value_name = "DURATION",
        default_value = "120h"
    )]
    pub data_retention: crate::model::Duration,
    /// How often resolved alerts and expired log entries are garbage-collected.
    #[arg(
        long = "alerts.gc-interval",
        value_name = "DURATION",
        default_value = "30m"
    )]
    pub alerts_gc_interval: crate::model::Duration,
    /// How long one notification is retried (5xx, 429, connection errors) before it is given
    /// up. Retries continue across group_interval ticks (unlike Alertmanager).
    #[arg(
        long = "notify.max-retry-duration",
        value_name = "DURATION",
        default_value = "15m"
    )]
    pub notify_max_retry: crate::model::Duration,
    /// Maximum number of silences, expired ones included; 0 means no limit.
    #[arg(long = "silences.max-silences", value_name = "N", default_value_t = 0)]
    pub silences_max_silences: usize,
    /// Maximum size of one silence in bytes (as Alertmanager stores it); 0 means no limit.
    #[arg(
        long = "silences.max-silence-size-bytes",
        value_name = "BYTES",
        default_value_t = 0
    )]
    pub silences_max_silence_size_bytes: usize,
    /// How many `GET /api/v2/...` requests run at once (503 beyond); 0 means the number of
    /// cores, at least 8.
    #[arg(long = "web.get-concurrency", value_name = "N", default_value = "0")]
    pub web_get_concurrency: usize,
    /// How long shutdown waits for open requests and for notifications being sent before
    /// dropping them (what is unsent goes again after the restart; a second SIGTERM or SIGINT
    /// exits at once).
    #[arg(
        long = "web.shutdown-timeout",
        value_name = "DURATION",
        default_value = "5s"
    )]
    pub web_shutdown_timeout: crate::model::Duration,
    /// The largest request body accepted; larger ones get 413 naming the limit.
    #[arg(long = "web.max-request-bytes", value_name = "BYTES", default_value_t = crate::api::DEFAULT_MAX_BODY_BYTES)]
    pub web_max_request_bytes: usize,
    /// The largest request head (request line and headers) accepted; larger ones get 431 (414
    /// when the URL alone is over `--web.max-url-bytes`).
    #[arg(long = "web.max-header-bytes", value_name = "BYTES", default_value_t = 64 << 10)]
    pub web_max_header_bytes: usize,
    /// The longest request URL (path and query) accepted; longer ones get 414.
    #[arg(long = "web.max-url-bytes", value_name = "BYTES", default_value_t = 16 << 10)]
    pub web_max_url_bytes: usize,
    /// The most alerts one POST may carry (0: no limit); more get 413 naming the limit.
    #[arg(
        long = "alerts.max-per-request",
        value_name = "N",
        default_value_t = 10_000
    )]
    pub alerts_max_per_request: usize,
    /// The most labels one alert may carry (0: no limit); such an alert is refused (400) and the
    /// rest of its batch kept.
    #[arg(long = "alerts.max-labels", value_name = "N", default_value_t = 256)]
    pub alerts_max_labels: usize,
    /// The largest label name or value, in bytes (0: no limit); such an alert is refused (400)
    /// and the rest of its batch kept.
    #[arg(long = "alerts.max-label-bytes", value_name = "BYTES", default_value_t = 256 << 10)]
    pub alerts_max_label_bytes: usize,
    /// Alert POSTs per second per client address (0: no limit); more get 429 with Retry-After.
    #[arg(long = "web.ingest-rate-limit", value_name = "N", default_value_t = 0)]
    pub web_ingest_rate_limit: u32,
    /// Alert POSTs a client may send at once before `--web.ingest-rate-limit` applies (0: as
    /// many as the rate).
    #[arg(long = "web.ingest-rate-burst", value_name = "N", default_value_t = 0)]
    pub web_ingest_rate_burst: u32,
    /// How many connections are served at once; more wait in the listen backlog.
    #[arg(long = "web.max-connections", value_name = "N", default_value_t = 4096)]
    pub web_max_connections: usize,
    /// The longest a client may take to send a request's headers or finish a TLS handshake
    /// (against slow clients); it is then disconnected.
    #[arg(
        long = "web.read-header-timeout",
        value_name = "DURATION",
        default_value = "10s"
    )]
    pub web_read_header_timeout: crate::model::Duration,
    /// Alertmanager feature flags, comma-separated or repeated: `classic-mode` and
    /// `utf8-strict-mode` choose the matcher and label-name syntax of the config; the others
    /// (`receiver-name-in-metrics`, `alert-names-in-metrics`, `group-key-in-metrics`,
    /// `auto-gomemlimit`, `event-recorder`) are accepted with a warning.
    #[arg(long = "enable-feature", value_name = "FEATURE")]
    pub enable_feature: Vec<String>,
    /// The rest of Alertmanager's flags (accepted; warned about when they have no effect).
    #[command(flatten)]
    pub alertmanager: AlertmanagerFlags,
    /// `--cluster.*`.
    #[command(flatten)]
    pub cluster: ClusterFlags,
}

/// Sets up `tracing` output on stderr.
pub fn init_logging(level: LogLevel, format: LogFormat) {
    let level = match level {
        LogLevel::Debug => tracing::Level::DEBUG,
        LogLevel::Info => tracing::Level::INFO,
        LogLevel::Warn => tracing::Level::WARN,
        LogLevel::Error => tracing::Level::ERROR,
    };
    // A second initialisation (tests) is harmless: keep the first.
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .event_format(super::log::AlertmanagerFormat {
            json: format == LogFormat::Json,
        })
        .try_init();
}

/// Entry point of `run`: logging, a runtime, then [`run`]; the exit code.
pub fn main(opts: RunOpts) -> i32 {
    tune_allocator();
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
    let code = match rt.block_on(run(opts)) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "Exiting.");
            1
        }
    };
    // Connections still open past the shutdown deadline end here, without waiting for them.
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    code
}

/// The daemon's allocator options (mimalloc, see src/main.rs), each with the value tocsin wants
/// unless the operator set it: committing memory as it is used rather than a whole arena up
/// front, and giving freed pages back to the system at once rather than after 10 ms. With
/// mimalloc's defaults the resident memory at 100k alerts was 30% higher (121 MiB against
/// 92 MiB); with these, the same as glibc's malloc with one arena.
pub const ALLOCATOR_OPTIONS: [(&str, &str); 2] = [
    ("MIMALLOC_ARENA_EAGER_COMMIT", "0"),
    ("MIMALLOC_PURGE_DELAY", "0"),
];

/// mimalloc reads its options from the environment once, before `main`: so the daemon
/// re-executes itself once, same PID, with those of [`ALLOCATOR_OPTIONS`] that are not set (an
/// operator's own value wins, and the systemd unit sets them directly).
#[cfg(unix)]
fn tune_allocator() {
    use std::os::unix::process::CommandExt;
    let missing: Vec<(&str, &str)> = ALLOCATOR_OPTIONS
        .into_iter()
        .filter(|(k, _)| std::env::var_os(k).is_none())
        .collect();
    if missing.is_empty() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let mut cmd = std::process::Command::new(exe);
    if let Some(arg0) = args.next() {
        cmd.arg0(arg0);
    }
    // `exec` returns only on failure; then we simply run with mimalloc's defaults.
    let err = cmd.args(args).envs(missing).exec();
    eprintln!("tocsin: could not re-execute with the allocator's options ({err}); continuing");
}

#[cfg(not(unix))]
fn tune_allocator() {}

/// Go's `:9093` means every interface.
fn listen_address(a: &str) -> String {
    if a.starts_with(':') {
        format!("0.0.0.0{a}")
    } else {
        a.to_owned()
    }
}

/// Serves until SIGTERM/SIGINT; SIGHUP reloads the config.
pub async fn run(opts: RunOpts) -> anyhow::Result<()> {
    info!(version = env!("CARGO_PKG_VERSION"), "Starting tocsin.");
    // Signal handlers first: a SIGTERM that arrives during start-up must stop us cleanly.
    let mut signals = Signals::new()?;
    let features = FeatureOpts {
        enable_feature: opts.enable_feature.clone(),
    }
    .parse()
    .map_err(anyhow::Error::msg)?;
    let web_config = match opts.alertmanager.web_config_file.as_deref() {
        Some(f) if !f.is_empty() => {
            // Refuse to start on a broken file rather than serve without its protection.
            let loader = crate::webconfig::Loader::new(f);
            let loaded = loader.current()?;
            for w in &loaded.config.warnings {
                warn!(file = %f, "{w}");
            }
            info!(
                file = %f,
                tls = loaded.tls.is_some(),
                users = loaded.config.users.len(),
                "Web config loaded; it is re-read for every connection."
            );
            Some(std::sync::Arc::new(loader))
        }
        _ => None,
    };
    for w in opts.alertmanager.warnings() {
        warn!("{w}");
    }
    let cluster = opts.cluster.options().map_err(anyhow::Error::msg)?;
    for w in opts.cluster.warnings() {
        warn!("{w}");
    }
    for f in features.enabled.iter().filter(|f| !f.ends_with("-mode")) {
        warn!(
            feature = %f,
            "--enable-feature={f} is accepted but has no effect in tocsin yet."
        );
    }
    let (first, rest) = opts
        .web_listen_address
        .split_first()
        .map(|(f, r)| (f.as_str(), r))
        .unwrap_or((":9093", &[]));
    if !rest.is_empty() {
        warn!(
            ignored = ?rest,
            "--web.listen-address given more than once: tocsin listens on the first only."
        );
    }
    let addr = listen_address(first);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    let mut app_opts = app::Options::new(&opts.config_file);
    app_opts.storage_path = opts.storage_path.clone();
    app_opts.storage_reset = opts.storage_reset;
    app_opts.storage_in_memory = opts.storage_in_memory;
    app_opts.storage_segment_bytes = opts.storage_segment_bytes;
    app_opts.external_url = opts.web_external_url.clone();
    app_opts.route_prefix = opts.alertmanager.web_route_prefix.clone();
    app_opts.retention = opts.data_retention.std();
    app_opts.gc_interval = opts.alerts_gc_interval.std();
    app_opts.max_retry = opts.notify_max_retry.std();
    app_opts.web_timeout = opts.web_timeout.std();
    app_opts.load = features.load_options();
    app_opts.silence_limits = crate::silence::Limits {
        max_silences: opts.silences_max_silences,
        max_silence_size_bytes: opts.silences_max_silence_size_bytes,
    };
    app_opts.get_concurrency = opts.web_get_concurrency;
    app_opts.shutdown_timeout = opts.web_shutdown_timeout.std();
    app_opts.serve.web_config = web_config;
    app_opts.serve.max_connections = opts.web_max_connections;
    app_opts.serve.read_header_timeout = opts.web_read_header_timeout.std();
    app_opts.cluster = cluster;
    app_opts.serve.max_header_bytes = opts.web_max_header_bytes;
    app_opts.serve.max_url_bytes = opts.web_max_url_bytes;
    app_opts.max_request_bytes = opts.web_max_request_bytes;
    app_opts.limits = crate::api::limits::IngestLimits {
        max_alerts: opts.alerts_max_per_request,
        max_labels: opts.alerts_max_labels,
        max_label_bytes: opts.alerts_max_label_bytes,
        rate: opts.web_ingest_rate_limit,
        burst: opts.web_ingest_rate_burst,
    };
    app_opts.per_alertname_limit = opts.alertmanager.alerts_per_alertname_limit.unwrap_or(0);
    let handle = app::start(app_opts, listener).await?;
    info!(file = %opts.config_file.display(), "Completed loading of configuration file.");
    while let Signal::Reload = signals.next().await {
        // The reload logs its own outcome.
        let _ = handle.reload().await;
    }
    info!("Received shutdown signal; exiting.");
    let shutdown = handle.shutdown();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            s = signals.next() => if let Signal::Stop = s {
                tracing::warn!("Received a second shutdown signal; exiting now.");
                std::process::exit(1);
            },
        }
    }
}

enum Signal {
    Reload,
    Stop,
}

/// SIGHUP (reload), SIGTERM and SIGINT (stop), installed once at start.
struct Signals {
    /// SIGXFSZ, handled so that it does not kill the daemon (never read).
    #[cfg(unix)]
    _xfsz: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            // A file size limit (RLIMIT_FSIZE) must make a write fail with "file too large",
            // which the store reports as disk full, not kill the daemon: handle SIGXFSZ.
            _xfsz: signal(SignalKind::from_raw(25))?,
            hup: signal(SignalKind::hangup())?,
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    #[cfg(unix)]
    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.hup.recv() => Signal::Reload,
            _ = self.term.recv() => Signal::Stop,
            _ = self.int.recv() => Signal::Stop,
        }
    }

    #[cfg(not(unix))]
    fn new() -> anyhow::Result<Self> {
        Ok(Signals {})
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> Signal {
        let _ = tokio::signal::ctrl_c().await;
        Signal::Stop
    }
}
