//! Exports of 附件4/5/6: what we write is read back by a reader we did not write (Python's
//! openpyxl and csv modules) and compared with the records.

use std::process::Command;

use axum::http::StatusCode;

use dengji::domain::{MemberId, Role};
use dengji::service::Caller;

use crate::helpers::{TestApp, demo_places, python};

/// Read an .xlsx with openpyxl: every sheet's cell values (as text, "" for empty), the data
/// type of every cell, and the merged ranges, as JSON.
pub(crate) fn read_xlsx(path: &std::path::Path) -> serde_json::Value {
    let script = r#"
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
out = {}
for ws in wb.worksheets:
    rows, types, quoted = [], [], []
    for row in ws.iter_rows():
        rows.append(["" if c.value is None else str(c.value) for c in row])
        types.append([c.data_type for c in row])
        quoted += [str(c.value) for c in row if c.quotePrefix and c.data_type == "s"]
    out[ws.title] = {
        "rows": rows, "types": types, "quoted": quoted,
        "merged": sorted(str(r) for r in ws.merged_cells.ranges),
        "freeze": ws.freeze_panes, "landscape": ws.page_setup.orientation,
        "paper": ws.page_setup.paperSize, "footer": ws.oddFooter.center.text,
    }
print(json.dumps(out, ensure_ascii=False))
"#;
    serde_json::from_slice(&python(script, &[path.as_os_str()])).unwrap()
}

/// Read a CSV with Python's csv module after checking and removing the UTF-8 BOM.
fn read_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    assert!(bytes.starts_with(b"\xef\xbb\xbf"), "UTF-8 byte-order mark");
    let script = r#"
import csv, json, sys
text = sys.stdin.buffer.read().decode("utf-8-sig")
print(json.dumps(list(csv.reader(text.splitlines())), ensure_ascii=False))
"#;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The values of the text cells marked with Excel's quote prefix.
fn quoted(sheet: &serde_json::Value) -> Vec<String> {
    serde_json::from_value(sheet["quoted"].clone()).unwrap()
}

fn rows(sheet: &serde_json::Value) -> Vec<Vec<String>> {
    serde_json::from_value(sheet["rows"].clone()).unwrap()
}

