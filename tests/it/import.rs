//! Bulk import of members from .xlsx and .csv: the dry run names every problem by row, column
//! and rule; all-or-nothing and valid-only imports; batches and undo; nationwide duplicates
//! without saying where; scope; and every kind of bad file refused without a change.

use axum::http::StatusCode;
use rust_xlsxwriter::Workbook;

use dengji::domain::Role;
use dengji::service::Caller;
use dengji::service::import::{ImportKind, ImportRequest, Mode, Report, Uploaded};

use crate::helpers::files::HEAD;
use crate::helpers::{Book, Cell, TestApp, backend, demo_places, python, row};
use crate::helpers::{between, check, count, fresh_id, has, issues, run};

const OP: Caller<'static> = Caller::Operator;

async fn scalar(app: &TestApp, sql: &str, arg: i64) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(arg)
        .fetch_one(app.services.db.pool())
        .await
        .unwrap()
}

/// Credit codes: the demo firm organisation's own firm, another firm of the same city, and a
/// firm of another province.
async fn firms(app: &TestApp) -> (String, String, String) {
    let p = demo_places(app).await;
    let own = app.firm_of(p.firm_org).await.credit_code;
    let first_code = |firms: Vec<dengji::service::directory::Firm>| {
        firms
            .into_iter()
            .map(|f| f.credit_code)
            .min()
            .expect("a firm")
    };
    let same_city = first_code(
        app.firms_under(p.city)
            .await
            .into_iter()
            .filter(|f| f.city_org_id == p.city && f.org_id != Some(p.firm_org))
            .collect(),
    );
    let far = first_code(
        app.firms_under(p.other_city)
            .await
            .into_iter()
            .filter(|f| f.city_org_id == p.other_city)
            .collect(),
    );
    (own, same_city, far)
}

#[tokio::test]
async fn a_clean_file_is_checked_then_imported_as_a_batch_and_undone() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, same_city, _) = firms(&app).await;
    let members_before = count(&app, "SELECT COUNT(*) FROM members").await;
    let bytes = Book::new(vec![row(&own, 1), row(&same_city, 2), row("", 3)])
        .cell(2, 0, Cell::Text(own.clone()))
        .bytes();

    // The dry run stores nothing.
    let r = check(&app, p.city, &bytes).await;
    assert_eq!(r.kind, Some(ImportKind::Lawyers));
    assert_eq!((r.rows, r.valid, r.invalid), (3, 3, 0), "{}", issues(&r));
    assert!(!r.file_error);
    // Required form columns the file lacks are left for the member, said once.
    assert!(has(&r, None, "COLUMN-LATER", "党籍状态"), "{}", issues(&r));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM members").await,
        members_before
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM import_batches").await, 0);

    let done = run(&app, p.city, &bytes, Mode::AllOrNothing).await;
    let batch = done.batch_id.expect("imported");
    assert_eq!((done.imported, done.skipped), (3, 0));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM members").await,
        members_before + 3
    );
    // Each member has a draft form holding the file's values, never the ID number.
    let data: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT m.citizen_id_masked, r.state, r.data FROM members m \
         JOIN registrations r ON r.member_id = m.id WHERE m.import_batch_id = $1 ORDER BY m.id",
    )
    .bind(batch)
    .fetch_all(app.services.db.pool())
    .await
    .unwrap();
    assert_eq!(data.len(), 3);
    for (masked, state, json) in &data {
        assert!(masked.contains('*'), "{masked}");
        assert_eq!(state, "draft");
        assert!(
            !json.contains(&fresh_id(1)) && !json.contains("citizen_id"),
            "{json}"
        );
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["ethnicity"], "01", "labels are stored as codes");
        assert_eq!(v["party_status"], "full");
        assert_eq!(v["practice_type"], "1");
    }
    // The second row belongs to the other firm of the city.
    let second = app.member_licensed("11101200511999002").await;
    let firm_of_2 = app.firm(second.firm_id).await.credit_code;
    assert_eq!(firm_of_2, same_city);
    // Audited, and the tallies kept by triggers agree with a recount.
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM audit_events WHERE action = 'import.members' AND target_id = CAST($1 AS TEXT)", batch).await,
        1
    );
    let mut conn = app.services.db.acquire().await.unwrap();
    for f in dengji::store::check::run(&mut conn).await.unwrap() {
        assert_eq!(f.violations, 0, "{}", f.name);
    }
    drop(conn);

    // The same file again: every row is already registered (named: it is inside the subtree).
    let again = check(&app, p.city, &bytes).await;
    assert_eq!(again.valid, 0);
    assert!(
        has(&again, Some(2), "DUP-REGISTERED", "林1"),
        "{}",
        issues(&again)
    );

    // Undo removes the members and their drafts; a second undo is refused.
    let gone = app.services.import().undo(OP, batch).await.unwrap();
    assert_eq!((gone.kind, gone.removed), (ImportKind::Lawyers, 3));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM members").await,
        members_before
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM import_batches WHERE id = $1 AND undone_at IS NOT NULL",
            batch
        )
        .await,
        1
    );
    let err = app.services.import().undo(OP, batch).await.unwrap_err();
    assert!(err.to_string().contains("已经撤销"), "{err}");
    // The tallies, counted out of by the undo, agree with a recount again.
    let mut conn = app.services.db.acquire().await.unwrap();
    for f in dengji::store::check::run(&mut conn).await.unwrap() {
        assert_eq!(f.violations, 0, "{}", f.name);
    }
}

#[tokio::test]
async fn all_or_nothing_refuses_a_file_with_one_bad_row_and_valid_only_takes_the_rest() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    let mut bad = row(&own, 12);
    bad[2] = "110101193101010129".into(); // wrong check digit
    let bytes = Book::new(vec![row(&own, 11), bad, row(&own, 13)]).bytes();
    let before = count(&app, "SELECT COUNT(*) FROM members").await;

    let r = check(&app, p.firm_org, &bytes).await;
    assert_eq!((r.rows, r.valid, r.invalid), (3, 2, 1));
    let e = r.errors().find(|i| i.row == Some(3)).expect("row 3 named");
    assert_eq!(e.column.as_deref(), Some("＊公民身份号码"));
    assert!(e.message.starts_with("＊公民身份号码："), "{}", e.message);

    let refused = run(&app, p.firm_org, &bytes, Mode::AllOrNothing).await;
    assert_eq!(refused.batch_id, None);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM members").await, before);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM import_batches").await, 0);

    let done = run(&app, p.firm_org, &bytes, Mode::ValidOnly).await;
    assert_eq!((done.imported, done.skipped), (2, 1));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM members").await,
        before + 2
    );
    let b = done.batch_id.unwrap();
    assert_eq!(
        scalar(
            &app,
            "SELECT rows_skipped FROM import_batches WHERE id = $1",
            b
        )
        .await,
        1
    );
}

