//! 抽查核验 and 追责: a seeded stratified sample of registered records drawn and drawn again
//! identically, its bounds and bad parameters, assignment and the one check per record, a
//! 不属实 finding that returns the record and names the people who passed it up, the report with
//! its Wilson intervals, and the register of overdue nodes and cases with its handling.

use axum::http::StatusCode;

use dengji::domain::{
    AccountKind, AccountSource, Finding, MemberId, OrgLevel, RegistrationState, SampleId,
    SampleParams,
};
use dengji::service::accountability::AccountFilter;
use dengji::service::campaign::Deadlines;
use dengji::service::samples::{CheckInput, Item, ItemFilter};
use dengji::service::{Caller, Refusal, ServiceError};

use crate::helpers::{TestApp, demo_places};

const OP: Caller<'static> = Caller::Operator;

fn params(by: OrgLevel, rate: &str, min: u64, max: u64, seed: u64) -> SampleParams {
    SampleParams {
        by,
        rate_ppm: dengji::domain::sample::parse_rate(rate).unwrap(),
        min,
        max,
        weighted: false,
        seed,
    }
}

/// File and approve (as the operator) every registrable member of the nation.
async fn register_everyone(app: &TestApp) -> Vec<MemberId> {
    let mut filed = Vec::new();
    for m in app.all_members().await {
        if app.file_member(m.id, None).await {
            filed.push(m.id);
        }
    }
    app.services.review().approve(OP, &filed).await.unwrap();
    filed
}

async fn all_items(app: &TestApp, id: SampleId) -> Vec<Item> {
    let mut out = Vec::new();
    let mut page = 1;
    loop {
        let p = app
            .services
            .samples()
            .items(
                OP,
                id,
                &ItemFilter {
                    page,
                    per_page: 200,
                    ..ItemFilter::default()
                },
            )
            .await
            .unwrap();
        out.extend(p.items);
        if !p.has_next {
            return out;
        }
        page += 1;
    }
}

fn members_of(items: &[Item]) -> Vec<i64> {
    items.iter().map(|i| i.member_id.0).collect()
}

