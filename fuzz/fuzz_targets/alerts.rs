//! `tocsin::api::fuzz::alerts` under libFuzzer (seeds in `tests/data/fuzz/alerts/`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tocsin::api::fuzz::alerts(data));
