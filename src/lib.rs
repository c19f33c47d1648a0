//! # tocsin: alert routing and heartbeat watchdog, compatible with Prometheus Alertmanager
//!
//! The architecture map. `ARCHITECTURE.md` carries the same tree with more words.
//!
//! ```text
//! api/         HTTP (warp): /api/v2 (Alertmanager), /ping, /api/tocsin/v1, /-/*, /metrics  L5
//! web/         the on-call pages (maud templates, embedded script and style)              L5
//! dispatch/    route tree, aggregation groups, one timer wheel                              L4
//! notify/      FlushCtx, stage pipeline, retry + rate limit, one folder per integration     L3
//! alerts/ silence/ nflog inhibit heartbeat/                                                 L2
//! config/ template/ storage cluster/ webconfig/                                             L1
//! model/ clock metrics timeinterval                                                         L0
//! ```
//!
//! | layer | modules | may import |
//! |---|---|---|
//! | L0 | `model`, `clock`, `metrics`, `timeinterval` | std and small crates, no I/O |
//! | L1 | `config`, `template`, `storage`, `cluster`, `webconfig` | L0 (`config` may use `template` to parse templates at load; `webconfig` uses `config`'s `Secret`) |
//! | L2 | `alerts`, `silence`, `nflog`, `inhibit`, `heartbeat` | L0–L1 (`inhibit`, `heartbeat` may use `alerts`) |
//! | L3 | `notify` | L0–L2 |
//! | L4 | `dispatch` | L0–L3 |
//! | L5 | `api`, `web` | L0–L4 (`api` mounts `web`'s pages behind its filter) |
//! | L6 | `app`, `cmd`, `main.rs` | everything |
//!
//! `tests/it/layering.rs` fails on an upward import.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod alerts;
pub mod api;
pub mod app;
pub mod clock;
pub mod cluster;
pub mod cmd;
pub mod config;
pub mod dispatch;
pub mod heartbeat;
pub mod inhibit;
pub mod metrics;
pub mod model;
pub mod nflog;
pub mod notify;
pub mod silence;
pub mod storage;
pub mod template;
pub mod timeinterval;
pub mod web;
pub mod webconfig;
pub mod workers;
