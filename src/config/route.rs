//! `route:`: the routing tree. The raw YAML form is kept for `original`; the validated [`Route`]
//! has its matchers compiled and sorted (deprecated `match`/`match_re` folded in), inherited
//! values resolved, and Alertmanager's route key and ID.
//! Imports: std, serde, `crate::model`, sibling modules.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::de::{no_null_items, opt_zero_items, regex_values, zero, zero_items, zero_values};
use super::validate::Ctx;
use crate::model::{
    Duration, MatchType, Matcher, MatcherSyntax, NameValidation, is_valid_label_name,
    matchers_to_string,
};

/// Default `group_wait` of the root route.
pub const DEFAULT_GROUP_WAIT: Duration = Duration::from_secs(30);
/// Default `group_interval` of the root route.
pub const DEFAULT_GROUP_INTERVAL: Duration = Duration::from_secs(300);
/// Default `repeat_interval` of the root route.
pub const DEFAULT_REPEAT_INTERVAL: Duration = Duration::from_secs(4 * 3600);

fn not(b: &bool) -> bool {
    !*b
}

/// A route as written in YAML.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoute {
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "String::is_empty"
    )]
    pub(crate) receiver: String,
    #[serde(
        default,
        deserialize_with = "opt_zero_items",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) group_by: Option<Vec<String>>,
    #[serde(
        default,
        rename = "continue",
        deserialize_with = "zero",
        skip_serializing_if = "not"
    )]
    pub(crate) continue_matching: bool,
    #[serde(
        default,
        rename = "match",
        deserialize_with = "zero_values",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub(crate) match_eq: BTreeMap<String, String>,
    #[serde(
        default,
        deserialize_with = "regex_values",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub(crate) match_re: BTreeMap<String, String>,
    #[serde(
        default,
        deserialize_with = "zero_items",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub(crate) matchers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) group_wait: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) group_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) repeat_interval: Option<Duration>,
    #[serde(
        default,
        deserialize_with = "zero_items",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub(crate) mute_time_intervals: Vec<String>,
    #[serde(
        default,
        deserialize_with = "zero_items",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub(crate) active_time_intervals: Vec<String>,
    #[serde(
        default,
        deserialize_with = "zero_values",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub(crate) labels: BTreeMap<String, String>,
    #[serde(
        default,
        deserialize_with = "no_null_items",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub(crate) routes: Vec<RawRoute>,
}

/// Which labels form an alert's group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBy {
    /// These label names (sorted, no duplicates; empty = one group for the route).
    Labels(Vec<String>),
    /// `['...']`: every label (one group per alert).
    All,
}

/// A validated route node.
#[derive(Debug, Clone)]
pub struct Route {
    /// Receiver name (inherited from the parent when not set).
    pub receiver: String,
    /// Grouping labels (inherited when not set).
    pub group_by: GroupBy,
    /// All matchers of this node (`match`, `match_re` and `matchers`), sorted as Alertmanager
    /// sorts them (name, value, operator). Empty on the root.
    pub matchers: Vec<Matcher>,
    /// `continue`: keep matching siblings after this node matched.
    pub continue_matching: bool,
    /// Wait before the first notification of a new group (inherited; root default 30s).
    pub group_wait: Duration,
    /// Wait between notifications about a changed group (inherited; root default 5m).
    pub group_interval: Duration,
    /// Wait before re-sending an unchanged group (inherited; root default 4h).
    pub repeat_interval: Duration,
    /// Time intervals during which this route is muted (not inherited).
    pub mute_time_intervals: Vec<String>,
    /// Time intervals outside which this route is muted (not inherited; empty = always).
    pub active_time_intervals: Vec<String>,
    /// Route labels (0.34+), parent's merged with this node's; values are templates.
    pub labels: BTreeMap<String, String>,
    /// Child routes, in order.
    pub routes: Vec<Route>,
    /// Alertmanager's route key: `{}` for the root, then `{}/{severity="critical"}`...
    /// Not unique: siblings with equal matchers share it.
    pub key: String,
    /// Unique per node (Alertmanager's `Route.ID()`): the key plus child indexes,
    /// `{}/{severity="critical"}/0`.
    pub id: String,
    /// Pre-order number of the node in the tree (root 0); unique.
    pub index: usize,
}

