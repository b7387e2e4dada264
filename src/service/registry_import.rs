//! Import of the firm registry (律师事务所名册) and of party organisations (党组织名册) from
//! .xlsx or .csv: the same dry run, modes, batches and undo as the member import, so a deployment
//! can bring in its cities, firms and firm party organisations instead of typing them.
//!
//! Firms go under a city-level node (the one imported into, or the one each row names); an
//! organisation goes under the node imported into or the parent it names (an existing node of
//! the subtree or a row above it in the file), one level below it, and a firm-level
//! organisation takes over the firms it names by credit code.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::import::{
    ImportKind, ImportRequest, Imported, Issue, Progress, Report, Stage, cell_text, convert,
    date_text, file_rule, header_key, norm, push, record_counts, serial_date, sha256_hex,
};
use super::org_registration::{org_rules, prefill};
use super::{Caller, ServiceError, ServiceResult, Services};
use crate::authz::Scope;
use crate::domain::{CreditCode, FirmId, OrgId, OrgKind, OrgLevel, TreePath};
use crate::forms::{Catalogue, Field, Kind, Severity, validate};
use crate::sheet::{self, Value};
use crate::store::audit::{self, NewEvent};
use crate::store::divisions;
use crate::store::imports::{self, NewBatch};
use crate::store::org_registrations::{self, MemberCounts};
use crate::store::orgs::{self, Org};
use crate::store::registry::{self, KnownFirm, NewFirm};

/// Rows searched for the header.
const HEADER_SEARCH_ROWS: usize = 10;
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

/// The columns of the firm registry (forms.md §3.3: firms with or without an organisation).
pub const FIRM_COLUMNS: [Col; 6] = [
    Col {
        max_len: Some(MAX_NAME),
        ..col(
            "name",
            "律师事务所名称",
            true,
            Kind::Text,
            None,
            "律师事务所全称，与执业许可证一致",
        )
    },
    Col {
        max_len: Some(18),
        ..col(
            "credit_code",
            "统一社会信用代码",
            true,
            Kind::Text,
            None,
            "18位统一社会信用代码（GB 32100），律师事务所以“31”开头；三证合一后即执业许可证号；全国唯一",
        )
    },
    col(
        "region",
        "所在行政区划",
        true,
        Kind::Region,
        None,
        "律所所在地的区县代码",
    ),
    col("form", "组织形式", true, Kind::Code, Some("firm_form"), ""),
    col(
        "lawyers",
        "律师人数",
        true,
        Kind::Int,
        None,
        "本所执业律师人数，0或正整数",
    ),
    Col {
        max_len: Some(MAX_NAME),
        ..col(
            "city",
            "所属地市级党组织",
            false,
            Kind::Text,
            None,
            "律所归哪个地市级律师行业党委（或司法行政机关党组织）管理，写该党组织在本系统中的名称；导入到地市级党组织时可不填，导入到省级或全国时必填",
        )
    },
];

/// The columns of the organisation roster.
pub const ORG_COLUMNS: [Col; 8] = [
    Col {
        max_len: Some(MAX_NAME),
        ..col(
            "name",
            "党组织全称",
            true,
            Kind::Text,
            None,
            "如“中共××律师事务所支部委员会”；同一上级党组织下不能重名",
        )
    },
    col(
        "kind",
        "组织类别",
        true,
        Kind::Code,
        Some("org_kind"),
        "地市级：律师行业党委或司法行政机关党组织；律所党组织：党委、党总支、党支部或联合党支部",
    ),
    Col {
        max_len: Some(MAX_NAME),
        ..col(
            "parent",
            "上级党组织",
            false,
            Kind::Text,
            None,
            "不填即为导入到的党组织本身；也可写本辖区已有党组织的全称，或本文件中前面某行党组织的全称（如先建地市级党委，再在其下建律所党组织）",
        )
    },
    col(
        "region",
        "所在行政区划",
        false,
        Kind::Region,
        None,
        "省级、地市级党组织必填；律所党组织可不填",
    ),
    Col {
        ..col(
            "firms",
            "所在律师事务所统一社会信用代码",
            false,
            Kind::Text,
            None,
            "律所党组织必填：所在律所的统一社会信用代码；联合党支部写两个及以上，用顿号或逗号分隔；律所须已在本系统登记（先导入律师事务所名册）且尚未建立党组织、尚无党员登记",
        )
    },
    Col {
        max_len: Some(20),
        ..col("secretary", "书记姓名", false, Kind::Text, None, "")
    },
    Col {
        max_len: Some(20),
        ..col(
            "phone",
            "联系电话",
            false,
            Kind::Text,
            None,
            "手机或带区号的固定电话",
        )
    },
    Col {
        ..col("formed_on", "成立日期", false, Kind::Date, None, "")
    },
];

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

