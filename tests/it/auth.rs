//! Logging in and out, lock-out, sessions and the form token.

use axum::http::StatusCode;

use crate::helpers::{PASSWORD, TestApp, extract_csrf};
use dengji::service::Caller;

#[tokio::test]
async fn login_and_logout() {
    let app = TestApp::spawn().await;
    let c = app.login_demo("shi").await;
    let home = c.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("地市经办人"), "name in the header");
    let cookie = c.cookie.clone().unwrap();
    let out = c.post("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location().as_deref(), Some("/login"));
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    // The old cookie no longer opens anything.
    let mut stale = app.anonymous();
    stale.cookie = Some(cookie);
    let r = stale.get("/").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location().as_deref(), Some("/login"));
}

#[tokio::test]
async fn session_cookie_is_http_only_and_strict() {
    let app = TestApp::spawn().await;
    let r = app
        .anonymous()
        .post_raw("/login", &[("username", "shi"), ("password", "Dengji2018")])
        .await;
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP by default: {cookie}"
    );
}

#[tokio::test]
async fn wrong_password_then_lockout_after_five() {
    let app = TestApp::spawn().await;
    let c = app.anonymous();
    for i in 1..=4 {
        let r = c
            .post_raw("/login", &[("username", "shi"), ("password", "wrong-1")])
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
        assert!(r.body.contains("用户名或密码错误"), "{}", r.body);
        assert!(
            r.body.contains("value=\"shi\""),
            "username kept in the form"
        );
    }
    let r = c
        .post_raw("/login", &[("username", "shi"), ("password", "wrong-1")])
        .await;
    assert!(r.body.contains("登录失败次数过多"), "{}", r.body);
    // Even the right password is refused while locked.
    let r = c
        .post_raw("/login", &[("username", "shi"), ("password", "Dengji2018")])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("暂时锁定"), "{}", r.body);
    // Other accounts are unaffected.
    app.login_demo("sheng").await;
    // Each failure was recorded in the audit log.
    let failures: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'login.failed'")
            .fetch_one(app.services.db.pool())
            .await
            .unwrap();
    assert_eq!(failures, 5);
}

#[tokio::test]
async fn unknown_user_gets_the_same_message() {
    let app = TestApp::spawn().await;
    let r = app
        .anonymous()
        .post_raw("/login", &[("username", "nobody"), ("password", "x")])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("用户名或密码错误"));
}

#[tokio::test]
async fn forged_and_expired_cookies_are_ignored() {
    let app = TestApp::spawn().await;
    let mut forged = app.anonymous();
    forged.cookie = Some("dengji_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into());
    let r = forged.get("/members").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().unwrap().starts_with("/login"));

    let c = app.login_demo("shi").await;
    sqlx::query("UPDATE sessions SET expires_at = 0")
        .execute(app.services.db.pool())
        .await
        .unwrap();
    let r = c.get("/").await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "expired session sends to login"
    );
}

#[tokio::test]
async fn post_without_or_with_wrong_csrf_token_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.login_demo("admin").await;
    let target = app.login_demo("shi").await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = 'shi'")
        .fetch_one(app.services.db.pool())
        .await
        .unwrap();
    let path = format!("/users/{id}/disable");
    let r = admin.post_raw(&path, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("表单校验失败"), "{}", r.body);
    let r = admin.post_raw(&path, &[("csrf", "not-the-token")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Another user's token does not work either.
    let other = target.csrf.clone().unwrap();
    let r = admin.post_raw(&path, &[("csrf", &other)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        target.get("/").await.status,
        StatusCode::OK,
        "still enabled"
    );
    let r = admin.post(&path, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "with the token it works");
}

#[tokio::test]
async fn login_from_another_site_is_refused() {
    let app = TestApp::spawn().await;
    let r = app
        .anonymous()
        .send_with_origin(
            "/login",
            "http://evil.example",
            &[("username", "shi"), ("password", "Dengji2018")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.header("set-cookie").is_none());
}

#[tokio::test]
async fn disabled_users_old_session_stops_working_at_once() {
    let app = TestApp::spawn().await;
    let c = app.login_demo("suo").await;
    assert_eq!(c.get("/").await.status, StatusCode::OK);
    let id = dengji::domain::UserId(
        sqlx::query_scalar("SELECT id FROM users WHERE username = 'suo'")
            .fetch_one(app.services.db.pool())
            .await
            .unwrap(),
    );
    app.services
        .set_user_disabled(Caller::Operator, id, true)
        .await
        .unwrap();
    let r = c.get("/").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = app
        .anonymous()
        .post_raw("/login", &[("username", "suo"), ("password", "Dengji2018")])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("账号已停用"), "{}", r.body);
}

#[tokio::test]
async fn change_own_password_keeps_this_session_and_ends_others() {
    let app = TestApp::spawn().await;
    let here = app.login_demo("sheng").await;
    let elsewhere = app.login_demo("sheng").await;
    let r = here
        .post("/account/password", &[("old", "wrong"), ("new", PASSWORD)])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("原密码不正确"));
    let r = here
        .post(
            "/account/password",
            &[("old", "Dengji2018"), ("new", "short")],
        )
        .await;
    assert!(r.body.contains("长度应为8–128位"), "{}", r.body);
    let r = here
        .post(
            "/account/password",
            &[("old", "Dengji2018"), ("new", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("密码已修改"));
    assert_eq!(here.get("/").await.status, StatusCode::OK);
    assert_eq!(elsewhere.get("/").await.status, StatusCode::SEE_OTHER);
    app.login("sheng", PASSWORD).await;
    assert!(extract_csrf(&here.get("/account/password").await.body).is_some());
}

#[tokio::test]
async fn next_parameter_only_follows_local_paths() {
    let app = TestApp::spawn().await;
    let c = app.anonymous();
    let r = c
        .post_raw(
            "/login",
            &[
                ("username", "shi"),
                ("password", "Dengji2018"),
                ("next", "//evil.example/x"),
            ],
        )
        .await;
    assert_eq!(r.location().as_deref(), Some("/"));
    let r = c
        .post_raw(
            "/login",
            &[
                ("username", "shi"),
                ("password", "Dengji2018"),
                ("next", "/members"),
            ],
        )
        .await;
    assert_eq!(r.location().as_deref(), Some("/members"));
}

#[tokio::test]
async fn ended_sessions_are_purged() {
    let app = TestApp::spawn().await;
    let c = app.login_demo("shi").await;
    let live = app.login_demo("sheng").await;
    sqlx::query("UPDATE sessions SET expires_at = 1 WHERE user_id = (SELECT id FROM users WHERE username = 'shi')")
        .execute(app.services.db.pool())
        .await
        .unwrap();
    let purged = app.services.purge_expired_sessions().await.unwrap();
    assert_eq!(purged, 1);
    assert_eq!(c.get("/").await.status, StatusCode::SEE_OTHER);
    assert_eq!(live.get("/").await.status, StatusCode::OK);
}
