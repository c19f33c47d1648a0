//! Where Alertmanager's YAML decoder (`gopkg.in/yaml.v2`, a port of libyaml) and ours
//! (serde-saphyr, YAML 1.2) read the same text differently, and how we read it as Alertmanager
//! does:
//! - only the first document counts ([`first_document`]);
//! - merge keys (`<<`) follow Go's decoding rather than the YAML rule ([`go_merges`]);
//! - what libyaml refuses ([`libyaml_refusals`]): a plain (unquoted) scalar inside a flow
//!   collection (`[...]`, `{...}`) ends at a `?`, so `matchers: [namespace=~"a(-b)?"]` is a
//!   syntax error there ("did not find expected ',' or ']'"), and so it is here, with a hint to
//!   quote the value; a `%YAML` directive other than 1.1 is refused.
//!
//! Each walks the parser's events only when the text could hold what it looks for.
//! Imports: std and serde-saphyr's parser (granit-parser, re-exported).

use std::collections::{HashMap, HashSet};

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, StructureStyle};

/// One place Alertmanager's parser would refuse: 1-based line and column, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// 1-based line of the scalar.
    pub(crate) line: u64,
    /// 1-based column of the scalar.
    pub(crate) column: u64,
    /// What is wrong and how to write it instead.
    pub(crate) message: String,
}

