//! The review chain end to end: records approved at the firm, packages submitted upward,
//! accepted or returned (whole or one record), deadlines, extensions, overdue, the inbox, the
//! summary tables, and each conflict the issue names.

use axum::http::StatusCode;

use dengji::domain::{MemberId, OrgId, PackageState, RegistrationState, Role};
use dengji::service::campaign::Deadlines;
use dengji::service::{Caller, Refusal, ServiceError};

use crate::helpers::{Client, TestApp, count, demo_places, input};

const OP: Caller<'static> = Caller::Operator;

async fn post_ok(c: &Client, path: &str, form: &[(&str, &str)]) {
    let r = c.post(path, form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}: {}", r.body);
}

fn submit_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("secretary_name", "王强"),
        ("organiser_name", "李明"),
        ("contact_phone", "010-12345678"),
        ("missing_note", ""),
    ]
}

/// A second firm organisation in the demo city with one registrable lawyer.
async fn second_firm(app: &TestApp, city: OrgId) -> (OrgId, MemberId) {
    let built = app.firm_org(city).with_members(1).build().await;
    assert_eq!(app.member(built.members[0]).await.firm_id, built.firm);
    (built.org, built.members[0])
}

#[tokio::test]
async fn the_whole_campaign_from_members_to_the_national_committee() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let pool = app.services.db.pool();
    let (firm2, wrong) = second_firm(&app, p.city).await;
    let firm2_clerk = app.login_as(Role::Clerk, firm2, None).await;

    // Members file. The demo member files their own form in the browser-less client; the
    // rest of the firm is filed on their behalf.
    let member = app.login_demo("dangyuan").await;
    let page = member
        .get(&format!("/members/{}/registration", p.member.0))
        .await;
    let mut form = crate::helpers::inputs_of(&page.body);
    form.extend(crate::helpers::completion());
    form.push(("version".into(), "0".into()));
    form.push(("step".into(), "submit".into()));
    form.push(("confirm".into(), "1".into()));
    form.push(("warnings_note".into(), "已核实".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    post_ok(
        &member,
        &format!("/members/{}/registration", p.member.0),
        &pairs,
    )
    .await;
    let mut firm1_filed = vec![p.member];
    for m in app.members_of(p.firm_org).await {
        if m != p.member && app.file_member(m, None).await {
            firm1_filed.push(m);
        }
    }
    // The firm's reviewer was told, and approves them all at once.
    let reviewer = app.login_demo("suo_shenhe").await;
    assert!(
        reviewer
            .get("/inbox")
            .await
            .body
            .contains("提交了登记表，待审核")
    );
    let ids: Vec<String> = firm1_filed.iter().map(|m| m.0.to_string()).collect();
    let form: Vec<(&str, &str)> = ids.iter().map(|i| ("member", i.as_str())).collect();
    post_ok(&reviewer, &format!("/orgs/{}/reviews", p.firm_org.0), &form).await;
    for m in &firm1_filed {
        assert_eq!(app.form_state(*m).await, RegistrationState::Approved);
    }

    // The firm's clerk files 附件3 and submits the package, naming the responsible people.
    app.file_a3(p.firm_org).await;
    let clerk = app.login_demo("suo").await;
    post_ok(
        &clerk,
        &format!("/orgs/{}/package", p.firm_org.0),
        &submit_form(),
    )
    .await;
    assert_eq!(
        app.package_state(p.firm_org).await,
        Some(PackageState::Submitted)
    );
    // Submitting twice is refused and changes nothing.
    let again = clerk
        .post(&format!("/orgs/{}/package", p.firm_org.0), &submit_form())
        .await;
    assert!(again.body.contains("不能重复报送"), "{}", again.body);
    assert_eq!(app.package_version(p.firm_org).await, 1);

    // The second firm completes and submits too; so do the city's other children.
    app.finish_own(firm2).await;
    app.services
        .package()
        .submit(OP, firm2, &input())
        .await
        .unwrap();
    let city_reviewer = app.login_demo("shi_shenhe").await;
    assert!(
        city_reviewer
            .get("/inbox")
            .await
            .body
            .contains("已报送登记核查材料，请审核接收")
    );
    let others: Vec<OrgId> = app
        .children_of(p.city)
        .await
        .into_iter()
        .filter(|c| *c != p.firm_org && *c != firm2)
        .collect();
    for c in &others {
        app.finish_subtree(*c).await;
        let v = app.package_version(*c).await;
        app.services.package().accept(OP, *c, v).await.unwrap();
    }

    // The city accepts the demo firm and returns one record of the second firm.
    let v = app.package_version(p.firm_org).await.to_string();
    post_ok(
        &city_reviewer,
        &format!("/orgs/{}/package/accept", p.firm_org.0),
        &[("version", &v)],
    )
    .await;
    assert_eq!(
        app.package_state(p.firm_org).await,
        Some(PackageState::Accepted)
    );
    post_ok(
        &city_reviewer,
        &format!("/members/{}/return", wrong.0),
        &[("reason", "incorrect"), ("note", "手机号码有误，请核对")],
    )
    .await;
    assert_eq!(app.form_state(wrong).await, RegistrationState::Returned);
    // The return reached the node that can fix it: the firm's package is open again and its
    // staff and the member were told.
    assert_eq!(app.package_state(firm2).await, Some(PackageState::Returned));
    let home = firm2_clerk.get("/").await;
    assert!(
        home.body.contains("id=\"unread-count\""),
        "count in the header"
    );
    let inbox = firm2_clerk.get("/inbox").await;
    assert!(
        inbox.body.contains("上级退回了党员") && inbox.body.contains("手机号码有误"),
        "{}",
        inbox.body
    );
    let package_page = firm2_clerk.get(&format!("/orgs/{}/package", firm2.0)).await;
    assert!(package_page.body.contains("被上级退回"));
    // Accepted data is locked: the demo firm cannot change its 附件3 now.
    let view = app
        .services
        .org_registration()
        .view(OP, p.firm_org)
        .await
        .unwrap();
    let locked = app
        .services
        .org_registration()
        .save(OP, p.firm_org, view.values.clone(), view.version)
        .await;
    assert!(
        matches!(
            &locked,
            Err(ServiceError::Conflict(Refusal::Locked(
                PackageState::Accepted
            )))
        ),
        "{locked:?}"
    );

    // The city cannot submit while the second firm is out, unless it says why.
    let city_clerk = app.login_demo("shi").await;
    app.finish_own(p.city).await;
    let r = city_clerk
        .post(&format!("/orgs/{}/package", p.city.0), &submit_form())
        .await;
    assert!(r.body.contains("材料尚不完整"), "{}", r.body);
    let firm2_name = app.org(firm2).await.name;
    assert!(r.body.contains(&firm2_name), "names the missing child");
    assert_eq!(app.package_state(p.city).await, None);

    // The firm fixes the record and resubmits; the city accepts.
    assert!(app.file_member(wrong, Some("13912345678")).await);
    app.services.review().approve(OP, &[wrong]).await.unwrap();
    app.services
        .package()
        .submit(OP, firm2, &input())
        .await
        .unwrap();
    let v = app.package_version(firm2).await.to_string();
    post_ok(
        &city_reviewer,
        &format!("/orgs/{}/package/accept", firm2.0),
        &[("version", &v)],
    )
    .await;

    // The city submits complete (no note needed) and the province accepts.
    post_ok(
        &city_clerk,
        &format!("/orgs/{}/package", p.city.0),
        &submit_form(),
    )
    .await;
    let province_reviewer = app.login_as(Role::Reviewer, p.province, None).await;
    let v = app.package_version(p.city).await.to_string();
    post_ok(
        &province_reviewer,
        &format!("/orgs/{}/package/accept", p.city.0),
        &[("version", &v)],
    )
    .await;
    for c in app.children_of(p.province).await {
        if c != p.city {
            app.finish_subtree(c).await;
            let v = app.package_version(c).await;
            app.services.package().accept(OP, c, v).await.unwrap();
        }
    }
    app.finish_own(p.province).await;
    app.services
        .package()
        .submit(OP, p.province, &input())
        .await
        .unwrap();

    // The national committee receives every province and accepts them.
    let root = app.root().await;
    // Accepting a province takes two national reviewers (双人复核).
    let national = app.login_demo("quanguo").await;
    let v = app.package_version(p.province).await.to_string();
    let r = national
        .post(
            &format!("/orgs/{}/package/accept", p.province.0),
            &[("version", &v)],
        )
        .await;
    let request = national
        .ask_second_person(&r, "材料齐全，汇总表核对无误")
        .await;
    let second = app.login_as(Role::Reviewer, root, None).await;
    let r = second.approve_request(request).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for c in app.children_of(root).await {
        if c != p.province {
            app.finish_subtree(c).await;
            let v = app.package_version(c).await;
            app.services.package().accept(OP, c, v).await.unwrap();
        }
    }
    app.finish_own(root).await;
    let view = app.services.package().view(OP, root).await.unwrap();
    assert!(
        view.readiness.missing.is_empty(),
        "the national package is complete: {:?}",
        view.readiness.missing
    );
    assert!(
        view.readiness
            .children
            .iter()
            .all(|(_, p)| p.as_ref().is_some_and(|p| p.state.is_accepted()))
    );

    // The national 附件6 statistics count every registrable member as approved.
    let registrable: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM registrations WHERE state = 'approved'")
            .fetch_one(pool)
            .await
            .unwrap();
    let members: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members")
        .fetch_one(pool)
        .await
        .unwrap();
    let table = app
        .services
        .summary()
        .table(OP, root, "A6", 1)
        .await
        .unwrap();
    let stats = table.stats.expect("statistics block");
    assert_eq!(stats.approved, registrable);
    assert_eq!(stats.members(), members);
    let page = national.get(&format!("/orgs/{}/summary/a6", root.0)).await;
    assert!(page.body.contains("党组织信息汇总表"));
    assert!(
        page.body
            .contains(&format!("id=\"stat-approved\">{registrable}<"))
    );

    // The 司法行政机关党组织 standing in for a city committee did exactly the city's job.
    let judicial: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM packages p JOIN orgs o ON o.id = p.org_id \
         WHERE o.kind = 'judicial_org' AND p.state = 'accepted'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let judicial_nodes: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM orgs WHERE kind = 'judicial_org'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert!(judicial_nodes > 0, "the demo has judicial organisations");
    assert_eq!(judicial, judicial_nodes);

    // The tallies behind the statistics agree with a full recount (what `dengji check` runs).
    let mut conn = app.services.db.acquire().await.unwrap();
    for f in dengji::store::check::run(&mut conn).await.unwrap() {
        assert_eq!(f.violations, 0, "{}", f.name);
    }
    drop(conn);

    // Every step is in the audit log.
    for action in ["package.submit", "package.accept", "registration.return"] {
        let n: i64 = app.audit(action).await.len() as i64;
        assert!(n > 0, "{action} audited");
    }
}

#[tokio::test]
async fn approving_a_record_that_was_just_returned_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let m = p.member;
    assert!(app.file_member(m, None).await);
    let reviewer = app.login_demo("suo_shenhe").await;
    post_ok(
        &reviewer,
        &format!("/members/{}/return", m.0),
        &[("reason", "incomplete"), ("note", "请补充党费缴纳情况")],
    )
    .await;
    // A second reviewer's page was open before the return; their approval now fails.
    let r = app.services.review().approve(OP, &[m]).await;
    assert!(
        matches!(
            &r,
            Err(ServiceError::Conflict(Refusal::WrongState {
                state: RegistrationState::Returned,
                ..
            }))
        ),
        "{r:?}"
    );
    assert_eq!(app.form_state(m).await, RegistrationState::Returned);
    let approvals = count(
        &app,
        "SELECT COUNT(*) FROM registration_reviews WHERE decision = 'approve'",
    )
    .await;
    assert_eq!(approvals, 0);
    // The member was told, with the reason.
    let member = app.login_demo("dangyuan").await;
    let inbox = member.get("/inbox").await;
    assert!(inbox.body.contains("请补充党费缴纳情况"), "{}", inbox.body);
}

