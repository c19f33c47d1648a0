//! Notification: what happens to a flushed aggregation group, and every integration.
//!
//! ```text
//! pipeline.rs    Notifier::flush: mute stages -> per integration: dedup -> retry + send -> nflog
//! mute/          the mute stages, one file each: inhibit.rs, time_interval.rs, silence.rs
//! dedup.rs       the dedup decision (pure, table-tested)
//! claim.rs       send claims in a cluster: one peer sends each notification
//! retry.rs       the retry loop and its backoff / Retry-After policy
//! sli.rs         due notifications and their one outcome (the page-delivery SLI metrics)
//! ratelimit.rs   per-integration send rates (governor), waiting in a bounded queue
//! integration.rs the Integration enum and the one function that builds it from a receiver
//! error.rs       NotifyError (retry decision as a value), BuildError, ReadError
//! http.rs        client from http_config, request auth, answer classification
//! value.rs       a value given inline or as *_file, read at each send
//! tmpl.rs        templated config fields: parsed at build, rendered per notification
//! data.rs        NotificationData: the alerts of one notification, sorted and truncated
//! webhook/ email/ pagerduty/ slack/ zendesk/   one folder per integration: mod.rs, payload.rs,
//!                tests.rs
//! ```
//!
//! `dispatch` builds a [`FlushCtx`] and calls [`Notifier::flush`]. Layer L3: imports L0–L2
//! (`claim.rs` the cluster, L1).

pub mod claim;
pub mod data;
pub mod deadman;
pub mod dedup;
pub mod email;
pub mod error;
#[cfg(test)]
pub mod fakes;
pub mod http;
mod http_tls;
pub mod integration;
pub mod mute;
pub mod oauth2;
pub mod pagerduty;
pub mod pipeline;
pub mod ratelimit;
pub mod retry;
pub mod slack;
pub mod sli;
#[cfg(test)]
mod sli_tests;
#[cfg(test)]
pub mod testkit;
pub mod tmpl;
pub mod value;
pub mod webhook;
pub mod zendesk;

pub use error::{BuildError, FailureReason, NotifyError};
pub use integration::{Integration, Sent};
pub use pipeline::{
    BuiltReceivers, FlushCtx, FlushOutcome, Notifier, NotifySettings, ReceiverRuntime,
};
