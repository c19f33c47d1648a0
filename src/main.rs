//! The `tocsin` binary: parses the command line and runs the command (see `tocsin::cmd`).
#![forbid(unsafe_code)]

use clap::Parser;

fn main() {
    let cli = tocsin::cmd::Cli::parse();
    std::process::exit(tocsin::cmd::main(cli));
}

/// mimalloc rather than the system's malloc: no lock shared by the threads (see Cargo.toml), with
/// its options set at start-up (`tocsin::cmd::run`, `tune_allocator`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
