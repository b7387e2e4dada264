//! Import of the firm registry and the organisation roster: firms placed under their city,
//! organisations built one level below their parent (a node on record or a row above), firm
//! organisations taking over their firms; every bad row named; batches undone while nothing
//! hangs under them; the templates, the pages and the command.

use axum::http::StatusCode;

use dengji::domain::OrgId;
use dengji::service::Caller;
use dengji::service::import::{ImportKind, Mode};

use crate::helpers::files::{FIRM_HEAD, ORG_HEAD, code, strings, xlsx};
use crate::helpers::{Book, row};
use crate::helpers::{TestApp, demo_places, python};
use crate::helpers::{check, count, has, issues, run};

const OP: Caller<'static> = Caller::Operator;

fn firm(name: &str, seq: u32, region: &str, city: &str) -> Vec<String> {
    strings(&[name, &code(seq), region, "合伙所", "8", city])
}

async fn text(app: &TestApp, sql: &str, arg: i64) -> String {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(arg)
        .fetch_one(app.services.db.pool())
        .await
        .unwrap()
}

async fn tallies_agree(app: &TestApp) {
    let mut conn = app.services.db.acquire().await.unwrap();
    for f in dengji::store::check::run(&mut conn).await.unwrap() {
        assert_eq!(f.violations, 0, "{}", f.name);
    }
}

/// The region code of a node.
async fn region_of(app: &TestApp, org: OrgId) -> String {
    app.org(org).await.region_code.expect("a region")
}

/// Import firms `seqs` into the city, all-or-nothing; returns the batch.
async fn firms_into(app: &TestApp, city: OrgId, seqs: &[u32]) -> i64 {
    let region = region_of(app, city).await;
    let rows: Vec<Vec<String>> = seqs
        .iter()
        .map(|s| firm(&format!("测试{s}律师事务所"), *s, &region, ""))
        .collect();
    let done = run(app, city, &xlsx(&FIRM_HEAD, &rows), Mode::AllOrNothing).await;
    assert!(done.batch_id.is_some(), "{}", issues(&done.report));
    done.batch_id.unwrap()
}

#[tokio::test]
async fn firms_are_checked_imported_under_their_city_and_undone() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let region = region_of(&app, p.city).await;
    let city_path = app.org(p.city).await.path.as_str().to_owned();
    let firms_before = count(&app, "SELECT COUNT(*) FROM firms").await;
    let tally_sql = format!("SELECT firms FROM org_tallies WHERE org_id = {}", p.city.0);
    let tally_before = count(&app, &tally_sql).await;
    let bytes = xlsx(
        &FIRM_HEAD,
        &[
            strings(&["北京甲律师事务所", &code(1), &region, "合伙所", "12", ""]),
            strings(&["北京乙律师事务所", &code(2), &region, "国资所", "3", ""]),
            strings(&["北京丙律师事务所", &code(3), &region, "个人所", "1", ""]),
        ],
    );

    // Told by its header; the dry run stores nothing.
    let r = check(&app, p.city, &bytes).await;
    assert_eq!(r.kind, Some(ImportKind::Firms));
    assert_eq!((r.rows, r.valid, r.invalid), (3, 3, 0), "{}", issues(&r));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM firms").await,
        firms_before
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM import_batches").await, 0);

    let done = run(&app, p.city, &bytes, Mode::AllOrNothing).await;
    let batch = done.batch_id.expect("imported");
    assert_eq!((done.imported, done.skipped), (3, 0));
    let rows: Vec<(String, i64, Option<i64>, String, String, i64)> = sqlx::query_as(
        "SELECT name, city_org_id, org_id, scope_path, form, lawyer_count FROM firms \
         WHERE import_batch_id = $1 ORDER BY credit_code",
    )
    .bind(batch)
    .fetch_all(app.services.db.pool())
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            (
                "北京甲律师事务所".into(),
                p.city.0,
                None,
                city_path.clone(),
                "partnership".into(),
                12
            ),
            (
                "北京乙律师事务所".into(),
                p.city.0,
                None,
                city_path.clone(),
                "state".into(),
                3
            ),
            (
                "北京丙律师事务所".into(),
                p.city.0,
                None,
                city_path.clone(),
                "sole".into(),
                1
            ),
        ]
    );
    // The city's statistics count them (as firms without an organisation), audited.
    assert_eq!(count(&app, &tally_sql).await, tally_before + 3);
    tallies_agree(&app).await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'import.firms'"
        )
        .await,
        1
    );
    let batches = app.services.import().batches(OP, p.city).await.unwrap();
    assert_eq!(batches[0].kind, "firms");

    // The same file again: each firm is already registered, named (it is in the subtree).
    let again = check(&app, p.city, &bytes).await;
    assert_eq!(again.valid, 0);
    assert!(
        has(&again, Some(2), "FIRM-EXISTS", "北京甲律师事务所"),
        "{}",
        issues(&again)
    );

    // Undo removes them and counts them out.
    assert_eq!(
        app.services.import().undo(OP, batch).await.unwrap().removed,
        3
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM firms").await,
        firms_before
    );
    assert_eq!(count(&app, &tally_sql).await, tally_before);
    tallies_agree(&app).await;
    let err = app.services.import().undo(OP, batch).await.unwrap_err();
    assert!(err.to_string().contains("已经撤销"), "{err}");
}

