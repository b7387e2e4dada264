//! The exchange with the 全国律师综合管理系统: a roster written the way people write sheets
//! (GB18030, short code values, other column names, an extra column) loaded as a snapshot,
//! every reconciliation category found at the city and counted up the tree, a line explained
//! and the note kept on the next snapshot, the workbook, the command line, the scope — and
//! every kind of bad file refused with its row and column, storing nothing.

use axum::http::StatusCode;
use dengji::domain::{OrgId, Role};
use dengji::service::Caller;
use dengji::service::exchange::{Input, Loaded, Source};
use dengji::store::licensing::Category;
use sqlx::Row;

use crate::helpers::{TestApp, count, demo_places, fresh_id};

const OP: Caller<'static> = Caller::Operator;

/// A registered lawyer as the roster would list them.
#[derive(Debug, Clone)]
struct Lawyer {
    member: i64,
    name: String,
    id: String,
    licence: String,
    practice_type: String,
    path: String,
    firm_code: String,
    firm_name: String,
}

async fn registered_lawyers(app: &TestApp) -> Vec<Lawyer> {
    let rows = sqlx::query(
        "SELECT m.id, m.name, m.citizen_id_enc, m.licence_no, m.practice_type, m.org_path, \
         f.credit_code, f.name AS firm_name FROM members m JOIN firms f ON f.id = m.firm_id \
         WHERE m.category = 'lawyer' AND m.stopped_on IS NULL ORDER BY m.id",
    )
    .fetch_all(app.services.db.pool())
    .await
    .unwrap();
    rows.iter()
        .map(|r| Lawyer {
            member: r.get("id"),
            name: r.get("name"),
            id: app
                .services
                .keys
                .decrypt_id(&r.get::<Vec<u8>, _>("citizen_id_enc"))
                .unwrap(),
            licence: r.get::<Option<String>, _>("licence_no").unwrap_or_default(),
            practice_type: r
                .get::<Option<String>, _>("practice_type")
                .unwrap_or_default(),
            path: r.get("org_path"),
            firm_code: r.get("credit_code"),
            firm_name: r.get("firm_name"),
        })
        .collect()
}

fn practice_label(code: &str) -> &'static str {
    match code {
        "1" => "专职",
        "2" => "兼职",
        _ => "专职律师",
    }
}

/// A valid law-firm credit code registered in `region` (6 digits).
fn credit_code(region: &str, serial: u32) -> String {
    let body = format!("31{region}{serial:09}");
    let check = dengji::domain::credit_code::check_char(body.as_bytes()).unwrap();
    format!("{body}{check}")
}

/// A licence number of the first-licence year and practice type given.
fn licence(year: i32, practice: char, serial: u32) -> String {
    format!("11101{year}{practice}1{serial:06}")
}

fn gb18030(text: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(text).0.into_owned()
}

async fn load(app: &TestApp, files: Vec<(&str, Vec<u8>)>, mapping: Option<&str>) -> Loaded {
    load_at(app, files, mapping, "2018-07-31").await
}

async fn load_at(
    app: &TestApp,
    files: Vec<(&str, Vec<u8>)>,
    mapping: Option<&str>,
    as_of: &str,
) -> Loaded {
    let inputs = files
        .into_iter()
        .map(|(name, bytes)| Input {
            name: name.into(),
            source: Source::Bytes(bytes),
        })
        .collect();
    app.services
        .exchange()
        .load(OP, inputs, mapping, as_of)
        .await
        .unwrap()
}

fn loaded(l: Loaded) -> dengji::store::licensing::Snapshot {
    match l {
        Loaded::Done(s) => s,
        Loaded::Refused { problems, .. } => panic!("refused: {problems:?}"),
    }
}

