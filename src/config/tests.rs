//! Loader tests: defaults and inheritance, error paths and positions, secrets, hostile input.

use std::path::Path;

use super::*;
use crate::model::Duration;

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_yaml(text, Path::new("/etc/tocsin"), "t.yml")
}

fn errors(text: &str) -> Vec<Diagnostic> {
    match load(text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.diagnostics().to_vec(),
    }
}

const MINIMAL: &str = "route:\n  receiver: r\nreceivers:\n- name: r\n";

#[test]
fn defaults() {
    let c = load(MINIMAL).unwrap();
    assert_eq!(c.global.resolve_timeout, Duration::from_secs(300));
    assert_eq!(c.global.smtp_hello, "localhost");
    assert!(c.global.smtp_require_tls);
    assert_eq!(c.global.pagerduty_url, DEFAULT_PAGERDUTY_URL);
    assert!(c.global.http_config.follow_redirects && c.global.http_config.enable_http2);
    assert_eq!(c.route.group_wait, DEFAULT_GROUP_WAIT);
    assert_eq!(c.route.group_interval, DEFAULT_GROUP_INTERVAL);
    assert_eq!(c.route.repeat_interval, DEFAULT_REPEAT_INTERVAL);
    assert_eq!(c.route.group_by, GroupBy::Labels(vec![]));
    assert_eq!(c.route.key, "{}");
    assert_eq!(c.route.id, "{}");
    assert!(c.warnings.is_empty());
    assert!(c.receiver("r").is_some() && c.receiver("x").is_none());
}

#[test]
fn inheritance() {
    let c = load(
        r#"
global:
  smtp_from: a@b.c
  smtp_smarthost: mail:25
  smtp_require_tls: false
  slack_api_url: https://hooks.example/x
  http_config: {proxy_url: "http://proxy:3128"}
route:
  receiver: r
  group_by: [a]
  group_wait: 1s
  routes:
  - matchers: [x=y]
    group_by: ['...']
    routes:
    - match: {z: w}
      receiver: s
      group_by: []
receivers:
- name: r
  email_configs: [{to: x@y.z}]
  webhook_configs: [{url: "http://h/"}, {url: "http://h/", send_resolved: false, http_config: {}}]
- name: s
  slack_configs: [{channel: c}]
  pagerduty_configs: [{service_key: k}]
"#,
    )
    .unwrap();
    let e = &c.receivers[0].email_configs[0];
    assert_eq!(e.from.as_deref(), Some("a@b.c"));
    assert_eq!(e.smarthost.as_deref(), Some("mail:25"));
    assert_eq!(e.require_tls, Some(false));
    assert!(!e.send_resolved);
    let w = &c.receivers[0].webhook_configs;
    assert!(w[0].send_resolved && !w[1].send_resolved);
    assert_eq!(
        w[0].http_config.proxy_url.as_deref(),
        Some("http://proxy:3128")
    );
    assert_eq!(w[1].http_config.proxy_url, None);
    let s = &c.receivers[1].slack_configs[0];
    assert_eq!(
        s.api_url.as_ref().map(|u| u.expose().as_str()),
        Some("https://hooks.example/x")
    );
    assert!(!s.send_resolved);
    let p = &c.receivers[1].pagerduty_configs[0];
    assert!(p.send_resolved);
    assert_eq!(p.url.as_deref(), Some(DEFAULT_PAGERDUTY_URL));
    let child = &c.route.routes[0];
    assert_eq!(child.receiver, "r");
    assert_eq!(child.group_by, GroupBy::All);
    assert_eq!(child.group_wait, Duration::from_secs(1));
    let grandchild = &child.routes[0];
    assert_eq!(
        grandchild.group_by,
        GroupBy::All,
        "an empty group_by inherits"
    );
    assert_eq!(grandchild.key, "{}/{x=\"y\"}/{z=\"w\"}");
    assert_eq!(grandchild.id, "{}/{x=\"y\"}/0/{z=\"w\"}/0");
    assert_eq!(grandchild.index, 2);
}

