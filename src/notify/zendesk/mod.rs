//! Zendesk Support (a tocsin extension; Alertmanager has none): one ticket per alert group.
//!
//! - The ticket's `external_id` is derived from the group key ([`payload::external_id`]), and
//!   its id is kept with the notification log entry (`receiver_data.ticket_id`). When the id is
//!   unknown (first send, a restart, an expired entry, a retry after a lost answer) the ticket
//!   is looked up by `external_id` before one is created, so retries and restarts never make a
//!   second ticket.
//! - Firing: create the ticket, or add the change as a private comment (reopening a ticket
//!   tocsin had solved). Resolved: solve it with a comment; with no ticket, nothing is sent.
//! - A closed ticket cannot be updated (Zendesk answers 422): a follow-up ticket is created
//!   (`via_followup_source_id`); solving a closed or deleted ticket is done already.
//! - 429 and 5xx are retried honouring `Retry-After`; 409 (an update collision) is retried too;
//!   other 4xx are permanent. The API token only travels in the `Authorization` header: no
//!   error, log line or metric names it.

pub mod payload;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::data::NotificationData;
use super::error::{BuildCause, FailureReason, NotifyError};
use super::http::{Answer, transport_error};
use super::integration::{BuildEnv, Sent};
use super::ratelimit::{Limiter, Rate};
use super::tmpl::Renderer;
use super::value::ValueSource;
use crate::config::{Secret, ZendeskConfig};
use crate::nflog::ReceiverData;
use crate::template::Templates;
use payload::Fields;

/// Requests per minute by default: Zendesk's smallest current plan (Suite Team) allows 200 per
/// account; one notification takes one or two requests.
pub const DEFAULT_RATE: Rate = Rate {
    events: 100,
    per: Duration::from_secs(60),
    burst: 20,
};

/// A configured Zendesk account.
pub struct Zendesk {
    /// The API base, ending in `/`.
    base: String,
    /// The agent's email (the user of `{email}/token`).
    email: String,
    /// The API token, inline or from its file.
    token: ValueSource,
    /// The templated fields.
    fields: Fields,
    /// The template set the fields render against.
    templates: Arc<Templates>,
    /// The HTTP client from `http_config`.
    client: reqwest::Client,
    /// Per-request timeout (none when zero).
    timeout: Option<Duration>,
    /// Requests per account.
    limit: Limiter,
}

/// A ticket as the list endpoint shows it.
#[derive(Deserialize)]
struct Listed {
    id: u64,
    #[serde(default)]
    status: String,
}

/// What an update came to.
enum Updated {
    /// Done.
    Ok,
    /// The ticket is closed (422): it cannot change any more.
    Closed,
    /// The ticket is gone (404).
    Gone,
}

impl Zendesk {
    /// Builds the integration from its config.
    pub fn new(c: &ZendeskConfig, env: &BuildEnv<'_>) -> Result<Self, BuildCause> {
        let token = ValueSource::from_config(
            c.api_token.as_ref(),
            c.api_token_file.as_deref(),
            "api_token_file",
        )
        .ok_or(BuildCause::Missing(
            "zendesk_config needs api_token or api_token_file",
        ))?;
        if c.http_config.oauth2.is_some() {
            // Zendesk authenticates with the email and API token; a token from elsewhere would
            // be dropped without a word.
            return Err(BuildCause::Invalid(
                "http_config.oauth2 is not used by zendesk_configs (Zendesk authenticates with \
                 email and api_token)"
                    .to_owned(),
            ));
        }
        let mut base = c.base_url();
        if !base.ends_with('/') {
            base.push('/');
        }
        Ok(Zendesk {
            base,
            email: c.email.clone(),
            token,
            fields: Fields::parse(c, env.templates)?,
            templates: Arc::clone(env.templates),
            client: env.clients.client(&c.http_config)?,
            timeout: (!c.timeout.is_zero()).then(|| c.timeout.std()),
            limit: Limiter::new("zendesk", None, Some(DEFAULT_RATE), env.metrics),
        })
    }

    /// Sends one notification: create, comment, solve or follow up the group's ticket.
    pub async fn notify(&self, data: &NotificationData) -> Result<Sent, NotifyError> {
        let token = self.token.read().await?;
        let r = Renderer::new(&self.templates, data);
        let external_id = payload::external_id(&data.group_key);
        let firing = data.status == "firing";
        let mut ticket = data
            .receiver_data
            .get("ticket_id")
            .and_then(|v| v.parse::<u64>().ok());
        let mut solved =
            data.receiver_data.get("ticket_status").map(String::as_str) == Some("solved");
        let mut closed_before = None;
        if ticket.is_none() {
            let (open, closed) = self.find(&external_id, &token, data).await?;
            if let Some(t) = open {
                solved = t.status == "solved";
                ticket = Some(t.id);
            }
            closed_before = closed;
        }
        if !firing {
            let Some(id) = ticket else {
                return Ok(Sent::default());
            };
            return match self
                .update(id, &payload::solve(&self.fields, &r)?, &token, data)
                .await?
            {
                Updated::Ok => Ok(sent(id, "solved")),
                Updated::Closed | Updated::Gone => Ok(Sent::default()),
            };
        }
        if let Some(id) = ticket {
            let body = payload::update(&self.fields, &r, solved)?;
            match self.update(id, &body, &token, data).await? {
                Updated::Ok => return Ok(sent(id, "open")),
                Updated::Closed => closed_before = Some(id),
                Updated::Gone => closed_before = None,
            }
        }
        let body = payload::create(&self.fields, &r, &external_id, closed_before)?;
        let id = self.create(&body, &token, data).await?;
        Ok(sent(id, "open"))
    }

