//! The `tocsin` binary: command-line parsing and the entry points of each command.
#![forbid(unsafe_code)]

fn main() {
    println!("tocsin {}", env!("CARGO_PKG_VERSION"));
}
