//! 摸底核查: the firm organisation records the four check points and, for members whose
//! membership is not transferred in, the reason and the 分类处理 case.

use axum::http::StatusCode;

use crate::helpers::{TestApp, count, demo_places};

#[tokio::test]
async fn firm_records_checks_and_the_counts_follow() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let members: Vec<i64> = app
        .members_of(p.firm_org)
        .await
        .into_iter()
        .map(|m| m.0)
        .collect();
    assert!(members.len() >= 3);
    let clerk = app.login_demo("suo").await;
    let path = format!("/orgs/{}/survey", p.firm_org.0);
    let page = clerk.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("摸底核查"));
    assert!(
        page.body
            .contains(&format!("id=\"c-unchecked\">{}<", members.len()))
    );

    let (a, b) = (members[0].to_string(), members[1].to_string());
    let r = clerk
        .post(
            &path,
            &[
                ("member", &a),
                ("basic_ok", "1"),
                ("transfer_ok", "1"),
                ("dues_ok", "1"),
                ("life_ok", "1"),
                ("transferred", "in"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Not transferred: the case and the reason are required.
    let r = clerk
        .post(&path, &[("member", &b), ("transferred", "not_in")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("问题类别：未转入的党员须选择分类处理类别"));
    assert!(r.body.contains("未转入原因：未转入的党员须写明原因"));
    let r = clerk
        .post(
            &path,
            &[
                ("member", &b),
                ("basic_ok", "1"),
                ("transferred", "not_in"),
                ("case", "1"),
                ("reason", "组织关系仍在原单位"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = clerk
        .post(
            &path,
            &[("member", &a), ("transferred", "in"), ("case", "3")],
        )
        .await;
    assert!(r.body.contains("已转入的党员不应选择分类处理类别"));

    let page = clerk.get(&path).await;
    assert!(page.body.contains("id=\"c-complete\">1<"));
    assert!(page.body.contains("id=\"c-in\">1<"));
    assert!(page.body.contains("id=\"c-not-in\">1<"));
    assert!(
        page.body
            .contains(&format!("id=\"c-unchecked\">{}<", members.len() - 2))
    );
    assert!(page.body.contains("第1类 1 人"));
    // Recorded in the audit log.
    let n: i64 = app.audit("survey.record").await.len() as i64;
    assert_eq!(n, 2);
}

#[tokio::test]
async fn survey_is_scoped_and_read_only_for_auditors() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let member = app.members_of(p.firm_org).await[0].0;
    let path = format!("/orgs/{}/survey", p.firm_org.0);
    let outsider = app
        .login_as(dengji::domain::Role::Clerk, p.other_city, None)
        .await;
    assert_eq!(outsider.get(&path).await.status, StatusCode::NOT_FOUND);
    let m = member.to_string();
    let r = outsider
        .post(&path, &[("member", &m), ("transferred", "in")])
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "a member outside the subtree"
    );
    let auditor = app.login_demo("auditor").await;
    let page = auditor.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.body.contains("name=\"transferred\""),
        "no forms for a read-only auditor"
    );
    let r = auditor
        .post(&path, &[("member", &m), ("transferred", "in")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let n: i64 = count(&app, "SELECT COUNT(*) FROM survey_checks").await;
    assert_eq!(n, 0);
}

#[tokio::test]
async fn a_member_left_six_months_ago_is_not_registered() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let member = app.registrable_lawyers_at(p.firm_org).await[0].0;
    let clerk = app.login_demo("suo").await;
    let m = member.to_string();
    let r = clerk
        .post(
            &format!("/orgs/{}/survey", p.firm_org.0),
            &[
                ("member", &m),
                ("transferred", "not_in"),
                ("case", "4"),
                ("reason", "2018年1月离职出国"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let form = clerk.get(&format!("/members/{member}/registration")).await;
    assert!(form.body.contains("分类处理第4类"), "{}", form.body);
    assert!(form.body.contains("不再登记"));
}