#[tokio::test]
async fn cells_excel_typed_its_own_way_are_read_or_named() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    let rows: Vec<Vec<String>> = (21..=26).map(|s| row(&own, s)).collect();
    let bytes = Book::new(rows)
        // Row 2: the ID number typed as a number (Excel kept 15 digits).
        .cell(0, 2, Cell::Number(110_101_193_101_010_210.0))
        // Row 3: dates as Excel dates and as a bare serial number; mobile as a number.
        .cell(1, 7, Cell::Date(1960, 7, 1))
        .cell(1, 8, Cell::Number(22_463.0))
        .cell(1, 5, Cell::Number(13_800_138_000.0))
        // Row 4: a date that is no date.
        .cell(2, 7, Cell::Text("去年夏天".into()))
        // Row 5: a date typed the Chinese way, a code by its number.
        .cell(3, 7, Cell::Text("1960年7月1日".into()))
        .cell(3, 3, Cell::Number(1.0))
        // Row 6: the licence number as a number; row 7: a formula error.
        .cell(4, 9, Cell::Number(11_101_200_511_999_025.0))
        .bytes();
    let r = check(&app, p.firm_org, &bytes).await;
    let text = issues(&r);
    assert!(has(&r, Some(2), "NUMBER-NOT-TEXT", "文本"), "{text}");
    assert!(!r.errors().any(|i| i.row == Some(3)), "{text}");
    assert!(has(&r, Some(4), "DATE-FORMAT", "入党日期"), "{text}");
    assert!(!r.errors().any(|i| i.row == Some(5)), "{text}");
    assert!(has(&r, Some(6), "NUMBER-NOT-TEXT", "执业证号"), "{text}");
    assert_eq!((r.valid, r.invalid), (3, 3), "{text}");
    let done = run(&app, p.firm_org, &bytes, Mode::ValidOnly).await;
    let m = app.member_licensed("11101200511999022").await;
    let (joined, full, mobile, ethnicity) = (
        m.joined_on,
        m.full_member_on.unwrap_or_default(),
        m.mobile,
        m.ethnicity,
    );
    assert_eq!(done.imported, 3);
    assert_eq!(
        (joined.as_str(), full.as_str()),
        ("1960-07-01", "1961-07-01")
    );
    assert_eq!(mobile, "13800138000");
    assert_eq!(ethnicity, "01");
    let code = app.member_licensed("11101200511999024").await.ethnicity;
    assert_eq!(code, "01", "民族 typed as the number 1");
}

#[tokio::test]
async fn headers_missing_renamed_or_extra_are_named() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    // 公民身份号码 renamed to something no alias knows (身份证号 is known, see
    // forms/headers.toml), 学历 deleted, one column of the user's own.
    let mut book = Book::new(vec![row(&own, 31)]);
    book.head[2] = "身份信息".into();
    book.head[4] = String::new();
    book.head.push("联系人".into());
    let r = check(&app, p.firm_org, &book.bytes()).await;
    assert!(r.file_error);
    assert!(
        has(&r, None, "COLUMN-MISSING", "“公民身份号码”"),
        "{}",
        issues(&r)
    );
    assert!(has(&r, None, "COLUMN-MISSING", "“学历”"), "{}", issues(&r));
    assert!(
        r.issues
            .iter()
            .any(|i| i.rule == "COLUMN-EXTRA" && i.message.contains("身份信息"))
    );

    // Extra columns alone are ignored and reported; the header may sit below a title row.
    let mut book = Book::new(vec![row(&own, 32)]);
    book.head.push("联系人".into());
    let mut bytes_rows = vec![vec!["附件1 律师党员基本信息登记表".to_owned()]];
    bytes_rows.push(book.head.clone());
    bytes_rows.extend(book.rows.clone());
    book.head = vec!["".into()];
    book.rows = bytes_rows;
    let r = check(&app, p.firm_org, &book.bytes()).await;
    assert!(!r.file_error, "{}", issues(&r));
    assert_eq!(r.header_row, Some(3));
    assert_eq!(r.valid, 1, "{}", issues(&r));
    let extra = r.issues.iter().find(|i| i.rule == "COLUMN-EXTRA").unwrap();
    assert!(
        !extra.error && extra.message.contains("M列“联系人”"),
        "{}",
        extra.message
    );

    // A city importing without the firm column is told which column is needed.
    let mut book = Book::new(vec![row("", 33)]);
    book.head[0] = String::new();
    let r = check(&app, p.city, &book.bytes()).await;
    assert!(
        has(&r, None, "COLUMN-MISSING", "律师事务所统一社会信用代码"),
        "{}",
        issues(&r)
    );
}

#[tokio::test]
async fn duplicates_in_the_file_and_in_the_country_are_found_without_saying_where() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    let pool = app.services.db.pool();
    // A member of another province: their ID number and licence, and their name.
    let (enc, name, licence): (Vec<u8>, String, String) = sqlx::query_as(
        "SELECT m.citizen_id_enc, m.name, m.licence_no FROM members m JOIN firms f ON f.id = m.firm_id \
         WHERE f.city_org_id = $1 AND m.licence_no IS NOT NULL ORDER BY m.id LIMIT 1",
    )
    .bind(p.other_city.0)
    .fetch_one(pool)
    .await
    .unwrap();
    let far_id = app.services.keys.decrypt_id(&enc).unwrap();
    let mut elsewhere = row(&own, 42);
    elsewhere[2] = far_id;
    let mut licence_elsewhere = row(&own, 43);
    licence_elsewhere[9] = licence;
    let bytes = Book::new(vec![
        row(&own, 41),
        elsewhere,
        licence_elsewhere,
        row(&own, 41),
    ])
    .bytes();
    let r = check(&app, p.firm_org, &bytes).await;
    let text = issues(&r);
    assert!(has(&r, Some(5), "DUP-IN-FILE", "与第2行重复"), "{text}");
    assert!(
        has(&r, Some(3), "DUP-REGISTERED", "可能在其他单位"),
        "{text}"
    );
    assert!(has(&r, Some(4), "DUP-REGISTERED", "执业证号"), "{text}");
    assert!(
        !text.contains(&name),
        "the other member's name is not revealed: {text}"
    );
    let far_org: String = app.org(p.other_city).await.name;
    assert!(!text.contains(&far_org), "{text}");
    // Both twins are wrong, each naming the other.
    assert!(has(&r, Some(2), "DUP-IN-FILE", "与第5行重复"), "{text}");
    assert_eq!((r.valid, r.invalid), (0, 4));
}

