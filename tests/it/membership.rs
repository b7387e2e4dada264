//! A clerk adds a member and hands over a one-time activation code; the member activates.

use axum::http::StatusCode;

use crate::helpers::{TestApp, between, count, demo_places, firm_of_org, fresh_id, member_form};

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, x)| (k.as_str(), x.as_str())).collect()
}

#[tokio::test]
async fn clerk_adds_a_member_who_activates_once() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let firm = firm_of_org(&app, p.firm_org.0).await;
    let clerk = app.login_demo("suo").await;
    let page = clerk
        .get(&format!("/members/new?org={}", p.firm_org.0))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("添加党员"));

    // Bad input: every problem named, nothing stored.
    let before: i64 = count(&app, "SELECT COUNT(*) FROM members").await;
    let mut bad = member_form(p.firm_org.0, firm, "110101193101010001");
    bad.retain(|(k, _)| k != "mobile" && k != "licence_no");
    bad.push(("mobile".into(), "123".into()));
    bad.push(("licence_no".into(), "abc".into()));
    let r = clerk.post("/members/new", &pairs(&bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("公民身份号码：校验位不正确"), "{}", r.body);
    assert!(r.body.contains("手机号码：应为11位手机号码"));
    assert!(r.body.contains("执业证号：只能由数字组成"));
    let after: i64 = count(&app, "SELECT COUNT(*) FROM members").await;
    assert_eq!(before, after);

    let id = fresh_id(11);
    let r = clerk
        .post(
            "/members/new",
            &pairs(&member_form(p.firm_org.0, firm, &id)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("激活码只显示这一次"));
    let username = between(&r.body, "id=\"new-username\">").to_owned();
    let code = between(&r.body, "id=\"new-code\">").to_owned();
    assert!(
        username.starts_with("dy") && code.len() == 9,
        "{username} {code}"
    );
    assert!(
        !r.body.contains(&id),
        "the full ID number is not shown back"
    );

    // The same person again, even from elsewhere in the country: refused without saying where.
    let other_clerk = app
        .login_as(dengji::domain::Role::Clerk, p.other_city, None)
        .await;
    let other_firm = app.first_firm_of_city(p.other_city).await.id.0;
    let mut again = member_form(p.other_city.0, other_firm, &id);
    again.retain(|(k, _)| k != "licence_no");
    again.push(("licence_no".into(), "11101200511999002".into()));
    let r = other_clerk.post("/members/new", &pairs(&again)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("已在系统中登记（可能在其他单位）"),
        "{}",
        r.body
    );
    // A firm outside the clerk's subtree cannot be chosen.
    let r = other_clerk
        .post(
            "/members/new",
            &pairs(&member_form(p.other_city.0, firm, &fresh_id(12))),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("所选律师事务所不存在或不在本组织范围内"));

    // Before activation the account cannot log in with anything.
    let r = app
        .anonymous()
        .post_raw(
            "/login",
            &[("username", &username), ("password", "Whatever123")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Activation: mismatched passwords, then a wrong code, then the right one, then reuse.
    let anon = app.anonymous();
    let r = anon
        .post_raw(
            "/activate",
            &[
                ("username", &username),
                ("code", &code),
                ("password", "Mine12345x"),
                ("password2", "Mine12345x6"),
            ],
        )
        .await;
    assert!(r.body.contains("两次输入不一致"));
    let r = anon
        .post_raw(
            "/activate",
            &[
                ("username", &username),
                ("code", "AAAA-AAAA"),
                ("password", "Mine12345x"),
                ("password2", "Mine12345x"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("激活码无效、已使用或已过期"));
    let lower = code.to_lowercase();
    let r = anon
        .post_raw(
            "/activate",
            &[
                ("username", &username),
                ("code", &lower),
                ("password", "Mine12345x"),
                ("password2", "Mine12345x"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location().as_deref(), Some("/login?activated=1"));
    let r = anon
        .post_raw(
            "/activate",
            &[
                ("username", &username),
                ("code", &code),
                ("password", "Other12345"),
                ("password2", "Other12345"),
            ],
        )
        .await;
    assert!(
        r.body.contains("激活码无效、已使用或已过期"),
        "a code works once"
    );
    let me = app.login(&username, "Mine12345x").await;
    let home = me.get("/").await;
    assert!(home.body.contains("填写登记表"));
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let firm = firm_of_org(&app, p.firm_org.0).await;
    let clerk = app.login_demo("suo").await;
    let r = clerk
        .post(
            "/members/new",
            &pairs(&member_form(p.firm_org.0, firm, &fresh_id(21))),
        )
        .await;
    let username = between(&r.body, "id=\"new-username\">").to_owned();
    let code = between(&r.body, "id=\"new-code\">").to_owned();
    sqlx::query("UPDATE activation_codes SET expires_at = 1")
        .execute(app.services.db.pool())
        .await
        .unwrap();
    let r = app
        .anonymous()
        .post_raw(
            "/activate",
            &[
                ("username", &username),
                ("code", &code),
                ("password", "Mine12345x"),
                ("password2", "Mine12345x"),
            ],
        )
        .await;
    assert!(r.body.contains("激活码无效、已使用或已过期"));
}

#[tokio::test]
async fn members_and_auditors_cannot_add_members() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let firm = firm_of_org(&app, p.firm_org.0).await;
    for who in ["dangyuan", "auditor"] {
        let c = app.login_demo(who).await;
        let r = c
            .post(
                "/members/new",
                &pairs(&member_form(p.firm_org.0, firm, &fresh_id(31))),
            )
            .await;
        assert!(r.status == StatusCode::FORBIDDEN, "{who}: {}", r.status);
    }
}
