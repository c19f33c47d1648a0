//! `tocsin::api::fuzz::filters` under libFuzzer (seeds in `tests/data/fuzz/filters/`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tocsin::api::fuzz::filters(data));
