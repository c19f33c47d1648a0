//! The composition root: the only place that wires the parts together.
//!
//! `start` loads the config, builds the store, notifier and dispatcher, serves the API on the
//! listener the caller bound (tests bind port 0), and runs the background loops (reload,
//! garbage collection, heartbeat deadlines, dead man's switch, systemd watchdog). Every loop
//! takes the cancellation token; shutdown is cancel, then wait for the loops and, up to the same
//! deadline, for the notifications in flight (their own token cancels what is left), then close
//! the store. Layer L6.

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
use crate::cluster::{self, Cluster};
use crate::config::{Config, ConfigWarning};
use crate::dispatch::{Dispatcher, RouteTree};
use crate::heartbeat::Heartbeats;
use crate::heartbeat::deadman::Health;
use crate::inhibit::Inhibitor;
use crate::metrics::Metrics;
use crate::nflog::Nflog;
use crate::notify::claim::Claims;
use crate::notify::deadman;
use crate::notify::http::ClientCache;
use crate::notify::mute::{InhibitStage, MuteStages, SilenceStage, TimeIntervalStage};
use crate::notify::{Notifier, NotifySettings};
use crate::silence::{self, Silences};
use crate::storage;
use crate::template::Templates;

mod replicate;

/// Start-up options (from the command line).
#[derive(Debug, Clone)]
pub struct Options {
    /// `--config.file`.
    pub config_file: PathBuf,
    /// `--storage.path`.
    pub storage_path: PathBuf,
    /// `--storage.reset`: move the old store aside (kept as a copy) and start empty.
    pub storage_reset: bool,
    /// `--storage.in-memory`: keep nothing on disk.
    pub storage_in_memory: bool,
    /// The size a log segment is sealed at (0: the default); tests set a small one.
    pub storage_segment_bytes: u64,
    /// `--web.external-url`; defaults to `http://<hostname>:<port>`.
    pub external_url: Option<String>,
    /// `--web.route-prefix`: the path everything is served under; defaults to the external
    /// URL's path, as in Alertmanager.
    pub route_prefix: Option<String>,
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
    /// `--web.shutdown-timeout`: how long shutdown waits for open requests, and for the
    /// notifications in flight, before dropping them.
    pub shutdown_timeout: Duration,
    /// `--enable-feature`: the matcher and label-name syntax configs are loaded with.
    pub load: crate::config::LoadOptions,
    /// `--web.config.file` and the connection limits.
    pub serve: api::server::ServeOptions,
    /// `--cluster.*`: `None` runs alone.
    pub cluster: Option<cluster::Options>,
    /// `--web.max-request-bytes`: the largest request body accepted.
    pub max_request_bytes: usize,
    /// Alerts per request, labels per alert, label size, ingest rate per client.
    pub limits: api::limits::IngestLimits,
    /// `--alerts.per-alertname-limit` (0 or less: none).
    pub per_alertname_limit: i64,
}

