//! The `dengji` binary: clear messages for bad configuration, a taken port, and the
//! account, check and backup commands.

use std::process::Command;

use crate::helpers::{TestApp, backend};

fn dengji(args: &[&str], url: &str) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    dengji_in(dir.path(), args, url)
}

/// Run the binary with `dir` as its working directory.
fn dengji_in(dir: &std::path::Path, args: &[&str], url: &str) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dengji"))
        .args(args)
        .current_dir(dir)
        .env("DENGJI_DATABASE_URL", url)
        .env("DENGJI_KEY_FILE", dir.join("k.key"))
        .env_remove("DENGJI_LISTEN")
        .output()
        .expect("run dengji");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn unknown_database_scheme_is_refused_without_creating_anything() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = dengji_in(dir.path(), &["migrate"], "mysql://localhost/dengji");
    assert!(!ok);
    assert!(err.contains("数据库地址无法识别"), "{err}");
    let (ok, _, err) = dengji_in(dir.path(), &["migrate"], "dengji.db");
    assert!(!ok);
    assert!(err.contains("数据库地址无法识别"), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "no file created: {left:?}");
}

#[tokio::test]
async fn unreachable_postgres_is_a_clear_error() {
    let (ok, _, err) = dengji(&["migrate"], "postgres://dengji:pw@127.0.0.1:1/none");
    assert!(!ok);
    assert!(err.contains("无法连接数据库"), "{err}");
    assert!(!err.contains(":pw@"), "password hidden: {err}");
}

#[tokio::test]
async fn serve_on_a_taken_port_says_so() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let app = TestApp::empty().await;
    let (ok, _, err) = dengji(&["serve", "--listen", &addr], &app.url);
    assert!(!ok);
    assert!(err.contains("端口已被占用"), "{err}");
    let e = dengji::web::bind(taken.local_addr().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(e, dengji::web::ServeError::PortInUse { .. }));
}

#[tokio::test]
async fn user_commands_check_and_backup() {
    let app = TestApp::spawn().await;
    let url = app.url.clone();
    let (ok, out, err) = dengji(
        &[
            "user",
            "add",
            "--username",
            "cli_admin",
            "--name",
            "命令行管理员",
            "--role",
            "admin",
            "--org",
            "1",
        ],
        &url,
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("已添加账号 cli_admin") && out.contains("初始密码："),
        "{out}"
    );
    let (ok, _, err) = dengji(
        &[
            "user",
            "add",
            "--username",
            "x",
            "--name",
            "y",
            "--role",
            "boss",
            "--org",
            "1",
        ],
        &url,
    );
    assert!(!ok);
    assert!(err.contains("角色 boss 无效"), "{err}");
    let (ok, _, err) = app
        .cli_with_input(
            &[
                "user",
                "add",
                "--username",
                "cli_admin",
                "--name",
                "y",
                "--role",
                "clerk",
                "--org",
                "1",
                "--password-stdin",
            ],
            "Good1234pass\n",
        )
        .await;
    assert!(!ok);
    assert!(err.contains("该用户名已被使用"), "{err}");
    let (ok, out, _) = dengji(&["user", "list", "--query", "cli_"], &url);
    assert!(ok && out.contains("cli_admin"), "{out}");
    let (ok, out, _) = dengji(&["user", "disable", "--username", "cli_admin"], &url);
    assert!(ok && out.contains("已停用"), "{out}");
    let (ok, out, _) = app
        .cli_with_input(
            &[
                "user",
                "reset-password",
                "--username",
                "cli_admin",
                "--password-stdin",
            ],
            "Reset1234pw\n",
        )
        .await;
    assert!(ok && out.contains("已重置"), "{out}");
    assert!(
        !out.contains("Reset1234pw"),
        "a given password is not printed: {out}"
    );
    // The password is no command-line argument any more.
    let (ok, _, err) = dengji(
        &[
            "user",
            "reset-password",
            "--username",
            "cli_admin",
            "--password",
            "x",
        ],
        &url,
    );
    assert!(!ok && err.contains("--password"), "{err}");
    let (ok, out, err) = dengji(&["check"], &url);
    assert!(ok, "{out}{err}");
    assert!(out.contains("项检查通过"), "{out}");

    if backend() == dengji::store::Backend::Sqlite {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("backup.db");
        let dest_s = dest.to_string_lossy().to_string();
        let (ok, out, err) = dengji(&["backup", "--output", &dest_s], &url);
        assert!(ok, "{err}");
        assert!(out.contains("已备份到"));
        // The copy, like the database and its journal, is readable by its owner only.
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dest), 0o600, "backup");
        let db_file = dengji::store::sqlite_file(&url).unwrap();
        assert_eq!(mode(&db_file), 0o600, "database");
        let wal = std::path::PathBuf::from(format!("{}-wal", db_file.display()));
        if wal.exists() {
            assert_eq!(mode(&wal), 0o600, "write-ahead log");
        }
        // The copy is a working database with the same members.
        let copy = dengji::store::Db::connect(&format!("sqlite://{dest_s}"))
            .await
            .unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members")
            .fetch_one(copy.pool())
            .await
            .unwrap();
        assert_eq!(n, 300);
        let (ok, _, err) = dengji(&["backup", "--output", &dest_s], &url);
        assert!(!ok && err.contains("已存在"), "{err}");
    } else {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x.dump").to_string_lossy().to_string();
        let (ok, out, _) = dengji(&["backup", "--output", &dest, "--print-only"], &url);
        assert!(ok && out.contains("pg_dump --format=custom"), "{out}");
    }
}

#[tokio::test]
async fn check_reports_a_broken_tree() {
    let app = TestApp::spawn().await;
    // Break one member's path behind the application's back.
    sqlx::query("UPDATE members SET org_path = '/1/' WHERE id = (SELECT MIN(id) FROM members)")
        .execute(app.services.db.pool())
        .await
        .unwrap();
    let (ok, out, err) = dengji(&["check"], &app.url);
    assert!(!ok);
    assert!(
        out.contains("[问题] 党员的组织路径应与其所在党组织一致：1 条不符合"),
        "{out}"
    );
    assert!(err.contains("发现 1 类数据问题"), "{err}");
}

#[tokio::test]
async fn export_and_import_help_name_everything_they_do() {
    let app = crate::helpers::TestApp::empty().await;
    let (ok, export, _) = app.cli(&["export", "--help"]).await;
    assert!(ok);
    let first = export.lines().next().unwrap();
    for what in ["附件4/5/6", "附件1/2/3", "律师事务所", "党组织名册"] {
        assert!(first.contains(what), "export --help: {first}");
    }
    let (ok, import, _) = app.cli(&["import", "--help"]).await;
    assert!(ok);
    let first = import.lines().next().unwrap();
    for what in [
        "附件1/附件2",
        "混合名单",
        "律师事务所名册",
        "党组织名册",
        "撤销",
    ] {
        assert!(first.contains(what), "import --help: {first}");
    }
}
