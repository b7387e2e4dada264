//! `dengji bench --import-rows N`: write an .xlsx of N fully filled 附件1 rows (every column
//! valid) for firms across the country, import it with full validation into the national node,
//! report the time, then undo the batch so the benchmark database is left as it was. With
//! `--import-file` the workbook is kept, for the openpyxl baseline.

use std::path::Path;
use std::time::Instant;

use rust_xlsxwriter::Workbook;

use crate::domain::citizen_id::check_char;
use crate::forms::Catalogue;
use crate::service::import::{FIRM_COLUMN, ImportRequest, Mode};
use crate::service::{Caller, Services};

fn value_for(code: &str, i: usize, firm: &str) -> String {
    // Born 1931–1945 in 110101: the demo never makes members that old, so no duplicates.
    let day = time::Date::from_calendar_date(1931, time::Month::January, 1)
        .map(|d| d + time::Duration::days((i / 900) as i64))
        .unwrap_or(time::Date::MIN);
    let birth = format!(
        "{:04}{:02}{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    );
    let body = format!("110101{birth}{:03}", 100 + i % 900);
    match code {
        "firm" => firm.to_owned(),
        "name" => format!("导入{i}"),
        "citizen_id" => format!("{body}{}", check_char(body.as_bytes())),
        "sex" => if (100 + i % 900) % 2 == 1 {
            "男"
        } else {
            "女"
        }
        .to_owned(),
        "birth_date" => day.to_string(),
        "ethnicity" => "汉族".into(),
        "education" => "大学本科毕业".into(),
        "degree" => "学士".into(),
        "mobile" => format!("139{:08}", i),
        "landline" => "010-12345678".into(),
        "address" => "北京市东城区".into(),
        "party_status" => "正式党员".into(),
        "joined_on" => "1965-07-01".into(),
        "full_member_on" => "1966-07-01".into(),
        "standing" => "正常".into(),
        "party_post" => String::new(),
        "licence_no" => format!("99999200511{:06}", i),
        "practice_type" => "专职律师".into(),
        "first_licence_year" => "2005".into(),
        "firm_role" => "合伙人".into(),
        "holder_name" => "本所党支部".into(),
        "holder_type" => "本所党组织".into(),
        "holder_region" => "110101".into(),
        "in_firm" => "是".into(),
        "transfer_status" => "已转入".into(),
        "letter_issued_on" => String::new(),
        "dues_org" => "本所党支部".into(),
        "dues_paid_until" => "2026-10".into(),
        "dues_base" => "500".into(),
        "life_org" => "本所党支部".into(),
        "last_life_on" => "2026-10-15".into(),
        "lost_contact" | "mobile_member" => "否".into(),
        _ => String::new(),
    }
}

/// Write the benchmark workbook: the template's header, `rows` rows, all text.
fn write_book(path: &Path, rows: usize, firms: &[String]) -> Result<(), super::CliError> {
    let catalogue = Catalogue::get();
    let form = catalogue.form("A1").ok_or("表单定义缺失")?;
    let mut codes = vec!["firm".to_owned()];
    let mut head = vec![FIRM_COLUMN.to_owned()];
    for f in catalogue.fields_of(form) {
        codes.push(f.code.clone());
        head.push(if f.required {
            format!("＊{}", f.label)
        } else {
            f.label.clone()
        });
    }
    let mut wb = Workbook::new();
    let err = |e: rust_xlsxwriter::XlsxError| super::CliError::Unavailable(e.to_string());
    // Shared strings, as Excel itself saves a workbook.
    let ws = wb.add_worksheet();
    for (c, h) in head.iter().enumerate() {
        ws.write_string(0, c as u16, h).map_err(err)?;
    }
    for i in 0..rows {
        let firm = &firms[i % firms.len()];
        for (c, code) in codes.iter().enumerate() {
            let v = value_for(code, i, firm);
            if !v.is_empty() {
                ws.write_string(i as u32 + 1, c as u16, &v).map_err(err)?;
            }
        }
    }
    wb.save(path).map_err(err)
}

/// The floor of issue 20 item 5: calamine walking every cell of the first sheet, as the
/// import's reader does, and doing nothing with them; returns the number of cells.
fn bare_read(bytes: &[u8]) -> Result<u64, super::CliError> {
    use calamine::{Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let name = wb
        .sheet_names()
        .first()
        .cloned()
        .ok_or("工作簿没有工作表")?;
    let mut reader = wb
        .worksheet_cells_reader(&name)
        .map_err(|e| e.to_string())?;
    let mut cells = 0u64;
    while let Some(cell) = reader.next_cell().map_err(|e| e.to_string())? {
        if !matches!(cell.get_value(), calamine::DataRef::Empty) {
            cells += 1;
        }
    }
    Ok(cells)
}

pub async fn run(
    services: &Services,
    rows: usize,
    keep: Option<&Path>,
) -> Result<(), super::CliError> {
    let (root, firms) = {
        let mut conn = services.db.acquire().await?;
        let national = crate::store::users::get_by_username(&mut conn, "quanguo")
            .await?
            .ok_or("基准测试需要演示数据（dengji demo）")?;
        let mut firms = crate::store::firms::refs_under(
            &mut conn,
            &crate::authz::Scope::Subtree(national.org_path),
        )
        .await?;
        firms.sort_by_key(|f| f.id.0);
        let codes: Vec<String> = firms
            .into_iter()
            .take(20_000)
            .map(|f| f.credit_code)
            .collect();
        (national.org_id, codes)
    };
    if firms.is_empty() {
        return Err("基准测试需要演示数据（dengji demo）".into());
    }
    let path = keep.map_or_else(
        || std::env::temp_dir().join("import-bench.xlsx"),
        Path::to_path_buf,
    );
    let t = Instant::now();
    write_book(&path, rows, &firms)?;
    let bytes = std::fs::read(&path)?;
    println!(
        "导入基准：{rows} 行附件1（全部栏目），文件 {:.1} MB，生成用时 {:.1} s（{}）",
        bytes.len() as f64 / 1048576.0,
        t.elapsed().as_secs_f64(),
        path.display()
    );
    let t = Instant::now();
    let cells = bare_read(&bytes)?;
    let bare = t.elapsed().as_secs_f64();
    println!("  对照：calamine 仅读取文件（逐格，不做任何处理）：{bare:.2} s；{cells} 格");
    let t = Instant::now();
    let report = services
        .import()
        .check(Caller::Operator, root, &bytes, None, &|_, _| {})
        .await?;
    println!(
        "  预检（读取+逐行校验+全国查重）：{:.2} s；无误 {} 行，有错误 {} 行，提示 {} 条",
        t.elapsed().as_secs_f64(),
        report.valid,
        report.invalid,
        report.warnings
    );
    if let Some(i) = report.errors().next() {
        println!("  第一条错误：{:?} {} {}", i.row, i.rule, i.message);
    }
    let t = Instant::now();
    let marks: std::sync::Mutex<Vec<(crate::service::import::Stage, Instant)>> =
        std::sync::Mutex::new(Vec::new());
    let mark = |stage: crate::service::import::Stage, _: u64| {
        if let Ok(mut m) = marks.lock()
            && m.last().is_none_or(|(s, _)| *s != stage)
        {
            m.push((stage, Instant::now()));
        }
    };
    let done = services
        .import()
        .run(
            Caller::Operator,
            ImportRequest {
                into: root,
                file_name: "import-bench.xlsx",
                bytes: &bytes,
                kind: None,
                mode: Mode::ValidOnly,
            },
            &mark,
        )
        .await?;
    let end = Instant::now();
    let stored = t.elapsed().as_secs_f64();
    println!(
        "  导入（再次预检+写入，一个事务）：{stored:.2} s；导入 {} 行；为仅读取的 {:.1} 倍",
        done.imported,
        stored / bare
    );
    if let Ok(m) = marks.lock() {
        for (i, (stage, at)) in m.iter().enumerate() {
            let next = m.get(i + 1).map_or(end, |(_, n)| *n);
            println!("    {}：{:.2} s", stage.label(), (next - *at).as_secs_f64());
        }
    }
    if let Some(batch) = done.batch_id {
        let t = Instant::now();
        let n = services
            .import()
            .undo(Caller::Operator, batch)
            .await?
            .removed;
        println!(
            "  撤销批次：{:.2} s；删除 {n} 人",
            t.elapsed().as_secs_f64()
        );
    }
    if keep.is_none() {
        let _ = std::fs::remove_file(&path);
    }
    Ok(())
}
