//! Import of the firm registry (律师事务所名册) and of party organisations (党组织名册) from
//! .xlsx or .csv: the same dry run, modes, batches and undo as the member import, so a deployment
//! can bring in its cities, firms and firm party organisations instead of typing them.
//!
//! Firms go under a city-level node (the one imported into, or the one each row names); an
//! organisation goes under the node imported into or the parent it names (an existing node of
//! the subtree or a row above it in the file), one level below it, and a firm-level
//! organisation takes over the firms it names by credit code.

use std::collections::{BTreeMap, HashMap, HashSet};

mod firms;
mod orgs;

use firms::{FIRM_COLUMNS, check_firms};
use orgs::{A3_FROM_ROSTER, ORG_COLUMNS, SECRETARY_ID, a3_field, check_orgs};

use super::{
    ImportKind, ImportRequest, Imported, Issue, Progress, Report, Stage, cell_text, column_twice,
    convert, date_text, file_rule, finish_batch, header_key, header_row, new_batch, norm, push,
    serial_date, sha256_hex,
};
use crate::authz::Scope;
use crate::domain::{CreditCode, FirmId, OrgId, OrgKind, OrgLevel, TreePath};
use crate::forms::divisions;
use crate::forms::{Catalogue, Field, Kind, Severity, validate};
use crate::service::org_registration::{org_rules, prefill};
use crate::service::{Caller, Refusal, ServiceError, ServiceResult};
use crate::sheet::{self, Value};
use crate::store::firms::{self as firm_store, KnownFirm, NewFirm};
use crate::store::imports;
use crate::store::org_registrations::{self, MemberCounts};
use crate::store::orgs::{self as org_store, Org};

/// Longest name of a firm or an organisation.
const MAX_NAME: usize = 60;
/// Most firms a joint branch should cover (forms.md §5.1: a warning above it).
const JOINT_MAX: usize = 5;

/// One column of a registry file.
pub struct Col {
    pub code: &'static str,
    pub label: &'static str,
    pub required: bool,
    pub kind: Kind,
    pub list: Option<&'static str>,
    pub max_len: Option<usize>,
    pub help: &'static str,
}

const fn col(
    code: &'static str,
    label: &'static str,
    required: bool,
    kind: Kind,
    list: Option<&'static str>,
    help: &'static str,
) -> Col {
    Col {
        code,
        label,
        required,
        kind,
        list,
        max_len: None,
        help,
    }
}

pub fn columns(kind: ImportKind) -> &'static [Col] {
    match kind {
        ImportKind::Orgs => &ORG_COLUMNS,
        _ => &FIRM_COLUMNS,
    }
}

/// The columns as form fields, for the template writer: an organisation roster's template
/// also has 附件3's other fields (optional; a row that fills them starts the 附件3 draft).
pub fn template_fields(kind: ImportKind) -> Vec<Field> {
    let catalogue = Catalogue::get();
    let a3 = catalogue
        .form("A3")
        .filter(|_| kind == ImportKind::Orgs)
        .into_iter()
        .flat_map(|form| catalogue.fields_of(form))
        .filter(|f| !A3_FROM_ROSTER.contains(&f.code.as_str()))
        .map(|f| Field {
            required: false,
            required_if: None,
            ..f.clone()
        });
    columns(kind)
        .iter()
        .map(|c| Field {
            code: c.code.into(),
            label: c.label.into(),
            kind: c.kind,
            list: c.list.map(Into::into),
            required: c.required,
            required_if: None,
            max_len: c.max_len,
            digits: None,
            min: (c.kind == Kind::Int).then_some(0),
            future: false,
            help: (!c.help.is_empty()).then(|| c.help.into()),
            edit: None,
        })
        .chain(a3)
        .collect()
}

/// Whether a header (already through [`header_key`]) names the column: its label, or a header
/// people write for it (`forms/headers.toml`, the one alias table of every importer).
fn matches(c: &Col, header: &str) -> bool {
    header_key(Catalogue::get(), c.label) == header
}

/// How many of a kind's columns a row names, and whether it names the key (first) column.
fn hits(kind: ImportKind, cells: &[Value]) -> (usize, bool) {
    let headers: Vec<String> = cells
        .iter()
        .map(|c| header_key(Catalogue::get(), &cell_text(c)))
        .collect();
    let cols = columns(kind);
    let n = cols
        .iter()
        .filter(|c| headers.iter().any(|h| matches(c, h)))
        .count();
    (n, headers.iter().any(|h| matches(&cols[0], h)))
}

