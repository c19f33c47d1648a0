//! Config errors and warnings. Each names the file, the line and column, and the YAML path
//! (`route.routes[2].matchers[0]`) of what was wrong. Messages never contain secret values.
//! Imports: std, thiserror.

use std::fmt;

/// One problem found in a config file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The YAML path (`route.routes[2].matchers[0]`); empty for the document itself.
    pub path: String,
    /// 1-based line, 0 when unknown.
    pub line: u64,
    /// 1-based column, 0 when unknown.
    pub column: u64,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    /// `14:9: route.routes[2].matchers[0]: invalid regex ...` (position and path when known).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: ", self.line, self.column)?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// A warning: the config is valid but something in it probably does not do what was meant, or
/// is not supported by tocsin yet.
pub type ConfigWarning = Diagnostic;

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read the config file: {reason}")]
    Read {
        /// The file as named.
        file: String,
        /// The I/O error (in the message, so not also a `source()`).
        reason: std::io::Error,
    },
    /// The file is not a valid config; every problem found is listed.
    #[error("{}", render(file, errors))]
    Invalid {
        /// The file as named.
        file: String,
        /// The problems, in document order.
        errors: Vec<Diagnostic>,
    },
}

impl ConfigError {
    /// The problems found (empty for a read error).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ConfigError::Read { .. } => &[],
            ConfigError::Invalid { errors, .. } => errors,
        }
    }
}

fn render(file: &str, errors: &[Diagnostic]) -> String {
    let lines: Vec<String> = errors.iter().map(|d| format!("{file}:{d}")).collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_column_and_path() {
        let e = ConfigError::Invalid {
            file: "config/alertmanager.yml".into(),
            errors: vec![Diagnostic {
                path: "route.routes[2].matchers[0]".into(),
                line: 14,
                column: 9,
                message: "invalid regex \"(\"".into(),
            }],
        };
        assert_eq!(
            e.to_string(),
            "config/alertmanager.yml:14:9: route.routes[2].matchers[0]: invalid regex \"(\""
        );
    }
}
