//! Unit tests: data-model methods, load-time errors and their positions, override rules,
//! render errors and fallback, HTML escaping refusals, depth bounds, time zones.

use std::sync::Arc;

use super::difftest::{ctx, data};
use super::*;

fn render(t: &Templates, text: &str) -> Result<String, Error> {
    render_preview(t, text, &data(), &ctx())
}

#[test]
fn kv_methods() {
    let kv = Kv::from_pairs([("zone", "a"), ("alertname", "X"), ("b", "2")]);
    assert_eq!(
        kv.sorted_pairs(),
        vec![("alertname", "X"), ("b", "2"), ("zone", "a")]
    );
    assert_eq!(kv.names(), vec!["alertname", "b", "zone"]);
    assert_eq!(kv.values(), vec!["X", "2", "a"]);
    assert_eq!(kv.remove(&["b", "nope"]).names(), vec!["alertname", "zone"]);
    assert_eq!(kv.to_string(), "alertname=X, b=2, zone=a");
    assert_eq!(Kv::default().to_string(), "");
}

#[test]
fn data_firing_resolved() {
    let d = data();
    assert_eq!(d.firing().count(), 2);
    assert_eq!(d.resolved().count(), 1);
    assert_eq!(d.alerts[0].ends_at, zero_time());
}

#[test]
fn template_methods_on_data() {
    let t = Templates::new();
    assert_eq!(
        render(&t, "{{ .CommonLabels.SortedPairs.Values | join \" \" }}").unwrap(),
        "DiskFull eu1 node"
    );
    assert_eq!(
        render(&t, "{{ .CommonLabels.Remove .GroupLabels.Names }}").unwrap(),
        "job=node"
    );
    assert_eq!(
        render(
            &t,
            "{{ range .GroupLabels.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}"
        )
        .unwrap(),
        "alertname=DiskFull;cluster=eu1;"
    );
    assert_eq!(
        render(&t, "{{ .GroupLabels.Names.Join \"/\" }}").unwrap(),
        "alertname/cluster"
    );
    assert_eq!(
        render(&t, "{{ len .Alerts.Firing }}/{{ len .Alerts.Resolved }}").unwrap(),
        "2/1"
    );
}

#[test]
fn parse_errors_name_file_line_and_column() {
    let mut t = Templates::new();
    let e = t
        .add_source(
            "templates/x.tmpl",
            "line one\n{{ define \"a\" }}\n  {{ .Foo } }}{{ end }}",
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "templates/x.tmpl:3:11: unexpected \"}\" in operand"
    );
    let e = t.add_source("y.tmpl", "{{ nosuch 1 }}").unwrap_err();
    assert_eq!(e.to_string(), "y.tmpl:1:4: function \"nosuch\" not defined");
    let e = t.add_source("z.tmpl", "ok\n{{ if .X }}").unwrap_err();
    assert!(e.to_string().starts_with("z.tmpl:2:"), "{e}");
    let e = t.parse_inline("{{ $x }}").unwrap_err();
    assert_eq!(e.to_string(), "inline:1:4: undefined variable \"$x\"");
}

#[test]
fn undefined_templates_are_caught_at_load() {
    let mut t = Templates::with_defaults();
    let e = t
        .parse_inline("a\n  {{ template \"nope\" . }}")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "inline:2:6: template \"nope\" is not defined"
    );
    // A user file referencing a missing template loads (as in Alertmanager) ...
    t.add_source(
        "u.tmpl",
        "{{ define \"u\" }}{{ template \"missing\" . }}{{ end }}",
    )
    .unwrap();
    // ... but using it is refused at load, and the strict check reports it.
    let e = t.parse_inline("{{ template \"u\" . }}").unwrap_err();
    assert!(e.to_string().starts_with("u.tmpl:1:"), "{e}");
    assert!(t.validate().is_err());
    assert!(Templates::with_defaults().validate().is_ok());
}

#[test]
fn later_defines_override_earlier_but_empty_ones_do_not() {
    let mut t = Templates::with_defaults();
    t.add_source(
        "a.tmpl",
        "{{ define \"slack.default.username\" }}first{{ end }}",
    )
    .unwrap();
    t.add_source(
        "b.tmpl",
        "{{ define \"slack.default.username\" }}second{{ end }}",
    )
    .unwrap();
    t.add_source(
        "c.tmpl",
        "{{ define \"slack.default.username\" }}  {{ end }}",
    )
    .unwrap();
    assert_eq!(
        render(&t, "{{ template \"slack.default.username\" . }}").unwrap(),
        "second"
    );
    // Redefining within one file is an error, as in Go.
    assert!(
        t.add_source(
            "d.tmpl",
            "{{ define \"q\" }}1{{ end }}{{ define \"q\" }}2{{ end }}"
        )
        .is_err()
    );
    // A file's top-level text is a template named after its base name.
    t.add_source("dir/top.tmpl", "top {{ .Status }}").unwrap();
    assert_eq!(
        render(&t, "{{ template \"top.tmpl\" . }}").unwrap(),
        "top firing"
    );
}