    /// Looks the group's tickets up by `external_id`: the newest one not closed, and the newest
    /// closed one (to follow up).
    async fn find(
        &self,
        external_id: &str,
        token: &Secret<String>,
        data: &NotificationData,
    ) -> Result<(Option<Listed>, Option<u64>), NotifyError> {
        #[derive(Deserialize)]
        struct List {
            #[serde(default)]
            tickets: Vec<Listed>,
        }
        let mut url = reqwest::Url::parse(&format!("{}tickets.json", self.base)).map_err(|e| {
            NotifyError::permanent(FailureReason::Other, format!("the Zendesk API URL: {e}"))
        })?;
        url.query_pairs_mut()
            .append_pair("external_id", external_id);
        let req = self.client.get(url);
        let (_, body) = self.send(req, token, data).await?;
        let list: List = serde_json::from_str(&body).map_err(|e| {
            NotifyError::retryable(
                FailureReason::Other,
                format!("reading the ticket list: {e}"),
            )
        })?;
        let closed = list
            .tickets
            .iter()
            .filter(|t| t.status == "closed")
            .map(|t| t.id)
            .max();
        let open = list
            .tickets
            .into_iter()
            .filter(|t| t.status != "closed")
            .max_by_key(|t| t.id);
        Ok((open, closed))
    }

    /// Creates a ticket; its id.
    async fn create(
        &self,
        body: &Value,
        token: &Secret<String>,
        data: &NotificationData,
    ) -> Result<u64, NotifyError> {
        let url = format!("{}tickets.json", self.base);
        let (_, text) = self
            .send(self.client.post(&url).json(body), token, data)
            .await?;
        serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["ticket"]["id"].as_u64())
            .ok_or_else(|| {
                NotifyError::retryable(
                    FailureReason::Other,
                    "Zendesk created a ticket but its answer holds no ticket id",
                )
            })
    }

    /// Updates ticket `id`.
    async fn update(
        &self,
        id: u64,
        body: &Value,
        token: &Secret<String>,
        data: &NotificationData,
    ) -> Result<Updated, NotifyError> {
        let url = format!("{}tickets/{id}.json", self.base);
        match self
            .send(self.client.put(&url).json(body), token, data)
            .await
        {
            Ok(_) => Ok(Updated::Ok),
            Err(e) if e.message.starts_with("unexpected status code 404") => Ok(Updated::Gone),
            Err(e)
                if e.message.starts_with("unexpected status code 422") && is_closed(&e.message) =>
            {
                Ok(Updated::Closed)
            }
            Err(e) => Err(e),
        }
    }

    /// One request: rate limit, auth, headers, timeout; the status and body of a 2xx answer,
    /// else the classified error (429, 409 and 5xx retried).
    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        token: &Secret<String>,
        data: &NotificationData,
    ) -> Result<(u16, String), NotifyError> {
        self.limit.acquire(&self.base).await?;
        let mut req = req
            .basic_auth(format!("{}/token", self.email), Some(token.expose()))
            .header(reqwest::header::ACCEPT, "application/json");
        req = req.timeout(self.timeout.unwrap_or(data.timeout));
        let resp = req.send().await.map_err(transport_error)?;
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            let body = resp.text().await.map_err(transport_error)?;
            return Ok((status, body));
        }
        let a = Answer::read(resp, data.now).await;
        let detail = zendesk_error(&a.body);
        Err(a.error(&[429, 409], detail.as_deref()))
    }
}

/// What tocsin keeps with the nflog entry.
fn sent(id: u64, status: &str) -> Sent {
    let mut receiver_data = ReceiverData::new();
    receiver_data.insert("ticket_id".to_owned(), id.to_string());
    receiver_data.insert("ticket_status".to_owned(), status.to_owned());
    Sent {
        receiver_data,
        ..Sent::default()
    }
}

/// Zendesk's error envelope spelled out: `error: description (field: problem, ...)`.
fn zendesk_error(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let error = match &v["error"] {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        _ => String::new(),
    };
    let mut out = error;
    if let Some(d) = v["description"].as_str() {
        out = format!("{out}: {d}");
    }
    if let Some(details) = v["details"].as_object() {
        let list: Vec<String> = details
            .iter()
            .flat_map(|(k, problems)| {
                problems
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(move |p| format!("{k}: {}", p["description"].as_str().unwrap_or("")))
            })
            .collect();
        out = format!("{out} ({})", list.join(", "));
    }
    Some(out)
}

/// Whether a 422 says the ticket is closed.
fn is_closed(message: &str) -> bool {
    message.contains("closed prevents ticket update") || message.contains("ClosedTicket")
}
