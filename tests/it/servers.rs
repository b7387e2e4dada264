//! Several `dengji serve` processes on one database (issue 20 item 3): a session, its form
//! token, an upload waiting for a decision and the login throttle live in the database, so a
//! user sent to either server by a round-robin balancer carries on where they were; the hourly
//! sweeps take turns through an advisory lock on PostgreSQL.

use axum::http::StatusCode;

use crate::helpers::*;
use dengji::service::demo::DEMO_PASSWORD;
use dengji::store::Backend;

#[tokio::test]
async fn two_servers_on_one_database_serve_the_same_users() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let own = app.firm_of(p.firm_org).await.credit_code;
    let (a, b) = (app.serve().await, app.serve().await);

    // Signed in on A, the session and its form token work on B.
    let on_a = TestApp::login_with(app.anonymous().via(a.addr), "suo", DEMO_PASSWORD).await;
    let on_b = on_a.via(b.addr);
    let page = on_b.get(&format!("/orgs/{}/import", p.firm_org.0)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("上传并预检"), "{}", page.body);

    // Uploaded through A, previewed and decided on B, the result read on A.
    let bytes = Book::new(vec![row(&own, 301)]).bytes();
    let resp = on_a
        .post_file(
            &format!("/orgs/{}/import", p.firm_org.0),
            &[("kind", "")],
            "名册.xlsx",
            &bytes,
        )
        .await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER, "{}", resp.body);
    let preview_url = resp.location().unwrap();
    let preview = on_b.get(&preview_url).await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(
        preview.body.contains("id=\"n-valid\">1<"),
        "{}",
        preview.body
    );
    let upload = preview_url
        .split('/')
        .nth(4)
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    let resp = on_b
        .post(
            &format!("/orgs/{}/import/{upload}", p.firm_org.0),
            &[("mode", "valid"), ("kind", "lawyers")],
        )
        .await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER, "{}", resp.body);
    let done = on_a.get(&resp.location().unwrap()).await;
    assert!(
        done.body.contains("导入 1 行，未导入 0 行"),
        "{}",
        done.body
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM members WHERE name = '林301' AND import_batch_id IS NOT NULL"
        )
        .await,
        1
    );

    // A form token that no session issued is refused by either server.
    let mut forged = on_b.clone();
    forged.csrf = Some("forged".into());
    let resp = forged
        .post(
            &format!("/imports/{}/undo", 1),
            &[("org", &p.firm_org.0.to_string())],
        )
        .await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);

    // Signed out on B, the session is gone on A too.
    let resp = on_b.post("/logout", &[]).await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER);
    let after = on_a.get(&format!("/orgs/{}/import", p.firm_org.0)).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(after.location().unwrap().starts_with("/login"));

    // Wrong passwords count on the account wherever they are typed: two servers do not give
    // a guesser twice the tries.
    for i in 0..dengji::service::auth::MAX_FAILED_LOGINS {
        let to = if i % 2 == 0 { a.addr } else { b.addr };
        let r = app
            .anonymous()
            .via(to)
            .post_raw(
                "/login",
                &[("username", "suo"), ("password", "wrong-guess")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    for to in [a.addr, b.addr] {
        let r = app
            .anonymous()
            .via(to)
            .post_raw(
                "/login",
                &[("username", "suo"), ("password", DEMO_PASSWORD)],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.body.contains("账号已暂时锁定"), "{}", r.body);
    }
}

#[tokio::test]
async fn the_hourly_sweeps_run_on_one_server_at_a_time() {
    let app = TestApp::spawn().await;
    // An ended session for the sweep to drop.
    let clerk = app.login_demo("suo").await;
    sqlx::query("UPDATE sessions SET expires_at = 0")
        .execute(app.services.db.pool())
        .await
        .unwrap();
    let sessions = "SELECT COUNT(*) FROM sessions";
    assert_eq!(count(&app, sessions).await, 1);
    if backend() == Backend::Postgres {
        // Another server holds the turn: this one skips the round and changes nothing.
        let mut other = app.services.db.pool().begin().await.unwrap();
        let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(dengji::service::HOURLY_SWEEP_LOCK)
            .fetch_one(&mut *other)
            .await
            .unwrap();
        assert!(held);
        assert!(!app.services.sweep_hourly().await.unwrap(), "skipped");
        assert_eq!(count(&app, sessions).await, 1);
        other.rollback().await.unwrap();
    }
    // With the turn free, the sweep runs; and gives the turn back for the next round.
    assert!(app.services.sweep_hourly().await.unwrap());
    assert_eq!(count(&app, sessions).await, 0);
    assert!(app.services.sweep_hourly().await.unwrap());
    let page = clerk.get("/").await;
    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "the ended session is gone"
    );
}

#[tokio::test]
async fn a_replica_that_cannot_be_one_is_refused_at_start_with_the_reason() {
    let app = TestApp::empty().await;
    let mut db = dengji::store::Db::connect(&app.url).await.unwrap();
    let err = db
        .attach_replicas(&["sqlite:///tmp/replica.db".to_owned()])
        .await
        .unwrap_err()
        .to_string();
    match backend() {
        Backend::Sqlite => assert!(err.contains("仅用于 PostgreSQL 主库"), "{err}"),
        Backend::Postgres => {
            assert!(err.contains("只读副本应为 PostgreSQL 数据库地址"), "{err}");
            // A replica that does not answer is named, its password hidden.
            let err = db
                .attach_replicas(&["postgres://dengji:secret@127.0.0.1:1/dengji".to_owned()])
                .await
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("127.0.0.1:1") && !err.contains("secret"),
                "{err}"
            );
        }
    }
    assert_eq!(db.replica_count(), 0, "nothing attached");
}

#[tokio::test]
async fn the_load_scenario_gets_accounts_of_every_role_that_sign_in() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("accounts.json");
    let file_arg = file.to_str().unwrap();
    let args = [
        "bench",
        "--load-accounts",
        "3",
        "--load-accounts-file",
        file_arg,
    ];
    let (ok, out, err) = app.cli(&args).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("新建 "), "{out}");
    let list: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let accounts = &list["accounts"];
    for role in ["member", "firm_clerk", "firm_reviewer"] {
        assert_eq!(
            accounts[role].as_array().unwrap().len(),
            3,
            "{role}: {list}"
        );
    }
    for role in ["city_clerk", "province_clerk"] {
        assert!(
            !accounts[role].as_array().unwrap().is_empty(),
            "{role}: {list}"
        );
    }
    // Distinct people: every member account is a different member, each signs in.
    let members = count(
        &app,
        "SELECT COUNT(DISTINCT member_id) FROM users WHERE username LIKE 'load\\_dy\\_%' ESCAPE '\\'",
    )
    .await;
    assert_eq!(members, 3);
    for name in accounts
        .as_object()
        .unwrap()
        .values()
        .flat_map(|v| v.as_array().unwrap())
    {
        let password = list["password"].as_str().unwrap();
        let c = app.login(name.as_str().unwrap(), password).await;
        assert_eq!(c.get("/").await.status, StatusCode::OK, "{name}");
    }
    // Run again: nothing new, the same list.
    let (ok, out, _) = app.cli(&args).await;
    assert!(ok && out.contains("新建 0 个"), "{out}");
}
