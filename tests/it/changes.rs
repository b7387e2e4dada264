//! 定期上报 (issue 16 part 5): after the campaign every change to registered data is a change
//! record of the node keeping it; sets climb level by level (submit, accept, return one change,
//! answer, resubmit), the national level's acceptance makes them the official roster, and every
//! conflict is refused with `dengji check` clean throughout.

use axum::http::StatusCode;

use dengji::domain::change::{Cadence, ChangeState};
use dengji::domain::{MemberId, OrgId};
use dengji::service::roster::{Roster, RosterFilter};
use dengji::service::transfer::TransferInput;
use dengji::service::{Caller, Refusal, ServiceError, beijing_today};
use dengji::store::changes::ChangeFilter;

use crate::helpers::{TestApp, assert_clean, demo_places, refusal, rename_firm};

const OP: Caller<'static> = Caller::Operator;

fn this_period() -> String {
    Cadence::Monthly.period_of(beijing_today())
}

fn roster_filter(roster: Roster, as_of: Option<&str>, accepted: bool) -> RosterFilter {
    RosterFilter {
        roster,
        as_of: as_of.map(str::to_owned),
        category: None,
        name: None,
        accepted,
        page: 1,
        per_page: 10_000,
    }
}

/// The ids and names on a roster of `org`'s subtree, now or official.
async fn roster(app: &TestApp, org: OrgId, r: Roster, accepted: bool) -> Vec<(i64, String)> {
    let (_, page) = app
        .services
        .roster()
        .page(
            OP,
            org,
            &RosterFilter {
                roster: r,
                as_of: None,
                category: None,
                name: None,
                accepted,
                page: 1,
                per_page: 10_000,
            },
        )
        .await
        .unwrap();
    page.items.iter().map(|l| (l.id, l.name.clone())).collect()
}

async fn on_member_roster(app: &TestApp, org: OrgId, m: MemberId, accepted: bool) -> bool {
    for r in [Roster::Lawyers, Roster::Staff] {
        if roster(app, org, r, accepted)
            .await
            .iter()
            .any(|(id, _)| *id == m.0)
        {
            return true;
        }
    }
    false
}

