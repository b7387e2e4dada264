//! Review at the firm organisation: approve with a digest, return with a reason, see what the
//! member changed, bulk approval all-or-nothing.

use axum::http::StatusCode;

use dengji::domain::{MemberId, RegistrationState, Role};
use dengji::service::Caller;
use dengji::service::campaign::Deadlines;

use crate::helpers::{TestApp, demo_places};

/// Submit a complete form for `member` as the firm's clerk (代填, confirmed by phone).
pub(crate) async fn submit_for(app: &TestApp, member: i64) {
    let clerk = app.login_demo("suo").await;
    let page = clerk.get(&format!("/members/{member}/registration")).await;
    let mut form = crate::helpers::inputs_of(&page.body);
    form.extend(crate::helpers::completion());
    form.push(("version".into(), "0".into()));
    form.push(("step".into(), "submit".into()));
    form.push(("proxy_method".into(), "phone".into()));
    form.push(("warnings_note".into(), "已核实".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = clerk
        .post(&format!("/members/{member}/registration"), &pairs)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

async fn lawyers(app: &TestApp, n: i64) -> Vec<i64> {
    let p = demo_places(app).await;
    let ids = app.registrable_lawyers_at(p.firm_org).await;
    ids.into_iter().take(n as usize).map(|m| m.0).collect()
}

#[tokio::test]
async fn return_then_resubmit_shows_the_changes_then_approve_with_digest() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let member = lawyers(&app, 1).await[0];
    submit_for(&app, member).await;
    let reviewer = app.login_demo("suo_shenhe").await;
    let page = reviewer
        .get(&format!("/members/{member}/registration"))
        .await;
    assert!(page.body.contains("id=\"review-panel\""));
    // A return needs a reason and a note.
    let r = reviewer
        .post(
            &format!("/members/{member}/return"),
            &[("reason", ""), ("note", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("退回原因：请选择退回原因"));
    let r = reviewer
        .post(
            &format!("/members/{member}/return"),
            &[
                ("reason", "incorrect"),
                ("note", "手机号码请填写本人常用号码"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.form_state(MemberId(member)).await,
        RegistrationState::Returned
    );

    // The member sees the return and its reason, corrects and resubmits.
    let me = app
        .login_as(Role::Member, p.firm_org, Some(MemberId(member)))
        .await;
    let page = me.get(&format!("/members/{member}/registration")).await;
    assert!(
        page.body
            .contains("退回原因：信息有误：手机号码请填写本人常用号码"),
        "{}",
        page.body
    );
    let mut form = crate::helpers::inputs_of(&page.body);
    form.retain(|(k, _)| k != "f_mobile");
    form.push(("f_mobile".into(), "13700001111".into()));
    let version = page
        .body
        .split("name=\"version\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    form.push(("version".into(), version));
    form.push(("step".into(), "submit".into()));
    form.push(("confirm".into(), "1".into()));
    form.push(("warnings_note".into(), "已核实".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = me
        .post(&format!("/members/{member}/registration"), &pairs)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // The reviewer sees exactly what changed since the return.
    let page = reviewer
        .get(&format!("/members/{member}/registration"))
        .await;
    assert!(page.body.contains("退回后修改的栏目"));
    assert!(
        page.body.contains("<td>手机号码</td>") && page.body.contains("<td>13700001111</td>"),
        "{}",
        page.body
    );
    let r = reviewer
        .post(&format!("/members/{member}/approve"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = me.get(&format!("/members/{member}/registration")).await;
    assert!(
        page.body.contains("审核盖章：律所党组织书记（审核人，"),
        "{}",
        page.body
    );
    assert!(page.body.contains("已审核通过"));
    // The digest is of exactly the approved content.
    let (digest, data): (String, String) = sqlx::query_as(
        "SELECT v.digest, r.data FROM registration_reviews v JOIN registrations r ON r.id = v.registration_id \
         WHERE v.decision = 'approve'",
    )
    .fetch_one(app.services.db.pool())
    .await
    .unwrap();
    assert_eq!(digest.len(), 64);
    assert!(data.contains("13700001111"));
    // Approving again, or approving what was just returned, is a clear conflict.
    let r = reviewer
        .post(&format!("/members/{member}/approve"), &[])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("只有已提交的登记表才能审核"));
}

#[tokio::test]
async fn bulk_approval_is_all_or_nothing_and_only_for_reviewers() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let ids = lawyers(&app, 3).await;
    submit_for(&app, ids[0]).await;
    submit_for(&app, ids[1]).await;
    // ids[2] never submitted.
    let reviewer = app.login_demo("suo_shenhe").await;
    let queue = reviewer
        .get(&format!("/orgs/{}/reviews", p.firm_org.0))
        .await;
    assert!(queue.body.contains("共 2 份"));
    let (a, b, c) = (ids[0].to_string(), ids[1].to_string(), ids[2].to_string());
    let r = reviewer
        .post(
            &format!("/orgs/{}/reviews", p.firm_org.0),
            &[("member", &a), ("member", &b), ("member", &c)],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("尚未提交登记表，不能审核"), "{}", r.body);
    assert_eq!(
        app.form_state(MemberId(ids[0])).await,
        RegistrationState::Submitted,
        "nothing approved"
    );
    let clerk = app.login_demo("suo").await;
    let r = clerk
        .post(
            &format!("/orgs/{}/reviews", p.firm_org.0),
            &[("member", &a)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "clerks do not approve");
    let r = reviewer
        .post(
            &format!("/orgs/{}/reviews", p.firm_org.0),
            &[("member", &a), ("member", &b)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.form_state(MemberId(ids[0])).await,
        RegistrationState::Approved
    );
    assert_eq!(
        app.form_state(MemberId(ids[1])).await,
        RegistrationState::Approved
    );
    let outsider = app.login_as(Role::Reviewer, p.other_city, None).await;
    let r = outsider
        .post(&format!("/members/{}/approve", ids[0]), &[])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_city_cockpit_shows_each_firm_organisations_progress_and_overdue() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let ids = lawyers(&app, 2).await;
    submit_for(&app, ids[0]).await;
    submit_for(&app, ids[1]).await;
    let reviewer = app.login_demo("suo_shenhe").await;
    let a = ids[0].to_string();
    reviewer
        .post(
            &format!("/orgs/{}/reviews", p.firm_org.0),
            &[("member", &a)],
        )
        .await;
    let total = app.members_of(p.firm_org).await.len() as i64;
    // The notice's own 2018 deadlines: long past.
    app.services
        .campaign()
        .set_deadlines(
            Caller::Operator,
            &Deadlines {
                firm: "2018-08-31".into(),
                city: "2018-09-30".into(),
                province: "2018-10-31".into(),
                national: "2018-11-30".into(),
            },
        )
        .await
        .unwrap();
    let city = app.login_demo("shi").await;
    let page = city.get(&format!("/orgs/{}/cockpit", p.city.0)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("下级完成时限：2018-08-31（已过期"),
        "{}",
        page.body
    );
    let row_start = page
        .body
        .find(&format!("/orgs/{}/cockpit", p.firm_org.0))
        .expect("firm row");
    let row = &page.body[row_start
        ..page.body[row_start..]
            .find("</tr>")
            .map_or(page.body.len(), |e| row_start + e)];
    assert!(row.contains("待审核") && row.contains("逾期"), "{row}");
    let numbers: Vec<&str> = row
        .split("<td class=\"num\">")
        .skip(1)
        .map(|c| c.split('<').next().unwrap())
        .collect();
    assert_eq!(numbers[0], total.to_string(), "members");
    assert_eq!(numbers[1], (total - 2).to_string(), "not started");
    assert_eq!(numbers[3], "1", "waiting for review");
    assert_eq!(numbers[5], "1", "approved");
    let outsider = app.login_as(Role::Clerk, p.other_city, None).await;
    assert_eq!(
        outsider
            .get(&format!("/orgs/{}/cockpit", p.city.0))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