#[test]
fn inline_defines_stay_local() {
    let t = Templates::with_defaults();
    let i = t
        .parse_inline(
            "{{ define \"__alertmanager\" }}X{{ end }}{{ template \"slack.default.username\" . }}",
        )
        .unwrap();
    assert_eq!(i.render(&t, &data(), &ctx()).unwrap(), "X");
    assert_eq!(
        render(&t, "{{ template \"slack.default.username\" . }}").unwrap(),
        "Alertmanager"
    );
}

#[test]
fn render_errors_carry_template_and_position() {
    let mut t = Templates::new();
    t.add_source(
        "e.tmpl",
        "{{ define \"e\" }}ok\n {{ index .Alerts 7 }}{{ end }}",
    )
    .unwrap();
    let e = render(&t, "{{ template \"e\" . }}").unwrap_err();
    let s = e.to_string();
    assert!(
        s.starts_with("e.tmpl:2:5: executing \"e\" at <index .Alerts 7>:"),
        "{s}"
    );
    assert!(s.contains("index out of range: 7"), "{s}");
    let i = t.parse_inline("{{ template \"e\" . }}").unwrap();
    let (out, err) = i.render_or_fallback(&t, &data(), &ctx(), "fallback text");
    assert_eq!(out, "fallback text");
    assert!(matches!(err, Some(Error::Render { .. })));
}

#[test]
fn template_recursion_is_bounded() {
    let mut t = Templates::new();
    t.add_source(
        "r.tmpl",
        "{{ define \"r\" }}{{ template \"r\" . }}{{ end }}",
    )
    .unwrap();
    let e = render(&t, "{{ template \"r\" . }}").unwrap_err();
    assert!(
        e.to_string().contains("exceeded maximum template depth"),
        "{e}"
    );
}

/// Nesting inside a recursion counts toward the bound too: a 4 KiB template that nests 190
/// `if`s around a recursive call (190 × 300 levels) is an error, not a stack overflow that
/// would take the daemon down through the preview API.
#[test]
fn nesting_inside_recursion_is_bounded() {
    let n = 190;
    let body = "{{ if true }}".repeat(n) + "{{ template \"r\" . }}" + &"{{ end }}".repeat(n);
    let text = format!("{{{{ define \"r\" }}}}{body}{{{{ end }}}}{{{{ template \"r\" . }}}}");
    for html in [false, true] {
        let t = Templates::new();
        let r = if html {
            render_preview_html(&t, &text, &data(), &ctx())
        } else {
            render_preview(&t, &text, &data(), &ctx())
        };
        let e = r.unwrap_err().to_string();
        assert!(e.contains("exceeded maximum template depth (300)"), "{e}");
    }
}