#[test]
fn error_names_file_line_column_and_path() {
    let text = "route:\n  receiver: r\n  routes:\n  - receiver: r\n  - receiver: r\n  - receiver: r\n    matchers:\n    - 'a=~\"(\"'\nreceivers:\n- name: r\n";
    let e = load(text).unwrap_err().to_string();
    assert!(
        e.starts_with("t.yml:8:7: route.routes[2].matchers[0]: invalid regex"),
        "{e}"
    );
}

#[test]
fn several_errors_are_all_reported() {
    let d = errors(
        "route:\n  receiver: nope\n  group_interval: 0s\nreceivers:\n- name: r\n- name: r\n",
    );
    let paths: Vec<&str> = d.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "route.receiver",
            "route.group_interval",
            "receivers[1].name"
        ]
    );
    assert_eq!((d[0].line, d[0].column), (2, 3));
}

/// Type errors (a bad duration, a bad regex, a bad URL, an unknown key, in block and flow style)
/// and semantic ones (an undefined receiver) are reported together, each at its own line, and
/// nothing the recovery edits could cause is added (the URL nulled would be "missing url").
#[test]
fn type_and_semantic_errors_are_reported_in_one_load() {
    let d = errors(
        "route:\n  receiver: team\n  group_wait: 10x\n  routes:\n    - matchers: ['severity=~\"(crit\"']\n      receiver: nobody\nreceivers:\n  - name: team\n    webhook_configs:\n      - url: not-a-url\n        bogus_key: 1\n  - {name: other, webhook_configs: [{url: 'http://x/', max_alerts: '5'}], extra: 1}\n",
    );
    let got: Vec<(&str, u64)> = d.iter().map(|d| (d.path.as_str(), d.line)).collect();
    assert_eq!(
        got,
        [
            ("route.group_wait", 3),
            ("route.routes[0].matchers[0]", 5),
            ("route.routes[0].receiver", 6),
            ("receivers[0].webhook_configs[0].url", 10),
            ("receivers[0].webhook_configs[0].bogus_key", 11),
            ("receivers[1].webhook_configs[0].max_alerts", 12),
            ("receivers[1].extra", 12),
        ],
        "{d:#?}"
    );
    assert!(
        d[2].message.contains("undefined receiver"),
        "{}",
        d[2].message
    );
}

#[test]
fn strict_yaml() {
    let d = errors("route:\n  receiver: r\n  recevier: x\nreceivers:\n- name: r\n");
    assert_eq!(d[0].path, "route.recevier");
    assert_eq!(d[0].line, 3);
    assert!(d[0].message.contains("unknown field"), "{}", d[0].message);
    let d = errors("route:\n  receiver: r\nreceivers:\n- name: r\nroute:\n  receiver: r\n");
    assert!(d[0].message.contains("duplicate"), "{}", d[0].message);
    assert!(!d[0].message.contains("Options"), "{}", d[0].message);
    assert_eq!(d[0].line, 5);
    let d = errors("route:\n  receiver: r\n  group_wait: soon\nreceivers:\n- name: r\n");
    assert_eq!(d[0].path, "route.group_wait");
}

#[test]
fn hostile_input_is_an_error_not_a_crash() {
    // A billion laughs: 12 levels of 10 aliases each.
    let mut bomb = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let refs = vec![format!("*l{}", i - 1); 10].join(", ");
        bomb.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
    }
    assert!(load(&bomb).is_err());
    let deep = format!("route: {}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(load(&deep).is_err());
    let deep = format!("{}x: 1\n", "a:\n ".repeat(2_000));
    assert!(load(&deep).is_err());
    assert!(load("").is_err());
    assert!(load("---\n...\n").is_err());
    assert!(load("[1, 2").is_err());
    assert!(load("route: 5").is_err());
}

