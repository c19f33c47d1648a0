//! Route matching with Alertmanager's semantics (`dispatch.Route.Match`): depth-first, children
//! in order, the first matching child ends the scan unless it has `continue`, and a node none of
//! whose children match is itself the match. A missing label reads as `""`. Plus the group
//! labels and group key of an alert on a route.
//! Imports: `crate::config` (the validated route tree) and `crate::model`.

use crate::config::{GroupBy, Route};
use crate::model::{LabelSet, all_match};

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
