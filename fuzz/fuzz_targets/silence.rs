//! `tocsin::api::fuzz::silence` under libFuzzer (seeds in `tests/data/fuzz/silence/`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tocsin::api::fuzz::silence(data));
