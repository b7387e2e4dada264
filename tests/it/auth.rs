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
    let failures: i64 = app.audit("login.failed").await.len() as i64;
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
    let id: i64 = app.user("shi").await.id.0;
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
    let id = dengji::domain::UserId(app.user("suo").await.id.0);
    app.services
        .users()
        .set_disabled(Caller::Operator, id, true)
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
    assert!(r.body.contains("长度应为10–128位"), "{}", r.body);
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
    let purged = app.services.auth().purge_expired().await.unwrap();
    assert_eq!(purged, 1);
    assert_eq!(c.get("/").await.status, StatusCode::SEE_OTHER);
    assert_eq!(live.get("/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn after_login_only_a_path_of_this_site_is_followed() {
    let app = TestApp::spawn().await;
    for (given, expected) in [
        ("/members", "/members"),
        ("/\t/evil.example/x", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("/%2F/evil.example", "/"),
        ("/\n/x", "/"),
        ("/\r\nSet-Cookie: a=1", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
    ] {
        let r = app
            .anonymous()
            .post_raw(
                "/login",
                &[
                    ("username", "shi"),
                    ("password", "Dengji2018"),
                    ("next", given),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{given:?}: {}", r.body);
        assert_eq!(r.location().as_deref(), Some(expected), "{given:?}");
    }
    // The login page does not carry a foreign target into its form either.
    let page = app.anonymous().get("/login?next=/%09/evil.example/x").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("evil.example"), "{}", page.body);
}

/// The error line of a login page (what a user reads), without the form around it.
fn login_message(body: &str) -> String {
    let start = body.find("class=\"error\"").unwrap_or(0);
    body[start..]
        .split('<')
        .next()
        .map(|s| s.rsplit('>').next().unwrap_or(s).trim().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn unknown_and_known_usernames_are_answered_alike_even_when_locked() {
    let app = TestApp::spawn().await;
    let c = app.anonymous();
    let mut answers = Vec::new();
    for name in ["shi", "nobody-here"] {
        let mut seen = Vec::new();
        for _ in 0..6 {
            let r = c
                .post_raw("/login", &[("username", name), ("password", "wrong-1")])
                .await;
            // The lock's end may differ by a minute between the two runs.
            let words: String = login_message(&r.body)
                .chars()
                .filter(|c| !c.is_ascii_digit())
                .collect();
            seen.push((r.status, words));
        }
        answers.push(seen);
    }
    assert_eq!(answers[0], answers[1], "the same answers, one by one");
    assert!(answers[1][4].1.contains("暂时锁定"), "{:?}", answers[1]);
    assert!(
        answers[1][0].1.contains("用户名或密码错误"),
        "{:?}",
        answers[1]
    );
}

#[tokio::test]
async fn wrong_activation_codes_never_lock_the_password_login() {
    let app = TestApp::spawn().await;
    let c = app.anonymous();
    for i in 1..=7 {
        let r = c
            .post_raw(
                "/activate",
                &[
                    ("username", "admin"),
                    ("code", "AAAA-AAAA"),
                    ("password", "Mine12345xx"),
                    ("password2", "Mine12345xx"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "attempt {i}");
        if i >= 5 {
            assert!(r.body.contains("激活已暂时锁定"), "{i}: {}", r.body);
        }
    }
    // The administrator still logs in with the password.
    app.login_demo("admin").await;
}

#[tokio::test]
async fn many_failures_from_one_address_are_throttled_for_that_address_only() {
    let app = TestApp::spawn().await;
    let limit = app.services.limits.address_failures;
    let mut attacker = app.anonymous();
    attacker.from = Some("203.0.113.7:50000".parse().unwrap());
    for i in 0..limit {
        let r = attacker
            .post_raw(
                "/login",
                &[("username", &format!("guess{i}")), ("password", "x")],
            )
            .await;
        assert!(r.body.contains("用户名或密码错误"), "{i}: {}", r.body);
    }
    // Even a right password is refused from there now, with a message saying why.
    let r = attacker
        .post_raw("/login", &[("username", "shi"), ("password", "Dengji2018")])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("失败尝试过多"), "{}", r.body);
    // Another address and the account itself are unaffected.
    let mut other = app.anonymous();
    other.from = Some("198.51.100.2:40000".parse().unwrap());
    let r = other
        .post_raw("/login", &[("username", "shi"), ("password", "Dengji2018")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

/// A writer the log lines of one test go to.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn each_request_is_logged_by_route_without_its_ids_or_query() {
    let app = TestApp::spawn().await;
    let c = app.login_demo("shi").await;
    let out = Captured::default();
    let writer = out.clone();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish(),
    );
    let r = c
        .get("/members?name=%E7%8E%8B%E5%BC%BA&q=110101199003070011")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    c.get("/members/987654321").await;
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("route=/members ") || l.ends_with("route=/members"))
        .unwrap_or_else(|| panic!("no line for /members: {text}"));
    assert!(
        line.contains("method=GET") && line.contains("status=200"),
        "{line}"
    );
    let user: i64 = app.user("shi").await.id.0;
    assert!(line.contains(&format!("user={user}")), "{line}");
    assert!(text.contains("route=/members/{id}"), "{text}");
    for secret in ["110101199003070011", "王强", "%E7", "987654321", "name="] {
        assert!(!text.contains(secret), "{secret} in the log: {text}");
    }
}

#[tokio::test]
async fn hsts_is_sent_only_when_served_behind_tls() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.anonymous()
            .get("/login")
            .await
            .header("strict-transport-security"),
        None
    );
    let secure = dengji::web::router(dengji::web::AppState {
        services: app.services.clone(),
        secure_cookies: true,
        trusted_proxies: Vec::new(),
    });
    let resp = tower::ServiceExt::oneshot(
        secure,
        axum::http::Request::get("/login")
            .header("host", "localhost")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    let hsts = resp.headers().get("strict-transport-security").unwrap();
    assert!(hsts.to_str().unwrap().starts_with("max-age="), "{hsts:?}");
}