/// The changes of the period in `org`'s subtree.
async fn changes_of(app: &TestApp, org: OrgId) -> Vec<dengji::store::changes::Change> {
    app.services
        .changes()
        .view(
            OP,
            org,
            None,
            &ChangeFilter {
                page: 1,
                per_page: 500,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .changes
        .items
}

/// (official, current) of one line of a node's 正式口径 figures.
async fn basis(app: &TestApp, org: OrgId, label: &str) -> (i64, i64) {
    let c = app
        .services
        .summary()
        .official_basis(OP, org)
        .await
        .unwrap();
    c.rows
        .iter()
        .find(|(l, _, _)| *l == label)
        .map(|(_, a, b)| (*a, *b))
        .unwrap()
}

/// The members counted in a node's 附件6 statistics block.
async fn a6_members(app: &TestApp, org: OrgId) -> i64 {
    let t = app
        .services
        .summary()
        .table(OP, org, "A6", 1)
        .await
        .unwrap();
    t.stats.expect("附件6 has the statistics block").members()
}

/// Submit and accept the sets of the chain from `org` up to (not including) the national
/// level, as the operator.
async fn climb(app: &TestApp, org: OrgId) {
    let period = this_period();
    let mut node = app.org(org).await;
    while let Some(parent) = node.parent_id {
        app.services
            .changes()
            .submit(OP, node.id, &period)
            .await
            .unwrap_or_else(|e| panic!("submit {}: {e:?}", node.name));
        app.services
            .changes()
            .accept(OP, node.id, &period)
            .await
            .unwrap_or_else(|e| panic!("accept {}: {e:?}", node.name));
        node = app.org(parent).await;
    }
}

#[tokio::test]
async fn after_the_campaign_changes_climb_level_by_level_and_become_the_official_roster() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    app.services.campaign().close(OP).await.unwrap();
    let m = app.members_of(p.firm_org).await[0];
    let name = app.member(m).await.name;
    let to_firm = app.first_firm_of_city(p.other_city).await;
    let to_org = to_firm.org_id.unwrap_or(to_firm.city_org_id);
    app.transfer(m, to_firm.id).await;
    let city_firm = app.first_firm_of_city(p.city).await;
    rename_firm(&app, city_firm.id, "改名后的测试律师事务所").await;

    // Recorded where the records are kept: 转出 at the sender, 转入 at the receiver, the
    // firm's rename at its city.
    let here = changes_of(&app, p.firm_org).await;
    assert_eq!(here.len(), 1, "{here:?}");
    assert_eq!(here[0].kind.label(), "转出");
    assert_eq!(here[0].subject_name, name);
    assert!(
        here[0]
            .fields
            .iter()
            .any(|(k, a, b)| k == "所在律师事务所" && b == &to_firm.name && !a.is_empty()),
        "{:?}",
        here[0].fields
    );
    let there = changes_of(&app, to_org).await;
    assert_eq!(there.len(), 1);
    assert_eq!(there[0].kind.label(), "转入");
    let city = changes_of(&app, p.city).await;
    assert!(city.iter().any(|c| {
        c.subject_name == "改名后的测试律师事务所"
            && c.fields
                .iter()
                .any(|(k, a, _)| k == "律师事务所名称" && a == &city_firm.name)
    }));

    // Current rosters show the changes; the official ones do not yet.
    assert!(!on_member_roster(&app, p.province, m, false).await);
    assert!(on_member_roster(&app, p.province, m, true).await);
    assert!(on_member_roster(&app, p.other_province, m, false).await);
    assert!(!on_member_roster(&app, p.other_province, m, true).await);
    let official_firms = roster(&app, p.city, Roster::Firms, true).await;
    assert!(
        official_firms
            .iter()
            .any(|(id, n)| *id == city_firm.id.0 && *n == city_firm.name)
    );
    assert!(
        roster(&app, p.city, Roster::Firms, false)
            .await
            .iter()
            .any(|(id, n)| *id == city_firm.id.0 && n == "改名后的测试律师事务所")
    );

    // So do the province's figures on the two bases (附件6's 正式口径).
    let label = if app.member(m).await.category == "lawyer" {
        "党员律师"
    } else {
        "工作人员党员"
    };
    let (official, current) = basis(&app, p.province, label).await;
    assert_eq!(official, current + 1);
    let (official, current) = basis(&app, p.other_province, label).await;
    assert_eq!(official + 1, current);
    let sheng = app.login_demo("sheng").await;
    let a6 = sheng
        .get(&format!("/orgs/{}/summary/a6?basis=accepted", p.province.0))
        .await;
    assert!(a6.body.contains("正式口径与当前口径（"), "{}", a6.body);
    assert!(a6.body.contains("<td>-1</td>"), "{}", a6.body);

    // The firm organisation's clerk submits on the page.
    let period = this_period();
    let suo = app.login_demo("suo").await;
    let page = suo.get(&format!("/orgs/{}/changes", p.firm_org.0)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(&name), "{}", page.body);
    assert!(page.body.contains("changes-submit"), "{}", page.body);
    let r = suo
        .post(
            &format!("/orgs/{}/changes/submit", p.firm_org.0),
            &[("period", &period)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Twice is refused.
    let again = suo
        .post(
            &format!("/orgs/{}/changes/submit", p.firm_org.0),
            &[("period", &period)],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("已报送上级"), "{}", again.body);

    // The city's reviewer sees the set as a diff and returns the one change.
    let shenhe = app.login_demo("shi_shenhe").await;
    let seen = shenhe
        .get(&format!("/orgs/{}/changes?period={period}", p.firm_org.0))
        .await;
    assert!(seen.body.contains("changes-accept"), "{}", seen.body);
    assert!(
        seen.body.contains(&format!(
            "{} → {}",
            here[0].fields[0].1, here[0].fields[0].2
        )) || seen.body.contains(&to_firm.name)
    );
    let r = shenhe
        .post(
            &format!("/changes/{}/return", here[0].id),
            &[
                ("org", &p.firm_org.0.to_string()),
                ("period", &period),
                ("text", "转出日期与介绍信不符"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        changes_of(&app, p.firm_org).await[0].state,
        ChangeState::Returned
    );
    // Returning it again is refused.
    assert!(matches!(
        refusal(
            app.services
                .changes()
                .return_change(OP, here[0].id, "再次退回试试")
                .await
        ),
        Refusal::ChangeNotReturnable(ChangeState::Returned)
    ));
    // The set holding a returned change cannot go up again until the change is answered.
    let blocked = suo
        .post(
            &format!("/orgs/{}/changes/submit", p.firm_org.0),
            &[("period", &period)],
        )
        .await;
    assert_eq!(blocked.status, StatusCode::CONFLICT);
    assert!(blocked.body.contains("已被上级退回"), "{}", blocked.body);
    // Nor can the city accept it.
    assert!(matches!(
        refusal(app.services.changes().accept(OP, p.firm_org, &period).await),
        Refusal::ChangeReturned(_)
    ));
    let r = suo
        .post(
            &format!("/changes/{}/answer", here[0].id),
            &[
                ("org", &p.firm_org.0.to_string()),
                ("period", &period),
                ("text", "已核对介绍信，日期无误"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = suo
        .post(
            &format!("/orgs/{}/changes/submit", p.firm_org.0),
            &[("period", &period)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = shenhe
        .post(
            &format!("/orgs/{}/changes/accept", p.firm_org.0),
            &[("period", &period)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // Up the sending chain: the city (its own rename and the firm organisation's set), the
    // province, then the national level makes them official.
    climb(&app, p.city).await;
    assert!(
        changes_of(&app, p.province)
            .await
            .iter()
            .all(|c| c.state == ChangeState::Accepted)
    );
    assert!(
        roster(&app, p.city, Roster::Firms, true)
            .await
            .iter()
            .any(|(id, n)| *id == city_firm.id.0 && n == "改名后的测试律师事务所")
    );
    // A transfer is official once both sides' reports are: the receiving chain is still out.
    assert!(on_member_roster(&app, p.province, m, true).await);
    climb(&app, to_org).await;
    assert!(!on_member_roster(&app, p.province, m, true).await);
    assert!(on_member_roster(&app, p.other_province, m, true).await);
    for org in [p.province, p.other_province] {
        let (official, current) = basis(&app, org, label).await;
        assert_eq!(official, current);
    }

    // The member's archive lists the reported changes and where they stand.
    let national = app.login_demo("quanguo").await;
    let archive = national.get(&format!("/members/{}/archive", m.0)).await;
    assert_eq!(archive.status, StatusCode::OK);
    assert!(
        archive
            .body
            .contains("定期上报变更（转出，已接收（正式））"),
        "{}",
        archive.body
    );
    let a = app.login_demo("shi").await;
    let page = a
        .get(&format!("/orgs/{}/changes?period={period}", p.city.0))
        .await;
    assert!(page.body.contains("上级已接收"), "{}", page.body);
    assert_clean(&app).await;
}

#[tokio::test]
async fn change_sets_refuse_what_does_not_fit() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    app.services.campaign().close(OP).await.unwrap();
    let period = this_period();
    // Nothing recorded: nothing to report.
    assert!(matches!(
        refusal(app.services.changes().submit(OP, p.firm_org, &period).await),
        Refusal::NothingToReport(_)
    ));
    // A period that is not one.
    assert!(matches!(
        app.services
            .changes()
            .submit(OP, p.firm_org, "2027-13")
            .await,
        Err(ServiceError::Invalid(_))
    ));
    // The national level submits to nobody.
    let root = app.root().await;
    assert_eq!(
        refusal(app.services.changes().submit(OP, root, &period).await),
        Refusal::TopOfTree
    );
    let m = app.members_of(p.firm_org).await[0];
    let to_firm = app.first_firm_of_city(p.other_city).await;
    app.transfer(m, to_firm.id).await;
    // The city cannot report before the firm organisation's set is accepted.
    assert!(matches!(
        refusal(app.services.changes().submit(OP, p.city, &period).await),
        Refusal::ChildChangesWaiting(_)
    ));
    // Accepting a set never submitted.
    assert_eq!(
        refusal(app.services.changes().accept(OP, p.firm_org, &period).await),
        Refusal::SetNotSubmitted
    );
    let c = changes_of(&app, p.firm_org).await[0].clone();
    // Answering a change nobody returned.
    assert_eq!(
        refusal(app.services.changes().answer(OP, c.id, "无需处理").await),
        Refusal::ChangeNotReturned
    );
    // A return needs a reason.
    assert!(matches!(
        app.services.changes().return_change(OP, c.id, "不").await,
        Err(ServiceError::Invalid(_))
    ));
    // Returning a change whose set is not with the parent.
    assert_eq!(
        refusal(
            app.services
                .changes()
                .return_change(OP, c.id, "请核实转出日期")
                .await
        ),
        Refusal::SetNotSubmitted
    );
    app.services
        .changes()
        .submit(OP, p.firm_org, &period)
        .await
        .unwrap();
    // Once the set is up, the next change of the node waits for the next period.
    let m2 = app.members_of(p.firm_org).await[0];
    app.transfer(m2, to_firm.id).await;
    let later: Vec<_> = app
        .services
        .changes()
        .view(
            OP,
            p.firm_org,
            Some(&dengji::domain::change::next_period(&period).unwrap()),
            &ChangeFilter {
                page: 1,
                per_page: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .changes
        .items;
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].subject_id, m2.0);
    assert_eq!(changes_of(&app, p.firm_org).await.len(), 1);
    // The whole set returned (with a reason), then resubmitted and accepted.
    assert!(matches!(
        app.services
            .changes()
            .send_back(OP, p.firm_org, &period, "短")
            .await,
        Err(ServiceError::Invalid(_))
    ));
    app.services
        .changes()
        .send_back(OP, p.firm_org, &period, "请补充转出原因")
        .await
        .unwrap();
    assert_eq!(
        refusal(app.services.changes().accept(OP, p.firm_org, &period).await),
        Refusal::SetNotSubmitted
    );
    app.services
        .changes()
        .submit(OP, p.firm_org, &period)
        .await
        .unwrap();
    app.services
        .changes()
        .accept(OP, p.firm_org, &period)
        .await
        .unwrap();
    // The city's reviewer may not decide the province's business, nor a clerk submit for
    // another node.
    let shi = app.login_demo("shi").await;
    let r = shi
        .post(
            &format!("/orgs/{}/changes/submit", p.firm_org.0),
            &[("period", &period)],
        )
        .await;
    assert_ne!(r.status, StatusCode::SEE_OTHER);
    assert_clean(&app).await;
}

#[tokio::test]
async fn a_move_while_the_package_is_with_the_city_becomes_a_pending_change() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let to_firm = app.first_firm_of_city(p.other_city).await;
    let (org, filed) = app.ready_firm().await;
    let m = filed[0];
    app.submit_package(org).await;
    let v = app.package_version(org).await;
    app.services.package().accept(OP, org, v).await.unwrap();
    // The campaign is open and the package accepted: the move is not refused, it is reported.
    app.transfer(m, to_firm.id).await;
    assert_ne!(app.member(m).await.org_id, org);
    let recorded = changes_of(&app, org).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].subject_id, m.0);
    assert_eq!(recorded[0].state, ChangeState::Pending);
    // The package the city accepted is untouched; the official roster still has the member
    // where the package put them.
    assert_eq!(
        app.package(org).await.unwrap().state,
        dengji::domain::PackageState::Accepted
    );
    assert!(on_member_roster(&app, p.firm_org, m, true).await);
    assert!(!on_member_roster(&app, p.firm_org, m, false).await);
    // A node whose package is not with the parent changes without a record (the campaign
    // carries it).
    let before = changes_of(&app, p.other_city).await.len();
    rename_firm(
        &app,
        app.first_firm_of_city(p.other_city).await.id,
        "另一家改名律所",
    )
    .await;
    assert_eq!(changes_of(&app, p.other_city).await.len(), before);
    assert_clean(&app).await;
}

#[tokio::test]
async fn a_late_change_set_is_marked_overdue_and_the_cadence_can_be_quarterly() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    app.services.campaign().close(OP).await.unwrap();
    let m = app.members_of(p.firm_org).await[0];
    let to_firm = app.first_firm_of_city(p.other_city).await;
    app.transfer(m, to_firm.id).await;
    // The change belongs to a month long past (as if recorded then).
    let mut conn = app.services.db.acquire().await.unwrap();
    sqlx::query("UPDATE changes SET period = '2026-01'")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let v = app
        .services
        .changes()
        .view(OP, p.firm_org, Some("2026-01"), &ChangeFilter::default())
        .await
        .unwrap();
    assert_eq!(v.deadline, "2026-02-05");
    assert!(v.overdue_days > 0);
    let city = app
        .services
        .changes()
        .view(OP, p.city, Some("2026-01"), &ChangeFilter::default())
        .await
        .unwrap();
    let child = city
        .children
        .iter()
        .find(|c| c.org.id == p.firm_org)
        .unwrap();
    assert!(child.overdue_days > 0);
    let shi = app.login_demo("shi").await;
    let page = shi
        .get(&format!("/orgs/{}/changes?period=2026-01", p.city.0))
        .await;
    assert!(page.body.contains("逾期"), "{}", page.body);
    // Submitted late, the lateness stays on the set.
    app.services
        .changes()
        .submit(OP, p.firm_org, "2026-01")
        .await
        .unwrap();
    let v = app
        .services
        .changes()
        .view(OP, p.firm_org, Some("2026-01"), &ChangeFilter::default())
        .await
        .unwrap();
    assert!(v.set.unwrap().late_days > 0);
    assert_eq!(v.overdue_days, 0);
    // Quarterly: the next change falls in the quarter.
    app.services
        .changes()
        .set_cadence(OP, Cadence::Quarterly)
        .await
        .unwrap();
    let m2 = app.members_of(p.firm_org).await[0];
    app.transfer(m2, to_firm.id).await;
    let q = Cadence::Quarterly.period_of(beijing_today());
    let v = app
        .services
        .changes()
        .view(OP, p.firm_org, Some(&q), &ChangeFilter::default())
        .await
        .unwrap();
    assert_eq!(v.counts.total, 1);
    assert!(v.periods.contains(&"2026-01".to_owned()));
    assert_clean(&app).await;
}

#[tokio::test]
async fn an_organisations_committee_and_term_are_kept_with_their_history() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    app.services.campaign().close(OP).await.unwrap();
    let org = app.org(p.firm_org).await;
    let shi = app.login_demo("shi").await;
    let path = format!("/orgs/{}/edit", org.id.0);
    let form = |organiser: &'static str, start: &'static str, end: &'static str| {
        vec![
            ("name", org.name.clone()),
            ("kind", org.kind.code().to_owned()),
            ("secretary_name", "王书记".to_owned()),
            ("contact_phone", "010-12345678".to_owned()),
            ("formed_on", String::new()),
            ("organiser_name", organiser.to_owned()),
            ("term_start", start.to_owned()),
            ("term_end", end.to_owned()),
            ("effective_on", String::new()),
        ]
    };
    let post = |f: Vec<(&'static str, String)>| {
        let shi = shi.clone();
        let path = path.clone();
        async move {
            let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            shi.post(&path, &pairs).await
        }
    };
    // A term ending before it starts, a term of ten years, half a term: each refused by name.
    for (start, end, says) in [
        ("2024-03-01", "2023-03-01", "本届届满日期应晚于任期起始日期"),
        ("2020-03-01", "2030-03-01", "每届任期为三年或五年"),
        ("2024-03-01", "", "请同时填写届满日期"),
        ("2024-13-01", "2027-03-01", "本届任期起始日期应为"),
    ] {
        let r = post(form("张委员", start, end)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{start} {end}");
        assert!(r.body.contains(says), "{says}: {}", r.body);
    }
    assert_eq!(app.org(org.id).await.organiser_name, None);
    let r = post(form("张委员", "2024-03-01", "2027-02-28")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = post(form("李委员", "2024-03-01", "2027-02-28")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let now = app.org(org.id).await;
    assert_eq!(now.organiser_name.as_deref(), Some("李委员"));
    assert_eq!(now.term_end.as_deref(), Some("2027-02-28"));
    // The organisations roster shows the committee and the term's end; the archive keeps
    // the committee before; the city reports the changes.
    let roster = shi
        .get(&format!(
            "/orgs/{}/rosters?roster=orgs&name={}",
            p.city.0, "律师"
        ))
        .await;
    assert!(roster.body.contains("本届届满日期"), "{}", roster.body);
    let archive = shi.get(&format!("/orgs/{}/archive", org.id.0)).await;
    assert!(archive.body.contains("组织委员 张委员"), "{}", archive.body);
    let kept = changes_of(&app, p.city).await;
    assert!(kept.iter().any(|c| {
        c.subject_id == org.id.0
            && c.fields
                .iter()
                .any(|(k, a, b)| k == "组织委员" && a == "张委员" && b == "李委员")
    }));
    assert_clean(&app).await;
}

#[tokio::test]
async fn a_member_leaving_the_industry_stops_registration_leaves_the_roster_and_can_come_back() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    app.services.campaign().close(OP).await.unwrap();
    let m = p.member;
    let members_before = a6_members(&app, p.city).await;
    let suo = app.login_demo("suo").await;
    let page = suo.get(&format!("/members/{}/stop", m.0)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // A member may not end their own registration.
    let own = app.login_demo("dangyuan").await;
    assert_ne!(
        own.get(&format!("/members/{}/stop", m.0)).await.status,
        StatusCode::OK
    );
    // A transfer out of the industry names the receiving organisation.
    let r = suo
        .post(
            &format!("/members/{}/stop", m.0),
            &[
                ("reason", "transferred_out"),
                ("destination", ""),
                ("effective_on", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("请填写接收的党组织名称"), "{}", r.body);
    let r = suo
        .post(
            &format!("/members/{}/stop", m.0),
            &[
                ("reason", "nonsense"),
                ("destination", "x"),
                ("effective_on", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.member(m).await.stopped_on, None);
    let r = suo
        .post(
            &format!("/members/{}/stop", m.0),
            &[
                ("reason", "transferred_out"),
                ("destination", "中共某某区某某街道工作委员会"),
                ("effective_on", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let today = beijing_today().to_string();
    assert_eq!(
        app.member(m).await.stopped_on.as_deref(),
        Some(today.as_str())
    );
    let shown = suo.get(&format!("/members/{}", m.0)).await;
    assert!(
        shown
            .body
            .contains("停止登记（组织关系转出律师行业，去向：中共某某区某某街道工作委员会）"),
        "{}",
        shown.body
    );
    // Off today's roster and the 附件6 figures, still on last year's roster; the account no
    // longer signs in.
    assert!(!on_member_roster(&app, p.firm_org, m, false).await);
    assert_eq!(a6_members(&app, p.city).await, members_before - 1);
    let (_, then) = app
        .services
        .roster()
        .page(
            OP,
            p.firm_org,
            &roster_filter(Roster::Lawyers, Some("2025-01-01"), false),
        )
        .await
        .unwrap();
    let (_, then_staff) = app
        .services
        .roster()
        .page(
            OP,
            p.firm_org,
            &roster_filter(Roster::Staff, Some("2025-01-01"), false),
        )
        .await
        .unwrap();
    assert!(
        then.items
            .iter()
            .chain(&then_staff.items)
            .any(|l| l.id == m.0)
    );
    assert!(
        app.services
            .auth()
            .login("dangyuan", dengji::service::demo::DEMO_PASSWORD, None)
            .await
            .is_err()
    );
    // Reported as a change of the organisation, with where the member went.
    let kept = changes_of(&app, p.firm_org).await;
    assert!(kept.iter().any(|c| {
        c.subject_id == m.0
            && c.kind.label() == "停止登记"
            && c.fields
                .iter()
                .any(|(k, _, b)| k == "去向" && b.contains("街道"))
    }));
    // Nothing more happens to a stopped member: no second stop, no transfer.
    assert!(matches!(
        refusal(
            app.services
                .transfer()
                .stop(
                    OP,
                    m,
                    &dengji::service::transfer::StopInput {
                        reason: "deceased".into(),
                        ..Default::default()
                    }
                )
                .await
        ),
        Refusal::MemberStopped(_)
    ));
    let to_firm = app.first_firm_of_city(p.other_city).await;
    assert!(matches!(
        refusal(
            app.services
                .transfer()
                .start(
                    OP,
                    m,
                    &TransferInput {
                        to_firm: Some(to_firm.id),
                        reason: "调入".into(),
                        effective_on: String::new(),
                    },
                )
                .await
        ),
        Refusal::MemberStopped(_)
    ));
    // 恢复登记 needs a reason, then puts the member back.
    let r = suo
        .post(
            &format!("/members/{}/resume", m.0),
            &[("note", ""), ("effective_on", "")],
        )
        .await;
    assert_ne!(r.status, StatusCode::SEE_OTHER);
    let r = suo
        .post(
            &format!("/members/{}/resume", m.0),
            &[("note", "误操作，该党员仍在本所执业"), ("effective_on", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(app.member(m).await.stopped_on, None);
    assert!(on_member_roster(&app, p.firm_org, m, false).await);
    assert_eq!(a6_members(&app, p.city).await, members_before);
    assert!(
        app.services
            .auth()
            .login("dangyuan", dengji::service::demo::DEMO_PASSWORD, None)
            .await
            .is_ok()
    );
    assert_eq!(
        refusal(
            app.services
                .transfer()
                .resume(OP, m, "", "再恢复一次")
                .await
        ),
        Refusal::MemberNotStopped
    );
    assert_clean(&app).await;
}

#[tokio::test]
async fn a_stopped_member_is_no_longer_asked_to_register() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let own = |app: &TestApp| {
        let services = app.services.clone();
        async move {
            services
                .package()
                .view(OP, p.firm_org)
                .await
                .unwrap()
                .readiness
                .own
        }
    };
    let before = own(&app).await;
    assert!(before.unfinished > 0);
    let m = app.members_of(p.firm_org).await[0];
    app.services
        .transfer()
        .stop(
            OP,
            m,
            &dengji::service::transfer::StopInput {
                reason: "deceased".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let after = own(&app).await;
    assert_eq!(after.unfinished, before.unfinished - 1);
    assert_eq!(after.not_registered, before.not_registered + 1);
    // Open campaign, package not with the city: no change record (the campaign carries it).
    assert!(changes_of(&app, p.firm_org).await.is_empty());
    assert_clean(&app).await;
}

#[tokio::test]
async fn the_next_campaigns_summary_sets_the_roster_beside_last_years() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let members_then = app.list_members(p.city, None).await;
    let lawyers_then = members_then
        .iter()
        .filter(|m| m.category == "lawyer")
        .count() as i64;
    let staff_then = members_then.len() as i64 - lawyers_then;
    // One campaign only: nothing to compare with.
    assert!(
        app.services
            .summary()
            .year_on_year(OP, p.city)
            .await
            .unwrap()
            .is_none()
    );
    app.services.campaign().close(OP).await.unwrap();
    // After the close, one lawyer of the city moves to another province, another member's
    // registration ends.
    let lawyers: Vec<MemberId> = members_then
        .iter()
        .filter(|m| m.category == "lawyer" && m.org_id == p.firm_org)
        .map(|m| m.id)
        .collect();
    let to_firm = app.first_firm_of_city(p.other_city).await;
    app.transfer(lawyers[0], to_firm.id).await;
    app.services
        .transfer()
        .stop(
            OP,
            lawyers[1],
            &dengji::service::transfer::StopInput {
                reason: "left_profession".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let today = beijing_today().to_string();
    app.start_campaign("2019年度更新", "2019-12-31", &today)
        .await;
    let y = app
        .services
        .summary()
        .year_on_year(OP, p.city)
        .await
        .unwrap()
        .expect("a previous campaign");
    let row = |label: &str| {
        y.rows
            .iter()
            .find(|(l, _, _)| *l == label)
            .map(|(_, a, b)| (*a, *b))
            .unwrap()
    };
    assert_eq!(row("党员律师"), (lawyers_then, lawyers_then - 2));
    assert_eq!(row("工作人员党员"), (staff_then, staff_then));
    let shi = app.login_demo("shi").await;
    let plain = shi.get(&format!("/orgs/{}/summary/a6", p.city.0)).await;
    assert!(plain.body.contains("compare-link"), "{}", plain.body);
    let page = shi
        .get(&format!("/orgs/{}/summary/a6?compare=1", p.city.0))
        .await;
    assert!(
        page.body.contains("与上次登记核查相比（上次"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<td>-2</td>"), "{}", page.body);
    assert_clean(&app).await;
}

#[tokio::test]
async fn a_firm_organisation_moves_to_another_city_with_its_firms_and_members() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let members = app.members_of(p.firm_org).await;
    assert!(!members.is_empty());
    let other = app
        .children_of(p.province)
        .await
        .into_iter()
        .find(|c| *c != p.city)
        .expect("a second city in the demo province");
    // During the campaign, with its package up, the organisation stays where it is.
    let (org, _) = app.ready_firm().await;
    app.submit_package(org).await;
    assert_eq!(
        refusal(app.services.upkeep().reparent_org(OP, org, other, "").await),
        Refusal::ReparentPackaged
    );
    app.services.campaign().close(OP).await.unwrap();
    // Not under a firm-level organisation, not where it already is.
    let sibling = app
        .children_of(p.city)
        .await
        .into_iter()
        .find(|c| *c != p.firm_org)
        .unwrap();
    assert_eq!(
        refusal(
            app.services
                .upkeep()
                .reparent_org(OP, p.firm_org, sibling, "")
                .await
        ),
        Refusal::ReparentTarget
    );
    assert_eq!(
        refusal(
            app.services
                .upkeep()
                .reparent_org(OP, p.firm_org, p.city, "")
                .await
        ),
        Refusal::SamePlace
    );
    // A transfer waiting blocks it.
    let to_firm = app.first_firm_of_city(p.other_city).await;
    let t = app
        .services
        .transfer()
        .start(
            OP,
            members[0],
            &TransferInput {
                to_firm: Some(to_firm.id),
                reason: "调入".into(),
                effective_on: String::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        refusal(
            app.services
                .upkeep()
                .reparent_org(OP, p.firm_org, other, "")
                .await
        ),
        Refusal::ReparentTransfers(1)
    );
    app.services.transfer().cancel(OP, t).await.unwrap();

    // The province's clerk moves it on the edit page.
    let sheng = app.login_demo("sheng").await;
    let page = sheng.get(&format!("/orgs/{}/edit", p.firm_org.0)).await;
    assert!(page.body.contains("org-reparent"), "{}", page.body);
    let r = sheng
        .post(
            &format!("/orgs/{}/reparent", p.firm_org.0),
            &[("into", &other.0.to_string()), ("effective_on", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let moved = app.org(p.firm_org).await;
    assert_eq!(moved.parent_id, Some(other));
    assert!(app.org(other).await.path.contains(&moved.path));
    for m in &members {
        let now = app.member(*m).await;
        assert_eq!(now.org_path, moved.path);
        assert!(on_member_roster(&app, other, *m, false).await);
        assert!(!on_member_roster(&app, p.city, *m, false).await);
    }
    let firm = app.firm_of(p.firm_org).await;
    assert_eq!(firm.city_org_id, other);
    // The old city's roster of last year still lists them.
    let (_, then) = app
        .services
        .roster()
        .page(
            OP,
            p.city,
            &roster_filter(Roster::Firms, Some("2025-01-01"), false),
        )
        .await
        .unwrap();
    assert!(then.items.iter().any(|l| l.id == firm.id.0));
    // The new city reports the move.
    let kept = changes_of(&app, other).await;
    let other_name = app.org(other).await.name;
    assert!(kept.iter().any(|c| {
        c.subject_id == p.firm_org.0
            && c.fields
                .iter()
                .any(|(k, _, b)| k == "上级党组织" && *b == other_name)
    }));
    assert_clean(&app).await;
}
