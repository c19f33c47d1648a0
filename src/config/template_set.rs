//! Loads the notification templates a config names: our defaults first, then every file the
//! `templates:` globs matched, in order (later `define`s replace earlier ones). Templates are
//! parsed when the config loads, so a broken template is a load error (with file, line and
//! column), never a surprise at send time.

use super::Config;
use crate::template::{Error, Templates};

impl Config {
    /// The template set for this config.
    pub fn load_templates(&self) -> Result<Templates, Error> {
        let mut t = Templates::with_defaults();
        for f in &self.templates {
            t.add_file(f)?;
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Config;

    #[test]
    fn user_files_override_defaults_and_errors_name_the_position() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.tmpl"),
            r#"{{ define "slack.default.title" }}custom{{ end }}"#,
        )
        .unwrap();
        let yaml = "route: {receiver: r}\nreceivers: [{name: r}]\ntemplates: ['*.tmpl']\n";
        let cfg = Config::from_yaml(yaml, dir.path(), "t.yml").unwrap();
        let t = cfg.load_templates().unwrap();
        assert!(t.contains("slack.default.title"));
        assert!(t.contains("__subject"), "defaults are loaded too");

        std::fs::write(dir.path().join("b.tmpl"), "line one\n{{ .Oops ").unwrap();
        let cfg = Config::from_yaml(yaml, dir.path(), "t.yml").unwrap();
        let e = cfg.load_templates().unwrap_err().to_string();
        assert!(e.contains("b.tmpl:2:"), "{e}");
        let _ = Path::new(".");
    }
}