#[tokio::test]
async fn rows_outside_the_subtree_and_merged_cells_are_refused_row_by_row() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, same_city, far) = firms(&app).await;
    let mut book = Book::new(vec![
        row(&far, 51),
        row(&same_city, 52),
        row(&own, 53),
        row(&own, 54),
        row(&own, 55),
    ]);
    // Rows 5–6 share one merged 民族 cell.
    book.merges.push((3, 3, 4, 3));
    let bytes = book.bytes();
    // The firm's clerk may import into the firm only; the city may not import a far firm.
    let r = check(&app, p.firm_org, &bytes).await;
    let text = issues(&r);
    assert!(has(&r, Some(2), "FIRM-OUT-OF-SCOPE", &far), "{text}");
    assert!(has(&r, Some(3), "FIRM-OUT-OF-SCOPE", &same_city), "{text}");
    assert!(has(&r, Some(5), "MERGED-CELLS", "D5:D6"), "{text}");
    assert!(has(&r, Some(6), "MERGED-CELLS", "D5:D6"), "{text}");
    assert_eq!((r.valid, r.invalid), (1, 4), "{text}");
    let r = check(&app, p.city, &bytes).await;
    assert!(has(&r, Some(2), "FIRM-OUT-OF-SCOPE", &far));
    assert!(!r.errors().any(|i| i.row == Some(3)), "{}", issues(&r));

    // A city clerk cannot import into another city at all; an auditor cannot import.
    let clerk = app.login_as(Role::Clerk, p.city, None).await;
    let resp = clerk.get(&format!("/orgs/{}/import", p.other_city.0)).await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
    let auditor = app.login_demo("auditor").await;
    let resp = auditor.get(&format!("/orgs/{}/import", p.city.0)).await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_files_are_refused_with_a_clear_message_and_change_nothing() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let before = count(&app, "SELECT COUNT(*) FROM members").await;
    let file_error = |r: &Report, rule: &str| {
        assert!(r.file_error, "{}", issues(r));
        assert_eq!(r.issues.len(), 1);
        assert_eq!(r.issues[0].rule, rule, "{}", issues(r));
        r.issues[0].message.clone()
    };
    // Not a spreadsheet.
    let pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00\x01\x02\x03<< /Type /Catalog >>";
    let m = file_error(&check(&app, p.firm_org, pdf).await, "FILE-NOT-SPREADSHEET");
    assert!(m.contains(".xlsx"), "{m}");
    // A Word document (a zip without a workbook).
    let mut docx = Vec::new();
    {
        let mut wb = Workbook::new();
        wb.add_worksheet();
        let x = wb.save_to_buffer().unwrap();
        docx.extend_from_slice(&x[..x.len() / 2]);
    }
    file_error(&check(&app, p.firm_org, &docx).await, "FILE-CORRUPT");
    // An empty sheet.
    let mut wb = Workbook::new();
    wb.add_worksheet();
    let m = file_error(
        &check(&app, p.firm_org, &wb.save_to_buffer().unwrap()).await,
        "FILE-EMPTY",
    );
    assert!(m.contains("空"), "{m}");
    // A sheet of something else.
    let mut wb = Workbook::new();
    wb.add_worksheet().write_string(0, 0, "会议签到表").unwrap();
    let m = file_error(
        &check(&app, p.firm_org, &wb.save_to_buffer().unwrap()).await,
        "HEADER-NOT-FOUND",
    );
    assert!(m.contains("模板"), "{m}");
    // Encrypted (password to open) and legacy .xls, both OLE2 files.
    let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    ole.resize(4096, 0);
    let m = file_error(&check(&app, p.firm_org, &ole).await, "FILE-XLS");
    assert!(m.contains("另存为"), "{m}");
    ole.extend("EncryptedPackage".encode_utf16().flat_map(u16::to_le_bytes));
    let m = file_error(&check(&app, p.firm_org, &ole).await, "FILE-ENCRYPTED");
    assert!(m.contains("密码"), "{m}");
    // A 50 MB file.
    let big = vec![b'a'; 50 * 1024 * 1024];
    let m = file_error(&check(&app, p.firm_org, &big).await, "FILE-TOO-LARGE");
    assert!(m.contains("50 MB") && m.contains("30 MB"), "{m}");
    // A zip bomb: a sheet that unpacks to 400 MB of nothing.
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.xlsx");
    python(
        r#"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("[Content_Types].xml", "<Types/>")
    z.writestr("xl/workbook.xml", "<workbook/>")
    with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
        chunk = b" " * (1 << 20)
        for _ in range(400):
            f.write(chunk)
"#,
        &[bomb.as_os_str()],
    );
    let bytes = std::fs::read(&bomb).unwrap();
    assert!(
        bytes.len() < 2 * 1024 * 1024,
        "the bomb is small: {}",
        bytes.len()
    );
    let m = file_error(&check(&app, p.firm_org, &bytes).await, "FILE-BOMB");
    assert!(m.contains("压缩炸弹"), "{m}");
    // Rows out of order in the sheet's XML (Excel never writes that): named, not guessed at.
    let (own, _, _) = firms(&app).await;
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in HEAD.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for r in [1u32, 2] {
        for (c, v) in row(&own, 80 + r).iter().enumerate() {
            ws.write_string(r, c as u16, v).unwrap();
        }
    }
    let ordered = dir.path().join("ordered.xlsx");
    let unordered = dir.path().join("unordered.xlsx");
    std::fs::write(&ordered, wb.save_to_buffer().unwrap()).unwrap();
    python(
        r#"
import re, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as b:
    for item in a.infolist():
        data = a.read(item.filename)
        if item.filename == "xl/worksheets/sheet1.xml":
            text = data.decode()
            r2 = re.search(r'<row r="2".*?</row>', text).group(0)
            r3 = re.search(r'<row r="3".*?</row>', text).group(0)
            text = text.replace(r2, "@@").replace(r3, r2).replace("@@", r3)
            data = text.encode()
        b.writestr(item, data)
"#,
        &[ordered.as_os_str(), unordered.as_os_str()],
    );
    let bytes = std::fs::read(&unordered).unwrap();
    // Reading the whole sheet puts the rows in order; the import says what is wrong.
    let sheet = dengji::sheet::read(&bytes).unwrap();
    assert_eq!(
        sheet.rows.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let m = file_error(&check(&app, p.firm_org, &bytes).await, "FILE-ROW-ORDER");
    assert!(m.contains("第2行出现在第3行之后"), "{m}");
    // Nothing was stored by any of it, and an import of a bad file stores nothing either.
    let done = run(&app, p.firm_org, pdf, Mode::ValidOnly).await;
    assert_eq!(done.batch_id, None);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM members").await, before);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM import_batches").await, 0);
}

#[tokio::test]
async fn csv_in_utf8_with_bom_and_in_gb18030_imports() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    let mut text = HEAD.join(",");
    text.push('\n');
    text.push_str(&row(&own, 61).join(","));
    text.push('\n');
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(text.as_bytes());
    let r = check(&app, p.firm_org, &bom).await;
    assert_eq!((r.rows, r.valid), (1, 1), "{}", issues(&r));
    let gbk = text
        .replace(&fresh_id(61), &fresh_id(62))
        .replace("999061", "999062");
    let (gbk, _, _) = encoding_rs::GB18030.encode(&gbk);
    let done = run(&app, p.firm_org, &gbk, Mode::AllOrNothing).await;
    assert_eq!(done.imported, 1, "{}", issues(&done.report));
    let name = app.member_licensed("11101200511999062").await.name;
    assert_eq!(name, "林61");
}

#[tokio::test]
async fn an_import_that_fails_halfway_leaves_nothing_behind() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    let pool = app.services.db.pool();
    // The database refuses the drafts, after the members have been written.
    match backend() {
        dengji::store::Backend::Sqlite => {
            sqlx::query("CREATE TRIGGER fail_drafts BEFORE INSERT ON registrations BEGIN SELECT RAISE(ABORT, 'disk full'); END")
                .execute(pool)
                .await
                .unwrap();
        }
        dengji::store::Backend::Postgres => {
            sqlx::query("CREATE FUNCTION fail_drafts() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$")
                .execute(pool)
                .await
                .unwrap();
            sqlx::query("CREATE TRIGGER fail_drafts BEFORE INSERT ON registrations FOR EACH ROW EXECUTE FUNCTION fail_drafts()")
                .execute(pool)
                .await
                .unwrap();
        }
    }
    let before = count(&app, "SELECT COUNT(*) FROM members").await;
    let rows: Vec<Vec<String>> = (71..=90).map(|s| row(&own, s)).collect();
    let err = app
        .services
        .import()
        .run(
            OP,
            ImportRequest {
                into: p.firm_org,
                file_name: "名册.xlsx",
                bytes: &Book::new(rows).bytes(),
                kind: None,
                mode: Mode::AllOrNothing,
            },
            &|_, _| {},
        )
        .await;
    assert!(err.is_err());
    assert_eq!(count(&app, "SELECT COUNT(*) FROM members").await, before);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM import_batches").await, 0);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'import.members'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn undo_is_refused_once_work_depends_on_the_batch() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    let done = run(
        &app,
        p.firm_org,
        &Book::new(vec![row(&own, 95), row(&own, 96)]).bytes(),
        Mode::AllOrNothing,
    )
    .await;
    let batch = done.batch_id.unwrap();
    // One imported member's draft is saved again (by the member or a clerk).
    sqlx::query(
        "UPDATE registrations SET version = version + 1 WHERE member_id = \
         (SELECT MIN(id) FROM members WHERE import_batch_id = $1)",
    )
    .bind(batch)
    .execute(app.services.db.pool())
    .await
    .unwrap();
    let err = app.services.import().undo(OP, batch).await.unwrap_err();
    assert!(
        err.to_string().contains("1 人的登记表已被修改或提交"),
        "{err}"
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM members WHERE import_batch_id = $1",
            batch
        )
        .await,
        2
    );
}