#[tokio::test]
async fn bad_firm_rows_are_named_by_row_column_and_rule() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let region = region_of(&app, p.city).await;
    let far_region = region_of(&app, p.other_city).await;
    let far = app.first_firm_of_city(p.other_city).await;
    let (far_code, far_name, far_city) = (far.credit_code, far.name, far.city_org_name);
    let mut bad_check = code(10);
    bad_check.replace_range(17.., if bad_check.ends_with('0') { "1" } else { "0" });
    let not_a_firm = {
        let body = "91110000MA0000001";
        format!(
            "{body}{}",
            dengji::domain::credit_code::check_char(body.as_bytes()).unwrap()
        )
    };
    let rows = vec![
        firm("校验位错", 10, &region, ""),
        strings(&["不是律所", &not_a_firm, &region, "合伙所", "2", ""]),
        firm("重复一", 12, &region, ""),
        firm("重复二", 12, &region, ""),
        strings(&["外省律所", &far_code, &region, "合伙所", "2", ""]),
        firm("区划错", 14, "999999", ""),
        strings(&["形式错", &code(15), &region, "合资所", "2", ""]),
        strings(&["人数错", &code(16), &region, "合伙所", "-1", ""]),
        firm("", 17, &region, ""),
        firm("别的市", 18, &region, "某某市律师行业党委"),
        firm("外省区划", 19, &far_region, ""),
        firm("正常", 20, &region, ""),
    ];
    let mut rows = rows;
    rows[0][1] = bad_check;
    let bytes = xlsx(&FIRM_HEAD, &rows);
    let r = check(&app, p.city, &bytes).await;
    let all = issues(&r);
    assert!(has(&r, Some(2), "CREDIT-CODE", "校验位"), "{all}");
    assert!(has(&r, Some(3), "CREDIT-CODE", "31"), "{all}");
    assert!(has(&r, Some(5), "DUP-IN-FILE", "第4行"), "{all}");
    assert!(
        has(&r, Some(6), "FIRM-ELSEWHERE", "不在您的管辖范围"),
        "{all}"
    );
    // Registered elsewhere, without saying where or whose.
    assert!(
        !all.contains(&far_name) && !all.contains(&far_city),
        "{all}"
    );
    assert!(has(&r, Some(7), "REGION", "999999"), "{all}");
    assert!(has(&r, Some(8), "CODE", "合资所"), "{all}");
    assert!(has(&r, Some(9), "INT", "-1"), "{all}");
    assert!(has(&r, Some(10), "REQUIRED", "律师事务所名称"), "{all}");
    assert!(
        has(&r, Some(11), "CITY-NOT-HERE", "某某市律师行业党委"),
        "{all}"
    );
    // A region of another province is only a warning.
    let outside = r
        .issues
        .iter()
        .find(|i| i.rule == "REGION-OUTSIDE")
        .unwrap();
    assert_eq!((outside.row, outside.error), (Some(12), false), "{all}");
    assert_eq!(
        r.issues
            .iter()
            .find(|i| i.row == Some(2))
            .and_then(|i| i.column.clone())
            .as_deref(),
        Some("＊统一社会信用代码"),
        "the column as the file names it"
    );
    assert_eq!((r.rows, r.valid, r.invalid), (12, 3, 9), "{all}");

    // All or nothing stores nothing; valid-only stores the three good rows.
    let before = count(&app, "SELECT COUNT(*) FROM firms").await;
    let none = run(&app, p.city, &bytes, Mode::AllOrNothing).await;
    assert!(none.batch_id.is_none());
    assert_eq!(count(&app, "SELECT COUNT(*) FROM firms").await, before);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM import_batches").await, 0);
    let some = run(&app, p.city, &bytes, Mode::ValidOnly).await;
    assert_eq!((some.imported, some.skipped), (3, 9));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM firms").await, before + 3);
    tallies_agree(&app).await;
}