/// A runaway loop or a huge output is a render error, not a thread held forever or memory
/// exhausted (the preview API renders any template it is given).
#[test]
fn runaway_renders_are_bounded() {
    let t = Templates::new();
    let e = render(&t, "{{ range 1000000000000 }}{{ end }}").unwrap_err();
    assert!(e.to_string().contains("exceeded 10000000 steps"), "{e}");
    let e = render(
        &t,
        r#"{{ range 100000 }}{{ range 1000 }}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{{ end }}{{ end }}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("output exceeds 16 MiB"), "{e}");
    let e = render(
        &t,
        r#"{{ range 100000000 }}{{ $x := printf "%1000000d" 1 }}{{ end }}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("exceeded 10000000 steps"), "{e}");
    // A large but reasonable render is fine.
    let ok = render(&t, "{{ range 100000 }}{{ . }},{{ end }}").unwrap();
    assert_eq!(ok.len(), 588_890);
}

#[test]
fn parse_nesting_is_bounded() {
    let deep_if =
        "{{ if true }}".repeat(MAX_PARSE_DEPTH + 5) + &"{{ end }}".repeat(MAX_PARSE_DEPTH + 5);
    let e = Templates::new().parse_inline(&deep_if).unwrap_err();
    assert!(e.to_string().contains("nesting too deep"), "{e}");
    let deep_paren = format!("{{{{ {}1{} }}}}", "(".repeat(10_000), ")".repeat(10_000));
    let e = Templates::new().parse_inline(&deep_paren).unwrap_err();
    assert!(e.to_string().contains("nesting too deep"), "{e}");
    let ok = "{{ if true }}".repeat(MAX_PARSE_DEPTH - 1)
        + "x"
        + &"{{ end }}".repeat(MAX_PARSE_DEPTH - 1);
    assert_eq!(render(&Templates::new(), &ok).unwrap(), "x");
}

#[test]
fn html_escaping_refuses_unsupported_contexts() {
    let t = Templates::with_defaults();
    for bad in [
        "<script>var x = 1;</script>",
        "<a {{ .Status }}>x</a>",
        "<a title={{ .Status }}>x</a>",
        "<p style=\"color: {{ .Status }}\">x</p>",
        "<a onclick=\"f('{{ .Status }}')\">x</a>",
        "<style>p { color: {{ .Status }} }</style>",
        "<a href=\"{{ if .Status }}/x?{{ end }}{{ .Receiver }}\">x</a>",
        "<p title=\"{{ if .Status }}\"{{ end }}>",
        "<p",
    ] {
        let e = t.parse_inline_html(bad).unwrap_err();
        assert!(matches!(e, Error::Escape { .. }), "{bad}: {e}");
    }
    let ok = t
        .parse_inline_html(r#"{{ template "email.default.html" . }}"#)
        .unwrap();
    assert!(ok.is_html());
    let out = ok.render(&t, &data(), &ctx()).unwrap();
    assert!(out.contains("&lt;b&gt;bold &amp; &#34;quoted&#34; &#39;single&#39;&lt;/b&gt;"));
    assert!(
        out.contains("href=\"#ZgotmplZ\""),
        "javascript: URLs are filtered"
    );
}

#[test]
fn times_keep_their_offset_and_the_rest_render_in_the_context_zone() {
    let t = Templates::new();
    let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    let c = RenderContext::new(paris, ctx().now);
    let text = "{{ (index .Alerts 0).StartsAt }} | {{ (index .Alerts 1).StartsAt }} | {{ now.Format \"15:04 MST\" }}";
    // As decoded from JSON: `Z` stays UTC and `+02:00` stays +0200, as Go's time.Time does.
    let mut d = data();
    d.alerts[1].starts_at_offset = Some(7200);
    let out = render_preview(&t, text, &d, &c).unwrap();
    assert_eq!(
        out,
        "2026-11-22 20:41:09.386046549 +0000 UTC | 2026-11-22 23:00:00 +0200 +0200 | 23:00 CET"
    );
    // Times tocsin made itself (no offset recorded) show in the context zone, as Alertmanager
    // shows its own in Local.
    d.alerts[0].starts_at_offset = None;
    let out = render_preview(&t, text, &d, &c).unwrap();
    assert!(
        out.starts_with("2026-11-22 21:41:09.386046549 +0100 CET | "),
        "{out}"
    );
    let out = render_preview(
        &t,
        "{{ ((index .Alerts 1).StartsAt | tz \"UTC\").Format \"15:04 MST\" }}",
        &d,
        &c,
    )
    .unwrap();
    assert_eq!(out, "21:00 UTC");
}

#[test]
fn defaults_define_alertmanager_names_and_render_on_empty_data() {
    let t = Templates::with_defaults();
    for name in [
        "__alertmanager",
        "__alertmanagerURL",
        "__subject",
        "__description",
        "__text_alert_list",
        "__text_alert_list_markdown",
        "slack.default.title",
        "slack.default.username",
        "slack.default.fallback",
        "slack.default.callbackid",
        "slack.default.pretext",
        "slack.default.titlelink",
        "slack.default.iconemoji",
        "slack.default.iconurl",
        "slack.default.text",
        "slack.default.footer",
        "pagerduty.default.description",
        "pagerduty.default.client",
        "pagerduty.default.clientURL",
        "pagerduty.default.instances",
        "opsgenie.default.message",
        "opsgenie.default.description",
        "opsgenie.default.source",
        "wechat.default.message",
        "wechat.default.to_user",
        "wechat.default.to_party",
        "wechat.default.to_tag",
        "wechat.default.agent_id",
        "victorops.default.state_message",
        "victorops.default.entity_display_name",
        "victorops.default.monitoring_tool",
        "pushover.default.title",
        "pushover.default.message",
        "pushover.default.url",
        "sns.default.subject",
        "sns.default.message",
        "telegram.default.message",
        "discord.default.title",
        "discord.default.message",
        "webex.default.message",
        "msteams.default.title",
        "msteams.default.summary",
        "msteams.default.text",
        "msteamsv2.default.title",
        "msteamsv2.default.text",
        "jira.default.summary",
        "jira.default.description",
        "jira.default.priority",
        "rocketchat.default.title",
        "rocketchat.default.alias",
        "rocketchat.default.titlelink",
        "rocketchat.default.emoji",
        "rocketchat.default.iconurl",
        "rocketchat.default.text",
        "email.default.subject",
        "email.default.html",
        "email.default.text",
        "zendesk.default.subject",
        "zendesk.default.description",
        "zendesk.default.comment",
    ] {
        assert!(t.contains(name), "missing default template {name}");
    }
    let empty = Data::default();
    let takes_data =
        |n: &str| (!n.starts_with("__") || n == "__subject") && n != "pagerduty.default.instances";
    for name in t.names().into_iter().filter(|n| takes_data(n)) {
        t.render_named(&name, &empty, &ctx())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let subject = t.render_named("__subject", &data(), &ctx()).unwrap();
    assert_eq!(subject, "[FIRING:2] DiskFull eu1 (node)");
    assert_eq!(
        t.render_named("pagerduty.default.description", &data(), &ctx())
            .unwrap(),
        subject
    );
}

#[test]
fn default_messages_say_what_where_since_and_runbook() {
    let t = Templates::with_defaults();
    let text = t
        .render_named("slack.default.text", &data(), &ctx())
        .unwrap();
    assert!(text.contains("DiskFull"));
    assert!(text.contains("Disk /var on db-1 is 97% full"));
    assert!(text.contains("instance=db-1:9100"));
    assert!(text.contains("firing since 2026-11-22 20:41:09 UTC"));
    assert!(text.contains("|Runbook>"));
    assert_eq!(
        t.render_named("jira.default.priority", &data(), &ctx())
            .unwrap(),
        "High"
    );
}

#[test]
fn templates_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Templates>();
    assert_send_sync::<Inline>();
    assert_send_sync::<Error>();
    let t = Arc::new(Templates::with_defaults());
    let i = t.parse_inline("{{ template \"__subject\" . }}").unwrap();
    let h = std::thread::spawn(move || i.render(&t, &data(), &ctx()).unwrap());
    assert_eq!(h.join().unwrap(), "[FIRING:2] DiskFull eu1 (node)");
}

#[test]
fn add_file_reports_io_errors_with_the_path() {
    let mut t = Templates::new();
    let e = t
        .add_file(std::path::Path::new("/nonexistent/x.tmpl"))
        .unwrap_err();
    assert!(e.to_string().starts_with("/nonexistent/x.tmpl: "), "{e}");
}

/// `.Remove` views over sets larger than one 64-bit mask, removed from twice: every way of
/// reading the view agrees with a copied map.
#[test]
fn remove_on_large_label_sets() {
    let mut d = data();
    let labels: Vec<(String, String)> = (0..70)
        .map(|i| (format!("l{i:02}"), format!("v{i}")))
        .chain([("alertname".to_string(), "Big".to_string())])
        .collect();
    d.alerts[0].labels = Kv::from_pairs(labels);
    let t = Templates::new();
    let text = r#"{{ $l := (index .Alerts 0).Labels }}{{ $r := ($l.Remove (stringSlice "l00" "l64" "nope")).Remove (stringSlice "l69" "alertname") }}{{ len $l }} {{ len $r }} {{ $r.l01 }}/{{ $r.l64 }}/{{ $r.l65 }}/{{ $r.alertname }} {{ index $r.Names 0 }} {{ index $r.Names 66 }} {{ $last := "" }}{{ range $k, $v := $r }}{{ $last = $k }}{{ end }}{{ $last }}"#;
    let out = render_preview(&t, text, &d, &ctx()).unwrap();
    assert_eq!(out, "71 67 v1//v65/ l01 l68 l68");
    let whole = render_preview(
        &t,
        r#"{{ (index .Alerts 0).Labels.Remove (stringSlice "l05") }}"#,
        &d,
        &ctx(),
    )
    .unwrap();
    let want = d.alerts[0].labels.remove(&["l05"]).to_string();
    assert_eq!(whole, want);
    assert!(whole.starts_with("alertname=Big, l00=v0, l01=v1, l02=v2, l03=v3, l04=v4, l06=v6"));
}