#[tokio::test]
async fn the_pages_take_an_upload_through_preview_to_import_and_undo() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    let clerk = app.login_demo("suo").await;
    let page = clerk.get(&format!("/orgs/{}/import", p.firm_org.0)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("上传并预检"));
    let org_page = clerk.get(&format!("/orgs/{}", p.firm_org.0)).await;
    assert!(org_page.body.contains("id=\"import-link\""));

    let mut bad = row(&own, 102);
    bad[7] = "去年夏天".into();
    let bytes = Book::new(vec![row(&own, 101), bad]).bytes();
    // Without the form's token the upload is refused.
    let mut no_token = clerk.clone();
    no_token.csrf = Some("wrong".into());
    let resp = no_token
        .post_file(
            &format!("/orgs/{}/import", p.firm_org.0),
            &[],
            "名册.xlsx",
            &bytes,
        )
        .await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
    let resp = clerk
        .post_file(
            &format!("/orgs/{}/import", p.firm_org.0),
            &[("kind", "")],
            "名册.xlsx",
            &bytes,
        )
        .await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER, "{}", resp.body);
    let preview_url = resp.location().unwrap();
    let preview = clerk.get(&preview_url).await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(
        preview.body.contains("id=\"n-valid\">1<"),
        "{}",
        preview.body
    );
    assert!(preview.body.contains("第3行") && preview.body.contains("DATE-FORMAT"));
    assert!(
        !preview.body.contains("id=\"import-all\""),
        "all-or-nothing is not offered"
    );
    // The uploaded file is kept encrypted: its ID numbers are not in the database as text.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT content_enc FROM import_uploads")
        .fetch_one(app.services.db.pool())
        .await
        .unwrap();
    assert!(!stored.windows(18).any(|w| w == fresh_id(101).as_bytes()));
    assert!(!stored.starts_with(b"PK"));
    // The issues list downloads as CSV.
    let upload = preview_url
        .split('/')
        .nth(4)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let (status, _, csv) = clerk
        .get_bytes(&format!(
            "/orgs/{}/import/{upload}/issues.csv",
            p.firm_org.0
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&csv).contains("DATE-FORMAT"));
    // Another user cannot see it.
    let other = app.login_as(Role::Clerk, p.firm_org, None).await;
    assert_eq!(other.get(&preview_url).await.status, StatusCode::NOT_FOUND);

    let resp = clerk
        .post(
            &format!("/orgs/{}/import/{upload}", p.firm_org.0),
            &[("mode", "valid"), ("kind", "lawyers")],
        )
        .await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER, "{}", resp.body);
    let done = clerk.get(&resp.location().unwrap()).await;
    assert!(
        done.body.contains("导入 1 行，未导入 1 行"),
        "{}",
        done.body
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM import_uploads").await,
        0,
        "the upload is gone"
    );
    let batch: i64 = count(&app, "SELECT MAX(id) FROM import_batches").await;
    assert!(done.body.contains(&format!("id=\"undo-{batch}\"")));

    let resp = clerk
        .post(
            &format!("/imports/{batch}/undo"),
            &[("org", &p.firm_org.0.to_string())],
        )
        .await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER);
    let after = clerk.get(&resp.location().unwrap()).await;
    assert!(after.body.contains("删除了 1 名党员"), "{}", after.body);

    // A 50 MB upload is refused with the limit named.
    let big = vec![b'a'; 50 * 1024 * 1024];
    let resp = clerk
        .post_file(
            &format!("/orgs/{}/import", p.firm_org.0),
            &[],
            "big.csv",
            &big,
        )
        .await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    assert!(resp.body.contains("30 MB"), "{}", resp.body);
}

#[tokio::test]
async fn the_template_filled_in_by_a_user_imports() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    let clerk = app.login_demo("suo").await;
    let (_, _, template) = clerk.get_bytes("/templates/a1").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a1.xlsx");
    std::fs::write(&path, &template).unwrap();
    // Fill two rows by header name with openpyxl, as a user's Excel would save them.
    let values = serde_json::json!({
        "律师事务所统一社会信用代码": own,
        "＊姓名": "周八", "＊性别": "男", "＊民族": "回族", "＊公民身份号码": fresh_id(111),
        "＊出生日期": "1931-01-01", "＊学历": "研究生教育", "＊手机号码": "13900139000",
        "＊人员类别": "预备党员", "＊入党日期": "2025-07-01", "＊党籍状态": "正常",
        "＊执业证号": "11101200511999111", "＊执业类别": "专职律师",
    });
    let script = r#"
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb["附件1"]
head = [c.value for c in ws[1]]
values = json.loads(sys.argv[2])
for k, v in values.items():
    ws.cell(row=2, column=head.index(k) + 1, value=v)
wb.save(sys.argv[1])
"#;
    let values = values.to_string();
    python(script, &[path.as_os_str(), values.as_ref()]);
    let r = check(&app, p.firm_org, &std::fs::read(&path).unwrap()).await;
    assert_eq!((r.rows, r.valid), (1, 1), "{}", issues(&r));
    assert!(!r.issues.iter().any(|i| i.rule == "COLUMN-MISSING"));
}

#[tokio::test]
async fn the_import_command_checks_imports_and_undoes() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("名册.xlsx");
    let mut bad = row(&own, 122);
    bad[5] = "12345".into();
    std::fs::write(&file, Book::new(vec![row(&own, 121), bad]).bytes()).unwrap();
    let node = p.firm_org.0.to_string();
    let f = file.display().to_string();
    let before = count(&app, "SELECT COUNT(*) FROM members").await;
    let (ok, out, err) = app.cli(&["import", &f, "--into", &node, "--dry-run"]).await;
    assert!(!ok, "errors make the dry run fail");
    assert!(
        out.contains("第3行 错误") && out.contains("手机号码"),
        "{out}"
    );
    assert!(err.contains("不能导入"), "{err}");
    assert!(
        out.contains("按规则统计") && out.contains("MOBILE"),
        "{out}"
    );
    // Every finding into a CSV, the same list the web page gives.
    let list = dir.path().join("问题.csv");
    let l = list.display().to_string();
    let (_, out, _) = app
        .cli(&["import", &f, "--into", &node, "--dry-run", "--issues", &l])
        .await;
    assert!(out.contains("问题清单已写入"), "{out}");
    let csv = std::fs::read(&list).unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    let csv = String::from_utf8_lossy(&csv);
    assert!(csv.contains("第3行") && csv.contains("MOBILE"), "{csv}");
    let (ok, out, _) = app
        .cli(&["import", &f, "--into", &node, "--dry-run", "--valid-only"])
        .await;
    assert!(ok, "{out}");
    let (ok, _, err) = app.cli(&["import", &f, "--into", &node]).await;
    assert!(!ok && err.contains("未导入任何数据"), "{err}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM members").await, before);
    let (ok, out, err) = app
        .cli(&["import", &f, "--into", &node, "--valid-only"])
        .await;
    assert!(ok, "{err}");
    assert!(out.contains("已导入 1 行"), "{out}");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM members").await,
        before + 1
    );
    let batch = count(&app, "SELECT MAX(id) FROM import_batches")
        .await
        .to_string();
    let (ok, out, err) = app.cli(&["import", "--undo", &batch]).await;
    assert!(ok, "{err}");
    assert!(out.contains("删除了 1 名党员"), "{out}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM members").await, before);
    // A missing file and an unknown node are named.
    let (ok, _, err) = app
        .cli(&["import", "/nonexistent.xlsx", "--into", &node])
        .await;
    assert!(!ok && err.contains("无法读取"), "{err}");
}