/// Whether the first rows hold the header of a firm registry or an organisation roster:
/// the row and the kind.
pub(crate) fn detect(rows: &[(u32, Vec<Value>)]) -> Option<(usize, ImportKind)> {
    rows.iter()
        .take(HEADER_SEARCH_ROWS)
        .enumerate()
        .flat_map(|(i, (_, cells))| {
            [ImportKind::Firms, ImportKind::Orgs]
                .into_iter()
                .map(move |k| (i, k, hits(k, cells)))
        })
        .filter(|(_, _, (n, key))| *n >= 3 && *key)
        .max_by_key(|(i, _, (n, _))| (*n, usize::MAX - i))
        .map(|(i, k, _)| (i, k))
}

/// The header row for a kind the user chose.
fn header_for(kind: ImportKind, rows: &[(u32, Vec<Value>)]) -> Option<usize> {
    rows.iter()
        .take(HEADER_SEARCH_ROWS)
        .enumerate()
        .map(|(i, (_, cells))| (i, hits(kind, cells)))
        .filter(|(_, (n, key))| *n >= 2 && *key)
        .max_by_key(|(i, (n, _))| (*n, usize::MAX - i))
        .map(|(i, _)| i)
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

/// 附件3 fields the roster's own columns already carry (name, kind, region, secretary, phone,
/// date formed): the draft takes them from the organisation itself.
const A3_FROM_ROSTER: [&str; 6] = [
    "org_full_name",
    "org_kind",
    "org_region",
    "secretary_name",
    "contact_phone",
    "formed_on",
];

/// A column people keep in organisation rosters that 附件3 does not store (the secretary's ID
/// number belongs in the secretary's own member form).
const SECRETARY_ID: &str = "书记公民身份号码";

/// The 附件3 field a roster header names, beyond the roster's own columns.
fn a3_field(h: &str) -> Option<&'static Field> {
    let catalogue = Catalogue::get();
    let form = catalogue.form("A3")?;
    catalogue
        .fields_of(form)
        .filter(|f| !A3_FROM_ROSTER.contains(&f.code.as_str()))
        .find(|f| header_key(catalogue, &f.label) == h)
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
            Some(c) if out.columns.contains_key(c.code) => push(
                &mut out.issues,
                Some(*header_row),
                Some(&text),
                "COLUMN-TWICE",
                true,
                format!("栏目“{text}”出现了两次（第{letter}列）"),
            ),
            Some(c) => {
                out.columns.insert(c.code, i);
                out.headers.insert(c.code, text);
            }
            None if kind == ImportKind::Orgs && a3_field(&h).is_some() => {
                let Some(f) = a3_field(&h) else { continue };
                if out.a3.iter().any(|(_, g)| g.code == f.code) {
                    push(
                        &mut out.issues,
                        Some(*header_row),
                        Some(&text),
                        "COLUMN-TWICE",
                        true,
                        format!("栏目“{text}”出现了两次（第{letter}列）"),
                    );
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

/// The code of a 组织形式 as typed: a code, label, short form or alias of the list
/// (`forms/codes.toml`), with or without 律师事务所 after it.
fn form_code(t: &str) -> Option<String> {
    let t = norm(t);
    let list = Catalogue::get().list("firm_form")?;
    list.resolve(&t)
        .or_else(|_| list.resolve(t.trim_end_matches("律师事务所")))
        .ok()
        .map(str::to_owned)
}

/// The city-level nodes whose region covers a county-level `code`: the district itself (a
/// municipality's districts are city-level here), else its prefecture (`xxxx00`).
fn covering<'o>(cities: &'o [Org], code: &str) -> Vec<&'o Org> {
    let exact: Vec<&Org> = cities
        .iter()
        .filter(|c| c.region_code.as_deref() == Some(code))
        .collect();
    if !exact.is_empty() || code.len() != 6 {
        return exact;
    }
    let prefecture = format!("{}00", &code[..4]);
    cities
        .iter()
        .filter(|c| c.region_code.as_deref() == Some(prefecture.as_str()))
        .collect()
}

/// The kind an organisation's 组织类别 names, as people write it (党支部, 支部, 联合支部 …).
fn kind_of(t: &str) -> Option<OrgKind> {
    let code = Catalogue::get().list("org_kind")?.resolve(&norm(t)).ok()?;
    OrgKind::ALL.into_iter().find(|k| k.code() == code)
}

fn allowed_labels(level: OrgLevel) -> String {
    OrgKind::ALL
        .into_iter()
        .filter(|k| k.allowed_at(level))
        .map(OrgKind::label)
        .collect::<Vec<_>>()
        .join("、")
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
        .map_err(|_| ServiceError::Conflict(sheet::SheetError::Corrupt.to_string()))?;
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
    let known: HashMap<String, KnownFirm> = registry::firms_by_codes(conn, &code_cells)
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

async fn check_firms<'a>(
    conn: &mut sqlx::AnyConnection,
    org: &Org,
    mut data: Vec<Row<'a>>,
    known: &HashMap<String, KnownFirm>,
) -> ServiceResult<(Vec<Row<'a>>, Vec<(u32, Plan)>)> {
    const K: ImportKind = ImportKind::Firms;
    let cities: Vec<Org> = if org.level == OrgLevel::City {
        vec![org.clone()]
    } else {
        registry::orgs_at_level(conn, &Scope::Subtree(org.path.clone()), OrgLevel::City).await?
    };
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut plans = Vec::new();
    for r in &mut data {
        let name = r.name(K, "name", MAX_NAME);
        // The credit code: valid, once in the file, not yet on record anywhere.
        let raw = r.text("credit_code");
        let code = match CreditCode::parse_law_firm(&raw) {
            Ok(c) => Some(c.as_str().to_owned()),
            Err(e) => {
                r.error(K, "credit_code", "CREDIT-CODE", e.to_string());
                None
            }
        };
        if let Some(c) = &code {
            if let Some(first) = seen.get(c) {
                r.error(
                    K,
                    "credit_code",
                    "DUP-IN-FILE",
                    format!("与第{first}行的统一社会信用代码相同：同一律师事务所只登记一次"),
                );
            } else {
                seen.insert(c.clone(), r.n);
            }
            if let Some(f) = known.get(c) {
                if org.path.contains(&f.scope_path) {
                    r.error(
                        K,
                        "credit_code",
                        "FIRM-EXISTS",
                        format!("该律师事务所已登记：{}（{}）", f.name, f.city_name),
                    );
                } else {
                    r.error(
                        K,
                        "credit_code",
                        "FIRM-ELSEWHERE",
                        "该律师事务所已在系统中登记（不在您的管辖范围内），不能重复登记；如有疑问请与上级党组织核实".into(),
                    );
                }
            }
        }
        // The city-level node it goes under: the one imported into, the one the row names, or
        // the one whose region covers the firm's (GB/T 2260: the prefecture, or the district
        // of a municipality).
        let region = r.region(K, true, "");
        let city_text = r.text("city");
        let city: Option<&Org> = if org.level == OrgLevel::City {
            if !city_text.is_empty() && norm(&city_text) != norm(&org.name) {
                r.error(
                    K,
                    "city",
                    "CITY-NOT-HERE",
                    format!(
                        "导入到“{}”时，律师事务所只能登记在本单位之下（本行写的是“{city_text}”）",
                        org.name
                    ),
                );
                None
            } else {
                Some(org)
            }
        } else if city_text.is_empty() {
            match region.as_deref().map(|code| covering(&cities, code)) {
                // The region is missing or wrong: said once, by the region's own check.
                None => None,
                Some(found) => match found.as_slice() {
                    [one] => Some(*one),
                    [] => {
                        r.error(
                            K,
                            "city",
                            "CITY-NOT-FOUND",
                            format!(
                                "“{}”之下没有覆盖行政区划 {} 的地市级党组织：请先建立该地市级党组织（党组织名册或“建立地市级党组织”），或在“所属地市级党组织”栏写明",
                                org.name,
                                region.as_deref().unwrap_or_default()
                            ),
                        );
                        None
                    }
                    many => {
                        r.error(
                            K,
                            "city",
                            "CITY-AMBIGUOUS",
                            format!(
                                "行政区划 {} 有{}个地市级党组织（{}）：请在“所属地市级党组织”栏写明是哪一个",
                                region.as_deref().unwrap_or_default(),
                                many.len(),
                                many.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join("、")
                            ),
                        );
                        None
                    }
                },
            }
        } else {
            let found: Vec<&Org> = cities
                .iter()
                .filter(|c| norm(&c.name) == norm(&city_text))
                .collect();
            match found.as_slice() {
                [one] => Some(*one),
                [] => {
                    r.error(
                        K,
                        "city",
                        "CITY-NOT-FOUND",
                        format!("“{}”之下没有名为“{city_text}”的地市级党组织", org.name),
                    );
                    None
                }
                _ => {
                    r.error(
                        K,
                        "city",
                        "CITY-AMBIGUOUS",
                        format!(
                            "“{}”之下有{}个名为“{city_text}”的地市级党组织，无法确定",
                            org.name,
                            found.len()
                        ),
                    );
                    None
                }
            }
        };
        if let (Some(region), Some(city)) = (&region, city) {
            r.region_within(
                K,
                region,
                city.region_code.as_deref().map(|c| (city.name.as_str(), c)),
            );
        }
        let form_text = r.text("form");
        let form = if form_text.is_empty() {
            r.error(K, "form", "REQUIRED", "“组织形式”不能为空".into());
            None
        } else {
            let f = form_code(&form_text);
            if f.is_none() {
                r.error(
                    K,
                    "form",
                    "CODE",
                    format!("“{form_text}”不是可选的组织形式：合伙所、国资所、个人所"),
                );
            }
            f
        };
        let lawyers = match r.cells.get("lawyers").copied() {
            None | Some(Value::Empty) => {
                r.error(K, "lawyers", "REQUIRED", "“律师人数”不能为空".into());
                None
            }
            Some(Value::Number(f)) if f.fract() == 0.0 && (0.0..=100_000.0).contains(f) => {
                Some(*f as i64)
            }
            Some(v) => match cell_text(v).parse::<i64>() {
                Ok(n) if (0..=100_000).contains(&n) => Some(n),
                _ => {
                    r.error(
                        K,
                        "lawyers",
                        "INT",
                        format!("律师人数应为0或正整数，不是“{}”", cell_text(v)),
                    );
                    None
                }
            },
        };
        if let (Some(name), Some(code), Some(city), Some(region), Some(form), Some(lawyers)) =
            (name, code, city, region, form, lawyers)
        {
            plans.push((
                r.n,
                Plan::Firm(NewFirm {
                    name,
                    credit_code: code,
                    region_code: region,
                    city_org_id: city.id,
                    city_path: city.path.clone(),
                    form,
                    lawyer_count: lawyers,
                }),
            ));
        }
    }
    Ok((data, plans))
}

#[allow(clippy::too_many_lines)]
async fn check_orgs<'a>(
    conn: &mut sqlx::AnyConnection,
    org: &Org,
    mut data: Vec<Row<'a>>,
    known: &HashMap<String, KnownFirm>,
) -> ServiceResult<(Vec<Row<'a>>, Vec<(u32, Plan)>)> {
    const K: ImportKind = ImportKind::Orgs;
    // Every name the file uses (its organisations and their parents), looked up in the subtree.
    let names: Vec<String> = data
        .iter()
        .flat_map(|r| [r.text("name"), r.text("parent")])
        .filter(|n| !n.is_empty())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let existing = registry::orgs_named(conn, &Scope::Subtree(org.path.clone()), &names).await?;
    let mut existing_by_name: HashMap<String, Vec<&Org>> = HashMap::new();
    for o in &existing {
        existing_by_name.entry(norm(&o.name)).or_default().push(o);
    }
    let by_norm =
        |name: &str| -> &[&Org] { existing_by_name.get(&norm(name)).map_or(&[], Vec::as_slice) };
    // The last row of each name, for a parent named by a later row.
    let mut last_row_named: HashMap<String, u32> = HashMap::new();
    for r in &data {
        last_row_named.insert(norm(&r.text("name")), r.n);
    }
    let today = super::rules_date(crate::store::campaigns::latest(conn).await?.as_ref());
    // Into a province: its city-level nodes, so a missing one named by a row is built only
    // where no city-level node sits yet.
    let cities_here: Vec<Org> = if org.level.child() == Some(OrgLevel::City) {
        registry::orgs_at_level(conn, &Scope::Subtree(org.path.clone()), OrgLevel::City).await?
    } else {
        Vec::new()
    };

    // What each earlier row became: its plan index, name, level, region; or failed.
    struct Earlier {
        n: u32,
        level: Option<OrgLevel>,
        region: Option<String>,
        plan: Option<usize>,
        /// The organisation on record the row names (a matched row).
        existing: Option<(OrgId, TreePath)>,
    }
    /// What a row became, found again by its name and by its parent and name.
    fn remember(
        earlier: &mut Vec<Earlier>,
        named: &mut HashMap<String, Vec<usize>>,
        under: &mut HashMap<(String, String), usize>,
        (own_name, parent_key): (String, String),
        row: Earlier,
    ) {
        if !own_name.is_empty() {
            named
                .entry(own_name.clone())
                .or_default()
                .push(earlier.len());
            under.entry((parent_key, own_name)).or_insert(earlier.len());
        }
        earlier.push(row);
    }
    let mut earlier: Vec<Earlier> = Vec::new();
    // Earlier rows by name, and by parent and name.
    let mut earlier_named: HashMap<String, Vec<usize>> = HashMap::new();
    let mut earlier_under: HashMap<(String, String), usize> = HashMap::new();
    let mut firm_rows: HashMap<FirmId, u32> = HashMap::new();
    let mut plans: Vec<(u32, Plan)> = Vec::new();
    for r in &mut data {
        let name = r.name(K, "name", MAX_NAME);
        let parent_text = r.text("parent");
        // The parent: the node imported into, a node of the subtree, or an earlier row.
        enum Found<'o> {
            Node(&'o Org),
            Row(usize),
        }
        let parent: Option<Found<'_>> = if parent_text.is_empty()
            || norm(&parent_text) == norm(&org.name)
        {
            Some(Found::Node(org))
        } else {
            let nodes = by_norm(&parent_text);
            // Earlier rows that name one of these very nodes are the node, not a second one.
            let rows: Vec<usize> = earlier_named
                .get(&norm(&parent_text))
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .copied()
                .filter(|i| {
                    earlier[*i]
                        .existing
                        .as_ref()
                        .is_none_or(|(id, _)| !nodes.iter().any(|o| o.id == *id))
                })
                .collect();
            match (nodes, rows.as_slice()) {
                ([one], []) => Some(Found::Node(one)),
                ([], [one]) => Some(Found::Row(*one)),
                ([], []) => {
                    let mut return_row = None;
                    let later = last_row_named
                        .get(&norm(&parent_text))
                        .filter(|n| **n > r.n);
                    match later {
                        Some(n) => r.error(
                            K,
                            "parent",
                            "PARENT-LATER",
                            format!("上级党组织“{parent_text}”在本文件第{n}行，在本行之后：请把上级党组织放在其下级的前面"),
                        ),
                        None => {
                            // Into a province, a firm organisation may name a city-level
                            // committee not yet built: made from its name and the row's region.
                            let seat = missing_city(org, r, &parent_text);
                            let covered = seat.as_deref().map(|s| {
                                cities_here
                                    .iter()
                                    .filter(|c| c.region_code.as_deref() == Some(s))
                                    .map(|c| c.name.as_str())
                                    .collect::<Vec<_>>()
                            });
                            if let Some(names) = covered.as_ref().filter(|n| !n.is_empty()) {
                                r.error(
                                    K,
                                    "parent",
                                    "PARENT-NOT-FOUND",
                                    format!(
                                        "找不到上级党组织“{parent_text}”：本行行政区划所在地已有地市级党组织“{}”，请核对上级党组织的名称",
                                        names.join("”“")
                                    ),
                                );
                            } else if let Some(seat) = seat {
                                r.warn(
                                    K,
                                    "parent",
                                    "PARENT-CREATED",
                                    format!("上级党组织“{parent_text}”尚未建立：将在“{}”之下新建为地市级律师行业党委（行政区划 {seat}），本文件中以它为上级的各行都归入其下；如实为司法行政机关党组织或名称有误，请先在“建立地市级党组织”中建立后再导入", org.name),
                                );
                                let index = plans.len();
                                // Row 0: kept even when the row naming it is wrong.
                                plans.push((
                                    0,
                                    Plan::Org {
                                        org: NewOrgPlan {
                                            parent: Parent::Existing(org.id, org.path.clone()),
                                            level: OrgLevel::City,
                                            kind: OrgKind::IndustryCommittee,
                                            name: parent_text.clone(),
                                            region_code: Some(seat.clone()),
                                            secretary_name: None,
                                            contact_phone: None,
                                            formed_on: None,
                                            a3: BTreeMap::new(),
                                        },
                                        firms: Vec::new(),
                                    },
                                ));
                                let at = earlier.len();
                                remember(
                                    &mut earlier,
                                    &mut earlier_named,
                                    &mut earlier_under,
                                    (norm(&parent_text), format!("#{}", org.id)),
                                    Earlier {
                                        n: r.n,
                                        level: Some(OrgLevel::City),
                                        region: Some(seat),
                                        plan: Some(index),
                                        existing: None,
                                    },
                                );
                                return_row = Some(at);
                            } else {
                                let hint = if org.level.child() == Some(OrgLevel::City) {
                                    "；如上级是尚未建立的地市级党组织，写明本行的“所在行政区划”即可一并建立"
                                } else {
                                    ""
                                };
                                r.error(
                                    K,
                                    "parent",
                                    "PARENT-NOT-FOUND",
                                    format!("找不到上级党组织“{parent_text}”：应为“{}”之下已有党组织的全称，或本文件前面各行中的党组织{hint}", org.name),
                                );
                            }
                        }
                    }
                    return_row.map(Found::Row)
                }
                _ => {
                    r.error(
                        K,
                        "parent",
                        "PARENT-AMBIGUOUS",
                        format!("有不止一个党组织名为“{parent_text}”，无法确定上级：请写明其全称"),
                    );
                    None
                }
            }
        };
        // What the parent is: its level, name, region and where it will be.
        let (parent_ref, parent_level, parent_name, parent_region, parent_key) = match parent {
            Some(Found::Node(p)) => (
                Some(Parent::Existing(p.id, p.path.clone())),
                Some(p.level),
                p.name.clone(),
                p.region_code.clone(),
                format!("#{}", p.id),
            ),
            Some(Found::Row(i)) => {
                let e = &earlier[i];
                match (e.plan, &e.existing) {
                    (_, Some((id, path))) => (
                        Some(Parent::Existing(*id, path.clone())),
                        e.level,
                        parent_text.clone(),
                        e.region.clone(),
                        format!("#{id}"),
                    ),
                    (Some(plan), None) => (
                        Some(Parent::Planned(plan)),
                        e.level,
                        parent_text.clone(),
                        e.region.clone(),
                        format!("@{}", e.n),
                    ),
                    (None, None) => {
                        r.error(
                            K,
                            "parent",
                            "PARENT-INVALID",
                            format!(
                                "上级党组织“{parent_text}”（第{}行）有错误，本行随之不能导入",
                                e.n
                            ),
                        );
                        (None, None, parent_text.clone(), None, String::new())
                    }
                }
            }
            None => (None, None, parent_text.clone(), None, String::new()),
        };
        let level = match parent_level {
            Some(l) => match l.child() {
                Some(c) => Some(c),
                None => {
                    r.error(
                        K,
                        "parent",
                        "PARENT-LEVEL",
                        format!("“{parent_name}”是律所党组织，其下不能再设党组织"),
                    );
                    None
                }
            },
            None => None,
        };
        // The kind, allowed at that level.
        let kind_text = r.text("kind");
        let kind = if kind_text.is_empty() {
            r.error(K, "kind", "REQUIRED", "“组织类别”不能为空".into());
            None
        } else {
            match kind_of(&kind_text) {
                None => {
                    r.error(
                        K,
                        "kind",
                        "CODE",
                        format!(
                            "“{kind_text}”不是可选的组织类别：{}",
                            OrgKind::ALL.map(OrgKind::label).join("、")
                        ),
                    );
                    None
                }
                Some(k) => match level {
                    Some(l) if !k.allowed_at(l) => {
                        r.error(
                            K,
                            "kind",
                            "ORG-KIND-LEVEL",
                            format!(
                                "“{parent_name}”之下是{}，不能设{}（可选：{}）",
                                l.label(),
                                k.label(),
                                allowed_labels(l)
                            ),
                        );
                        None
                    }
                    _ => Some(k),
                },
            }
        };
        // No second organisation of the same name under the same parent; the one on record
        // itself (same kind too) is matched and left as it is.
        if let (Some(name), Some(p)) = (&name, &parent_ref) {
            let taken = match p {
                Parent::Existing(id, _) => by_norm(name)
                    .iter()
                    .find(|o| o.parent_id == Some(*id))
                    .copied(),
                Parent::Planned(_) => None,
            };
            if let Some(o) = taken.filter(|o| Some(o.kind) == kind && !r.failed()) {
                r.matched = true;
                let a3_note = if r.a3.is_empty() {
                    ""
                } else {
                    "；本行的附件3各栏也不导入，请在该党组织的附件3中填写"
                };
                r.warn(
                    K,
                    "name",
                    "ORG-EXISTS",
                    format!("“{name}”已在系统中（“{parent_name}”之下），本行不再导入{a3_note}"),
                );
                remember(
                    &mut earlier,
                    &mut earlier_named,
                    &mut earlier_under,
                    (norm(name), parent_key),
                    Earlier {
                        n: r.n,
                        level: Some(o.level),
                        region: o.region_code.clone(),
                        plan: None,
                        existing: Some((o.id, o.path.clone())),
                    },
                );
                continue;
            }
            if taken.is_some() {
                r.error(
                    K,
                    "name",
                    "ORG-EXISTS",
                    format!("“{parent_name}”之下已有名为“{name}”的党组织"),
                );
            } else if let Some(e) = earlier_under
                .get(&(parent_key.clone(), norm(name)))
                .map(|i| &earlier[*i])
            {
                r.error(
                    K,
                    "name",
                    "DUP-IN-FILE",
                    format!(
                        "与第{}行重复：同一上级党组织下已有名为“{name}”的党组织",
                        e.n
                    ),
                );
            }
        }
        // The region: needed to place provincial and city-level organisations.
        let region_needed = matches!(level, Some(OrgLevel::Province | OrgLevel::City));
        let region = r.region(K, region_needed, "：省级、地市级党组织须写明所在行政区划");
        if let Some(region) = &region {
            r.region_within(
                K,
                region,
                parent_region.as_deref().map(|c| (parent_name.as_str(), c)),
            );
        }
        // The firms a firm-level organisation covers.
        let codes = split_codes(&r.text("firms"));
        let mut firms: Vec<FirmId> = Vec::new();
        match level {
            Some(OrgLevel::Firm) => {
                if codes.is_empty() {
                    r.error(
                        K,
                        "firms",
                        "REQUIRED",
                        "律所党组织须写明所在律师事务所的统一社会信用代码".into(),
                    );
                }
                for c in &codes {
                    if let Err(e) = CreditCode::parse_law_firm(c) {
                        r.error(K, "firms", "CREDIT-CODE", format!("“{c}”：{e}"));
                        continue;
                    }
                    let Some(f) = known.get(c).filter(|f| org.path.contains(&f.scope_path)) else {
                        if known.contains_key(c) {
                            r.error(
                                K,
                                "firms",
                                "FIRM-OUTSIDE",
                                format!("统一社会信用代码为“{c}”的律师事务所不在您的管辖范围内"),
                            );
                        } else {
                            r.error(
                                K,
                                "firms",
                                "FIRM-NOT-FOUND",
                                format!("系统中没有统一社会信用代码为“{c}”的律师事务所：请先导入律师事务所名册"),
                            );
                        }
                        continue;
                    };
                    if let Some(Parent::Existing(city, _)) = &parent_ref
                        && f.city_org_id != *city
                    {
                        r.error(
                            K,
                            "firms",
                            "FIRM-OTHER-CITY",
                            format!(
                                "“{}”登记在“{}”之下，不属于“{parent_name}”",
                                f.name, f.city_name
                            ),
                        );
                    } else if let Some(Parent::Planned(_)) = &parent_ref {
                        r.error(
                            K,
                            "firms",
                            "FIRM-OTHER-CITY",
                            format!(
                                "“{}”登记在“{}”之下，不属于本文件新建的“{parent_name}”",
                                f.name, f.city_name
                            ),
                        );
                    }
                    if let Some(o) = &f.org_name {
                        r.error(
                            K,
                            "firms",
                            "FIRM-HAS-ORG",
                            format!(
                                "“{}”已纳入党组织“{o}”：一个律所只属于一个律所党组织",
                                f.name
                            ),
                        );
                    } else if f.member_count > 0 {
                        r.error(
                            K,
                            "firms",
                            "FIRM-HAS-MEMBERS",
                            format!(
                                "“{}”已有{}名党员登记在“{}”之下：导入不转移已登记的党员，请在系统中调整后再建立该律所党组织",
                                f.name, f.member_count, f.city_name
                            ),
                        );
                    }
                    if let Some(first) = firm_rows.get(&f.id) {
                        r.error(
                            K,
                            "firms",
                            "FIRM-TWICE",
                            format!("“{}”已在第{first}行纳入另一个党组织", f.name),
                        );
                    } else {
                        firm_rows.insert(f.id, r.n);
                    }
                    firms.push(f.id);
                }
                match kind {
                    Some(OrgKind::JointBranch) if codes.len() < 2 => r.error(
                        K,
                        "firms",
                        "JOINT-FIRMS",
                        "联合党支部应由两个及以上律师事务所联合组建：请写明各律所的统一社会信用代码"
                            .into(),
                    ),
                    Some(OrgKind::JointBranch) if codes.len() > JOINT_MAX => r.warn(
                        K,
                        "firms",
                        "JOINT-MANY",
                        format!("联合党支部覆盖{}个律所，超过一般不宜超过的{JOINT_MAX}个", codes.len()),
                    ),
                    Some(k) if k != OrgKind::JointBranch && codes.len() > 1 => r.error(
                        K,
                        "firms",
                        "ORG-FIRMS",
                        format!("{}只能建在一个律师事务所：覆盖多个律所的请选“联合党支部”", k.label()),
                    ),
                    _ => {}
                }
            }
            Some(_) if !codes.is_empty() => r.error(
                K,
                "firms",
                "ORG-FIRMS-LEVEL",
                "只有律所党组织填写所在律师事务所：本行是地市级及以上的党组织".into(),
            ),
            _ => {}
        }
        // Optional particulars.
        let secretary = r.text("secretary");
        if secretary.chars().count() > 20 {
            r.error(K, "secretary", "TOO-LONG", "书记姓名不能超过20字".into());
        }
        let phone = r.text("phone");
        if phone.chars().count() > 20
            || !phone.chars().all(|c| {
                c.is_ascii_digit() || matches!(c, '-' | ' ' | '+' | '(' | ')' | '（' | '）')
            })
        {
            r.error(
                K,
                "phone",
                "PHONE",
                format!(
                    "联系电话“{phone}”应为手机号或带区号的固定电话（只含数字和“-”，不超过20位）"
                ),
            );
        }
        let formed_on = match r.cells.get("formed_on").copied() {
            None => None,
            Some(v) if v.is_empty() => None,
            Some(v) => match date_cell(v) {
                Ok(d) if crate::forms::rules::parse_date(&d).is_some_and(|d| d > today) => {
                    r.error(
                        K,
                        "formed_on",
                        "DATE-FUTURE",
                        format!("成立日期 {d} 晚于判断日 {today}（本次登记核查按此日期判断）"),
                    );
                    None
                }
                Ok(d) => Some(d),
                Err(t) => {
                    r.error(
                        K,
                        "formed_on",
                        "DATE",
                        format!("成立日期“{t}”不是日期：请写成 2018-07-31"),
                    );
                    None
                }
            },
        };
        let a3 = a3_values(r, kind, today);
        let ok = !r.failed();
        let mut plan_index = None;
        if ok
            && let (Some(name), Some(kind), Some(level), Some(parent)) =
                (name.clone(), kind, level, parent_ref)
        {
            plan_index = Some(plans.len());
            plans.push((
                r.n,
                Plan::Org {
                    org: NewOrgPlan {
                        parent,
                        level,
                        kind,
                        name,
                        region_code: region.clone(),
                        secretary_name: (!secretary.is_empty()).then_some(secretary),
                        contact_phone: (!phone.is_empty()).then_some(phone),
                        formed_on,
                        a3,
                    },
                    firms,
                },
            ));
        }
        remember(
            &mut earlier,
            &mut earlier_named,
            &mut earlier_under,
            (name.as_deref().map(norm).unwrap_or_default(), parent_key),
            Earlier {
                n: r.n,
                level,
                region: region.or(parent_region),
                plan: plan_index,
                existing: None,
            },
        );
    }
    Ok((data, plans))
}