/// A row's score as the header of `kind` (how many of its columns it names), when it names
/// at least `min` and the key (first) column.
fn score(kind: ImportKind, min: usize) -> impl Fn(&[Value]) -> Option<usize> {
    move |cells| {
        let (n, key) = hits(kind, cells);
        (key && n >= min).then_some(n)
    }
}

/// Whether the first rows hold the header of a firm registry or an organisation roster:
/// the row and the kind.
pub(crate) fn detect(rows: &[(u32, Vec<Value>)]) -> Option<(usize, ImportKind)> {
    [ImportKind::Firms, ImportKind::Orgs]
        .into_iter()
        .filter_map(|k| header_row(rows, score(k, 3)).map(|(i, n)| (i, n, k)))
        .max_by_key(|(i, n, _)| (*n, usize::MAX - i))
        .map(|(i, _, k)| (i, k))
}

/// The header row for a kind the user chose.
fn header_for(kind: ImportKind, rows: &[(u32, Vec<Value>)]) -> Option<usize> {
    header_row(rows, score(kind, 2)).map(|(i, _)| i)
}

/// A row that passed the check, ready to be stored.
enum Plan {
    Firm(NewFirm),
    Org { org: NewOrgPlan, firms: Vec<FirmId> },
}

/// Where a new organisation goes: under a node on record or a row above it in the file.
#[derive(Debug, Clone)]
enum Parent {
    Existing(OrgId, TreePath),
    /// Index into the plans.
    Planned(usize),
}

struct NewOrgPlan {
    parent: Parent,
    level: OrgLevel,
    kind: OrgKind,
    name: String,
    region_code: Option<String>,
    secretary_name: Option<String>,
    contact_phone: Option<String>,
    formed_on: Option<String>,
    /// The 附件3 values the row gives beyond the roster's own columns (empty: no draft).
    a3: BTreeMap<String, String>,
}

/// One data row, its cells by column code.
struct Row<'a> {
    n: u32,
    cells: HashMap<&'static str, &'a Value>,
    /// The 附件3 cells of an organisation roster's row.
    a3: Vec<(&'static Field, &'a Value)>,
    headers: &'a HashMap<&'static str, String>,
    issues: Vec<Issue>,
    /// The row names an organisation already on record (same name, parent and kind): it is
    /// not imported again, and rows below it may name it as their parent.
    matched: bool,
}

impl Row<'_> {
    fn text(&self, code: &str) -> String {
        self.cells
            .get(code)
            .map(|v| cell_text(v))
            .unwrap_or_default()
    }

    fn column(&self, code: &'static str, kind: ImportKind) -> String {
        self.headers.get(code).cloned().unwrap_or_else(|| {
            columns(kind)
                .iter()
                .find(|c| c.code == code)
                .map_or(code, |c| c.label)
                .to_owned()
        })
    }

    fn note(&mut self, kind: ImportKind, code: &'static str, rule: &str, error: bool, m: String) {
        let column = self.column(code, kind);
        push(
            &mut self.issues,
            Some(self.n),
            Some(&column),
            rule,
            error,
            m,
        );
    }

    fn error(&mut self, kind: ImportKind, code: &'static str, rule: &str, message: String) {
        self.note(kind, code, rule, true, message);
    }

    fn warn(&mut self, kind: ImportKind, code: &'static str, rule: &str, message: String) {
        self.note(kind, code, rule, false, message);
    }

    fn failed(&self) -> bool {
        self.issues.iter().any(|i| i.error)
    }

    /// A required text of at most `max` characters.
    fn name(&mut self, kind: ImportKind, code: &'static str, max: usize) -> Option<String> {
        let t = self.text(code);
        let label = self.column(code, kind);
        if t.is_empty() {
            self.error(kind, code, "REQUIRED", format!("“{label}”不能为空"));
            return None;
        }
        let n = t.chars().count();
        if n > max {
            self.error(
                kind,
                code,
                "TOO-LONG",
                format!("“{label}”不能超过{max}字，当前{n}字"),
            );
            return None;
        }
        Some(t)
    }

    /// A 6-digit region code on the shipped list (`None` when empty or wrong).
    fn region(&mut self, kind: ImportKind, required: bool, why: &str) -> Option<String> {
        let t: String = self
            .text("region")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let label = self.column("region", kind);
        if t.is_empty() {
            if required {
                self.error(
                    kind,
                    "region",
                    "REQUIRED",
                    format!("“{label}”不能为空{why}"),
                );
            }
            return None;
        }
        if t.len() != 6 || !t.chars().all(|c| c.is_ascii_digit()) {
            self.error(
                kind,
                "region",
                "REGION",
                format!("“{t}”不是6位行政区划代码（GB/T 2260），如 110105"),
            );
            return None;
        }
        if !divisions::codes().contains(&t) {
            self.error(
                kind,
                "region",
                "REGION",
                format!("行政区划代码“{t}”不存在（按 GB/T 2260 现行代码）"),
            );
            return None;
        }
        Some(t)
    }

    /// Warn when a region lies outside the province of the node it goes under.
    fn region_within(&mut self, kind: ImportKind, region: &str, parent: Option<(&str, &str)>) {
        if let Some((name, code)) = parent
            && code.len() >= 2
            && region.get(..2) != code.get(..2)
        {
            self.warn(
                kind,
                "region",
                "REGION-OUTSIDE",
                format!("行政区划“{region}”不在“{name}”所在的省（区、市）内，请核对"),
            );
        }
    }
}

