//! Fuzz target: `dengji::fuzzing::login_next` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dengji::fuzzing::login_next(data));