/// The seat (region code) of a city-level committee a firm organisation's row names as its
/// parent when it is not on record: imported into a province, the row a firm organisation's,
/// its region valid; the prefecture of that region (a municipality's district itself).
fn missing_city(into: &Org, r: &Row<'_>, name: &str) -> Option<String> {
    if into.level.child() != Some(OrgLevel::City) || name.chars().count() > MAX_NAME {
        return None;
    }
    if !kind_of(&r.text("kind")).is_some_and(|k| k.allowed_at(OrgLevel::Firm)) {
        return None;
    }
    let region: String = r
        .text("region")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let codes = divisions::codes();
    if region.len() != 6 || !codes.contains(&region) {
        return None;
    }
    let seat = if matches!(&region[..2], "11" | "12" | "31" | "50") {
        region
    } else {
        format!("{}00", &region[..4])
    };
    codes.contains(&seat).then_some(seat)
}

/// A row's 附件3 cells as the draft's values: converted as the member import converts cells
/// (dates, 是/否, short forms of codes), then judged by the form's rules on the fields the row
/// gives and by the party's organisation rules, at the campaign's date. Before the members are
/// on record the rules count the numbers the row reports (正式党员数), so a branch of 7 and no
/// committee is flagged in the dry run.
fn a3_values(
    r: &mut Row<'_>,
    kind: Option<OrgKind>,
    today: time::Date,
) -> BTreeMap<String, String> {
    const K: ImportKind = ImportKind::Orgs;
    let catalogue = Catalogue::get();
    let mut values = BTreeMap::new();
    let cells = std::mem::take(&mut r.a3);
    for (f, v) in &cells {
        match convert(catalogue, f, v) {
            Ok(Some(t)) => {
                values.insert(f.code.clone(), t);
            }
            Ok(None) => {}
            Err((rule, message)) => {
                let column = r.column(f.code.as_str(), K);
                r.error(K, f.code.as_str(), rule, format!("{column}：{message}"));
            }
        }
    }
    let (Some(kind), Some(form)) = (kind, catalogue.form("A3")) else {
        return values;
    };
    if values.is_empty() {
        return values;
    }
    let mut judged = values.clone();
    judged.insert("org_kind".into(), kind.code().to_owned());
    let findings = validate(catalogue, form, &judged, today)
        .into_iter()
        .filter(|f| values.contains_key(&f.field))
        .chain(org_rules(
            kind,
            &values,
            &MemberCounts::default(),
            &[],
            today,
        ));
    for f in findings {
        let code = cells
            .iter()
            .map(|(field, _)| field.code.as_str())
            .find(|c| *c == f.field)
            .unwrap_or("name");
        r.note(K, code, f.rule, f.severity == Severity::Error, f.message);
    }
    values
}