#[tokio::test]
async fn imported_members_get_their_login_from_the_member_page() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    let done = run(
        &app,
        p.firm_org,
        &Book::new(vec![row(&own, 131)]).bytes(),
        Mode::AllOrNothing,
    )
    .await;
    let batch = done.batch_id.unwrap();
    let member = scalar(
        &app,
        "SELECT MIN(id) FROM members WHERE import_batch_id = $1",
        batch,
    )
    .await;
    let clerk = app.login_demo("suo").await;
    let page = clerk.get(&format!("/members/{member}")).await;
    assert!(
        page.body.contains("id=\"issue-activation\""),
        "{}",
        page.body
    );
    let first = clerk
        .post(&format!("/members/{member}/activation"), &[])
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let username = between(&first.body, "id=\"new-username\">").to_owned();
    let old_code = between(&first.body, "id=\"new-code\">").to_owned();
    // A second code replaces the first, which stops working.
    let second = clerk
        .post(&format!("/members/{member}/activation"), &[])
        .await;
    let code = between(&second.body, "id=\"new-code\">").to_owned();
    assert_eq!(between(&second.body, "id=\"new-username\">"), username);
    assert_ne!(code, old_code);
    let anon = app.anonymous();
    let form = |c: &str| {
        vec![
            ("username".to_owned(), username.clone()),
            ("code".to_owned(), c.to_owned()),
            ("password".to_owned(), "Mine12345x".to_owned()),
            ("password2".to_owned(), "Mine12345x".to_owned()),
        ]
    };
    let old = form(&old_code);
    let old: Vec<(&str, &str)> = old.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = anon.post_raw("/activate", &old).await;
    assert!(r.body.contains("激活码无效"), "{}", r.body);
    let new = form(&code);
    let new: Vec<(&str, &str)> = new.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = anon.post_raw("/activate", &new).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Activated: no more codes, and the batch can no longer be undone.
    let again = clerk
        .post(&format!("/members/{member}/activation"), &[])
        .await;
    assert!(again.body.contains("已激活账号"), "{}", again.body);
    let err = app.services.import().undo(OP, batch).await.unwrap_err();
    assert!(err.to_string().contains("1 人已发放登录账号"), "{err}");
    // An auditor sees no button and cannot issue codes.
    let auditor = app.login_demo("auditor").await;
    assert!(
        !auditor
            .get(&format!("/members/{member}"))
            .await
            .body
            .contains("issue-activation")
    );
    assert_eq!(
        auditor
            .post(&format!("/members/{member}/activation"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn an_exported_roster_imports_again_with_the_same_values() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    let mut rows: Vec<Vec<String>> = (141..=143).map(|s| row(&own, s)).collect();
    rows[1][11] = "=HYPERLINK(\"x\")".into(); // a formula typed as a remark stays text
    let done = run(
        &app,
        p.firm_org,
        &Book::new(rows).bytes(),
        Mode::AllOrNothing,
    )
    .await;
    let batch = done.batch_id.unwrap();
    let pool = app.services.db.pool().clone();
    let drafts = |batch: i64| {
        let pool = pool.clone();
        async move {
            let v: Vec<(String, String)> = sqlx::query_as(
            "SELECT m.licence_no, r.data FROM members m JOIN registrations r ON r.member_id = m.id \
             WHERE m.import_batch_id = $1 ORDER BY m.licence_no",
        )
        .bind(batch)
        .fetch_all(&pool)
        .await
        .unwrap();
            v.into_iter()
                .map(|(l, d)| (l, serde_json::from_str::<serde_json::Value>(&d).unwrap()))
                .collect::<Vec<_>>()
        }
    };
    let before = drafts(batch).await;
    assert_eq!(before.len(), 3);
    // The roster page shows every field, ID numbers masked.
    let clerk = app.login_demo("suo").await;
    let page = clerk
        .get(&format!("/orgs/{}/summary/a1", p.firm_org.0))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("律师事务所统一社会信用代码") && page.body.contains("林142"));
    assert!(
        !page.body.contains(&fresh_id(142)),
        "IDs are masked on screen"
    );

    let mut xlsx: Vec<u8> = Vec::new();
    app.services
        .export()
        .table(
            OP,
            p.firm_org,
            "a1",
            dengji::service::export::ExportFormat::Xlsx,
            &dengji::service::Ids::Full(dengji::service::Purpose::Exchange),
            &mut xlsx,
            &|_| {},
        )
        .await
        .unwrap();
    app.services.import().undo(OP, batch).await.unwrap();

    // The firm's other lawyers are still on record (registered); the three come back as they were.
    let again = run(&app, p.firm_org, &xlsx, Mode::ValidOnly).await;
    assert_eq!(again.imported, 3, "{}", issues(&again.report));
    assert!(
        again
            .report
            .issues
            .iter()
            .any(|i| i.rule == "DUP-REGISTERED")
    );
    assert!(
        !again
            .report
            .issues
            .iter()
            .any(|i| i.message.contains("合计")),
        "the total line is not a member"
    );
    let after = drafts(again.batch_id.unwrap()).await;
    assert_eq!(after, before);
    assert_eq!(after[1].1["remarks"], "=HYPERLINK(\"x\")");
}

#[tokio::test]
async fn an_upload_nobody_decides_on_expires_and_is_purged() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    let Uploaded::Kept(id) = app
        .services
        .import()
        .upload(
            OP,
            p.firm_org,
            "名册.xlsx",
            &Book::new(vec![row(&own, 151)]).bytes(),
            None,
        )
        .await
        .unwrap()
    else {
        panic!("a good file is kept");
    };
    assert!(
        app.services
            .import()
            .stashed(OP, p.firm_org, id)
            .await
            .is_ok()
    );
    sqlx::query("UPDATE import_uploads SET expires_at = 0")
        .execute(app.services.db.pool())
        .await
        .unwrap();
    let err = app
        .services
        .import()
        .stashed(OP, p.firm_org, id)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("已过期"), "{err}");
    app.services.import().purge_expired().await.unwrap();
    assert_eq!(count(&app, "SELECT COUNT(*) FROM import_uploads").await, 0);
}

/// A valid ID number for any `seq` below 28,000 (the birth day moves every thousand).
fn many_id(seq: u32) -> String {
    let day = seq / 1000;
    let body = format!(
        "1101011931{:02}{:02}{:03}",
        1 + day / 28,
        1 + day % 28,
        seq % 1000
    );
    format!(
        "{body}{}",
        dengji::domain::citizen_id::check_char(body.as_bytes())
    )
}

/// A CSV of `n` good lawyer rows of `firm`, numbered from `from`.
fn many_rows_csv(firm: &str, from: u32, n: u32) -> Vec<u8> {
    let mut text = HEAD.join(",");
    for seq in from..from + n {
        let mut r = row(firm, 0);
        r[1] = format!("林{seq}");
        r[2] = many_id(seq);
        r[9] = format!("111012005119{seq:05}");
        text.push('\n');
        text.push_str(&r.join(","));
    }
    text.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_and_logins_writing_at_the_same_time_both_succeed() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    let before = count(&app, "SELECT COUNT(*) FROM members").await;
    let bytes = many_rows_csv(&own, 1, 3_000);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Three clients log in (a session row and an audit event each) and out again, over and
    // over, while the import's transaction is open.
    let mut writers = Vec::new();
    for who in ["shi", "sheng", "suo"] {
        let (app_router, stop) = (app.anonymous(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || n == 0 {
                let r = app_router
                    .post_raw("/login", &[("username", who), ("password", "Dengji2018")])
                    .await;
                assert_eq!(
                    r.status,
                    StatusCode::SEE_OTHER,
                    "login {n} of {who}: {}",
                    r.body
                );
                n += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            n
        }));
    }
    let done = run(&app, p.firm_org, &bytes, Mode::AllOrNothing).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut logins = 0;
    for w in writers {
        logins += w.await.expect("logins all succeeded");
    }
    assert_eq!(done.imported, 3_000, "{}", issues(&done.report));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM members").await,
        before + 3_000
    );
    let sessions = count(&app, "SELECT COUNT(*) FROM sessions").await;
    assert!(
        sessions >= i64::from(logins),
        "{sessions} sessions for {logins} logins"
    );
}

