//! What users see on the pages: Chinese text, masked numbers, the tree, lists and forms.

use axum::http::StatusCode;

use crate::helpers::{TestApp, count, demo_places};

#[tokio::test]
async fn login_page_is_chinese_and_self_contained() {
    let app = TestApp::spawn().await;
    let r = app.anonymous().get("/login").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("<html lang=\"zh-CN\">"));
    assert!(r.body.contains("登录"));
    assert!(r.body.contains("用户名") && r.body.contains("密码"));
    // No asset from anywhere else.
    assert!(
        !r.body.contains("http://") && !r.body.contains("https://"),
        "{}",
        r.body
    );
    let css = app.anonymous().get("/static/app.css").await;
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    assert!(css.body.contains("@media print"), "print styles");
    let csp = r.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'self'"));
}

#[tokio::test]
async fn home_shows_the_node_counts_and_campaign() {
    let app = TestApp::spawn().await;
    let c = app.login_demo("admin").await;
    let r = c.get("/").await;
    assert!(r.body.contains("全国律师行业党委"));
    assert!(
        r.body.contains("id=\"count-members\">300<"),
        "member count on the home page"
    );
    // The demo campaign's firm deadline is 30 days from today.
    let firm_deadline = (dengji::service::beijing_today() + time::Duration::days(30)).to_string();
    assert!(r.body.contains(&firm_deadline), "campaign deadlines");
    assert!(r.body.contains("新疆生产建设兵团律师行业党委"));
}

#[tokio::test]
async fn member_lists_mask_id_numbers_and_phones() {
    let app = TestApp::spawn().await;
    let c = app.login_demo("shi").await;
    let r = c.get("/members").await;
    assert_eq!(r.status, StatusCode::OK);
    let masked = regex_like_masked_ids(&r.body);
    assert!(masked > 0, "masked ID numbers shown");
    assert!(!contains_full_id(&r.body), "no full ID number in the list");
    // The record page shows the masked number too.
    let places = demo_places(&app).await;
    let page = c.get(&format!("/members/{}", places.member.0)).await;
    assert!(page.body.contains("公民身份号码按规定脱敏显示"));
    assert!(!contains_full_id(&page.body));
}

fn regex_like_masked_ids(html: &str) -> usize {
    html.match_indices("********").count()
}

