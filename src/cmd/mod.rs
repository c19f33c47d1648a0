//! Command bodies of the `tocsin` binary, with Alertmanager's and amtool's flag names
//! (`--config.file`, `--storage.path`, `--web.listen-address`, ...). `main.rs` only parses the
//! command line and calls into here.
//!
//! Layer L6: may import every module.

pub mod am_flags;
pub mod check_config;
pub mod check_web_config;
pub mod cluster_flags;
pub mod debug_receiver;
pub mod features;
pub mod log;
pub mod routes;
pub mod run;
pub mod silence;
pub mod template;

use clap::{Parser, Subcommand};

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "tocsin",
    version,
    about = "Alert routing and heartbeat watchdog, compatible with Prometheus Alertmanager",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// The command; `run` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `run` when no command is given.
    #[command(flatten)]
    pub run: run::RunOpts,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon (the default).
    Run(Box<run::RunOpts>),
    /// Check config files, as `amtool check-config` (exit 0 valid, 1 invalid).
    CheckConfig(check_config::CheckConfigOpts),
    /// Check `--web.config.file` files (TLS, basic auth), as `promtool check web-config`.
    CheckWebConfig(check_web_config::CheckWebConfigOpts),
    /// Show the routing tree or test which receivers an alert reaches, as
    /// `amtool config routes`.
    Routes(routes::RoutesOpts),
    /// Templates: `template render` previews notification text.
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Silences, as amtool: `silence add|query|expire|update|import`.
    Silence(silence::SilenceOpts),
    /// A webhook receiver that prints every notification it gets (for trying configs out).
    DebugReceiver(debug_receiver::DebugReceiverOpts),
}

/// `tocsin template ...`.
#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Render a template against an alert group (webhook payload v4 JSON).
    Render(template::TemplateRenderOpts),
}

/// Runs the parsed command line; returns the process exit code.
pub fn main(cli: Cli) -> i32 {
    match cli.command {
        None => run::main(cli.run),
        Some(Command::Run(o)) => run::main(*o),
        Some(Command::CheckConfig(o)) => {
            check_config::run(&o, &mut std::io::stdout(), &mut std::io::stderr())
        }
        Some(Command::CheckWebConfig(o)) => {
            check_web_config::run(&o, &mut std::io::stdout(), &mut std::io::stderr())
        }
        Some(Command::Routes(o)) => routes::run(&o, &mut std::io::stdout(), &mut std::io::stderr()),
        Some(Command::Template(TemplateCommand::Render(o))) => {
            template::run(&o, &mut std::io::stdout(), &mut std::io::stderr())
        }
        Some(Command::Silence(o)) => {
            silence::run(&o, &mut std::io::stdout(), &mut std::io::stderr())
        }
        Some(Command::DebugReceiver(o)) => debug_receiver::run(&o, &mut std::io::stderr()),
    }
}