#[tokio::test]
async fn uploads_are_checked_and_audited_and_only_importable_ones_are_kept() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    let clerk = app.login_demo("suo").await;
    let url = format!("/orgs/{}/import", p.firm_org.0);
    // A file that is not a spreadsheet: the verdict at once, nothing kept.
    let resp = clerk
        .post_file(&url, &[("kind", "")], "照片.csv", b"%PDF-1.4\0\0\x01\x02")
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.body);
    assert!(resp.body.contains("该文件不能导入"), "{}", resp.body);
    assert!(resp.body.contains("不是电子表格"), "{}", resp.body);
    assert!(resp.body.contains("id=\"not-kept\""));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM import_uploads").await, 0);
    // Four good uploads: the oldest is replaced, three wait.
    let mut kept = Vec::new();
    for seq in 201..=204 {
        let resp = clerk
            .post_file(
                &url,
                &[("kind", "")],
                "名册.xlsx",
                &Book::new(vec![row(&own, seq)]).bytes(),
            )
            .await;
        assert_eq!(resp.status, StatusCode::SEE_OTHER, "{}", resp.body);
        kept.push(resp.location().unwrap());
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM import_uploads").await, 3);
    assert_eq!(clerk.get(&kept[0]).await.status, StatusCode::NOT_FOUND);
    let newest = clerk.get(&kept[3]).await;
    assert!(newest.body.contains("id=\"n-valid\">1<"), "{}", newest.body);
    assert!(
        newest.body.contains("id=\"rule-counts\""),
        "{}",
        newest.body
    );
    // Every upload was checked once and audited: who, the file's digest, rows, nationwide hits.
    let events: Vec<(String, String)> = sqlx::query_as(
        "SELECT a.detail, u.username FROM audit_events a JOIN users u ON u.id = a.actor_user_id \
         WHERE a.action = 'import.check' ORDER BY a.id",
    )
    .fetch_all(app.services.db.pool())
    .await
    .unwrap();
    assert_eq!(events.len(), 5, "{events:?}");
    let last: serde_json::Value = serde_json::from_str(&events[4].0).unwrap();
    assert_eq!(events[4].1, "suo");
    assert_eq!(last["rows"], 1);
    assert_eq!(last["looked_up"], 1);
    assert_eq!(last["nationwide_hits"], 0);
    assert_eq!(last["file_sha256"].as_str().unwrap().len(), 64);
    // Viewing the preview again checks nothing again.
    clerk.get(&kept[3]).await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'import.check'"
        )
        .await,
        5
    );
}

#[tokio::test]
async fn nationwide_lookups_stop_at_the_daily_limit_audited_and_told_to_the_administrator() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    let mut services = app.services.clone();
    services.limits.lookups_per_day = 5;
    let clerk = services
        .auth()
        .login("suo", dengji::service::demo::DEMO_PASSWORD, None)
        .await
        .unwrap();
    let caller = Caller::User(&clerk.actor);
    let three = Book::new((301..=303).map(|s| row(&own, s)).collect()).bytes();
    let r = services
        .import()
        .check(caller, p.firm_org, &three, None, &|_, _| {})
        .await
        .unwrap();
    assert!(!r.file_error, "{}", issues(&r));
    // Three more would pass the day's five.
    let r = services
        .import()
        .check(caller, p.firm_org, &three, None, &|_, _| {})
        .await
        .unwrap();
    assert!(r.file_error);
    assert!(has(&r, None, "LOOKUP-LIMIT", "已达上限"), "{}", issues(&r));
    // The import is refused the same way, and stores nothing.
    let before = count(&app, "SELECT COUNT(*) FROM members").await;
    let done = services
        .import()
        .run(
            caller,
            ImportRequest {
                into: p.firm_org,
                file_name: "名册.xlsx",
                bytes: &three,
                kind: None,
                mode: Mode::AllOrNothing,
            },
            &|_, _| {},
        )
        .await
        .unwrap();
    assert_eq!(done.batch_id, None);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM members").await, before);
    assert!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'import.lookup_limit'"
        )
        .await
            >= 1
    );
    // The national administrator (over the clerk's firm) is told once a day.
    let notices = count(
        &app,
        "SELECT COUNT(*) FROM notifications n JOIN users u ON u.id = n.user_id \
         WHERE u.username = 'admin' AND n.kind = 'lookup_limit'",
    )
    .await;
    assert_eq!(notices, 1);
    // The operator at the command line is never limited.
    let r = services
        .import()
        .check(OP, p.firm_org, &three, None, &|_, _| {})
        .await
        .unwrap();
    assert!(!r.file_error, "{}", issues(&r));
}

#[tokio::test]
async fn one_user_runs_one_import_at_a_time_and_the_server_a_few() {
    use dengji::service::import::Slots;
    let app = TestApp::spawn().await;
    let a = app
        .services
        .auth()
        .login("suo", dengji::service::demo::DEMO_PASSWORD, None)
        .await
        .unwrap();
    let b = app
        .services
        .auth()
        .login("shi", dengji::service::demo::DEMO_PASSWORD, None)
        .await
        .unwrap();
    let c = app
        .services
        .auth()
        .login("sheng", dengji::service::demo::DEMO_PASSWORD, None)
        .await
        .unwrap();
    let slots = Slots::new(2);
    let first = slots.take(Caller::User(&a.actor)).unwrap();
    let again = slots.take(Caller::User(&a.actor)).err().unwrap();
    assert!(again.to_string().contains("正在进行"), "{again}");
    let second = slots.take(Caller::User(&b.actor)).unwrap();
    let full = slots.take(Caller::User(&c.actor)).err().unwrap();
    assert!(full.to_string().contains("系统正忙"), "{full}");
    drop(first);
    // A place given back is free again, for the same user too.
    let _third = slots.take(Caller::User(&a.actor)).unwrap();
    drop(second);
    let _fourth = slots.take(Caller::User(&c.actor)).unwrap();
}

#[tokio::test]
async fn the_demo_nation_exported_imports_into_a_fresh_database_whole() {
    use dengji::service::export::ExportFormat;
    let demo = TestApp::spawn().await;
    let fresh = TestApp::empty().await;
    let (from, into) = (demo.root().await, fresh.root().await);
    // A fresh deployment has only the national and provincial committees: the cities come
    // first (the firm organisations of the same roster wait for their firms and are left
    // out), then the firms under their cities, then the rest of the roster, then members.
    for (what, kind, mode, table) in [
        (
            "orgs",
            ImportKind::Orgs,
            Mode::ValidOnly,
            "orgs WHERE level <> 'firm'",
        ),
        ("firms", ImportKind::Firms, Mode::AllOrNothing, "firms"),
        ("orgs", ImportKind::Orgs, Mode::ValidOnly, "orgs"),
        (
            "a1",
            ImportKind::Lawyers,
            Mode::AllOrNothing,
            "members WHERE category = 'lawyer'",
        ),
        (
            "a2",
            ImportKind::Staff,
            Mode::AllOrNothing,
            "members WHERE category = 'staff'",
        ),
    ] {
        let mut bytes = Vec::new();
        demo.services
            .export()
            .table(
                OP,
                from,
                what,
                ExportFormat::Xlsx,
                &dengji::service::Ids::Full(dengji::service::Purpose::Exchange),
                &mut bytes,
                &|_| {},
            )
            .await
            .unwrap();
        let done = fresh
            .services
            .import()
            .run(
                OP,
                ImportRequest {
                    into,
                    file_name: "导出.xlsx",
                    bytes: &bytes,
                    kind: Some(kind),
                    mode,
                },
                &|_, _| {},
            )
            .await
            .unwrap();
        assert!(done.batch_id.is_some(), "{what}: {}", issues(&done.report));
        let sql = format!("SELECT COUNT(*) FROM {table}");
        assert_eq!(
            count(&fresh, &sql).await,
            count(&demo, &sql).await,
            "{what}: every record arrived"
        );
    }
    let (ok, out, err) = fresh.cli(&["check"]).await;
    assert!(ok, "{out}{err}");
}

