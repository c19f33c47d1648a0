//! A value given inline or as `*_file` (`url`/`url_file`, `routing_key`/`routing_key_file`,
//! `api_url`/`api_url_file`, `app_token`/`app_token_file`, passwords): every integration reads
//! it the same way. A file is read at each send, trimmed of surrounding whitespace, so a rotated
//! secret needs no reload (as in Alertmanager). The value is kept as a [`Secret`], so printing it
//! by mistake shows `<secret>`.

use std::path::{Path, PathBuf};

use super::error::ReadError;
use crate::config::Secret;

/// Where a value comes from.
#[derive(Clone)]
pub enum ValueSource {
    /// Written in the config.
    Inline(Secret<String>),
    /// Read from this file at each use.
    File {
        /// The config key, for error messages (`url_file`).
        what: &'static str,
        /// The file.
        path: PathBuf,
    },
}

impl std::fmt::Debug for ValueSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValueSource::Inline(_) => f.write_str("Inline(<secret>)"),
            ValueSource::File { what, path } => write!(f, "File({what}: {})", path.display()),
        }
    }
}

impl ValueSource {
    /// From a config's inline value and file (inline wins; config validation forbids both).
    /// `what` is the file key's name. None when neither is set.
    pub fn from_config(
        inline: Option<&Secret<String>>,
        file: Option<&Path>,
        what: &'static str,
    ) -> Option<ValueSource> {
        match (inline, file) {
            (Some(v), _) => Some(ValueSource::Inline(v.clone())),
            (None, Some(p)) => Some(ValueSource::File {
                what,
                path: p.to_owned(),
            }),
            (None, None) => None,
        }
    }

    /// The value now: the inline one, or the file's content trimmed.
    pub async fn read(&self) -> Result<Secret<String>, ReadError> {
        match self {
            ValueSource::Inline(v) => Ok(v.clone()),
            ValueSource::File { what, path } => tokio::fs::read_to_string(path)
                .await
                .map(|s| Secret::new(s.trim().to_owned()))
                .map_err(|source| ReadError {
                    what,
                    path: path.clone(),
                    source,
                }),
        }
    }

    /// [`ValueSource::read`] without an async runtime (request headers are built synchronously).
    pub fn read_now(&self) -> Result<Secret<String>, ReadError> {
        match self {
            ValueSource::Inline(v) => Ok(v.clone()),
            ValueSource::File { what, path } => std::fs::read_to_string(path)
                .map(|s| Secret::new(s.trim().to_owned()))
                .map_err(|source| ReadError {
                    what,
                    path: path.clone(),
                    source,
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn inline_file_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("key");
        std::fs::write(&f, "  s3cret\n").unwrap();
        let inline = Secret::new("v".to_owned());
        let v = ValueSource::from_config(Some(&inline), Some(&f), "key_file").unwrap();
        assert_eq!(v.read().await.unwrap().expose(), "v");
        let v = ValueSource::from_config(None, Some(&f), "key_file").unwrap();
        assert_eq!(v.read().await.unwrap().expose(), "s3cret");
        assert_eq!(v.read_now().unwrap().expose(), "s3cret");
        assert!(!format!("{v:?}").contains("s3cret"));
        let gone = ValueSource::from_config(None, Some(&dir.path().join("nope")), "key_file");
        let e = gone.unwrap().read().await.unwrap_err().to_string();
        assert!(e.starts_with("reading key_file from "), "{e}");
        assert!(ValueSource::from_config(None, None, "key_file").is_none());
    }
}
