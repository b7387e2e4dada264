//! Operating a deployment (issue 21 parts 4–5): `dengji doctor` says what to fix, and the
//! deployment kit's configuration example is one dengji accepts.

use std::path::Path;
use std::process::Command;

use crate::helpers::{TestApp, backend, dengji_with_key, write_key};
use dengji::store::Backend;

fn doctor(url: &str, key: &Path, extra: &[&str]) -> (bool, String) {
    let mut args = vec!["doctor"];
    args.extend_from_slice(extra);
    dengji_with_key(&args, url, key)
}

#[tokio::test]
async fn doctor_passes_a_sound_deployment_and_names_each_fault() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.key");
    // The test installation's key (helpers::test_keys), owner-only.
    write_key(&key, 42, 0o600);
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    std::fs::write(backups.join("dengji-20261201.dump"), b"x").unwrap();
    let b = backups.to_string_lossy().into_owned();

    let (ok, out) = doctor(&app.url, &key, &["--backups", &b]);
    assert!(ok, "{out}");
    assert!(out.contains("[正常] 数据库结构"), "{out}");
    assert!(out.contains("[正常] 密钥与数据"), "{out}");
    assert!(out.contains("[正常] 备份"), "{out}");
    assert!(!out.contains("[问题]"), "{out}");
    if backend() == Backend::Postgres {
        assert!(
            out.contains("shared_buffers") || out.contains("PostgreSQL 内存"),
            "{out}"
        );
    }

    // Another installation's key, readable by everyone: two problems, exit status 1.
    let wrong = dir.path().join("wrong.key");
    write_key(&wrong, 7, 0o644);
    let (ok, out) = doctor(&app.url, &wrong, &["--backups", &b]);
    assert!(!ok);
    assert!(out.contains("[问题] 密钥与数据"), "{out}");
    assert!(
        out.contains("[问题] 密钥文件权限") && out.contains("chmod 600"),
        "{out}"
    );

    // A backup older than a day.
    let stamp = Command::new("touch")
        .args(["-d", "3 days ago"])
        .arg(backups.join("dengji-20261201.dump"))
        .status()
        .unwrap();
    assert!(stamp.success());
    let (ok, out) = doctor(&app.url, &key, &["--backups", &b]);
    assert!(!ok);
    assert!(
        out.contains("[问题] 备份") && out.contains("小时前"),
        "{out}"
    );
    // A named backup directory that does not exist, and one without backups.
    let (ok, out) = doctor(&app.url, &key, &["--backups", "/nonexistent/backups"]);
    assert!(!ok && out.contains("不存在"), "{out}");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (ok, out) = doctor(&app.url, &key, &["--backups", &empty.to_string_lossy()]);
    assert!(!ok && out.contains("没有备份"), "{out}");

    // No key file at all; none is made up.
    let missing = dir.path().join("missing.key");
    let (ok, out) = doctor(&app.url, &missing, &["--backups", &b]);
    assert!(!ok && out.contains("[问题] 密钥文件"), "{out}");
    assert!(!missing.exists());
}

#[tokio::test]
async fn doctor_says_when_the_database_is_missing_or_not_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.key");
    write_key(&key, 42, 0o600);
    // A database file that is not there: reported, not created.
    let absent = dir.path().join("absent.db");
    let (ok, out) = doctor(&format!("sqlite://{}", absent.display()), &key, &[]);
    assert!(!ok);
    assert!(
        out.contains("数据库文件") && out.contains("不存在"),
        "{out}"
    );
    assert!(!absent.exists());
    // An empty database: never migrated.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let (ok, out) = doctor(&format!("sqlite://{}", empty.display()), &key, &[]);
    assert!(!ok);
    assert!(
        out.contains("尚未建表") && out.contains("dengji migrate"),
        "{out}"
    );
    // An unreachable PostgreSQL server.
    let (ok, out) = doctor("postgres://dengji:pw@127.0.0.1:1/none", &key, &[]);
    assert!(!ok && out.contains("[问题] 数据库连接"), "{out}");
    assert!(!out.contains(":pw@"), "password hidden: {out}");
}

#[test]
fn the_deployment_kits_configuration_example_is_accepted() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/dengji.toml");
    let config = dengji::config::Config::load(&dengji::config::Overrides {
        config_file: Some(path),
        ..Default::default()
    })
    .expect("deploy/dengji.toml loads");
    assert!(config.secure_cookies);
    assert!(config.listen.ip().is_loopback());
    assert_eq!(config.trusted_proxies.len(), 1);
    assert!(config.database_url.starts_with("postgres://"));
}

#[tokio::test]
async fn serve_stops_cleanly_on_sigterm_as_systemd_sends_it() {
    let app = TestApp::empty().await;
    let mut served = app.serve().await;
    let child = &mut served.child;
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    let err = std::fs::read_to_string(&served.log).unwrap();
    // A clean exit (status 0), not death by the signal.
    assert!(status.success(), "{status:?} {err}");
    assert!(err.contains("stopping"), "{err}");
}
