//! The one integration-test binary: every scenario module is declared here.

mod am_api;
mod api;
mod big_reads;
mod cli;
mod config_corpus;
mod examples;
mod flags;
mod heartbeats;
mod layering;
mod ordering;
mod pipeline;
mod real_clients;
mod receivers;
mod receivers_diff;
mod reload;
mod shutdown;
mod silences;
mod silences_amtool;
mod stuck_receiver;
mod support;
mod systemd;
mod templates;
mod time_intervals;
mod upstream;
mod web;
mod zendesk;
