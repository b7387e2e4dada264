//! Four-eyes (双人复核): the risky actions wait for a second account of the required role in
//! scope; the requester never approves their own request; a request whose target changed is
//! refused as stale; everything in the audit log.

use axum::http::StatusCode;
use dengji::domain::{PackageState, Role};
use dengji::service::import::Mode;

use dengji::service::Caller;

use crate::helpers::{Book, TestApp, count, demo_places, input, row, run};

const OP: Caller<'static> = Caller::Operator;

async fn package_state(app: &TestApp, org: dengji::domain::OrgId) -> PackageState {
    app.package(org).await.expect("package").state
}

#[tokio::test]
async fn a_national_acceptance_needs_a_second_national_reviewer() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let root = app.root().await;
    app.finish_subtree(p.province).await;
    let v = app.package_version(p.province).await.to_string();
    let accept = format!("/orgs/{}/package/accept", p.province.0);

    // One reviewer alone gets the request form, and nothing is accepted.
    let first = app.login_demo("quanguo").await;
    let r = first.post(&accept, &[("version", &v)]).await;
    assert_eq!(
        package_state(&app, p.province).await,
        PackageState::Submitted
    );
    // A request needs its reason.
    let payload = r
        .body
        .split("name=\"payload\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .map(crate::helpers::unescape)
        .unwrap();
    let bad = first
        .post("/approvals", &[("payload", &payload), ("reason", " ")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("请写明申请的理由"), "{}", bad.body);
    let id = first
        .ask_second_person(&r, "材料齐全，汇总表核对无误")
        .await;
    // The same again is refused while the first waits.
    let again = first
        .post(
            "/approvals",
            &[("payload", &payload), ("reason", "再次申请")],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("已有待复核的申请"), "{}", again.body);

    // Not by the requester; not by a national clerk (wrong role); not by the province's
    // own reviewer (no scope over the national level's decision).
    let own = first.approve_request(id).await;
    assert_eq!(own.status, StatusCode::CONFLICT);
    assert!(own.body.contains("不能复核自己提出的申请"), "{}", own.body);
    let clerk = app.login_as(Role::Clerk, root, None).await;
    assert_eq!(
        clerk.approve_request(id).await.status,
        StatusCode::FORBIDDEN
    );
    let province = app.login_as(Role::Reviewer, p.province, None).await;
    assert_eq!(
        province.approve_request(id).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!province.get("/approvals").await.body.contains("材料齐全"));
    assert_eq!(
        package_state(&app, p.province).await,
        PackageState::Submitted
    );

    // A second national reviewer sees it waiting and approves: accepted, by them.
    let second = app.login_as(Role::Reviewer, root, None).await;
    let waiting = second.get("/approvals").await;
    assert!(
        waiting.body.contains("全国接收省级报送材料"),
        "{}",
        waiting.body
    );
    assert!(waiting.body.contains("材料齐全，汇总表核对无误"));
    let r = second.approve_request(id).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        package_state(&app, p.province).await,
        PackageState::Accepted
    );
    assert!(first.get("/approvals").await.body.contains("已同意并执行"));
    assert_eq!(app.audit("approval.request").await.len(), 1);
    assert_eq!(app.audit("approval.approve").await.len(), 1);
    let accepted: Vec<_> = app
        .audit("package.accept")
        .await
        .into_iter()
        .filter(|e| e.target_id == p.province.0.to_string())
        .collect();
    assert_eq!(accepted.len(), 1);
    assert_ne!(
        accepted[0].actor_username, "quanguo",
        "done as the approver"
    );
    // Deciding it again is refused.
    let twice = second.approve_request(id).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert!(twice.body.contains("已经处理"), "{}", twice.body);
}