#[tokio::test]
async fn the_city_a4_in_excel_reads_back_with_full_id_numbers_as_text() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let pool = app.services.db.pool();
    // A formula planted in a form field is written inert.
    let (firm, filed) = app.ready_firm().await;
    let _ = firm;
    sqlx::query("UPDATE registrations SET data = REPLACE(data, '\"standing\"', '\"remarks\":\"=HYPERLINK(1)\",\"standing\"') WHERE member_id = $1")
        .bind(filed[0].0)
        .execute(pool)
        .await
        .unwrap();

    let clerk = app.login_demo("shi").await;
    let r = clerk
        .get_bytes(&format!(
            "/orgs/{}/summary/a4/export?format=xlsx&ids=full&purpose=review",
            p.city.0
        ))
        .await;
    assert_eq!(r.0, StatusCode::OK);
    assert!(
        r.1.contains("attachment;") && r.1.contains("filename*=UTF-8''"),
        "{}",
        r.1
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a4.xlsx");
    std::fs::write(&file, &r.2).unwrap();
    let book = read_xlsx(&file);
    let sheet = &book["附件4"];
    let cells = rows(sheet);
    assert_eq!(cells[0][0], "附件4");
    assert_eq!(cells[1][0], "律师党员基本信息汇总表");
    assert!(cells[2][0].contains("填报单位（盖章）") && cells[2][0].contains("填报日期"));
    assert_eq!(cells[3][0], "序号");
    assert_eq!(cells[3][9], "公民身份号码");
    assert_eq!(sheet["freeze"], "A5");
    assert_eq!(sheet["landscape"], "landscape");
    assert_eq!(sheet["paper"], 8, "A3");
    assert!(sheet["footer"].as_str().unwrap().contains("&P"));

    // Every lawyer of the city, once, with the full ID number as text.
    let lawyers: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT m.id, m.citizen_id_enc FROM members m WHERE m.category = 'lawyer' \
         AND m.org_path >= (SELECT path FROM orgs WHERE id = $1) \
         AND m.org_path < (SELECT SUBSTR(path, 1, LENGTH(path) - 1) || '0' FROM orgs WHERE id = $1)",
    )
    .bind(p.city.0)
    .fetch_all(pool)
    .await
    .unwrap();
    let data: Vec<&Vec<String>> = cells[4..]
        .iter()
        .filter(|r| r[0].parse::<u64>().is_ok())
        .collect();
    assert_eq!(data.len(), lawyers.len());
    let types: Vec<Vec<String>> = serde_json::from_value(sheet["types"].clone()).unwrap();
    for (i, row) in data.iter().enumerate() {
        assert_eq!(row[0], (i + 1).to_string(), "row numbers");
        assert_eq!(row[9].len(), 18, "full ID number: {}", row[9]);
        assert_eq!(types[4 + i][9], "s", "ID number stored as text");
    }
    let mut expected: Vec<String> = lawyers
        .iter()
        .map(|(_, enc)| app.services.keys.decrypt_id(enc).unwrap())
        .collect();
    let mut got: Vec<String> = data.iter().map(|r| r[9].clone()).collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    // Codes as labels, and the total line.
    assert!(
        data.iter().all(|r| r[6] == "男" || r[6] == "女"),
        "性别 as label"
    );
    assert!(data.iter().any(|r| r[21] == "已审核通过"));
    assert!(
        cells
            .iter()
            .any(|r| r[0] == format!("合计：{} 人", lawyers.len()))
    );
    // The planted formula is inert text, its value unchanged: a text cell with Excel's
    // quote prefix.
    assert!(
        data.iter().any(|r| r[22] == "=HYPERLINK(1)"),
        "the value as typed"
    );
    assert!(quoted(sheet).contains(&"=HYPERLINK(1)".to_owned()));
    // The export is audited, without any ID number.
    let detail = app.audit("export").await[0].detail.clone();
    assert!(detail.contains("\"rows\"") && !detail.contains(&expected[0]));
}

#[tokio::test]
async fn the_a6_has_a_two_row_header_and_its_statistics_sheet() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let clerk = app.login_demo("shi").await;
    let r = clerk
        .get_bytes(&format!("/orgs/{}/summary/a6/export?format=xlsx", p.city.0))
        .await;
    assert_eq!(r.0, StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a6.xlsx");
    std::fs::write(&file, &r.2).unwrap();
    let book = read_xlsx(&file);
    let sheet = &book["附件6"];
    let cells = rows(sheet);
    assert_eq!(cells[1][0], "党组织信息汇总表");
    assert_eq!(cells[3][9], "党员数");
    assert_eq!(
        &cells[4][9..13],
        &["正式", "预备", "律师", "工作人员"].map(String::from)
    );
    let merged: Vec<String> = serde_json::from_value(sheet["merged"].clone()).unwrap();
    assert!(merged.contains(&"J4:M4".to_owned()), "{merged:?}");
    assert!(merged.contains(&"A4:A5".to_owned()), "{merged:?}");
    assert_eq!(sheet["freeze"], "A6");
    // The organisations and their member counts agree with the records.
    let orgs: i64 = app.children_of(p.city).await.len() as i64;
    let data: Vec<&Vec<String>> = cells[5..]
        .iter()
        .filter(|r| r[0].parse::<u64>().is_ok())
        .collect();
    assert_eq!(data.len() as i64, orgs);
    let members_listed: i64 = data
        .iter()
        .map(|r| r[9].parse::<i64>().unwrap() + r[10].parse::<i64>().unwrap())
        .sum();
    let mut members_in_orgs = 0;
    for org in app.children_of(p.city).await {
        members_in_orgs += app.members_of(org).await.len() as i64;
    }
    assert_eq!(members_listed, members_in_orgs);
    // The statistics sheet matches the page's block.
    let stats = app
        .services
        .summary()
        .table(Caller::Operator, p.city, "A6", 1)
        .await
        .unwrap()
        .stats
        .unwrap();
    let block = rows(&book["统计"]);
    let value = |k: &str| {
        block
            .iter()
            .find(|r| r[0] == k)
            .map(|r| r[1].clone())
            .unwrap_or_default()
    };
    assert_eq!(value("律所总数"), stats.firms.to_string());
    assert_eq!(value("党员律师数"), stats.lawyers.to_string());
    assert_eq!(value("纳入联合党支部律所数"), stats.firms_joint.to_string());
}

