//! Dispatch: which routes an alert takes (`route`), and the aggregation groups with their
//! timers, one scheduler for all groups (`dispatcher`).
//!
//! Layer L4: imports L0–L3.

pub mod dispatcher;
pub mod route;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod time_interval_tests;

pub use dispatcher::{Dispatcher, GroupRef, GroupView};
pub use route::RouteTree;