fn refused(l: Loaded) -> String {
    match l {
        Loaded::Done(s) => panic!("loaded {s:?}"),
        Loaded::Refused { problems, .. } => problems
            .iter()
            .map(|p| format!("{} {}", p.place(), p.message))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

struct Built {
    /// The campaign's judging day: the roster's data date, six months counted back from it.
    judged: time::Date,
    lawyers: Vec<u8>,
    firms: Vec<u8>,
    city_path: String,
    changed: Changed,
}

#[derive(Clone)]
struct Changed {
    renamed: Lawyer,
    revoked: Lawyer,
    moved: Lawyer,
    part_time: Lawyer,
    missing: Lawyer,
    unregistered_licence: String,
    new_firm: String,
    dropped_firm: String,
}

/// The whole nation's registered lawyers and firms as the licensing system would send them,
/// with one of each kind of difference in the demo city.
async fn roster(app: &TestApp, city: OrgId) -> Built {
    let city_org = app.org(city).await;
    let mut conn = app.services.db.acquire().await.unwrap();
    let campaign = dengji::store::campaigns::latest(&mut conn)
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    let judged = time::Date::parse(
        campaign.judged_at(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap();
    let two_months_before = judged - time::Duration::days(61);
    let city_path = city_org.path.as_str().to_owned();
    let all = registered_lawyers(app).await;
    let in_city: Vec<&Lawyer> = all
        .iter()
        .filter(|l| {
            l.path.starts_with(&city_path) && l.practice_type == "1" && !l.licence.is_empty()
        })
        .collect();
    assert!(in_city.len() >= 5, "the demo city has lawyers");
    let (renamed, revoked, moved, part_time, missing) = (
        in_city[0].clone(),
        in_city[1].clone(),
        in_city[2].clone(),
        in_city[3].clone(),
        in_city[4].clone(),
    );
    let other_firm = all
        .iter()
        .find(|l| l.firm_code != moved.firm_code)
        .expect("another firm")
        .clone();
    // Written by hand: other headers, an extra 备注 column, short code values, dates typed
    // three ways.
    let mut csv = String::from(
        "序号,律师姓名,身份证号,律师执业证号,执业机构,律所统一社会信用代码,执业类别,状态,状态变更日期,进所日期,政治面貌,备注\n",
    );
    for (i, l) in all.iter().enumerate() {
        if l.member == missing.member {
            continue;
        }
        let mut name = l.name.clone();
        let mut status = "正常";
        let mut changed_on = String::new();
        let mut since = String::new();
        let mut firm = (l.firm_name.clone(), l.firm_code.clone());
        let mut practice = practice_label(&l.practice_type).to_owned();
        if l.member == renamed.member {
            name.push('某');
        }
        if l.member == revoked.member {
            status = "吊销";
            changed_on = "2017/1/5".into();
        }
        if l.member == moved.member {
            firm = (other_firm.firm_name.clone(), other_firm.firm_code.clone());
            since = format!(
                "{}年{}月{}日",
                two_months_before.year(),
                two_months_before.month() as u8,
                two_months_before.day()
            );
        }
        if l.member == part_time.member {
            practice = "兼职".into();
        }
        let licence = if l.licence.is_empty() {
            licence(2010, '1', 900_000 + i as u32)
        } else {
            l.licence.clone()
        };
        csv.push_str(&format!(
            "{},{name},{},{licence},{},{},{practice},{status},{changed_on},{since},党员,\n",
            i + 1,
            l.id,
            firm.0,
            firm.1
        ));
    }
    // Two party members the city never registered (one 专职: listed; one 兼职: not), and a
    // 群众 lawyer (not listed).
    let firm = &in_city[0];
    let unregistered_licence = licence(2012, '1', 1);
    for (seq, lic, practice, political) in [
        (1, unregistered_licence.clone(), "专职", "中共预备党员"),
        (2, licence(2012, '2', 2), "兼职", "中共党员"),
        (3, licence(2012, '1', 3), "专职", "群众"),
    ] {
        csv.push_str(&format!(
            "x,未登记{seq},{},{lic},{}（普通合伙）,{},{practice},执业,,,{political},手工补录\n",
            fresh_id(seq),
            firm.firm_name,
            firm.firm_code
        ));
    }
    // Firms: ours except one, and one the registry lacks, in the city's region.
    let firms = sqlx::query("SELECT credit_code, name, region_code FROM firms ORDER BY id")
        .fetch_all(app.services.db.pool())
        .await
        .unwrap();
    let region = city_org
        .region_code
        .clone()
        .expect("the demo city has a region");
    let new_firm = credit_code(&region, 4242);
    let dropped_firm: String = firms
        .iter()
        .map(|r| r.get::<String, _>("credit_code"))
        .find(|c| !all.iter().any(|l| l.firm_code == *c) && c.get(2..6) == Some(&region[..4]))
        .unwrap_or_else(|| firms[firms.len() - 1].get("credit_code"));
    let mut firm_csv = String::from("\u{feff}统一社会信用代码,律所名称,行政区划代码,律所状态\n");
    for r in &firms {
        let code: String = r.get("credit_code");
        if code == dropped_firm {
            continue;
        }
        firm_csv.push_str(&format!(
            "{code},{},{},正常\n",
            r.get::<String, _>("name"),
            r.get::<String, _>("region_code")
        ));
    }
    firm_csv.push_str(&format!("{new_firm},新设律师事务所,{region},执业\n"));
    Built {
        judged,
        lawyers: gb18030(&csv),
        firms: firm_csv.into_bytes(),
        city_path,
        changed: Changed {
            renamed,
            revoked,
            moved,
            part_time,
            missing,
            unregistered_licence,
            new_firm,
            dropped_firm,
        },
    }
}

fn total(r: &dengji::service::exchange::Reconciliation, c: Category) -> (i64, i64) {
    r.totals
        .iter()
        .find(|t| t.0 == c)
        .map(|t| (t.1, t.2))
        .unwrap()
}

#[tokio::test]
async fn a_roster_written_by_hand_loads_and_every_category_is_found_at_the_city() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let b = roster(&app, p.city).await;
    let ch = b.changed.clone();

    // No snapshot yet: the page says what to do.
    let shi = app.login_demo("shi").await;
    let r = shi.get(&format!("/orgs/{}/reconcile", p.city.0)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        r.body.contains("尚未载入全国律师综合管理系统的名册"),
        "{}",
        r.body
    );
    // A city account cannot load a roster.
    let r = shi
        .post_files(
            "/exchange",
            &[("as_of", "2018-07-31")],
            &[("lawyers", "律师.csv", &b.lawyers)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // The national committee loads both files through the page.
    let national = app.login_as(Role::Clerk, app.root().await, None).await;
    let as_of = b.judged.to_string();
    let r = national
        .post_files(
            "/exchange",
            &[("as_of", &as_of)],
            &[
                ("lawyers", "律师名册.csv", &b.lawyers),
                ("firms", "律所名册.csv", &b.firms),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = national.get(&r.location().unwrap()).await;
    assert!(page.body.contains("名册已载入"), "{}", page.body);
    assert!(page.body.contains("律师名册.csv"), "{}", page.body);
    let lawyers_loaded = count(&app, "SELECT COUNT(*) FROM licence_lawyers").await;
    assert_eq!(
        lawyers_loaded,
        registered_lawyers(&app).await.len() as i64 - 1 + 3,
        "every row but the one left out, and the three added"
    );
    // ID numbers are stored encrypted, never as typed.
    let plain = count(
        &app,
        &format!(
            "SELECT COUNT(*) FROM licence_lawyers WHERE citizen_id_masked = '{0}' OR citizen_id_index = '{0}'",
            ch.renamed.id
        ),
    )
    .await;
    assert_eq!(plain, 0);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'licensing.load'"
        )
        .await,
        1
    );

    let svc = app.services.exchange();
    let r = svc.reconcile(OP, p.city).await.unwrap();
    // Every registered lawyer of the city is in exactly one line or matched.
    let city_lawyers = registered_lawyers(&app)
        .await
        .into_iter()
        .filter(|l| l.path.starts_with(&b.city_path))
        .collect::<Vec<_>>();
    let part_timers_registered = city_lawyers
        .iter()
        .filter(|l| l.practice_type == "2")
        .count() as i64;
    let member_lines: i64 = [
        Category::Mismatch,
        Category::Unlicensed,
        Category::Ineligible,
    ]
    .iter()
    .map(|c| total(&r, *c).0)
    .sum();
    assert_eq!(member_lines + r.matched, city_lawyers.len() as i64);
    assert_eq!(total(&r, Category::Unregistered), (1, 0));
    assert_eq!(
        total(&r, Category::Unlicensed).0,
        3,
        "revoked, moved, missing"
    );
    assert_eq!(
        total(&r, Category::Ineligible).0,
        1 + part_timers_registered,
        "the one made 兼职 and the demo's own 兼职 registrations"
    );
    assert_eq!(total(&r, Category::FirmMissing).0, 1);

    // The lines say what is wrong, with the date and the six months of case 4.
    let lines = svc
        .lines(OP, p.city, Category::Unlicensed, 1, 50)
        .await
        .unwrap();
    let line = |m: i64| {
        lines
            .lines
            .iter()
            .find(|l| l.member.map(|x| x.0) == Some(m))
            .unwrap_or_else(|| panic!("member {m} listed: {:?}", lines.lines))
            .clone()
    };
    let revoked = line(ch.revoked.member);
    assert!(revoked.finding.contains("已吊销"), "{revoked:?}");
    assert_eq!(revoked.since.as_deref(), Some("2017-01-05"));
    assert!(revoked.over_six_months);
    let moved = line(ch.moved.member);
    assert!(moved.finding.contains("另一律所"), "{moved:?}");
    assert_eq!(
        moved.since.as_deref(),
        Some((b.judged - time::Duration::days(61)).to_string().as_str())
    );
    assert!(!moved.over_six_months, "two months before the judging day");
    assert!(line(ch.missing.member).finding.contains("均未找到"));
    assert!(!revoked.masked.contains(&ch.revoked.id[6..14]), "masked");

    let mismatch = svc
        .lines(OP, p.city, Category::Mismatch, 1, 50)
        .await
        .unwrap();
    let renamed = mismatch
        .lines
        .iter()
        .find(|l| l.member.map(|x| x.0) == Some(ch.renamed.member))
        .expect("the renamed lawyer");
    assert!(
        renamed.differences.iter().any(|d| d.0 == "姓名"
            && d.1 == ch.renamed.name
            && d.2 == format!("{}某", ch.renamed.name)),
        "{renamed:?}"
    );
    let ineligible = svc
        .lines(OP, p.city, Category::Ineligible, 1, 50)
        .await
        .unwrap();
    assert!(
        ineligible
            .lines
            .iter()
            .any(|l| l.member.map(|x| x.0) == Some(ch.part_time.member)
                && l.finding.contains("兼职律师"))
    );
    let firms = svc
        .lines(OP, p.city, Category::FirmMissing, 1, 50)
        .await
        .unwrap();
    assert_eq!(firms.lines[0].firm_code, ch.new_firm);

    // Counted up the tree: the province's and the nation's include the city's.
    let province = svc.reconcile(OP, p.province).await.unwrap();
    let city_row = province
        .children
        .iter()
        .find(|(o, _, _)| o.id == p.city)
        .expect("the city among the province's children");
    let unregistered_at = Category::ALL
        .iter()
        .position(|c| *c == Category::Unregistered)
        .unwrap();
    assert_eq!(city_row.1[unregistered_at].0, 1);
    let nation = svc.reconcile(OP, app.root().await).await.unwrap();
    let unlisted = total(&nation, Category::FirmUnlisted).0;
    assert!(unlisted >= 1, "the firm left out of the roster");
    let all_unlisted = svc
        .lines(OP, app.root().await, Category::FirmUnlisted, 1, 500)
        .await
        .unwrap();
    assert!(
        all_unlisted
            .lines
            .iter()
            .any(|l| l.firm_code == ch.dropped_firm)
    );

    // The page, the drill-down and the explanation.
    let page = shi.get(&format!("/orgs/{}/reconcile", p.city.0)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("申报为党员但未登记"));
    let list = shi
        .get(&format!(
            "/orgs/{}/reconcile?category=unregistered",
            p.city.0
        ))
        .await;
    assert!(list.body.contains("未登记1"), "{}", list.body);
    assert!(!list.body.contains("未登记2") && !list.body.contains("未登记3"));
    assert!(!list.body.contains(&fresh_id(1)), "ID numbers masked");
    // 添加党员 from the line: the new-member form pre-filled from the roster (the full ID
    // number by POST only, its reveal audited); only for a line under the node.
    let add = format!("/orgs/{}/reconcile/add", p.city.0);
    let form = shi
        .post(&add, &[("subject", &ch.unregistered_licence)])
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(
        form.body.contains(&format!("value=\"{}\"", fresh_id(1))),
        "{}",
        form.body
    );
    assert!(form.body.contains(&ch.unregistered_licence));
    assert!(form.body.contains("value=\"未登记1\""));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'licensing.prefill'"
        )
        .await,
        1
    );
    let r = shi.post(&add, &[("subject", &ch.renamed.licence)]).await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "a registered lawyer is no unregistered line"
    );
    let r = shi
        .post(
            &format!("/orgs/{}/reconcile/add", p.other_city.0),
            &[("subject", &ch.unregistered_licence)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Explaining needs a note; an empty one changes nothing.
    let path = format!("/orgs/{}/reconcile/explain", p.city.0);
    let r = shi
        .post(
            &path,
            &[
                ("category", "unregistered"),
                ("subject", &ch.unregistered_licence),
                ("note", " "),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM reconciliation_notes").await,
        0
    );
    // A line that is not there (or not under the node) is not found.
    let r = shi
        .post(
            &path,
            &[
                ("category", "unregistered"),
                ("subject", "11101201210000099"),
                ("note", "无"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = shi
        .post(
            &path,
            &[
                ("category", "unregistered"),
                ("subject", &ch.unregistered_licence),
                ("note", "组织关系在原单位，已联系本人转入"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let list = shi.get(&r.location().unwrap()).await;
    assert!(
        list.body.contains("已说明：组织关系在原单位"),
        "{}",
        list.body
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'licensing.explain'"
        )
        .await,
        1
    );
    assert_eq!(
        total(
            &svc.reconcile(OP, p.city).await.unwrap(),
            Category::Unregistered
        ),
        (1, 1)
    );

    // Another city's reconciliation is not the city's to see.
    let r = shi
        .get(&format!("/orgs/{}/reconcile", p.other_city.0))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = shi
        .post(
            &format!("/orgs/{}/reconcile/explain", p.other_city.0),
            &[
                ("category", "unregistered"),
                ("subject", &ch.unregistered_licence),
                ("note", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The workbook: a sheet per category with the lines, watermarked and audited.
    let (status, _, bytes) = shi
        .get_bytes(&format!("/orgs/{}/reconcile.xlsx", p.city.0))
        .await;
    assert_eq!(status, StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.xlsx");
    std::fs::write(&file, &bytes).unwrap();
    let wb = crate::export::read_xlsx(&file);
    let unlicensed = wb["已登记但无执业信息"]["rows"].to_string();
    assert!(
        unlicensed.contains(&ch.revoked.name) && unlicensed.contains("已吊销"),
        "{unlicensed}"
    );
    let sheet = wb["申报为党员但未登记"]["rows"].to_string();
    assert!(
        sheet.contains("未登记1") && sheet.contains("组织关系在原单位"),
        "{sheet}"
    );
    assert!(!wb.to_string().contains(&fresh_id(1)));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'export.reconciliation'"
        )
        .await,
        1
    );

    // A record corrected after the load: its line says so until 重新核对 classifies the
    // city again (the counts are stored per snapshot, refreshed per subtree).
    let mismatches = total(
        &svc.reconcile(OP, p.city).await.unwrap(),
        Category::Mismatch,
    )
    .0;
    sqlx::query("UPDATE members SET name = $1 WHERE id = $2")
        .bind(format!("{}某", ch.renamed.name))
        .bind(ch.renamed.member)
        .execute(app.services.db.pool())
        .await
        .unwrap();
    let page = shi
        .get(&format!("/orgs/{}/reconcile?category=mismatch", p.city.0))
        .await;
    assert!(page.body.contains("记录已更正"), "{}", page.body);
    assert!(page.body.contains("核对时间"), "{}", page.body);
    let r = shi
        .post(&format!("/orgs/{}/reconcile/refresh", p.city.0), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        total(
            &svc.reconcile(OP, p.city).await.unwrap(),
            Category::Mismatch
        )
        .0,
        mismatches - 1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'licensing.refresh'"
        )
        .await,
        1
    );
    let r = shi
        .post(&format!("/orgs/{}/reconcile/refresh", p.other_city.0), &[])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A new snapshot replaces the old for reconciling; the note is still shown.
    let s = loaded(load_at(&app, vec![("第二次.csv", b.lawyers.clone())], None, &as_of).await);
    assert_eq!(s.firms, 0);
    let r = svc.reconcile(OP, p.city).await.unwrap();
    assert_eq!(r.snapshot.id, s.id);
    assert_eq!(total(&r, Category::Unregistered), (1, 1));
    assert_eq!(
        total(&r, Category::FirmMissing).0,
        0,
        "no firms in this snapshot"
    );
    assert_eq!(total(&r, Category::FirmUnlisted).0, 0);
}

const HEAD: &str =
    "执业证号,公民身份号码,姓名,执业机构统一社会信用代码,执业机构名称,执业类别,执业状态\n";

fn row(licence: &str, id: &str, firm: &str) -> String {
    format!("{licence},{id},张三,{firm},某某律师事务所,专职律师,正常执业\n")
}

async fn nothing_stored(app: &TestApp) {
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM licence_snapshots").await,
        0
    );
    assert_eq!(count(app, "SELECT COUNT(*) FROM licence_lawyers").await, 0);
    assert_eq!(count(app, "SELECT COUNT(*) FROM licence_firms").await, 0);
}

#[tokio::test]
async fn bad_rosters_are_refused_with_row_and_column_and_nothing_is_stored() {
    let app = TestApp::empty().await;
    let firm = credit_code("110105", 7);
    let good = |n: u32| row(&licence(2015, '1', n), &fresh_id(n), &firm);

    // Duplicate licence numbers and ID numbers.
    let text = format!(
        "{HEAD}{}{}{}",
        good(1),
        good(1),
        row(&licence(2015, '1', 9), &fresh_id(2), &firm).replace(&fresh_id(2), &fresh_id(1))
    );
    let m = refused(load(&app, vec![("dup.csv", text.into_bytes())], None).await);
    assert!(
        m.contains("第3行“执业证号”列") && m.contains("与dup.csv 第2行重复"),
        "{m}"
    );
    assert!(m.contains("第4行“公民身份号码”列"), "{m}");
    nothing_stored(&app).await;

    // A malformed ID number, a wrong credit code, an unknown status and a bad date.
    let mut bad_id = fresh_id(3);
    bad_id.replace_range(17.., if bad_id.ends_with('0') { "1" } else { "0" });
    let text = format!(
        "{HEAD}{}{}{}",
        row(&licence(2015, '1', 3), &bad_id, &firm),
        row(&licence(2015, '1', 4), &fresh_id(4), "91110105MA00000000"),
        good(5).replace("正常执业", "休假"),
    );
    let m = refused(load(&app, vec![("bad.csv", gb18030(&text))], None).await);
    assert!(
        m.contains("第2行“公民身份号码”列 公民身份号码校验位不正确"),
        "{m}"
    );
    assert!(m.contains("第3行“执业机构统一社会信用代码”列"), "{m}");
    assert!(
        m.contains("第4行“执业状态”列 “休假”不是执业状态的代码或名称"),
        "{m}"
    );
    nothing_stored(&app).await;

    // A missing column, named.
    let text = "执业证号,姓名,执业机构统一社会信用代码,执业机构名称,执业类别,执业状态\n".to_owned();
    let m = refused(load(&app, vec![("cols.csv", text.into_bytes())], None).await);
    assert!(m.contains("缺少必需的列：公民身份号码"), "{m}");

    // Wrong encoding: UTF-16 without a byte-order mark; UTF-8 broken after the first 64 KB.
    let utf16: Vec<u8> = format!("{HEAD}{}", good(6))
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let m = refused(load(&app, vec![("utf16.csv", utf16)], None).await);
    assert!(m.contains("空字符"), "{m}");
    let mut text = HEAD.to_owned();
    let mut n = 10;
    while text.len() < 70_000 {
        text.push_str(&good(n));
        n += 1;
    }
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(&gb18030(
        &row(&licence(2015, '1', 999), &fresh_id(999), &firm).replace("张三", "李四"),
    ));
    let m = refused(load(&app, vec![("mixed.csv", bytes)], None).await);
    assert!(m.contains("文字编码有误"), "{m}");
    nothing_stored(&app).await;

    // A mapping file naming a column the file lacks, and one naming no column of the layout.
    let text = format!("{HEAD}{}", good(7)).replace("执业证号", "证书编号");
    let m = refused(
        load(
            &app,
            vec![("m.csv", text.clone().into_bytes())],
            Some("[lawyers]\n\"执业证号\" = \"证号\"\n"),
        )
        .await,
    );
    assert!(m.contains("映射文件把“执业证号”对应到“证号”列"), "{m}");
    let e = app
        .services
        .exchange()
        .load(
            OP,
            vec![Input {
                name: "m.csv".into(),
                source: Source::Bytes(text.clone().into_bytes()),
            }],
            Some("[lawyers]\n\"身高\" = \"x\"\n"),
            "2018-07-31",
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("输入有误") || format!("{e:?}").contains("身高"),
        "{e:?}"
    );
    // Only firms: a lawyers' roster is required.
    let firms = format!("统一社会信用代码,律师事务所名称,状态\n{firm},某某律师事务所,正常\n");
    let m = refused(load(&app, vec![("firms.csv", firms.into_bytes())], None).await);
    assert!(m.contains("没有律师名册"), "{m}");
    // Not a roster at all; an empty file; a workbook that is not one.
    let m = refused(load(&app, vec![("x.csv", b"a,b,c\n1,2,3\n".to_vec())], None).await);
    assert!(m.contains("找不到表头"), "{m}");
    let m = refused(load(&app, vec![("e.csv", Vec::new())], None).await);
    assert!(m.contains("文件为空"), "{m}");
    let m = refused(load(&app, vec![("z.xlsx", b"PK\x03\x04garbage".to_vec())], None).await);
    assert!(m.contains("损坏"), "{m}");
    let m = refused(
        load(
            &app,
            vec![("j.jsonl", b"{\"licence_no\": 1}\n{oops\n".to_vec())],
            None,
        )
        .await,
    );
    assert!(m.contains("第2行不是有效的 JSON 对象"), "{m}");
    nothing_stored(&app).await;

    // Reconciling with no snapshot is refused with what to do.
    let e = app
        .services
        .exchange()
        .reconcile(OP, app.root().await)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("尚未载入"), "{e}");

    // The mapping file and JSON Lines with the layout's keys load.
    let s = loaded(
        load(
            &app,
            vec![("m.csv", text.into_bytes())],
            Some("[lawyers]\n\"执业证号\" = \"证书编号\"\n"),
        )
        .await,
    );
    assert_eq!(s.lawyers, 1);
    let jsonl = format!(
        "{{\"licence_no\":\"{}\",\"citizen_id\":\"{}\",\"name\":\"王五\",\"firm_code\":\"{firm}\",\"firm_name\":\"某所\",\"practice_type\":\"1\",\"status\":\"practising\",\"political\":\"01\"}}\n",
        licence(2016, '1', 1),
        fresh_id(11)
    );
    let s = loaded(load(&app, vec![("r.jsonl", jsonl.into_bytes())], None).await);
    assert_eq!((s.lawyers, s.firms), (1, 0));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM licence_snapshots").await,
        2
    );
}

#[tokio::test]
async fn the_command_line_loads_a_roster_and_writes_a_reconciliation() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let b = roster(&app, p.city).await;
    let dir = tempfile::tempdir().unwrap();
    let lawyers = dir.path().join("lawyers.csv");
    std::fs::write(&lawyers, &b.lawyers).unwrap();
    let firms = dir.path().join("firms.csv");
    std::fs::write(&firms, &b.firms).unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, format!("{HEAD}{}", row("123", "x", "y"))).unwrap();
    let (ok, out, _) = app
        .cli(&[
            "exchange",
            "load",
            bad.to_str().unwrap(),
            "--as-of",
            "2018-07-31",
        ])
        .await;
    assert!(!ok);
    assert!(out.contains("bad.csv 第2行“执业证号”列"), "{out}");
    let (ok, out, err) = app
        .cli(&[
            "exchange",
            "load",
            lawyers.to_str().unwrap(),
            firms.to_str().unwrap(),
            "--as-of",
            &b.judged.to_string(),
        ])
        .await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("已载入名册"), "{out}");
    let output = dir.path().join("city.xlsx");
    let city = p.city.0.to_string();
    let (ok, out, err) = app
        .cli(&[
            "exchange",
            "reconcile",
            "--node",
            &city,
            "-o",
            output.to_str().unwrap(),
        ])
        .await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("申报为党员但未登记：1"), "{out}");
    let wb = crate::export::read_xlsx(&output);
    assert!(wb["汇总"]["rows"].to_string().contains("合计"));
}