#[tokio::test]
async fn a_stratified_sample_is_drawn_again_identically_from_the_same_seed() {
    let app = TestApp::spawn().await;
    let registered = register_everyone(&app).await;
    let root = app.root().await;
    let samples = app.services.samples();
    let a = samples
        .draw(OP, root, &params(OrgLevel::City, "10%", 2, 4, 20181120), "")
        .await
        .unwrap();
    let view = samples.view(OP, a).await.unwrap();
    assert_eq!(view.sample.population, registered.len() as i64);
    assert!(view.strata.len() > 1, "one stratum per city");
    let p = params(OrgLevel::City, "10%", 2, 4, 20181120);
    for l in &view.strata {
        let s = &l.stratum;
        assert_eq!(s.size, p.stratum_size(s.population), "{}", s.org_name);
        assert!(s.size >= 2.min(s.population) && s.size <= 4);
    }
    let first = all_items(&app, a).await;
    assert_eq!(first.len() as u64, view.drawn);
    // Every sampled record lies in its stratum and appears once.
    for i in &first {
        let s = view
            .strata
            .iter()
            .find(|l| l.stratum.org_id == i.stratum_org_id)
            .unwrap();
        assert!(s.stratum.org_path.contains(&i.org_path));
    }
    // The frozen list holds each record with the digest of its content as approved.
    let frozen: String =
        sqlx::query_scalar("SELECT frozen FROM sample_strata WHERE sample_id = $1 AND org_id = $2")
            .bind(a.0)
            .bind(first[0].stratum_org_id.0)
            .fetch_one(app.services.db.pool())
            .await
            .unwrap();
    let entry = format!("{}:1:{}", first[0].member_id.0, &first[0].digest[..16]);
    assert!(frozen.split(',').any(|e| e == entry), "{entry} in {frozen}");
    let mut unique = members_of(&first);
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), first.len());

    // The same seed on the same records: the same records in the same order — also where a
    // form carries no approval digest (loaded in bulk) and its content is digested instead.
    for sql in [
        "DELETE FROM registration_reviews WHERE registration_id % 2 = 0",
        "UPDATE registrations SET approved_digest = NULL WHERE id % 2 = 0",
    ] {
        sqlx::query(sql)
            .execute(app.services.db.pool())
            .await
            .unwrap();
    }
    let b = samples
        .draw(OP, root, &params(OrgLevel::City, "10%", 2, 4, 20181120), "")
        .await
        .unwrap();
    let again = samples.view(OP, b).await.unwrap();
    assert_eq!(members_of(&all_items(&app, b).await), members_of(&first));
    assert_eq!(
        again.sample.population_digest,
        view.sample.population_digest
    );
    // Another seed draws another sample; each re-draws from its frozen list.
    let c = samples
        .draw(OP, root, &params(OrgLevel::City, "10%", 2, 4, 7), "")
        .await
        .unwrap();
    assert_ne!(members_of(&all_items(&app, c).await), members_of(&first));
    assert!(samples.reproduces(OP, a).await.unwrap());
    let (ok, out, err) = app.cli(&["sample", "verify", &a.0.to_string()]).await;
    assert!(ok, "{err}");
    assert!(out.contains("完全一致"), "{out}");

    // Tampering with the stored sample (two records' order swapped) is found by the re-draw.
    for (from, to) in [(1, -1), (2, 1), (-1, 2)] {
        sqlx::query("UPDATE sample_items SET position = $1 WHERE sample_id = $2 AND position = $3")
            .bind(to)
            .bind(a.0)
            .bind(from)
            .execute(app.services.db.pool())
            .await
            .unwrap();
    }
    assert_ne!(members_of(&all_items(&app, a).await), members_of(&first));
    assert!(!samples.reproduces(OP, a).await.unwrap());
    let (ok, _, err) = app.cli(&["sample", "verify", &a.0.to_string()]).await;
    assert!(!ok && err.contains("不一致"), "{err}");
    assert_eq!(app.audit("sample.draw").await.len(), 3);

    // `dengji check` holds every sampled record to its form, and every approved form to the
    // digest of its approval.
    let (ok, out, err) = app.cli(&["check"]).await;
    assert!(ok, "{out}{err}");
    sqlx::query("UPDATE sample_items SET member_id = member_id + 1000000 WHERE sample_id = $1 AND position = 3")
        .bind(c.0)
        .execute(app.services.db.pool())
        .await
        .unwrap();
    sqlx::query(
        "UPDATE registrations SET approved_digest = 'x' WHERE id = \
         (SELECT MIN(registration_id) FROM registration_reviews WHERE decision = 'approve')",
    )
    .execute(app.services.db.pool())
    .await
    .unwrap();
    let (ok, out, err) = app.cli(&["check"]).await;
    assert!(!ok);
    let report = format!("{out}{err}");
    assert!(
        report.contains("抽查记录的党员、分层应与其登记表相符"),
        "{report}"
    );
    assert!(
        report.contains("已审核通过的登记表应带有最近一次审核通过时的内容摘要"),
        "{report}"
    );
}

