//! The strict fakes of `tests/it/support/`, compiled into the unit tests too, so each
//! integration's `tests.rs` runs against the same fake as the end-to-end tests.

#[allow(dead_code)]
#[path = "../../tests/it/support/script.rs"]
pub mod script;

#[allow(dead_code)]
#[path = "../../tests/it/support/fake_pagerduty.rs"]
pub mod fake_pagerduty;

#[allow(dead_code)]
#[path = "../../tests/it/support/fake_slack.rs"]
pub mod fake_slack;

#[allow(dead_code)]
#[path = "../../tests/it/support/fake_zendesk.rs"]
pub mod fake_zendesk;

#[allow(dead_code)]
#[path = "../../tests/it/support/fake_smtp.rs"]
pub mod fake_smtp;