/// The plain scalars in flow collections that contain a `?`, and a `%YAML` directive other
/// than 1.1.
pub(crate) fn libyaml_refusals(text: &str) -> Vec<Refusal> {
    let question = text.contains('?') && (text.contains('[') || text.contains('{'));
    if !question && !text.contains("%YAML") {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut flow = Vec::new();
    for item in Parser::new_from_str(text) {
        // Syntax errors are reported by the real load, with their own position.
        let Ok((event, span)) = item else {
            break;
        };
        match event {
            Event::DocumentStart(_, Some(v)) if (v.major, v.minor) != (1, 1) => {
                out.push(Refusal {
                    line: span.start.line() as u64,
                    column: span.start.col() as u64 + 1,
                    message: format!(
                        "found incompatible YAML document: Alertmanager's YAML parser reads YAML 1.1 only, not %YAML {}.{}; remove the directive",
                        v.major, v.minor
                    ),
                });
            }
            Event::SequenceStart(style, ..) | Event::MappingStart(style, ..) => {
                flow.push(style == StructureStyle::Flow);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                flow.pop();
            }
            Event::Scalar(value, ScalarStyle::Plain, ..)
                if flow.last() == Some(&true) && value.contains('?') =>
            {
                out.push(Refusal {
                    line: span.start.line() as u64,
                    column: span.start.col() as u64 + 1,
                    message: format!(
                        "Alertmanager's YAML parser ends an unquoted value inside [...] or {{...}} at '?', so it refuses this; quote the value: '{}'",
                        value.replace('\'', "''")
                    ),
                });
            }
            _ => {}
        }
    }
    out
}

/// The scalar values for which `wanted` holds that `text` writes quoted and never plain. The
/// parser's events are walked only when a quote is followed by a digit or a sign.
pub(crate) fn quoted_only(text: &str, wanted: impl Fn(&str) -> bool) -> HashSet<String> {
    let b = text.as_bytes();
    let maybe = b.windows(2).any(|w| {
        matches!(w[0], b'\'' | b'"') && (w[1].is_ascii_digit() || matches!(w[1], b'-' | b'+'))
    });
    if !maybe {
        return HashSet::new();
    }
    let mut quoted = HashSet::new();
    let mut plain = HashSet::new();
    for item in Parser::new_from_str(text) {
        let Ok((event, _)) = item else {
            break;
        };
        if let Event::Scalar(value, style, ..) = event
            && wanted(&value)
        {
            if style == ScalarStyle::Plain {
                plain.insert(value.into_owned());
            } else {
                quoted.insert(value.into_owned());
            }
        }
    }
    quoted.retain(|v| !plain.contains(v));
    quoted
}

/// Keys whose Go type is a map: a second decoding into them (a merged value, then the same key
/// written out) adds keys, and a key set twice is an error ("key already set in map").
const GO_MAP_KEYS: &[&str] = &[
    "match",
    "match_re",
    "source_match",
    "source_match_re",
    "target_match",
    "target_match_re",
    "headers",
    "details",
    "custom_fields",
    "attributes",
    "endpoint_params",
    "fields",
    "http_headers",
    "proxy_connect_header",
];

/// Keys whose Go type (`Matchers`) appends on every decoding.
const GO_APPENDING_KEYS: &[&str] = &["matchers", "source_matchers", "target_matchers"];

/// Keys whose Go type is a struct decoded in place (no reset to defaults): a second decoding
/// sets only the fields it names.
const GO_IN_PLACE_KEYS: &[&str] = &["tls_config", "basic_auth", "authorization", "oauth2"];

/// Most nodes (after expanding aliases) a document may have for the rewrite; larger documents
/// are left to the deserializer's own budget.
const MAX_NODES: usize = 200_000;

/// Deepest nesting the rewrite handles (its walk is recursive).
const MAX_DEPTH: usize = 64;

/// Most keys in one mapping the rewrite handles (merging looks keys up one by one).
const MAX_KEYS: usize = 1_000;

/// A YAML node with aliases expanded.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// A scalar: its value, and whether it was written plain (unquoted, not a block scalar).
    Scalar { value: String, plain: bool },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    fn key(&self) -> Option<&str> {
        match self {
            Node::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    fn is_merge_key(&self) -> bool {
        matches!(self, Node::Scalar { value, plain: true } if value == "<<")
    }
}

/// The document rewritten as Go's `yaml.v2` decodes merge keys (`<<`) into Alertmanager's
/// types, when it has any; `None` when it has none or uses what the rewrite does not handle
/// (tags, non-scalar keys, several documents, very deep or very large documents), which are
/// left to the deserializer as they are.
///
/// Go differs from the YAML merge-key rules in three ways: keys are applied in the order they
/// are written (a key written before `<<` is overwritten by the merged value); a key both merged
/// and written is decoded twice into the same Go value, so maps (`match`, `details`...) gain the
/// keys of both (a key in both is an error), `matchers` lists are concatenated, and structs
/// decoded in place (`tls_config`, `basic_auth`...) keep the fields only one side sets; and in
/// `<<: [*a, *b]` the earlier mapping wins.
pub(crate) fn go_merges(text: &str) -> Option<String> {
    if !text.contains("<<") {
        return None;
    }
    let doc = read_tree(text)?;
    let mut found = false;
    let merged = merge_node(doc, "", &mut found)?;
    if !found {
        return None;
    }
    let mut out = String::with_capacity(text.len() * 2);
    emit(&merged, 0, &mut out);
    Some(out)
}

/// Reads the one document of `text` into a tree, aliases expanded.
fn read_tree(text: &str) -> Option<Node> {
    enum Open {
        Seq(usize, Vec<Node>),
        Map(usize, Vec<(Node, Node)>, Option<Node>),
    }
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut nodes = 0usize;
    let mut root = None;
    let mut documents = 0;
    for item in Parser::new_from_str(text) {
        let (event, _) = item.ok()?;
        let done = match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return None;
                }
                continue;
            }
            Event::SequenceStart(_, anchor, tag) => {
                if tag.is_some() || stack.len() >= MAX_DEPTH {
                    return None;
                }
                stack.push(Open::Seq(anchor, Vec::new()));
                continue;
            }
            Event::MappingStart(_, anchor, tag) => {
                if tag.is_some() || stack.len() >= MAX_DEPTH {
                    return None;
                }
                stack.push(Open::Map(anchor, Vec::new(), None));
                continue;
            }
            Event::SequenceEnd => match stack.pop()? {
                Open::Seq(anchor, items) => (anchor, Node::Seq(items)),
                Open::Map(..) => return None,
            },
            Event::MappingEnd => match stack.pop()? {
                Open::Map(anchor, entries, None) if entries.len() <= MAX_KEYS => {
                    (anchor, Node::Map(entries))
                }
                _ => return None,
            },
            Event::Scalar(value, style, anchor, tag) => {
                if tag.is_some() {
                    return None;
                }
                let plain = style == ScalarStyle::Plain;
                (
                    anchor,
                    Node::Scalar {
                        value: value.into_owned(),
                        plain,
                    },
                )
            }
            Event::Alias(id) => {
                let node = anchors.get(&id)?.clone();
                nodes += size(&node);
                (0, node)
            }
            _ => continue,
        };
        let (anchor, node) = done;
        nodes += 1;
        if nodes > MAX_NODES {
            return None;
        }
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Open::Seq(_, items)) => items.push(node),
            Some(Open::Map(_, entries, pending)) => match pending.take() {
                None => {
                    node.key()?;
                    *pending = Some(node);
                }
                Some(key) => entries.push((key, node)),
            },
        }
    }
    root
}