#[tokio::test]
async fn a_request_approved_after_its_target_changed_is_refused() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let root = app.root().await;
    app.finish_subtree(p.province).await;
    let v = app.package_version(p.province).await;
    let first = app.login_demo("quanguo").await;
    let r = first
        .post(
            &format!("/orgs/{}/package/accept", p.province.0),
            &[("version", &v.to_string())],
        )
        .await;
    let id = first.ask_second_person(&r, "材料齐全").await;
    // Meanwhile the package goes back and comes again as a new version.
    app.services
        .package()
        .send_back(OP, p.province, v, "附件3缺书记签名")
        .await
        .unwrap();
    app.services
        .package()
        .submit(OP, p.province, &input())
        .await
        .unwrap();
    let second = app.login_as(Role::Reviewer, root, None).await;
    let r = second.approve_request(id).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("本申请已失效"), "{}", r.body);
    assert_eq!(
        package_state(&app, p.province).await,
        PackageState::Submitted
    );
    assert!(first.get("/approvals").await.body.contains("已失效"));
    assert_eq!(app.audit("approval.stale").await.len(), 1);
    assert!(
        !app.audit("package.accept")
            .await
            .iter()
            .any(|e| e.target_id == p.province.0.to_string())
    );

    // Refusing needs a reason; the requester can withdraw a request of their own.
    let v = app.package_version(p.province).await - 1;
    let r = first
        .post(
            &format!("/orgs/{}/package/accept", p.province.0),
            &[("version", &(v + 1).to_string())],
        )
        .await;
    let id = first.ask_second_person(&r, "重新报送后材料齐全").await;
    let r = second
        .post(&format!("/approvals/{id}/refuse"), &[("note", "")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = second
        .post(
            &format!("/approvals/{id}/refuse"),
            &[("note", "请先核对汇总表")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        first
            .get("/approvals")
            .await
            .body
            .contains("请先核对汇总表")
    );
    let r = first
        .post(
            &format!("/orgs/{}/package/accept", p.province.0),
            &[("version", &(v + 1).to_string())],
        )
        .await;
    let id = first.ask_second_person(&r, "已核对").await;
    assert_eq!(
        second
            .post(&format!("/approvals/{id}/withdraw"), &[])
            .await
            .status,
        StatusCode::NOT_FOUND,
        "only the requester withdraws"
    );
    let r = first.post(&format!("/approvals/{id}/withdraw"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!second.get("/approvals").await.body.contains("已核对"));
}

/// A valid ID number and licence for the `n`th imported lawyer (more than a thousand).
fn many_rows(firm: &str, n: u32) -> Vec<Vec<String>> {
    (0..n)
        .map(|i| {
            let mut r = row(firm, 1);
            let birth = time::macros::date!(1930 - 01 - 01) + time::Duration::days(i64::from(i));
            let body = format!(
                "110101{}{:03}",
                birth
                    .format(time::macros::format_description!("[year][month][day]"))
                    .unwrap(),
                1 + i % 500
            );
            r[1] = format!("林{i}");
            r[2] = format!(
                "{body}{}",
                dengji::domain::citizen_id::check_char(body.as_bytes())
            );
            r[9] = format!("1110120051{i:07}");
            r
        })
        .collect()
}

#[tokio::test]
async fn undoing_a_large_import_and_disabling_or_making_an_administrator_need_a_second_person() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let firm = app.firm_of(p.firm_org).await.credit_code;
    let members = count(&app, "SELECT COUNT(*) FROM members").await;
    let done = run(
        &app,
        p.city,
        &Book::new(many_rows(&firm, 1001)).bytes(),
        Mode::AllOrNothing,
    )
    .await;
    let batch = done.batch_id.expect("imported");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM members").await,
        members + 1001
    );
    let clerk = app.login_demo("shi").await;
    let r = clerk
        .post(
            &format!("/imports/{batch}/undo"),
            &[("org", &p.city.0.to_string())],
        )
        .await;
    let id = clerk
        .ask_second_person(&r, "导错了律所，撤销后重新导入")
        .await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM members").await,
        members + 1001
    );
    let reviewer = app.login_demo("shi_shenhe").await;
    let r = reviewer.approve_request(id).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM members").await, members);

    // Disabling an administrator: asked by one, done by another administrator.
    let admin = app.login_demo("admin").await;
    let target = app.user("sheng_admin").await.id.0;
    let r = admin.post(&format!("/users/{target}/disable"), &[]).await;
    let id = admin.ask_second_person(&r, "该同志已调离").await;
    assert!(!app.user("sheng_admin").await.disabled);
    let root = app.root().await;
    let second = app.login_as(Role::Admin, root, None).await;
    let r = second.approve_request(id).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(app.user("sheng_admin").await.disabled);

    // A new administrator account waits, disabled, for a second administrator.
    let r = admin
        .post(
            "/users",
            &[
                ("username", "xin_guanli"),
                ("display_name", "新管理员"),
                ("password", "Guanli2026ab"),
                ("role", "admin"),
                ("org", &p.province.0.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(app.user("xin_guanli").await.disabled);
    let waiting = second.get("/approvals").await;
    assert!(
        waiting.body.contains("启用管理员账号 xin_guanli"),
        "{}",
        waiting.body
    );
    let id: i64 = waiting
        .body
        .split("action=\"/approvals/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    assert_eq!(admin.approve_request(id).await.status, StatusCode::CONFLICT);
    let r = second.approve_request(id).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(!app.user("xin_guanli").await.disabled);
}

#[tokio::test]
async fn a_name_or_id_number_corrected_after_approval_needs_a_second_person() {
    let app = TestApp::spawn().await;
    let (_, filed) = app.ready_firm().await;
    let m = filed[0];
    app.services
        .review()
        .send_back(OP, m, "incorrect", "公民身份号码有误")
        .await
        .unwrap();
    let clerk = app.login_demo("suo").await;
    let path = format!("/members/{}/registration", m.0);
    let page = clerk.get(&path).await;
    assert!(
        page.body.contains("申请更正姓名或公民身份号码"),
        "{}",
        page.body
    );
    let new_id = crate::helpers::fresh_id(777);

    // Typed into the form itself, a new ID number is refused with the way to go.
    let mut form = crate::helpers::inputs_of(&page.body);
    let version = page
        .body
        .split("name=\"version\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    form.push(("version".into(), version));
    form.push(("citizen_id".into(), new_id.clone()));
    form.push(("step".into(), "save".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = clerk.post(&path, &pairs).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("只能经双人复核更正"), "{}", r.body);

    // A wrong number in the request is named; a good one is asked for with a reason.
    let ask = format!("/members/{}/identity", m.0);
    let r = clerk
        .post(
            &ask,
            &[
                ("citizen_id", "110105194912310021"),
                ("reason", "身份证复印件核对"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("公民身份号码"), "{}", r.body);
    let r = clerk
        .post(
            &ask,
            &[
                ("name", "林更正"),
                ("citizen_id", &new_id),
                ("reason", "身份证复印件核对"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let before = app.services.registration().view(OP, m).await.unwrap();
    assert_ne!(
        before.values.get("name").map(String::as_str),
        Some("林更正")
    );
    // The full number is nowhere in the request as stored, nor on the approver's page.
    let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM approvals")
        .fetch_all(app.services.db.pool())
        .await
        .unwrap();
    assert!(
        payloads.iter().all(|p| !p.contains(&new_id)),
        "{payloads:?}"
    );
    let reviewer = app.login_demo("suo_shenhe").await;
    let waiting = reviewer.get("/approvals").await;
    assert!(
        waiting.body.contains("姓名改为“林更正”"),
        "{}",
        waiting.body
    );
    assert!(!waiting.body.contains(&new_id));
    let id: i64 = waiting
        .body
        .split("action=\"/approvals/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    let own = clerk.approve_request(id).await;
    assert!(own.body.contains("不能复核自己提出的申请"), "{}", own.body);
    let r = reviewer.approve_request(id).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let after = app.services.registration().view(OP, m).await.unwrap();
    assert_eq!(after.values.get("name").map(String::as_str), Some("林更正"));
    let masked = dengji::domain::CitizenId::parse(&new_id, dengji::service::beijing_today())
        .unwrap()
        .masked();
    assert_eq!(after.citizen_id_masked, masked);
    assert_eq!(app.audit("registration.identity").await.len(), 1);
}
