// This file measures real parse time (a linear-time check), so it reads the wall clock.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]
//! Property tests for the parser and executor: no panic on arbitrary input, nesting bounded
//! with an error, and parse time roughly linear in the input size.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::difftest::{ctx, data};
use super::{Templates, render_preview, render_preview_html};

/// Template-ish fragments, so generated inputs reach deep into the parser and executor.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{{".to_string()),
        Just("}}".to_string()),
        Just("{{- ".to_string()),
        Just(" -}}".to_string()),
        Just("{{/* c */}}".to_string()),
        Just(" if ".to_string()),
        Just(" else ".to_string()),
        Just(" end ".to_string()),
        Just(" range ".to_string()),
        Just(" with ".to_string()),
        Just(" break ".to_string()),
        Just(" define \"d\" ".to_string()),
        Just(" template \"d\" ".to_string()),
        Just(" block \"b\" . ".to_string()),
        Just(".".to_string()),
        Just(".Alerts".to_string()),
        Just(".Labels".to_string()),
        Just(".CommonLabels.SortedPairs".to_string()),
        Just("$x := ".to_string()),
        Just("$x".to_string()),
        Just("$".to_string()),
        Just(" | ".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just(" printf \"%d %s %v\" ".to_string()),
        Just(" index ".to_string()),
        Just(" slice ".to_string()),
        Just(" len ".to_string()),
        Just(" eq ".to_string()),
        Just(" and ".to_string()),
        Just(" toJson ".to_string()),
        Just(" 1 ".to_string()),
        Just(" -2.5e3 ".to_string()),
        Just(" 'x' ".to_string()),
        Just(" \"s\\n\" ".to_string()),
        Just(" `raw` ".to_string()),
        Just("<a href=\"".to_string()),
        Just("\">".to_string()),
        Just("<!--".to_string()),
        Just("<style>".to_string()),
        "[a-z<>\"' ]{0,4}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn structured_input_never_panics(parts in proptest::collection::vec(fragment(), 0..40)) {
        let text: String = parts.concat();
        let t = Templates::with_defaults();
        let _ = render_preview(&t, &text, &data(), &ctx());
        let _ = render_preview_html(&t, &text, &data(), &ctx());
        let mut t2 = Templates::new();
        let _ = t2.add_source("p.tmpl", &text);
    }

    #[test]
    fn arbitrary_strings_never_panic(text in "\\PC{0,200}") {
        let t = Templates::new();
        let _ = render_preview(&t, &text, &data(), &ctx());
        let _ = render_preview_html(&t, &text, &data(), &ctx());
    }

    #[test]
    fn printf_never_panics(format in "[%a-z0-9.*#+ \\[\\]-]{0,30}", n in any::<i64>(), f in any::<f64>()) {
        let t = Templates::new();
        let text = format!("{{{{ printf {format:?} {n} {f:?} \"s\" .Alerts nil }}}}");
        let _ = render_preview(&t, &text, &data(), &ctx());
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for depth in [1_000, 100_000] {
        let t = Templates::new();
        let ifs = "{{ if 1 }}".repeat(depth);
        assert!(t.parse_inline(&ifs).is_err());
        let parens = format!("{{{{ {}", "(".repeat(depth));
        assert!(t.parse_inline(&parens).is_err());
        let ranges = "{{ range .Alerts }}".repeat(depth) + &"{{ end }}".repeat(depth);
        assert!(t.parse_inline(&ranges).is_err());
    }
}

#[test]
fn parse_time_is_roughly_linear() {
    let unit = "Alert {{ .Status }} on {{ .CommonLabels.instance | toUpper }}{{ if .Alerts }} ({{ len .Alerts }}){{ end }}\n";
    // The fastest of three runs: other processes on a shared machine only ever add time, so the
    // minimum is the figure that compares sizes, not the load.
    let time_for = |n: usize| {
        let text = unit.repeat(n);
        let best = (0..3)
            .map(|_| {
                let start = Instant::now();
                Templates::new().parse_inline(&text).expect("parses");
                start.elapsed()
            })
            .min()
            .unwrap();
        (best, text.len())
    };
    let (small, _) = time_for(1_000);
    let (big, len) = time_for(10_000);
    assert!(len > 900_000, "about 1 MB of template");
    // Linear is 10x; a quadratic parser would be 100x.
    assert!(
        big < small * 40 + Duration::from_millis(200),
        "10x input took {big:?} vs {small:?}"
    );
}