#[tokio::test]
async fn bad_parameters_and_levels_are_refused_and_nothing_is_drawn() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let root = app.root().await;
    // Nothing registered yet.
    let r = app
        .services
        .samples()
        .draw(OP, root, &params(OrgLevel::City, "2%", 5, 200, 1), "")
        .await;
    assert!(matches!(
        r,
        Err(ServiceError::Conflict(Refusal::NothingToSample))
    ));
    register_everyone(&app).await;
    let reviewer = app.login_demo("quanguo").await;
    let path = format!("/orgs/{}/samples", root.0);
    let form = |by: &'static str, rate: &'static str, min: &'static str, max: &'static str| {
        vec![
            ("by", by),
            ("rate", rate),
            ("min", min),
            ("max", max),
            ("seed", "9"),
        ]
    };
    for (f, words) in [
        (form("city", "0", "5", "200"), "抽样比例：抽样比例须大于 0"),
        (
            form("city", "1.5", "5", "200"),
            "抽样比例：抽样比例不能超过 100%",
        ),
        (form("city", "两成", "5", "200"), "抽样比例：“两成”不是数字"),
        (
            form("city", "2%", "9", "3"),
            "每层最少：每层最少（9）不能大于每层最多（3）",
        ),
        (
            form("county", "2%", "5", "200"),
            "分层级别：没有“county”这一级",
        ),
        (form("city", "2%", "five", "200"), "每层最少：请填写整数"),
    ] {
        let r = reviewer.post(&path, &f).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{words}");
        assert!(r.body.contains(words), "{words}: {}", r.body);
    }
    // A province stratified by province, a city drawing: refused.
    let r = app
        .services
        .samples()
        .draw(
            OP,
            p.province,
            &params(OrgLevel::Province, "2%", 5, 200, 1),
            "",
        )
        .await;
    assert!(
        matches!(&r, Err(ServiceError::Invalid(l)) if l[0].field == "分层级别"),
        "{r:?}"
    );
    let r = app
        .services
        .samples()
        .draw(OP, p.city, &params(OrgLevel::Firm, "2%", 5, 200, 1), "")
        .await;
    assert!(matches!(
        r,
        Err(ServiceError::Conflict(Refusal::NotADrawingLevel))
    ));
    // A clerk may not draw; nothing was stored by any of these.
    let clerk = app.login_demo("sheng").await;
    let r = clerk
        .post(
            &format!("/orgs/{}/samples", p.province.0),
            &form("city", "2%", "5", "200"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        crate::helpers::count(&app, "SELECT COUNT(*) FROM samples").await,
        0
    );
    // A province draws over its own subtree; another province's reviewer cannot see it.
    let id = app
        .services
        .samples()
        .draw(OP, p.province, &params(OrgLevel::City, "50%", 1, 10, 3), "")
        .await
        .unwrap();
    let other = app
        .login_as(dengji::domain::Role::Reviewer, p.other_province, None)
        .await;
    assert_eq!(
        other.get(&format!("/samples/{}", id.0)).await.status,
        StatusCode::NOT_FOUND
    );
    let page = app
        .login_demo("sheng")
        .await
        .get(&format!("/samples/{}", id.0))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("按地市级分层，比例 50%"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_false_finding_returns_the_record_and_names_who_passed_it_up() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    // The firm's members file; its 书记 approves them on the web; the firm submits, naming its
    // 书记 and 组织委员; the city accepts.
    let mut filed = Vec::new();
    for m in app.members_of(p.firm_org).await {
        if app.file_member(m, None).await {
            filed.push(m);
        }
    }
    let secretary = app.login_demo("suo_shenhe").await;
    for m in &filed {
        let r = secretary
            .post(&format!("/members/{}/approve", m.0), &[])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    app.file_a3(p.firm_org).await;
    app.services
        .package()
        .submit(OP, p.firm_org, &crate::helpers::input())
        .await
        .unwrap();
    let v = app.package_version(p.firm_org).await;
    app.services
        .package()
        .accept(OP, p.firm_org, v)
        .await
        .unwrap();

    // The nation draws every registered record, stratified by firm organisation.
    let root = app.root().await;
    let id = app
        .services
        .samples()
        .draw(
            OP,
            root,
            &params(OrgLevel::Firm, "100%", 1, 50, 11),
            "全面审核",
        )
        .await
        .unwrap();
    let items = all_items(&app, id).await;
    assert_eq!(items.len(), filed.len());
    let target = &items[0];
    let second = &items[1];

    // Assigned to the city's clerk for that stratum; the national reviewer assigns.
    let national = app.login_demo("quanguo").await;
    let r = national
        .post(
            &format!("/samples/{}/assign", id.0),
            &[("stratum", &p.firm_org.0.to_string()), ("username", "shi")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // An account of another branch cannot be a checker here.
    let r = national
        .post(
            &format!("/samples/{}/assign", id.0),
            &[("stratum", ""), ("username", "shi")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("核查人须为抽样单位"), "{}", r.body);

    // The second record changes after it was drawn: the check page says so.
    app.services
        .review()
        .send_back(OP, second.member_id, "incorrect", "补充手机号码")
        .await
        .unwrap();
    let view = app.services.samples().item(OP, second.id).await.unwrap();
    assert!(
        !view.changed_since_drawn,
        "a return alone keeps the content"
    );
    sqlx::query(
        "UPDATE registrations SET data = REPLACE(data, '\"mobile\":', '\"mobile_old\":') \
         WHERE member_id = $1",
    )
    .bind(second.member_id.0)
    .execute(app.services.db.pool())
    .await
    .unwrap();
    let checker = app.login_demo("shi").await;
    let page = checker
        .get(&format!("/samples/items/{}", second.id.0))
        .await;
    assert!(
        page.body.contains("抽取后登记表内容已变更"),
        "{}",
        page.body
    );

    // 不属实 without a field or a note is refused, naming what is missing; nothing stored.
    let path = format!("/samples/items/{}/check", target.id.0);
    let version = target.version + 1; // the assignment moved it
    let r = checker
        .post(
            &path,
            &[
                ("version", &version.to_string()),
                ("result", "false"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("不属实的项目：请勾选"), "{}", r.body);
    // Another account of the same node is not the assigned checker.
    let outsider = app
        .login_as(dengji::domain::Role::Reviewer, p.city, None)
        .await;
    let r = outsider
        .post(
            &path,
            &[
                ("version", &version.to_string()),
                ("result", "true"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("已分配给"), "{}", r.body);
    assert_eq!(
        app.form_state(target.member_id).await,
        RegistrationState::Approved
    );

    let r = checker
        .post(
            &path,
            &[
                ("version", &version.to_string()),
                ("result", "false"),
                ("field", "mobile"),
                ("field", "education"),
                ("note", "手机号码与本人不符，学历与档案不符"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // The record is returned to the member, the accepted package reopened.
    assert_eq!(
        app.form_state(target.member_id).await,
        RegistrationState::Returned
    );
    assert_eq!(
        app.package_state(p.firm_org).await,
        Some(dengji::domain::PackageState::Returned)
    );
    let member_notices = crate::helpers::count(
        &app,
        &format!(
            "SELECT COUNT(*) FROM notifications n JOIN users u ON u.id = n.user_id \
             WHERE u.member_id = {} AND n.title LIKE '%抽查核验不属实%'",
            target.member_id.0
        ),
    )
    .await;
    let has_account = crate::helpers::count(
        &app,
        &format!(
            "SELECT COUNT(*) FROM users WHERE member_id = {}",
            target.member_id.0
        ),
    )
    .await;
    assert_eq!(
        member_notices, has_account,
        "the member is told, if they have an account"
    );
    // A second check of the same record is refused; the first stands.
    let r = checker
        .post(
            &path,
            &[
                ("version", &(version + 1).to_string()),
                ("result", "true"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("不能重复核验"), "{}", r.body);

    // The accountability record names the firm organisation, the people its package named
    // and the reviewer who approved the record.
    let register = app
        .services
        .accountability()
        .register(
            OP,
            p.city,
            &AccountFilter {
                page: 1,
                per_page: 50,
                ..AccountFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(register.counts.falsified, 1);
    let a = &register.page.items[0];
    assert_eq!(a.kind, AccountKind::Falsified);
    assert_eq!(a.source, AccountSource::Finding);
    assert_eq!(a.org_id, p.firm_org);
    let people: Vec<String> = a
        .people
        .iter()
        .map(|x| format!("{}={}", x.role, x.name))
        .collect();
    assert!(
        people
            .iter()
            .any(|x| x.contains("书记") && x.ends_with("=王强")),
        "{people:?}"
    );
    assert!(
        people
            .iter()
            .any(|x| x.contains("组织委员") && x.ends_with("=李明")),
        "{people:?}"
    );
    assert!(
        people
            .iter()
            .any(|x| x.contains("审核人") && x.contains("律所党组织书记")),
        "{people:?}"
    );
    assert!(a.summary.contains("手机号码、学历"), "{}", a.summary);
    assert!(
        a.evidence
            .iter()
            .any(|e| e.link == format!("/samples/items/{}", target.id.0))
    );

    // The report: the stratum's false rate with its interval, on the page and in the file.
    let view = app.services.samples().view(OP, id).await.unwrap();
    let line = view
        .strata
        .iter()
        .find(|l| l.stratum.org_id == p.firm_org)
        .unwrap();
    assert_eq!((line.stratum.checked, line.stratum.false_count), (1, 1));
    let page = national.get(&format!("/samples/{}", id.0)).await;
    assert!(page.body.contains("100.0%"), "{}", page.body);
    let (status, _, bytes) = national
        .get_bytes(&format!("/samples/{}/report.xlsx", id.0))
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(crate::helpers::python(
        "import openpyxl,sys\nwb=openpyxl.load_workbook(sys.argv[1])\n\
         print('|'.join(str(c.value) for r in wb['抽查核验报告'].iter_rows() for c in r))\n\
         print('|'.join(str(c.value) for r in wb['抽查记录'].iter_rows() for c in r))",
        &[tempfile_with(&bytes).as_os_str()],
    ))
    .unwrap();
    assert!(text.contains("不属实"), "{text}");
    assert!(text.contains("手机号码、学历"), "{text}");
    assert!(text.contains("合计（按分层总体加权）"), "{text}");
}

/// Bytes written to a file that lives as long as the test process.
fn tempfile_with(bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dengji-sample-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!(
        "{}.xlsx",
        crate::helpers::fresh_id(bytes.len() as u32)
    ));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[tokio::test]
async fn two_checkers_at_once_one_result_stands_and_the_other_is_refused() {
    let app = TestApp::spawn().await;
    register_everyone(&app).await;
    let root = app.root().await;
    let id = app
        .services
        .samples()
        .draw(OP, root, &params(OrgLevel::Province, "5%", 1, 3, 5), "")
        .await
        .unwrap();
    let item = all_items(&app, id).await.remove(0);
    let check = |finding: Finding, note: &'static str| {
        let services = app.services.clone();
        let input = CheckInput {
            version: item.version,
            finding,
            false_fields: Vec::new(),
            note: note.into(),
        };
        async move { services.samples().check(OP, item.id, &input).await }
    };
    let (a, b) = tokio::join!(
        check(Finding::True, "第一位核查人"),
        check(Finding::True, "第二位核查人")
    );
    let (ok, refused): (Vec<_>, Vec<_>) = [a, b].into_iter().partition(Result::is_ok);
    assert_eq!(ok.len(), 1, "{refused:?}");
    assert!(matches!(
        refused[0],
        Err(ServiceError::Conflict(Refusal::AlreadyChecked(_)))
    ));
    let stored = app.services.samples().item(OP, item.id).await.unwrap().item;
    assert_eq!(stored.result, Some(Finding::True));
    assert!(stored.note.unwrap().ends_with("核查人"));
    assert_eq!(app.audit("sample.check").await.len(), 1);
}

#[tokio::test]
async fn missed_deadlines_and_overdue_cases_are_registered_and_handled_above() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let today = dengji::service::beijing_today();
    let day = |n: i64| (today + time::Duration::days(n)).to_string();
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
    app.services.package().sweep_deadlines().await.unwrap();
    // An overdue case: opened, its due date moved into the past.
    let member = app.registrable_lawyers_at(p.firm_org).await[0];
    app.services
        .cases()
        .open(OP, member, "1", "组织关系仍在原单位")
        .await
        .unwrap();
    sqlx::query("UPDATE cases SET due_on = '2000-01-01' WHERE member_id = $1")
        .bind(member.0)
        .execute(app.services.db.pool())
        .await
        .unwrap();
    let added = app.services.accountability().sweep().await.unwrap();
    let firm_orgs =
        crate::helpers::count(&app, "SELECT COUNT(*) FROM orgs WHERE level = 'firm'").await;
    assert_eq!(
        added as i64,
        firm_orgs + 1,
        "every late firm organisation and the case"
    );
    assert_eq!(
        app.services.accountability().sweep().await.unwrap(),
        0,
        "once each"
    );

    let f = AccountFilter {
        page: 1,
        per_page: 200,
        ..AccountFilter::default()
    };
    let city = app
        .services
        .accountability()
        .register(OP, p.city, &f)
        .await
        .unwrap();
    let case = city
        .page
        .items
        .iter()
        .find(|a| a.source == AccountSource::OverdueCase)
        .unwrap();
    assert_eq!(case.org_id, p.city, "held against the case's owner node");
    assert_eq!(case.kind, AccountKind::Delay);
    let late = city
        .page
        .items
        .iter()
        .find(|a| a.source == AccountSource::OverdueMark && a.org_id == p.firm_org)
        .unwrap();
    assert!(late.summary.contains(&day(-3)), "{}", late.summary);

    // The firm's own reviewer cannot record the handling of its own record; the city's can.
    let own = app.login_demo("suo_shenhe").await;
    let path = format!("/accountability/{}/decision", late.id.0);
    let form = |d: &'static str, on: String| {
        vec![
            ("decision".to_owned(), d.to_owned()),
            ("note".to_owned(), "已约谈书记，限期报送".to_owned()),
            ("on".to_owned(), on),
            ("version".to_owned(), late.version.to_string()),
        ]
    };

    let r = own.post(&path, &refs(&form("talk", day(0)))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let reviewer = app.login_demo("shi_shenhe").await;
    for (f, words) in [
        (form("", day(0)), "处理方式：请选择处理方式"),
        (
            form("talk", "2018/12/01".into()),
            "处理日期：请按 2018-12-01 的格式填写日期",
        ),
        (form("talk", day(1)), "处理日期：处理日期不能晚于今天"),
    ] {
        let r = reviewer.post(&path, &refs(&f)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{words}");
        assert!(r.body.contains(words), "{words}: {}", r.body);
    }
    let r = reviewer.post(&path, &refs(&form("talk", day(0)))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = reviewer
        .get(&format!("/accountability/{}", late.id.0))
        .await;
    assert!(page.body.contains("约谈（"), "{}", page.body);
    // The same stale version again is refused.
    let r = reviewer.post(&path, &refs(&form("educate", day(0)))).await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // The register page and its file, scoped: another province sees none of it.
    let page = reviewer
        .get(&format!("/orgs/{}/accountability", p.city.0))
        .await;
    assert!(page.body.contains("工作拖沓"), "{}", page.body);
    let (status, _, bytes) = reviewer
        .get_bytes(&format!("/orgs/{}/accountability.xlsx", p.city.0))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes.starts_with(b"PK"));
    let other = app
        .login_as(dengji::domain::Role::Reviewer, p.other_province, None)
        .await;
    assert_eq!(
        other
            .get(&format!("/accountability/{}", late.id.0))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let theirs = app
        .services
        .accountability()
        .register(OP, p.other_province, &f)
        .await
        .unwrap();
    let theirs_path = app.org(p.other_province).await.path;
    assert!(!theirs.page.items.is_empty());
    assert!(
        theirs
            .page
            .items
            .iter()
            .all(|a| theirs_path.contains(&a.org_path))
    );
}

fn refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}