#[tokio::test]
async fn csv_exports_carry_a_bom_and_defuse_formulas() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let clerk = app.login_demo("suo").await;
    let r = clerk
        .get_bytes(&format!(
            "/orgs/{}/summary/a5/export?format=csv",
            p.firm_org.0
        ))
        .await;
    assert_eq!(r.0, StatusCode::OK);
    let mut table = read_csv(&r.2);
    // The first line names the export (the watermark); then the header row as users see
    // it (附件5's columns, in order).
    assert!(table[0][0].starts_with("# 导出编号 EX-"), "{:?}", table[0]);
    table.remove(0);
    insta::assert_snapshot!(table[0].join(","), @"序号,省,地市,律所名称,所在党组织,姓名,性别,民族,出生日期,公民身份号码,学历,人员类别,入党日期,转正日期,岗位类别,组织关系所在党组织,组织关系是否在本所,转接状态,党费交至年月,参加组织生活党组织,问题类别,审核状态,备注");
    let staff = app
        .members_at(p.firm_org)
        .await
        .iter()
        .filter(|m| m.category == "staff")
        .count() as i64;
    assert_eq!(table.len() as i64 - 1, staff);
    assert!(
        table[1..]
            .iter()
            .all(|r| r[9].chars().count() == 18 && r[9].contains('*')),
        "masked by default"
    );
    assert_eq!(dengji::service::export::defuse("=1+1"), "'=1+1");
    assert_eq!(dengji::service::export::defuse("-2"), "'-2");
    assert_eq!(dengji::service::export::defuse("@SUM(A1)"), "'@SUM(A1)");
    assert_eq!(dengji::service::export::defuse("张三"), "张三");
}

