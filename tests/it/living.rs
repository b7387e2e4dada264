//! The living roster (issue 16): 组织关系 transfers between organisations, editing the firm and
//! organisation registry, the rosters now and as they stood on a past date, and the archives —
//! with `dengji check` clean after every operation and each conflict refused.

use axum::http::StatusCode;

use dengji::domain::{FirmId, OrgId, OrgKind, Role};
use dengji::service::roster::{Roster, RosterFilter};
use dengji::service::transfer::TransferInput;
use dengji::service::upkeep::{Cover, FirmInput, OrgInput};
use dengji::service::{Caller, Refusal, ServiceError};

use crate::helpers::{TestApp, assert_clean, demo_places, refusal};

const OP: Caller<'static> = Caller::Operator;

fn filter(roster: Roster, as_of: Option<&str>) -> RosterFilter {
    RosterFilter {
        roster,
        as_of: as_of.map(str::to_owned),
        category: None,
        name: None,
        accepted: false,
        page: 1,
        per_page: 10_000,
    }
}

/// The ids on a roster of `org`'s subtree.
async fn on_roster(app: &TestApp, org: OrgId, roster: Roster, as_of: Option<&str>) -> Vec<i64> {
    let (_, page) = app
        .services
        .roster()
        .page(OP, org, &filter(roster, as_of))
        .await
        .unwrap();
    page.items.iter().map(|l| l.id).collect()
}

fn roster_of(category: &str) -> Roster {
    if category == "staff" {
        Roster::Staff
    } else {
        Roster::Lawyers
    }
}

fn transfer_to(firm: FirmId, on: &str) -> TransferInput {
    TransferInput {
        to_firm: Some(firm),
        reason: "调入该所执业".into(),
        effective_on: on.into(),
    }
}

/// Why starting a transfer of `m` to `firm` from `on` is refused.
async fn start_refused(
    app: &TestApp,
    m: dengji::domain::MemberId,
    firm: FirmId,
    on: &str,
) -> Refusal {
    refusal(
        app.services
            .transfer()
            .start(OP, m, &transfer_to(firm, on))
            .await,
    )
}

