//! `http_config.oauth2`: the OAuth 2.0 client-credentials grant, as Prometheus's HTTP client
//! does it (golang.org/x/oauth2's `clientcredentials`): a token is fetched from `token_url` on
//! the first request, kept until ten seconds before it expires, and sent as
//! `Authorization: <token_type> <access_token>`. The token request is a form POST of
//! `grant_type=client_credentials`, `scope` (the scopes joined by spaces) and the
//! `endpoint_params` (which may replace `grant_type`; replacing `scope` is an error); the client authenticates with
//! HTTP basic auth first and, when the endpoint refuses that, with `client_id` and
//! `client_secret` in the form (Go's auto-detection), remembering which worked. A
//! `client_secret_file` is read at each request and a changed secret fetches a new token.
//! The token endpoint gets its own client, from `oauth2.tls_config` and `oauth2.proxy_url`.

use std::time::Duration;

use tokio::time::Instant;

use super::error::{FailureReason, NotifyError};
use super::http::ClientCache;
use super::value::ValueSource;
use crate::config::{HttpConfig, OAuth2, Secret};
use crate::model::{form_decode, query_escape};
use serde::Deserialize as _;

/// A token is renewed this long before the endpoint says it expires (Go's `expiryDelta`).
const EXPIRY_DELTA: Duration = Duration::from_secs(10);

/// A token endpoint's answer is read up to this size.
const MAX_TOKEN_BODY: usize = 1 << 20;

/// One `oauth2` block's token source, shared by the requests of one integration.
#[derive(Debug)]
pub struct TokenSource {
    client_id: String,
    secret: Option<ValueSource>,
    scopes: Vec<String>,
    token_url: String,
    params: Vec<(String, String)>,
    /// The settings of the client that talks to the token endpoint.
    http: HttpConfig,
    state: tokio::sync::Mutex<State>,
}

/// What the source remembers between requests.
#[derive(Debug, Default)]
struct State {
    token: Option<Token>,
    /// The secret the token was fetched with (a changed file fetches anew).
    secret: String,
    /// Whether the endpoint took the credentials in the form rather than in basic auth.
    in_params: Option<bool>,
}

#[derive(Debug)]
struct Token {
    /// `<type> <token>`, ready for the header.
    header: Secret<String>,
    /// When to fetch a new one (None: never expires).
    renew_at: Option<Instant>,
}

impl TokenSource {
    /// From a validated `oauth2` block.
    pub fn new(o: &OAuth2) -> TokenSource {
        let http = HttpConfig {
            tls_config: o.tls_config.clone(),
            proxy_url: o.proxy_url.clone(),
            no_proxy: o.no_proxy.clone(),
            proxy_from_environment: o.proxy_from_environment,
            ..HttpConfig::default()
        };
        TokenSource {
            client_id: o.client_id.clone(),
            secret: ValueSource::from_config(
                o.client_secret.as_ref(),
                o.client_secret_file.as_deref(),
                "oauth2.client_secret_file",
            ),
            scopes: o.scopes.clone(),
            token_url: o.token_url.clone(),
            params: o
                .endpoint_params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            http,
            state: tokio::sync::Mutex::new(State::default()),
        }
    }

    /// The `Authorization` header value for the next request: the kept token, or a new one.
    pub async fn header(&self) -> Result<Secret<String>, NotifyError> {
        let secret = match &self.secret {
            Some(s) => s.read().await?.expose().clone(),
            None => String::new(),
        };
        let mut st = self.state.lock().await;
        if st.secret != secret {
            st.token = None;
            st.secret.clone_from(&secret);
        }
        if let Some(t) = &st.token
            && t.renew_at.is_none_or(|at| crate::clock::instant() < at)
        {
            return Ok(t.header.clone());
        }
        let token = match st.in_params {
            Some(p) => self.fetch(&secret, p).await?,
            None => match self.fetch(&secret, false).await {
                Ok(t) => {
                    st.in_params = Some(false);
                    t
                }
                Err(first) => match self.fetch(&secret, true).await {
                    Ok(t) => {
                        st.in_params = Some(true);
                        t
                    }
                    // The first error says more (the usual way was refused).
                    Err(_) => return Err(first),
                },
            },
        };
        let header = token.header.clone();
        st.token = Some(token);
        Ok(header)
    }