#[tokio::test]
async fn firms_imported_above_a_city_name_their_city_and_scope_is_kept() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let region = region_of(&app, p.city).await;
    let city_name = app.org(p.city).await.name;
    let far_city = app.org(p.other_city).await.name;

    // Into a province without a city column: each firm goes to the city-level node whose
    // region covers its 行政区划; a region no city-level node covers is named.
    let without: Vec<&str> = FIRM_HEAD[..5].to_vec();
    let far_region = region_of(&app, p.other_city).await;
    let rows = vec![
        firm("省里导入", 34, &region, "")[..5].to_vec(),
        firm("外省区划", 35, &far_region, "")[..5].to_vec(),
    ];
    let r = check(&app, p.province, &xlsx(&without, &rows)).await;
    assert!(!r.file_error, "{}", issues(&r));
    assert_eq!((r.valid, r.invalid), (1, 1), "{}", issues(&r));
    assert!(
        has(&r, Some(3), "CITY-NOT-FOUND", "覆盖行政区划"),
        "{}",
        issues(&r)
    );
    let done = run(&app, p.province, &xlsx(&without, &rows), Mode::ValidOnly).await;
    assert_eq!(done.imported, 1);
    let city_of = app.firm_coded(&code(34)).await.city_org_id.0;
    assert_eq!(city_of, p.city.0, "placed by its region");

    let rows = vec![
        firm("省里导入", 30, &region, &city_name),
        firm("没有的市", 31, &region, "不存在的市律师行业党委"),
        firm("外省的市", 32, &region, &far_city),
        firm("没写市", 33, &region, ""),
    ];
    let bytes = xlsx(&FIRM_HEAD, &rows);
    let r = check(&app, p.province, &bytes).await;
    assert!(
        has(&r, Some(3), "CITY-NOT-FOUND", "不存在的市"),
        "{}",
        issues(&r)
    );
    assert!(
        has(&r, Some(4), "CITY-NOT-FOUND", &far_city),
        "{}",
        issues(&r)
    );
    // An empty city cell: placed by the region too.
    assert!(!r.issues.iter().any(|i| i.row == Some(5)), "{}", issues(&r));
    let done = run(&app, p.province, &bytes, Mode::ValidOnly).await;
    assert_eq!(done.imported, 2);
    let city_of = app.firm_coded(&code(30)).await.city_org_id.0;
    assert_eq!(city_of, p.city.0);

    // A firm organisation imports neither firms nor organisations.
    let r = check(&app, p.firm_org, &bytes).await;
    assert!(
        r.file_error && has(&r, None, "INTO-LEVEL", "地市级"),
        "{}",
        issues(&r)
    );
    // A city's clerk cannot import into another city (answered as not found).
    let clerk = app.login_demo("shi").await;
    let resp = clerk.get(&format!("/orgs/{}/import", p.other_city.0)).await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn organisations_are_built_under_a_city_and_take_over_their_firms() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let firms_batch = firms_into(&app, p.city, &[1, 2, 3, 4, 5]).await;
    // Firm 5 already has a member registered under the city.
    let member_file = Book::new(vec![row(&code(5), 1)]).bytes();
    let members = run(&app, p.city, &member_file, Mode::AllOrNothing).await;
    assert_eq!(members.imported, 1, "{}", issues(&members.report));
    let own = app.firm_of(p.firm_org).await;
    let (own_code, own_org) = (own.credit_code, own.org_name.expect("covered"));
    let far = app.first_firm_of_city(p.other_city).await;
    let (far_code, far_name) = (far.credit_code, far.name);
    let branch = "中共测试1律师事务所支部委员会";
    let rows = vec![
        strings(&[
            branch,
            "党支部",
            "",
            "",
            &code(1),
            "张三",
            "13800138000",
            "2018-07-01",
        ]),
        strings(&[
            "中共测试联合支部委员会",
            "联合党支部",
            "",
            "",
            &format!("{}、{}", code(2), code(3)),
            "",
            "",
            "",
        ]),
        strings(&["重复纳入", "党支部", "", "", &code(2), "", "", ""]),
        strings(&["类别不对", "律师行业党委", "", "", &code(4), "", "", ""]),
        strings(&["下级支部", "党支部", branch, "", &code(4), "", "", ""]),
        strings(&["单个联合", "联合党支部", "", "", &code(4), "", "", ""]),
        strings(&["已有党组织", "党支部", "", "", &own_code, "", "", ""]),
        strings(&["外省律所", "党支部", "", "", &far_code, "", "", ""]),
        strings(&["已有党员", "党支部", "", "", &code(5), "", "", ""]),
        strings(&[branch, "党支部", "", "", &code(4), "", "", ""]),
        strings(&[
            "上级不存在",
            "党支部",
            "不存在的党委",
            "",
            &code(4),
            "",
            "",
            "",
        ]),
        strings(&["日期错", "党支部", "", "", &code(4), "", "", "去年夏天"]),
        strings(&["未登记律所", "党支部", "", "", &code(99), "", "", ""]),
    ];
    let bytes = xlsx(&ORG_HEAD, &rows);
    let r = check(&app, p.city, &bytes).await;
    let all = issues(&r);
    assert_eq!(r.kind, Some(ImportKind::Orgs));
    assert!(has(&r, Some(4), "FIRM-TWICE", "第3行"), "{all}");
    assert!(has(&r, Some(5), "ORG-KIND-LEVEL", "党支部"), "{all}");
    assert!(has(&r, Some(6), "PARENT-LEVEL", branch), "{all}");
    assert!(has(&r, Some(7), "JOINT-FIRMS", "两个及以上"), "{all}");
    assert!(has(&r, Some(8), "FIRM-HAS-ORG", &own_org), "{all}");
    assert!(
        has(&r, Some(9), "FIRM-OUTSIDE", "不在您的管辖范围"),
        "{all}"
    );
    assert!(!all.contains(&far_name), "{all}");
    assert!(has(&r, Some(10), "FIRM-HAS-MEMBERS", "1名党员"), "{all}");
    assert!(has(&r, Some(11), "DUP-IN-FILE", "第2行"), "{all}");
    assert!(
        has(&r, Some(12), "PARENT-NOT-FOUND", "不存在的党委"),
        "{all}"
    );
    assert!(has(&r, Some(13), "DATE", "去年夏天"), "{all}");
    assert!(
        has(&r, Some(14), "FIRM-NOT-FOUND", "先导入律师事务所名册"),
        "{all}"
    );
    assert_eq!((r.rows, r.valid), (13, 2), "{all}");

    let done = run(&app, p.city, &bytes, Mode::ValidOnly).await;
    let batch = done.batch_id.unwrap();
    assert_eq!(done.imported, 2);
    let city_path = app.org(p.city).await.path.as_str().to_owned();
    type Made = (
        i64,
        String,
        String,
        String,
        i64,
        Option<String>,
        Option<String>,
    );
    let made: Vec<Made> = sqlx::query_as(
        "SELECT id, path, level, kind, parent_id, secretary_name, formed_on FROM orgs \
             WHERE import_batch_id = $1 ORDER BY id",
    )
    .bind(batch)
    .fetch_all(app.services.db.pool())
    .await
    .unwrap();
    assert_eq!(made.len(), 2);
    let (b_id, b_path, level, kind, parent, secretary, formed) = made[0].clone();
    assert_eq!(
        (level.as_str(), kind.as_str(), parent),
        ("firm", "branch", p.city.0)
    );
    assert_eq!(b_path, format!("{city_path}{b_id}/"));
    assert_eq!(
        (secretary.as_deref(), formed.as_deref()),
        (Some("张三"), Some("2018-07-01"))
    );
    assert_eq!(made[1].3, "joint_branch");
    // The firms moved under their organisations; the tallies follow.
    let placed: Vec<(String, Option<i64>, String)> = sqlx::query_as(
        "SELECT credit_code, org_id, scope_path FROM firms WHERE import_batch_id = $1 ORDER BY credit_code",
    )
    .bind(firms_batch)
    .fetch_all(app.services.db.pool())
    .await
    .unwrap();
    assert_eq!(placed[0], (code(1), Some(b_id), b_path.clone()));
    assert_eq!(placed[1].1, Some(made[1].0));
    assert_eq!(placed[2].1, Some(made[1].0));
    assert_eq!(placed[3].1, None);
    let (own, joint): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT firms_own FROM org_tallies WHERE org_id = $1), \
         (SELECT firms_joint FROM org_tallies WHERE org_id = $2)",
    )
    .bind(b_id)
    .bind(made[1].0)
    .fetch_one(app.services.db.pool())
    .await
    .unwrap();
    assert_eq!((own, joint), (1, 2));
    tallies_agree(&app).await;

    // The new branch imports its members without naming the firm (it is its only firm).
    let members_file = Book::new(vec![row("", 2)]).bytes();
    let into_branch = run(&app, OrgId(b_id), &members_file, Mode::AllOrNothing).await;
    let member_batch = into_branch.batch_id.expect("members imported");

    // Undo waits until nothing hangs under the organisations; then the firms go back.
    let err = app.services.import().undo(OP, batch).await.unwrap_err();
    assert!(err.to_string().contains("1 名党员"), "{err}");
    let err = app
        .services
        .import()
        .undo(OP, firms_batch)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("纳入党组织"), "{err}");
    app.services.import().undo(OP, member_batch).await.unwrap();
    assert_eq!(
        app.services.import().undo(OP, batch).await.unwrap().removed,
        2
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM orgs WHERE import_batch_id = {batch}")
        )
        .await,
        0
    );
    let back = app.firm_coded(&code(1)).await;
    let back = (
        back.org_id.map(|o| o.0),
        back.scope_path.as_str().to_owned(),
    );
    assert_eq!(back, (None, city_path));
    tallies_agree(&app).await;
}