impl Options {
    /// Options with Alertmanager's defaults for everything but the config file.
    pub fn new(config_file: impl Into<PathBuf>) -> Self {
        Options {
            config_file: config_file.into(),
            storage_path: PathBuf::from("data/"),
            storage_reset: false,
            storage_in_memory: false,
            storage_segment_bytes: 0,
            external_url: None,
            route_prefix: None,
            retention: Duration::from_secs(120 * 3600),
            max_retry: Duration::from_secs(15 * 60),
            gc_interval: Duration::from_secs(30 * 60),
            web_timeout: Duration::ZERO,
            silence_limits: silence::Limits::default(),
            get_concurrency: 0,
            shutdown_timeout: Duration::from_secs(5),
            serve: api::server::ServeOptions::default(),
            max_request_bytes: api::DEFAULT_MAX_BODY_BYTES,
            limits: api::limits::IngestLimits::default(),
            per_alertname_limit: 0,
            load: crate::config::LoadOptions::default(),
            cluster: None,
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
    /// The state store (None with `--storage.in-memory`), closed last.
    storage: Option<storage::Store>,
    /// Hands the heartbeat checks' last changes to storage at shutdown.
    heartbeats: Arc<Heartbeats>,
    /// Its flushes in flight are waited for at shutdown.
    dispatcher: Dispatcher,
    /// The cluster peer, stopped after the loops.
    cluster: Option<Arc<Cluster>>,
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
    ///
    /// Notifications being sent when the signal came (a slow receiver, a retry) are given the
    /// same deadline to finish; the scheduler starts no new ones. What is still unsent then is
    /// cancelled and sent again at once after the restart (its group's record says so).
    ///
    /// Then the state store is closed: what is queued is written, the log is folded into the
    /// tables, the file is closed.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        let tasks = &mut self.tasks;
        let (drained, cut) = tokio::join!(
            tokio::time::timeout(self.shutdown_timeout, async {
                while tasks.join_next().await.is_some() {}
            }),
            self.dispatcher.drain(self.shutdown_timeout),
        );
        if cut > 0 {
            tracing::warn!(
                flushes = cut,
                timeout = %crate::model::Duration(self.shutdown_timeout),
                "Shutdown deadline passed with notifications still being sent; they are sent again after the restart."
            );
        }
        if drained.is_err() {
            tracing::warn!(
                timeout = %crate::model::Duration(self.shutdown_timeout),
                "Shutdown deadline passed; dropping the open connections."
            );
            self.tasks.shutdown().await;
        }
        if let Some(c) = self.cluster.take().and_then(Arc::into_inner) {
            c.shutdown().await;
        }
        if let Some(store) = self.storage.take() {
            // The checks' states and ping logs (pings write only their state as they come).
            self.heartbeats.store_all();
            let _ = tokio::task::spawn_blocking(move || store.close()).await;
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
    /// In a cluster: send claims (kept across reloads).
    claims: Option<Arc<Claims>>,
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
    let built =
        Notifier::build_receivers(&cfg.receivers, &templates, metrics, ClientCache::shared())
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
            .with_claims(mutes.claims.clone())
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
            storage: self.0.journal.health().err().map(|e| e.to_string()),
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
    fn pinger(&self) -> bool {
        self.0
            .cluster
            .as_ref()
            .is_none_or(|rx| rx.borrow().position == 0)
    }
}

/// The path everything is served under, as Alertmanager derives it: `--web.route-prefix`, else
/// the external URL's path; without its trailing slash, empty for the root.
fn route_prefix(flag: Option<&str>, external_url: &str) -> String {
    let path = match flag.filter(|p| !p.is_empty()) {
        Some(p) => p.to_owned(),
        None => {
            let rest = external_url
                .split_once("://")
                .map_or(external_url, |(_, r)| r);
            let path = rest.find('/').map_or("", |i| &rest[i..]);
            path.split(['?', '#']).next().unwrap_or("").to_owned()
        }
    };
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
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
    let route_prefix = route_prefix(opts.route_prefix.as_deref(), &external_url);
    let cancel = CancellationToken::new();
    // Cancels notifications in flight: only once shutdown stops waiting for them.
    let sends = CancellationToken::new();
    let metrics = Arc::new(Metrics::new());
    let nflog = Arc::new(Nflog::new());
    let store = Arc::new(AlertStore::new());
    let retention = SignedDuration::try_from(opts.retention).unwrap_or(SignedDuration::MAX);
    let silences = Arc::new(Silences::new(retention, opts.silence_limits));
    nflog.history().set_retention(retention);
    let heartbeats = Arc::new(Heartbeats::new(&cfg.heartbeats));
    let (storage, journal, mut restored) = open_storage(&opts, &store, &silences, &nflog)?;
    let heartbeat_journal = storage
        .as_ref()
        .map_or_else(storage::Journal::none, storage::Store::heartbeat_journal);
    if heartbeat_journal.is_persistent() {
        heartbeats.set_journal(heartbeat_journal.clone());
    }
    let inhibitor = Arc::new(Inhibitor::new(&cfg.inhibit_rules));
    let settings = NotifySettings {
        external_url: external_url.clone(),
        max_retry: opts.max_retry,
        retention: SignedDuration::try_from(opts.retention).unwrap_or(SignedDuration::MAX),
    };
    let cluster = match opts.cluster.clone() {
        Some(o) => {
            let (peer_timeout, gossip) = (o.peer_timeout, o.gossip_interval);
            let m = Some(Arc::clone(&metrics));
            let c = match o.tls.clone() {
                Some(tls) => {
                    for w in &tls.warnings {
                        tracing::warn!(warning = %w, "--cluster.tls-config warning.");
                    }
                    let net = cluster::transport::tls::TlsNetwork::new(tls, o.advertise, m.clone());
                    Cluster::start(o, net, m).await
                }
                None => Cluster::start(o, cluster::transport::Udp, m).await,
            }
            .context("starting the cluster")?;
            metrics.cluster_enabled.set(1);
            Some((Arc::new(c), peer_timeout, gossip))
        }
        None => None,
    };
    let claims = cluster.as_ref().map(|(c, peer_timeout, gossip)| {
        Arc::new(Claims::new(
            Arc::clone(c),
            Arc::clone(&nflog),
            Arc::clone(&metrics),
            *peer_timeout,
            *gossip,
        ))
    });
    let cluster = cluster.map(|(c, _, _)| c);
    let mutes = MuteState {
        silences: Arc::clone(&silences),
        inhibitor: Arc::clone(&inhibitor),
        claims,
    };
    let claims_gc = mutes.claims.clone();
    let parts =
        build(&cfg, &nflog, &metrics, &settings, &sends, &mutes).map_err(anyhow::Error::msg)?;
    for w in &parts.warnings {
        tracing::warn!(file = %opts.config_file.display(), warning = %w, "Configuration warning.");
    }
    loaded(&metrics, &cfg);
    let dispatcher = Dispatcher::with_sends(
        parts.tree,
        parts.notifier,
        Arc::clone(&metrics),
        cancel.clone(),
        sends.clone(),
    );
    let (reload_tx, mut reload_rx) = mpsc::channel::<ReloadRequest>(4);
    let get_limit = match opts.get_concurrency {
        0 => api::default_get_concurrency(),
        n => n,
    };
    metrics
        .alerts_per_alert_limit
        .set(opts.per_alertname_limit.max(0));
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
        route_prefix,
        timeout: (!opts.web_timeout.is_zero()).then_some(opts.web_timeout),
        ingest_pool: crate::workers::Pool::new(
            "tocsin-ingest",
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        ),
        silences: Arc::clone(&silences),
        silence_json: api::JsonCache::default(),
        journal: journal.clone(),
        heartbeat_journal,
        nflog: Arc::clone(&nflog),
        inhibitor: Arc::clone(&inhibitor),
        get_slots: Arc::new(tokio::sync::Semaphore::new(get_limit)),
        get_limit,
        live: crate::web::Live::new(cancel.clone()),
        cluster: cluster.as_ref().map(|c| c.watch_status()),
        max_body_bytes: opts.max_request_bytes,
        body_timeout: opts.serve.read_header_timeout,
        limits: opts.limits,
        ingest_rate: api::limits::IngestRate::new(opts.limits.rate, opts.limits.burst),
        per_alertname: crate::alerts::limit::PerAlertnameLimit::new(opts.per_alertname_limit),
    });

    // What was stored goes back into the pipeline: groups are rebuilt from the alerts and
    // continue their timers (a group between flushes waits for its next one; a group whose
    // receivers the notification log says were told is not notified again before its repeat; a
    // resolve not yet sent is sent), and heartbeat checks resume their deadlines (a check that
    // expired while tocsin was down fires now).
    if journal.is_persistent() {
        dispatcher.set_journal(journal.clone());
    }
    if !restored.alerts.is_empty() || !restored.groups.is_empty() {
        let now = clock::now();
        let _ = inhibitor.observe(&restored.alerts, now);
        dispatcher
            .restore(&restored.alerts, std::mem::take(&mut restored.groups))
            .map_err(|e| storage::OpenError::Damaged {
                path: opts.storage_path.join(storage::DB_FILE),
                detail: format!("a group timer: {e}"),
            })?;
    }
    if !restored.heartbeats.is_empty() {
        let alerts = heartbeats.restore(restored.heartbeats, clock::now());
        api::heartbeats::emit(&state, alerts);
    }
    if journal.is_persistent() {
        let (a, s, n, h, d) = (
            Arc::clone(&store),
            Arc::clone(&silences),
            Arc::clone(&nflog),
            Arc::clone(&heartbeats),
            dispatcher.clone(),
        );
        journal.set_resync(Box::new(move || {
            let mut all = a.snapshot_changes();
            all.extend(s.snapshot_changes());
            all.extend(n.snapshot_changes());
            all.extend(h.snapshot_changes());
            all.extend(d.snapshot_changes());
            all
        }));
    }

    let mut tasks = JoinSet::new();
    tasks.spawn(dispatcher.clone().run());
    if let Some(c) = &cluster {
        tasks.spawn(replicate::replicate(
            Arc::clone(c),
            replicate::SilenceOwner(Arc::clone(&silences)),
            cancel.clone(),
        ));
        tasks.spawn(replicate::replicate(
            Arc::clone(c),
            replicate::NflogOwner {
                nflog: Arc::clone(&nflog),
                metrics: Arc::clone(&metrics),
            },
            cancel.clone(),
        ));
        tasks.spawn(replicate::replicate(
            Arc::clone(c),
            replicate::HeartbeatOwner {
                heartbeats: Arc::clone(&heartbeats),
                state: Arc::clone(&state),
                encoded: Default::default(),
            },
            cancel.clone(),
        ));
    }
    // A ping stores its check's state before it is answered; what else changes a check
    // (deadlines passing, pause, resume, reload) is stored once a second.
    if journal.is_persistent() {
        let (c, h) = (cancel.clone(), Arc::clone(&heartbeats));
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = tick.tick() => h.store_marked(),
                    _ = c.cancelled() => return,
                }
            }
        });
    }
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
        tasks.spawn(api::server::serve(
            listener,
            Arc::clone(&state),
            opts.serve.clone(),
            c,
        ));
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
                    let parts = build(&cfg, &nflog, &metrics, &settings, &sends, &mutes)?;
                    Ok::<_, String>((cfg, parts))
                })();
                let answer = match result {
                    Ok((cfg, parts)) => {
                        for w in &parts.warnings {
                            tracing::warn!(file = %opts.config_file.display(), warning = %w, "Configuration warning.");
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
    // resolved by time, silences past their retention, and old ended send claims.
    {
        let claims = claims_gc;
        let (c, store, nflog, every) = (
            cancel.clone(),
            Arc::clone(&store),
            Arc::clone(&nflog),
            opts.gc_interval,
        );
        let (silences, inhibitor) = (Arc::clone(&silences), Arc::clone(&inhibitor));
        let dispatcher = dispatcher.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            // Resolved alerts gone from the store stay in storage while a group still holds
            // them (their resolve is not sent yet).
            let mut unstored: Vec<crate::model::Fingerprint> = Vec::new();
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let now = clock::now();
                        let gone = store.gc_collect(now);
                        let alerts = gone.len();
                        unstored.extend(gone);
                        let held = dispatcher.held_fingerprints();
                        let (keep, forget): (Vec<_>, Vec<_>) =
                            unstored.drain(..).partition(|fp| held.contains(fp));
                        store.forget_stored(forget);
                        unstored = keep;
                        let entries = nflog.gc(now);
                        let sources = inhibitor.gc(now);
                        let silences = silences.gc(now);
                        let claims = match &claims {
                            Some(c) => c.sweep(now).await,
                            None => 0,
                        };
                        tracing::debug!(alerts, entries, sources, silences, claims, "Garbage collection done.");
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
        storage,
        heartbeats,
        dispatcher,
        cluster,
    })
}

/// What start-up read back from storage that goes on into the pipeline.
struct Restored {
    /// Every stored alert (resolved ones included: their resolve may still be owed).
    alerts: Vec<Arc<crate::model::Alert>>,
    /// Heartbeat check states by name.
    heartbeats: std::collections::BTreeMap<String, crate::heartbeat::CheckState>,
    /// Aggregation-group timer records (decoded by the dispatcher).
    groups: Vec<storage::Entry>,
}

/// Opens the store (unless `--storage.in-memory`), loads alerts, silences and notification log
/// into their modules, drops what expired, and wires the journal into each module. A record
/// that does not decode stops start-up, as a damaged file does.
fn open_storage(
    opts: &Options,
    store: &AlertStore,
    silences: &Silences,
    nflog: &Nflog,
) -> anyhow::Result<(Option<storage::Store>, storage::Journal, Restored)> {
    use storage::Kind;
    let mut restored = Restored {
        alerts: Vec::new(),
        heartbeats: Default::default(),
        groups: Vec::new(),
    };
    if opts.storage_in_memory {
        return Ok((None, storage::Journal::none(), restored));
    }
    let started = clock::instant();
    let (db, mut contents) = storage::Store::open(
        &opts.storage_path,
        &storage::OpenOptions {
            reset: opts.storage_reset,
            segment_bytes: opts.storage_segment_bytes,
        },
    )?;
    let path = db.path().to_path_buf();
    let damaged = |what: &str, e: &dyn std::fmt::Display| storage::OpenError::Damaged {
        path: path.clone(),
        detail: format!("{what}: {e}"),
    };
    let now = clock::now();
    let journal = db.journal();
    // Alerts, as stored (resolved ones too).
    for (_, v) in contents.take(Kind::Alerts) {
        let a = crate::alerts::codec::decode(&v, |s| store.intern(s))
            .map_err(|e| damaged("an alert", &e))?;
        restored.alerts.push(store.restore(a));
    }
    // Silences: those past their retention are deleted.
    let mut stored_silences = Vec::new();
    for (k, v) in contents.take(Kind::Silences) {
        let e = Silences::decode_entry(&v).map_err(|e| damaged("a silence", &e))?;
        stored_silences.push((k, e));
    }
    let ids: Vec<Vec<u8>> = stored_silences.iter().map(|(k, _)| k.clone()).collect();
    if let Err(e) = silences.merge(stored_silences.into_iter().map(|(_, e)| e), now) {
        return Err(damaged("a silence", &e).into());
    }
    let expired: Vec<storage::Change> = ids
        .into_iter()
        .filter(|id| silences.get(&String::from_utf8_lossy(id)).is_none())
        .map(|id| storage::Change::delete(Kind::Silences, id))
        .collect();
    journal.submit(expired);
    // The notification log.
    let mut entries = Vec::new();
    for (k, v) in contents.take(Kind::Nflog) {
        entries.push(
            crate::nflog::decode(&k, &v).map_err(|e| damaged("a notification log entry", &e))?,
        );
    }
    nflog.merge(entries);
    let mut history = Vec::new();
    for (_, v) in contents.take(Kind::History) {
        history.push(
            crate::nflog::history::decode(&v)
                .map_err(|e| damaged("a notification history record", &e))?,
        );
    }
    nflog.history().load(history);
    // Heartbeat states (restored once the API state exists: they may raise alerts).
    restored.heartbeats = crate::heartbeat::decode_stored(contents.take(Kind::Heartbeats))
        .map_err(|e| damaged("a heartbeat check", &e))?;
    restored.groups = contents.take(Kind::Groups);
    store.set_journal(journal.clone());
    silences.set_journal(journal.clone());
    nflog.set_journal(journal.clone());
    nflog.gc(now);
    import_silence_snapshot(&opts.storage_path, silences, now);
    let took = clock::instant().duration_since(started);
    tracing::info!(
        file = %path.display(),
        alerts = restored.alerts.len(),
        silences = silences.len(),
        nflog = nflog.len(),
        heartbeats = restored.heartbeats.len(),
        took = ?took,
        "Loaded the state store."
    );
    if let Err(e) = journal.health() {
        tracing::error!(reason = %e, "The state store cannot take writes; answering 503 to writes until it can.");
    }
    Ok((Some(db), journal, restored))
}

/// Imports the silence snapshot file earlier versions wrote (`silences.json`) into the store
/// once, and renames it `silences.json.imported`.
fn import_silence_snapshot(dir: &std::path::Path, silences: &Silences, now: jiff::Timestamp) {
    let path = dir.join("silences.json");
    let Ok(bytes) = std::fs::read(&path) else {
        return;
    };
    match Silences::decode_snapshot(&bytes) {
        Ok(entries) => {
            if let Err(e) = silences.merge(entries, now) {
                tracing::warn!(file = %path.display(), error = %e, "Some silences could not be imported.");
            }
            let _ = std::fs::rename(&path, dir.join("silences.json.imported"));
            tracing::info!(file = %path.display(), "Imported the silence snapshot into the state store.");
        }
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "The old silence snapshot does not decode; left as it is.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::route_prefix;

    #[test]
    fn route_prefix_as_alertmanager_derives_it() {
        assert_eq!(route_prefix(None, "http://h:9093"), "");
        assert_eq!(
            route_prefix(None, "https://h/alertmanager/"),
            "/alertmanager"
        );
        assert_eq!(route_prefix(Some(""), "https://h/a/b?x=1"), "/a/b");
        assert_eq!(route_prefix(Some("/"), "https://h/a"), "");
        assert_eq!(route_prefix(Some("am/"), "https://h/a"), "/am");
    }
}
