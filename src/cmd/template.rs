//! `tocsin template render`: renders a template against an alert group, for previewing
//! notification text (`amtool template render` takes the same data shape).
//!
//! Our default templates load first, then the config's `templates:` files (which may redefine
//! them). Stdout is exactly the rendered text, with no newline added; an error exits 1 with the
//! reason on stderr. Times render in the process's local zone (`TZ`), as Alertmanager's do.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::clock;
use crate::config::Config;
use crate::template::{Data, RenderContext, Templates, render_preview, render_preview_html};

/// Flags of `template render`.
#[derive(Debug, Clone, Args)]
pub struct TemplateRenderOpts {
    /// Config whose `templates:` files are loaded after our defaults (optional).
    #[arg(long = "config.file", value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// An alert group as JSON in the shape of Alertmanager's webhook payload (version 4);
    /// required (without it there is nothing to render against).
    #[arg(long = "data", alias = "template.data", value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Render in HTML mode (contextual escaping, as the email `html` field).
    #[arg(long)]
    pub html: bool,
    /// The template text, e.g. `{{ template "slack.default.title" . }}`.
    #[arg(value_name = "TEMPLATE")]
    pub text: String,
}

/// Loads the template set: our defaults, then the config's files.
pub fn load_templates(config_file: Option<&std::path::Path>) -> Result<Templates, String> {
    match config_file {
        Some(path) => {
            let cfg = Config::load(path).map_err(|e| e.to_string())?;
            cfg.load_templates().map_err(|e| e.to_string())
        }
        None => Ok(Templates::with_defaults()),
    }
}

fn render(o: &TemplateRenderOpts) -> Result<String, String> {
    let templates = load_templates(o.config_file.as_deref())?;
    let data: Data = match &o.data {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| format!("reading {}: {e}", p.display()))?;
            serde_json::from_str(&text).map_err(|e| {
                format!(
                    "{}: not an alert group (webhook payload v4): {e}",
                    p.display()
                )
            })?
        }
        None => {
            return Err(
                "needs --data FILE: an alert group as JSON (the webhook payload, \
                 version 4) to render against; `tocsin debug-receiver --json` prints the ones \
                 tocsin sends"
                    .into(),
            );
        }
    };
    let ctx = RenderContext::system_zone(clock::now());
    let out = if o.html {
        render_preview_html(&templates, &o.text, &data, &ctx)
    } else {
        render_preview(&templates, &o.text, &data, &ctx)
    };
    out.map_err(|e| e.to_string())
}

/// Runs the command; returns the exit code.
pub fn run(o: &TemplateRenderOpts, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    match render(o) {
        Ok(s) => {
            let _ = out.write_all(s.as_bytes());
            0
        }
        Err(e) => {
            let _ = writeln!(err, "tocsin: template render: {e}");
            1
        }
    }
}
