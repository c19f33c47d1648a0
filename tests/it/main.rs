//! The one integration-test binary: every scenario module is declared here.

mod cli;
mod config_corpus;
mod examples;
mod layering;
mod support;
