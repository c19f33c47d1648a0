//! Dispatch: the route tree, aggregation groups and their timers (one scheduler for all groups).
//! Layer L4: imports L0–L3.

pub mod dispatcher;
pub mod route;
#[cfg(test)]
mod tests;

pub use dispatcher::{Dispatcher, GroupView, RouteTree};