impl Route {
    /// Every node of the tree in pre-order (the root first).
    pub fn walk(&self) -> Vec<&Route> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(r) = stack.pop() {
            out.push(r);
            stack.extend(r.routes.iter().rev());
        }
        out
    }
}

/// What the builder needs from the rest of the config.
pub(crate) struct Names<'a> {
    pub(crate) receivers: &'a BTreeSet<String>,
    pub(crate) time_intervals: &'a BTreeSet<String>,
    pub(crate) syntax: MatcherSyntax,
}

fn name_mode(syntax: MatcherSyntax) -> NameValidation {
    match syntax {
        MatcherSyntax::Classic => NameValidation::Classic,
        _ => NameValidation::Utf8,
    }
}

/// Parses a route's `match`, `match_re` and `matchers` into one sorted list.
pub(crate) fn route_matchers(
    raw: &RawRoute,
    ctx: &mut Ctx<'_>,
    path: &str,
    syntax: MatcherSyntax,
) -> Vec<Matcher> {
    let mut out = Vec::new();
    let mode = name_mode(syntax);
    for (k, v) in &raw.match_eq {
        if !is_valid_label_name(k, mode) {
            ctx.error(
                &format!("{path}.match.{k}"),
                format!("invalid label name {k:?}"),
            );
            continue;
        }
        match ctx.matcher(k, MatchType::Equal, v) {
            Ok(m) => out.push(m),
            Err(e) => ctx.error(&format!("{path}.match.{k}"), e.to_string()),
        }
    }
    for (k, v) in &raw.match_re {
        if !is_valid_label_name(k, mode) {
            ctx.error(
                &format!("{path}.match_re.{k}"),
                format!("invalid label name {k:?}"),
            );
            continue;
        }
        match ctx.matcher(k, MatchType::Regex, v) {
            Ok(m) => out.push(m),
            Err(e) => ctx.error(&format!("{path}.match_re.{k}"), e.to_string()),
        }
    }
    for (i, text) in raw.matchers.iter().enumerate() {
        match ctx.matchers(&format!("{path}.matchers[{i}]"), text, syntax) {
            Ok(ms) => out.extend(ms),
            Err(e) => ctx.error(&format!("{path}.matchers[{i}]"), e.to_string()),
        }
    }
    out.sort();
    out
}

fn group_by(raw: &[String], ctx: &mut Ctx<'_>, path: &str, mode: NameValidation) -> GroupBy {
    let mut set = BTreeSet::new();
    let mut all = false;
    for (i, l) in raw.iter().enumerate() {
        let p = format!("{path}.group_by[{i}]");
        if l == "..." {
            all = true;
        } else if !is_valid_label_name(l, mode) {
            ctx.error(&p, format!("invalid label name {l:?} in group_by list"));
        } else if !set.insert(l.clone()) {
            ctx.error(&p, format!("duplicated label {l:?} in group_by"));
        }
    }
    if all && !set.is_empty() {
        ctx.error(
            &format!("{path}.group_by"),
            "cannot have wildcard group_by (`...`) and other other labels at the same time",
        );
    }
    if all {
        GroupBy::All
    } else {
        GroupBy::Labels(set.into_iter().collect())
    }
}

