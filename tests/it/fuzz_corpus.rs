//! The fuzz targets' corpus (`fuzz/corpus/<target>/`: seeds, dengji's own exports, what the
//! fuzzer kept, and every input that once crashed a target) replayed through the same entry
//! points as `cargo fuzz`: fast, no fuzzing.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    // The hand-written seeds are there at the least.
    assert!(
        files.len() >= 4,
        "{target}: only {} files in {}",
        files.len(),
        dir.display()
    );
    files
}

fn replay(target: &str, run: impl Fn(&[u8])) {
    for (path, bytes) in corpus(target) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&bytes)));
        assert!(outcome.is_ok(), "{target}: {} fails", path.display());
    }
}

#[test]
fn the_spreadsheet_reader_survives_its_corpus() {
    replay("sheet", dengji::fuzzing::sheet);
}

#[test]
fn identity_numbers_survive_their_corpus() {
    replay("ids", dengji::fuzzing::ids);
}

#[test]
fn the_form_validator_survives_its_corpus() {
    replay("form_values", dengji::fuzzing::form_values);
}

#[test]
fn the_login_target_survives_its_corpus() {
    replay("login_next", dengji::fuzzing::login_next);
}

#[test]
fn the_import_check_survives_its_corpus() {
    let (url, _dir) = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(crate::helpers::fresh_database());
    let harness = dengji::fuzzing::ImportHarness::on(&url);
    let rows = std::sync::atomic::AtomicUsize::new(0);
    replay("import_check", |data| {
        rows.fetch_add(harness.check(data), std::sync::atomic::Ordering::Relaxed);
    });
    // The seeds are real member lists and rosters: their rows reach the row checks.
    assert!(
        rows.into_inner() > 100,
        "the corpus never got past the header"
    );
}