#[tokio::test]
async fn exports_are_for_working_accounts_of_the_subtree_only() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let member = app.login_demo("dangyuan").await;
    let r = member
        .get_bytes(&format!("/orgs/{}/summary/a4/export", p.firm_org.0))
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN);
    let auditor = app.login_as(Role::Auditor, p.city, None).await;
    let r = auditor
        .get_bytes(&format!("/orgs/{}/summary/a4/export", p.city.0))
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN);
    let other = app.login_as(Role::Clerk, p.other_city, None).await;
    let r = other
        .get_bytes(&format!("/orgs/{}/summary/a4/export", p.city.0))
        .await;
    assert_eq!(r.0, StatusCode::NOT_FOUND);
    let clerk = app.login_demo("shi").await;
    let r = clerk
        .get_bytes(&format!("/orgs/{}/summary/a4/export?format=pdf", p.city.0))
        .await;
    assert_eq!(r.0, StatusCode::BAD_REQUEST);
    let r = clerk
        .get_bytes(&format!("/orgs/{}/summary/a9/export", p.city.0))
        .await;
    assert_eq!(r.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn templates_have_drop_downs_text_columns_and_instructions() {
    let app = TestApp::spawn().await;
    let clerk = app.login_demo("suo").await;
    let r = clerk.get_bytes("/templates/a1").await;
    assert_eq!(r.0, StatusCode::OK);
    assert!(r.1.contains("filename*=UTF-8''"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a1.xlsx");
    std::fs::write(&file, &r.2).unwrap();
    let script = r#"
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb["附件1"]
head = [c.value for c in ws[1]]
dv = [(str(v.sqref), v.formula1) for v in ws.data_validations.dataValidation]
col = head.index("＊公民身份号码") + 1
letter = openpyxl.utils.get_column_letter(col)
print(json.dumps({
  "sheets": wb.sheetnames, "hidden": wb["代码表"].sheet_state, "head": head, "dv": dv,
  "id_format": ws.column_dimensions[letter].number_format,
  "help": [[c.value for c in row] for row in wb["填写说明"].iter_rows(min_row=5)],
  "ethnic": [c.value for c in wb["代码表"]["A"]],
}, ensure_ascii=False))
"#;
    let v: serde_json::Value =
        serde_json::from_slice(&python(script, &[file.as_os_str()])).unwrap();
    let sheets: Vec<String> = serde_json::from_value(v["sheets"].clone()).unwrap();
    assert!(sheets.contains(&"附件1".to_owned()) && sheets.contains(&"填写说明".to_owned()));
    assert_eq!(v["hidden"], "hidden");
    let head: Vec<String> = serde_json::from_value(v["head"].clone()).unwrap();
    assert!(head.contains(&"＊姓名".to_owned()), "{head:?}");
    assert!(head.contains(&"民族".to_owned()) || head.contains(&"＊民族".to_owned()));
    assert_eq!(v["id_format"], "@", "ID number column is text");
    let dv: Vec<(String, String)> = serde_json::from_value(v["dv"].clone()).unwrap();
    assert!(dv.iter().any(|(_, f)| f.starts_with("代码表!$")), "{dv:?}");
    let help: Vec<Vec<serde_json::Value>> = serde_json::from_value(v["help"].clone()).unwrap();
    assert_eq!(
        help.len(),
        head.len(),
        "one line of instructions per column"
    );
    assert!(
        help.iter()
            .any(|r| r[2].as_str().unwrap_or("").contains("GB 11643"))
    );
    // A member account gets no template; an unknown form is not found.
    let member = app.login_demo("dangyuan").await;
    assert_eq!(
        member.get_bytes("/templates/a1").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        clerk.get_bytes("/templates/a9").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_export_command_writes_the_file_or_nothing() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let app = &app;
    let run = |args: Vec<String>| async move {
        app.cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .await
    };
    let target = dir.path().join("a6.xlsx");
    let (ok, out, err) = run(vec![
        "export".into(),
        "a6".into(),
        "--node".into(),
        p.city.0.to_string(),
        "-o".into(),
        target.display().to_string(),
    ])
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("已导出"), "{out}");
    {
        // Exports may hold full ID numbers: readable by their owner only.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let book = read_xlsx(&target);
    assert_eq!(rows(&book["附件6"])[1][0], "党组织信息汇总表");

    // Bad requests are named.
    let (ok, _, err) = run(vec![
        "export".into(),
        "a4".into(),
        "--node".into(),
        "1".into(),
        "-o".into(),
        dir.path().join("x.pdf").display().to_string(),
    ])
    .await;
    assert!(!ok && err.contains(".xlsx 或 .csv"), "{err}");
    let (ok, _, err) = run(vec![
        "export".into(),
        "a7".into(),
        "--node".into(),
        "1".into(),
        "-o".into(),
        dir.path().join("x.csv").display().to_string(),
    ])
    .await;
    assert!(!ok && err.contains("a4、a5、a6，名册 a1、a2"), "{err}");

    // A record that cannot be read stops the export: no file, no partial file.
    sqlx::query("UPDATE members SET citizen_id_enc = $1 WHERE id = $2")
        .bind(vec![1u8, 2, 3])
        .bind(p.member.0)
        .execute(app.services.db.pool())
        .await
        .unwrap();
    let broken = dir.path().join("broken.xlsx");
    // Full numbers need a purpose.
    let (ok, _, err) = run(vec![
        "export".into(),
        "a4".into(),
        "--node".into(),
        p.firm_org.0.to_string(),
        "--full-ids".into(),
        "-o".into(),
        broken.display().to_string(),
    ])
    .await;
    assert!(!ok && err.contains("须选择用途"), "{err}");
    let (ok, _, _) = run(vec![
        "export".into(),
        "a4".into(),
        "--node".into(),
        p.firm_org.0.to_string(),
        "--full-ids".into(),
        "--purpose".into(),
        "核查".into(),
        "-o".into(),
        broken.display().to_string(),
    ])
    .await;
    assert!(!ok);
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !left.iter().any(|n| n.starts_with("broken")),
        "nothing left behind: {left:?}"
    );
}

#[tokio::test]
async fn the_a3_roster_gives_every_field_of_each_organisations_form() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let view = file_a3(&app, p.firm_org).await;

    let clerk = app.login_demo("shi").await;
    let page = clerk.get(&format!("/orgs/{}/summary/a3", p.city.0)).await;
    assert!(
        page.body.contains("党组织基本信息登记表（名册）"),
        "{}",
        page.body
    );
    assert!(page.body.contains("律党发〔2015〕12号"));
    let r = clerk
        .get_bytes(&format!("/orgs/{}/summary/a3/export?format=xlsx", p.city.0))
        .await;
    assert_eq!(r.0, StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a3.xlsx");
    std::fs::write(&file, &r.2).unwrap();
    let book = read_xlsx(&file);
    // A roster, not a summary: no statistics sheet.
    assert!(book.get("统计").is_none(), "{book}");
    let cells = rows(&book["附件3"]);
    let header = cells
        .iter()
        .position(|r| r.first().is_some_and(|c| c == "序号"))
        .expect("header row");
    let col = |label: &str| {
        cells[header]
            .iter()
            .position(|c| c == label)
            .unwrap_or_else(|| panic!("column {label}: {:?}", cells[header]))
    };
    // Every field of the form is a column.
    let catalogue = dengji::forms::Catalogue::get();
    let form = catalogue.form("A3").unwrap();
    for f in catalogue.fields_of(form) {
        col(&f.label);
    }
    let row = cells[header + 1..]
        .iter()
        .find(|r| r[col("批准文号")] == "律党发〔2015〕12号")
        .expect("the organisation's row");
    assert_eq!(row[col("党组织全称")], view.org.name);
    assert_eq!(row[col("书记姓名")], "王强");
    assert_eq!(row[col("书记是否律师")], "是");
    assert_eq!(row[col("本届任期届满日期")], "2027-03-01");
    assert_eq!(row[col("党组织联系人")], "李明");
    // Formula-like text goes out as text, unchanged, never a formula.
    assert_eq!(row[col("活动场所")], "=HYPERLINK(\"x\")");
    assert!(quoted(&book["附件3"]).contains(&"=HYPERLINK(\"x\")".to_owned()));
}

#[tokio::test]
async fn a_members_form_prints_in_the_official_one_form_layout() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let first = app.member(app.members_of(p.firm_org).await[0]).await;
    let (id, name, category) = (first.id.0, first.name, first.category);
    let full_id = {
        let mut conn = app.services.db.acquire().await.unwrap();
        let enc = dengji::store::members::encrypted_id(&mut conn, dengji::domain::MemberId(id))
            .await
            .unwrap()
            .unwrap();
        app.services.keys.decrypt_id(&enc).unwrap()
    };
    let clerk = app.login_demo("shi").await;
    let page = clerk.get(&format!("/members/{id}")).await;
    assert!(page.body.contains(&format!("/members/{id}/form.xlsx")));
    // The official form to stamp carries the full number: exported for a purpose.
    let r = clerk
        .get_bytes(&format!("/members/{id}/form.xlsx?ids=full&purpose=review"))
        .await;
    assert_eq!(r.0, StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("form.xlsx");
    std::fs::write(&file, &r.2).unwrap();
    let book = read_xlsx(&file);
    let catalogue = dengji::forms::Catalogue::get();
    let form = catalogue.form_for_category(&category).unwrap();
    let sheet = &book[form.attachment.as_str()];
    let cells = rows(sheet);
    assert_eq!(cells[1][0], form.title);
    assert_eq!(sheet["landscape"], "portrait");
    assert_eq!(sheet["paper"], 9);
    assert!(sheet["footer"].as_str().unwrap().contains("&P"));
    // Every field of the form: its label, and beside it the value.
    let value_of = |label: &str| -> (String, String) {
        for (r, row) in cells.iter().enumerate() {
            for c in [0usize, 2] {
                if row.get(c).is_some_and(|l| l == label) {
                    let t = sheet["types"][r][c + 1].as_str().unwrap_or("").to_owned();
                    return (row[c + 1].clone(), t);
                }
            }
        }
        panic!("no label {label}: {cells:?}")
    };
    for f in catalogue.fields_of(form) {
        value_of(&f.label);
    }
    assert_eq!(value_of("姓名").0, name);
    // The full ID number, as text (no 1.1E+17, no lost X), and codes as their labels.
    assert_eq!(value_of("公民身份号码"), (full_id, "s".to_owned()));
    let ethnicity: String = app.member(MemberId(id)).await.ethnicity;
    let label = catalogue
        .list("ethnicity")
        .and_then(|l| l.label(&ethnicity))
        .unwrap()
        .to_owned();
    assert_eq!(value_of("民族").0, label);
    // Audited.
    let n = app
        .audit("export.member_form")
        .await
        .iter()
        .filter(|e| e.target_id == id.to_string())
        .count();
    assert_eq!(n, 1);
    // Not for the member's own account, nor for anyone outside the subtree.
    let member = app.login_demo("dangyuan").await;
    let own: i64 = app.user("dangyuan").await.member_id.unwrap().0;
    let r = member.get_bytes(&format!("/members/{own}/form.xlsx")).await;
    assert_eq!(r.0, StatusCode::FORBIDDEN);
    let r = clerk.get_bytes("/members/999999999/form.xlsx").await;
    assert_eq!(r.0, StatusCode::NOT_FOUND);
}

/// Save an organisation's 附件3 with every field filled in (one value formula-like); the view
/// as it was before.
async fn file_a3(
    app: &TestApp,
    org: dengji::domain::OrgId,
) -> dengji::service::org_registration::OrgRegistrationView {
    let view = app
        .services
        .org_registration()
        .view(Caller::Operator, org)
        .await
        .unwrap();
    let mut values = view.values.clone();
    values.extend(crate::helpers::a3_values(&view.org.name));
    values.insert("venue".into(), "=HYPERLINK(\"x\")".into());
    values
        .entry("reported_total".into())
        .or_insert(view.derived.total.to_string());
    app.services
        .org_registration()
        .save(Caller::Operator, org, values, view.version)
        .await
        .unwrap();
    view
}

#[tokio::test]
async fn an_organisations_a3_prints_in_the_one_form_layout() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let view = file_a3(&app, p.firm_org).await;
    let clerk = app.login_demo("shi").await;
    let page = clerk.get(&format!("/orgs/{}/a3", p.firm_org.0)).await;
    assert!(
        page.body
            .contains(&format!("/orgs/{}/a3.xlsx", p.firm_org.0))
    );
    let r = clerk
        .get_bytes(&format!("/orgs/{}/a3.xlsx", p.firm_org.0))
        .await;
    assert_eq!(r.0, StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a3-form.xlsx");
    std::fs::write(&file, &r.2).unwrap();
    let book = read_xlsx(&file);
    let sheet = &book["附件3"];
    let cells = rows(sheet);
    assert_eq!(cells[1][0], view.form.title);
    assert_eq!(sheet["landscape"], "portrait");
    let value_of = |label: &str| -> String {
        cells
            .iter()
            .find_map(|row| {
                [0usize, 2]
                    .into_iter()
                    .find(|c| row.get(*c).is_some_and(|l| l == label))
                    .map(|c| row[c + 1].clone())
            })
            .unwrap_or_else(|| panic!("no label {label}"))
    };
    let catalogue = dengji::forms::Catalogue::get();
    for f in catalogue.fields_of(view.form) {
        value_of(&f.label);
    }
    assert_eq!(value_of("党组织全称"), view.org.name);
    assert_eq!(value_of("批准文号"), "律党发〔2015〕12号");
    assert_eq!(value_of("书记是否律师"), "是");
    assert_eq!(value_of("活动场所"), "=HYPERLINK(\"x\")");
    assert!(quoted(sheet).contains(&"=HYPERLINK(\"x\")".to_owned()));
    let n = app
        .audit("export.org_form")
        .await
        .iter()
        .filter(|e| e.target_id == p.firm_org.0.to_string())
        .count();
    assert_eq!(n, 1);
    // A member's account cannot export it.
    let member = app.login_demo("dangyuan").await;
    let r = member
        .get_bytes(&format!("/orgs/{}/a3.xlsx", p.firm_org.0))
        .await;
    assert!(
        matches!(r.0, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{}",
        r.0
    );
}

#[tokio::test]
async fn the_a4_printed_from_libreoffice_is_readable_on_a3_landscape() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (firm, filed) = app.ready_firm().await;
    assert!(!filed.is_empty());
    let clerk = app.login_demo("shi").await;
    let (status, _, bytes) = clerk
        .get_bytes(&format!("/orgs/{}/summary/a4/export?format=xlsx", p.city.0))
        .await;
    assert_eq!(status, StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a4.xlsx");
    std::fs::write(&file, &bytes).unwrap();
    // Print it as a user would: LibreOffice Calc, headless, to PDF.
    let out = std::process::Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            dir.path().join("profile").display()
        ))
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(dir.path())
        .arg(&file)
        .output()
        .expect(
            "soffice must be installed (libreoffice-calc-nogui; scripts/test-env.sh installs it)",
        );
    let pdf = dir.path().join("a4.pdf");
    assert!(pdf.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    let info = String::from_utf8(
        std::process::Command::new("pdfinfo")
            .arg(&pdf)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    // A3 landscape is 1191 x 842 pt.
    assert!(info.contains("1190.") || info.contains("1191"), "{info}");
    assert!(info.contains("x 841.") || info.contains("x 842"), "{info}");
    // Every word's box, from poppler: the text is at least 8 pt high.
    let bbox = String::from_utf8(
        std::process::Command::new("pdftotext")
            .args(["-bbox"])
            .arg(&pdf)
            .arg("-")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let attr = |w: &str, name: &str| -> f64 {
        w.split(&format!("{name}=\""))
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let mut heights: Vec<f64> = bbox
        .lines()
        .filter(|l| l.trim_start().starts_with("<word"))
        .map(|w| attr(w, "yMax") - attr(w, "yMin"))
        .collect();
    assert!(heights.len() > 50, "text found: {}", heights.len());
    heights.sort_by(f64::total_cmp);
    let smallest_tenth = heights[heights.len() / 10];
    assert!(
        smallest_tenth >= 8.0,
        "text boxes {smallest_tenth:.1} pt high (median {:.1}, largest {:.1})",
        heights[heights.len() / 2],
        heights[heights.len() - 1]
    );
    // Long names are whole (wrapped, not cut): the firm organisation's name and the city's
    // short name can be read in the text.
    let text: String = String::from_utf8(
        std::process::Command::new("pdftotext")
            .arg(&pdf)
            .arg("-")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .split_whitespace()
    .collect();
    let org = app.org(firm).await.name;
    assert!(text.contains(&org), "{org} whole in: {text}");
    // The watermark prints in the header of the page: the export's id and who took it.
    let export_id = app
        .audit("export")
        .await
        .into_iter()
        .find_map(|e| {
            let d: serde_json::Value = serde_json::from_str(&e.detail).ok()?;
            d["export_id"].as_str().map(str::to_owned)
        })
        .expect("the export's id");
    assert!(
        text.contains(&format!("导出编号{export_id}")),
        "{export_id} printed: {text}"
    );
    assert!(
        text.contains("市经办人") || text.contains("shi"),
        "who printed"
    );
    let city = dengji::domain::org::short_node_name(&app.org(p.city).await.name);
    assert!(text.contains(&city), "{city}");
    assert!(text.contains("律师党员基本信息汇总表"));
}