const SECRETS: [&str; 10] = [
    "S3cr3tPass",
    "S3cr3tSlack",
    "S3cr3tHook",
    "S3cr3tRouting",
    "S3cr3tBearer",
    "S3cr3tBasic",
    "S3cr3tOpsgenie",
    "S3cr3tZendesk",
    "S3cr3tToken",
    "S3cr3tCred",
];

const SECRET_CONFIG: &str = r#"
global:
  smtp_smarthost: mail:25
  smtp_from: a@b.c
  smtp_auth_password: S3cr3tPass
  slack_api_url: https://hooks.slack.com/services/S3cr3tSlack
route:
  receiver: r
receivers:
- name: r
  webhook_configs:
  - url: https://hc.example/ping/S3cr3tHook
    http_config:
      bearer_token: S3cr3tBearer
  - url: https://hc.example/x
    http_config:
      basic_auth: {username: u, password: S3cr3tBasic}
  - url: https://hc.example/y
    http_config:
      authorization: {credentials: S3cr3tCred}
  pagerduty_configs: [{routing_key: S3cr3tRouting}]
  email_configs: [{to: x@y.z}]
  slack_configs: [{channel: c}]
  opsgenie_configs: [{api_key: S3cr3tOpsgenie}]
  zendesk_configs: [{subdomain: ex, email: a@b.c, api_token: S3cr3tZendesk}]
heartbeats:
- {name: backup, period: 1d, token: S3cr3tToken}
"#;

fn assert_clean(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} leaks {s}:\n{text}");
    }
}

#[test]
fn secrets_never_leak() {
    let c = load(SECRET_CONFIG).unwrap();
    assert_clean("Debug", &format!("{c:?}"));
    assert_clean("original", &c.original);
    for w in &c.warnings {
        assert_clean("warning", &w.to_string());
    }
    // Make it invalid in several ways around the secrets; errors must not echo them.
    for (from, to) in [
        (
            "url: https://hc.example/ping/S3cr3tHook",
            "url: ftp://S3cr3tHook",
        ),
        (
            "routing_key: S3cr3tRouting",
            "routing_key: S3cr3tRouting, routing_key_file: /x",
        ),
        (
            "bearer_token: S3cr3tBearer",
            "bearer_token: S3cr3tBearer\n      bearer_token_file: /x",
        ),
        (
            "smtp_auth_password: S3cr3tPass",
            "smtp_auth_password: [S3cr3tPass]",
        ),
        (
            "api_token: S3cr3tZendesk",
            "api_token: S3cr3tZendesk, api_token_file: f",
        ),
    ] {
        let bad = SECRET_CONFIG.replace(from, to);
        let e = load(&bad).unwrap_err();
        assert_clean("error", &e.to_string());
        assert_clean("error Debug", &format!("{e:?}"));
    }
}

#[test]
fn relative_paths_resolve_against_the_config_directory() {
    let c = load(
        "route:\n  receiver: r\nreceivers:\n- name: r\n  webhook_configs:\n  - url_file: hook.url\n    http_config: {bearer_token_file: /abs/tok}\n",
    )
    .unwrap();
    let w = &c.receivers[0].webhook_configs[0];
    assert_eq!(
        w.url_file.as_deref(),
        Some(Path::new("/etc/tocsin/hook.url"))
    );
    assert_eq!(
        w.http_config.bearer_token_file.as_deref(),
        Some(Path::new("/abs/tok"))
    );
}

mod never_panics {
    use proptest::prelude::*;

    use super::*;

    const BASE: &str = "global:\n  smtp_smarthost: a:25\n  smtp_from: a@b.c\nroute:\n  receiver: r\n  group_by: [a, '...']\n  routes:\n  - matchers: ['x=~\"a|b\"', y!=z]\n    continue: true\n    mute_time_intervals: [t]\nreceivers:\n- name: r\n  email_configs: [{to: x}]\n  webhook_configs: [{url: 'http://h/'}]\ntime_intervals:\n- name: t\n  time_intervals: [{times: [{start_time: '01:00', end_time: '02:00'}], weekdays: ['monday:friday'], days_of_month: ['-3:-1']}]\n";

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        #[test]
        fn yaml_like_noise(s in "[a-z_:\\-\\[\\]{}'\" \n&*<!|>.,=~0-9]{0,200}") {
            let _ = load(&s);
        }