impl Services {
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
        let batch_id = imports::insert_batch(
            &mut tx,
            &NewBatch {
                kind: kind.code(),
                org_id: org.id,
                org_path: &org.path,
                file_name: request.file_name,
                file_sha256: &sha256,
                mode: request.mode.code(),
                rows_total: 0,
                rows_imported: 0,
                rows_skipped: 0,
                warnings: 0,
                by: caller.user_id(),
                by_name: &by_name,
            },
        )
        .await?;
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
                            ServiceError::Conflict("上级党组织未能建立，未导入任何数据".into())
                        })?,
                    };
                    let (id, path) = orgs::insert(
                        &mut tx,
                        &orgs::NewOrg {
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
                    let n = registry::place_firms(&mut tx, &firms, (id, &path), batch_id).await?;
                    // Another change since the check (PostgreSQL runs them side by side).
                    if usize::try_from(n).ok() != Some(firms.len()) {
                        return Err(ServiceError::Conflict(
                            "导入期间有律师事务所被纳入其他党组织或登记了党员，未导入任何数据：请重新预检".into(),
                        ));
                    }
                    placed += firms.len();
                    // The 附件3 draft: what the organisation is, then what the row gives.
                    if let Some(c) = campaign.as_ref().filter(|_| !o.a3.is_empty()) {
                        let made_org = orgs::get(&mut tx, id)
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
        match registry::insert_firms(&mut tx, &new_firms, batch_id).await {
            Err(crate::store::StoreError::Duplicate(_)) => {
                return Err(ServiceError::Conflict(
                    "导入期间有律师事务所已由他人登记，未导入任何数据：请重新预检".into(),
                ));
            }
            other => other?,
        }
        record_counts(&mut tx, batch_id, &report, imported).await?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: if kind == ImportKind::Orgs {
                    "import.orgs"
                } else {
                    "import.firms"
                },
                target_kind: "import_batch",
                target_id: batch_id.to_string(),
                target_path: &org.path,
                detail: serde_json::json!({
                    "file_name": request.file_name,
                    "kind": kind.code(),
                    "mode": request.mode.code(),
                    "rows": total,
                    "imported": imported,
                    "skipped": total - imported,
                    "warnings": report.warnings,
                    "firms_placed": placed,
                    "a3_drafts": drafts,
                }),
            },
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
        let blocking = registry::dependents(tx, batch.id, orgs).await?;
        if !blocking.is_empty() {
            let what: Vec<String> = blocking
                .iter()
                .map(|(n, what)| format!("{n} {what}"))
                .collect();
            return Err(ServiceError::Conflict(format!(
                "该批次不能撤销：{}。撤销只适用于导入后尚未开展后续工作的批次。",
                what.join("；")
            )));
        }
        Ok(if orgs {
            registry::undo_orgs(tx, batch.id, by).await?
        } else {
            registry::undo_firms(tx, batch.id, by).await?
        })
    }
}

#[cfg(test)]
mod tests {
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
