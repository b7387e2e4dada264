//! A real deployment from an empty database: `dengji setup` makes the first national
//! administrator and campaign; campaigns are started, changed and closed on their page.

use axum::http::StatusCode;

use crate::helpers::{TestApp, demo_places};
use dengji::domain::Role;

fn run_with_input(app: &TestApp, args: &[&str], input: &str) -> (bool, String, String) {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("test.key");
    std::fs::write(&key, "2a".repeat(32)).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dengji"))
        .args(args)
        .env("DENGJI_DATABASE_URL", &app.url)
        .env("DENGJI_KEY_FILE", &key)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const SETUP: [&str; 18] = [
    "setup",
    "--admin-username",
    "guanli",
    "--admin-name",
    "张管理",
    "--password-stdin",
    "--campaign-name",
    "2018年律师行业党组织和党员基本信息登记核查",
    "--cutoff",
    "2018-07-31",
    "--firm",
    "2018-08-31",
    "--city",
    "2018-09-30",
    "--province",
    "2018-10-31",
    "--national",
    "2018-11-30",
];

#[tokio::test]
async fn setup_on_an_empty_database_makes_the_administrator_and_the_first_campaign() {
    let app = TestApp::empty().await;
    let (ok, out, err) = run_with_input(&app, &SETUP, "Guanli2018x\n");
    assert!(ok, "{out}{err}");
    assert!(out.contains("已建立全国管理员账号 guanli"), "{out}");
    assert!(out.contains("已开展登记核查工作"), "{out}");
    // Run again, it refuses and changes nothing.
    let (ok, _, err) = run_with_input(&app, &SETUP, "Guanli2018x\n");
    assert!(!ok && err.contains("已初始化过"), "{err}");
    let (ok, out, _) = app.cli(&["campaign", "show"]);
    assert!(
        ok && out.contains("2018-07-31") && out.contains("进行中"),
        "{out}"
    );
    // The administrator signs in and sees the campaign on its page.
    let admin = app.login("guanli", "Guanli2018x").await;
    let home = admin.get("/").await;
    assert!(home.body.contains("id=\"campaign-link\""), "{}", home.body);
    let page = admin.get("/campaign").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("id=\"judged-at\">2018-07-31<"),
        "{}",
        page.body
    );
    // Half the campaign's dates is refused by the command, naming what is missing.
    let app2 = TestApp::empty().await;
    let (ok, _, err) = run_with_input(&app2, &SETUP[..10], "Guanli2018x\n");
    assert!(!ok && err.contains("--firm"), "{err}");
}

#[tokio::test]
async fn the_national_administrator_starts_changes_and_closes_campaigns_on_their_page() {
    let app = TestApp::spawn().await;
    let admin = app.login_demo("admin").await;
    // The demo's campaign is open: no second one.
    let r = admin
        .post(
            "/campaign",
            &[
                ("name", "2019年度更新"),
                ("cutoff", "2019-07-31"),
                ("firm", "2019-08-31"),
                ("city", "2019-09-30"),
                ("province", "2019-10-31"),
                ("national", "2019-11-30"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("尚未结束"), "{}", r.body);
    // Deadlines out of order are named and nothing changes.
    let r = admin
        .post(
            "/campaign/deadlines",
            &[
                ("firm", "2030-09-30"),
                ("city", "2030-08-31"),
                ("province", "2030-10-31"),
                ("national", "2030-11-30"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("逐级递增"), "{}", r.body);
    let r = admin.post("/campaign/close", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // Closed: a member can no longer change the form; the record stays readable.
    let p = demo_places(&app).await;
    let member = app.login_demo("dangyuan").await;
    let form = member
        .get(&format!("/members/{}/registration", p.member.0))
        .await;
    assert_eq!(form.status, StatusCode::OK);
    let r = member
        .post(
            &format!("/members/{}/registration", p.member.0),
            &[("version", "0"), ("step", "save")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("已经结束"), "{}", r.body);
    // A bad date, then a good new campaign.
    let mut fields = vec![
        ("name", "2019年度更新"),
        ("cutoff", "2019-13-01"),
        ("firm", "2019-08-31"),
        ("city", "2019-09-30"),
        ("province", "2019-10-31"),
        ("national", "2019-11-30"),
    ];
    let r = admin.post("/campaign", &fields).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("登记截止基准日"), "{}", r.body);
    assert!(
        r.body.contains("value=\"2019年度更新\""),
        "what was typed is kept"
    );
    fields[1].1 = "2019-07-31";
    let r = admin.post("/campaign", &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = admin.get(&r.location().unwrap()).await;
    assert!(page.body.contains("进行中：2019年度更新"), "{}", page.body);
    assert!(
        page.body.contains("已结束（"),
        "the demo's campaign is listed as closed"
    );
    let events: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action IN ('campaign.new', 'campaign.close')",
    )
    .fetch_one(app.services.db.pool())
    .await
    .unwrap();
    assert_eq!(events, 2);
    // Only national administrators run campaigns.
    for who in ["sheng", "shi", "suo"] {
        let c = app.login_demo(who).await;
        assert_eq!(
            c.get("/campaign").await.status,
            StatusCode::FORBIDDEN,
            "{who}"
        );
    }
    let provincial_admin = app.login_as(Role::Admin, p.province, None).await;
    assert_eq!(
        provincial_admin.get("/campaign").await.status,
        StatusCode::FORBIDDEN
    );
}
