//! What Alertmanager's YAML parser refuses although a YAML 1.2 parser (ours) reads it.
//! Alertmanager decodes its config with `gopkg.in/yaml.v2`, a port of libyaml, whose scanner
//! ends a plain (unquoted) scalar inside a flow collection (`[...]`, `{...}`) at a `?`:
//! `matchers: [namespace=~"a(-b)?"]` is a syntax error there ("did not find expected ',' or
//! ']'"), and so it is here, with a hint to quote the value. The check walks the parser's events
//! only when the text could contain such a scalar.
//! Imports: serde-saphyr's parser (granit-parser, re-exported).

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

/// The plain scalars in flow collections that contain a `?`.
pub(crate) fn libyaml_refusals(text: &str) -> Vec<Refusal> {
    if !text.contains('?') || !(text.contains('[') || text.contains('{')) {
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