#[tokio::test]
async fn a_2018_file_is_judged_at_the_2018_campaigns_date_not_today() {
    use dengji::service::campaign::{CampaignForm, Deadlines};
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    app.services.campaign().close(OP).await.unwrap();
    app.services
        .campaign()
        .start(
            OP,
            &CampaignForm {
                name: "2018年登记核查".into(),
                cutoff: "2018-07-31".into(),
                reference: String::new(),
                deadlines: Deadlines {
                    firm: "2018-08-31".into(),
                    city: "2018-09-30".into(),
                    province: "2018-10-31".into(),
                    national: "2018-11-30".into(),
                },
            },
        )
        .await
        .unwrap();
    let mut head: Vec<String> = HEAD.iter().map(|s| (*s).to_owned()).collect();
    head.extend([
        "党费交至年月".to_owned(),
        "最近一次参加组织生活日期".to_owned(),
    ]);
    let mut current = row(&own, 401);
    current.extend(["2018-06".to_owned(), "2018-05-10".to_owned()]);
    let mut joined_later = row(&own, 402);
    joined_later[7] = "2020-03-01".into();
    joined_later[8] = String::new();
    joined_later.extend(["2018-06".to_owned(), "2018-05-10".to_owned()]);
    let bytes = Book {
        head,
        rows: vec![current, joined_later],
        cells: Vec::new(),
        merges: Vec::new(),
    }
    .bytes();
    let r = check(&app, p.firm_org, &bytes).await;
    assert_eq!(r.judged_at.as_deref(), Some("2018-07-31"));
    // Dues paid to 2018-06 and organisation life in May 2018 were current in July 2018,
    // however long ago that is now.
    assert!(
        !r.issues
            .iter()
            .any(|i| i.row == Some(2) && matches!(i.rule.as_str(), "DUES-ARREARS" | "LIFE-GAP")),
        "{}",
        issues(&r)
    );
    // Joining in 2020 lies after the campaign's date, though not after today.
    assert!(
        has(&r, Some(3), "DATE-FUTURE", "2018-07-31"),
        "{}",
        issues(&r)
    );
    // The preview says which date it judges at.
    let clerk = app.login_demo("suo").await;
    let resp = clerk
        .post_file(
            &format!("/orgs/{}/import", p.firm_org.0),
            &[("kind", "")],
            "名册.xlsx",
            &bytes,
        )
        .await;
    let preview = clerk.get(&resp.location().unwrap()).await;
    assert!(
        preview.body.contains("id=\"judged-at\">2018-07-31<"),
        "{}",
        preview.body
    );
}

#[tokio::test]
async fn a_sheet_written_by_hand_with_short_forms_and_other_headers_imports() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    let head = [
        "律所统一社会信用代码",
        "姓名",
        "身份证号",
        "民族",
        "学历",
        "手机",
        "人员类别",
        "入党时间",
        "转正时间",
        "执业证号",
        "执业类别",
        "组织关系转接状态",
        "组织关系所在党组织类型",
    ];
    let line = |seq: u32, tweak: &dyn Fn(&mut Vec<String>)| {
        let mut r: Vec<String> = [
            own.as_str(),
            &format!("林{seq}"),
            &fresh_id(seq),
            "汉",
            "本科",
            "13800138000",
            "正式",
            "1960-07-01",
            "1961-07-01",
            &format!("11101200511999{seq:03}"),
            "专职",
            "转接中",
            "联合党支部(含本所)",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        tweak(&mut r);
        r
    };
    let rows = vec![
        line(501, &|_| {}),
        line(502, &|r| {
            r[4] = "硕士".into();
            r[6] = "预备".into();
            r[8] = String::new();
            r[7] = "2017-12-01".into();
            r[10] = "专职律师　".into();
            r[12] = "联合党支部 （含本所）".into();
        }),
        line(503, &|r| r[3] = "火星族".into()),
    ];
    let bytes = Book {
        head: head.iter().map(|s| (*s).to_owned()).collect(),
        rows,
        cells: Vec::new(),
        merges: Vec::new(),
    }
    .bytes();
    let r = check(&app, p.firm_org, &bytes).await;
    assert_eq!(r.kind, Some(ImportKind::Lawyers), "{}", issues(&r));
    assert!(
        !r.issues.iter().any(|i| i.rule == "COLUMN-EXTRA"),
        "{}",
        issues(&r)
    );
    assert_eq!((r.rows, r.valid, r.invalid), (3, 2, 1), "{}", issues(&r));
    assert!(has(&r, Some(4), "CODE-UNKNOWN", "请选择"), "{}", issues(&r));
    let done = run(&app, p.firm_org, &bytes, Mode::ValidOnly).await;
    assert_eq!(done.imported, 2);
    let stored: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT m.education, m.practice_type, r.data FROM members m \
         JOIN registrations r ON r.member_id = m.id WHERE m.import_batch_id = $1 ORDER BY m.name",
    )
    .bind(done.batch_id.unwrap())
    .fetch_all(app.services.db.pool())
    .await
    .unwrap();
    assert_eq!(stored[0].0, "21");
    assert_eq!(stored[1].0, "14");
    for (_, practice, data) in &stored {
        assert_eq!(practice, "1");
        let v: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(v["transfer_status"], "in_transit");
        assert_eq!(v["holder_type"], "joint_branch");
    }
}

#[tokio::test]
async fn a_person_twice_in_a_file_flags_both_rows_even_far_apart() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    let before = count(&app, "SELECT COUNT(*) FROM members").await;
    // 2,500 rows, then the first row's person again: the first row was checked (and, in
    // valid-only mode, written) long before its twin comes.
    let mut text = String::from_utf8(many_rows_csv(&own, 1, 2_500)).unwrap();
    let mut twin = row(&own, 0);
    twin[1] = "林重".into();
    twin[2] = many_id(1);
    twin[9] = "11101200511988888".into();
    text.push('\n');
    text.push_str(&twin.join(","));
    let bytes = text.into_bytes();
    let r = check(&app, p.firm_org, &bytes).await;
    assert_eq!((r.rows, r.invalid), (2_501, 2), "{}", issues(&r));
    assert!(
        has(&r, Some(2), "DUP-IN-FILE", "与第2502行重复"),
        "{}",
        issues(&r)
    );
    assert!(
        has(&r, Some(2502), "DUP-IN-FILE", "与第2行重复"),
        "{}",
        issues(&r)
    );
    let done = run(&app, p.firm_org, &bytes, Mode::ValidOnly).await;
    assert_eq!(
        (done.imported, done.skipped),
        (2_499, 2),
        "{}",
        issues(&done.report)
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM members").await,
        before + 2_499
    );
    let batch_rows = count(
        &app,
        &format!(
            "SELECT rows_imported FROM import_batches WHERE id = {}",
            done.batch_id.unwrap()
        ),
    )
    .await;
    assert_eq!(batch_rows, 2_499);
    // Neither twin is in; the tallies still add up.
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM members WHERE name IN ('林1', '林重')"
        )
        .await,
        0
    );
    let (ok, out, err) = app.cli(&["check"]).await;
    assert!(ok, "{out}{err}");
}

