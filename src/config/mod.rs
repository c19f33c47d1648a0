//! The whole config schema: Alertmanager's `alertmanager.yml` (0.25 to 0.34) plus tocsin's
//! extension keys, parsed strictly (unknown and duplicate keys are errors) into raw serde types,
//! then validated into [`Config`] with defaults and inheritance resolved. Every error names the
//! file, line, column and YAML path; secrets never appear in errors, Debug or `original`.
//!
//! Layer L1: imports `crate::model` (and later `crate::template`) only.

mod de;
mod error;
mod extensions;
mod global;
mod gourl;
mod http;
mod inhibit;
mod locate;
mod original;
mod receiver;
mod recover;
mod route;
mod secret;
mod template_set;
mod templates;
mod time_interval;
mod validate;
mod yaml_compat;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use error::{ConfigError, ConfigWarning, Diagnostic};
pub use extensions::{DeadMansSwitchConfig, HeartbeatConfig, parse_rate};
pub use global::{DEFAULT_PAGERDUTY_URL, DEFAULT_SLACK_APP_URL, GlobalConfig};
pub use http::{Authorization, BasicAuth, HttpConfig, HttpHeader, OAuth2, TlsConfig};
pub use inhibit::InhibitRule;
pub use receiver::{
    DiscordConfig, EmailConfig, EmailThreading, IncidentioConfig, JiraConfig, JiraField,
    JiraFieldObject, JiraLabels, JiraLabelsObject, MattermostAttachment, MattermostConfig,
    MattermostField, MattermostPriority, MattermostProps, MsteamsConfig, Msteamsv2Config,
    OpsgenieConfig, OpsgenieResponder, OtherConfigs, PagerdutyConfig, PagerdutyImage,
    PagerdutyLink, PushoverConfig, RateLimitConfig, Receiver, RocketchatAction, RocketchatConfig,
    RocketchatField, SigV4Config, SlackAction, SlackConfig, SlackConfirm, SlackField, SnsConfig,
    TelegramConfig, UNSUPPORTED_INTEGRATIONS, VictoropsConfig, WebexConfig, WebhookConfig,
    WechatConfig, ZendeskConfig, go_duration_problem,
};
pub use route::{
    DEFAULT_GROUP_INTERVAL, DEFAULT_GROUP_WAIT, DEFAULT_REPEAT_INTERVAL, GroupBy, Route,
};
pub use secret::{SECRET_PLACEHOLDER, Secret};
pub use templates::{glob_match, resolve_glob};
pub use time_interval::parse_location;

use crate::model::{MatcherSyntax, NameValidation};
use crate::timeinterval::TimeIntervalSet;
use extensions::{validate_dead_mans_switch, validate_heartbeats};
use inhibit::RawInhibitRule;
use locate::PathIndex;
use receiver::RawReceiver;
use route::RawRoute;
use time_interval::RawTimeIntervalSet;
use validate::Ctx;

/// Largest config file accepted (bytes).
pub const MAX_CONFIG_BYTES: usize = 16 << 20;

/// How to load a config (Alertmanager's feature flags that change parsing).
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Matcher syntax for `matchers:` and friends (default: UTF-8 with classic fallback), and
    /// with it the label-name rule of `group_by`, `equal` and receiver labels: classic names
    /// (`[a-zA-Z_][a-zA-Z0-9_]*`) in classic mode, any UTF-8 name otherwise, as Alertmanager
    /// 0.27+ decides both from `--enable-feature`.
    pub matcher_syntax: MatcherSyntax,
}

impl LoadOptions {
    /// The label-name rule that goes with the matcher syntax.
    pub fn label_names(&self) -> NameValidation {
        match self.matcher_syntax {
            MatcherSyntax::Classic => NameValidation::Classic,
            MatcherSyntax::Fallback | MatcherSyntax::Utf8Strict => NameValidation::Utf8,
        }
    }
}

/// The file as written in YAML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    global: Option<GlobalConfig>,
    route: Option<RawRoute>,
    receivers: Option<Vec<RawReceiver>>,
    inhibit_rules: Option<Vec<RawInhibitRule>>,
    templates: Option<Vec<String>>,
    time_intervals: Option<Vec<RawTimeIntervalSet>>,
    mute_time_intervals: Option<Vec<RawTimeIntervalSet>>,
    tracing: Option<serde_json::Value>,
    event_recorder: Option<serde_json::Value>,
    heartbeats: Option<Vec<HeartbeatConfig>>,
    dead_mans_switch: Option<extensions::OneOrMany>,
}