#[tokio::test]
async fn a_reviewer_cannot_approve_their_own_form() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let own = app
        .members_of(p.firm_org)
        .await
        .into_iter()
        .find(|m| *m != p.member)
        .unwrap();
    assert!(app.file_member(own, None).await);
    let secretary = app.login_as(Role::Reviewer, p.firm_org, Some(own)).await;
    let page = secretary
        .get(&format!("/members/{}/registration", own.0))
        .await;
    assert!(
        !page.body.contains("id=\"approve\""),
        "no approve button on one's own form"
    );
    let r = secretary
        .post(&format!("/members/{}/approve", own.0), &[])
        .await;
    assert!(r.body.contains("不能审核本人的登记表"), "{}", r.body);
    assert_eq!(app.form_state(own).await, RegistrationState::Submitted);
    // Bulk approval containing it is refused as a whole.
    assert!(app.file_member(p.member, None).await);
    let a = own.0.to_string();
    let b = p.member.0.to_string();
    let r = secretary
        .post(
            &format!("/orgs/{}/reviews", p.firm_org.0),
            &[("member", &b), ("member", &a)],
        )
        .await;
    assert!(r.body.contains("不能审核本人的登记表"), "{}", r.body);
    assert_eq!(app.form_state(p.member).await, RegistrationState::Submitted);
}

