//! 分类处理 cases: opened by the survey or by hand, owned by the city-level node, steps, outcomes
//! allowed per category, the written report of cases 4 and 5 acknowledged by the parent before
//! closing, the subtree's list and counts, overdue notices, and each refusal.

use axum::http::StatusCode;

use dengji::domain::{CaseCategory, CaseId, CaseOutcome, CaseState, MemberId, Role};
use dengji::service::cases::{CaseFilter, ReportInput};
use dengji::service::survey::Check;
use dengji::service::{Caller, Refusal, ServiceError};

use crate::helpers::{TestApp, count, demo_places};

const OP: Caller<'static> = Caller::Operator;

fn not_in(case: &str, reason: &str) -> Check {
    Check {
        basic_ok: true,
        transfer_ok: true,
        dues_ok: true,
        life_ok: true,
        transferred: "not_in".into(),
        case_code: Some(case.into()),
        reason: Some(reason.into()),
        imported: false,
    }
}

/// Record the member 未转入 with `case` in the survey, as the operator.
async fn mark_not_in(app: &TestApp, member: MemberId, case: &str, reason: &str) {
    app.services
        .survey()
        .record(OP, member, not_in(case, reason))
        .await
        .unwrap();
}

async fn case_of(app: &TestApp, member: MemberId) -> dengji::service::cases::Case {
    app.services
        .cases()
        .of_member(OP, member)
        .await
        .unwrap()
        .expect("a case")
}

fn case_path(id: CaseId) -> String {
    format!("/cases/{}", id.0)
}

