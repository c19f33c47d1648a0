//! Dispatch: which routes an alert takes, its aggregation group and group key, and (to come)
//! the aggregation groups and their timers.
//!
//! Layer L4: imports `crate::config`, `crate::model` and lower layers.

pub mod route;