#[tokio::test]
async fn submitting_after_the_deadline_needs_an_extension_and_lateness_is_recorded() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (firm, _) = app.ready_firm().await;
    let today = dengji::service::beijing_today();
    let day = |n: i64| (today + time::Duration::days(n)).to_string();
    // Two days before the deadline, the firm's staff get one reminder.
    app.services
        .campaign()
        .set_deadlines(
            OP,
            &Deadlines {
                firm: day(2),
                city: day(20),
                province: day(40),
                national: day(60),
            },
        )
        .await
        .unwrap();
    app.services.package().sweep_deadlines().await.unwrap();
    app.services.package().sweep_deadlines().await.unwrap();
    let clerk = app.login_demo("suo").await;
    let inbox = clerk.get("/inbox").await;
    assert_eq!(
        inbox.body.matches("报送截止日期临近").count(),
        1,
        "{}",
        inbox.body
    );
    app.services
        .campaign()
        .set_deadlines(
            OP,
            &Deadlines {
                firm: day(-3),
                city: day(20),
                province: day(40),
                national: day(60),
            },
        )
        .await
        .unwrap();
    let clerk = app.login_demo("suo").await;
    let r = clerk
        .post(&format!("/orgs/{}/package", firm.0), &submit_form())
        .await;
    assert!(
        r.body
            .contains(&format!("已超过报送截止日期（{}）", day(-3))),
        "{}",
        r.body
    );
    assert_eq!(app.package_state(firm).await, None);
    // Overdue is recorded against the node, and the parent's cockpit shows it.
    let marks = app
        .services
        .package()
        .view(OP, firm)
        .await
        .unwrap()
        .overdue_marks;
    assert_eq!(marks, vec![day(-3)]);
    let city = app.login_demo("shi_shenhe").await;
    let cockpit = city.get(&format!("/orgs/{}/cockpit", p.city.0)).await;
    let row = cockpit
        .body
        .split(&format!("data-org=\"{}\"", firm.0))
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .unwrap()
        .to_owned();
    assert!(row.contains("逾期"), "{row}");
    // The sweep tells the firm's staff, once.
    app.services.package().sweep_deadlines().await.unwrap();
    app.services.package().sweep_deadlines().await.unwrap();
    let notices: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications n JOIN users u ON u.id = n.user_id \
         WHERE n.kind = 'overdue' AND u.username = 'suo'",
    )
    .fetch_one(app.services.db.pool())
    .await
    .unwrap();
    assert_eq!(notices, 1);

    // Only the parent may extend; a bad date or no reason is refused.
    let outsider = app.login_as(Role::Reviewer, p.other_city, None).await;
    let r = outsider
        .post(
            &format!("/orgs/{}/extension", firm.0),
            &[("until", &day(5)), ("reason", "律所主任出差")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = city
        .post(
            &format!("/orgs/{}/extension", firm.0),
            &[("until", "2018-13-01"), ("reason", "律所主任出差")],
        )
        .await;
    assert!(
        r.body.contains("延期至：请按 年-月-日 填写日期"),
        "{}",
        r.body
    );
    post_ok(
        &city,
        &format!("/orgs/{}/extension", firm.0),
        &[("until", &day(5)), ("reason", "律所主任出差，材料需补签")],
    )
    .await;
    // Now the firm can submit; the package records how late it is.
    post_ok(&clerk, &format!("/orgs/{}/package", firm.0), &submit_form()).await;
    let package = app.services.package().view(OP, firm).await.unwrap().package;
    let late = package.expect("package").late_days;
    assert_eq!(late, 3);
    let page = city.get(&format!("/orgs/{}/package", firm.0)).await;
    assert!(page.body.contains("晚于本级截止日期 3 天"), "{}", page.body);
    assert!(page.body.contains("律所主任出差，材料需补签"));
}

#[tokio::test]
async fn a_parent_returning_while_the_child_edits_loses_nothing() {
    let app = TestApp::spawn().await;
    let (firm, _) = app.ready_firm().await;
    // The clerk opens the 附件3 form, then the package goes up.
    let open = app
        .services
        .org_registration()
        .view(OP, firm)
        .await
        .unwrap();
    app.services
        .package()
        .submit(OP, firm, &input())
        .await
        .unwrap();
    // Saving while the package is with the parent is refused, nothing stored.
    let mut edited = open.values.clone();
    edited.insert("contact_name".into(), "张华".into());
    let r = app
        .services
        .org_registration()
        .save(OP, firm, edited.clone(), open.version)
        .await;
    assert!(
        matches!(&r, Err(ServiceError::Conflict(Refusal::Locked(_)))),
        "{r:?}"
    );
    // The parent returns the package meanwhile (with a reason).
    let city = app.login_demo("shi_shenhe").await;
    let v = app.package_version(firm).await.to_string();
    let r = city
        .post(
            &format!("/orgs/{}/package/return", firm.0),
            &[("version", &v), ("reason", "")],
        )
        .await;
    assert!(r.body.contains("请写明退回原因"), "a reason is required");
    post_ok(
        &city,
        &format!("/orgs/{}/package/return", firm.0),
        &[("version", &v), ("reason", "附件3联系人有误，请更正")],
    )
    .await;
    // The decision form the city had open is now stale: a second decision is refused.
    let r = city
        .post(
            &format!("/orgs/{}/package/accept", firm.0),
            &[("version", &v)],
        )
        .await;
    assert!(r.body.contains("请刷新页面"), "{}", r.body);
    assert_eq!(app.package_state(firm).await, Some(PackageState::Returned));
    // The child's edit, made over the version it opened, now goes through: nothing lost.
    app.services
        .org_registration()
        .save(OP, firm, edited, open.version)
        .await
        .unwrap();
    let saved = app
        .services
        .org_registration()
        .view(OP, firm)
        .await
        .unwrap();
    assert_eq!(
        saved.values.get("contact_name").map(String::as_str),
        Some("张华")
    );
    app.services
        .package()
        .submit(OP, firm, &input())
        .await
        .unwrap();
    assert_eq!(app.package_state(firm).await, Some(PackageState::Submitted));
}

#[tokio::test]
async fn acting_on_a_node_outside_the_subtree_or_not_ones_own_is_refused() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (firm, _) = app.ready_firm().await;
    // A clerk of another city cannot see or submit the firm's package.
    let other = app.login_as(Role::Clerk, p.other_city, None).await;
    let r = other.get(&format!("/orgs/{}/package", firm.0)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = other
        .post(&format!("/orgs/{}/package", firm.0), &submit_form())
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The city's clerk may look but cannot submit for the firm.
    let city_clerk = app.login_demo("shi").await;
    let r = city_clerk
        .post(&format!("/orgs/{}/package", firm.0), &submit_form())
        .await;
    assert!(
        r.body.contains("只能由本组织的经办人或审核人报送"),
        "{}",
        r.body
    );
    // A member account cannot submit at all.
    let member = app.login_demo("dangyuan").await;
    let r = member
        .post(&format!("/orgs/{}/package", firm.0), &submit_form())
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The responsible people are required.
    let clerk = app.login_demo("suo").await;
    let r = clerk
        .post(
            &format!("/orgs/{}/package", firm.0),
            &[
                ("secretary_name", ""),
                ("organiser_name", "李明"),
                ("contact_phone", "abc"),
            ],
        )
        .await;
    assert!(
        r.body.contains("第一责任人（书记）：请填写书记姓名"),
        "{}",
        r.body
    );
    assert!(r.body.contains("联系电话："));
    assert_eq!(app.package_state(firm).await, None);
    post_ok(&clerk, &format!("/orgs/{}/package", firm.0), &submit_form()).await;
    // Only the direct parent decides: the province's reviewer is told so.
    let province = app.login_as(Role::Reviewer, p.province, None).await;
    let v = app.package_version(firm).await.to_string();
    let r = province
        .post(
            &format!("/orgs/{}/package/accept", firm.0),
            &[("version", &v)],
        )
        .await;
    assert!(
        r.body.contains("只能由直接上级党组织的审核人"),
        "{}",
        r.body
    );
    assert_eq!(app.package_state(firm).await, Some(PackageState::Submitted));
}

#[tokio::test]
async fn accepted_data_is_locked_and_changes_after_acceptance_are_counted() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (firm, filed) = app.ready_firm().await;
    app.services
        .package()
        .submit(OP, firm, &input())
        .await
        .unwrap();
    let v = app.package_version(firm).await;
    app.services.package().accept(OP, firm, v).await.unwrap();
    // The firm's own reviewer can no longer return an accepted record.
    let reviewer = app.login_demo("suo_shenhe").await;
    let r = reviewer
        .post(
            &format!("/members/{}/return", filed[0].0),
            &[("reason", "incorrect"), ("note", "想改一下")],
        )
        .await;
    assert!(r.body.contains("须由上级退回"), "{}", r.body);
    assert_eq!(app.form_state(filed[0]).await, RegistrationState::Approved);
    // A late form at the firm cannot be approved while the package is accepted.
    let late = app
        .members_of(p.firm_org)
        .await
        .into_iter()
        .find(|m| !filed.contains(m));
    if let Some(late) = late
        && app.file_member(late, None).await
    {
        let r = app.services.review().approve(OP, &[late]).await;
        assert!(matches!(r, Err(ServiceError::Conflict(_))), "{r:?}");
    }
    // The city returns one record; the member fixes it; the firm approves and resubmits.
    let city = app.login_demo("shi_shenhe").await;
    post_ok(
        &city,
        &format!("/members/{}/return", filed[0].0),
        &[("reason", "incorrect"), ("note", "手机号码有误")],
    )
    .await;
    assert!(app.file_member(filed[0], Some("13912345678")).await);
    app.services
        .review()
        .approve(OP, &[filed[0]])
        .await
        .unwrap();
    app.services
        .package()
        .submit(OP, firm, &input())
        .await
        .unwrap();
    // Whoever accepted sees the change counted.
    let cockpit = city.get(&format!("/orgs/{}/cockpit", p.city.0)).await;
    assert!(cockpit.body.contains("接收后变更 1 条"), "{}", cockpit.body);
    let page = city.get(&format!("/orgs/{}/package", firm.0)).await;
    assert!(
        page.body.contains("首次接收后又有 1 处变更"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn summary_tables_have_the_header_block_and_count_live() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let _pool = app.services.db.pool();
    let city = app.login_demo("shi").await;
    let mut lawyers = 0;
    for org in std::iter::once(p.city).chain(app.children_of(p.city).await) {
        lawyers += app
            .members_at(org)
            .await
            .iter()
            .filter(|m| m.category == "lawyer")
            .count() as i64;
    }
    let page = city.get(&format!("/orgs/{}/summary/a4", p.city.0)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("律师党员基本信息汇总表"));
    for label in ["填报单位", "填报人", "联系电话", "填报日期", "合计"] {
        assert!(page.body.contains(label), "{label}");
    }
    assert!(
        page.body.contains(&format!("id=\"total\">{lawyers} 人")),
        "{}",
        page.body
    );
    // ID numbers are masked in the table, codes shown as labels.
    assert!(page.body.contains("********"));
    assert!(page.body.contains("未填报"));
    // Live: approving a form shows at once.
    let (_, filed) = app.ready_firm().await;
    let page = city.get(&format!("/orgs/{}/summary/a6", p.city.0)).await;
    assert!(
        page.body
            .contains(&format!("id=\"stat-approved\">{}<", filed.len())),
        "{}",
        page.body
    );
    let page = city.get(&format!("/orgs/{}/summary/a4", p.city.0)).await;
    assert!(page.body.contains("已审核通过"));
    // Outside the subtree: not found; an unknown table: not found.
    let r = city
        .get(&format!("/orgs/{}/summary/a4", p.other_city))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = city.get(&format!("/orgs/{}/summary/a9", p.city.0)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
