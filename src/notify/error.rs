//! The errors that cross `notify`'s boundary, one `thiserror` type per question:
//! - [`NotifyError`]: a send failed; carries the retry decision as a value (retry or not, after
//!   how long) and Alertmanager's `reason` label. Built with the constructors here so every
//!   integration classifies the same way.
//! - [`BuildError`]: an integration could not be built from its config (at load or reload); names
//!   the receiver and the `*_configs[i]` entry.
//! - [`ReadError`]: a value read from a `*_file` could not be read.
//!
//! No message ever holds a secret: integrations pass the receiver's answer and the failing step,
//! never a URL, key or token.

use std::path::PathBuf;
use std::time::Duration;

/// Why a notification finally failed, as Alertmanager's `reason` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    /// Anything else (connection refused, DNS...).
    Other,
    /// A 4xx other than 401/403/429.
    ClientError,
    /// A 5xx.
    ServerError,
    /// 401 or 403.
    AuthError,
    /// 429.
    RateLimited,
    /// The request timed out.
    DeadlineExceeded,
    /// Shutdown cancelled the send.
    Canceled,
}

impl FailureReason {
    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Other => "other",
            FailureReason::ClientError => "clientError",
            FailureReason::ServerError => "serverError",
            FailureReason::AuthError => "authError",
            FailureReason::RateLimited => "rateLimited",
            FailureReason::DeadlineExceeded => "contextDeadlineExceeded",
            FailureReason::Canceled => "contextCanceled",
        }
    }
}

/// A failed send, with the retry decision as a value.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct NotifyError {
    /// Whether trying again may help.
    pub retry: bool,
    /// How long the receiver asked us to wait (`Retry-After`).
    pub retry_after: Option<Duration>,
    /// The metric reason.
    pub reason: FailureReason,
    /// What went wrong, with the receiver's answer; never holds a secret.
    pub message: String,
    /// The HTTP status the receiver answered, when it answered (the notification history shows
    /// it per attempt).
    pub status: Option<u16>,
}

impl NotifyError {
    /// A failure that may pass on a later attempt (network, 5xx, 429, a file not readable yet).
    pub fn retryable(reason: FailureReason, message: impl Into<String>) -> Self {
        NotifyError {
            retry: true,
            retry_after: None,
            reason,
            message: message.into(),
            status: None,
        }
    }

    /// A failure that the same request will meet again (4xx, a payload that cannot be built).
    pub fn permanent(reason: FailureReason, message: impl Into<String>) -> Self {
        NotifyError {
            retry: false,
            retry_after: None,
            reason,
            message: message.into(),
            status: None,
        }
    }

    /// The same error, to be retried no sooner than `after` (the receiver's `Retry-After`).
    pub fn with_retry_after(mut self, after: Option<Duration>) -> Self {
        self.retry_after = after;
        self
    }

    /// The payload could not be built (a template failed, JSON encoding failed): permanent.
    pub fn payload(what: &str, e: impl std::fmt::Display) -> Self {
        NotifyError::permanent(FailureReason::Other, format!("building {what}: {e}"))
    }
}

impl From<ReadError> for NotifyError {
    /// A `*_file` that cannot be read now may be readable later (a secret being rotated).
    fn from(e: ReadError) -> Self {
        NotifyError::retryable(FailureReason::Other, e.to_string())
    }
}

/// A value given as `*_file` could not be read.
#[derive(Debug, thiserror::Error)]
#[error("reading {what} from {}: {source}", path.display())]
pub struct ReadError {
    /// The config key (`url_file`, `routing_key_file`...).
    pub what: &'static str,
    /// The file.
    pub path: PathBuf,
    /// Why it could not be read.
    #[source]
    pub source: std::io::Error,
}

/// An integration could not be built from its config.
#[derive(Debug, thiserror::Error)]
#[error("receiver {receiver:?} {kind}_configs[{index}]: {cause}")]
pub struct BuildError {
    /// The receiver name.
    pub receiver: String,
    /// The integration kind (`webhook`, `pagerduty`...).
    pub kind: &'static str,
    /// The index of the entry in its `*_configs` list.
    pub index: usize,
    /// What was wrong.
    #[source]
    pub cause: BuildCause,
}

/// What was wrong with an integration's config (beyond what config validation checks).
#[derive(Debug, thiserror::Error)]
pub enum BuildCause {
    /// The `http_config` asks for something tocsin cannot do, or its files cannot be used.
    #[error("http_config: {0}")]
    Http(#[from] HttpConfigError),
    /// A template field does not parse.
    #[error("{field}: {source}")]
    Template {
        /// The config key (`payload.text`, `title`...).
        field: String,
        /// The parse error.
        #[source]
        source: Box<crate::template::Error>,
    },
    /// A required value is missing (config validation normally catches it first).
    #[error("{0}")]
    Missing(&'static str),
    /// The option is parsed but tocsin does not implement it yet.
    #[error("{0} is not supported by tocsin yet")]
    Unsupported(&'static str),
    /// A value tocsin cannot use, with why.
    #[error("{0}")]
    Invalid(String),
}

/// Why an HTTP client could not be built from an `http_config`.
#[derive(Debug, thiserror::Error)]
pub enum HttpConfigError {
    /// An option has a value tocsin does not accept.
    #[error("{key}: {reason}")]
    Invalid {
        /// The key (`proxy_url`, `tls_config.min_version`...).
        key: &'static str,
        /// Why.
        reason: String,
    },
    /// A file it names cannot be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The TLS library refused the client (for instance no usable root certificates).
    #[error("building the HTTP client: {0}")]
    Client(String),
}
