//! Route matching with Alertmanager's semantics (`dispatch.Route.Match`): depth-first, children
//! in order, the first matching child ends the scan unless it has `continue`, and a node none of
//! whose children match is itself the match. A missing label reads as `""`. Plus the group
//! labels and group key of an alert on a route, and [`RouteTree`]: the tree ready for dispatch,
//! each node with the identity that decides whether its groups survive a reload.
//! Imports: `crate::config` (the validated route tree) and `crate::model`.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use jiff::SignedDuration;

use crate::config::{GroupBy, Route};
use crate::model::{LabelSet, Matcher, all_match};

/// The settings of one route that its groups need, plus an identity that survives a reload
/// only when nothing that decides which alerts reach the route, or how its groups behave,
/// changed.
#[derive(Debug)]
pub struct RouteSettings {
    /// Hash of the route's settings, its position, and every route that can take an alert
    /// before it does (ancestors, earlier siblings along the path, its own children): equal
    /// across a reload iff all of them are unchanged.
    pub identity: u64,
    /// The receiver.
    pub receiver: Arc<str>,
    /// `group_wait`.
    pub group_wait: std::time::Duration,
    /// `group_interval`.
    pub group_interval: std::time::Duration,
    /// `repeat_interval`.
    pub repeat_interval: SignedDuration,
    /// `active_time_intervals` (names).
    pub active_time_intervals: Arc<[String]>,
    /// `mute_time_intervals` (names).
    pub mute_time_intervals: Arc<[String]>,
}

/// A routing tree ready for dispatch: the config's root route and each node's settings by id.
pub struct RouteTree {
    /// The root route.
    pub(super) root: Route,
    /// Settings by `Route::id`.
    pub(super) settings: HashMap<String, Arc<RouteSettings>>,
}

fn hash_matchers(ms: &[Matcher], h: &mut DefaultHasher) {
    ms.len().hash(h);
    for m in ms {
        m.to_string().hash(h);
    }
}

/// The identity of `r` given `reach`, the hash of everything above and before it that decides
/// whether an alert gets to it.
fn route_identity(r: &Route, reach: u64) -> u64 {
    let mut h = DefaultHasher::new();
    reach.hash(&mut h);
    r.id.hash(&mut h);
    r.receiver.hash(&mut h);
    match &r.group_by {
        GroupBy::All => "...".hash(&mut h),
        GroupBy::Labels(l) => l.hash(&mut h),
    }
    r.group_wait.hash(&mut h);
    r.group_interval.hash(&mut h);
    r.repeat_interval.hash(&mut h);
    hash_matchers(&r.matchers, &mut h);
    r.mute_time_intervals.hash(&mut h);
    r.active_time_intervals.hash(&mut h);
    r.labels.hash(&mut h);
    // A node is the match only when none of its children match: a child added, removed or
    // changed can take alerts away from this node's groups.
    for c in &r.routes {
        hash_matchers(&c.matchers, &mut h);
    }
    h.finish()
}

impl RouteTree {
    /// Indexes a validated root route.
    pub fn new(root: &Route) -> Self {
        fn index(r: &Route, reach: u64, out: &mut HashMap<String, Arc<RouteSettings>>) {
            out.insert(
                r.id.clone(),
                Arc::new(RouteSettings {
                    identity: route_identity(r, reach),
                    receiver: Arc::from(r.receiver.as_str()),
                    group_wait: r.group_wait.std(),
                    group_interval: r.group_interval.std(),
                    repeat_interval: SignedDuration::try_from(r.repeat_interval.std())
                        .unwrap_or(SignedDuration::MAX),
                    active_time_intervals: r.active_time_intervals.clone().into(),
                    mute_time_intervals: r.mute_time_intervals.clone().into(),
                }),
            );
            // An alert reaches child i only through this node's matchers and past every earlier
            // sibling that matched without `continue`.
            let mut before = DefaultHasher::new();
            reach.hash(&mut before);
            hash_matchers(&r.matchers, &mut before);
            for (i, c) in r.routes.iter().enumerate() {
                let mut h = before.clone();
                i.hash(&mut h);
                index(c, h.finish(), out);
                hash_matchers(&c.matchers, &mut before);
                c.continue_matching.hash(&mut before);
            }
        }
        let mut settings = HashMap::new();
        index(root, 0, &mut settings);
        RouteTree {
            root: root.clone(),
            settings,
        }
    }

    /// The receivers an alert with these labels reaches, in route order.
    pub fn receivers(&self, labels: &LabelSet) -> Vec<Arc<str>> {
        self.routes(labels)
            .into_iter()
            .map(|s| Arc::clone(&s.receiver))
            .collect()
    }

    /// The settings of every route an alert with these labels takes, in route order.
    pub fn routes(&self, labels: &LabelSet) -> Vec<Arc<RouteSettings>> {
        matching_routes(&self.root, labels)
            .into_iter()
            .filter_map(|r| self.settings.get(&r.id).cloned())
            .collect()
    }