#[tokio::test]
async fn a_province_builds_a_city_whose_firms_and_organisation_follow() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let region = region_of(&app, p.city).await;
    let city = "中共测试市律师行业委员会";
    let rows = vec![
        strings(&[
            "后建支部",
            "党支部",
            "中共后来市律师行业委员会",
            "",
            &code(40),
            "",
            "",
            "",
        ]),
        strings(&[
            city,
            "律师行业党委",
            "",
            &region,
            "",
            "",
            "010-12345678",
            "",
        ]),
        strings(&["新市律所支部", "党支部", city, "", &code(41), "", "", ""]),
        strings(&["没有区划的市", "司法行政机关党组织", "", "", "", "", "", ""]),
        strings(&[
            "中共后来市律师行业委员会",
            "律师行业党委",
            "",
            &region,
            "",
            "",
            "",
            "",
        ]),
    ];
    let r = check(&app, p.province, &xlsx(&ORG_HEAD, &rows)).await;
    let all = issues(&r);
    assert!(has(&r, Some(2), "PARENT-LATER", "第6行"), "{all}");
    assert!(has(&r, Some(4), "FIRM-NOT-FOUND", &code(41)), "{all}");
    assert!(has(&r, Some(5), "REQUIRED", "所在行政区划"), "{all}");
    assert_eq!(r.valid, 2, "{all}");

    // The city alone; then its firms; then the firm's organisation.
    let rows = vec![strings(&[
        city,
        "律师行业党委",
        "",
        &region,
        "",
        "",
        "",
        "",
    ])];
    let cities = run(
        &app,
        p.province,
        &xlsx(&ORG_HEAD, &rows),
        Mode::AllOrNothing,
    )
    .await;
    let cities_batch = cities.batch_id.unwrap();
    let new_city: i64 = sqlx::query_scalar("SELECT id FROM orgs WHERE import_batch_id = $1")
        .bind(cities_batch)
        .fetch_one(app.services.db.pool())
        .await
        .unwrap();
    assert_eq!(
        text(&app, "SELECT level FROM orgs WHERE id = $1", new_city).await,
        "city"
    );
    firms_into(&app, OrgId(new_city), &[41]).await;
    let rows = vec![strings(&[
        "新市律所支部",
        "党支部",
        "",
        "",
        &code(41),
        "",
        "",
        "",
    ])];
    let done = run(
        &app,
        OrgId(new_city),
        &xlsx(&ORG_HEAD, &rows),
        Mode::AllOrNothing,
    )
    .await;
    assert_eq!(done.imported, 1, "{}", issues(&done.report));
    // The city's batch is not undone while its firms and organisations hang under it.
    let err = app
        .services
        .import()
        .undo(OP, cities_batch)
        .await
        .unwrap_err();
    let m = err.to_string();
    assert!(m.contains("下级党组织") && m.contains("律师事务所"), "{m}");
    tallies_agree(&app).await;
}

#[tokio::test]
async fn the_templates_filled_in_with_openpyxl_import() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let region = region_of(&app, p.city).await;
    let clerk = app.login_demo("shi").await;
    let dir = tempfile::tempdir().unwrap();
    // Fill one row by header name, as a user's Excel would save it; read the drop-downs back.
    let script = r#"
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb.worksheets[1]
head = [c.value for c in ws[1]]
for k, v in json.loads(sys.argv[2]).items():
    ws.cell(row=2, column=head.index(k) + 1, value=v)
