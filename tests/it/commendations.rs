//! 宣传: commendations nominated by a level, forwarded and approved up the chain, declined with
//! a reason, with the warnings that would embarrass the award shown before anything is stored,
//! on the member's and organisation's pages, in the printable and exported 表彰名单, and
//! scoped to the subtree.

use axum::http::StatusCode;
use dengji::domain::Role;
use dengji::service::Caller;

use crate::helpers::{Client, TestApp, count, demo_places};

const OP: Caller<'static> = Caller::Operator;

/// The commendation id a nomination redirected to.
fn created(r: &crate::helpers::TestResponse) -> i64 {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    r.location()
        .and_then(|l| l.strip_prefix("/commendations/").map(str::to_owned))
        .and_then(|id| id.parse().ok())
        .expect("redirected to the commendation")
}

/// Nominate with the warnings already seen (`confirmed`).
async fn nominate(c: &Client, node: i64, fields: &[(&str, &str)]) -> crate::helpers::TestResponse {
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("confirmed", "1"));
    c.post(&format!("/orgs/{node}/commendations"), &all).await
}

const CITATION: &str = "带头办理法律援助案件二十余件，积极参加社区普法宣传，在疫情防控中表现突出。";

#[tokio::test]
async fn a_firm_nominates_a_member_the_city_approves_and_the_roll_lists_them() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let member = app.member(p.member).await;
    let suo = app.login_demo("suo").await;
    // The form: the member named, the levels from the firm organisation up.
    let form = suo
        .get(&format!(
            "/orgs/{}/commendations/new?kind=member&member={}",
            p.firm_org, p.member.0
        ))
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains(&member.name));
    assert!(form.body.contains(&app.org(p.city).await.name));

    // Bad input names the field and stores nothing.
    let city = p.city.0.to_string();
    let member_id = p.member.0.to_string();
    let r = nominate(
        &suo,
        p.firm_org.0,
        &[
            ("kind", "member"),
            ("member", &member_id),
            ("year", "18"),
            ("awarding", "999999"),
            ("citation", "好"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for words in ["主要事迹", "表彰年度", "表彰单位"] {
        assert!(r.body.contains(words), "{words}: {}", r.body);
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM commendations").await, 0);

    let id = created(
        &nominate(
            &suo,
            p.firm_org.0,
            &[
                ("kind", "member"),
                ("member", &member_id),
                ("year", "2018"),
                ("awarding", &city),
                ("citation", CITATION),
            ],
        )
        .await,
    );
    let page = suo.get(&format!("/commendations/{id}")).await;
    assert!(page.body.contains("待审批"), "{}", page.body);
    assert!(
        !page.body.contains("decide-form"),
        "a clerk does not decide"
    );
    // The firm's clerk cannot decide it; the city's reviewer can.
    let r = suo
        .post(
            &format!("/commendations/{id}/decide"),
            &[("decision", "approve"), ("awarded_on", "2018-07-01")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let reviewer = app.login_demo("shi_shenhe").await;
    let list = reviewer
        .get(&format!("/orgs/{}/commendations", p.city))
        .await;
    let waiting = &list.body[list.body.find("id=\"waiting\"").unwrap()..];
    assert!(waiting.contains(&format!("data-commendation=\"{id}\"")));
    let r = reviewer
        .post(
            &format!("/commendations/{id}/decide"),
            &[("decision", "approve"), ("awarded_on", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("表彰日期"));
    let r = reviewer
        .post(
            &format!("/commendations/{id}/decide"),
            &[("decision", "approve"), ("awarded_on", "2018-07-01")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = reviewer.get(&format!("/commendations/{id}")).await;
    assert!(page.body.contains("已表彰"));
    assert!(page.body.contains("2018-07-01"));
    assert!(page.body.contains("批准表彰"));
    // Decided once: again is refused.
    let r = reviewer
        .post(
            &format!("/commendations/{id}/decide"),
            &[("decision", "decline"), ("note", "重复")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // On the member's page, in the city's roll for the year, in its export.
    let shown = reviewer.get(&format!("/members/{}", p.member.0)).await;
    assert!(shown.body.contains("优秀党员"), "{}", shown.body);
    let roll = reviewer
        .get(&format!("/orgs/{}/commendations/roll?year=2018", p.city))
        .await;
    assert!(roll.body.contains("2018年度表彰名单"));
    assert!(roll.body.contains(&member.name));
    let empty = reviewer
        .get(&format!("/orgs/{}/commendations/roll?year=2019", p.city))
        .await;
    assert!(!empty.body.contains(&member.name));
    let (status, _, bytes) = reviewer
        .get_bytes(&format!(
            "/orgs/{}/commendations/roll.xlsx?year=2018",
            p.city
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roll.xlsx");
    std::fs::write(&file, &bytes).unwrap();
    let book = crate::export::read_xlsx(&file);
    let rows: Vec<Vec<String>> = serde_json::from_value(book["表彰名单"]["rows"].clone()).unwrap();
    assert!(
        rows.iter()
            .any(|r| r.contains(&member.name) && r.contains(&CITATION.to_owned()))
    );
    for action in [
        "commendation.nominate",
        "commendation.approve",
        "export.commendations",
    ] {
        assert_eq!(app.audit(action).await.len(), 1, "{action}");
    }
}

#[tokio::test]
async fn a_province_award_is_forwarded_by_the_city_and_a_decline_needs_a_reason() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let suo = app.login_demo("suo").await;
    let province = p.province.0.to_string();
    let firm_org = p.firm_org.0.to_string();
    // The firm organisation itself, for the province's 先进党组织.
    let id = created(
        &nominate(
            &suo,
            p.firm_org.0,
            &[
                ("kind", "org"),
                ("org", &firm_org),
                ("year", "2018"),
                ("awarding", &province),
                ("citation", CITATION),
            ],
        )
        .await,
    );
    let city_reviewer = app.login_demo("shi_shenhe").await;
    // The city is not the awarding level: it may only forward.
    let r = city_reviewer
        .post(
            &format!("/commendations/{id}/decide"),
            &[("decision", "approve"), ("awarded_on", "2018-07-01")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("转报上级"), "{}", r.body);
    let r = city_reviewer
        .post(
            &format!("/commendations/{id}/decide"),
            &[("decision", "forward"), ("note", "同意推荐")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let province_reviewer = app.login_as(Role::Reviewer, p.province, None).await;
    let page = province_reviewer.get(&format!("/commendations/{id}")).await;
    assert!(page.body.contains("decision-approve"), "{}", page.body);
    assert!(page.body.contains("同意推荐"));
    let r = province_reviewer
        .post(
            &format!("/commendations/{id}/decide"),
            &[("decision", "approve"), ("awarded_on", "2018-06-28")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let org_page = suo.get(&format!("/orgs/{}", p.firm_org)).await;
    assert!(org_page.body.contains("先进党组织"));
    let roll = province_reviewer
        .get(&format!("/orgs/{}/commendations/roll", p.province))
        .await;
    assert!(
        roll.body.contains(&app.org(p.firm_org).await.name),
        "latest year shown"
    );

    // Declined at the city, with its reason; not on any roll.
    let member_id = p.member.0.to_string();
    let city = p.city.0.to_string();
    let id = created(
        &nominate(
            &suo,
            p.firm_org.0,
            &[
                ("kind", "worker"),
                ("member", &member_id),
                ("post", "党支部书记"),
                ("year", "2018"),
                ("awarding", &city),
                ("citation", CITATION),
            ],
        )
        .await,
    );
    let r = city_reviewer
        .post(
            &format!("/commendations/{id}/decide"),
            &[("decision", "decline")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("理由"));
    let r = city_reviewer
        .post(
            &format!("/commendations/{id}/decide"),
            &[("decision", "decline"), ("note", "事迹材料不充分")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = suo.get(&format!("/commendations/{id}")).await;
    assert!(page.body.contains("未予表彰"));
    assert!(page.body.contains("事迹材料不充分"));
    let roll = city_reviewer
        .get(&format!("/orgs/{}/commendations/roll?year=2018", p.city))
        .await;
    assert!(roll.body.contains("本年度尚无本级批准的表彰"));
    // A worker needs a post.
    let r = nominate(
        &suo,
        p.firm_org.0,
        &[
            ("kind", "worker"),
            ("member", &member_id),
            ("year", "2018"),
            ("awarding", &city),
            ("citation", CITATION),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("党内职务"));
}

#[tokio::test]
async fn a_member_with_an_open_case_shows_the_warning_and_nothing_is_stored_until_confirmed() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    app.services
        .cases()
        .open(OP, p.member, "4", "离开执业所六个月以上，组织关系未转出")
        .await
        .unwrap();
    let suo = app.login_demo("suo").await;
    let fields = [
        ("kind", "member"),
        ("member", &*p.member.0.to_string()),
        ("year", "2018"),
        ("awarding", &*p.firm_org.0.to_string()),
        ("awarded_on", "2018-07-01"),
        ("citation", CITATION),
    ];
    let form = suo
        .get(&format!(
            "/orgs/{}/commendations/new?kind=member&member={}",
            p.firm_org, p.member.0
        ))
        .await;
    assert!(form.body.contains("分类处理案件（第4类）"), "{}", form.body);
    let r = suo
        .post(&format!("/orgs/{}/commendations", p.firm_org), &fields)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("id=\"warnings\""));
    assert!(r.body.contains("分类处理案件（第4类）"));
    assert!(r.body.contains("已核实，仍予推荐"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM commendations").await, 0);
    // Confirmed: the firm's own award, registered at once, the warning kept with it.
    let id = created(&nominate(&suo, p.firm_org.0, &fields).await);
    let page = suo.get(&format!("/commendations/{id}")).await;
    assert!(page.body.contains("已表彰"));
    assert!(page.body.contains("id=\"kept-warnings\""));
    assert!(page.body.contains("分类处理案件（第4类）"));
}

#[tokio::test]
async fn a_nomination_or_a_commendation_outside_the_subtree_is_not_found() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let outsider = app
        .list_members(p.other_city, None)
        .await
        .into_iter()
        .next()
        .expect("a member of another city");
    let suo = app.login_demo("suo").await;
    let r = nominate(
        &suo,
        p.firm_org.0,
        &[
            ("kind", "member"),
            ("member", &outsider.id.0.to_string()),
            ("year", "2018"),
            ("awarding", &p.city.0.to_string()),
            ("citation", CITATION),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = suo
        .get(&format!(
            "/orgs/{}/commendations/new?kind=member&member={}",
            p.firm_org, outsider.id.0
        ))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Nominating from a node one does not manage.
    let r = nominate(
        &suo,
        p.other_city.0,
        &[
            ("kind", "member"),
            ("member", &outsider.id.0.to_string()),
            ("year", "2018"),
            ("awarding", &p.other_city.0.to_string()),
            ("citation", CITATION),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Another city's commendation, and its list, are not found for this city's clerk.
    let theirs = app.login_as(Role::Clerk, p.other_city, None).await;
    let id = created(
        &nominate(
            &theirs,
            p.other_city.0,
            &[
                ("kind", "member"),
                ("member", &outsider.id.0.to_string()),
                ("year", "2018"),
                ("awarding", &p.other_city.0.to_string()),
                ("awarded_on", "2018-07-01"),
                ("citation", CITATION),
            ],
        )
        .await,
    );
    let shi = app.login_demo("shi").await;
    for path in [
        format!("/commendations/{id}"),
        format!("/orgs/{}/commendations", p.other_city),
        format!("/orgs/{}/commendations/roll", p.other_city),
    ] {
        assert_eq!(shi.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let r = shi
        .post(
            &format!("/commendations/{id}/decide"),
            &[("decision", "decline"), ("note", "x")],
        )
        .await;
    assert!(
        matches!(r.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
        "{}",
        r.status
    );
    crate::helpers::assert_clean(&app).await;
}
