//! The composition root: the only place that wires the parts together.
//!
//! `start` loads the config, builds the store, notifier and dispatcher, serves the API on the
//! listener the caller bound (tests bind port 0), and runs the background loops (reload,
//! garbage collection, heartbeat deadlines, dead man's switch, systemd watchdog). Every loop takes the cancellation token; shutdown is
//! cancel, then wait for the loops. Layer L6.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use jiff::SignedDuration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::alerts::AlertStore;
use crate::api::{self, ApiState, ReloadRequest};
use crate::clock;
use crate::config::{Config, ConfigWarning};
use crate::dispatch::{Dispatcher, RouteTree};
use crate::heartbeat::Heartbeats;
use crate::heartbeat::deadman::Health;
use crate::inhibit::Inhibitor;
use crate::metrics::Metrics;
use crate::nflog::Nflog;
use crate::notify::deadman;
use crate::notify::mute::{InhibitStage, MuteStages, SilenceStage, TimeIntervalStage};
use crate::notify::{Notifier, NotifySettings};
use crate::silence::{self, Silences};
use crate::storage;
use crate::template::Templates;

/// Start-up options (from the command line).
#[derive(Debug, Clone)]
pub struct Options {
    /// `--config.file`.
    pub config_file: PathBuf,
    /// `--storage.path`.
    pub storage_path: PathBuf,
    /// `--web.external-url`; defaults to `http://<hostname>:<port>`.
    pub external_url: Option<String>,
    /// `--data.retention`: how long nflog entries may live.
    pub retention: Duration,
    /// `--notify.max-retry-duration`: how long one notification is retried.
    pub max_retry: Duration,
    /// `--alerts.gc-interval`.
    pub gc_interval: Duration,
    /// `--web.timeout`: the longest an HTTP request may take; zero means no limit.
    pub web_timeout: Duration,
    /// `--silences.max-silences` and `--silences.max-silence-size-bytes`.
    pub silence_limits: silence::Limits,
    /// `--web.get-concurrency`: how many `GET /api/v2/...` run at once; 0 means the number of
    /// cores, at least 8 (Alertmanager's default).
    pub get_concurrency: usize,
    /// `--web.shutdown-timeout`: how long shutdown waits for open requests before dropping
    /// them.
    pub shutdown_timeout: Duration,
    /// `--enable-feature`: the matcher and label-name syntax configs are loaded with.
    pub load: crate::config::LoadOptions,
}

impl Options {
    /// Options with Alertmanager's defaults for everything but the config file.
    pub fn new(config_file: impl Into<PathBuf>) -> Self {
        Options {
            config_file: config_file.into(),
            storage_path: PathBuf::from("data/"),
            external_url: None,
            retention: Duration::from_secs(120 * 3600),
            max_retry: Duration::from_secs(15 * 60),
            gc_interval: Duration::from_secs(30 * 60),
            web_timeout: Duration::ZERO,
            silence_limits: silence::Limits::default(),
            get_concurrency: 0,
            shutdown_timeout: Duration::from_secs(5),
            load: crate::config::LoadOptions::default(),
        }
    }
}

/// A running daemon.
pub struct AppHandle {
    /// The address the API listens on.
    pub addr: SocketAddr,
    /// Cancels every loop.
    cancel: CancellationToken,
    /// Reload requests.
    reload_tx: mpsc::Sender<ReloadRequest>,
    /// The loops.
    tasks: JoinSet<()>,
    /// `--web.shutdown-timeout`.
    shutdown_timeout: Duration,
}

impl AppHandle {
    /// Reloads the config (as SIGHUP and `POST /-/reload` do).
    pub async fn reload(&self) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.reload_tx
            .send(tx)
            .await
            .map_err(|_| "shutting down".to_owned())?;
        rx.await.map_err(|_| "shutting down".to_owned())?
    }

    /// Stops serving and waits for every loop to end, and for open requests to finish for at
    /// most `--web.shutdown-timeout`: a client that never completes its request, or never reads
    /// its answer, cannot hold the daemon up. Past the deadline the server stops waiting; what
    /// is left of those connections ends with the process.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        let tasks = &mut self.tasks;
        let drained = tokio::time::timeout(self.shutdown_timeout, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                timeout = %crate::model::Duration(self.shutdown_timeout),
                "Shutdown deadline passed; dropping the open connections."
            );
            self.tasks.shutdown().await;
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}

