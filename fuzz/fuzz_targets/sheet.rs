//! Fuzz target: `dengji::fuzzing::sheet` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dengji::fuzzing::sheet(data));