/// A loaded and validated config.
#[derive(Debug, Clone)]
pub struct Config {
    /// `global:` with defaults.
    pub global: GlobalConfig,
    /// The routing tree, inheritance resolved.
    pub route: Route,
    /// Receivers, in file order.
    pub receivers: Vec<Receiver>,
    /// Inhibit rules, in file order.
    pub inhibit_rules: Vec<InhibitRule>,
    /// Named time intervals (`time_intervals:` and the deprecated `mute_time_intervals:`).
    pub time_intervals: BTreeMap<String, TimeIntervalSet>,
    /// Template files the `templates:` globs matched, resolved against the config directory.
    pub templates: Vec<PathBuf>,
    /// The `templates:` entries as written.
    pub template_globs: Vec<String>,
    /// `heartbeats:` (tocsin extension): inbound checks.
    pub heartbeats: Vec<HeartbeatConfig>,
    /// `dead_mans_switch:` (tocsin extension): outbound ping targets.
    pub dead_mans_switch: Vec<DeadMansSwitchConfig>,
    /// Whether `tracing:` was set (accepted, not used).
    pub has_tracing: bool,
    /// Whether `event_recorder:` was set (accepted, not used).
    pub has_event_recorder: bool,
    /// Warnings: valid, but probably not what was meant, or not supported by tocsin yet.
    pub warnings: Vec<ConfigWarning>,
    /// The config re-serialized as YAML (defaults filled in, secrets as `<secret>`), for
    /// `GET /api/v2/status`'s `config.original`; Alertmanager 0.25's amtool accepts it.
    pub original: String,
    /// FNV-1a 64 of the file's bytes (`alertmanager_config_hash`).
    pub hash: u64,
}

/// FNV-1a 64 over bytes.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Strips serde-saphyr's " at line N, column M" suffix (we print the position ourselves) and
/// its hints to the programmer (", set DuplicateKeyPolicy in Options if acceptable"), which a
/// user cannot act on.
fn strip_position(msg: &str) -> &str {
    let msg = match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(", column ") => &msg[..i],
        _ => msg,
    };
    match msg.find(", set ") {
        Some(i) if msg[i..].contains(" in Options") => &msg[..i],
        _ => msg,
    }
}

