//! The `tocsin` binary: parses the command line and runs the command (see `tocsin::cmd`).
#![forbid(unsafe_code)]

use clap::Parser;

fn main() {
    let cli = tocsin::cmd::Cli::parse();
    std::process::exit(tocsin::cmd::main(cli));
}
