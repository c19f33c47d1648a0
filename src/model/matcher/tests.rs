use super::*;
use proptest::prelude::*;

fn ls(pairs: &[(&str, &str)]) -> LabelSet {
    pairs.iter().copied().collect()
}

fn one(s: &str, syntax: MatcherSyntax) -> Matcher {
    parse_matcher(s, syntax).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn operators_and_missing_labels() {
    let l = ls(&[("job", "node"), ("env", "prod")]);
    let m = |s: &str| one(s, MatcherSyntax::Fallback);
    assert!(m("job=node").matches(&l));
    assert!(m("job!=api").matches(&l));
    assert!(m("job=~no.*").matches(&l));
    assert!(!m("job=~no").matches(&l), "regexes are anchored");
    assert!(m("job!~api|web").matches(&l));
    assert!(m("missing!=bar").matches(&l), "absent label is \"\"");
    assert!(m(r#"missing="""#).matches(&l));
    assert!(m(r#"missing=~"""#).matches_empty());
}

#[test]
fn utf8_syntax() {
    let ms = parse_matchers(
        r#"{foo="bar", "service name"=~"a.*",}"#,
        MatcherSyntax::Utf8Strict,
    )
    .unwrap();
    assert_eq!(ms.len(), 2);
    assert_eq!(ms[1].name, "service name");
    assert_eq!(ms[1].op, MatchType::Regex);
    assert_eq!(
        parse_matchers("foo=bar,baz!~qux", MatcherSyntax::Utf8Strict).unwrap()[1].op,
        MatchType::NotRegex
    );
    assert_eq!(
        parse_matchers("{}", MatcherSyntax::Utf8Strict)
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        parse_matchers("", MatcherSyntax::Utf8Strict).unwrap().len(),
        0
    );
    assert_eq!(one("foo=🙂", MatcherSyntax::Utf8Strict).value, "🙂");
    for bad in [
        "{foo=bar",
        "foo=bar}",
        "foo",
        "foo=",
        "=bar",
        "foo=bar baz",
        "foo!bar",
        "{a=b}}",
    ] {
        assert!(
            parse_matchers(bad, MatcherSyntax::Utf8Strict).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn classic_syntax() {
    let m = one(r#"foo="bar""#, MatcherSyntax::Classic);
    assert_eq!((m.name.as_str(), m.value.as_str()), ("foo", "bar"));
    assert_eq!(one("foo=", MatcherSyntax::Classic).value, "");
    assert_eq!(one(r#"foo="a\"b""#, MatcherSyntax::Classic).value, "a\"b");
    assert_eq!(one(r#"foo=a\qb"#, MatcherSyntax::Classic).value, "a\\qb");
    assert_eq!(
        one("foo = bar baz", MatcherSyntax::Classic).value,
        "bar baz"
    );
    let ms = parse_matchers(r#"{a="x,y",b=~"c"}"#, MatcherSyntax::Classic).unwrap();
    assert_eq!(ms.len(), 2);
    assert_eq!(ms[0].value, "x,y");
    assert!(parse_matchers("0a=b", MatcherSyntax::Classic).is_err());
    assert_eq!(
        parse_matchers("foo", MatcherSyntax::Classic)
            .unwrap_err()
            .to_string(),
        "bad matcher format: foo"
    );
    assert!(parse_matchers(r#"foo="bar"#, MatcherSyntax::Classic).is_err());
}

#[test]
fn fallback_prefers_classic_and_accepts_both() {
    // Only classic understands an empty unquoted value.
    assert_eq!(one("foo=", MatcherSyntax::Fallback).value, "");
    // Only UTF-8 understands a quoted name.
    assert_eq!(one(r#""a b"="c""#, MatcherSyntax::Fallback).name, "a b");
}

#[test]
fn invalid_regex_is_reported() {
    let e = parse_matchers("a=~(", MatcherSyntax::Fallback).unwrap_err();
    assert!(e.to_string().starts_with("invalid regex \"(\""), "{e}");
    let big = format!("a=~{}", "(x{1000}){1000}");
    assert!(parse_matchers(&big, MatcherSyntax::Fallback).is_err());
}

#[test]
fn prints_like_alertmanager() {
    let ms = vec![
        Matcher::new("severity", MatchType::Equal, "critical").unwrap(),
        Matcher::new("team", MatchType::Regex, "a|b").unwrap(),
    ];
    assert_eq!(
        matchers_to_string(&ms),
        r#"{severity="critical",team=~"a|b"}"#
    );
    assert_eq!(
        Matcher::new("a b", MatchType::NotEqual, "x\"")
            .unwrap()
            .to_string(),
        r#""a b"!="x\"""#
    );
}

fn arb_matcher() -> impl Strategy<Value = Matcher> {
    let name = prop_oneof!["[a-zA-Z_][a-zA-Z0-9_]{0,8}", "[^\\x00]{1,8}"];
    let value = "[^\\x00-\\x1f]{0,10}";
    let op = prop_oneof![
        Just(MatchType::Equal),
        Just(MatchType::NotEqual),
        Just(MatchType::Regex),
        Just(MatchType::NotRegex)
    ];
    (name, op, value).prop_filter_map("regex must compile", |(n, o, v)| {
        let v = if o.is_regex() { regex::escape(&v) } else { v };
        Matcher::new(n, o, v).ok()
    })
}

proptest! {
    #[test]
    fn utf8_parse_print_round_trip(ms in proptest::collection::vec(arb_matcher(), 1..4)) {
        let printed = matchers_to_string(&ms);
        let parsed = parse_matchers(&printed, MatcherSyntax::Utf8Strict).unwrap();
        prop_assert_eq!(parsed, ms);
    }

    #[test]
    fn parsers_never_panic(s in ".{0,40}") {
        let _ = parse_matchers(&s, MatcherSyntax::Fallback);
        let _ = parse_matchers(&s, MatcherSyntax::Utf8Strict);
    }
}

#[test]
fn a_filter_is_one_classic_matcher_as_in_alertmanager_0_25() {
    let m = parse_filter_matcher(r#" alertname = "a,b" "#).unwrap();
    assert_eq!((m.name.as_str(), m.value.as_str()), ("alertname", "a,b"));
    assert_eq!(parse_filter_matcher("a=x,y").unwrap().value, "x,y");
    // Braces are 0.27+'s; 0.25 refuses them, whatever is inside.
    for f in [r#"{a="b"}"#, "{a=b}", " {}", r#"{"a b"="c"}"#] {
        let e = parse_filter_matcher(f).unwrap_err().to_string();
        assert_eq!(e, format!("bad matcher format: {f}"));
    }
    // A quoted UTF-8 name (tocsin takes such names, as 0.28+ does).
    let m = parse_filter_matcher(r#""a b"=~"c.*""#).unwrap();
    assert_eq!((m.name.as_str(), m.op), ("a b", MatchType::Regex));
}
