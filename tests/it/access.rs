//! The authorisation matrix: every route × every role × a target inside and outside the
//! user's subtree. Outside is answered exactly like "does not exist" (404).

use axum::http::StatusCode;

use dengji::domain::{OrgId, Role};

use crate::helpers::{TestApp, demo_places};

/// What a role gets on a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Ok,
    Redirect,
    Forbidden,
    NotFound,
}

fn status(want: Want) -> StatusCode {
    match want {
        Want::Ok => StatusCode::OK,
        Want::Redirect => StatusCode::SEE_OTHER,
        Want::Forbidden => StatusCode::FORBIDDEN,
        Want::NotFound => StatusCode::NOT_FOUND,
    }
}

#[tokio::test]
async fn every_route_for_every_role_inside_and_outside() {
    use Want::*;
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let pool = app.services.db.pool();
    let q = |sql: &'static str, id: i64| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap()
    };
    // Targets inside the city's subtree and in another province.
    let firm_in = q("SELECT MIN(id) FROM firms WHERE city_org_id = $1", p.city.0).await;
    let firm_out = q(
        "SELECT MIN(id) FROM firms WHERE city_org_id = $1",
        p.other_city.0,
    )
    .await;
    let member_in = q(
        "SELECT MIN(id) FROM members WHERE org_id = $1 ",
        p.firm_org.0,
    )
    .await;
    let member_in_other = q(
        "SELECT MAX(id) FROM members WHERE org_id = $1",
        p.firm_org.0,
    )
    .await;
    assert_ne!(member_in, member_in_other);
    let member_out = q(
        "SELECT MIN(m.id) FROM members m JOIN firms f ON f.id = m.firm_id WHERE f.city_org_id = $1",
        p.other_city.0,
    )
    .await;
    let user_in = q(
        "SELECT id FROM users WHERE org_id = $1 AND username = 'suo'",
        p.firm_org.0,
    )
    .await;
    // An account outside: create a clerk at the other city.
    let outsider = app.login_as(Role::Clerk, p.other_city, None).await;
    drop(outsider);
    let user_out = q(
        "SELECT MAX(id) FROM users WHERE org_id = $1",
        p.other_city.0,
    )
    .await;

    // Each role sits at the city node, except the member, who sits at the firm organisation
    // with their own record `member_in`.
    let roles = [
        Role::Member,
        Role::Clerk,
        Role::Reviewer,
        Role::Admin,
        Role::Auditor,
    ];
    for role in roles {
        let (org, member) = if role == Role::Member {
            (p.firm_org, Some(dengji::domain::MemberId(member_in)))
        } else {
            (p.city, None)
        };
        let c = app.login_as(role, org, member).await;
        let reader = role != Role::Member;
        let admin = role == Role::Admin;
        let auditor = matches!(role, Role::Admin | Role::Auditor);
        let dir = |inside: bool| match (reader, inside) {
            (false, _) => Forbidden,
            (true, true) => Ok,
            (true, false) => NotFound,
        };
        let manage = |inside: bool| match (admin, inside) {
            (false, _) => Forbidden,
            (true, true) => Ok,
            (true, false) => NotFound,
        };
        let city = p.city.0;
        let other = p.other_city.0;
        let cases: Vec<(String, Want)> = vec![
            ("/".into(), Ok),
            ("/account/password".into(), Ok),
            ("/orgs".into(), if reader { Ok } else { Forbidden }),
            ("/firms".into(), if reader { Ok } else { Forbidden }),
            ("/members".into(), Ok),
            ("/users".into(), if admin { Ok } else { Forbidden }),
            ("/audit".into(), if auditor { Ok } else { Forbidden }),
            (format!("/orgs/{city}"), dir(true)),
            (format!("/orgs/{other}"), dir(false)),
            (format!("/orgs/{city}/children"), dir(true)),
            (format!("/orgs/{other}/children"), dir(false)),
            (format!("/orgs/{city}/cases"), dir(true)),
            (format!("/orgs/{other}/cases"), dir(false)),
            (format!("/orgs/{city}/samples"), dir(true)),
            (format!("/orgs/{other}/samples"), dir(false)),
            (format!("/orgs/{city}/accountability"), dir(true)),
            (format!("/orgs/{other}/accountability"), dir(false)),
            (format!("/orgs/{other}/accountability.xlsx"), dir(false)),
            (format!("/orgs?under={city}"), dir(true)),
            (format!("/orgs?under={other}"), dir(false)),
            (format!("/firms/{firm_in}"), dir(true)),
            (format!("/firms/{firm_out}"), dir(false)),
            (format!("/firms?under={other}"), dir(false)),
            (format!("/members/{member_in}"), Ok),
            (
                format!("/members/{member_in_other}"),
                if reader { Ok } else { NotFound },
            ),
            (format!("/members/{member_out}"), NotFound),
            (
                format!("/members?under={city}"),
                if reader { Ok } else { NotFound },
            ),
            (format!("/members?under={other}"), NotFound),
            (format!("/users/new?org={city}"), manage(true)),
            (format!("/users/new?org={other}"), manage(false)),
            (format!("/users/{user_in}/password"), manage(true)),
            (format!("/users/{user_out}/password"), manage(false)),
            (
                "/orgs/999999".into(),
                if reader { NotFound } else { Forbidden },
            ),
            (
                "/firms/999999".into(),
                if reader { NotFound } else { Forbidden },
            ),
            (
                "/users/999999/password".into(),
                if admin { NotFound } else { Forbidden },
            ),
            ("/members/999999".into(), NotFound),
        ];
        for (path, want) in cases {
            let r = c.get(&path).await;
            assert_eq!(
                r.status,
                status(want),
                "{role:?} GET {path}: {}",
                &r.body[..r.body.len().min(300)]
            );
        }
        // State-changing routes (with a valid token): enable is harmless to repeat.
        let posts: Vec<(String, Want)> = vec![
            (
                format!("/users/{user_in}/enable"),
                if admin { Redirect } else { Forbidden },
            ),
            (
                format!("/users/{user_out}/enable"),
                if admin { NotFound } else { Forbidden },
            ),
            (
                format!("/users/{user_out}/disable"),
                if admin { NotFound } else { Forbidden },
            ),
            (
                format!("/users/{user_out}/password"),
                if admin { NotFound } else { Forbidden },
            ),
        ];
        for (path, want) in posts {
            let r = c.post(&path, &[("new", "Another1234")]).await;
            assert_eq!(
                r.status,
                status(want),
                "{role:?} POST {path}: {}",
                &r.body[..r.body.len().min(300)]
            );
        }
    }
    // Nothing outside was changed by any of it.
    let disabled: i64 = sqlx::query_scalar("SELECT disabled FROM users WHERE id = $1")
        .bind(user_out)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(disabled, 0);
}