/// A deserialization error as a diagnostic at its place in the original text (`index`); `text`
/// is what was read, `rewritten` when it is not the original (merge keys, edits), in which case
/// the position is found again by its path.
fn type_error(
    e: &serde_saphyr::Error,
    text: &str,
    rewritten: bool,
    index: &PathIndex,
) -> Diagnostic {
    let (mut line, mut column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    let path = if rewritten {
        let path = PathIndex::build(text)
            .path_at(line, column)
            .unwrap_or("")
            .to_owned();
        (line, column) = index.locate(&path);
        path
    } else {
        index.path_at(line, column).unwrap_or("").to_owned()
    };
    let message = strip_position(&e.without_snippet().to_string()).to_owned();
    Diagnostic {
        path,
        line,
        column,
        message,
    }
}

/// After the first type error, the others: each offending value is taken out of the text and
/// the text read again ([`recover`]); once it reads, the semantic checks run too, except on the
/// places edited (where the edit itself may be the cause). Sorted by position.
fn more_type_errors(
    source: &str,
    first: Diagnostic,
    index: &PathIndex,
    base_dir: &Path,
    opts: LoadOptions,
    original: &str,
) -> Vec<Diagnostic> {
    let mut errors = vec![first];
    let mut edited: Vec<String> = Vec::new();
    let mut text = source.to_owned();
    while errors.len() < recover::MAX_ERRORS {
        let last = errors.last().expect("one error at least");
        let path = last.path.clone();
        // A duplicate key has two places with one path: editing cannot tell them apart.
        if path.is_empty() || last.message.contains("duplicate") {
            break;
        }
        let unknown_key = last.message.starts_with("unknown field");
        let Some(edit) = recover::edit_for(&text, &path, unknown_key) else {
            break;
        };
        let next = recover::apply(&text, edit);
        if !recover::well_formed(&next) {
            break;
        }
        text = next;
        edited.push(path);
        match de::from_go_yaml::<Option<RawConfig>>(&text) {
            Err(e) => {
                let d = type_error(&e, &text, true, index);
                // The same place again (the edit did not help) or a place the original does
                // not have (the edit went wrong): stop with what was found.
                if edited.contains(&d.path) || !index.contains(&d.path) {
                    break;
                }
                errors.push(d);
            }
            Ok(None) => break,
            Ok(Some(raw)) => {
                let mut ctx = Ctx::new(index, base_dir);
                let _ = build(raw, &mut ctx, opts, original);
                errors.extend(
                    ctx.errors
                        .into_iter()
                        .filter(|d| !edited.iter().any(|p| recover::related(p, &d.path))),
                );
                break;
            }
        }
    }
    errors.sort_by_key(|d| (d.line, d.column));
    errors
}

impl Config {
    /// Reads and validates a config file. Relative paths inside resolve against its directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_with(path, LoadOptions::default())
    }

    /// [`Config::load`] with options.
    pub fn load_with(path: &Path, opts: LoadOptions) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|reason| ConfigError::Read {
            file: file.clone(),
            reason,
        })?;
        let text = String::from_utf8(bytes).map_err(|_| ConfigError::Invalid {
            file: file.clone(),
            errors: vec![Diagnostic {
                path: String::new(),
                line: 0,
                column: 0,
                message: "the file is not valid UTF-8".into(),
            }],
        })?;
        let base = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        Config::from_yaml_with(&text, base, &file, opts)
    }

    /// Validates a config given as text. `base_dir` resolves relative paths; `file_name` is
    /// used in error messages.
    pub fn from_yaml(text: &str, base_dir: &Path, file_name: &str) -> Result<Config, ConfigError> {
        Config::from_yaml_with(text, base_dir, file_name, LoadOptions::default())
    }

    /// [`Config::from_yaml`] with options.
    pub fn from_yaml_with(
        text: &str,
        base_dir: &Path,
        file_name: &str,
        opts: LoadOptions,
    ) -> Result<Config, ConfigError> {
        let invalid = |errors: Vec<Diagnostic>| ConfigError::Invalid {
            file: file_name.to_owned(),
            errors,
        };
        if text.len() > MAX_CONFIG_BYTES {
            return Err(invalid(vec![Diagnostic {
                path: String::new(),
                line: 0,
                column: 0,
                message: format!("the file is larger than {MAX_CONFIG_BYTES} bytes"),
            }]));
        }
        // What Alertmanager's Go decoder reads: the first document, merge keys its way.
        let first = yaml_compat::first_document(text);
        let merged = yaml_compat::go_merges(first);
        let source = merged.as_deref().unwrap_or(first);
        let parsed: Result<Option<RawConfig>, _> = de::from_go_yaml(source);
        let index = PathIndex::build(first);
        let raw = match parsed {
            Ok(Some(r)) => r,
            Ok(None) => {
                return Err(invalid(vec![Diagnostic {
                    path: String::new(),
                    line: 0,
                    column: 0,
                    message: "no route provided in config (the file is empty)".into(),
                }]));
            }
            Err(e) => {
                let first_error = type_error(&e, source, merged.is_some(), &index);
                return Err(invalid(more_type_errors(
                    source,
                    first_error,
                    &index,
                    base_dir,
                    opts,
                    text,
                )));
            }
        };
        let refusals = yaml_compat::libyaml_refusals(first);
        if !refusals.is_empty() {
            return Err(invalid(
                refusals
                    .into_iter()
                    .map(|r| Diagnostic {
                        path: index.path_at(r.line, r.column).unwrap_or("").to_owned(),
                        line: r.line,
                        column: r.column,
                        message: r.message,
                    })
                    .collect(),
            ));
        }
        let mut ctx = Ctx::new(&index, base_dir);
        let cfg = build(raw, &mut ctx, opts, text);
        if ctx.errors.is_empty() {
            let mut cfg = cfg;
            cfg.warnings = ctx.warnings;
            cfg.warnings.sort_by_key(|d| (d.line, d.column));
            Ok(cfg)
        } else {
            let mut errors = ctx.errors;
            errors.sort_by_key(|d| (d.line, d.column));
            Err(invalid(errors))
        }
    }

    /// The receiver with this name.
    pub fn receiver(&self, name: &str) -> Option<&Receiver> {
        self.receivers.iter().find(|r| r.name == name)
    }
}