fn size(node: &Node) -> usize {
    match node {
        Node::Scalar { .. } => 1,
        Node::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        Node::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| size(k) + size(v))
                .sum::<usize>()
        }
    }
}

/// One entry of a mapping being merged: key, value, and whether it was written in this
/// mapping (not merged in).
struct Entry {
    key: Node,
    value: Node,
    written: bool,
}

/// Applies Go's merge rules under `node`, whose own key is `own_key`.
fn merge_node(node: Node, own_key: &str, found: &mut bool) -> Option<Node> {
    match node {
        Node::Scalar { .. } => Some(node),
        Node::Seq(items) => items
            .into_iter()
            .map(|n| merge_node(n, "", found))
            .collect::<Option<Vec<_>>>()
            .map(Node::Seq),
        Node::Map(pairs) => {
            let go_map = GO_MAP_KEYS.contains(&own_key);
            let mut entries: Vec<Entry> = Vec::with_capacity(pairs.len());
            for (key, value) in pairs {
                if key.is_merge_key() {
                    *found = true;
                    let sources = match value {
                        Node::Map(_) => vec![value],
                        // Earlier mappings take precedence: applied last.
                        Node::Seq(items) => items.into_iter().rev().collect(),
                        // Refused by Go ("map merge requires map or sequence of maps").
                        Node::Scalar { .. } => return None,
                    };
                    for source in sources {
                        let Node::Map(merged) = merge_node(source, own_key, found)? else {
                            return None;
                        };
                        for (k, v) in merged {
                            assign(&mut entries, k, v, go_map, false);
                        }
                    }
                } else {
                    let name = key.key().unwrap_or_default().to_owned();
                    let value = merge_node(value, &name, found)?;
                    assign(&mut entries, key, value, go_map, true);
                }
            }
            Some(Node::Map(
                entries.into_iter().map(|e| (e.key, e.value)).collect(),
            ))
        }
    }
}

/// Sets `key` in a mapping being merged as Go's decoder does.
fn assign(entries: &mut Vec<Entry>, key: Node, value: Node, go_map: bool, written: bool) {
    let name = key.key().unwrap_or_default();
    let existing = entries.iter().position(|e| e.key.key() == Some(name));
    match existing {
        // Written twice, or a map key set twice: kept twice so the deserializer refuses it,
        // as Go's strict decoder does.
        Some(i) if !(go_map || (written && entries[i].written)) => {
            let old = std::mem::replace(&mut entries[i].value, Node::Seq(Vec::new()));
            entries[i].value = decode_again(name, old, value);
            entries[i].written |= written;
        }
        _ => entries.push(Entry {
            key,
            value,
            written,
        }),
    }
}

/// The value Go holds after decoding `new` into a field already holding `old`.
fn decode_again(name: &str, old: Node, new: Node) -> Node {
    match (old, new) {
        (Node::Seq(mut a), Node::Seq(b)) if GO_APPENDING_KEYS.contains(&name) => {
            a.extend(b);
            Node::Seq(a)
        }
        (Node::Map(a), Node::Map(b)) if GO_MAP_KEYS.contains(&name) => {
            let mut entries: Vec<Entry> = a
                .into_iter()
                .map(|(key, value)| Entry {
                    key,
                    value,
                    written: true,
                })
                .collect();
            for (k, v) in b {
                assign(&mut entries, k, v, true, true);
            }
            Node::Map(entries.into_iter().map(|e| (e.key, e.value)).collect())
        }
        (Node::Map(a), Node::Map(b)) if GO_IN_PLACE_KEYS.contains(&name) => {
            let mut entries: Vec<Entry> = a
                .into_iter()
                .map(|(key, value)| Entry {
                    key,
                    value,
                    written: false,
                })
                .collect();
            for (k, v) in b {
                assign(&mut entries, k, v, false, false);
            }
            Node::Map(entries.into_iter().map(|e| (e.key, e.value)).collect())
        }
        (_, new) => new,
    }
}

