//! Fuzz target: the import check (header detection, column mapping, cell conversion, row
//! checks) on a small demo nation, through `dengji::fuzzing::ImportHarness`.
#![no_main]

use std::sync::OnceLock;

static HARNESS: OnceLock<dengji::fuzzing::ImportHarness> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    HARNESS
        .get_or_init(dengji::fuzzing::ImportHarness::new)
        .check(data);
});