/// Validates the tree and resolves inheritance. `counter` numbers the nodes in pre-order.
pub(crate) fn build(
    raw: &RawRoute,
    parent: Option<&Route>,
    child_index: usize,
    path: &str,
    names: &Names<'_>,
    ctx: &mut Ctx<'_>,
    counter: &mut usize,
) -> Route {
    let is_root = parent.is_none();
    let matchers = route_matchers(raw, ctx, path, names.syntax);
    if is_root {
        if raw.receiver.is_empty() {
            ctx.error(path, "root route must specify a default receiver");
        }
        let key = if !raw.matchers.is_empty() {
            Some("matchers")
        } else if !raw.match_eq.is_empty() {
            Some("match")
        } else if !raw.match_re.is_empty() {
            Some("match_re")
        } else {
            None
        };
        if let Some(k) = key {
            ctx.error(
                &format!("{path}.{k}"),
                "root route must not have any matchers",
            );
        }
        if raw.continue_matching {
            ctx.error(
                &format!("{path}.continue"),
                "cannot have continue in root route",
            );
        }
        if !raw.mute_time_intervals.is_empty() {
            ctx.error(
                &format!("{path}.mute_time_intervals"),
                "root route must not have any mute time intervals",
            );
        }
        if !raw.active_time_intervals.is_empty() {
            ctx.error(
                &format!("{path}.active_time_intervals"),
                "root route must not have any active time intervals",
            );
        }
    }
    if !raw.receiver.is_empty() && !names.receivers.contains(&raw.receiver) {
        ctx.error(
            &format!("{path}.receiver"),
            format!("undefined receiver {:?} used in route", raw.receiver),
        );
    }
    for (key, list) in [
        ("mute_time_intervals", &raw.mute_time_intervals),
        ("active_time_intervals", &raw.active_time_intervals),
    ] {
        for (i, n) in list.iter().enumerate() {
            if !names.time_intervals.contains(n) {
                ctx.error(
                    &format!("{path}.{key}[{i}]"),
                    format!("undefined time interval {n:?} used in route"),
                );
            }
        }
    }
    if raw.group_interval.is_some_and(Duration::is_zero) {
        ctx.error(
            &format!("{path}.group_interval"),
            "group_interval cannot be zero",
        );
    }
    if raw.repeat_interval.is_some_and(Duration::is_zero) {
        ctx.error(
            &format!("{path}.repeat_interval"),
            "repeat_interval cannot be zero",
        );
    }
    let mode = name_mode(names.syntax);
    let gb = raw
        .group_by
        .as_deref()
        .map(|g| group_by(g, ctx, path, mode));
    for k in raw.labels.keys() {
        if !is_valid_label_name(k, mode) {
            ctx.error(
                &format!("{path}.labels.{k}"),
                format!("invalid label name {k:?}"),
            );
        }
    }

    let (receiver, inherited_gb, gw, gi, ri, mut labels) = match parent {
        None => (
            raw.receiver.clone(),
            GroupBy::Labels(Vec::new()),
            DEFAULT_GROUP_WAIT,
            DEFAULT_GROUP_INTERVAL,
            DEFAULT_REPEAT_INTERVAL,
            BTreeMap::new(),
        ),
        Some(p) => (
            if raw.receiver.is_empty() {
                p.receiver.clone()
            } else {
                raw.receiver.clone()
            },
            p.group_by.clone(),
            p.group_wait,
            p.group_interval,
            p.repeat_interval,
            p.labels.clone(),
        ),
    };
    // Alertmanager: an empty `group_by: []` leaves the parent's grouping in place.
    let group_by = match gb {
        Some(GroupBy::Labels(l)) if l.is_empty() => inherited_gb,
        Some(g) => g,
        None => inherited_gb,
    };
    let group_interval = raw.group_interval.unwrap_or(gi);
    let repeat_interval = raw.repeat_interval.unwrap_or(ri);
    if (raw.group_interval.is_some() || raw.repeat_interval.is_some() || is_root)
        && !repeat_interval.is_zero()
        && repeat_interval < group_interval
    {
        ctx.warn(
            path,
            format!(
                "repeat_interval ({repeat_interval}) is less than group_interval ({group_interval}); repeats happen only at the next group_interval"
            ),
        );
    }
    labels.extend(raw.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    let ms = matchers_to_string(&matchers);
    let (key, id) = match parent {
        None => (ms.clone(), ms),
        Some(p) => (
            format!("{}/{ms}", p.key),
            format!("{}/{ms}/{child_index}", p.id),
        ),
    };
    let index = *counter;
    *counter += 1;
    let mut node = Route {
        receiver,
        group_by,
        matchers,
        continue_matching: raw.continue_matching,
        group_wait: raw.group_wait.unwrap_or(gw),
        group_interval,
        repeat_interval,
        mute_time_intervals: raw.mute_time_intervals.clone(),
        active_time_intervals: raw.active_time_intervals.clone(),
        labels,
        routes: Vec::new(),
        key,
        id,
        index,
    };
    let children: Vec<Route> = raw
        .routes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            build(
                c,
                Some(&node),
                i,
                &format!("{path}.routes[{i}]"),
                names,
                ctx,
                counter,
            )
        })
        .collect();
    node.routes = children;
    node
}
