//! `tocsin::api::fuzz::preview` under libFuzzer (seeds in `tests/data/fuzz/preview/`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tocsin::api::fuzz::preview(data));