        #[test]
        fn mutated_valid_config(pos in 0usize..BASE.len(), len in 0usize..12, insert in "[a-z:\\-\\[\\]{}'\" \n&*=~.]{0,6}") {
            let mut s = BASE.as_bytes().to_vec();
            let end = (pos + len).min(s.len());
            s.splice(pos..end, insert.bytes());
            if let Ok(text) = String::from_utf8(s) {
                let _ = load(&text);
            }
        }

        #[test]
        fn glob_patterns(p in "[a-c*?\\[\\]!^\\\\-]{0,12}", n in "[a-c]{0,12}") {
            let _ = glob_match(&p, &n);
        }
    }
}

#[test]
fn heartbeat_and_dead_mans_switch_keys() {
    let c = load(
        "route: {receiver: r}\nreceivers: [{name: r}]\nheartbeats:\n- {name: etl, schedule: 'cron(05 7 * * ? *)', grace: 15m, failures_before_alert: 2, min_duration: 10s, max_pings_per_period: 3, success_keywords: [OK], failure_keywords: [ERROR]}\n- {name: q, schedule: 'rate(2 hours)'}\ndead_mans_switch:\n- {url: 'https://hc.example/a', method: post, fail_url: 'https://hc.example/a/fail', require_alerts: ['alertname=\"Watchdog\"'], max_age: 3m}\n- {name: second, url: 'https://hc.example/b'}\n",
    )
    .unwrap();
    assert!(c.heartbeats[0].cron.is_some());
    assert_eq!(c.heartbeats[0].failures_before_alert, 2);
    assert_eq!(c.heartbeats[1].period, Some(Duration::from_secs(7200)));
    assert_eq!(c.dead_mans_switch.len(), 2);
    assert_eq!(c.dead_mans_switch[0].name, "0");
    assert_eq!(c.dead_mans_switch[0].method, "POST");
    assert_eq!(c.dead_mans_switch[0].max_age, Duration::from_secs(180));
    assert_eq!(c.dead_mans_switch[1].name, "second");
    assert_eq!(c.dead_mans_switch[1].max_age, Duration::from_secs(300));
    for (yaml, path, msg) in [
        (
            "heartbeats:\n- {name: a, schedule: '0 7 * * ? *'}",
            "heartbeats[0].schedule",
            "write an EventBridge schedule as cron(",
        ),
        (
            "heartbeats:\n- {name: a, schedule: 'cron(0 7 1 * ? 2020)'}",
            "heartbeats[0].schedule",
            "never fires again",
        ),
        (
            "heartbeats:\n- {name: a, schedule: 'rate(1 fortnight)'}",
            "heartbeats[0].schedule",
            "want rate(N minutes|hours|days)",
        ),
        (
            "heartbeats:\n- {name: Backup, period: 1d}",
            "heartbeats[0].name",
            "lowercase slug",
        ),
        (
            "heartbeats:\n- {name: a, period: 1d, failures_before_alert: 0}",
            "heartbeats[0].failures_before_alert",
            "at least 1",
        ),
        (
            "dead_mans_switch: {url: 'https://x.example', method: PUT}",
            "dead_mans_switch.method",
            "must be GET, POST or HEAD",
        ),
        (
            "dead_mans_switch: [{url: 'https://x.example'}, {url_file: u, bogus: 1}]",
            "dead_mans_switch",
            "bogus",
        ),
    ] {
        let text = format!("route: {{receiver: r}}\nreceivers: [{{name: r}}]\n{yaml}\n");
        let e = load(&text).expect_err(yaml).to_string();
        assert!(e.contains(path) && e.contains(msg), "{yaml}: {e}");
    }
}

