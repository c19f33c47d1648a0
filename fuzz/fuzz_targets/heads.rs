//! `tocsin::api::fuzz::heads` under libFuzzer (seeds in `tests/data/fuzz/heads/`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tocsin::api::fuzz::heads(data));