fn build(raw: RawConfig, ctx: &mut Ctx<'_>, opts: LoadOptions, text: &str) -> Config {
    let syntax = opts.matcher_syntax;
    let mut global = raw.global.unwrap_or_default();
    global.validate(ctx);

    // Time intervals, both keys, names unique across them.
    let mute_raw = raw.mute_time_intervals.unwrap_or_default();
    let ti_raw = raw.time_intervals.unwrap_or_default();
    let mut time_intervals = BTreeMap::new();
    for (key, list) in [
        ("mute_time_intervals", &mute_raw),
        ("time_intervals", &ti_raw),
    ] {
        for (i, set) in list.iter().enumerate() {
            let path = format!("{key}[{i}]");
            let v = set.validate(ctx, &path);
            if !set.name.is_empty() && time_intervals.insert(set.name.clone(), v).is_some() {
                ctx.error(
                    &format!("{path}.name"),
                    format!("time interval {:?} is not unique", set.name),
                );
            }
        }
    }

    let receivers = receiver::build(
        raw.receivers.unwrap_or_default(),
        ctx,
        &global,
        opts.label_names(),
    );
    let receiver_names: BTreeSet<String> = receivers.iter().map(|r| r.name.clone()).collect();
    let interval_names: BTreeSet<String> = time_intervals.keys().cloned().collect();

    let has_route = raw.route.is_some();
    if !has_route {
        ctx.error("", "no route provided in config");
    }
    let raw_route = raw.route.unwrap_or_default();
    let names = route::Names {
        receivers: &receiver_names,
        time_intervals: &interval_names,
        syntax,
    };
    let mut counter = 0;
    // Without a route, the root checks would only repeat "no route".
    let mut route_ctx = Ctx::new_like(ctx);
    let route = route::build(
        &raw_route,
        None,
        0,
        "route",
        &names,
        &mut route_ctx,
        &mut counter,
    );
    if has_route {
        ctx.errors.append(&mut route_ctx.errors);
        ctx.warnings.append(&mut route_ctx.warnings);
    }

    let raw_inhibit = raw.inhibit_rules.unwrap_or_default();
    let inhibit_rules = raw_inhibit
        .iter()
        .enumerate()
        .map(|(i, r)| r.validate(ctx, &format!("inhibit_rules[{i}]"), syntax))
        .collect();

    let template_globs = raw.templates.unwrap_or_default();
    let mut templates = Vec::new();
    for (i, g) in template_globs.iter().enumerate() {
        match templates::resolve_glob(ctx_base(ctx), g) {
            Ok(files) => templates.extend(files),
            Err(e) => ctx.error(&format!("templates[{i}]"), e),
        }
    }

    let mut heartbeats = raw.heartbeats.unwrap_or_default();
    validate_heartbeats(&mut heartbeats, ctx, syntax);
    let (mut dead_mans_switch, single) = raw
        .dead_mans_switch
        .map_or((Vec::new(), false), |l| (l.0, l.1));
    validate_dead_mans_switch(
        &mut dead_mans_switch,
        single,
        ctx,
        &global.http_config,
        syntax,
    );
    if raw.tracing.is_some() {
        ctx.warn(
            "tracing",
            "tracing: accepted; tocsin does not export traces yet",
        );
    }
    if raw.event_recorder.is_some() {
        ctx.warn(
            "event_recorder",
            "event_recorder: accepted; tocsin does not record events yet",
        );
    }

    let original = original::render(
        &global,
        &raw_route,
        &raw_inhibit,
        &receivers,
        &template_globs,
        &mute_raw,
        &ti_raw,
    );
    Config {
        global,
        route,
        receivers,
        inhibit_rules,
        time_intervals,
        templates,
        template_globs,
        heartbeats,
        dead_mans_switch,
        has_tracing: raw.tracing.is_some(),
        has_event_recorder: raw.event_recorder.is_some(),
        warnings: Vec::new(),
        original,
        hash: fnv1a(text.as_bytes()),
    }
}

fn ctx_base<'a>(ctx: &Ctx<'a>) -> &'a Path {
    ctx.base_dir()
}

#[cfg(test)]
mod tests;
