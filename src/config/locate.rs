//! Where each YAML path is in the source text: a walk over the parser's events (no recursion, so
//! deep nesting cannot overflow the stack) records the line and column of every mapping key and
//! sequence item, keyed by its path (`route.routes[2].matchers[0]`).
//! Imports: std and serde-saphyr's parser.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser};

/// Upper bound on events walked (the deserializer's own budget rejects larger documents first).
const MAX_EVENTS: usize = 2_000_000;

/// Path → position index of one document.
#[derive(Debug, Default)]
pub(crate) struct PathIndex {
    /// (line, column, path) in document order.
    entries: Vec<(u64, u64, String)>,
    /// First position of each path.
    by_path: HashMap<String, (u64, u64)>,
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, next: usize },
}

/// Joins a mapping key onto a path.
pub(crate) fn key_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// Joins a sequence index onto a path.
pub(crate) fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

impl PathIndex {
    /// Walks the document; stops quietly at a syntax error (the deserializer reports it).
    pub(crate) fn build(text: &str) -> PathIndex {
        let mut index = PathIndex::default();
        let mut stack: Vec<Frame> = Vec::new();
        for (n, item) in Parser::new_from_str(text).enumerate() {
            let Ok((event, span)) = item else { break };
            if n > MAX_EVENTS {
                break;
            }
            let line = span.start.line() as u64;
            let col = span.start.col() as u64 + 1;
            let is_start = matches!(event, Event::MappingStart(..) | Event::SequenceStart(..));
            let is_node = is_start || matches!(event, Event::Scalar(..) | Event::Alias(..));
            if is_node {
                // The path of this node, and whether it is a mapping key.
                let node_path = match stack.last_mut() {
                    None => String::new(),
                    Some(Frame::Seq { path, next }) => {
                        let p = index_path(path, *next);
                        *next += 1;
                        index.record(line, col, &p);
                        p
                    }
                    Some(Frame::Map { path, key }) => match key.take() {
                        None => {
                            // A key.
                            let k = match &event {
                                Event::Scalar(v, ..) => v.to_string(),
                                _ => "?".to_owned(),
                            };
                            let p = key_path(path, &k);
                            index.record(line, col, &p);
                            if is_start {
                                // A complex key: walk it under a throwaway path.
                                *key = Some(k);
                                stack.push(start_frame(&event, format!("{p}?")));
                                continue;
                            }
                            *key = Some(k);
                            continue;
                        }
                        Some(k) => key_path(path, &k),
                    },
                };
                if is_start {
                    stack.push(start_frame(&event, node_path));
                }
            } else if matches!(event, Event::MappingEnd | Event::SequenceEnd) {
                stack.pop();
            }
        }
        index
    }

    fn record(&mut self, line: u64, col: u64, path: &str) {
        self.entries.push((line, col, path.to_owned()));
        self.by_path.entry(path.to_owned()).or_insert((line, col));
    }

    /// Whether the document has this path.
    pub(crate) fn contains(&self, path: &str) -> bool {
        self.by_path.contains_key(path)
    }

    /// Position of a path, or of its nearest recorded ancestor; (0, 0) when unknown.
    pub(crate) fn locate(&self, path: &str) -> (u64, u64) {
        let mut p = path;
        loop {
            if let Some(pos) = self.by_path.get(p) {
                return *pos;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return (0, 0),
            }
        }
    }

    /// The path of the last key or item that starts at or before a position.
    pub(crate) fn path_at(&self, line: u64, col: u64) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(l, c, _)| (*l, *c) <= (line, col))
            .map(|(_, _, p)| p.as_str())
    }
}

fn start_frame(event: &Event<'_>, path: String) -> Frame {
    match event {
        Event::MappingStart(..) => Frame::Map { path, key: None },
        _ => Frame::Seq { path, next: 0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "route:\n  receiver: a\n  routes:\n  - matchers: [a=b]\n  - receiver: b\n    matchers:\n    - x=~(\nreceivers: [{name: a}]\n";

    #[test]
    fn paths_and_positions() {
        let ix = PathIndex::build(DOC);
        assert_eq!(ix.locate("route"), (1, 1));
        assert_eq!(ix.locate("route.receiver"), (2, 3));
        assert_eq!(ix.locate("route.routes[0]"), (4, 5));
        assert_eq!(ix.locate("route.routes[0].matchers[0]"), (4, 16));
        assert_eq!(ix.locate("route.routes[1].matchers[0]"), (7, 7));
        assert_eq!(ix.locate("receivers[0].name"), (8, 14));
        // Unknown paths fall back to the nearest ancestor.
        assert_eq!(ix.locate("route.routes[1].group_by"), (5, 5));
        assert_eq!(ix.locate("nothing"), (0, 0));
        assert_eq!(ix.path_at(7, 9), Some("route.routes[1].matchers[0]"));
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let deep = "[".repeat(100_000);
        let _ = PathIndex::build(&deep);
        let deep = "a:\n".to_owned() + &" - ".repeat(10_000);
        let _ = PathIndex::build(&deep);
    }
}
