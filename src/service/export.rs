//! The summary tables 附件4/5/6 exported as the official sheets: a streamed .xlsx (title,
//! header block, two-row headers where the form groups columns, column widths, frozen header,
//! A4 landscape with page numbers, codes as Chinese labels, ID numbers as text) or a CSV with
//! a UTF-8 byte-order mark. Rows are read in keyset chunks and written in constant memory.
//! Also the firm registry and the organisation roster of a subtree, in the import templates'
//! columns.

use std::collections::HashMap;
use std::io::Write;

use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

use super::import as registry_import;
use super::import::ImportKind;
use super::summary::{member_cells, org_cells};
use super::{Caller, ServiceError, ServiceResult, beijing_today};
use crate::authz::{Action, Scope};
use crate::domain::{OrgId, OrgKind};
use crate::forms::{Catalogue, Summary};
use crate::store::audit::NewEvent;
use crate::store::firms::form_label;
use crate::store::summary::{self, Cursor, Stats};

/// Rows read per query while exporting.
const CHUNK: i64 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Xlsx,
    Csv,
}

impl ExportFormat {
    pub fn from_code(s: &str) -> Option<Self> {
        match s {
            "xlsx" => Some(Self::Xlsx),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Xlsx => "xlsx",
            Self::Csv => "csv",
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct ExportSummary {
    pub rows: u64,
    /// A file name for the download, e.g. `附件4_某某市律师行业党委_2018-09-30.xlsx`.
    pub file_name: String,
}

/// Neutralise a cell that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, and the
/// tab and carriage return that some programs also honour) by a leading apostrophe.
pub fn defuse(value: &str) -> std::borrow::Cow<'_, str> {
    if formula_like(value) {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

/// Whether a spreadsheet program would take `value`, typed into a cell, for a formula.
/// In a CSV it is [`defuse`]d; in an .xlsx it stays as it is, in a text cell marked with
/// Excel's quote prefix, so that reading or importing it again gives the same value.
pub fn formula_like(value: &str) -> bool {
    matches!(
        value.chars().next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r')
    )
}

/// One column as exported: its label, and the group label of a two-row header.
struct OutColumn {
    group: Option<&'static str>,
    label: String,
    width: f64,
}

/// Column widths (in Excel's character units at the sheet's 9 pt text) chosen so the 23
/// columns of 附件4/附件5 print on A3 landscape at 8 pt or more, long names wrapping.
fn width_of(label: &str) -> f64 {
    match label {
        "序号" | "性别" => 4.5,
        "民族" | "在本所" | "组织关系是否在本所" => 5.5,
        "省" | "人员类别" | "问题类别" => 6.5,
        "地市" | "姓名" | "转接状态" | "审核状态" => 7.5,
        "党费交至年月" | "备注" | "学历" | "岗位类别" => 8.5,
        "出生日期" | "入党日期" | "转正日期" | "成立日期" | "届满日期" => 9.5,
        "执业证号" => 17.0,
        "公民身份号码" => 18.0,
        "组织关系所在党组织" | "参加组织生活党组织" | "上级党组织" | "联系人/电话" => {
            12.5
        }
        "律所名称" | "所在党组织" | "党组织全称" | "覆盖律所数及名称" => 14.5,
        _ => 10.0,
    }
}

/// The exported columns: 附件6's 党员数 becomes four columns under one merged heading.
fn out_columns(table: &Summary) -> Vec<OutColumn> {
    let mut out = Vec::new();
    for c in &table.columns {
        if c.derived.as_deref() == Some("member_counts") {
            for sub in ["正式", "预备", "律师", "工作人员"] {
                out.push(OutColumn {
                    group: Some("党员数"),
                    label: sub.to_owned(),
                    width: 7.0,
                });
            }
        } else {
            out.push(OutColumn {
                group: None,
                label: c.label.clone(),
                width: width_of(&c.label),
            });
        }
    }
    out
}

/// Split the `a/b/c/d` member-count cell into its four columns.
fn expand(table: &Summary, cells: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(cells.len() + 3);
    for (c, v) in table.columns.iter().zip(cells) {
        if c.derived.as_deref() == Some("member_counts") {
            out.extend(v.split('/').map(str::to_owned));
        } else {
            out.push(v);
        }
    }
    out
}

fn xlsx_err(e: XlsxError) -> ServiceError {
    ServiceError::Failed(format!("生成 Excel 文件失败：{e}"))
}

fn io_err(e: std::io::Error) -> ServiceError {
    ServiceError::Failed(format!("写出文件失败：{e}"))
}

struct Formats {
    title: Format,
    meta: Format,
    head: Format,
    cell: Format,
    /// A text cell of formula-like text (Excel's quote prefix: shown and kept as text).
    quoted: Format,
}

impl Formats {
    fn new() -> Self {
        let border = |f: Format| f.set_border(FormatBorder::Thin);
        Self {
            title: Format::new()
                .set_bold()
                .set_font_size(16)
                .set_align(FormatAlign::Center),
            meta: Format::new(),
            head: border(
                Format::new()
                    .set_bold()
                    .set_font_size(9)
                    .set_text_wrap()
                    .set_align(FormatAlign::Center)
                    .set_align(FormatAlign::VerticalCenter),
            ),
            // Text format: nothing typed later into these cells becomes a number either.
            // 9 pt, wrapped: printed on A3 landscape it stays readable (see `width_of`).
            cell: border(
                Format::new()
                    .set_num_format("@")
                    .set_font_size(9)
                    .set_text_wrap()
                    .set_align(FormatAlign::Top),
            ),
            quoted: border(
                Format::new()
                    .set_num_format("@")
                    .set_quote_prefix()
                    .set_font_size(9)
                    .set_text_wrap()
                    .set_align(FormatAlign::Top),
            ),
        }
    }
}

/// Rows 0–4 of the sheet: attachment, title, header block, two header rows. Returns the first
/// data row.
fn write_head(
    ws: &mut Worksheet,
    f: &Formats,
    attachment: &str,
    title: &str,
    meta: [(&str, String); 4],
    columns: &[OutColumn],
) -> Result<u32, XlsxError> {
    let last = u16::try_from(columns.len().saturating_sub(1)).unwrap_or(0);
    ws.write_string(0, 0, attachment)?;
    ws.merge_range(1, 0, 1, last, title, &f.title)?;
    let text = meta
        .iter()
        .map(|(k, v)| format!("{k}：{v}"))
        .collect::<Vec<_>>()
        .join("    ");
    ws.merge_range(2, 0, 2, last, &text, &f.meta)?;
    let two_rows = columns.iter().any(|c| c.group.is_some());
    // Headings wrap: the heading row is as tall as its longest heading needs.
    let head_lines = columns
        .iter()
        .map(|c| lines_in(&c.label, c.width))
        .max()
        .unwrap_or(1);
    if head_lines > 1 && !two_rows {
        ws.set_row_height(3, 12.5 * f64::from(head_lines))?;
    }
    let mut col: u16 = 0;
    while usize::from(col) < columns.len() {
        let c = &columns[usize::from(col)];
        match c.group {
            Some(g) if two_rows => {
                let span = columns[usize::from(col)..]
                    .iter()
                    .take_while(|x| x.group == Some(g))
                    .count();
                let end = col + u16::try_from(span).unwrap_or(1) - 1;
                ws.merge_range(3, col, 3, end, g, &f.head)?;
                for (i, x) in columns[usize::from(col)..=usize::from(end)]
                    .iter()
                    .enumerate()
                {
                    let i = u16::try_from(i).unwrap_or(0);
                    ws.write_string_with_format(4, col + i, &x.label, &f.head)?;
                }
                col = end + 1;
            }
            _ => {
                if two_rows {
                    ws.merge_range(3, col, 4, col, &c.label, &f.head)?;
                } else {
                    ws.write_string_with_format(3, col, &c.label, &f.head)?;
                }
                col += 1;
            }
        }
    }
    for (i, c) in columns.iter().enumerate() {
        ws.set_column_width(u16::try_from(i).unwrap_or(0), c.width)?;
    }
    let first = if two_rows { 5 } else { 4 };
    ws.set_freeze_panes(first, 0)?;
    ws.set_repeat_rows(3, first - 1)?;
    // 附件4–6 have up to 23 columns: A3 landscape, one page wide, narrow margins.
    ws.set_landscape();
    ws.set_paper_size(8); // A3
    ws.set_margins(0.4, 0.4, 0.5, 0.5, 0.3, 0.3);
    ws.set_print_fit_to_pages(1, 0);
    ws.set_footer("&C第 &P 页，共 &N 页");
    Ok(first)
}

/// How many lines `text` takes in a column `width` characters wide at the cells' 9 pt: a
/// CJK character takes about 1.35 of Excel's width units at 9 pt (measured on LibreOffice's
/// print), other characters about 0.75.
fn lines_in(text: &str, width: f64) -> u32 {
    let units: f64 = text
        .chars()
        .map(|c| if c.is_ascii() { 0.75 } else { 1.35 })
        .sum();
    let per_line = (width - 0.8).max(1.0);
    // At most a few lines: a very long remark is cut rather than making a page of one row.
    (units / per_line).ceil().clamp(1.0, 6.0) as u32
}

fn write_stats(ws: &mut Worksheet, f: &Formats, s: &Stats) -> Result<(), XlsxError> {
    let pm = s.coverage_permille();
    let rows: Vec<(&str, String)> = vec![
        ("律所总数", s.firms.to_string()),
        ("有党员律所数", s.firms_with_members.to_string()),
        ("单独建立党组织律所数", s.firms_own_org.to_string()),
        ("纳入联合党支部律所数", s.firms_joint.to_string()),
        ("无党员律所数", s.firms_without_members.to_string()),
        ("党委", s.committees.to_string()),
        ("党总支", s.general_branches.to_string()),
        ("党支部", s.branches.to_string()),
        ("联合党支部", s.joint_branches.to_string()),
        ("党员律师数", s.lawyers.to_string()),
        ("工作人员党员数", s.staff.to_string()),
        ("正式党员", s.full_members.to_string()),
        ("预备党员", s.probationary.to_string()),
        (
            "组织关系在律所（行业）的党员数",
            s.relation_in_industry.to_string(),
        ),
        ("问题类别第1类", s.cases[0].to_string()),
        ("问题类别第2类", s.cases[1].to_string()),
        ("问题类别第3类", s.cases[2].to_string()),
        ("问题类别第4类", s.cases[3].to_string()),
        ("问题类别第5类", s.cases[4].to_string()),
        ("登记表已审核通过", s.approved.to_string()),
        ("覆盖率", format!("{}.{}%", pm / 10, pm % 10)),
    ];
    ws.write_string_with_format(0, 0, "项目", &f.head)?;
    ws.write_string_with_format(0, 1, "数量", &f.head)?;
    for (i, (k, v)) in rows.iter().enumerate() {
        let r = u32::try_from(i).unwrap_or(0) + 1;
        ws.write_string_with_format(r, 0, *k, &f.cell)?;
        ws.write_string_with_format(r, 1, v, &f.cell)?;
    }
    ws.set_column_width(0, 32.0)?;
    ws.set_column_width(1, 12.0)?;
    Ok(())
}

/// The sheet written on its own thread: the rows arrive in chunks while the next chunk is
/// read from the database (two cores: reading and compressing overlap).
struct XlsxJob {
    attachment: String,
    title: String,
    meta: [(&'static str, String); 4],
    columns: Vec<OutColumn>,
    unit: &'static str,
    stats: Option<Stats>,
    path: std::path::PathBuf,
    mark: crate::watermark::Watermark,
}

fn write_xlsx(
    job: XlsxJob,
    mut rows: tokio::sync::mpsc::Receiver<Vec<Vec<String>>>,
) -> Result<(), XlsxError> {
    let mut wb = Workbook::new();
    // Fastest deflate: the sheet XML of a national table is over a gigabyte, and deflating it
    // at the default level was the largest single cost of the export (measured in
    // BENCHMARKS.md); the file is larger but opens the same.
    wb.set_zip_compression_level(1);
    let f = Formats::new();
    let ws = wb.add_worksheet_with_constant_memory()?;
    ws.set_name(&job.attachment)?;
    let mut next = write_head(ws, &f, &job.attachment, &job.title, job.meta, &job.columns)?;
    let mut written: u64 = 0;
    while let Some(chunk) = rows.blocking_recv() {
        for cells in chunk {
            // Wrapped cells need a taller row (no program fits rows of a file it did not write).
            let lines = cells
                .iter()
                .zip(&job.columns)
                .map(|(v, c)| lines_in(v, c.width))
                .max()
                .unwrap_or(1);
            if lines > 1 {
                ws.set_row_height(next, 12.5 * f64::from(lines))?;
            }
            for (i, v) in cells.iter().enumerate() {
                let col = u16::try_from(i).unwrap_or(0);
                let format = if formula_like(v) { &f.quoted } else { &f.cell };
                ws.write_string_with_format(next, col, v, format)?;
            }
            next += 1;
            written += 1;
        }
    }
    ws.write_string(next, 0, format!("合计：{written} {}", job.unit))?;
    if let Some(stats) = &job.stats {
        let ws = wb.add_worksheet();
        ws.set_name("统计")?;
        write_stats(ws, &f, stats)?;
    }
    job.mark.apply(&mut wb);
    wb.save(&job.path)
}

enum Sink<'a> {
    Xlsx {
        rows: tokio::sync::mpsc::Sender<Vec<Vec<String>>>,
        writer: tokio::task::JoinHandle<Result<(), XlsxError>>,
        path: std::path::PathBuf,
        out: &'a mut (dyn Write + Send),
    },
    Csv(Box<csv::Writer<&'a mut (dyn Write + Send)>>),
}

impl<'a> Sink<'a> {
    /// Start writing: an .xlsx on its own thread (into a temporary file), or a CSV with its
    /// header line.
    fn open(
        format: ExportFormat,
        mut job: XlsxJob,
        out: &'a mut (dyn Write + Send),
        csv_watermark: bool,
    ) -> ServiceResult<Self> {
        Ok(match format {
            ExportFormat::Xlsx => {
                let path = std::env::temp_dir().join(format!(
                    "dengji-export-{}.xlsx",
                    crate::crypto::random_token()
                ));
                job.path = path.clone();
                let (rows, receiver) = tokio::sync::mpsc::channel(4);
                let writer = tokio::task::spawn_blocking(move || write_xlsx(job, receiver));
                Sink::Xlsx {
                    rows,
                    writer,
                    path,
                    out,
                }
            }
            ExportFormat::Csv => {
                out.write_all("\u{feff}".as_bytes()).map_err(io_err)?;
                if csv_watermark {
                    out.write_all(job.mark.csv_line().as_bytes())
                        .map_err(io_err)?;
                }
                let mut w = csv::Writer::from_writer(out);
                w.write_record(job.columns.iter().map(|c| match c.group {
                    Some(g) => format!("{g}（{}）", c.label),
                    None => c.label.clone(),
                }))
                .map_err(|e| ServiceError::Failed(format!("写出 CSV 失败：{e}")))?;
                Sink::Csv(Box::new(w))
            }
        })
    }

    async fn chunk(&mut self, chunk: Vec<Vec<String>>) -> ServiceResult<()> {
        match self {
            Sink::Xlsx { rows, .. } => rows
                .send(chunk)
                .await
                .map_err(|_| ServiceError::Failed("生成 Excel 文件的线程已意外结束".into())),
            Sink::Csv(w) => {
                for cells in chunk {
                    w.write_record(cells.iter().map(|v| defuse(v).into_owned()))
                        .map_err(|e| ServiceError::Failed(format!("写出 CSV 失败：{e}")))?;
                }
                Ok(())
            }
        }
    }

    /// Give up: stop the writer thread and remove its temporary file.
    async fn abort(self) {
        if let Sink::Xlsx {
            rows, writer, path, ..
        } = self
        {
            drop(rows);
            let _ = writer.await;
            let _ = std::fs::remove_file(&path);
        }
    }

    async fn finish(self) -> ServiceResult<()> {
        match self {
            Sink::Xlsx {
                rows,
                writer,
                path,
                out,
            } => {
                drop(rows);
                let done = writer
                    .await
                    .map_err(|_| ServiceError::Failed("生成 Excel 文件的线程已意外结束".into()));
                let copied = match done {
                    Ok(Ok(())) => std::fs::File::open(&path)
                        .and_then(|mut f| std::io::copy(&mut f, out))
                        .map(|_| ())
                        .map_err(io_err),
                    Ok(Err(e)) => Err(xlsx_err(e)),
                    Err(e) => Err(e),
                };
                let _ = std::fs::remove_file(&path);
                copied
            }
            Sink::Csv(mut w) => w.flush().map_err(io_err),
        }
    }
}

super::area!(ExportService);

impl ExportService<'_> {
    /// Export the whole summary table `code` (A4, A5, A6, the rosters) of a node to `out`. ID
    /// numbers are masked unless `ids` asks for them in full, with a purpose; only clerks,
    /// reviewers and administrators of the subtree may export; each export is watermarked
    /// and audited (with its id and purpose, never a number).
    #[allow(clippy::too_many_arguments)]
    pub async fn table(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
        code: &str,
        format: ExportFormat,
        ids: &super::Ids,
        out: &mut (dyn Write + Send),
        progress: &(dyn Fn(u64) + Sync),
    ) -> ServiceResult<ExportSummary> {
        caller.require(Action::ManageMembers, None)?;
        if let Some(kind) = ImportKind::from_code(code).filter(|k| k.is_registry()) {
            return self
                .export_registry(caller, org_id, kind, format, out, progress)
                .await;
        }
        let catalogue = Catalogue::get();
        let table = catalogue
            .summaries
            .iter()
            .find(|t| t.code.eq_ignore_ascii_case(code))
            .ok_or(ServiceError::NotFound)?;
        let mut conn = self.db.acquire_read().await?;
        let org = super::managed_org(&mut conn, caller, org_id).await?;
        let campaign = super::current_campaign_of(&mut conn).await?;
        let mut names: HashMap<i64, String> = summary::upper_names(&mut conn).await?;
        if table.code.starts_with("A4") || table.code.starts_with("A5") || table.code == "A6" {
            // The printed summaries name places shortly (广东, 广州) so the columns stay narrow.
            for n in names.values_mut() {
                *n = crate::domain::org::short_node_name(n);
            }
        }
        let columns = out_columns(table);
        let organisations = table.rows == "organisation";
        // Organisation tables hold no ID numbers: nothing to ask a purpose for.
        let ids = if organisations {
            &super::Ids::Masked
        } else {
            ids
        };
        let mark = super::watermark(caller, &org.name, ids.purpose().as_deref());
        let today = beijing_today().to_string();
        let header = super::summary::header_block(&mut conn, caller, campaign.id, &org, 0).await?;

        let stats = if table.stats && format == ExportFormat::Xlsx {
            Some(summary::stats(&mut conn, campaign.id, &org.path).await?)
        } else {
            None
        };
        let job = XlsxJob {
            attachment: table.attachment.clone(),
            title: table.title.clone(),
            meta: [
                ("填报单位（盖章）", header.unit),
                ("填报人", header.filler),
                ("联系电话", header.phone),
                ("填报日期", header.date),
            ],
            columns,
            unit: if organisations { "个党组织" } else { "人" },
            stats,
            path: std::path::PathBuf::new(),
            mark: mark.clone(),
        };
        let mut sink = Sink::open(format, job, out, self.limits.csv_watermark)?;

        let filled = self
            .fill(
                &mut conn,
                &mut sink,
                table,
                &names,
                campaign.id,
                &org.path,
                ids,
                progress,
            )
            .await;
        let written = match filled {
            Ok(n) => {
                sink.finish().await?;
                n
            }
            Err(e) => {
                // Stop the writer and leave no temporary file behind.
                sink.abort().await;
                return Err(e);
            }
        };
        drop(conn);

        self.exported(
            caller,
            &org,
            (&table.code, !organisations, ids),
            format,
            written,
            &table.attachment,
            &today,
            &mark,
        )
        .await
    }

    /// Export the firm registry or the organisation roster of a node's subtree, in the columns
    /// of the import templates (so it imports again) and a few more for reading.
    async fn export_registry(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
        kind: ImportKind,
        format: ExportFormat,
        out: &mut (dyn Write + Send),
        progress: &(dyn Fn(u64) + Sync),
    ) -> ServiceResult<ExportSummary> {
        let mut conn = self.db.acquire_read().await?;
        let org = super::managed_org(&mut conn, caller, org_id).await?;
        let today = beijing_today().to_string();
        let mark = super::watermark(caller, &org.name, None);
        let firms = kind == ImportKind::Firms;
        let mut labels: Vec<&str> = vec!["序号"];
        labels.extend(registry_import::columns(kind).iter().map(|c| c.label));
        labels.extend(if firms {
            ["律所党组织", "覆盖方式", "党员人数"].as_slice()
        } else {
            ["层级", "行政区划名称"].as_slice()
        });
        let mut rows: Vec<Vec<String>> = Vec::new();
        if firms {
            for (i, f) in
                crate::store::firms::firm_lines(&mut conn, &Scope::Subtree(org.path.clone()))
                    .await?
                    .into_iter()
                    .enumerate()
            {
                let coverage = match f.org_kind.as_deref().and_then(OrgKind::from_code) {
                    None => "未建立党组织",
                    Some(OrgKind::JointBranch) => "纳入联合党支部",
                    Some(_) => "单独建立党组织",
                };
                rows.push(vec![
                    (i + 1).to_string(),
                    f.name,
                    f.credit_code,
                    f.region_code,
                    form_label(&f.form).to_owned(),
                    f.lawyer_count.to_string(),
                    f.city_name,
                    f.org_name.unwrap_or_default(),
                    coverage.to_owned(),
                    f.member_count.to_string(),
                ]);
            }
        } else {
            for (i, l) in
                crate::store::orgs::org_lines(&mut conn, &Scope::Subtree(org.path.clone()))
                    .await?
                    .into_iter()
                    .enumerate()
            {
                let o = l.org;
                rows.push(vec![
                    (i + 1).to_string(),
                    o.name,
                    o.kind.label().to_owned(),
                    l.parent_name,
                    o.region_code.unwrap_or_default(),
                    l.firm_codes.join("、"),
                    o.secretary_name.unwrap_or_default(),
                    o.contact_phone.unwrap_or_default(),
                    o.formed_on.unwrap_or_default(),
                    o.level.label().to_owned(),
                    o.region_name.unwrap_or_default(),
                ]);
            }
        }
        drop(conn);
        let written = rows.len() as u64;
        let columns: Vec<OutColumn> = labels
            .iter()
            .map(|l| OutColumn {
                group: None,
                label: (*l).to_owned(),
                width: match *l {
                    "律师事务所名称" | "所属地市级党组织" | "律所党组织" => {
                        26.0
                    }
                    "统一社会信用代码" | "所在律师事务所统一社会信用代码" => {
                        21.0
                    }
                    other => width_of(other),
                },
            })
            .collect();
        let job = XlsxJob {
            attachment: kind.label().to_owned(),
            title: format!("{}{}", org.name, kind.label()),
            meta: [
                ("单位", org.name.clone()),
                ("范围", "本级及全部下级".to_owned()),
                ("导出人", caller.display_name()),
                ("导出日期", today.clone()),
            ],
            columns,
            unit: if firms {
                "个律师事务所"
            } else {
                "个党组织"
            },
            stats: None,
            path: std::path::PathBuf::new(),
            mark: mark.clone(),
        };
        let mut sink = Sink::open(format, job, out, self.limits.csv_watermark)?;
        let mut rows = rows.into_iter();
        loop {
            let chunk: Vec<Vec<String>> = rows.by_ref().take(CHUNK as usize).collect();
            if chunk.is_empty() {
                break;
            }
            if let Err(e) = sink.chunk(chunk).await {
                sink.abort().await;
                return Err(e);
            }
        }
        sink.finish().await?;
        progress(written);
        self.exported(
            caller,
            &org,
            (kind.code(), false, &super::Ids::Masked),
            format,
            written,
            kind.label(),
            &today,
            &mark,
        )
        .await
    }

    /// Record an export in the audit log (what, in which format, how many rows, never a
    /// value) and name the download, e.g. `附件4_某某市律师行业党委_2018-09-30.xlsx`.
    #[allow(clippy::too_many_arguments)]
    async fn exported(
        &self,
        caller: Caller<'_>,
        org: &crate::store::orgs::Org,
        (table, personal, ids): (&str, bool, &super::Ids),
        format: ExportFormat,
        written: u64,
        title: &str,
        today: &str,
        mark: &crate::watermark::Watermark,
    ) -> ServiceResult<ExportSummary> {
        let mut detail = serde_json::json!({
            "table": table, "format": format.extension(), "rows": written,
        });
        if personal {
            // Found by 查阅记录 of every member below the node.
            detail["personal"] = true.into();
            detail["ids"] = if ids == &super::Ids::Masked {
                "masked"
            } else {
                "full"
            }
            .into();
        }
        super::record_export(
            &self.db,
            caller,
            NewEvent {
                action: "export",
                target_kind: "org",
                target_id: org.id.to_string(),
                target_path: &org.path,
                detail,
            },
            &[],
            mark,
        )
        .await?;
        Ok(ExportSummary {
            rows: written,
            file_name: format!("{title}_{}_{today}.{}", org.name, format.extension()),
        })
    }

    /// Read the table's rows in keyset chunks and hand them to the sink; the rows written.
    #[allow(clippy::too_many_arguments)]
    async fn fill(
        &self,
        conn: &mut sqlx::AnyConnection,
        sink: &mut Sink<'_>,
        table: &Summary,
        names: &HashMap<i64, String>,
        campaign_id: i64,
        path: &crate::domain::TreePath,
        ids: &super::Ids,
        progress: &(dyn Fn(u64) + Sync),
    ) -> ServiceResult<u64> {
        let catalogue = Catalogue::get();
        let organisations = table.rows == "organisation";
        let mut written: u64 = 0;
        let mut cursor = Cursor::Offset(0);
        loop {
            let mut chunk = Vec::with_capacity(CHUNK as usize);
            if organisations {
                let list = summary::org_rows(conn, campaign_id, path, &cursor, CHUNK).await?;
                let Some(last) = list.last() else { break };
                cursor = Cursor::AfterPath(last.path.clone());
                for o in &list {
                    written += 1;
                    let cells = org_cells(table, catalogue, names, written as i64, o);
                    chunk.push(expand(table, cells));
                }
            } else {
                let list =
                    summary::member_rows(conn, campaign_id, path, &table.rows, &cursor, CHUNK)
                        .await?;
                let Some(last) = list.last() else { break };
                cursor = Cursor::AfterMember(last.org_path.clone(), last.name.clone(), last.id);
                for m in &list {
                    written += 1;
                    let id = if ids == &super::Ids::Masked {
                        m.citizen_id_masked.clone()
                    } else {
                        let enc = m
                            .form_citizen_id_enc
                            .as_deref()
                            .unwrap_or(&m.citizen_id_enc);
                        self.keys.decrypt_id(enc)?
                    };
                    chunk.push(member_cells(
                        table,
                        catalogue,
                        names,
                        written as i64,
                        m,
                        &id,
                    ));
                }
            }
            sink.chunk(chunk).await?;
            progress(written);
        }
        Ok(written)
    }
}

/// The column headers of a roster's lines (after 序号), as printed and exported.
pub fn roster_columns(r: crate::store::roster::Roster) -> &'static [&'static str] {
    use crate::store::roster::Roster;
    match r {
        Roster::Lawyers | Roster::Staff => &[
            "姓名",
            "性别",
            "出生日期",
            "公民身份号码",
            "正式/预备",
            "入党时间",
            "转正时间",
            "执业证号",
            "所在律师事务所",
            "所在党组织",
            "起始日期",
            "截止日期",
        ],
        Roster::Firms => &[
            "律师事务所名称",
            "统一社会信用代码",
            "行政区划代码",
            "组织形式",
            "律师人数",
            "党员人数",
            "覆盖方式",
            "所属党组织",
            "所属地市级党组织",
            "起始日期",
            "截止日期",
        ],
        Roster::Orgs => &[
            "党组织名称",
            "类别",
            "层级",
            "上级党组织",
            "行政区划代码",
            "书记",
            "联系电话",
            "成立时间",
            "组织委员",
            "本届届满日期",
            "起始日期",
            "截止日期",
        ],
    }
}

/// A roster line's cells in [`roster_columns`] order (codes read as Chinese labels).
pub fn roster_cells(
    r: crate::store::roster::Roster,
    l: &crate::store::roster::Line,
) -> Vec<String> {
    use crate::store::firms::Coverage;
    use crate::store::roster::Roster;
    let cell = |i: usize| l.cells.get(i).cloned().unwrap_or_default();
    let from = l.from_date.clone().unwrap_or_default();
    let to = l.to_date.clone().unwrap_or_default();
    match r {
        Roster::Lawyers | Roster::Staff => vec![
            l.name.clone(),
            match cell(0).as_str() {
                "male" | "1" => "男".to_owned(),
                "female" | "2" => "女".to_owned(),
                other => other.to_owned(),
            },
            cell(1),
            cell(2),
            match l.category.as_str() {
                "full" => "正式党员".to_owned(),
                "probationary" => "预备党员".to_owned(),
                other => other.to_owned(),
            },
            cell(3),
            cell(4),
            cell(5),
            l.place.clone(),
            l.org.clone(),
            from,
            to,
        ],
        Roster::Firms => vec![
            l.name.clone(),
            cell(0),
            cell(1),
            form_label(&cell(2)).to_owned(),
            cell(3),
            cell(4),
            Coverage::from_code(&l.category)
                .map_or("", Coverage::label)
                .to_owned(),
            l.place.clone(),
            l.org.clone(),
            from,
            to,
        ],
        Roster::Orgs => vec![
            l.name.clone(),
            OrgKind::from_code(&l.category)
                .map_or("", OrgKind::label)
                .to_owned(),
            crate::domain::OrgLevel::from_code(&cell(0))
                .map_or("", crate::domain::OrgLevel::label)
                .to_owned(),
            l.place.clone(),
            cell(1),
            cell(2),
            cell(3),
            cell(4),
            cell(5),
            cell(6),
            from,
            to,
        ],
    }
}

/// Most lines in one roster export.
const ROSTER_LINES: i64 = 2_000_000;

impl ExportService<'_> {
    /// Export a roster of a node's subtree (now or on a past date) as .xlsx or CSV, ID numbers
    /// masked, watermarked and audited like every export.
    pub async fn roster(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
        f: &crate::store::roster::RosterFilter,
        format: ExportFormat,
        out: &mut (dyn Write + Send),
    ) -> ServiceResult<ExportSummary> {
        use crate::store::roster::Roster;
        if let Some(d) = &f.as_of
            && crate::forms::rules::parse_date(d).is_none()
        {
            return Err(ServiceError::Invalid(vec![crate::domain::FieldError::new(
                "as_of",
                "截至日期应为“年-月-日”，例如 2018-12-31",
            )]));
        }
        let mut conn = self.db.acquire_read().await?;
        let org = super::managed_org(&mut conn, caller, org_id).await?;
        let lines = crate::store::roster::all(&mut conn, &org.path, f, ROSTER_LINES).await?;
        drop(conn);
        let today = beijing_today().to_string();
        let mark = super::watermark(caller, &org.name, None);
        let mut labels: Vec<&str> = vec!["序号"];
        labels.extend(roster_columns(f.roster));
        let columns: Vec<OutColumn> = labels
            .iter()
            .map(|l| OutColumn {
                group: None,
                label: (*l).to_owned(),
                width: match *l {
                    "律师事务所名称"
                    | "所在律师事务所"
                    | "所在党组织"
                    | "党组织名称"
                    | "上级党组织"
                    | "所属党组织"
                    | "所属地市级党组织" => 26.0,
                    "公民身份号码" | "统一社会信用代码" | "执业证号" => 21.0,
                    other => width_of(other),
                },
            })
            .collect();
        let as_of = f
            .as_of
            .clone()
            .unwrap_or_else(|| format!("{today}（当前）"));
        let job = XlsxJob {
            attachment: f.roster.label().to_owned(),
            title: format!("{}{}", org.name, f.roster.label()),
            meta: [
                ("单位", org.name.clone()),
                ("截至日期", as_of),
                ("导出人", caller.display_name()),
                ("导出日期", today.clone()),
            ],
            columns,
            unit: match f.roster {
                Roster::Lawyers | Roster::Staff => "名党员",
                Roster::Firms => "个律师事务所",
                Roster::Orgs => "个党组织",
            },
            stats: None,
            path: std::path::PathBuf::new(),
            mark: mark.clone(),
        };
        let written = lines.len() as u64;
        let personal = matches!(f.roster, Roster::Lawyers | Roster::Staff);
        let mut sink = Sink::open(format, job, out, self.limits.csv_watermark)?;
        for (n, chunk) in lines.chunks(CHUNK as usize).enumerate() {
            let rows: Vec<Vec<String>> = chunk
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let mut cells = vec![(n * CHUNK as usize + i + 1).to_string()];
                    cells.extend(roster_cells(f.roster, l));
                    cells
                })
                .collect();
            if let Err(e) = sink.chunk(rows).await {
                sink.abort().await;
                return Err(e);
            }
        }
        sink.finish().await?;
        let mut detail = serde_json::json!({
            "table": f.roster.code(), "format": format.extension(), "rows": written,
            "as_of": f.as_of.clone().unwrap_or_default(),
        });
        if personal {
            detail["personal"] = true.into();
            detail["ids"] = "masked".into();
        }
        super::record_export(
            &self.db,
            caller,
            NewEvent {
                action: "export",
                target_kind: "org",
                target_id: org.id.to_string(),
                target_path: &org.path,
                detail,
            },
            &[],
            &mark,
        )
        .await?;
        Ok(ExportSummary {
            rows: written,
            file_name: format!(
                "{}_{}_{}.{}",
                f.roster.label(),
                org.name,
                f.as_of.as_deref().unwrap_or(&today),
                format.extension()
            ),
        })
    }
}
