//! Backup, restore and whole-database copies (issue 21 part 3): a backup taken while writes run
//! restores to a consistent database; the content digest is the same on SQLite and
//! PostgreSQL for the same records; a wrong key, a full target or a file that is no backup is
//! refused before anything is written.

use dengji::store::{Backend, Db, copy};
use std::path::{Path, PathBuf};

use crate::helpers::{TestApp, backend, dengji_with_key, fresh_database, rename_firm, write_key};

/// The test installation's key file (the master secret of `helpers::test_keys`).
fn key_file(dir: &Path) -> PathBuf {
    let path = dir.join("k.key");
    write_key(&path, 42, 0o600);
    path
}

fn dengji(args: &[&str], url: &str, key: &Path) -> (bool, String) {
    dengji_with_key(args, url, key)
}

async fn digest_of(url: &str) -> String {
    let db = Db::connect(url).await.unwrap();
    let mut conn = db.acquire().await.unwrap();
    let (d, _) = copy::digest(&mut conn, db.backend()).await.unwrap();
    drop(conn);
    db.close().await;
    d
}

fn backup_name(dir: &Path, n: u32) -> String {
    let ext = if backend() == Backend::Sqlite {
        "db"
    } else {
        "dump"
    };
    dir.join(format!("backup{n}.{ext}"))
        .to_string_lossy()
        .into_owned()
}

#[tokio::test]
async fn a_backup_taken_under_writes_restores_consistent_and_a_quiet_one_to_the_same_digest() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let firm = app
        .first_firm_of_city(crate::helpers::demo_places(&app).await.city)
        .await;
    // Writes run while the first backup is taken.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let app = &app;
        async move {
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                rename_firm(app, firm.id, &format!("写入中的律师事务所{n}")).await;
            }
            n
        }
    };
    let under_load = backup_name(dir.path(), 1);
    let url = app.url.clone();
    let backup = {
        let stop = stop.clone();
        let key = key.clone();
        let under_load = under_load.clone();
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let r = tokio::task::spawn_blocking(move || {
                dengji(&["backup", "--output", &under_load], &url, &key)
            })
            .await
            .unwrap();
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            r
        }
    };
    let (written, (ok, out)) = tokio::join!(writer, backup);
    assert!(ok, "{out}");
    assert!(written > 0);

    // Restored into a fresh database: every invariant holds and the audit chain verifies.
    let (first, _d1) = fresh_database().await;
    let (ok, out) = dengji(&["restore", "--from", &under_load], &first, &key);
    assert!(ok, "{out}");
    assert!(out.contains("数据检查通过"), "{out}");
    let (ok, out) = dengji(&["audit", "verify"], &first, &key);
    assert!(ok, "{out}");
    if backend() == Backend::Sqlite {
        // The backup file is a database itself: its digest is the restored one's.
        assert_eq!(
            digest_of(&format!("sqlite://{under_load}")).await,
            digest_of(&first).await
        );
    }

    // With the writes stopped, a backup restores to exactly the live content.
    let quiet = backup_name(dir.path(), 2);
    let (ok, out) = dengji(&["backup", "--output", &quiet], &app.url, &key);
    assert!(ok, "{out}");
    let (second, _d2) = fresh_database().await;
    let (ok, out) = dengji(&["restore", "--from", &quiet], &second, &key);
    assert!(ok, "{out}");
    let live = digest_of(&app.url).await;
    assert_eq!(digest_of(&second).await, live);
    assert!(out.contains(&live), "the restore prints the digest: {out}");
    // The digest sees a change: one more rename and it differs.
    rename_firm(&app, firm.id, "恢复之后又改名的律师事务所").await;
    assert_ne!(digest_of(&app.url).await, live);
}