struct Parts {
    tree: Arc<RouteTree>,
    notifier: Arc<Notifier>,
    templates: Arc<Templates>,
    /// The config's warnings plus the notifier's (configs tocsin does not send to).
    warnings: Vec<ConfigWarning>,
}

/// The state the mute stages read, which outlives every config.
struct MuteState {
    /// The silences.
    silences: Arc<Silences>,
    /// The inhibition rules (swapped on reload) and their source alerts.
    inhibitor: Arc<Inhibitor>,
}

fn build(
    cfg: &Config,
    nflog: &Arc<Nflog>,
    metrics: &Arc<Metrics>,
    settings: &NotifySettings,
    cancel: &CancellationToken,
    mutes: &MuteState,
) -> Result<Parts, String> {
    let templates = Arc::new(cfg.load_templates().map_err(|e| e.to_string())?);
    let built = Notifier::build_receivers(&cfg.receivers, &templates, metrics)
        .map_err(|e| e.to_string())?;
    let receivers = built.receivers;
    metrics.receivers.set(receivers.len() as i64);
    metrics.integrations.clear();
    for r in &receivers {
        for i in &r.integrations {
            metrics
                .integrations
                .get_or_create(&vec![("type", i.kind.to_owned())])
                .inc();
        }
    }
    let mut warnings = cfg.warnings.clone();
    warnings.extend(built.warnings);
    Ok(Parts {
        warnings,
        templates,
        tree: Arc::new(RouteTree::new(&cfg.route)),
        notifier: Arc::new(
            Notifier::new(
                receivers,
                Arc::clone(nflog),
                Arc::clone(metrics),
                settings.clone(),
                cancel.clone(),
            )
            .with_mute_stages(MuteStages {
                inhibit: InhibitStage::new(Arc::clone(&mutes.inhibitor)),
                time_intervals: TimeIntervalStage::new(Arc::new(cfg.time_intervals.clone())),
                silence: SilenceStage::new(Arc::clone(&mutes.silences)),
            }),
        ),
    })
}

fn loaded(metrics: &Metrics, cfg: &Config) {
    metrics.config_hash.set(cfg.hash as f64);
    metrics.config_last_reload_successful.set(1);
    metrics
        .config_last_reload_success_timestamp
        .set(clock::now().as_millisecond() as f64 / 1000.0);
}

/// What the dead man's switch loop reads each round.
struct DeadmanFacts(Arc<ApiState>);

impl deadman::Facts for DeadmanFacts {
    fn config(&self) -> Arc<Config> {
        self.0.config()
    }
    fn health(&self) -> Health {
        Health {
            config_failed: self.0.metrics.config_last_reload_successful.get() == 0,
            overdue_flush: self
                .0
                .dispatcher
                .overdue(Duration::from_secs(60))
                .map(|late| format!("the earliest group flush is {late:?} late")),
        }
    }
    fn alerts(&self) -> Vec<Arc<crate::model::Alert>> {
        self.0.store.list()
    }
}