#[tokio::test]
async fn anonymous_visitors_are_sent_to_login_everywhere() {
    let app = TestApp::spawn().await;
    let c = app.anonymous();
    for path in [
        "/",
        "/orgs",
        "/orgs/1",
        "/orgs/1/children",
        "/firms",
        "/members",
        "/members/1",
        "/users",
        "/audit",
        "/account/password",
    ] {
        let r = c.get(path).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert!(r.location().unwrap().starts_with("/login"), "{path}");
    }
    for path in ["/logout", "/users", "/users/1/disable", "/account/password"] {
        let r = c.post_raw(path, &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "POST {path}");
    }
    assert_eq!(c.get("/login").await.status, StatusCode::OK);
    assert_eq!(c.get("/static/app.css").await.status, StatusCode::OK);
    assert_eq!(
        c.get("/static/nothing.js").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn national_admin_sees_everything_and_province_admin_only_their_province() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let national = app.login_demo("admin").await;
    assert_eq!(
        national
            .get(&format!("/orgs/{}", p.other_city.0))
            .await
            .status,
        StatusCode::OK
    );
    let province = app.login_demo("sheng_admin").await;
    assert_eq!(
        province.get(&format!("/orgs/{}", p.city.0)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        province
            .get(&format!("/orgs/{}", p.other_province.0))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        province.get(&format!("/orgs/{}", OrgId(1).0)).await.status,
        StatusCode::NOT_FOUND,
        "not even the national root"
    );
    let users = province.get("/users").await;
    assert!(users.body.contains("shi_shenhe"));
    assert!(
        !users.body.contains(">auditor<"),
        "national accounts are not listed"
    );
}

/// Every route with an id in its path, given a malformed id (`/firms/x1`, `/members/x1`),
/// answers the Chinese 404 page — never the framework's plain-text rejection. The routes are
/// read from the router's own source, so a new route is covered when it is added.
#[tokio::test]
async fn every_route_with_a_malformed_id_answers_the_chinese_404_page() {
    let app = TestApp::spawn().await;
    let admin = app.login_demo("admin").await;
    let source = include_str!("../../src/web/mod.rs");
    let mut paths: Vec<String> = source
        .split('"')
        .filter(|s| {
            s.starts_with('/')
                && s.contains('{')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/{}_.-".contains(c))
        })
        .map(|s| {
            let mut out = String::new();
            let mut inside = false;
            for c in s.chars() {
                match c {
                    '{' => {
                        inside = true;
                        out.push_str("x1");
                    }
                    '}' => inside = false,
                    c if !inside => out.push(c),
                    _ => {}
                }
            }
            out
        })
        .collect();
    paths.sort();
    paths.dedup();
    assert!(paths.len() > 40, "{paths:?}");
    paths.push("/firms/new".into());
    for path in &paths {
        let mut r = admin.get(path).await;
        if r.status == StatusCode::METHOD_NOT_ALLOWED {
            r = admin.post(path, &[]).await;
        }
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            &r.body[..r.body.len().min(200)]
        );
        assert!(
            r.body.contains("未找到"),
            "{path}: {}",
            &r.body[..r.body.len().min(200)]
        );
    }
}
