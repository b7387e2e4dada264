//! Fuzz target: `dengji::fuzzing::ids` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dengji::fuzzing::ids(data));
