//! The validation context: collects errors and warnings with their YAML path and position, and
//! resolves relative paths against the config file's directory. Also the small shared checks
//! (URLs, host:port, "not both a secret and its `_file`").
//! Imports: std and the sibling `error` and `locate` modules.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::model::{MatchType, Matcher, MatcherError, MatcherSyntax, parse_matchers};

use super::error::Diagnostic;
use super::locate::PathIndex;

/// Collects diagnostics while the raw config is turned into the validated one.
pub(crate) struct Ctx<'a> {
    index: &'a PathIndex,
    base_dir: &'a Path,
    /// Errors found so far.
    pub(crate) errors: Vec<Diagnostic>,
    /// Warnings found so far.
    pub(crate) warnings: Vec<Diagnostic>,
    /// Matchers already parsed in this load, by their text: compiling a regex costs far more
    /// than parsing the rest of a route, and configs repeat the same matchers across routes.
    matcher_cache: HashMap<(MatchType, String), Result<Matcher, MatcherError>>,
    /// Same for whole `matchers:` entries.
    list_cache: HashMap<String, Result<Vec<Matcher>, MatcherError>>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(index: &'a PathIndex, base_dir: &'a Path) -> Self {
        Ctx {
            index,
            base_dir,
            errors: Vec::new(),
            warnings: Vec::new(),
            matcher_cache: HashMap::new(),
            list_cache: HashMap::new(),
        }
    }

    /// A matcher `name op value`, compiled once per distinct `(op, value)` in this load.
    pub(crate) fn matcher(
        &mut self,
        name: &str,
        op: MatchType,
        value: &str,
    ) -> Result<Matcher, MatcherError> {
        let mut m = self
            .matcher_cache
            .entry((op, value.to_owned()))
            .or_insert_with(|| Matcher::new("", op, value))
            .clone()?;
        m.name = name.to_owned();
        Ok(m)
    }

    /// A `matchers:` entry parsed, once per distinct text in this load. In fallback mode an
    /// entry only the classic syntax reads gets a warning at `path`, as Alertmanager logs one.
    pub(crate) fn matchers(
        &mut self,
        path: &str,
        text: &str,
        syntax: MatcherSyntax,
    ) -> Result<Vec<Matcher>, MatcherError> {
        if let Some(r) = self.list_cache.get(text) {
            return r.clone();
        }
        let r = match syntax {
            MatcherSyntax::Fallback => {
                let utf8 = parse_matchers(text, MatcherSyntax::Utf8Strict);
                let classic = parse_matchers(text, MatcherSyntax::Classic);
                match (utf8, classic) {
                    (Ok(u), Ok(c)) => {
                        if u != c {
                            self.warn(path, format!("{text:?} means different things in the UTF-8 and the classic matcher syntax; the classic reading is used (as Alertmanager does): double-quote values to remove the doubt"));
                        }
                        Ok(c)
                    }
                    (Ok(u), Err(_)) => Ok(u),
                    (Err(e), Ok(c)) => {
                        self.warn(path, format!("{text:?} is not valid in the UTF-8 matcher syntax ({e}); read with the classic syntax (Alertmanager's fallback): double-quote values to make it valid in both"));
                        Ok(c)
                    }
                    (Err(_), Err(e)) => Err(e),
                }
            }
            other => parse_matchers(text, other),
        };
        self.list_cache.insert(text.to_owned(), r.clone());
        r
    }

    /// An empty context over the same document (to collect and re-path a sub-check's errors).
    pub(crate) fn new_like(other: &Ctx<'a>) -> Ctx<'a> {
        Ctx::new(other.index, other.base_dir)
    }

    pub(crate) fn diagnostic(&self, path: &str, message: impl Into<String>) -> Diagnostic {
        let (line, column) = self.index.locate(path);
        Diagnostic {
            path: path.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    /// Records an error at a YAML path.
    pub(crate) fn error(&mut self, path: &str, message: impl Into<String>) {
        let d = self.diagnostic(path, message);
        self.errors.push(d);
    }

    /// Records a warning at a YAML path.
    pub(crate) fn warn(&mut self, path: &str, message: impl Into<String>) {
        let d = self.diagnostic(path, message);
        self.warnings.push(d);
    }

    /// The config file's directory.
    pub(crate) fn base_dir(&self) -> &'a Path {
        self.base_dir
    }

    /// A path as Alertmanager resolves it: relative to the config file's directory.
    pub(crate) fn resolve(&self, p: &Path) -> PathBuf {
        if p.as_os_str().is_empty() || p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    /// Resolves an optional path in place.
    pub(crate) fn resolve_opt(&self, p: &mut Option<PathBuf>) {
        if let Some(x) = p {
            *x = self.resolve(x);
        }
    }
}

/// For `skip_serializing_if`: a zero duration (an unset 0.28+ `timeout`).
pub(crate) fn is_zero(d: &crate::model::Duration) -> bool {
    d.is_zero()
}

/// Errors when both a secret and its `_file` are set.
pub(crate) fn both_set(ctx: &mut Ctx<'_>, path: &str, a: &str, has_a: bool, b: &str, has_b: bool) {
    if has_a && has_b {
        let at = if path.is_empty() {
            b.to_owned()
        } else {
            format!("{path}.{b}")
        };
        ctx.error(&at, format!("at most one of {a} & {b} must be configured"));
    }
}

/// Why a URL is not acceptable to Alertmanager's `URL` type (Go's `url.Parse`, then http or
/// https with a host), or None.
pub(crate) fn url_problem(url: &str) -> Option<String> {
    super::gourl::http_url_problem(url)
}

/// Records an error when a URL is not http(s) with a host. The URL itself is not echoed: it
/// may be a secret.
pub(crate) fn check_url(ctx: &mut Ctx<'_>, path: &str, url: &str) {
    if let Some(p) = url_problem(url) {
        ctx.error(path, p);
    }
}

/// Records an error when `proxy_url` is not a URL to Go's `url.Parse` (which is all Prometheus's
/// client checks: `proxy_url: foo` is accepted as a relative URL).
pub(crate) fn check_proxy_url(ctx: &mut Ctx<'_>, path: &str, url: &str) {
    if let Err(e) = super::gourl::parse(url) {
        ctx.error(path, format!("invalid proxy URL: {e}"));
    }
}

/// [`check_url`] for a secret URL, which may also be the `<secret>` placeholder (as
/// Alertmanager accepts, so that a re-serialized config loads again).
pub(crate) fn check_secret_url(ctx: &mut Ctx<'_>, path: &str, url: &str) {
    if url != super::secret::SECRET_PLACEHOLDER {
        check_url(ctx, path, url);
    }
}

/// Checks `host:port` as Go's `net.SplitHostPort` does, plus a non-empty port.
pub(crate) fn host_port_problem(s: &str) -> Option<String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        match rest.split_once("]:") {
            Some((h, p)) => (h, p),
            None => return Some(format!("address {s:?}: missing port in address")),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => {
                return Some(format!("address {s:?}: too many colons in address"));
            }
            Some((h, p)) => (h, p),
            None => return Some(format!("address {s:?}: missing port in address")),
        }
    };
    let _ = host;
    if port.is_empty() {
        return Some(format!("address {s:?}: port cannot be empty"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(url_problem("http://x/"), None);
        assert_eq!(url_problem("HTTPS://x:1/a?b#c"), None);
        assert!(url_problem("ftp://x/").is_some());
        assert!(url_problem("x/").is_some());
        assert!(url_problem("http:///a").is_some());
        assert!(url_problem("http://a b/").is_some());
        assert!(
            url_problem("http://a/b c").is_none(),
            "Go accepts a space in a path"
        );
    }

    #[test]
    fn host_ports() {
        assert_eq!(host_port_problem("localhost:25"), None);
        assert_eq!(host_port_problem("[::1]:25"), None);
        assert_eq!(host_port_problem(":25"), None);
        assert!(host_port_problem("localhost").is_some());
        assert!(host_port_problem("localhost:").is_some());
        assert!(host_port_problem("a:b:c").is_some());
    }
}
