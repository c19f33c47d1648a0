//! `tocsin::api::fuzz::config` under libFuzzer (seeds in `tests/data/fuzz/config/`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tocsin::api::fuzz::config(data));
