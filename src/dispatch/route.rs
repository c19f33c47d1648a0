//! TEMPORARY: route matching stand-in until the config branch (which owns this file) lands.
#![allow(missing_docs)]
use crate::config::{GroupBy, Route};
use crate::model::{LabelSet, all_match};

pub fn matching_routes<'a>(root: &'a Route, labels: &LabelSet) -> Vec<&'a Route> {
    fn walk<'a>(r: &'a Route, labels: &LabelSet, out: &mut Vec<&'a Route>) -> bool {
        if !all_match(&r.matchers, labels) {
            return false;
        }
        let before = out.len();
        for c in &r.routes {
            if walk(c, labels, out) && !c.continue_matching {
                break;
            }
        }
        if out.len() == before {
            out.push(r);
        }
        true
    }
    let mut out = Vec::new();
    walk(root, labels, &mut out);
    out
}

pub fn group_labels(route: &Route, labels: &LabelSet) -> LabelSet {
    match &route.group_by {
        GroupBy::All => labels.clone(),
        GroupBy::Labels(names) => labels.subset(names.iter().map(String::as_str)),
    }
}

pub fn group_key(route: &Route, group_labels: &LabelSet) -> String {
    format!("{}:{}", route.key, group_labels)
}
