//! `inhibit_rules:`: mute target alerts while a matching source alert fires. Both the current
//! form (`source_matchers`/`target_matchers`) and the deprecated `source_match(_re)` /
//! `target_match(_re)` are accepted and folded together.
//! Imports: std, serde, `crate::model`, sibling modules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::de::{regex_values, zero_items, zero_values};
use super::error::Diagnostic;
use super::route::{RawRoute, route_matchers};
use super::validate::Ctx;
use crate::model::{Matcher, MatcherSyntax, NameValidation, is_valid_label_name};

/// An inhibit rule as written in YAML.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInhibitRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(
        default,
        deserialize_with = "zero_values",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    source_match: BTreeMap<String, String>,
    #[serde(
        default,
        deserialize_with = "regex_values",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    source_match_re: BTreeMap<String, String>,
    #[serde(
        default,
        deserialize_with = "zero_items",
        skip_serializing_if = "Vec::is_empty"
    )]
    source_matchers: Vec<String>,
    #[serde(
        default,
        deserialize_with = "zero_values",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    target_match: BTreeMap<String, String>,
    #[serde(
        default,
        deserialize_with = "regex_values",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    target_match_re: BTreeMap<String, String>,
    #[serde(
        default,
        deserialize_with = "zero_items",
        skip_serializing_if = "Vec::is_empty"
    )]
    target_matchers: Vec<String>,
    #[serde(
        default,
        deserialize_with = "zero_items",
        skip_serializing_if = "Vec::is_empty"
    )]
    equal: Vec<String>,
}

/// A validated inhibit rule.
#[derive(Debug, Clone, PartialEq)]
pub struct InhibitRule {
    /// Optional name (0.30+).
    pub name: Option<String>,
    /// Matchers a firing source alert must satisfy (sorted).
    pub source_matchers: Vec<Matcher>,
    /// Matchers an inhibited target alert satisfies (sorted).
    pub target_matchers: Vec<Matcher>,
    /// Labels whose values must be equal in source and target (missing = "").
    pub equal: Vec<String>,
}

impl RawInhibitRule {
    pub(crate) fn validate(
        &self,
        ctx: &mut Ctx<'_>,
        path: &str,
        syntax: MatcherSyntax,
    ) -> InhibitRule {
        // Reuse the route's matcher folding, with the source/target keys mapped onto it.
        let side = |eq: &BTreeMap<String, String>,
                    re: &BTreeMap<String, String>,
                    ms: &Vec<String>| RawRoute {
            match_eq: eq.clone(),
            match_re: re.clone(),
            matchers: ms.clone(),
            ..RawRoute::default()
        };
        let sub = |prefix: &str, raw: RawRoute, ctx: &mut Ctx<'_>| {
            let mut inner = Ctx::new_like(ctx);
            let ms = route_matchers(&raw, &mut inner, "", syntax);
            // "match.x" -> "source_match.x", "matchers[0]" -> "source_matchers[0]".
            let repath = |d: Diagnostic, ctx: &Ctx<'_>| {
                let p = format!("{path}.{prefix}_{}", d.path.trim_start_matches('.'));
                ctx.diagnostic(&p, d.message)
            };
            for d in inner.errors {
                let d = repath(d, ctx);
                ctx.errors.push(d);
            }
            for d in inner.warnings {
                let d = repath(d, ctx);
                ctx.warnings.push(d);
            }
            ms
        };
        let source_matchers = sub(
            "source",
            side(
                &self.source_match,
                &self.source_match_re,
                &self.source_matchers,
            ),
            ctx,
        );
        let target_matchers = sub(
            "target",
            side(
                &self.target_match,
                &self.target_match_re,
                &self.target_matchers,
            ),
            ctx,
        );
        let mode = match syntax {
            MatcherSyntax::Classic => NameValidation::Classic,
            _ => NameValidation::Utf8,
        };
        for (i, l) in self.equal.iter().enumerate() {
            if !is_valid_label_name(l, mode) {
                ctx.error(
                    &format!("{path}.equal[{i}]"),
                    format!("invalid label name {l:?} in equal list"),
                );
            }
        }
        InhibitRule {
            name: self.name.clone(),
            source_matchers,
            target_matchers,
            equal: self.equal.clone(),
        }
    }
}