fn load_mode(text: &str, syntax: crate::model::MatcherSyntax) -> Result<Config, ConfigError> {
    let opts = LoadOptions {
        matcher_syntax: syntax,
    };
    Config::from_yaml_with(text, Path::new("/etc/tocsin"), "t.yml", opts)
}

#[test]
fn label_names_follow_the_feature_mode() {
    use crate::model::MatcherSyntax::{Classic, Fallback, Utf8Strict};
    let text = "route:\n  receiver: r\n  group_by: ['service.name']\ninhibit_rules:\n- equal: ['k8s-ns']\nreceivers:\n- name: r\n  labels: {'team.name': a}\n";
    assert!(load_mode(text, Fallback).is_ok());
    assert!(load_mode(text, Utf8Strict).is_ok());
    let e = load_mode(text, Classic).unwrap_err();
    let paths: Vec<&str> = e.diagnostics().iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "route.group_by[0]",
            "inhibit_rules[0].equal[0]",
            "receivers[0].labels.team.name"
        ],
        "{e}"
    );
}

#[test]
fn null_values_read_as_go_zero_values() {
    let c = load(
        "global:\nroute:\n  receiver: r\n  group_by:\n  routes:\n  - receiver:\n    matchers: [a=b]\n    routes:\n    # none yet\nreceivers:\n- name: r\n  webhook_configs:\n  - url: http://h/\n    send_resolved:\n    http_config:\n",
    )
    .unwrap();
    assert_eq!(c.global.resolve_timeout, Duration::from_secs(300));
    let child = &c.route.routes[0];
    assert_eq!(child.receiver, "r", "an empty receiver inherits");
    assert!(child.routes.is_empty());
    let w = &c.receivers[0].webhook_configs[0];
    assert!(!w.send_resolved, "null is false, not the default true");
    assert!(
        w.http_config.follow_redirects,
        "a null http_config is the global one"
    );
    let d = errors("route:\n  receiver: r\nreceivers:\n- name: r\n  email_configs:\n  -\n");
    assert_eq!(d[0].message, "missing email config");
}

#[test]
fn unsupported_integrations_are_checked_and_fall_back_to_global() {
    let c = load(
        "global:\n  opsgenie_api_key: k\n  wechat_api_secret: s\n  wechat_api_corp_id: c\n  rocketchat_token: t\n  rocketchat_token_id: i\nroute:\n  receiver: r\nreceivers:\n- name: r\n  opsgenie_configs: [{}]\n  wechat_configs: [{}]\n  rocketchat_configs: [{}]\n",
    )
    .unwrap();
    let o = &c.receivers[0].others;
    assert_eq!(
        o.opsgenie_configs[0].api_key.as_ref().unwrap().expose(),
        "k"
    );
    assert_eq!(
        o.opsgenie_configs[0].api_url.as_deref(),
        Some("https://api.opsgenie.com/")
    );
    assert_eq!(o.wechat_configs[0].corp_id, "c");
    assert_eq!(o.wechat_configs[0].message_type, "text");
    assert!(o.rocketchat_configs[0].token.is_some());
    assert_eq!(
        c.receivers[0].unsupported,
        ["opsgenie", "rocketchat", "wechat"]
    );
    assert_eq!(c.warnings.len(), 3);
    assert!(!c.original.contains("\"k\"") && !c.original.contains(": k\n"));
}

#[test]
fn send_resolved_when_muted_defaults_on_and_stays_out_of_the_original() {
    let c = load(
        "route: {receiver: a}\nreceivers:\n  - name: a\n  - name: b\n    send_resolved_when_muted: false\n",
    )
    .unwrap();
    assert!(c.receivers[0].send_resolved_when_muted);
    assert!(!c.receivers[1].send_resolved_when_muted);
    assert!(
        !c.original.contains("send_resolved_when_muted"),
        "amtool 0.25 would refuse it"
    );
}
