//! The one integration-test binary: every scenario module is declared here.

mod layering;