wb.save(sys.argv[1])
lists = sorted(str(v.formula1) for v in ws.data_validations.dataValidation)
help = [r[0].value for r in wb["填写说明"].iter_rows(min_row=5)]
print(json.dumps({"sheet": ws.title, "head": head, "lists": lists, "help": help, "codes": [c.value for c in wb["代码表"]["A"]]}, ensure_ascii=False))
"#;
    for (which, values, list) in [
        (
            "firms",
            serde_json::json!({"＊律师事务所名称": "模板律师事务所", "＊统一社会信用代码": code(50),
                "＊所在行政区划": region, "＊组织形式": "合伙所", "＊律师人数": 6}),
            "合伙所",
        ),
        (
            "orgs",
            serde_json::json!({"＊党组织全称": "中共模板律师事务所支部委员会", "＊组织类别": "党支部",
                "所在律师事务所统一社会信用代码": code(50), "成立日期": "2018-07-01"}),
            "律师行业党委",
        ),
    ] {
        let (status, disposition, template) = clerk.get_bytes(&format!("/templates/{which}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(disposition.contains(".xlsx"), "{disposition}");
        let path = dir.path().join(format!("{which}.xlsx"));
        std::fs::write(&path, &template).unwrap();
        let values = values.to_string();
        let out = python(script, &[path.as_os_str(), values.as_ref()]);
        let seen: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(!seen["lists"].as_array().unwrap().is_empty(), "{seen}");
        assert!(seen["codes"].to_string().contains(list), "{seen}");
        assert!(seen["help"].as_array().unwrap().len() >= 6, "{seen}");
        let bytes = std::fs::read(&path).unwrap();
        let r = check(&app, p.city, &bytes).await;
        assert_eq!((r.rows, r.valid), (1, 1), "{which}: {}", issues(&r));
        let done = run(&app, p.city, &bytes, Mode::AllOrNothing).await;
        assert_eq!(done.imported, 1);
    }
    let org_of: Option<i64> = sqlx::query_scalar("SELECT org_id FROM firms WHERE credit_code = $1")
        .bind(code(50))
        .fetch_one(app.services.db.pool())
        .await
        .unwrap();
    assert!(org_of.is_some());
}

#[tokio::test]
async fn the_pages_and_the_command_take_registries_through_to_undo() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let region = region_of(&app, p.city).await;
    let clerk = app.login_demo("shi").await;
    let page = clerk.get(&format!("/orgs/{}/import", p.city.0)).await;
    assert!(page.body.contains("id=\"template-firms\"") && page.body.contains("党组织名册"));
    let bytes = xlsx(
        &FIRM_HEAD,
        &[
            firm("网页律师事务所", 60, &region, ""),
            firm("", 61, &region, ""),
        ],
    );
    let resp = clerk
        .post_file(
            &format!("/orgs/{}/import", p.city.0),
            &[("kind", "")],
            "律所.xlsx",
            &bytes,
        )
        .await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER, "{}", resp.body);
    let preview_url = resp.location().unwrap();
    let preview = clerk.get(&preview_url).await;
    assert!(preview.body.contains("律师事务所名册"), "{}", preview.body);
    assert!(
        preview.body.contains("id=\"n-valid\">1<"),
        "{}",
        preview.body
    );
    let path = preview_url.split('?').next().unwrap().to_owned();
    let done = clerk
        .post(&path, &[("mode", "valid"), ("kind", "firms")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = clerk.get(&done.location().unwrap()).await;
    assert!(page.body.contains("导入 1 行"), "{}", page.body);
    assert!(page.body.contains("律师事务所名册"));
    let batch = count(&app, "SELECT MAX(id) FROM import_batches").await;
    let undone = clerk
        .post(
            &format!("/imports/{batch}/undo"),
            &[("org", &p.city.0.to_string())],
        )
        .await;
    assert_eq!(undone.status, StatusCode::SEE_OTHER);
    let page = clerk.get(&undone.location().unwrap()).await;
    assert!(page.body.contains("删除了 1 个律师事务所"), "{}", page.body);

    // The command: a GB18030 CSV of firms, then the organisation roster.
    let dir = tempfile::tempdir().unwrap();
    let csv = format!(
        "{}\n命令行律师事务所,{},{region},个人所,2,\n",
        FIRM_HEAD.join(","),
        code(62)
    );
    let (gbk, _, _) = encoding_rs::GB18030.encode(&csv);
    let firms = dir.path().join("律所.csv");
    std::fs::write(&firms, &gbk).unwrap();
    let node = p.city.0.to_string();
    let (ok, out, err) = app
        .cli(&["import", &firms.display().to_string(), "--into", &node])
        .await;
    assert!(ok, "{err}");
    assert!(
        out.contains("律师事务所名册") && out.contains("已导入 1 行"),
        "{out}"
    );
    let orgs = dir.path().join("党组织.xlsx");
    let rows = vec![strings(&[
        "中共命令行律师事务所支部委员会",
        "党支部",
        "",
        "",
        &code(62),
        "",
        "",
        "",
    ])];
    std::fs::write(&orgs, xlsx(&ORG_HEAD, &rows)).unwrap();
    let (ok, out, err) = app
        .cli(&[
            "import",
            &orgs.display().to_string(),
            "--into",
            &node,
            "--kind",
            "orgs",
        ])
        .await;
    assert!(ok, "{err}");
    assert!(out.contains("党组织名册"), "{out}");
    let roster = dir.path().join("名册.csv");
    let (ok, _, err) = app
        .cli(&[
            "export",
            "orgs",
            "--node",
            &node,
            "-o",
            &roster.display().to_string(),
        ])
        .await;
    assert!(ok, "{err}");
    let roster = std::fs::read_to_string(&roster).unwrap();
    assert!(
        roster.contains("中共命令行律师事务所支部委员会,党支部,") && roster.contains(&code(62)),
        "{roster}"
    );
    let batch = count(&app, "SELECT MAX(id) FROM import_batches")
        .await
        .to_string();
    let (ok, out, err) = app.cli(&["import", "--undo", &batch]).await;
    assert!(ok && out.contains("删除了 1 个党组织"), "{out}{err}");
}

#[tokio::test]
async fn the_registries_export_in_the_template_columns_and_import_again() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    firms_into(&app, p.city, &[70, 71]).await;
    let branch = "中共测试70律师事务所支部委员会";
    let rows = vec![strings(&[
        branch,
        "党支部",
        "",
        "",
        &code(70),
        "李四",
        "",
        "2019-01-02",
    ])];
    let done = run(&app, p.city, &xlsx(&ORG_HEAD, &rows), Mode::AllOrNothing).await;
    assert_eq!(done.imported, 1);
    let city_name = app.org(p.city).await.name;
    let clerk = app.login_demo("shi").await;
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
import json, sys, openpyxl
ws = openpyxl.load_workbook(sys.argv[1]).worksheets[0]
print(json.dumps([[c if c is None or isinstance(c, str) else repr(c) for c in r] for r in ws.iter_rows(values_only=True)], ensure_ascii=False))
"#;
    let read = |bytes: &[u8], name: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = python(script, &[path.as_os_str()]);
        serde_json::from_slice::<Vec<Vec<Option<String>>>>(&out).unwrap()
    };

    // The firm registry: the template's columns, every value as text, codes as labels.
    let (status, _, firms) = clerk
        .get_bytes(&format!(
            "/orgs/{}/summary/firms/export?format=xlsx",
            p.city.0
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let sheet = read(&firms, "firms.xlsx");
    let head: Vec<String> = sheet[3]
        .iter()
        .map(|c| c.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        &head[1..7],
        &FIRM_HEAD.map(|h| h.trim_start_matches('＊').to_owned())
    );
    let line = sheet
        .iter()
        .find(|r| r.get(2).cloned().flatten() == Some(code(70)))
        .expect("the firm is exported");
    let line: Vec<String> = line.iter().map(|c| c.clone().unwrap_or_default()).collect();
    assert_eq!(line[1], "测试70律师事务所");
    assert_eq!(
        &line[4..],
        &["合伙所", "8", &city_name, branch, "单独建立党组织", "0"]
    );
    // Imported again, every row is found already registered, nothing else wrong.
    let r = check(&app, p.city, &firms).await;
    assert_eq!(r.kind, Some(ImportKind::Firms));
    assert!(!r.file_error, "{}", issues(&r));
    assert_eq!(r.valid, 0);
    assert!(
        r.issues
            .iter()
            .filter(|i| i.error)
            .all(|i| i.rule == "FIRM-EXISTS"),
        "{}",
        issues(&r)
    );

    // The organisation roster: parents before children, the firms by credit code.
    let (status, _, orgs) = clerk
        .get_bytes(&format!(
            "/orgs/{}/summary/orgs/export?format=xlsx",
            p.city.0
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let sheet = read(&orgs, "orgs.xlsx");
    let line: Vec<String> = sheet
        .iter()
        .find(|r| r.get(1).cloned().flatten().as_deref() == Some(branch))
        .expect("the branch is exported")
        .iter()
        .map(|c| c.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        &line[2..10],
        &[
            "党支部",
            &city_name,
            "",
            &code(70),
            "李四",
            "",
            "2019-01-02",
            "律所党组织"
        ]
    );
    // Imported again, every organisation is found on record and left as it is: nothing to
    // import, nothing wrong.
    let r = check(&app, p.city, &orgs).await;
    assert_eq!(r.kind, Some(ImportKind::Orgs));
    assert!(!r.file_error, "{}", issues(&r));
    assert_eq!((r.rows, r.invalid), (0, 0), "{}", issues(&r));
    let exported = sheet
        .iter()
        .skip(4)
        .filter(|l| l.get(1).is_some_and(Option::is_some))
        .count();
    assert!(exported > 0);
    assert!(
        r.issues
            .iter()
            .filter(|i| !i.error && i.rule == "ORG-EXISTS")
            .count()
            >= exported - 1,
        "{}",
        issues(&r)
    );
    // CSV with a byte-order mark; audited; not for a member's own account.
    let (status, _, csv) = clerk
        .get_bytes(&format!(
            "/orgs/{}/summary/firms/export?format=csv",
            p.city.0
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let csv_text = String::from_utf8(csv.clone()).unwrap();
    let mut lines = csv_text.trim_start_matches('\u{feff}').lines();
    assert!(
        lines.next().unwrap().starts_with("# 导出编号 EX-"),
        "the watermark line"
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("序号,律师事务所名称,统一社会信用代码")
    );
    // The watermark line does not stop the file from being read again: the header is found
    // under it and every firm is recognised as already on record.
    let again = check(&app, p.city, &csv).await;
    assert_eq!(again.kind, Some(ImportKind::Firms));
    assert!(!again.file_error, "{}", issues(&again));
    assert!(again.invalid > 0);
    assert!(
        again
            .issues
            .iter()
            .filter(|i| i.error)
            .all(|i| i.rule == "FIRM-EXISTS"),
        "{}",
        issues(&again)
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'export' AND detail LIKE '%firms%'"
        )
        .await,
        2
    );
    let member = app.login_demo("dangyuan").await;
    let (status, _, _) = member
        .get_bytes(&format!(
            "/orgs/{}/summary/firms/export?format=xlsx",
            p.city.0
        ))
        .await;
    assert!(matches!(
        status,
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ));
}

#[tokio::test]
async fn files_that_are_no_registry_are_refused_with_a_clear_message() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let checked = |bytes: Vec<u8>, kind| {
        let app = &app;
        async move {
            app.services
                .import()
                .check(OP, p.city, &bytes, Some(kind), &|_, _| {})
                .await
                .unwrap()
        }
    };
    let before = count(&app, "SELECT COUNT(*) FROM firms").await;
    let r = checked(b"%PDF-1.7 not a sheet".to_vec(), ImportKind::Firms).await;
    assert!(r.file_error, "{}", issues(&r));
    let r = checked(Vec::new(), ImportKind::Orgs).await;
    assert!(
        r.file_error && has(&r, None, "FILE-EMPTY", "为空"),
        "{}",
        issues(&r)
    );
    // A member sheet read as an organisation roster: its header is not found.
    let members = Book::new(vec![row("", 1)]).bytes();
    let r = checked(members, ImportKind::Orgs).await;
    assert!(
        r.file_error && has(&r, None, "HEADER-NOT-FOUND", "党组织全称"),
        "{}",
        issues(&r)
    );
    // A firm registry without its credit code column: named.
    let head: Vec<&str> = FIRM_HEAD
        .iter()
        .copied()
        .filter(|h| !h.contains("信用代码"))
        .collect();
    let r = checked(
        xlsx(&head, &[strings(&["缺列律所", "110101", "合伙所", "3"])]),
        ImportKind::Firms,
    )
    .await;
    assert!(
        r.file_error && has(&r, None, "COLUMN-MISSING", "统一社会信用代码"),
        "{}",
        issues(&r)
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM firms").await, before);
}

#[tokio::test]
async fn a_rosters_a3_columns_fill_the_draft_run_its_rules_and_go_with_the_undo() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    firms_into(&app, p.city, &[61, 62, 63, 64]).await;
    // The roster as a city keeps it: the template's columns first, then 附件3's as written by
    // hand (short headers, 否, a number of 正式党员, dates typed with dots).
    let mut head: Vec<&str> = ORG_HEAD.to_vec();
    head.extend([
        "是否设支委会",
        "党员总数",
        "正式党员数",
        "任期届满日期",
        "联系人",
    ]);
    let row = |name: &str, seq: u32, extra: [&str; 5]| {
        let mut r = strings(&[name, "党支部", "", "", &code(seq), "", "", ""]);
        r.extend(strings(&extra));
        r
    };
    let bytes = xlsx(
        &head,
        &[
            row(
                "中共测试61律师事务所支部委员会",
                61,
                ["否", "9", "8", "2027.6.30", "刘一"],
            ),
            row(
                "中共测试62律师事务所支部委员会",
                62,
                ["可能", "3", "3", "", ""],
            ),
            row(
                "中共测试63律师事务所支部委员会",
                63,
                ["是", "5", "10", "", ""],
            ),
            row("中共测试64律师事务所支部委员会", 64, ["", "", "", "", ""]),
        ],
    );
    let r = check(&app, p.city, &bytes).await;
    assert_eq!((r.rows, r.valid, r.invalid), (4, 2, 2), "{}", issues(&r));
    // A branch reporting 8 正式党员 and no committee is flagged before any member is on record.
    assert!(
        has(&r, Some(2), "ORG-NEEDS-COMMITTEE", "填报正式党员 8 人"),
        "{}",
        issues(&r)
    );
    let bad_code = r
        .issues
        .iter()
        .find(|i| i.row == Some(3) && i.error)
        .expect("row 3 is wrong");
    assert_eq!(bad_code.rule, "CODE-UNKNOWN");
    assert_eq!(bad_code.column.as_deref(), Some("是否设支委会"));
    assert!(bad_code.message.contains("可能"), "{}", bad_code.message);
    assert!(
        has(&r, Some(4), "ORG-FULL-OVER-TOTAL", "正式党员数"),
        "{}",
        issues(&r)
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM org_registrations WHERE import_batch_id IS NOT NULL"
        )
        .await,
        0
    );

    let done = run(&app, p.city, &bytes, Mode::ValidOnly).await;
    let batch = done.batch_id.expect("imported");
    assert_eq!(done.imported, 2, "{}", issues(&done.report));
    // Row 2 has its draft, with what the organisation is and what the row gave; row 5 gave no
    // 附件3 value and has none.
    let (org61,): (i64,) =
        sqlx::query_as("SELECT id FROM orgs WHERE name = '中共测试61律师事务所支部委员会'")
            .fetch_one(app.services.db.pool())
            .await
            .unwrap();
    let view = app
        .services
        .org_registration()
        .view(OP, OrgId(org61))
        .await
        .unwrap();
    assert_eq!(view.version, 1);
    for (k, v) in [
        ("org_full_name", "中共测试61律师事务所支部委员会"),
        ("org_kind", "branch"),
        ("has_committee", "0"),
        ("reported_total", "9"),
        ("reported_full", "8"),
        ("term_end", "2027-06-30"),
        ("contact_name", "刘一"),
    ] {
        assert_eq!(view.values.get(k).map(String::as_str), Some(v), "{k}");
    }
    assert!(
        view.findings
            .iter()
            .any(|f| f.rule == "ORG-NEEDS-COMMITTEE")
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM org_registrations r JOIN orgs o ON o.id = r.org_id \
             WHERE o.name = '中共测试64律师事务所支部委员会'"
        )
        .await,
        0
    );

    // Undo takes the drafts with the organisations.
    app.services.import().undo(OP, batch).await.unwrap();
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM org_registrations WHERE import_batch_id IS NOT NULL"
        )
        .await,
        0
    );
    tallies_agree(&app).await;

    // Once somebody saves the imported draft, the batch can no longer be undone.
    let done = run(&app, p.city, &bytes, Mode::ValidOnly).await;
    let batch = done.batch_id.expect("imported again");
    let (org61,): (i64,) =
        sqlx::query_as("SELECT id FROM orgs WHERE name = '中共测试61律师事务所支部委员会'")
            .fetch_one(app.services.db.pool())
            .await
            .unwrap();
    let mut values = app
        .services
        .org_registration()
        .view(OP, OrgId(org61))
        .await
        .unwrap()
        .values;
    for (k, v) in [
        ("has_committee", "1"),
        ("formed_on", "2018-01-01"),
        ("approval_no", "京律党〔2018〕1号"),
        ("approved_by", "测试党委"),
        ("org_region", "110105"),
        ("secretary_name", "刘一"),
        ("secretary_is_lawyer", "1"),
        ("secretary_is_head", "1"),
        ("term_start", "2024-07-01"),
        ("contact_phone", "13800138000"),
    ] {
        values.insert(k.into(), v.into());
    }
    app.services
        .org_registration()
        .save(OP, OrgId(org61), values, 1)
        .await
        .unwrap();
    let refused = app.services.import().undo(OP, batch).await.unwrap_err();
    assert!(refused.to_string().contains("附件3"), "{refused}");
}