    /// The settings of the route with this `Route::id`.
    pub fn settings(&self, id: &str) -> Option<&Arc<RouteSettings>> {
        self.settings.get(id)
    }
}

/// The routes an alert with these labels is delivered through, in order (the root when nothing
/// deeper matches). Empty only if the root's own matchers reject it (a valid root has none).
pub fn matching_routes<'a>(root: &'a Route, labels: &LabelSet) -> Vec<&'a Route> {
    let mut out = Vec::new();
    collect(root, labels, &mut out);
    out
}

/// Whether `route` matches; appends its matches to `out`.
fn collect<'a>(route: &'a Route, labels: &LabelSet, out: &mut Vec<&'a Route>) -> bool {
    if !all_match(&route.matchers, labels) {
        return false;
    }
    let before = out.len();
    for child in &route.routes {
        if collect(child, labels, out) && !child.continue_matching {
            break;
        }
    }
    if out.len() == before {
        out.push(route);
    }
    true
}

/// The labels that identify an alert's group on a route: those named in `group_by` that the
/// alert has (all of them for `...`).
pub fn group_labels(route: &Route, labels: &LabelSet) -> LabelSet {
    match &route.group_by {
        GroupBy::All => labels.clone(),
        GroupBy::Labels(names) => labels.subset(names.iter().map(String::as_str)),
    }
}

/// Alertmanager's group key: `{route key}:{group labels}`, e.g.
/// `{}/{severity="critical"}:{alertname="DiskFull", cluster="eu1"}`.
pub fn group_key(route: &Route, group_labels: &LabelSet) -> String {
    format!("{}:{}", route.key, group_labels)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;

    const TREE: &str = r#"
route:
  receiver: default
  group_by: [alertname]
  routes:
  - matchers: [severity="critical"]
    receiver: pager
    continue: true
    group_by: ['...']
    routes:
    - matchers: [team="db"]
      receiver: db
    - matchers: [team="db"]
      receiver: never
  - matchers: [severity=~"critical|warning"]
    receiver: chat
    routes:
    - matchers: [team!="db"]
      receiver: chat-other
  - matchers: [severity="critical"]
    receiver: never
  - matchers: ['env=""']
    receiver: no-env
receivers: [{name: default}, {name: pager}, {name: db}, {name: never}, {name: chat}, {name: chat-other}, {name: no-env}]
"#;

    fn receivers(cfg: &Config, pairs: &[(&str, &str)]) -> Vec<String> {
        let labels: LabelSet = pairs.iter().copied().collect();
        matching_routes(&cfg.route, &labels)
            .iter()
            .map(|r| r.receiver.clone())
            .collect()
    }

    #[test]
    fn alertmanager_semantics() {
        let cfg = Config::from_yaml(TREE, Path::new("."), "t.yml").unwrap();
        // continue on pager, first matching child db stops its siblings; chat then stops.
        assert_eq!(
            receivers(
                &cfg,
                &[("severity", "critical"), ("team", "db"), ("env", "p")]
            ),
            ["db", "chat"]
        );
        // chat's child matches when team is absent ("" != "db").
        assert_eq!(
            receivers(&cfg, &[("severity", "warning"), ("env", "p")]),
            ["chat-other"]
        );
        assert_eq!(
            receivers(&cfg, &[("severity", "critical"), ("env", "p")]),
            ["pager", "chat-other"]
        );
        // A missing label matches `env=""`.
        assert_eq!(receivers(&cfg, &[("severity", "info")]), ["no-env"]);
        assert_eq!(
            receivers(&cfg, &[("severity", "info"), ("env", "p")]),
            ["default"]
        );
    }

    #[test]
    fn groups_and_keys() {
        let cfg = Config::from_yaml(TREE, Path::new("."), "t.yml").unwrap();
        let labels: LabelSet = [
            ("alertname", "DiskFull"),
            ("severity", "critical"),
            ("team", "db"),
        ]
        .into_iter()
        .collect();
        let routes = matching_routes(&cfg.route, &labels);
        let db = routes[0];
        let gl = group_labels(db, &labels);
        assert_eq!(gl, labels, "group_by ... is inherited");
        assert_eq!(
            group_key(db, &gl),
            r#"{}/{severity="critical"}/{team="db"}:{alertname="DiskFull", severity="critical", team="db"}"#
        );
        let root_gl = group_labels(&cfg.route, &labels);
        assert_eq!(
            group_key(&cfg.route, &root_gl),
            r#"{}:{alertname="DiskFull"}"#
        );
        let none = group_labels(&cfg.route, &[("x", "y")].into_iter().collect());
        assert_eq!(group_key(&cfg.route, &none), "{}:{}");
    }
}