/// Writes `node` as block YAML at `indent` spaces; scalars keep their plain/quoted nature, so
/// they resolve to the same values.
fn emit(node: &Node, indent: usize, out: &mut String) {
    match node {
        Node::Scalar { .. } => {
            emit_scalar(node, out);
            out.push('\n');
        }
        Node::Seq(items) if items.is_empty() => out.push_str("[]\n"),
        Node::Map(entries) if entries.is_empty() => out.push_str("{}\n"),
        Node::Seq(items) => {
            for item in items {
                push_indent(indent, out);
                out.push('-');
                emit_child(item, indent, out);
            }
        }
        Node::Map(entries) => {
            for (key, value) in entries {
                push_indent(indent, out);
                emit_scalar(key, out);
                out.push(':');
                emit_child(value, indent, out);
            }
        }
    }
}

fn emit_child(node: &Node, indent: usize, out: &mut String) {
    match node {
        Node::Seq(items) if !items.is_empty() => {
            out.push('\n');
            emit(node, indent + 2, out);
        }
        Node::Map(entries) if !entries.is_empty() => {
            out.push('\n');
            emit(node, indent + 2, out);
        }
        _ => {
            out.push(' ');
            emit(node, indent, out);
        }
    }
}

fn push_indent(indent: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn emit_scalar(node: &Node, out: &mut String) {
    let Node::Scalar { value, plain } = node else {
        return;
    };
    let safe_plain = *plain
        && !value.contains(['\n', '\r', '\t'])
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.ends_with(':')
        && value.trim() == value;
    if safe_plain {
        out.push_str(value);
    } else {
        out.push('"');
        for c in value.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    out.push_str(&format!("\\x{:02x}", c as u32));
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// The part of `text` Alertmanager reads: its YAML decoder stops after the first document, so
/// what follows the start of a second one is never looked at, even when it is not valid YAML.
pub(crate) fn first_document(text: &str) -> &str {
    if !text.contains("---") && !text.contains("...") {
        return text;
    }
    let mut documents = 0;
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else { break };
        if let Event::DocumentStart(..) = event {
            documents += 1;
            if documents == 2 {
                let offset: usize = text
                    .split_inclusive('\n')
                    .take(span.start.line().saturating_sub(1))
                    .map(str::len)
                    .sum();
                return &text[..offset];
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_mark_in_a_flow_plain_scalar() {
        let r = libyaml_refusals("route:\n  matchers: [ns=~\"a(-b)?\", x=y]\n");
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!((r[0].line, r[0].column), (2, 14));
        for fine in [
            "matchers: ['ns=~\"a(-b)?\"']\n",
            "matchers: [\"ns=~a?\"]\n",
            "matchers:\n- ns=~\"a(-b)?\"\n",
            "text: what? [x]\n",
            "m: {a: b}\nq: why?\n",
            "t: |\n  [a?]\n",
        ] {
            assert!(libyaml_refusals(fine).is_empty(), "{fine}");
        }
        assert_eq!(libyaml_refusals("m: {a: b?}\n").len(), 1);
    }
}

#[cfg(test)]
mod go_tests {
    use super::*;

    /// The tree of a text without merge keys, for comparing.
    fn tree(text: &str) -> Node {
        read_tree(text).expect("a tree")
    }

    fn merged(text: &str) -> Node {
        tree(&go_merges(text).expect("rewritten"))
    }

    #[test]
    fn no_merge_key_no_rewrite() {
        assert_eq!(go_merges("a: b\nc: [d]\n"), None);
        assert_eq!(go_merges("a: '<<'\n"), None);
        assert_eq!(go_merges("a: \"<<\"\nb: c\n"), None);
    }

    #[test]
    fn keys_apply_in_written_order() {
        let go = merged(
            "- &a {receiver: x, group_wait: 1m}\n- receiver: y\n  <<: *a\n- <<: *a\n  receiver: z\n",
        );
        assert_eq!(
            go,
            tree(
                "- {receiver: x, group_wait: 1m}\n- {receiver: x, group_wait: 1m}\n- {receiver: z, group_wait: 1m}\n"
            )
        );
    }

    #[test]
    fn decoded_twice_matchers_add_up_maps_gain_keys() {
        let go = merged(
            "- &a {matchers: [a=b], match: {x: y}, source_matchers: [s=t]}\n- <<: *a\n  matchers: [c=d]\n  match: {z: w}\n  source_matchers: []\n",
        );
        assert_eq!(
            go,
            tree(
                "- {matchers: [a=b], match: {x: y}, source_matchers: [s=t]}\n- {matchers: [a=b, c=d], match: {x: y, z: w}, source_matchers: [s=t]}\n"
            )
        );
        // A map key on both sides is kept twice, so the load refuses it as Go does.
        let go = merged("- &a {match: {x: y}}\n- <<: *a\n  match: {x: z}\n");
        let Node::Seq(items) = go else { panic!() };
        assert_eq!(items[1], tree("match: {x: y, x: z}"));
        // null resets; other lists are replaced.
        let go = merged(
            "- &a {matchers: [a=b], group_by: [x]}\n- <<: *a\n  matchers:\n  group_by: [y]\n",
        );
        assert_eq!(
            go,
            tree("- {matchers: [a=b], group_by: [x]}\n- {matchers: , group_by: [y]}\n")
        );
    }

    #[test]
    fn earlier_mapping_of_a_merge_list_wins() {
        let go = merged(
            "- &a {receiver: a, matchers: [a=b]}\n- &b {receiver: b, matchers: [c=d], group_wait: 1s}\n- <<: [*a, *b]\n",
        );
        let Node::Seq(items) = go else { panic!() };
        assert_eq!(
            items[2],
            tree("{receiver: a, matchers: [c=d, a=b], group_wait: 1s}")
        );
    }

    #[test]
    fn structs_decoded_in_place_keep_both_sides() {
        let go = merged(
            "- &a\n  tls_config: {ca_file: ca, insecure_skip_verify: true}\n  http_config: {proxy_url: http://p/, follow_redirects: false}\n- <<: *a\n  tls_config: {server_name: s, insecure_skip_verify: false}\n  http_config: {proxy_url: http://q/}\n",
        );
        let Node::Seq(items) = go else { panic!() };
        assert_eq!(
            items[1],
            tree(
                "tls_config: {ca_file: ca, insecure_skip_verify: false, server_name: s}\nhttp_config: {proxy_url: http://q/}\n"
            )
        );
    }

    #[test]
    fn scalars_keep_their_meaning() {
        let text = "a: &x\n  plain: yes\n  quoted: 'yes'\n  dq: \"tab\\there \\\"q\\\" \\\\\"\n  lit: |\n    two\n    lines\n  folded: >-\n    one\n    line\n  empty:\n  colon: 'a: b'\n  hash: 'a #b'\n  multi: one\n    two\n  key with spaces: v\n  '<<': not a merge\nb:\n  <<: *x\n";
        let go = go_merges(text).expect("rewritten");
        let Node::Map(top) = tree(&go) else { panic!() };
        let Node::Map(orig) = tree(text) else {
            panic!()
        };
        assert_eq!(top[1].1, orig[0].1, "{go}");
        assert_eq!(top[0].1, orig[0].1, "{go}");
    }

    #[test]
    fn left_alone_what_is_not_handled() {
        // Tags, non-scalar keys, merging a scalar, several documents, alias bombs.
        assert_eq!(go_merges("a: &x {b: c}\nd: {<<: *x, e: !!str 1}\n"), None);
        assert_eq!(go_merges("a: &x {b: c}\nd: {<<: *x, [e]: f}\n"), None);
        assert_eq!(go_merges("a: &x b\nd: {<<: *x}\n"), None);
        assert_eq!(go_merges("a: &x {b: c}\n---\nd: {<<: *x}\n"), None);
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        bomb.push_str("m: {<<: {k: v}}\n");
        assert_eq!(go_merges(&bomb), None);
        assert_eq!(
            go_merges(&format!(
                "{}{{<<: {{a: b}}}}{}",
                "[".repeat(100),
                "]".repeat(100)
            )),
            None
        );
    }

    #[test]
    fn only_the_first_document() {
        let text = "route:\n  receiver: a\n---\nnotes: [not\n  valid\n";
        assert_eq!(first_document(text), "route:\n  receiver: a\n");
        let text = "---\nroute: {}\n...\n--- x\n";
        assert_eq!(first_document(text), "---\nroute: {}\n...\n");
        assert_eq!(first_document("a: b\n"), "a: b\n");
        assert_eq!(first_document("a: '---'\n"), "a: '---'\n");
    }

    #[test]
    fn yaml_directive_other_than_1_1() {
        assert!(libyaml_refusals("%YAML 1.1\n---\na: b\n").is_empty());
        let r = libyaml_refusals("%YAML 1.2\n---\na: b\n");
        assert_eq!(r.len(), 1);
        assert!(r[0].message.contains("1.2"), "{r:?}");
    }
}