#[tokio::test]
async fn into_a_province_a_firm_organisation_builds_the_missing_city_it_names() {
    let app = TestApp::empty().await;
    app.start_campaign("登记核查", "2018-07-31", "2018-07-31")
        .await;
    let js = OrgId(count(&app, "SELECT id FROM orgs WHERE region_code = '320000'").await);
    let city = "无锡市律师行业党委";
    let rows = vec![
        // 锡山区 lies in 无锡市 (320200): the city is built there.
        strings(&[
            "新设甲所支部",
            "党支部",
            city,
            "320205",
            &code(71),
            "",
            "",
            "",
        ]),
        strings(&["新设乙所支部", "支部", city, "", &code(72), "", "", ""]),
        strings(&[
            "无处可归支部",
            "党支部",
            "不存在的党委",
            "",
            &code(73),
            "",
            "",
            "",
        ]),
    ];
    let bytes = xlsx(&ORG_HEAD, &rows);
    let r = check(&app, js, &bytes).await;
    let all = issues(&r);
    assert!(has(&r, Some(2), "PARENT-CREATED", "320200"), "{all}");
    // The second row names the same city and goes under it; its firm is not on record yet.
    assert!(!has(&r, Some(3), "PARENT-NOT-FOUND", ""), "{all}");
    assert!(has(&r, Some(3), "FIRM-NOT-FOUND", &code(72)), "{all}");
    // Without a region nothing can be built: the row says how.
    assert!(
        has(&r, Some(4), "PARENT-NOT-FOUND", "所在行政区划"),
        "{all}"
    );

    // The command line's dry run says so too.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("党组织.xlsx");
    std::fs::write(&file, &bytes).unwrap();
    // (Not importable all-or-nothing, so it ends with an error status.)
    let (_, out, err) = app
        .cli(&[
            "import",
            &file.display().to_string(),
            "--into",
            &js.0.to_string(),
            "--dry-run",
        ])
        .await;
    assert!(out.contains("另将新建 1 个上级党组织"), "{out}{err}");

    // So does the preview page: its button names the city to be built.
    let clerk = app.login_as(dengji::domain::Role::Clerk, js, None).await;
    let resp = clerk
        .post_file(
            &format!("/orgs/{}/import", js.0),
            &[("kind", "")],
            "党组织.xlsx",
            &bytes,
        )
        .await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER, "{}", resp.body);
    let preview = clerk.get(&resp.location().unwrap()).await;
    assert!(
        preview.body.contains("id=\"import-valid\"")
            && preview
                .body
                .contains("仅导入无误的 0 行并新建 1 个上级党组织"),
        "{}",
        preview.body
    );
    assert!(preview.body.contains("PARENT-CREATED"), "{}", preview.body);

    // Rows with wrong firms are left out; the city they name is built.
    let done = run(&app, js, &bytes, Mode::ValidOnly).await;
    let batch = done.batch_id.expect("the city is built");
    let (id, level, kind, region): (i64, String, String, String) =
        sqlx::query_as("SELECT id, level, kind, region_code FROM orgs WHERE import_batch_id = $1")
            .bind(batch)
            .fetch_one(app.services.db.pool())
            .await
            .unwrap();
    assert_eq!(
        (level.as_str(), kind.as_str(), region.as_str()),
        ("city", "industry_committee", "320200")
    );
    // Once it is there, a city named wrongly for its region is not built a second time.
    let wrong = xlsx(
        &ORG_HEAD,
        &[strings(&[
            "丙所支部",
            "党支部",
            "无锡律师党委",
            "320206",
            &code(74),
            "",
            "",
            "",
        ])],
    );
    let r = check(&app, js, &wrong).await;
    assert!(has(&r, Some(2), "PARENT-NOT-FOUND", city), "{}", issues(&r));
    // Its firms follow, then the same roster puts the organisations under it.
    firms_into(&app, OrgId(id), &[71, 72]).await;
    let again = run(&app, js, &bytes, Mode::ValidOnly).await;
    assert_eq!(again.imported, 2, "{}", issues(&again.report));
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM orgs WHERE parent_id = {id} AND level = 'firm'")
        )
        .await,
        2
    );
    tallies_agree(&app).await;
}