#[tokio::test]
async fn a_survey_mark_opens_a_case_the_city_handles_to_an_allowed_outcome() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let member = app.registrable_lawyers_at(p.firm_org).await[0];
    // The firm's clerk marks the member 未转入, case 1, in the survey page.
    let clerk = app.login_demo("suo").await;
    let r = clerk
        .post(
            &format!("/orgs/{}/survey", p.firm_org.0),
            &[
                ("member", &member.0.to_string()),
                ("basic_ok", "1"),
                ("transferred", "not_in"),
                ("case", "1"),
                ("reason", "组织关系仍在原单位"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let case = case_of(&app, member).await;
    assert_eq!(case.category, CaseCategory::HeldElsewhere);
    assert_eq!(case.state, CaseState::Open);
    assert_eq!(case.owner_org_id, p.city, "the city-level node handles it");
    assert_eq!(case.source, "survey");
    assert_eq!(app.audit("case.open").await.len(), 1);

    // The member page links to it; the firm's list and the city's list count it.
    let page = clerk.get(&format!("/members/{}", member.0)).await;
    assert!(page.body.contains(&case_path(case.id)), "{}", page.body);
    for org in [p.firm_org, p.city, p.province] {
        let list = app
            .services
            .cases()
            .list(
                OP,
                org,
                &CaseFilter {
                    page: 1,
                    per_page: 50,
                    ..CaseFilter::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(list.counts.open[0], 1, "{org:?}");
        assert_eq!(list.page.items.len(), 1);
    }
    let city = app.login_demo("shi").await;
    let list = city.get(&format!("/orgs/{}/cases", p.city.0)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains(&format!("id=\"case-{}\"", case.id.0)));
    assert!(
        list.body.contains("<td id=\"total-open\">1</td>"),
        "{}",
        list.body
    );
    // The province narrows its list to one owner or one organisation.
    let province = app.login_demo("sheng").await;
    let row = format!("id=\"case-{}\"", case.id.0);
    for (query, shown) in [
        (format!("owner={}", p.city.0), true),
        (format!("org={}", p.firm_org.0), true),
        (format!("owner={}", p.firm_org.0), false),
        (format!("org={}", p.other_city.0), false),
    ] {
        let l = province
            .get(&format!("/orgs/{}/cases?{query}", p.province.0))
            .await;
        assert_eq!(l.status, StatusCode::OK);
        assert_eq!(l.body.contains(&row), shown, "{query}");
    }

    // Steps from the firm and the city; a step without its note is named and not stored.
    let step = |c: &crate::helpers::Client, kind: &'static str, note: &'static str| {
        let c = c.clone();
        let path = format!("{}/steps", case_path(case.id));
        async move { c.post(&path, &[("kind", kind), ("note", note)]).await }
    };
    let r = step(
        &clerk,
        "contact_origin",
        "已联系原单位党委，对方同意开具介绍信",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = step(&city, "talk", "").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("办理情况：请填写"), "{}", r.body);
    let view = app.services.cases().view(OP, case.id).await.unwrap();
    assert_eq!(view.steps.len(), 1);

    // The firm may not close it: the city owns it.
    let version = view.case.version.to_string();
    let r = clerk
        .post(
            &format!("{}/close", case_path(case.id)),
            &[("outcome", "transferred_in"), ("version", &version)],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "outside the firm's subtree"
    );
    // An outcome case 1 does not allow is named and changes nothing.
    let r = city
        .post(
            &format!("{}/close", case_path(case.id)),
            &[("outcome", "transferred_out"), ("version", &version)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("只能以“已转入并登记”或“纳入当地管理并登记”办结"),
        "{}",
        r.body
    );
    assert_eq!(case_of(&app, member).await.state, CaseState::Open);
    // Closed with 纳入当地管理: the registration page says how the member is registered.
    let r = city
        .post(
            &format!("{}/close", case_path(case.id)),
            &[
                ("outcome", "local_management"),
                ("note", "原单位已撤销，纳入市律师行业党委管理"),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let closed = case_of(&app, member).await;
    assert_eq!(closed.state, CaseState::Closed);
    assert_eq!(closed.outcome, Some(CaseOutcome::LocalManagement));
    let reg = app.services.registration().view(OP, member).await.unwrap();
    assert!(reg.eligibility.registered);
    assert!(
        reg.eligibility.reason.contains("已纳入当地") && reg.eligibility.reason.contains("已办结"),
        "{}",
        reg.eligibility.reason
    );
    // A closed case takes no steps and refuses a survey mark that contradicts it.
    let r = step(&city, "talk", "再次谈话").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let err = app
        .services
        .survey()
        .record(OP, member, not_in("3", "介绍信丢失"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Conflict(Refusal::CaseClosed(_))),
        "{err:?}"
    );
    // Reopened, it follows the survey's new category.
    app.services
        .cases()
        .reopen(OP, closed.id, closed.version)
        .await
        .unwrap();
    mark_not_in(&app, member, "3", "介绍信丢失").await;
    let moved = case_of(&app, member).await;
    assert_eq!(
        (moved.state, moved.category),
        (CaseState::Open, CaseCategory::LetterLost)
    );
    assert_eq!(moved.id, case.id, "the same case, not a second one");
}

#[tokio::test]
async fn a_case_four_closes_only_after_the_province_acknowledges_its_report() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let member = app.registrable_lawyers_at(p.firm_org).await[1];
    mark_not_in(&app, member, "4", "2017年底离所赴外地工作").await;
    let case = case_of(&app, member).await;
    let city = app.login_demo("shi").await;
    let path = case_path(case.id);
    // Not without the acknowledged report.
    let r = city
        .post(
            &format!("{path}/close"),
            &[
                ("outcome", "transferred_out"),
                ("version", &case.version.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("上级阅知（已阅）后方可办结"), "{}", r.body);
    // A report without its responsible people is named, not stored.
    let r = city
        .post(
            &format!("{path}/report"),
            &[
                ("facts", "已联系本人，组织关系转往工作地"),
                ("secretary_name", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("书记（第一责任人）：请填写"), "{}", r.body);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM case_reports").await, 0);
    let r = city
        .post(
            &format!("{path}/report"),
            &[
                ("facts", "已联系本人，组织关系转往工作地"),
                ("secretary_name", "王强"),
                ("organiser_name", "李明"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = city.get(&path).await;
    assert!(page.body.contains("已报送，待上级阅知"), "{}", page.body);
    assert!(page.body.contains("第一责任人（书记）：王强"));
    // Only the owner's direct parent decides: not the city itself, not the nation.
    let city_reviewer = app.login_demo("shi_shenhe").await;
    let decide = |c: crate::helpers::Client, decision: &'static str, reason: &'static str| {
        let path = format!("{path}/report/decision");
        async move {
            c.post(
                &path,
                &[("decision", decision), ("reason", reason), ("version", "0")],
            )
            .await
        }
    };
    let r = decide(city_reviewer, "acknowledge", "").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let national = app.login_demo("quanguo").await;
    let r = decide(national, "acknowledge", "").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // The province returns it with a reason, the city submits again, the province reads it.
    let province = app.login_as(Role::Reviewer, p.province, None).await;
    let r = decide(province.clone(), "return", "").await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a return needs its reason"
    );
    let r = decide(province.clone(), "return", "请写明转出去向").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = city
        .post(
            &format!("{path}/report"),
            &[
                ("facts", "已联系本人，组织关系转往上海市某律所党支部"),
                ("secretary_name", "王强"),
                ("organiser_name", "李明"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let version = app
        .services
        .cases()
        .view(OP, case.id)
        .await
        .unwrap()
        .report
        .unwrap()
        .version
        .to_string();
    let r = province
        .post(
            &format!("{path}/report/decision"),
            &[("decision", "acknowledge"), ("version", &version)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // The report downloads as a printable sheet that names the people responsible.
    let (status, disposition, bytes) = province.get_bytes(&format!("{path}/report.xlsx")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(disposition.contains(".xlsx"), "{disposition}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.xlsx");
    std::fs::write(&file, bytes).unwrap();
    let cells = String::from_utf8(crate::helpers::python(
        "import openpyxl, sys\nws = openpyxl.load_workbook(sys.argv[1]).active\n\
         print(ws.page_setup.paperSize)\n\
         print('|'.join(str(c.value) for r in ws.iter_rows() for c in r if c.value))",
        &[file.as_os_str()],
    ))
    .unwrap();
    assert!(cells.starts_with('9'), "A4: {cells}");
    assert!(cells.contains("王强") && cells.contains("李明"), "{cells}");
    assert!(cells.contains("转往上海市某律所党支部"), "{cells}");
    assert!(cells.contains("上级已阅"), "{cells}");
    // And as a Word document on A4 with the same content.
    let (status, disposition, bytes) = province.get_bytes(&format!("{path}/report.docx")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(disposition.contains(".docx"), "{disposition}");
    let file = dir.path().join("report.docx");
    std::fs::write(&file, bytes).unwrap();
    let xml = String::from_utf8(crate::helpers::python(
        "import zipfile, sys, xml.dom.minidom\nz = zipfile.ZipFile(sys.argv[1])\n\
         [xml.dom.minidom.parseString(z.read(n)) for n in z.namelist()]\n\
         print(z.read('word/document.xml').decode())",
        &[file.as_os_str()],
    ))
    .unwrap();
    assert!(xml.contains("同志分类处理情况的报告"), "{xml}");
    assert!(
        xml.contains("王强") && xml.contains("转往上海市某律所党支部"),
        "{xml}"
    );
    assert!(xml.contains("w:w=\"11906\""), "A4: {xml}");
    // Now it closes, with a second person (双人复核): the city's clerk asks with a reason,
    // nothing is closed yet; the city's reviewer approves and it is done.
    let version = case_of(&app, member).await.version.to_string();
    let r = city
        .post(
            &format!("{path}/close"),
            &[("outcome", "transferred_out"), ("version", &version)],
        )
        .await;
    let request = city.ask_second_person(&r, "上级已阅，转出手续完成").await;
    assert_eq!(case_of(&app, member).await.state, CaseState::Open);
    let city_reviewer = app.login_demo("shi_shenhe").await;
    let waiting = city_reviewer.get("/approvals").await;
    assert!(
        waiting.body.contains("办结第4、5类案件"),
        "{}",
        waiting.body
    );
    assert!(waiting.body.contains("上级已阅，转出手续完成"));
    let r = city_reviewer.approve_request(request).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(case_of(&app, member).await.state, CaseState::Closed);
    let reg = app.services.registration().view(OP, member).await.unwrap();
    assert!(!reg.eligibility.registered);
    // The report went through the inbox both ways.
    for action in [
        "case.report",
        "case.report.return",
        "case.report.acknowledge",
        "case.close",
        "export.case_report",
    ] {
        assert!(!app.audit(action).await.is_empty(), "{action}");
    }
    // A case 1 has no report.
    let other = app.registrable_lawyers_at(p.firm_org).await[2];
    mark_not_in(&app, other, "1", "原单位未开介绍信").await;
    let err = app
        .services
        .cases()
        .submit_report(
            OP,
            case_of(&app, other).await.id,
            &ReportInput {
                facts: "x".into(),
                secretary_name: "王强".into(),
                organiser_name: "李明".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ServiceError::Conflict(Refusal::NoReportNeeded)
    ));
}

#[tokio::test]
async fn cases_outside_the_subtree_are_not_found_and_a_second_case_is_refused() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let member = app.registrable_lawyers_at(p.firm_org).await[0];
    // Opened by hand from the member page, which records the survey mark too.
    let clerk = app.login_demo("suo").await;
    let r = clerk
        .post(
            &format!("/members/{}/case", member.0),
            &[("category", "2"), ("reason", "上级党组织隶属关系不明确")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let case = case_of(&app, member).await;
    assert_eq!(case.source, "hand");
    let mark = app.services.survey().view(OP, p.firm_org).await.unwrap();
    let row = mark.rows.iter().find(|r| r.member_id == member).unwrap();
    assert_eq!(row.check.as_ref().unwrap().case_code.as_deref(), Some("2"));
    // Again: refused, still one case.
    let r = clerk
        .post(
            &format!("/members/{}/case", member.0),
            &[("category", "1"), ("reason", "再开一次")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM cases").await, 1);
    // No category: named.
    let other = app.registrable_lawyers_at(p.firm_org).await[1];
    let r = clerk
        .post(
            &format!("/members/{}/case", other.0),
            &[("category", "9"), ("reason", "x")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("问题类别"), "{}", r.body);
    // Another city sees neither the case nor the member, and cannot open one on them.
    let outsider = app.login_as(Role::Clerk, p.other_city, None).await;
    assert_eq!(
        outsider.get(&case_path(case.id)).await.status,
        StatusCode::NOT_FOUND
    );
    let r = outsider
        .post(
            &format!("{}/steps", case_path(case.id)),
            &[("kind", "talk"), ("note", "越权")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = outsider
        .post(
            &format!("/members/{}/case", other.0),
            &[("category", "1"), ("reason", "越权")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let list = outsider
        .get(&format!("/orgs/{}/cases", p.other_city.0))
        .await;
    assert!(!list.body.contains(&format!("case-{}\"", case.id.0)));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM cases").await, 1);
}

#[tokio::test]
async fn an_overdue_case_is_listed_and_told_once_to_the_owner_and_its_parent() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let member = app.registrable_lawyers_at(p.firm_org).await[0];
    mark_not_in(&app, member, "3", "介绍信过期").await;
    let case = case_of(&app, member).await;
    // Time passes: the due date is yesterday (storage tampered to stand for the calendar).
    let yesterday = (dengji::service::beijing_today() - time::Duration::days(1)).to_string();
    sqlx::query("UPDATE cases SET due_on = $1 WHERE id = $2")
        .bind(yesterday)
        .bind(case.id.0)
        .execute(app.services.db.pool())
        .await
        .unwrap();
    let told = app.services.cases().sweep_overdue().await.unwrap();
    assert!(told > 0);
    assert_eq!(
        app.services.cases().sweep_overdue().await.unwrap(),
        0,
        "once"
    );
    for (org, who) in [(p.city, "shi"), (p.province, "sheng")] {
        let c = app.login_demo(who).await;
        let inbox = c.get("/inbox").await;
        assert!(
            inbox.body.contains("已超过办理期限"),
            "{who}: {}",
            inbox.body
        );
        let list = c.get(&format!("/orgs/{}/cases?state=overdue", org.0)).await;
        assert!(
            list.body.contains(&format!("id=\"case-{}\"", case.id.0)),
            "{who}"
        );
        assert!(list.body.contains("<td id=\"total-overdue\">1</td>"));
    }
    let firm = app.login_demo("suo").await;
    assert!(!firm.get("/inbox").await.body.contains("已超过办理期限"));
    let cockpit = app
        .login_demo("shi")
        .await
        .get(&format!("/orgs/{}/cockpit", p.city.0))
        .await;
    assert!(cockpit.body.contains("其中逾期 1 件"), "{}", cockpit.body);
}

#[tokio::test]
async fn national_administrators_set_the_days_a_case_has_per_category() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let admin = app.login_demo("admin").await;
    let days = |c3: &'static str| {
        vec![
            ("c1", "30"),
            ("c2", "45"),
            ("c3", c3),
            ("c4", "30"),
            ("c5", "20"),
        ]
    };
    // A wrong number is named and nothing changes.
    let r = admin.post("/campaign/case-days", &days("0")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("第3类办理天数：应为1–365之间的天数"),
        "{}",
        r.body
    );
    let page = admin.get("/campaign").await;
    assert!(
        page.body
            .contains("name=\"c2\" type=\"number\" min=\"1\" max=\"365\" value=\"60\"")
    );
    // Only national administrators.
    let city = app.login_demo("shi").await;
    let r = city.post("/campaign/case-days", &days("30")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = admin.post("/campaign/case-days", &days("30")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // A case 2 opened now is due in 45 days.
    let member = app.registrable_lawyers_at(p.firm_org).await[0];
    mark_not_in(&app, member, "2", "隶属关系不明确").await;
    let due = (dengji::service::beijing_today() + time::Duration::days(45)).to_string();
    assert_eq!(case_of(&app, member).await.due_on, due);
    assert_eq!(app.audit("campaign.case_due_days").await.len(), 1);
}