#[tokio::test]
async fn a_member_moves_to_another_province_through_both_sides_and_the_rosters_remember() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let member = app.members_of(p.firm_org).await[0];
    let before = app.member(member).await;
    let to_firm = app.first_firm_of_city(p.other_city).await;
    let to_org = to_firm.org_id.unwrap_or(to_firm.city_org_id);

    // The firm's clerk finds the receiving firm by its credit code, anywhere in the country.
    let suo = app.login_demo("suo").await;
    let page = suo
        .get(&format!(
            "/members/{}/transfer?q={}",
            member.0, to_firm.credit_code
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(&to_firm.name), "{}", page.body);
    // Nothing else of the firm is shown: not its lawyer count's row, not its members.
    assert!(!page.body.contains("律师人数"));
    let r = suo
        .post(
            &format!("/members/{}/transfer", member.0),
            &[
                ("to_firm", &to_firm.id.0.to_string()),
                ("q", &to_firm.credit_code),
                ("reason", "调入该所执业"),
                ("effective_on", "2019-03-01"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let link = r.location().unwrap();
    let id: i64 = link
        .trim_start_matches("/transfers/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // The sender sees it waiting and may withdraw, not accept.
    let mine = suo.get(&format!("/transfers/{id}")).await;
    assert!(mine.body.contains("待接收"), "{}", mine.body);
    assert!(mine.body.contains("transfer-cancel"));
    assert!(!mine.body.contains("transfer-accept"));
    assert_eq!(
        suo.post(&format!("/transfers/{id}/accept"), &[("note", "")])
            .await
            .status,
        StatusCode::NOT_FOUND,
        "the sender cannot accept for the receiver"
    );
    // The lowest common ancestor (here the national committee) and the receiver see it.
    let root = app.root().await;
    let national = app.login_as(Role::Clerk, root, None).await;
    let list = national.get(&format!("/orgs/{}/transfers", root.0)).await;
    assert!(
        list.body.contains(&format!("transfer-{id}")),
        "{}",
        list.body
    );
    let receiver = app.login_as(Role::Clerk, to_org, None).await;
    let inbox = receiver
        .get(&format!("/orgs/{}/transfers?dir=in&pending=1", to_org.0))
        .await;
    assert!(inbox.body.contains(&before.name), "{}", inbox.body);
    // The sender's city sees it too.
    let sender_city = app.login_as(Role::Clerk, p.city, None).await;
    assert_eq!(
        sender_city.get(&format!("/transfers/{id}")).await.status,
        StatusCode::OK
    );

    // The receiver accepts: the member, their form and their counts move.
    let r = receiver
        .post(&format!("/transfers/{id}/accept"), &[("note", "欢迎")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let after = app.member(member).await;
    assert_eq!(after.org_id, to_org);
    assert_eq!(after.firm_id, to_firm.id);
    assert_clean(&app).await;
    assert_eq!(app.audit("transfer.start").await.len(), 1);
    assert_eq!(app.audit("transfer.accept").await.len(), 1);

    // Accepting twice is refused with the state it is in.
    let again = receiver
        .post(&format!("/transfers/{id}/accept"), &[("note", "")])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("已转入"), "{}", again.body);

    // The rosters: today the member is with the receiver; on 2019-02-28 they were still with
    // the sender; from 2019-03-01 with the receiver.
    let roster = roster_of(&before.category);
    assert!(
        !on_roster(&app, p.firm_org, roster, None)
            .await
            .contains(&member.0)
    );
    assert!(
        on_roster(&app, to_org, roster, None)
            .await
            .contains(&member.0)
    );
    assert!(
        on_roster(&app, p.firm_org, roster, Some("2019-02-28"))
            .await
            .contains(&member.0)
    );
    assert!(
        !on_roster(&app, to_org, roster, Some("2019-02-28"))
            .await
            .contains(&member.0)
    );
    assert!(
        on_roster(&app, to_org, roster, Some("2019-03-01"))
            .await
            .contains(&member.0)
    );
    // The sender's past roster marks the line as changed since (its version ended).
    let (_, page) = app
        .services
        .roster()
        .page(OP, p.firm_org, &filter(roster, Some("2019-02-28")))
        .await
        .unwrap();
    let line = page.items.iter().find(|l| l.id == member.0).unwrap();
    assert_eq!(line.to_date.as_deref(), Some("2019-03-01"));
    assert_eq!(line.place, before.firm_name);

    // The archive tells it in order, for the new organisation's staff.
    let archive = receiver
        .get(&format!("/members/{}/archive", member.0))
        .await;
    assert_eq!(archive.status, StatusCode::OK, "{}", archive.body);
    assert!(
        archive.body.contains("组织关系转接（已转入）"),
        "{}",
        archive.body
    );
    assert!(archive.body.contains(&before.firm_name));
    assert!(archive.body.contains("2019-03-01"));
    // The sender no longer reaches the member.
    assert_eq!(
        suo.get(&format!("/members/{}", member.0)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn transfers_that_cannot_be_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let members = app.members_of(p.firm_org).await;
    let (m, m2) = (members[0], members[1]);
    let own_firm = app.member(m).await.firm_id;
    let to_firm = app.first_firm_of_city(p.other_city).await;

    // To the firm and organisation the member is in.
    assert_eq!(
        start_refused(&app, m, own_firm, "").await,
        Refusal::TransferToSelf
    );
    // A date to come, a date not a date, no reason, no firm.
    assert_eq!(
        start_refused(&app, m, to_firm.id, "2999-01-01").await,
        Refusal::EffectiveInFuture
    );
    match app
        .services
        .transfer()
        .start(
            OP,
            m,
            &TransferInput {
                to_firm: None,
                reason: " ".into(),
                effective_on: "2019-13-40".into(),
            },
        )
        .await
    {
        Err(ServiceError::Invalid(list)) => {
            let fields: Vec<_> = list.iter().map(|e| e.field).collect();
            assert_eq!(fields, ["to_firm", "reason"]);
        }
        other => panic!("{other:?}"),
    }
    // A second transfer while one waits; withdrawing it allows a new one.
    let t = app
        .services
        .transfer()
        .start(OP, m, &transfer_to(to_firm.id, "2019-03-01"))
        .await
        .unwrap();
    assert_eq!(
        start_refused(&app, m, to_firm.id, "").await,
        Refusal::TransferPending
    );
    // Refusing needs a reason.
    assert!(matches!(
        app.services.transfer().refuse(OP, t, " ").await,
        Err(ServiceError::Invalid(_))
    ));
    app.services.transfer().cancel(OP, t).await.unwrap();
    assert_eq!(
        refusal(app.services.transfer().accept(OP, t, "").await),
        Refusal::TransferDecided("已撤回")
    );
    // A member whose 分类处理 is open cannot move until it is closed.
    app.services
        .survey()
        .record(
            OP,
            m2,
            dengji::service::survey::Check {
                basic_ok: true,
                transfer_ok: true,
                dues_ok: true,
                life_ok: true,
                transferred: "not_in".into(),
                case_code: Some("1".into()),
                reason: Some("组织关系仍在原单位".into()),
                imported: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        start_refused(&app, m2, to_firm.id, "").await,
        Refusal::CaseOpen
    );
    // Nobody moved.
    assert_eq!(app.member(m).await.org_id, p.firm_org);
    assert_eq!(app.member(m2).await.org_id, p.firm_org);
    assert_clean(&app).await;
}

#[tokio::test]
async fn a_member_in_a_submitted_package_is_not_moved_silently() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let to_firm = app.first_firm_of_city(p.other_city).await;
    let (org, filed) = app.ready_firm().await;
    let m = filed[0];
    let t = app
        .services
        .transfer()
        .start(OP, m, &transfer_to(to_firm.id, ""))
        .await
        .unwrap();
    app.submit_package(org).await;
    // The package is with the city: the move goes through as a change the city sees.
    app.services.transfer().accept(OP, t, "").await.unwrap();
    let v = app
        .services
        .changes()
        .view(
            OP,
            org,
            None,
            &dengji::store::changes::ChangeFilter {
                page: 1,
                per_page: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(v.counts.total, 1);
    assert_eq!(v.changes.items[0].subject_id, m.0);
    assert_eq!(v.changes.items[0].kind.label(), "转出");
    assert_clean(&app).await;
}

fn firm_input(f: &dengji::service::directory::Firm) -> FirmInput {
    FirmInput {
        name: f.name.clone(),
        credit_code: f.credit_code.clone(),
        region_code: f.region_code.clone(),
        form: f.form.clone(),
        lawyer_count: f.lawyer_count.to_string(),
        effective_on: String::new(),
    }
}

#[tokio::test]
async fn a_firm_is_renamed_then_closed_and_past_rosters_still_list_it() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let built = app.firm_org(p.city).build().await;
    let firm = app.firm(built.firm).await;

    // Renamed with 12 lawyers from 2020-01-01, on the edit page as the city's clerk.
    let shi = app.login_demo("shi").await;
    let page = shi.get(&format!("/firms/{}/edit", firm.id.0)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let r = shi
        .post(
            &format!("/firms/{}/edit", firm.id.0),
            &[
                ("name", "更名后律师事务所"),
                ("credit_code", &firm.credit_code),
                ("region_code", &firm.region_code),
                ("form", &firm.form),
                ("lawyer_count", "12"),
                ("effective_on", "2020-01-01"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let now = app.firm(firm.id).await;
    assert_eq!(
        (now.name.as_str(), now.lawyer_count),
        ("更名后律师事务所", 12)
    );
    assert_clean(&app).await;
    let name_on = |lines: &[dengji::service::roster::Line]| {
        lines
            .iter()
            .find(|l| l.id == firm.id.0)
            .map(|l| (l.name.clone(), l.cells[3].clone()))
    };
    let (_, old) = app
        .services
        .roster()
        .page(OP, p.city, &filter(Roster::Firms, Some("2019-12-31")))
        .await
        .unwrap();
    assert_eq!(name_on(&old.items), Some((firm.name.clone(), "8".into())));
    let (_, new) = app
        .services
        .roster()
        .page(OP, p.city, &filter(Roster::Firms, None))
        .await
        .unwrap();
    assert_eq!(
        name_on(&new.items),
        Some(("更名后律师事务所".into(), "12".into()))
    );

    // Wrong input names the field; a credit code another firm has is refused without
    // saying which firm has it; a date before the current version is refused.
    let other = app.first_firm_of_city(p.other_city).await;
    let mut input = firm_input(&now);
    input.credit_code = "31110000E0001234".into();
    input.lawyer_count = "-1".into();
    match app.services.upkeep().edit_firm(OP, firm.id, &input).await {
        Err(ServiceError::Invalid(list)) => {
            let fields: Vec<_> = list.iter().map(|e| e.field).collect();
            assert_eq!(fields, ["credit_code", "lawyer_count"]);
        }
        other => panic!("{other:?}"),
    }
    let mut input = firm_input(&now);
    input.credit_code = other.credit_code.clone();
    let r = app.services.upkeep().edit_firm(OP, firm.id, &input).await;
    let msg = refusal(r);
    assert_eq!(msg, Refusal::CreditCodeTaken);
    assert!(!msg.to_string().contains(&other.name));
    let mut input = firm_input(&now);
    input.lawyer_count = "13".into();
    input.effective_on = "2019-06-01".into();
    assert_eq!(
        refusal(app.services.upkeep().edit_firm(OP, firm.id, &input).await),
        Refusal::EffectiveTooEarly("2020-01-01".into())
    );
    // A firm-level clerk may not edit the registry.
    let suo = app.login_demo("suo").await;
    let own = app.firm_of(p.firm_org).await;
    assert_eq!(
        suo.get(&format!("/firms/{}/edit", own.id.0)).await.status,
        StatusCode::FORBIDDEN
    );

    // Closing a firm with members is refused; the empty one closes from 2021-01-01.
    let r = shi
        .post(
            &format!("/firms/{}/close", own.id.0),
            &[("effective_on", ""), ("note", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("不能注销"), "{}", r.body);
    let r = shi
        .post(
            &format!("/firms/{}/close", firm.id.0),
            &[
                ("effective_on", "2021-01-01"),
                ("note", "经司法行政机关注销"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_clean(&app).await;
    assert!(
        !on_roster(&app, p.city, Roster::Firms, None)
            .await
            .contains(&firm.id.0)
    );
    assert!(
        on_roster(&app, p.city, Roster::Firms, Some("2020-12-31"))
            .await
            .contains(&firm.id.0)
    );
    assert!(
        !on_roster(&app, p.city, Roster::Firms, Some("2021-01-01"))
            .await
            .contains(&firm.id.0)
    );
    assert_eq!(app.audit("firm.close").await.len(), 1);
    assert_eq!(
        shi.get(&format!("/firms/{}", firm.id.0)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_firm_leaves_for_its_own_new_organisation_which_grows_into_a_general_branch() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let built = app.firm_org(p.city).with_members(2).build().await;
    let old_org = app.org(built.org).await;

    // The firm gets a new 党支部 of its own; its members follow.
    app.services
        .upkeep()
        .move_firm(
            OP,
            built.firm,
            &Cover::New {
                name: "中共新建律师事务所支部委员会".into(),
                kind: OrgKind::Branch,
            },
            "2020-05-01",
        )
        .await
        .unwrap();
    let firm = app.firm(built.firm).await;
    let new_org = firm.org_id.expect("a new organisation");
    assert_ne!(new_org, built.org);
    assert_eq!(app.members_of(new_org).await, built.members);
    assert!(app.members_of(built.org).await.is_empty());
    assert_clean(&app).await;
    assert_eq!(
        refusal(
            app.services
                .upkeep()
                .move_firm(OP, built.firm, &Cover::Org(new_org), "")
                .await
        ),
        Refusal::SamePlace
    );
    // Before the move the members were with the old organisation.
    let roster = Roster::Lawyers;
    let then = on_roster(&app, built.org, roster, Some("2020-04-30")).await;
    assert_eq!(then, built.members.iter().map(|m| m.0).collect::<Vec<_>>());
    assert!(on_roster(&app, built.org, roster, None).await.is_empty());

    // It grows into a 总支 with a new secretary, on its edit page.
    let shi = app.login_demo("shi").await;
    let r = shi
        .post(
            &format!("/orgs/{}/edit", new_org.0),
            &[
                ("name", "中共新建律师事务所总支部委员会"),
                ("kind", "general_branch"),
                ("secretary_name", "王书记"),
                ("contact_phone", "010-12345678"),
                ("formed_on", "2020-05-01"),
                ("effective_on", "2021-03-01"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let org = app.org(new_org).await;
    assert_eq!(org.kind, OrgKind::GeneralBranch);
    assert_eq!(org.secretary_name.as_deref(), Some("王书记"));
    assert_clean(&app).await;
    // The organisation roster as it was and as it is.
    let kinds = |lines: &[dengji::service::roster::Line]| {
        lines
            .iter()
            .find(|l| l.id == new_org.0)
            .map(|l| l.category.clone())
    };
    let (_, then) = app
        .services
        .roster()
        .page(OP, p.city, &filter(Roster::Orgs, Some("2021-02-28")))
        .await
        .unwrap();
    assert_eq!(kinds(&then.items).as_deref(), Some("branch"));
    let (_, now) = app
        .services
        .roster()
        .page(OP, p.city, &filter(Roster::Orgs, None))
        .await
        .unwrap();
    assert_eq!(kinds(&now.items).as_deref(), Some("general_branch"));

    // A sibling's name, a kind its level does not take: refused, nothing changed.
    let mut input = OrgInput {
        name: old_org.name.clone(),
        kind: "general_branch".into(),
        ..OrgInput::default()
    };
    assert_eq!(
        refusal(app.services.upkeep().edit_org(OP, new_org, &input).await),
        Refusal::OrgNameTaken
    );
    input.name = "另一个名称".into();
    input.kind = "judicial_org".into();
    assert!(matches!(
        refusal(app.services.upkeep().edit_org(OP, new_org, &input).await),
        Refusal::KindNotAllowed(_)
    ));
    assert_eq!(
        app.org(new_org).await.name,
        "中共新建律师事务所总支部委员会"
    );

    // The archives tell it: the organisation's edit, the member's move with the firm.
    let a = shi.get(&format!("/orgs/{}/archive", new_org.0)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("修改党组织信息"), "{}", a.body);
    assert!(a.body.contains("中共新建律师事务所支部委员会"));
    let m = shi
        .get(&format!("/members/{}/archive", built.members[0].0))
        .await;
    assert!(m.body.contains("律所调整所属党组织"), "{}", m.body);

    // Back to no organisation at all: the members' 组织关系 sit with the city.
    app.services
        .upkeep()
        .move_firm(OP, built.firm, &Cover::None, "")
        .await
        .unwrap();
    assert!(app.members_of(p.city).await.len() >= 2);
    assert_clean(&app).await;
}

#[tokio::test]
async fn the_roster_pages_filter_print_and_export_with_masked_numbers() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let shi = app.login_demo("shi").await;
    let page = shi
        .get(&format!(
            "/orgs/{}/rosters?roster=lawyers&category=full",
            p.city.0
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("律师党员名册"));
    assert!(page.body.contains("正式党员"));
    assert!(!page.body.contains("预备党员</td>"), "filtered to 正式党员");
    assert!(page.body.contains("********"), "ID numbers masked");
    // A date that is no date is named, not a 500.
    let bad = shi
        .get(&format!(
            "/orgs/{}/rosters?roster=orgs&as_of=2018-02-30",
            p.city.0
        ))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("截至日期"), "{}", bad.body);
    // Print and CSV export.
    let print = shi
        .get(&format!("/orgs/{}/rosters/print?roster=firms", p.city.0))
        .await;
    assert_eq!(print.status, StatusCode::OK);
    assert!(print.body.contains("律师事务所名册"));
    let (status, _, bytes) = shi
        .get_bytes(&format!(
            "/orgs/{}/rosters/export?roster=staff&format=csv",
            p.city.0
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("姓名,性别,出生日期,公民身份号码"), "{text}");
    let staff = on_roster(&app, p.city, Roster::Staff, None).await;
    // A header line, the watermark line and one line per member.
    assert_eq!(text.lines().count(), staff.len() + 2, "{text}");
    // Another province's roster is out of reach.
    assert_eq!(
        shi.get(&format!("/orgs/{}/rosters", p.other_province.0))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn organisations_are_merged_and_dissolved_only_once_nothing_hangs_under_them() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let a = app.firm_org(p.city).with_members(2).build().await;
    let b = app.firm_org(p.city).with_members(1).build().await;
    let clerk_at_a = app.login_as(Role::Clerk, a.org, None).await;

    // Dissolving an organisation with members and a firm is refused, naming what is left.
    let shi = app.login_demo("shi").await;
    let r = shi
        .post(
            &format!("/orgs/{}/dissolve", a.org.0),
            &[("effective_on", ""), ("note", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("还有 2 名党员、1 家律师事务所"),
        "{}",
        r.body
    );
    // A city is no firm-level organisation.
    assert_eq!(
        refusal(app.services.upkeep().dissolve_org(OP, p.city, "", "").await),
        Refusal::NotFirmLevel
    );
    // Into itself, or into another city's organisation: refused.
    assert_eq!(
        refusal(app.services.upkeep().merge_org(OP, a.org, a.org, "").await),
        Refusal::MergeTarget
    );
    let far = app.firm_org(p.other_city).build().await;
    assert_eq!(
        refusal(
            app.services
                .upkeep()
                .merge_org(OP, a.org, far.org, "")
                .await
        ),
        Refusal::MergeTarget
    );

    // Merging A into B moves A's firm and members to B, then A is gone from every list.
    let r = shi
        .post(
            &format!("/orgs/{}/merge", a.org.0),
            &[
                ("into", &b.org.0.to_string()),
                ("effective_on", "2020-09-01"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_clean(&app).await;
    assert_eq!(app.firm(a.firm).await.org_id, Some(b.org));
    let mut at_b: Vec<_> = a.members.iter().chain(&b.members).copied().collect();
    at_b.sort_by_key(|m| m.0);
    assert_eq!(app.members_of(b.org).await, at_b);
    assert!(!app.children_of(p.city).await.contains(&a.org));
    assert!(
        !on_roster(&app, p.city, Roster::Orgs, None)
            .await
            .contains(&a.org.0)
    );
    assert!(
        on_roster(&app, p.city, Roster::Orgs, Some("2020-08-31"))
            .await
            .contains(&a.org.0)
    );
    // Its accounts are disabled; its archive tells the merge.
    let r = clerk_at_a.get("/").await;
    assert_ne!(
        r.status,
        StatusCode::OK,
        "a dissolved organisation's account is off"
    );
    let archive = shi.get(&format!("/orgs/{}/archive", a.org.0)).await;
    assert!(archive.body.contains("合并党组织"), "{}", archive.body);
    // Once, not twice.
    assert!(matches!(
        app.services.upkeep().merge_org(OP, a.org, b.org, "").await,
        Err(ServiceError::NotFound)
    ));

    // An emptied organisation dissolves: B's firm goes to no organisation first.
    app.services
        .upkeep()
        .move_firm(OP, b.firm, &Cover::None, "")
        .await
        .unwrap();
    app.services
        .upkeep()
        .move_firm(OP, a.firm, &Cover::None, "")
        .await
        .unwrap();
    app.services
        .upkeep()
        .dissolve_org(OP, b.org, "", "党员均已调出")
        .await
        .unwrap();
    assert_clean(&app).await;
    assert_eq!(app.audit("org.dissolve").await.len(), 1);
    assert!(!app.children_of(p.city).await.contains(&b.org));
}

#[tokio::test]
async fn a_city_makes_its_organisations_accounts_from_a_sheet_written_by_hand() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let a = app.firm_org(p.city).build().await;
    let b = app.firm_org(p.city).build().await;
    let (na, nb) = (app.org(a.org).await.name, app.org(b.org).await.name);
    let admin = app.login_as(Role::Admin, p.city, None).await;
    let users_before = crate::helpers::count(&app, "SELECT COUNT(*) FROM users").await;

    // Wrong rows: every one named by row and column, and no account made.
    let bad = format!(
        "\u{feff}＊党组织,姓名,岗位,手机号码,备注\n\
         {na},张经办,经办,13800001111,\n\
         不存在的党组织,李四,审核人,13800002222,\n\
         {nb},王五,管理员,1380000,\n"
    );
    let r = admin
        .post_file(
            "/users/import",
            &[("output", "print")],
            "账号.csv",
            bad.as_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("第3行“党组织”列"), "{}", r.body);
    assert!(r.body.contains("第4行“角色”列"), "{}", r.body);
    assert!(r.body.contains("第4行“手机号”列"), "{}", r.body);
    assert_eq!(
        crate::helpers::count(&app, "SELECT COUNT(*) FROM users").await,
        users_before,
        "nothing half-made"
    );

    // The same people written right (full-width spaces, 书记 for 审核人) all get accounts.
    let good = format!(
        "党组织名称,姓名,角色,手机\n\
         {na},张经办,经办,13800001111\n\
         {nb} ,李书记,书记,13800002222\n\
         {nb},王审计,只读审计,13800003333\n"
    );
    let r = admin
        .post_file(
            "/users/import",
            &[("output", "print")],
            "账号.csv",
            good.as_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("m13800001111"), "{}", r.body);
    assert_eq!(
        crate::helpers::count(&app, "SELECT COUNT(*) FROM users").await,
        users_before + 3
    );
    let li = app.user("m13800002222").await;
    assert_eq!((li.role, li.org_id), (Role::Reviewer, b.org));
    // The code on the list activates the account; its holder then signs in at their node.
    let marker = "m13800001111</td><td class=\"mono\">";
    let at = r.body.find(marker).expect("the code beside the username") + marker.len();
    let code: String = r.body[at..].split('<').next().unwrap().to_owned();
    let anon = app.anonymous();
    let done = anon
        .post_raw(
            "/activate",
            &[
                ("username", "m13800001111"),
                ("code", &code),
                ("password", "Zhang-jingban-2026"),
                ("password2", "Zhang-jingban-2026"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let zhang = app.login("m13800001111", "Zhang-jingban-2026").await;
    let home = zhang.get(&format!("/orgs/{}", a.org.0)).await;
    assert_eq!(home.status, StatusCode::OK);
    // Importing the same sheet again makes new usernames, never a clash; as .xlsx.
    let (status, ctype, bytes) = {
        let r = admin
            .post_file(
                "/users/import",
                &[("output", "xlsx")],
                "账号.csv",
                good.as_bytes(),
            )
            .await;
        (
            r.status,
            r.header("content-type").unwrap_or_default(),
            r.body,
        )
    };
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.contains("spreadsheetml"), "{ctype}");
    assert!(!bytes.is_empty());
    assert_eq!(app.user("m13800001111-2").await.org_id, a.org);
    // Only administrators make accounts.
    let clerk = app.login_as(Role::Clerk, p.city, None).await;
    assert_eq!(
        clerk
            .post_file("/users/import", &[], "账号.csv", good.as_bytes())
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_next_campaign_starts_from_last_years_accepted_form_and_shows_what_changed() {
    use dengji::service::campaign::{CampaignForm, Deadlines};
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let m = app.registrable_lawyers_at(p.firm_org).await[0];
    assert!(app.file_member(m, None).await);
    app.services.review().approve(OP, &[m]).await.unwrap();
    let first = app.services.registration().view(OP, m).await.unwrap();
    assert!(
        first.previous.is_none(),
        "nothing before the first campaign"
    );
    app.services.campaign().close(OP).await.unwrap();

    // After the close the registry lives on: a firm is edited without any lock.
    let own = app.firm_of(p.firm_org).await;
    let mut input = firm_input(&own);
    input.lawyer_count = (own.lawyer_count + 1).to_string();
    app.services
        .upkeep()
        .edit_firm(OP, own.id, &input)
        .await
        .unwrap();

    // Deadlines out of order are refused, naming them; nothing starts.
    let bad = CampaignForm {
        name: "2019年度更新".into(),
        cutoff: "2019-12-31".into(),
        reference: String::new(),
        deadlines: Deadlines {
            firm: "2099-09-30".into(),
            city: "2099-08-31".into(),
            province: "2099-10-31".into(),
            national: "2099-11-30".into(),
        },
    };
    match app.services.campaign().start(OP, &bad).await {
        Err(ServiceError::Invalid(list)) => {
            assert!(list[0].to_string().contains("逐级递增"), "{list:?}")
        }
        other => panic!("{other:?}"),
    }
    // Judged today like the demo's own campaign (its records are dated around today).
    let today = dengji::service::beijing_today().to_string();
    app.start_campaign("2019年度更新", "2019-12-31", &today)
        .await;

    // The member's form in the new campaign starts from last year's approved one.
    let view = app.services.registration().view(OP, m).await.unwrap();
    let (from, changed) = view.previous.clone().expect("last year's form");
    assert!(from.starts_with("2018年"), "{from}");
    assert!(changed.is_empty(), "{changed:?}");
    for (k, v) in &first.values {
        assert_eq!(view.values.get(k), Some(v), "field {k} carried over");
    }
    let suo_shenhe = app.login_demo("suo_shenhe").await;
    let page = suo_shenhe
        .get(&format!("/members/{}/registration", m.0))
        .await;
    assert!(page.body.contains("carried-hint"), "{}", page.body);

    // Confirmed with a new mobile and submitted: the reviewer sees that one change.
    assert!(
        dengji::service::demo_motion::file_complete(
            &app.services,
            m,
            dengji::service::registration::Step::Submit,
            Some("13900001111")
        )
        .await
        .unwrap()
    );
    let page = suo_shenhe
        .get(&format!("/members/{}/registration", m.0))
        .await;
    assert!(
        page.body.contains("与上次登记相比修改的栏目"),
        "{}",
        page.body
    );
    assert!(page.body.contains("13900001111"), "{}", page.body);
    assert_clean(&app).await;
}