#[tokio::test]
async fn lawyers_and_staff_in_one_list_import_each_to_their_own_form() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    let head: Vec<String> = [
        "律所统一社会信用代码",
        "姓名",
        "公民身份号码",
        "民族",
        "学历",
        "手机号码",
        "人员类别",
        "入党日期",
        "转正日期",
        "执业证号",
        "执业类别",
        "岗位类别",
        "人员身份",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let person = |seq: u32, licence: &str, practice: &str, post: &str, identity: &str| {
        [
            own.as_str(),
            &format!("林{seq}"),
            &fresh_id(seq),
            "汉族",
            "大学本科毕业",
            "13800138000",
            "正式党员",
            "1960-07-01",
            "1961-07-01",
            licence,
            practice,
            post,
            identity,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect::<Vec<String>>()
    };
    let rows = vec![
        person(601, "11101200511999601", "专职", "", "律师"),
        person(602, "", "", "行政人员", "工作人员"),
        // No 人员身份: no licence number, so staff.
        person(603, "", "", "财务", ""),
        person(604, "", "", "行政", "实习"),
    ];
    let bytes = Book {
        head,
        rows,
        cells: Vec::new(),
        merges: Vec::new(),
    }
    .bytes();
    let r = check(&app, p.firm_org, &bytes).await;
    assert_eq!(r.kind, Some(ImportKind::Members), "{}", issues(&r));
    assert_eq!((r.rows, r.valid, r.invalid), (4, 3, 1), "{}", issues(&r));
    assert!(
        has(&r, Some(5), "CODE-UNKNOWN", "人员身份"),
        "{}",
        issues(&r)
    );
    let done = run(&app, p.firm_org, &bytes, Mode::ValidOnly).await;
    assert_eq!(done.imported, 3, "{}", issues(&done.report));
    let stored: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT m.name, m.category, r.form_code FROM members m \
         JOIN registrations r ON r.member_id = m.id WHERE m.import_batch_id = $1 ORDER BY m.name",
    )
    .bind(done.batch_id.unwrap())
    .fetch_all(app.services.db.pool())
    .await
    .unwrap();
    let expect = [
        ("林601", "lawyer", "A1"),
        ("林602", "staff", "A2"),
        ("林603", "staff", "A2"),
    ];
    assert_eq!(stored.len(), 3);
    for ((n, c, f), (en, ec, ef)) in stored.iter().zip(expect) {
        assert_eq!((n.as_str(), c.as_str(), f.as_str()), (en, ec, ef));
    }
    let (ok, out, err) = app.cli(&["check"]).await;
    assert!(ok, "{out}{err}");
}

/// A survey mark as read back: name, transferred, case, reason, imported.
type Mark = (String, String, Option<String>, Option<String>, bool);

#[tokio::test]
async fn a_member_lists_relationship_columns_prefill_the_survey_to_be_confirmed() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (own, _, _) = firms(&app).await;
    let head = [
        "律所统一社会信用代码",
        "姓名",
        "身份证号",
        "民族",
        "学历",
        "手机",
        "人员类别",
        "入党时间",
        "转正时间",
        "执业证号",
        "执业类别",
        "组织关系是否在本所",
        "组织关系转接状态",
        "问题类别",
        "未转入原因",
    ];
    let line = |seq: u32, in_firm: &str, status: &str, case: &str, reason: &str| {
        [
            own.as_str(),
            &format!("沈{seq}"),
            &fresh_id(seq),
            "汉",
            "本科",
            "13800138000",
            "正式",
            "1990-07-01",
            "1991-07-01",
            &format!("11101200511998{seq:03}"),
            "专职",
            in_firm,
            status,
            case,
            reason,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect::<Vec<String>>()
    };
    let bytes = Book {
        head: head.iter().map(|s| (*s).to_owned()).collect(),
        rows: vec![
            line(601, "是", "已转入", "", ""),
            line(602, "否", "转接中", "第3类", "介绍信已过期"),
            line(603, "", "待转入", "1", ""),
            line(604, "否", "转接中", "第9类", ""),
            line(605, "否", "", "四", "离开本所一年"),
        ],
        cells: Vec::new(),
        merges: Vec::new(),
    }
    .bytes();
    let r = check(&app, p.firm_org, &bytes).await;
    assert!(
        !r.issues.iter().any(|i| i.rule == "COLUMN-EXTRA"),
        "{}",
        issues(&r)
    );
    assert_eq!((r.rows, r.valid, r.invalid), (5, 4, 1), "{}", issues(&r));
    assert!(has(&r, Some(5), "CODE-UNKNOWN", "第9类"), "{}", issues(&r));
    // Case 4 (left the firm) is not registered: said in the dry run.
    assert!(has(&r, Some(6), "NOT-REGISTERED", ""), "{}", issues(&r));

    let marks = |app: &TestApp| {
        let services = app.services.clone();
        async move {
            let view = services.survey().view(OP, p.firm_org).await.unwrap();
            let mut out: Vec<Mark> = view
                .rows
                .into_iter()
                .filter(|r| r.name.starts_with('沈'))
                .filter_map(|r| {
                    r.check
                        .map(|c| (r.name, c.transferred, c.case_code, c.reason, c.imported))
                })
                .collect();
            out.sort();
            (out, view.counts.to_confirm)
        }
    };
    let done = run(&app, p.firm_org, &bytes, Mode::ValidOnly).await;
    let batch = done.batch_id.expect("imported");
    assert_eq!(done.imported, 4);
    let (got, to_confirm) = marks(&app).await;
    assert_eq!(
        got,
        vec![
            ("沈601".into(), "in".into(), None, None, true),
            (
                "沈602".into(),
                "not_in".into(),
                Some("3".into()),
                Some("介绍信已过期".into()),
                true
            ),
            (
                "沈603".into(),
                "not_in".into(),
                Some("1".into()),
                None,
                true
            ),
            (
                "沈605".into(),
                "not_in".into(),
                Some("4".into()),
                Some("离开本所一年".into()),
                true
            ),
        ]
    );
    assert_eq!(to_confirm, 4);
    let mut conn = app.services.db.acquire().await.unwrap();
    for f in dengji::store::check::run(&mut conn).await.unwrap() {
        assert_eq!(f.violations, 0, "{}", f.name);
    }
    drop(conn);
    // The page says which marks came from the list.
    let clerk = app.login_as(Role::Clerk, p.firm_org, None).await;
    let page = clerk.get(&format!("/orgs/{}/survey", p.firm_org.0)).await;
    assert!(
        page.body.contains("id=\"c-to-confirm\">4<"),
        "{}",
        page.body
    );
    assert!(page.body.contains("导入待确认"));

    // Unconfirmed marks go with the batch's undo.
    app.services.import().undo(OP, batch).await.unwrap();
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM survey_checks WHERE import_batch_id IS NOT NULL"
        )
        .await,
        0
    );

    // Confirmed, a mark is the organisation's own, and the batch can no longer be undone.
    let done = run(&app, p.firm_org, &bytes, Mode::ValidOnly).await;
    let batch = done.batch_id.expect("imported again");
    let member = app.member_named("沈601").await.id.0;
    app.services
        .survey()
        .record(
            OP,
            dengji::domain::MemberId(member),
            dengji::store::survey::Check {
                basic_ok: true,
                transfer_ok: true,
                dues_ok: true,
                life_ok: true,
                transferred: "in".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(marks(&app).await.1, 3);
    let refused = app.services.import().undo(OP, batch).await.unwrap_err();
    assert!(refused.to_string().contains("摸底核查"), "{refused}");
}

#[tokio::test]
async fn undo_is_refused_once_a_member_of_the_batch_was_transferred() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let firm = app.firm_of(p.firm_org).await;
    let rows: Vec<Vec<String>> = (0..2).map(|s| row(&firm.credit_code, 760 + s)).collect();
    let done = run(
        &app,
        p.firm_org,
        &crate::helpers::files::xlsx(&HEAD, &rows),
        Mode::AllOrNothing,
    )
    .await;
    let batch = done
        .batch_id
        .unwrap_or_else(|| panic!("{}", issues(&done.report)));
    let moved = app.member_named("林760").await;
    let target = app.children_of(p.other_city).await[0];
    let to_firm = app.firm_of(target).await.id;
    app.transfer(moved.id, to_firm).await;
    let before = count(&app, "SELECT COUNT(*) FROM members").await;
    let err = app.services.import().undo(OP, batch).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("1 人已有组织关系转接、分类处理或停止登记"),
        "{err}"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM members").await, before);
}