/// Starts the daemon on `listener`.
pub async fn start(opts: Options, listener: TcpListener) -> anyhow::Result<AppHandle> {
    let cfg = Config::load_with(&opts.config_file, opts.load)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("loading {}", opts.config_file.display()))?;
    let addr = listener
        .local_addr()
        .context("reading the listen address")?;
    let external_url = opts
        .external_url
        .clone()
        .unwrap_or_else(|| format!("http://{}:{}", hostname(), addr.port()))
        .trim_end_matches('/')
        .to_owned();
    let cancel = CancellationToken::new();
    let metrics = Arc::new(Metrics::new());
    let nflog = Arc::new(Nflog::new());
    let store = Arc::new(AlertStore::new());
    let retention = SignedDuration::try_from(opts.retention).unwrap_or(SignedDuration::MAX);
    let silences = Arc::new(Silences::new(retention, opts.silence_limits));
    let silences_path = opts.storage_path.join(storage::SILENCES_FILE);
    storage::ensure_dir(&opts.storage_path)?;
    if let Some(bytes) = storage::read_if_exists(&silences_path)? {
        let entries = Silences::decode_snapshot(&bytes)
            .with_context(|| format!("loading {}", silences_path.display()))?;
        if let Err(e) = silences.merge(entries, clock::now()) {
            tracing::warn!(file = %silences_path.display(), error = %e, "Some silences could not be loaded.");
        }
        tracing::info!(silences = silences.len(), "Loaded silences.");
    }
    let inhibitor = Arc::new(Inhibitor::new(&cfg.inhibit_rules));
    let settings = NotifySettings {
        external_url: external_url.clone(),
        max_retry: opts.max_retry,
        retention: SignedDuration::try_from(opts.retention).unwrap_or(SignedDuration::MAX),
    };
    let mutes = MuteState {
        silences: Arc::clone(&silences),
        inhibitor: Arc::clone(&inhibitor),
    };
    let parts =
        build(&cfg, &nflog, &metrics, &settings, &cancel, &mutes).map_err(anyhow::Error::msg)?;
    for w in &parts.warnings {
        tracing::warn!(warning = %w, "Configuration warning.");
    }
    loaded(&metrics, &cfg);
    let dispatcher = Dispatcher::new(
        parts.tree,
        parts.notifier,
        Arc::clone(&metrics),
        cancel.clone(),
    );
    let (reload_tx, mut reload_rx) = mpsc::channel::<ReloadRequest>(4);
    let (saved_tx, saved_rx) = tokio::sync::watch::channel(silences.version());
    let heartbeats = Arc::new(Heartbeats::new(&cfg.heartbeats));
    let get_limit = match opts.get_concurrency {
        0 => api::default_get_concurrency(),
        n => n,
    };
    let state = Arc::new(ApiState {
        store: Arc::clone(&store),
        dispatcher: dispatcher.clone(),
        heartbeats: Arc::clone(&heartbeats),
        config: Mutex::new(Arc::new(cfg)),
        templates: Mutex::new(Arc::clone(&parts.templates)),
        metrics: Arc::clone(&metrics),
        reload: reload_tx.clone(),
        started: clock::now(),
        external_url,
        timeout: (!opts.web_timeout.is_zero()).then_some(opts.web_timeout),
        parse_slots: tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        ),
        silences: Arc::clone(&silences),
        silences_saved: Some(saved_rx),
        inhibitor: Arc::clone(&inhibitor),
        get_slots: Arc::new(tokio::sync::Semaphore::new(get_limit)),
        get_limit,
    });

    let mut tasks = JoinSet::new();
    tasks.spawn(dispatcher.clone().run());
    tasks.spawn(persist_silences(
        Arc::clone(&silences),
        silences_path,
        saved_tx,
        cancel.clone(),
    ));
    // Heartbeats: checks that go down enter the pipeline as alerts; the dead man's switch pings.
    {
        let st = Arc::clone(&state);
        let emit = move |alerts| api::heartbeats::emit(&st, alerts);
        tasks.spawn(Arc::clone(&heartbeats).run(cancel.clone(), emit));
        let facts: Arc<dyn deadman::Facts> = Arc::new(DeadmanFacts(Arc::clone(&state)));
        tasks.spawn(deadman::run(facts, Arc::clone(&metrics), cancel.clone()));
    }
    {
        let c = cancel.clone();
        let server = warp::serve(api::routes(Arc::clone(&state)))
            .incoming(listener)
            .graceful(async move { c.cancelled().await });
        tasks.spawn(server.run());
    }
    // Reload loop: one reload at a time; a failed one keeps the old config.
    {
        let (c, state, opts) = (cancel.clone(), Arc::clone(&state), opts.clone());
        let (nflog, metrics) = (Arc::clone(&nflog), Arc::clone(&metrics));
        tasks.spawn(async move {
            loop {
                let reply = tokio::select! {
                    r = reload_rx.recv() => match r { Some(r) => r, None => return },
                    _ = c.cancelled() => return,
                };
                let result = (|| {
                    let cfg = Config::load_with(&opts.config_file, opts.load).map_err(|e| e.to_string())?;
                    let parts = build(&cfg, &nflog, &metrics, &settings, &c, &mutes)?;
                    Ok::<_, String>((cfg, parts))
                })();
                let answer = match result {
                    Ok((cfg, parts)) => {
                        for w in &parts.warnings {
                            tracing::warn!(warning = %w, "Configuration warning.");
                        }
                        loaded(&metrics, &cfg);
                        let gone = state.heartbeats.reload(&cfg.heartbeats, clock::now());
                        api::heartbeats::emit(&state, gone);
                        *state.config.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(cfg);
                        *state.templates.lock().unwrap_or_else(|p| p.into_inner()) =
                            Arc::clone(&parts.templates);
                        let rules = state.config().inhibit_rules.clone();
                        state.inhibitor.set_rules(&rules, || state.store.list(), clock::now());
                        state
                            .dispatcher
                            .reload(parts.tree, parts.notifier, &state.store.list());
                        tracing::info!(file = %opts.config_file.display(), "Completed loading of configuration file.");
                        Ok(())
                    }
                    Err(e) => {
                        metrics.config_last_reload_successful.set(0);
                        tracing::error!(error = %e, "Loading configuration file failed; keeping the old one.");
                        Err(e)
                    }
                };
                let _ = reply.send(answer);
            }
        });
    }
    // Garbage collection of resolved alerts, expired nflog entries, inhibiting alerts that
    // resolved by time, and silences past their retention.
    {
        let (c, store, nflog, every) = (
            cancel.clone(),
            Arc::clone(&store),
            Arc::clone(&nflog),
            opts.gc_interval,
        );
        let (silences, inhibitor) = (Arc::clone(&silences), Arc::clone(&inhibitor));
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let now = clock::now();
                        let alerts = store.gc(now);
                        let entries = nflog.gc(now);
                        let sources = inhibitor.gc(now);
                        let silences = silences.gc(now);
                        tracing::debug!(alerts, entries, sources, silences, "Garbage collection done.");
                    }
                    _ = c.cancelled() => return,
                }
            }
        });
    }
    // systemd: READY=1 once serving, then WATCHDOG=1 while the dispatcher answers.
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    if let Some(period) = sd_notify::watchdog_enabled() {
        let (c, d) = (cancel.clone(), dispatcher.clone());
        let every = period / 2;
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let _ = d.tree(); // takes the dispatcher lock: proves it is not stuck
                        let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
                    }
                    _ = c.cancelled() => return,
                }
            }
        });
    }
    tracing::info!(address = %addr, "Listening.");
    Ok(AppHandle {
        addr,
        cancel,
        reload_tx,
        tasks,
        shutdown_timeout: opts.shutdown_timeout,
    })
}

/// Writes the silence snapshot after every change (changes that come while a write runs are
/// written together by the next one) and once more at shutdown; publishes the version written,
/// which the API waits for before answering a change.
async fn persist_silences(
    silences: Arc<Silences>,
    path: PathBuf,
    saved: tokio::sync::watch::Sender<u64>,
    cancel: CancellationToken,
) {
    let mut changes = silences.subscribe();
    loop {
        let stop = tokio::select! {
            r = changes.changed() => r.is_err(),
            _ = cancel.cancelled() => true,
        };
        let version = *changes.borrow_and_update();
        if version > *saved.borrow() {
            let bytes = silences.snapshot_bytes();
            let p = path.clone();
            let written =
                tokio::task::spawn_blocking(move || storage::write_atomic(&p, &bytes)).await;
            match written {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "Writing the silence snapshot failed."),
                Err(e) => tracing::error!(error = %e, "Writing the silence snapshot failed."),
            }
            // Published even after a failure: the change holds in memory, the answer must not
            // hang; the error is logged and the next change tries again.
            let _ = saved.send(version);
        }
        if stop {
            return;
        }
    }
}