#[tokio::test]
async fn migrate_data_copies_between_databases_with_equal_digests_and_the_copy_works() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let live = digest_of(&app.url).await;
    // To a fresh SQLite file (PostgreSQL to SQLite when the suite runs on PostgreSQL).
    let sqlite = format!("sqlite://{}/copy.db", dir.path().display());
    let (ok, out) = dengji(
        &["migrate-data", "--from", &app.url, "--to", &sqlite],
        &sqlite,
        &key,
    );
    assert!(ok, "{out}");
    assert!(out.contains(&format!("内容摘要一致：{live}")), "{out}");
    assert_eq!(digest_of(&sqlite).await, live);
    // From that SQLite copy to a fresh database of the suite's kind (SQLite to PostgreSQL).
    let (target, _d) = fresh_database().await;
    let (ok, out) = dengji(
        &["migrate-data", "--from", &sqlite, "--to", &target],
        &target,
        &key,
    );
    assert!(ok, "{out}");
    assert_eq!(digest_of(&target).await, live);
    // The copy is a working installation: checks pass, the chain verifies, and new records
    // get new ids (PostgreSQL's sequences were moved past the copied ones).
    let (ok, out) = dengji(&["check", "--digest"], &target, &key);
    assert!(ok && out.contains(&live), "{out}");
    let (ok, out) = dengji(&["audit", "verify"], &target, &key);
    assert!(ok, "{out}");
    let (ok, out) = dengji(
        &[
            "user",
            "add",
            "--username",
            "after_copy",
            "--name",
            "迁移后新建",
            "--role",
            "admin",
            "--org",
            "1",
        ],
        &target,
        &key,
    );
    assert!(ok, "{out}");
    // An SQLite backup restores into either kind (SQLite to PostgreSQL through the copy).
    let file = dir
        .path()
        .join("copy-backup.db")
        .to_string_lossy()
        .into_owned();
    let (ok, out) = dengji(&["backup", "--output", &file], &sqlite, &key);
    assert!(ok, "{out}");
    let (restored, _d2) = fresh_database().await;
    let (ok, out) = dengji(&["restore", "--from", &file], &restored, &key);
    assert!(ok, "{out}");
    assert_eq!(digest_of(&restored).await, live);
    // Copying into a database that has records is refused and changes nothing.
    let before = digest_of(&target).await;
    let (ok, out) = dengji(
        &["migrate-data", "--from", &sqlite, "--to", &target],
        &target,
        &key,
    );
    assert!(!ok);
    assert!(out.contains("不是空库"), "{out}");
    assert_eq!(digest_of(&target).await, before);
}

#[tokio::test]
async fn restore_refuses_a_wrong_key_a_full_target_and_a_file_that_is_no_backup() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let file = backup_name(dir.path(), 1);
    let (ok, out) = dengji(&["backup", "--output", &file], &app.url, &key);
    assert!(ok, "{out}");

    // Another installation's key: refused before anything is written.
    let (target, _d) = fresh_database().await;
    let other = dir.path().join("other.key");
    write_key(&other, 7, 0o600);
    let (ok, out) = dengji(&["restore", "--from", &file], &target, &other);
    assert!(!ok);
    assert!(out.contains("密钥文件与备份不符"), "{out}");
    if let Some(path) = dengji::store::sqlite_file(&target) {
        assert!(!path.exists(), "nothing written");
    } else {
        let db = Db::connect(&target).await.unwrap();
        let tables: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(tables, 0, "nothing written");
        db.close().await;
    }
    // No key file at all: refused, and no new key is made up.
    let missing = dir.path().join("missing.key");
    let (ok, out) = dengji(&["restore", "--from", &file], &target, &missing);
    assert!(!ok && out.contains("密钥文件"), "{out}");
    assert!(!missing.exists());

    // Into the live database: refused without --force, nothing changes.
    let live = digest_of(&app.url).await;
    let (ok, out) = dengji(&["restore", "--from", &file], &app.url, &key);
    assert!(!ok);
    assert!(out.contains("已有数据") && out.contains("--force"), "{out}");
    assert_eq!(digest_of(&app.url).await, live);

    // Not a backup: a sheet, random bytes, an empty file.
    for (name, bytes) in [
        ("名单.xlsx", b"PK\x03\x04 not really a workbook".to_vec()),
        (
            "noise.bin",
            (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect(),
        ),
        ("empty.db", Vec::new()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let (ok, out) = dengji(
            &["restore", "--from", &path.to_string_lossy()],
            &target,
            &key,
        );
        assert!(!ok, "{name}");
        assert!(out.contains("不是 dengji 备份文件"), "{name}: {out}");
        assert!(!out.contains("panicked"), "{out}");
    }

    // The right key into the empty target works; --force then replaces a full one.
    let (ok, out) = dengji(&["restore", "--from", &file], &target, &key);
    assert!(ok, "{out}");
    let (ok, out) = dengji(&["restore", "--force", "--from", &file], &target, &key);
    assert!(ok, "{out}");
    assert_eq!(digest_of(&target).await, live);
}
