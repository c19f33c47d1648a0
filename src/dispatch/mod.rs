//! Dispatch: which routes an alert takes (`route`), and the aggregation groups with their
//! timers, one scheduler for all groups (`dispatcher`).
//!
//! Layer L4: imports L0–L3.

pub mod dispatcher;
#[cfg(test)]
mod mute_tests;
#[cfg(test)]
mod restart_tests;
pub mod route;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod time_interval_tests;

pub use dispatcher::{Dispatcher, GroupRecord, GroupRef, GroupView};
pub use route::RouteTree;