/// Any run of 17 digits followed by a digit or X: a full ID number.
fn contains_full_id(html: &str) -> bool {
    let b = html.as_bytes();
    let mut run = 0;
    for (i, c) in b.iter().enumerate() {
        if c.is_ascii_digit() {
            run += 1;
            if run == 17 && i + 1 < b.len() && (b[i + 1].is_ascii_digit() || b[i + 1] == b'X') {
                // Licence numbers are exactly 17 digits; an 18th digit or X makes an ID.
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

#[tokio::test]
async fn tree_opens_one_level_at_a_time() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let c = app.login_demo("sheng").await;
    let page = c.get(&format!("/orgs/{}", p.province.0)).await;
    assert!(
        page.body
            .contains(&format!("data-children=\"/orgs/{}/children\"", p.city.0))
            || page.body.contains(&format!("/orgs/{}\"", p.city.0))
    );
    let frag = c.get(&format!("/orgs/{}/children", p.city.0)).await;
    assert_eq!(frag.status, StatusCode::OK);
    assert!(
        frag.body.starts_with("<ul class=\"tree\">"),
        "a fragment, not a page"
    );
    assert!(frag.body.contains(&format!("/orgs/{}\"", p.firm_org.0)));
    // Breadcrumbs start at the user's own node, never above it.
    let firm_page = c.get(&format!("/orgs/{}", p.firm_org.0)).await;
    assert!(
        !firm_page.body.contains("href=\"/orgs/1\""),
        "no link above the user's node"
    );
}

#[tokio::test]
async fn member_search_filters_sorts_and_pages() {
    let app = TestApp::with_members(400).await;
    let c = app.login_demo("admin").await;
    let r = c.get("/members?name=%E7%8E%8B&sort=birth").await; // 王
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("value=\"王\""), "filter kept in the form");
    assert!(r.body.contains("<option value=\"birth\" selected>"));
    let first = c.get("/members").await;
    assert!(first.body.contains("rel=\"next\""));
    let second = c.get("/members?page=2").await;
    assert!(second.body.contains("rel=\"prev\""));
    assert_ne!(first.body, second.body);
    // Nonsense parameters fall back to defaults instead of failing.
    let odd = c
        .get("/members?page=abc&sort=drop%20table&category=zzz")
        .await;
    assert_eq!(odd.status, StatusCode::OK);
    let probationary = c.get("/members?status=probationary").await;
    assert!(probationary.body.contains("预备党员"));
    assert!(!probationary.body.contains("<td>正式党员</td>"));
}

#[tokio::test]
async fn firm_and_org_lists_show_coverage() {
    let app = TestApp::with_members(2000).await;
    let c = app.login_demo("admin").await;
    let none = c.get("/firms?coverage=none").await;
    assert!(none.body.contains("未建立党组织"));
    let joint = c.get("/orgs?kind=joint_branch").await;
    assert!(joint.body.contains("联合党支部"));
    assert!(joint.body.contains("联合支部委员会"));
}

#[tokio::test]
async fn admin_creates_an_account_and_bad_input_is_named() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let c = app.login_demo("sheng_admin").await;
    let org = p.city.0.to_string();
    let r = c.get(&format!("/users/new?org={org}")).await;
    assert!(r.body.contains("添加账号"));
    let bad = c
        .post(
            "/users",
            &[
                ("org", &org),
                ("username", "a"),
                ("display_name", ""),
                ("role", "clerk"),
                ("member", ""),
                ("password", "123"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("用户名：应为3–32位"), "{}", bad.body);
    assert!(bad.body.contains("姓名：不能为空"));
    assert!(bad.body.contains("密码：长度应为10–128位"));
    let before: i64 = count(&app, "SELECT COUNT(*) FROM users").await;
    let ok = c
        .post(
            "/users",
            &[
                ("org", &org),
                ("username", "new_clerk"),
                ("display_name", "<script>alert(1)</script>"),
                ("role", "clerk"),
                ("member", ""),
                ("password", "Good1234pass"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let list = c.get("/users?q=new_clerk").await;
    assert!(
        list.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "shown as text: {}",
        list.body
    );
    assert!(!list.body.contains("<script>alert(1)"));
    let after: i64 = count(&app, "SELECT COUNT(*) FROM users").await;
    assert_eq!(after, before + 1);
    // The same username again is refused and named.
    let dup = c
        .post(
            "/users",
            &[
                ("org", &org),
                ("username", "new_clerk"),
                ("display_name", "甲"),
                ("role", "clerk"),
                ("member", ""),
                ("password", "Good1234pass"),
            ],
        )
        .await;
    assert!(dup.body.contains("该用户名已被使用"));
    // A member account needs a member of that organisation.
    let m = c
        .post(
            "/users",
            &[
                ("org", &org),
                ("username", "member_x"),
                ("display_name", "乙"),
                ("role", "member"),
                ("member", ""),
                ("password", "Good1234pass"),
            ],
        )
        .await;
    assert!(m.body.contains("党员本人账号必须关联一名党员"));
    // The new clerk can log in; the event is in the audit log with who did it.
    app.login("new_clerk", "Good1234pass").await;
    let audit = app
        .login_demo("admin")
        .await
        .get("/audit?action=user.create")
        .await;
    assert!(audit.body.contains("sheng_admin"));
    assert!(audit.body.contains("new_clerk"));
}

#[tokio::test]
async fn admin_disables_enables_and_resets() {
    let app = TestApp::spawn().await;
    let c = app.login_demo("sheng_admin").await;
    let id: i64 = app.user("shi").await.id.0;
    let r = c.post(&format!("/users/{id}/disable"), &[]).await;
    assert_eq!(r.location().as_deref(), Some("/users?done=disabled"));
    let page = c.get("/users?done=disabled&q=shi").await;
    assert!(page.body.contains("已停用"));
    let r = c
        .post(&format!("/users/{id}/password"), &[("new", "abc")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("长度应为10–128位"));
    c.post(&format!("/users/{id}/enable"), &[]).await;
    let r = c
        .post(&format!("/users/{id}/password"), &[("new", "NewPass2018")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    app.login("shi", "NewPass2018").await;
    // An administrator cannot disable themselves.
    let own: i64 = app.user("sheng_admin").await.id.0;
    let r = c.post(&format!("/users/{own}/disable"), &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("不能停用自己的账号"));
}

#[tokio::test]
async fn member_sees_only_their_own_record() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let c = app.login_demo("dangyuan").await;
    let home = c.get("/").await;
    assert!(home.body.contains("我的登记"));
    assert!(home.body.contains(&format!("/members/{}", p.member.0)));
    assert!(!home.body.contains("href=\"/orgs\""), "no directory menu");
    let list = c.get("/members").await;
    assert_eq!(
        list.body.matches("href=\"/members/").count(),
        1,
        "one row: their own"
    );
}

#[tokio::test]
async fn unknown_pages_are_chinese_404s() {
    let app = TestApp::spawn().await;
    let c = app.login_demo("shi").await;
    let r = c.get("/no/such/page").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("未找到该记录，或您无权查看"));
    let r = c.get("/orgs/abc").await;
    assert!(r.status.is_client_error());
}
