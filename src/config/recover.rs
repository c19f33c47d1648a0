//! Finding more than the first type error of a config in one load. Our YAML library stops at the
//! first value it cannot read into its field; to report the others too, the loader takes the
//! offending value out of the text and reads it again, until it reads or a limit is hit:
//! - a value that does not read (a bad duration, a bad URL, a quoted number) is replaced by
//!   null, which reads as the field's zero value;
//! - an unknown key is removed with its value (and in a flow mapping, its comma);
//! - a sequence item is nulled rather than removed, so the paths of the items after it stay.
//!
//! Paths never shift, so every error is reported at its place in the original text. An edit that
//! breaks the YAML syntax stops the search (what was found so far is reported). Errors the
//! edits themselves could cause (a required key now missing, a zero duration) are on the edited
//! path, one of its ancestors or descendants: the loader drops those.
//! Imports: std and serde-saphyr's parser.

use serde_saphyr::granit_parser::{Event, Parser};

use super::locate::{index_path, key_path};

/// At most this many errors are looked for in one load.
pub(crate) const MAX_ERRORS: usize = 20;

/// The byte range of what to take out for the entry at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edit {
    /// First byte.
    start: usize,
    /// One past the last byte.
    end: usize,
    /// What goes in its place.
    replacement: &'static str,
}

enum Frame {
    Map {
        path: String,
        key: Option<(String, usize)>,
        flow: bool,
    },
    Seq {
        path: String,
        next: usize,
        flow: bool,
    },
}

impl Frame {
    fn flow(&self) -> bool {
        match self {
            Frame::Map { flow, .. } | Frame::Seq { flow, .. } => *flow,
        }
    }
}

/// Where a node being measured started: its path's edit starts here; the node's end (a scalar's
/// end, or its collection's end event at this depth) completes it.
struct Open {
    depth: usize,
    start: usize,
    replacement: &'static str,
    /// For an entry of a flow mapping, a following comma is taken too.
    flow_entry: bool,
}

/// A marker's byte offset in `text`.
fn byte_at(text: &str, m: &serde_saphyr::granit_parser::Marker) -> usize {
    m.byte_offset().unwrap_or_else(|| {
        text.char_indices()
            .nth(m.index())
            .map_or(text.len(), |(b, _)| b)
    })
}

/// The edit that takes the value at `path` out: with `whole_entry`, a mapping entry goes with its
/// key; otherwise the value (or sequence item) becomes null.
pub(crate) fn edit_for(text: &str, path: &str, whole_entry: bool) -> Option<Edit> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut open: Option<Open> = None;
    // Where the last node ended: a block collection ends there (its end event's span runs on to
    // the next token, past the line break).
    let mut last_end = 0;
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else {
            return None;
        };
        let start = byte_at(text, &span.start);
        let end = byte_at(text, &span.end);
        let is_start = matches!(event, Event::MappingStart(..) | Event::SequenceStart(..));
        let is_node = is_start || matches!(event, Event::Scalar(..) | Event::Alias(..));
        if is_node {
            let (node_path, entry_start, flow_entry) = match stack.last_mut() {
                None => (String::new(), start, false),
                Some(Frame::Seq { path: p, next, .. }) => {
                    let np = index_path(p, *next);
                    *next += 1;
                    (np, start, false)
                }
                Some(Frame::Map { path: p, key, flow }) => match key.take() {
                    None => {
                        let k = match &event {
                            Event::Scalar(v, ..) => v.to_string(),
                            _ => "?".to_owned(),
                        };
                        *key = Some((k, start));
                        if is_start {
                            // A complex key: walked under a path nobody asks for.
                            stack.push(frame(&event, "\u{0}".to_owned()));
                        }
                        continue;
                    }
                    Some((k, key_start)) => (key_path(p, &k), key_start, *flow),
                },
            };
            if open.is_none() && node_path == path {
                let entry = whole_entry && entry_start != start;
                let o = Open {
                    depth: stack.len(),
                    start: if entry { entry_start } else { start },
                    replacement: if entry { "" } else { "~" },
                    flow_entry: entry && flow_entry,
                };
                if !is_start {
                    // An empty value is null already (and its span is no place to write).
                    if start == end && !entry {
                        return None;
                    }
                    return Some(finish(text, &o, end));
                }
                open = Some(o);
            }
            if is_start {
                stack.push(frame(&event, node_path));
            } else {
                last_end = end;
            }
        } else if matches!(event, Event::MappingEnd | Event::SequenceEnd) {
            if stack.pop().is_some_and(|f| f.flow()) {
                last_end = end;
            }
            if let Some(o) = &open
                && o.depth == stack.len()
            {
                return Some(finish(text, o, last_end));
            }
        }
    }
    None
}