/// The header's columns mapped, or the file-level findings that stop the import.
struct Header {
    columns: HashMap<&'static str, usize>,
    /// Columns of 附件3 beyond the roster's own (organisation rosters only), by field.
    a3: Vec<(usize, &'static Field)>,
    headers: HashMap<&'static str, String>,
    issues: Vec<Issue>,
}

fn map_header(kind: ImportKind, rows: &[(u32, Vec<Value>)], at: usize) -> Header {
    let (header_row, cells) = &rows[at];
    let mut out = Header {
        columns: HashMap::new(),
        a3: Vec::new(),
        headers: HashMap::new(),
        issues: Vec::new(),
    };
    for (i, cell) in cells.iter().enumerate() {
        let text = cell_text(cell);
        let h = header_key(Catalogue::get(), &text);
        if h.is_empty() {
            continue;
        }
        let letter = sheet::column_name(u32::try_from(i).unwrap_or(0));
        match columns(kind).iter().find(|c| matches(c, &h)) {
            Some(c) if out.columns.contains_key(c.code) => {
                column_twice(&mut out.issues, *header_row, &text, &letter);
            }
            Some(c) => {
                out.columns.insert(c.code, i);
                out.headers.insert(c.code, text);
            }
            None if kind == ImportKind::Orgs && a3_field(&h).is_some() => {
                let Some(f) = a3_field(&h) else { continue };
                if out.a3.iter().any(|(_, g)| g.code == f.code) {
                    column_twice(&mut out.issues, *header_row, &text, &letter);
                } else {
                    out.a3.push((i, f));
                    out.headers.insert(f.code.as_str(), text);
                }
            }
            None if kind == ImportKind::Orgs && h == header_key(Catalogue::get(), SECRETARY_ID) => {
                push(
                    &mut out.issues,
                    Some(*header_row),
                    Some(&text),
                    "A3-NOT-KEPT",
                    false,
                    format!(
                        "第{letter}列“{text}”未导入：附件3不保存书记的公民身份号码，书记本人的公民身份号码在其党员登记表中填写"
                    ),
                );
            }
            None => push(
                &mut out.issues,
                Some(*header_row),
                Some(&text),
                "COLUMN-EXTRA",
                false,
                format!("第{letter}列“{text}”不是{}的栏目，已忽略", kind.label()),
            ),
        }
    }
    for c in columns(kind) {
        if c.required && !out.columns.contains_key(c.code) {
            push(
                &mut out.issues,
                None,
                Some(c.label),
                "COLUMN-MISSING",
                true,
                format!(
                    "缺少栏目“{}”（可能被改名或删除）：该栏目必须有，请使用系统模板的表头",
                    c.label
                ),
            );
        }
    }
    out
}

/// The firm's credit codes a cell names, split at the usual separators.
fn split_codes(t: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in t.split(['、', ',', '，', ';', '；', '\n', ' ', '\u{3000}', '/']) {
        let p = part.trim().to_ascii_uppercase();
        if !p.is_empty() && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// A date cell as `YYYY-MM-DD`, `Err` with what it holds when it is not a date.
fn date_cell(v: &Value) -> Result<String, String> {
    let text = match v {
        Value::Number(f) => match serial_date(*f) {
            Some(d) => return Ok(d.to_string()),
            None => cell_text(v),
        },
        _ => date_text(&cell_text(v)),
    };
    match crate::forms::rules::parse_date(&text) {
        Some(d) => Ok(d.to_string()),
        None => Err(text),
    }
}

/// What the check found: the report and the rows to store.
struct Checked {
    report: Report,
    plans: Vec<(u32, Plan)>,
    /// Rows found wrong after their plan was made (their plans are not stored).
    skip: HashSet<u32>,
}

impl Checked {
    fn file(report: Report) -> Self {
        Self {
            report,
            plans: Vec::new(),
            skip: HashSet::new(),
        }
    }
}

/// Check a whole registry file against the database seen through `conn` (inside the import's
/// transaction when importing).
async fn check(
    conn: &mut sqlx::AnyConnection,
    org: &Org,
    bytes: &[u8],
    kind: ImportKind,
    progress: &Progress<'_>,
) -> ServiceResult<Checked> {
    progress(Stage::Reading, 0);
    let owned = bytes.to_vec();
    let read = tokio::task::spawn_blocking(move || sheet::read(&owned))
        .await
        .map_err(|_| {
            ServiceError::Conflict(Refusal::Unreadable(sheet::SheetError::Corrupt.to_string()))
        })?;
    let sheet = match read {
        Ok(s) => s,
        Err(e) => return Ok(Checked::file(Report::file(file_rule(&e), e.to_string()))),
    };
    if org.level == OrgLevel::Firm {
        let what = if kind == ImportKind::Firms {
            "律师事务所名册须导入到地市级或以上的党组织"
        } else {
            "律所党组织之下不再设党组织：党组织名册须导入到地市级或以上的党组织"
        };
        return Ok(Checked::file(Report::file(
            "INTO-LEVEL",
            format!("{what}（“{}”是律所党组织）", org.name),
        )));
    }
    if sheet.rows.is_empty() {
        return Ok(Checked::file(Report::file(
            "FILE-EMPTY",
            "工作表是空的：第一个工作表中没有任何内容",
        )));
    }
    let Some(at) = header_for(kind, &sheet.rows) else {
        return Ok(Checked::file(Report::file(
            "HEADER-NOT-FOUND",
            format!(
                "找不到表头：前10行中没有{}模板的栏目名称（如“{}”“{}”）；请使用系统下载的模板，表头放在数据的上一行",
                kind.label(),
                columns(kind)[0].label,
                columns(kind)[1].label
            ),
        )));
    };
    // Above a city, a firm's city is the one its 行政区划 lies in, unless a column names it.
    let mut header = map_header(kind, &sheet.rows, at);
    let header_row = sheet.rows[at].0;
    // 附件3 drafts belong to the open campaign; without one the columns are read but not kept.
    if !header.a3.is_empty()
        && crate::store::campaigns::latest(conn)
            .await?
            .is_none_or(|c| c.closed_at.is_some())
    {
        push(
            &mut header.issues,
            Some(header_row),
            None,
            "A3-NO-CAMPAIGN",
            false,
            "尚未建立登记核查工作（或已结束）：附件3各栏（如“是否设支部委员会”）不导入，党组织本身照常导入",
        );
        header.a3.clear();
    }
    let mut report = Report {
        kind: Some(kind),
        header_row: Some(header_row),
        ..Report::default()
    };
    if header.issues.iter().any(|i| i.error) {
        report.file_error = true;
        report.issues = header.issues;
        return Ok(Checked::file(report));
    }
    let mut merged_rows: HashMap<u32, String> = HashMap::new();
    for m in &sheet.merged {
        for r in m.first_row.max(header_row + 1)..=m.last_row {
            merged_rows.entry(r).or_insert_with(|| m.name());
        }
    }
    let data: Vec<Row<'_>> = sheet.rows[at + 1..]
        .iter()
        // Rows with nothing in the template's columns, and the 合计 line of our own exports.
        .filter(|(_, cells)| {
            header
                .columns
                .values()
                .chain(header.a3.iter().map(|(i, _)| i))
                .any(|i| cells.get(*i).is_some_and(|c| !c.is_empty()))
                && !cells
                    .iter()
                    .find(|c| !c.is_empty())
                    .is_some_and(|c| cell_text(c).starts_with("合计"))
        })
        .map(|(n, cells)| Row {
            n: *n,
            cells: header
                .columns
                .iter()
                .filter_map(|(code, i)| cells.get(*i).map(|v| (*code, v)))
                .collect(),
            a3: header
                .a3
                .iter()
                .filter_map(|(i, f)| cells.get(*i).filter(|v| !v.is_empty()).map(|v| (*f, v)))
                .collect(),
            headers: &header.headers,
            issues: Vec::new(),
            matched: false,
        })
        .collect();
    progress(Stage::Checking, 0);

    // Every credit code the file names, looked up nationwide at once.
    let code_cells: Vec<String> = data
        .iter()
        .flat_map(|r| match kind {
            ImportKind::Orgs => split_codes(&r.text("firms")),
            _ => vec![r.text("credit_code").to_ascii_uppercase()],
        })
        .filter(|c| !c.is_empty())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let known: HashMap<String, KnownFirm> = firm_store::firms_by_codes(conn, &code_cells)
        .await?
        .into_iter()
        .map(|f| (f.credit_code.clone(), f))
        .collect();

    let (mut rows, plans) = match kind {
        ImportKind::Orgs => check_orgs(conn, org, data, &known).await?,
        _ => check_firms(conn, org, data, &known).await?,
    };
    for r in &mut rows {
        if let Some(range) = merged_rows.get(&r.n) {
            r.issues.push(Issue {
                row: Some(r.n),
                column: None,
                rule: "MERGED-CELLS".into(),
                error: true,
                message: format!(
                    "本行有合并单元格（{range}），无法逐行读取：请取消合并后填写每一行"
                ),
            });
        }
    }
    let bad: HashSet<u32> = rows.iter().filter(|r| r.failed()).map(|r| r.n).collect();
    // Rows already on record are neither imported nor wrong: not counted as rows to import.
    report.rows = rows.iter().filter(|r| !r.matched || r.failed()).count();
    let mut issues = header.issues;
    for r in rows {
        issues.extend(r.issues);
    }
    report.invalid = bad.len();
    report.valid = report.rows - report.invalid;
    report.issues = issues;
    report.count_rules();
    report.built_parents = plans.iter().filter(|(n, _)| *n == 0).count();
    progress(Stage::Checking, report.rows as u64);
    // The plans keep their places (a row's parent is found by its index); wrong rows' plans
    // are skipped when storing.
    Ok(Checked {
        report,
        plans,
        skip: bad,
    })
}

impl crate::service::import::ImportService<'_> {
    /// The dry run of a firm registry or organisation roster.
    pub(crate) async fn registry_check(
        &self,
        org: &Org,
        bytes: &[u8],
        kind: ImportKind,
        progress: &Progress<'_>,
    ) -> ServiceResult<Report> {
        let mut conn = self.db.acquire().await?;
        Ok(check(&mut conn, org, bytes, kind, progress).await?.report)
    }

    /// Check a firm registry or organisation roster again inside one transaction and store it
    /// in `mode` as a recorded batch, with its audit event.
    pub(crate) async fn registry_run(
        &self,
        caller: Caller<'_>,
        org: &Org,
        request: ImportRequest<'_>,
        kind: ImportKind,
        progress: &Progress<'_>,
    ) -> ServiceResult<Imported> {
        let by_name = caller.display_name();
        let sha256 = sha256_hex(request.bytes);
        let mut tx = self.db.begin().await?;
        // The batch first: on SQLite this takes the write lock, so what the check reads stays
        // true until the commit.
        let batch = new_batch(
            caller,
            org,
            (request.file_name, request.mode),
            &sha256,
            &by_name,
            Some(kind),
        );
        let batch_id = imports::insert_batch(&mut tx, &batch).await?;
        let Checked {
            report,
            plans,
            skip,
        } = check(&mut tx, org, request.bytes, kind, progress).await?;
        let total = report.rows;
        if !report.importable(request.mode) {
            // Rolled back: nothing of the batch is kept.
            return Ok(Imported {
                batch_id: None,
                imported: 0,
                skipped: total,
                report,
            });
        }
        progress(Stage::Writing, 0);
        let imported = plans.iter().filter(|(n, _)| !skip.contains(n)).count();
        let mut placed = 0usize;
        let mut drafts = 0usize;
        let campaign = crate::store::campaigns::latest(&mut tx)
            .await?
            .filter(|c| c.closed_at.is_none());
        let mut made: HashMap<usize, (OrgId, TreePath)> = HashMap::new();
        let mut new_firms: Vec<NewFirm> = Vec::new();
        for (index, (n, plan)) in plans.into_iter().enumerate() {
            if skip.contains(&n) {
                continue;
            }
            match plan {
                Plan::Firm(f) => new_firms.push(f),
                Plan::Org { org: o, firms } => {
                    let parent = match o.parent {
                        Parent::Existing(id, path) => (id, path),
                        Parent::Planned(i) => made.get(&i).cloned().ok_or_else(|| {
                            ServiceError::Conflict(Refusal::Raced(
                                "上级党组织未能建立，未导入任何数据".into(),
                            ))
                        })?,
                    };
                    let (id, path) = org_store::insert(
                        &mut tx,
                        &org_store::NewOrg {
                            parent: Some(parent),
                            level: o.level,
                            kind: o.kind,
                            name: o.name,
                            region_code: o.region_code,
                            secretary_name: o.secretary_name,
                            contact_phone: o.contact_phone,
                            formed_on: o.formed_on,
                            import_batch_id: Some(batch_id),
                        },
                    )
                    .await?;
                    let n = firm_store::place_firms(&mut tx, &firms, (id, &path), batch_id).await?;
                    // Another change since the check (PostgreSQL runs them side by side).
                    if usize::try_from(n).ok() != Some(firms.len()) {
                        return Err(ServiceError::Conflict(
                            Refusal::Raced("导入期间有律师事务所被纳入其他党组织或登记了党员，未导入任何数据：请重新预检".into()),
                        ));
                    }
                    placed += firms.len();
                    // The 附件3 draft: what the organisation is, then what the row gives.
                    if let Some(c) = campaign.as_ref().filter(|_| !o.a3.is_empty()) {
                        let made_org = org_store::get(&mut tx, id)
                            .await?
                            .ok_or(ServiceError::NotFound)?;
                        let mut values = prefill(&made_org);
                        values.extend(o.a3);
                        let data = serde_json::to_string(&values).unwrap_or_else(|_| "{}".into());
                        org_registrations::insert_imported(
                            &mut tx,
                            c.id,
                            id,
                            &data,
                            caller.user_id(),
                            batch_id,
                        )
                        .await?;
                        drafts += 1;
                    }
                    made.insert(index, (id, path));
                }
            }
        }
        match firm_store::insert_firms(&mut tx, &new_firms, batch_id).await {
            Err(crate::store::StoreError::Duplicate(_)) => {
                return Err(ServiceError::Conflict(Refusal::Raced(
                    "导入期间有律师事务所已由他人登记，未导入任何数据：请重新预检".into(),
                )));
            }
            other => other?,
        }
        finish_batch(
            &mut tx,
            caller,
            &batch,
            (batch_id, kind),
            &report,
            imported,
            serde_json::json!({"firms_placed": placed, "a3_drafts": drafts}),
        )
        .await?;
        tx.commit().await?;
        Ok(Imported {
            batch_id: Some(batch_id),
            imported,
            skipped: total - imported,
            report,
        })
    }

    /// Undo a firm or organisation batch in the caller's transaction, unless something hangs
    /// under its records; returns how many firms or organisations went.
    pub(crate) async fn registry_undo(
        tx: &mut sqlx::AnyConnection,
        batch: &imports::Batch,
        by: Option<crate::domain::UserId>,
    ) -> ServiceResult<u64> {
        let orgs = batch.kind == ImportKind::Orgs.code();
        let blocking = imports::registry_dependents(tx, batch.id, orgs).await?;
        if !blocking.is_empty() {
            let what: Vec<String> = blocking
                .iter()
                .map(|(n, what)| format!("{n} {what}"))
                .collect();
            return Err(ServiceError::Conflict(Refusal::UndoBlocked(format!(
                "该批次不能撤销：{}。撤销只适用于导入后尚未开展后续工作的批次。",
                what.join("；")
            ))));
        }
        Ok(if orgs {
            org_store::undo_orgs(tx, batch.id, by).await?
        } else {
            firm_store::undo_firms(tx, batch.id, by).await?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::firms::{covering, form_code};
    use super::orgs::{allowed_labels, kind_of};
    use super::*;

    #[test]
    fn a_firms_region_finds_the_city_level_node_covering_it() {
        let city = |id: i64, code: &str| Org {
            id: OrgId(id),
            parent_id: Some(OrgId(2)),
            path: TreePath::root(OrgId(1)),
            level: OrgLevel::City,
            kind: OrgKind::IndustryCommittee,
            name: format!("c{id}"),
            region_code: Some(code.to_owned()),
            region_name: None,
            secretary_name: None,
            contact_phone: None,
            formed_on: None,
            organiser_name: None,
            term_start: None,
            term_end: None,
            child_count: 0,
        };
        let cities = vec![city(10, "320100"), city(11, "320200"), city(12, "310101")];
        let ids = |code: &str| {
            covering(&cities, code)
                .iter()
                .map(|c| c.id.0)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids("320102"), vec![10], "a district of 南京 goes to 南京");
        assert_eq!(ids("320100"), vec![10]);
        assert_eq!(
            ids("310101"),
            vec![12],
            "a municipality's district is its own node"
        );
        assert!(ids("310104").is_empty(), "no node covers it");
        assert!(ids("330102").is_empty());
    }

    fn texts(cells: &[&str]) -> Vec<Value> {
        cells.iter().map(|c| Value::Text((*c).to_owned())).collect()
    }

    #[test]
    fn the_header_tells_firms_from_organisations_and_from_members() {
        let firms = vec![
            (1, texts(&["律师事务所名册"])),
            (
                2,
                texts(&[
                    "＊律师事务所名称",
                    "＊统一社会信用代码",
                    "＊组织形式",
                    "律师人数",
                ]),
            ),
        ];
        assert_eq!(detect(&firms), Some((1, ImportKind::Firms)));
        let orgs = vec![(1, texts(&["党组织全称", "组织类别", "上级党组织"]))];
        assert_eq!(detect(&orgs), Some((0, ImportKind::Orgs)));
        // A member sheet names the firm's code but is neither.
        let members = vec![(
            1,
            texts(&["律师事务所统一社会信用代码", "姓名", "公民身份号码", "民族"]),
        )];
        assert_eq!(detect(&members), None);
        // Without the key column it is not taken for a registry.
        let partial = vec![(1, texts(&["统一社会信用代码", "组织形式", "律师人数"]))];
        assert_eq!(detect(&partial), None);
    }

    #[test]
    fn cells_naming_firms_kinds_and_forms_are_read_the_usual_ways() {
        assert_eq!(
            split_codes(" a1、B2,b2；C3\nd4 "),
            vec!["A1", "B2", "C3", "D4"]
        );
        assert!(split_codes("  ").is_empty());
        assert_eq!(form_code("合伙所").as_deref(), Some("partnership"));
        assert_eq!(form_code("特殊的普通合伙").as_deref(), Some("partnership"));
        assert_eq!(form_code("国资").as_deref(), Some("state"));
        assert_eq!(form_code("个人所").as_deref(), Some("sole"));
        assert_eq!(form_code("合资所").as_deref(), None);
        assert_eq!(kind_of("联合党支部"), Some(OrgKind::JointBranch));
        assert_eq!(kind_of(" 党 支 部 "), Some(OrgKind::Branch));
        assert_eq!(kind_of("党小组"), None);
        assert_eq!(
            allowed_labels(OrgLevel::City),
            "律师行业党委、司法行政机关党组织"
        );
    }

    #[test]
    fn dates_come_as_excel_serials_dates_or_text() {
        assert_eq!(
            date_cell(&Value::Number(43_282.0)).as_deref(),
            Ok("2018-07-01")
        );
        assert_eq!(
            date_cell(&Value::Text("2018年7月1日".into())).as_deref(),
            Ok("2018-07-01")
        );
        assert!(date_cell(&Value::Text("去年夏天".into())).is_err());
    }
}
