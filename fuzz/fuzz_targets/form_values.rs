//! Fuzz target: `dengji::fuzzing::form_values` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dengji::fuzzing::form_values(data));