    /// One token request, with the client's credentials in basic auth or in the form.
    async fn fetch(&self, secret: &str, in_params: bool) -> Result<Token, NotifyError> {
        let client = ClientCache::shared()
            .client(&self.http)
            .map_err(|e| fail(format!("oauth2 token endpoint client: {e}")))?;
        let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
        let scope = self.scopes.join(" ");
        if !self.scopes.is_empty() {
            form.push(("scope", &scope));
        }
        for (k, v) in &self.params {
            match form.iter_mut().find(|(name, _)| name == k) {
                Some(e) if k == "grant_type" => e.1 = v,
                // Go's client refuses to replace the scope.
                Some(_) => {
                    return Err(fail(format!(
                        "oauth2: cannot overwrite parameter {k:?} (endpoint_params)"
                    )));
                }
                None => form.push((k, v)),
            }
        }
        if in_params {
            form.push(("client_id", &self.client_id));
            if !secret.is_empty() {
                form.push(("client_secret", secret));
            }
        }
        form.sort_by(|a, b| a.0.cmp(b.0));
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut req = client
            .post(&self.token_url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .timeout(Duration::from_secs(30))
            .body(body);
        if !in_params {
            req = req.basic_auth(query_escape(&self.client_id), Some(query_escape(secret)));
        }
        let resp = req.send().await.map_err(|e| {
            fail(format!(
                "oauth2: cannot fetch token: {}",
                super::http::transport_error(e)
            ))
        })?;
        let status = resp.status();
        let form_answer = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.starts_with("application/x-www-form-urlencoded") || v.starts_with("text/plain")
            });
        let bytes = read_limited(resp).await?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            let text: String = text.chars().take(512).collect();
            return Err(fail(format!(
                "oauth2: cannot fetch token: {status}\nResponse: {text}"
            )));
        }
        let answer = if form_answer {
            Answer::from_form(&bytes)
        } else {
            serde_json::from_slice::<Answer>(&bytes).map_err(|e| {
                fail(format!(
                    "oauth2: cannot parse the token endpoint's answer: {e}"
                ))
            })?
        };
        let access = answer.access_token.unwrap_or_default();
        if access.is_empty() {
            return Err(fail(
                "oauth2: server response missing access_token".to_owned(),
            ));
        }
        // Go's Token.Type: empty is Bearer, and these spellings are normalised.
        let kind = match answer.token_type.as_deref().unwrap_or("") {
            "" => "Bearer".to_owned(),
            t if t.eq_ignore_ascii_case("bearer") => "Bearer".to_owned(),
            t if t.eq_ignore_ascii_case("mac") => "MAC".to_owned(),
            t if t.eq_ignore_ascii_case("basic") => "Basic".to_owned(),
            t => t.to_owned(),
        };
        let renew_at = answer
            .expires_in
            .filter(|s| *s > 0)
            .map(|s| crate::clock::instant() + Duration::from_secs(s).saturating_sub(EXPIRY_DELTA));
        Ok(Token {
            header: Secret::new(format!("{kind} {access}")),
            renew_at,
        })
    }
}

/// A token endpoint's answer (JSON, or a form).
#[derive(Debug, Default, serde::Deserialize)]
struct Answer {
    access_token: Option<String>,
    token_type: Option<String>,
    #[serde(default, deserialize_with = "seconds")]
    expires_in: Option<u64>,
}

impl Answer {
    fn from_form(bytes: &[u8]) -> Answer {
        let mut a = Answer::default();
        for pair in String::from_utf8_lossy(bytes).split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = form_decode(v);
            match k {
                "access_token" => a.access_token = Some(v),
                "token_type" => a.token_type = Some(v),
                "expires_in" => a.expires_in = v.parse().ok(),
                _ => {}
            }
        }
        a
    }
}

/// `expires_in` as a number or a string of digits (some servers quote it, Go accepts both).
fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum N {
        Int(u64),
        Float(f64),
        Text(String),
    }
    Ok(match Option::<N>::deserialize(d)? {
        Some(N::Int(n)) => Some(n),
        Some(N::Float(f)) if f.is_finite() && f >= 0.0 => Some(f as u64),
        Some(N::Text(t)) => t.trim().parse().ok(),
        _ => None,
    })
}

async fn read_limited(mut resp: reqwest::Response) -> Result<Vec<u8>, NotifyError> {
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| fail(format!("oauth2: reading the token endpoint's answer: {e}")))?
    {
        if out.len() + chunk.len() > MAX_TOKEN_BODY {
            return Err(fail(
                "oauth2: the token endpoint's answer is over 1 MiB".to_owned(),
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// A token that could not be had: the notification is retried.
fn fail(msg: String) -> NotifyError {
    NotifyError::retryable(FailureReason::Other, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_answers_are_read() {
        let a = Answer::from_form(b"access_token=abc%2B&token_type=bearer&expires_in=3600");
        assert_eq!(a.access_token.as_deref(), Some("abc+"));
        assert_eq!(a.token_type.as_deref(), Some("bearer"));
        assert_eq!(a.expires_in, Some(3600));
        let j: Answer = serde_json::from_str(r#"{"access_token":"x","expires_in":"60"}"#).unwrap();
        assert_eq!(j.expires_in, Some(60));
    }
}