fn frame(event: &Event<'_>, path: String) -> Frame {
    use serde_saphyr::granit_parser::StructureStyle::Flow;
    match event {
        Event::MappingStart(style, ..) => Frame::Map {
            path,
            key: None,
            flow: *style == Flow,
        },
        Event::SequenceStart(style, ..) => Frame::Seq {
            path,
            next: 0,
            flow: *style == Flow,
        },
        _ => Frame::Seq {
            path,
            next: 0,
            flow: false,
        },
    }
}

fn finish(text: &str, o: &Open, mut end: usize) -> Edit {
    if o.flow_entry {
        let rest = &text[end..];
        let skipped = rest.len() - rest.trim_start().len();
        if rest.trim_start().starts_with(',') {
            end += skipped + 1;
        }
    }
    Edit {
        start: o.start,
        end,
        replacement: o.replacement,
    }
}

/// The text with the edit applied.
pub(crate) fn apply(text: &str, e: Edit) -> String {
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..e.start]);
    out.push_str(e.replacement);
    out.push_str(&text[e.end..]);
    out
}

/// Whether the text is still well-formed YAML (an edit must not create a syntax error).
pub(crate) fn well_formed(text: &str) -> bool {
    Parser::new_from_str(text).all(|i| i.is_ok())
}

/// Whether two paths are the same node, or one is inside the other.
pub(crate) fn related(a: &str, b: &str) -> bool {
    let inside = |inner: &str, outer: &str| {
        outer.is_empty()
            || inner == outer
            || (inner.starts_with(outer) && matches!(inner.as_bytes()[outer.len()], b'.' | b'['))
    };
    inside(a, b) || inside(b, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "route:\n  receiver: a\n  group_wait: 10x\n  routes:\n  - matchers: ['x=~(', b=c]\n    bogus: 1\nreceivers: [{name: a, bogus: 2}, {name: b}]\n";

    fn edited(path: &str, whole: bool) -> String {
        let e = edit_for(DOC, path, whole).unwrap_or_else(|| panic!("{path}"));
        apply(DOC, e)
    }

    #[test]
    fn values_become_null_and_unknown_keys_go() {
        assert!(edited("route.group_wait", false).contains("  group_wait: ~\n"));
        assert!(edited("route.routes[0].matchers[0]", false).contains("matchers: [~, b=c]"));
        let e = edited("route.routes[0].bogus", true);
        assert!(!e.contains("bogus: 1") && e.contains("b=c]\n"), "{e}");
        let e = edited("receivers[0].bogus", true);
        assert!(
            e.contains("[{name: a, }, {name: b}]") || e.contains("{name: a }"),
            "{e}"
        );
        assert!(well_formed(&e), "{e}");
        let e = edited("route.routes", false);
        assert!(!e.contains("matchers") && well_formed(&e), "{e}");
        assert!(edit_for(DOC, "route.nothing", false).is_none());
    }

    #[test]
    fn related_paths() {
        assert!(related("route.routes[0]", "route.routes[0].matchers[1]"));
        assert!(related("route", "route"));
        assert!(related("", "route"));
        assert!(!related("route.routes[1]", "route.routes[10]"));
        assert!(!related("receivers[0].name", "receivers[0].names"));
    }
}
