//! Bulk import of members (附件1 / 附件2 rows) from .xlsx or .csv: a dry run reports every error
//! and warning by row, column and rule code; the import then runs all-or-nothing or for the
//! valid rows only, as a recorded batch that can be undone while nothing depends on it.

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};

use super::{Caller, ServiceError, ServiceResult, Services, beijing_today};
use crate::authz::{Action, Scope};
use crate::domain::eligibility::{self, Facts};
use crate::domain::{CitizenId, FirmId, OrgId, TreePath};
use crate::forms::{Catalogue, Field, Form, Kind, Severity, validate};
use crate::sheet::{self, Value};
use crate::store::audit::{self, NewEvent};
use crate::store::imports::{self, Dependents, FirmRef, NewBatch};
use crate::store::members::NewMember;
use crate::store::{StoreError, campaigns, now, orgs, survey, tallies};

/// The column naming each member's firm (not a form field: it places the record).
pub const FIRM_COLUMN: &str = "律师事务所统一社会信用代码";
/// The column saying whether a row of a mixed list is a lawyer or staff (not a form field).
pub const IDENTITY_COLUMN: &str = "人员身份";
/// The member list's column of the 分类处理 case of a member whose 组织关系 is not here.
pub const CASE_COLUMN: &str = "问题类别";
/// The member list's column of why the 组织关系 is not here.
pub const REASON_COLUMN: &str = "未转入原因";
/// How long an uploaded file waits for the user's decision after the dry run.
pub const UPLOAD_HOURS: i64 = 24;
/// Rows searched for the header.
const HEADER_SEARCH_ROWS: usize = 10;

/// Fields a member record cannot do without: a row missing one is not imported. The form's
/// other required fields may follow later (the member completes the draft).
const CORE: [&str; 7] = [
    "name",
    "citizen_id",
    "ethnicity",
    "education",
    "party_status",
    "joined_on",
    "mobile",
];
const CORE_LAWYER: [&str; 2] = ["licence_no", "practice_type"];

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ImportKind {
    /// 附件1 rows: lawyer party members.
    Lawyers,
    /// 附件2 rows: party members on a firm's staff.
    Staff,
    /// Lawyers and staff in one list: each row is a 附件1 or 附件2 row, told by a
    /// 人员身份 column or by whether it has a licence number.
    Members,
    /// The firm registry (律师事务所名册, `registry_import`).
    Firms,
    /// The party organisation roster (党组织名册, `registry_import`).
    Orgs,
}

impl ImportKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Lawyers => "lawyers",
            Self::Staff => "staff",
            Self::Members => "members",
            Self::Firms => "firms",
            Self::Orgs => "orgs",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "lawyers" | "a1" => Some(Self::Lawyers),
            "staff" | "a2" => Some(Self::Staff),
            "members" | "mixed" => Some(Self::Members),
            "firms" => Some(Self::Firms),
            "orgs" => Some(Self::Orgs),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Lawyers => "附件1 律师党员",
            Self::Staff => "附件2 律师事务所工作人员党员",
            Self::Members => "附件1和附件2 律师和工作人员党员（混合名单）",
            Self::Firms => "律师事务所名册",
            Self::Orgs => "党组织名册",
        }
    }

    /// Whether the file holds firms or organisations rather than members.
    pub fn is_registry(self) -> bool {
        matches!(self, Self::Firms | Self::Orgs)
    }

    /// The member form of the rows (none for the registries).
    fn form_code(self) -> Option<&'static str> {
        match self {
            Self::Lawyers => Some("A1"),
            Self::Staff => Some("A2"),
            Self::Members | Self::Firms | Self::Orgs => None,
        }
    }

    fn category(self) -> &'static str {
        match self {
            Self::Lawyers => "lawyer",
            Self::Staff => "staff",
            Self::Members | Self::Firms | Self::Orgs => "",
        }
    }
}

/// Where a long import is, for a progress display: the stage and the rows so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Opening the file, up to the first checked rows.
    Reading,
    /// Rows checked, looked up nationwide and (importing) written, as they come.
    Checking,
    /// The batch's counts, tallies and audit event, and the commit.
    Writing,
}

impl Stage {
    pub fn label(self) -> &'static str {
        match self {
            Self::Reading => "读取文件",
            Self::Checking => "逐行检查与全国查重",
            Self::Writing => "提交写入",
        }
    }
}

pub type Progress<'a> = dyn Fn(Stage, u64) + Sync + 'a;

/// What to do with rows that have errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Any error anywhere: nothing is imported.
    AllOrNothing,
    /// Rows with errors are left out; the others are imported.
    ValidOnly,
}

impl Mode {
    pub fn code(self) -> &'static str {
        match self {
            Self::AllOrNothing => "all",
            Self::ValidOnly => "valid",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        match s {
            "all" => Some(Self::AllOrNothing),
            "valid" => Some(Self::ValidOnly),
            _ => None,
        }
    }

    pub fn label(code: &str) -> &'static str {
        match code {
            "all" => "全部导入（有错则不导入）",
            "valid" => "仅导入无误的行",
            _ => "未知",
        }
    }
}

/// One finding about the file, a row or a cell.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Issue {
    /// The row as Excel numbers it; none for the file as a whole.
    pub row: Option<u32>,
    /// The column's header as the file has it (or the form's label).
    pub column: Option<String>,
    /// Stable rule code, e.g. `ID-CHECKSUM`, `COLUMN-MISSING`.
    pub rule: String,
    pub error: bool,
    pub message: String,
}

/// The dry run's verdict on a file.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Report {
    pub kind: Option<ImportKind>,
    pub header_row: Option<u32>,
    /// Data rows read (blank rows not counted).
    pub rows: usize,
    /// Rows without errors.
    pub valid: usize,
    pub invalid: usize,
    pub warnings: usize,
    /// Errors first by row, then warnings; file-level findings first. At most
    /// [`MAX_LISTED_ISSUES`], whole rows only: `omitted` says how many more were found.
    pub issues: Vec<Issue>,
    /// Findings counted but not listed (the rows after the list's last one).
    #[serde(default)]
    pub omitted: usize,
    /// Every finding counted by rule code: (rule, errors, warnings), by rule code.
    #[serde(default)]
    pub rules: Vec<(String, usize, usize)>,
    /// ID and licence numbers looked up across the whole country, and how many of them
    /// were found registered already.
    #[serde(default)]
    pub looked_up: usize,
    #[serde(default)]
    pub nationwide_hits: usize,
    /// The date the rules about time were judged at (the campaign's).
    #[serde(default)]
    pub judged_at: Option<String>,
    /// Organisations a roster's rows name as their parent that are not on record and will be
    /// built (a missing city-level committee), whether or not those rows themselves go in.
    #[serde(default)]
    pub built_parents: usize,
    /// The file cannot be imported at all (not readable, no header, a column missing …).
    pub file_error: bool,
}

/// Findings listed in a report at most; the rest are counted by rule. A file with more is
/// better corrected from the first ones and checked again.
pub const MAX_LISTED_ISSUES: usize = 100_000;

/// Findings as a check makes them, row by row: every one counted by rule, the first
/// [`MAX_LISTED_ISSUES`] listed (whole rows only), the rest only counted.
#[derive(Debug, Default)]
pub(crate) struct Found {
    listed: Vec<Issue>,
    /// The first row none of whose findings are listed; no later row is listed either.
    cut: Option<u32>,
    counts: BTreeMap<String, (usize, usize)>,
}

impl Found {
    /// The findings about the file as a whole (always listed).
    fn file(&mut self, issues: Vec<Issue>) {
        self.count(&issues);
        self.listed.extend(issues);
    }

    /// A row's findings.
    fn row(&mut self, row: u32, issues: Vec<Issue>) {
        if issues.is_empty() {
            return;
        }
        self.count(&issues);
        if self.cut.is_none() && self.listed.len() + issues.len() > MAX_LISTED_ISSUES {
            self.cut = Some(row);
        }
        if self.cut.is_none() {
            self.listed.extend(issues);
        }
    }

    fn count(&mut self, issues: &[Issue]) {
        for i in issues {
            let c = self.counts.entry(i.rule.clone()).or_default();
            if i.error {
                c.0 += 1;
            } else {
                c.1 += 1;
            }
        }
    }

    /// Both lists in one report: listed up to the earlier cut, so that every row listed is
    /// listed whole; sorted; counted by rule.
    fn into_report(self, other: Found, report: &mut Report) {
        let cut = match (self.cut, other.cut) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut counts = self.counts;
        for (rule, (e, w)) in other.counts {
            let c = counts.entry(rule).or_default();
            c.0 += e;
            c.1 += w;
        }
        let mut listed: Vec<Issue> = self
            .listed
            .into_iter()
            .chain(other.listed)
            .filter(|i| match (i.row, cut) {
                (Some(r), Some(c)) => r < c,
                _ => true,
            })
            .collect();
        listed.sort_by_key(|i| (i.row.is_some(), i.row, !i.error));
        let total: usize = counts.values().map(|(e, w)| e + w).sum();
        report.warnings = counts.values().map(|(_, w)| w).sum();
        report.omitted = total - listed.len();
        report.issues = listed;
        report.rules = counts.into_iter().map(|(r, (e, w))| (r, e, w)).collect();
    }
}

impl Report {
    pub(crate) fn file(rule: &str, message: impl Into<String>) -> Self {
        Self {
            issues: vec![Issue {
                row: None,
                column: None,
                rule: rule.to_owned(),
                error: true,
                message: message.into(),
            }],
            file_error: true,
            ..Self::default()
        }
    }

    /// Whether an import in `mode` would store anything.
    pub fn importable(&self, mode: Mode) -> bool {
        !self.file_error
            && (self.valid > 0 || self.built_parents > 0)
            && (mode == Mode::ValidOnly || self.invalid == 0)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Issue> {
        self.issues.iter().filter(|i| i.error)
    }

    /// Count the listed findings by rule (a report whose list is whole).
    pub(crate) fn count_rules(&mut self) {
        let mut found = Found::default();
        found.file(std::mem::take(&mut self.issues));
        found.into_report(Found::default(), self);
    }
}

/// What to import where.
#[derive(Debug, Clone, Copy)]
pub struct ImportRequest<'a> {
    pub into: OrgId,
    pub file_name: &'a str,
    pub bytes: &'a [u8],
    /// None: told by the header.
    pub kind: Option<ImportKind>,
    pub mode: Mode,
}

/// The result of an import.
#[derive(Debug, Clone)]
pub struct Imported {
    /// None when nothing was imported (the report says why).
    pub batch_id: Option<i64>,
    pub imported: usize,
    pub skipped: usize,
    pub report: Report,
}

/// A row ready to be stored: the member as a JSON row (`imports::member_row`), where it
/// goes, and its draft form's data.
struct Prepared {
    /// The row of the file.
    row: u32,
    /// The form its draft fills (A1 or A2).
    form: &'static str,
    row_json: String,
    index: String,
    org: OrgId,
    org_path: String,
    firm: FirmId,
    category: &'static str,
    party_status: String,
    data: String,
    /// The 摸底核查 mark the row gives, to be confirmed by the organisation.
    survey: Option<Mark>,
}

/// A 摸底核查 mark a member list gives: 已转入 (`in`) or 未转入 (`not_in`), with the case and
/// the reason when the list has them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mark {
    transferred: &'static str,
    case: Option<String>,
    reason: Option<String>,
}

/// The mark a row's 组织关系是否在本所 (or, without it, its 转接状态) and its 问题类别 give;
/// findings about the case go to `issues`.
fn survey_mark(
    catalogue: &Catalogue,
    values: &BTreeMap<String, String>,
    (case, reason): (Option<String>, Option<String>),
    row: u32,
    issues: &mut Vec<Issue>,
) -> Option<Mark> {
    let transferred = match (
        values.get("in_firm").map(String::as_str),
        values.get("transfer_status").map(String::as_str),
    ) {
        (Some("1"), _) | (None, Some("transferred" | "not_needed")) => "in",
        (Some("0"), _) | (None, Some("pending" | "in_transit" | "blocked")) => "not_in",
        _ => return None,
    };
    let case = case.filter(|t| !t.is_empty()).and_then(|t| {
        // 第3类, 3, 三, or the case's own words (as the list writes them, or their start).
        let short = t.trim_start_matches('第').trim_end_matches('类').trim();
        let short = match short {
            "一" => "1",
            "二" => "2",
            "三" => "3",
            "四" => "4",
            "五" => "5",
            other => other,
        };
        let list = catalogue.list("case")?;
        let code = list
            .label(short)
            .map(|_| short.to_owned())
            .or_else(|| list.resolve(&t).ok().map(str::to_owned));
        if code.is_none() {
            push(
                issues,
                Some(row),
                Some(CASE_COLUMN),
                "CODE-UNKNOWN",
                true,
                format!(
                    "{CASE_COLUMN}：“{t}”不是分类处理的类别，请填写第1类至第5类（或其中的数字）"
                ),
            );
        }
        code
    });
    if transferred == "in" && case.is_some() {
        push(
            issues,
            Some(row),
            Some(CASE_COLUMN),
            "CASE-BUT-IN",
            false,
            format!("{CASE_COLUMN}：组织关系已在本所的党员不分类处理，本行的问题类别未导入"),
        );
        return Some(Mark {
            transferred,
            case: None,
            reason: None,
        });
    }
    let reason = reason
        .filter(|r| !r.is_empty() && transferred == "not_in")
        .map(|r| r.chars().take(200).collect());
    Some(Mark {
        transferred,
        case,
        reason,
    })
}

/// What an undo removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Undone {
    pub kind: ImportKind,
    /// Members (with their drafts), firms or organisations.
    pub removed: u64,
}

impl Undone {
    /// What was removed, in the user's words.
    pub fn message(&self) -> String {
        let n = self.removed;
        match self.kind {
            ImportKind::Firms => format!("删除了 {n} 个律师事务所"),
            ImportKind::Orgs => {
                format!("删除了 {n} 个党组织，其所在律师事务所恢复为未建立党组织")
            }
            ImportKind::Lawyers | ImportKind::Staff | ImportKind::Members => {
                format!("删除了 {n} 名党员及其登记表草稿")
            }
        }
    }
}

/// How many imports and dry runs may run at once: on the whole server, and one per user.
#[derive(Debug)]
pub struct Slots {
    server: tokio::sync::Semaphore,
    users: std::sync::Mutex<std::collections::HashSet<crate::domain::UserId>>,
}

/// A running import's place; given back when dropped.
pub struct Slot<'a> {
    slots: &'a Slots,
    user: Option<crate::domain::UserId>,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Slots {
    pub fn new(at_once: usize) -> Self {
        Self {
            server: tokio::sync::Semaphore::new(at_once.max(1)),
            users: std::sync::Mutex::new(std::collections::HashSet::new()),
        }
    }

    /// A place for `caller`'s import now, or a "busy" refusal (nobody waits in a queue that
    /// they cannot see).
    pub fn take(&self, caller: Caller<'_>) -> ServiceResult<Slot<'_>> {
        let user = caller.user_id();
        if let Some(u) = user {
            let mut users = self.users.lock().map_err(|_| busy_server())?;
            if !users.insert(u) {
                return Err(ServiceError::Busy(
                    "您已有一个导入或预检正在进行：请等它完成后再试".into(),
                ));
            }
        }
        match self.server.try_acquire() {
            Ok(permit) => Ok(Slot {
                slots: self,
                user,
                _permit: permit,
            }),
            Err(_) => {
                if let (Some(u), Ok(mut users)) = (user, self.users.lock()) {
                    users.remove(&u);
                }
                Err(busy_server())
            }
        }
    }
}

fn busy_server() -> ServiceError {
    ServiceError::Busy(
        "系统正忙：其他用户的导入正在进行，请过一两分钟再试（已上传的文件未保存）".into(),
    )
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let (Some(u), Ok(mut users)) = (self.user, self.slots.users.lock()) {
            users.remove(&u);
        }
    }
}

/// An uploaded file waiting for the decision, with its dry run's report.
#[derive(Debug, Clone)]
pub struct Stashed {
    pub id: i64,
    pub org_id: OrgId,
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub kind: Option<ImportKind>,
    pub report: Report,
}

/// What became of an upload: kept for the user's decision, or refused as a whole (nothing
/// is kept of a file that cannot be imported).
#[derive(Debug, Clone)]
pub enum Uploaded {
    Kept(i64),
    Refused(Report),
}

/// Uploads one user may have waiting at once; a further one replaces the oldest.
pub const MAX_WAITING_UPLOADS: i64 = 3;

/// Where a finding is, in the user's words: 第N行, or 文件 for the file as a whole.
pub fn issue_place(i: &Issue) -> String {
    i.row
        .map_or_else(|| "文件".to_owned(), |r| format!("第{r}行"))
}

/// The findings of a report as CSV (UTF-8 with a BOM, for Excel): place, column, rule, level
/// and message, every listed finding; a last line says how many were only counted.
pub fn issues_csv(r: &Report) -> Vec<u8> {
    let mut out = Vec::from(&b"\xEF\xBB\xBF"[..]);
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let _ = w.write_record(["行", "栏目", "规则", "级别", "说明"]);
        for i in &r.issues {
            let _ = w.write_record([
                issue_place(i).as_str(),
                &super::export::defuse(i.column.as_deref().unwrap_or_default()),
                &i.rule,
                if i.error { "错误" } else { "提示" },
                &super::export::defuse(&i.message),
            ]);
        }
        if r.omitted > 0 {
            let _ = w.write_record([
                "",
                "",
                "",
                "",
                &format!(
                    "另有 {} 条问题未列出（问题过多）：请先改正以上各行，再重新上传检查",
                    r.omitted
                ),
            ]);
        }
        let _ = w.flush();
    }
    out
}

/// A header as typed, compared without ＊ marks, spaces and parenthesis width.
pub(crate) fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '＊' | '*' | ' ' | '\u{3000}' | '\n' | '\r' | '\t'))
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c,
        })
        .collect::<String>()
        .replace("(必填)", "")
}

pub(crate) fn cell_text(v: &Value) -> String {
    match v {
        Value::Empty => String::new(),
        // Our exports defuse formula-like text with a leading `'`; it comes back as typed.
        Value::Text(t) => {
            let t = t.trim();
            match t.strip_prefix('\'') {
                Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest.to_owned(),
                _ => t.to_owned(),
            }
        }
        Value::Number(f) => integral(*f).map_or_else(|| f.to_string(), |i| i.to_string()),
        Value::Date(d) => d.to_string(),
        Value::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
        Value::Error(e) => e.clone(),
    }
}

fn integral(f: f64) -> Option<i64> {
    (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

/// An Excel date serial (1900 system) as a date.
pub(crate) fn serial_date(f: f64) -> Option<time::Date> {
    let n = integral(f)?;
    if !(1..=2_958_465).contains(&n) {
        return None;
    }
    let epoch = time::Date::from_calendar_date(1899, time::Month::December, 30).ok()?;
    epoch.checked_add(time::Duration::days(n))
}

/// Numbers of a date typed as text in the usual ways (2018-7-31, 2018/07/31, 2018.7.31,
/// 2018年7月31日, 20180731), as `YYYY-MM-DD`; anything else as typed, for the validator to
/// name.
pub(crate) fn date_text(t: &str) -> String {
    let t = t.trim();
    let t = t.split([' ', 'T']).next().unwrap_or(t);
    let parts: Vec<&str> = t
        .split(['-', '/', '.', '年', '月', '日'])
        .filter(|p| !p.is_empty())
        .collect();
    let ymd = match parts.as_slice() {
        [y, m, d] => Some(((*y).to_owned(), (*m).to_owned(), (*d).to_owned())),
        [s] if s.len() == 8 && s.chars().all(|c| c.is_ascii_digit()) => {
            Some((s[..4].to_owned(), s[4..6].to_owned(), s[6..].to_owned()))
        }
        _ => None,
    };
    if let Some((y, m, d)) = ymd
        && let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i32>(), m.parse::<u8>(), d.parse::<u8>())
        && (1900..=2200).contains(&y)
        && let Ok(month) = time::Month::try_from(m)
        && let Ok(date) = time::Date::from_calendar_date(y, month, d)
    {
        return date.to_string();
    }
    t.to_owned()
}

fn ym_text(t: &str) -> String {
    let t = t.trim();
    let parts: Vec<&str> = t
        .split(['-', '/', '.', '年', '月'])
        .filter(|p| !p.is_empty())
        .collect();
    let ym = match parts.as_slice() {
        [y, m] | [y, m, _] => Some(((*y).to_owned(), (*m).to_owned())),
        [s] if s.len() == 6 && s.chars().all(|c| c.is_ascii_digit()) => {
            Some((s[..4].to_owned(), s[4..].to_owned()))
        }
        _ => None,
    };
    if let Some((y, m)) = ym
        && let (Ok(y), Ok(m)) = (y.parse::<i32>(), m.parse::<u8>())
        && (1900..=2200).contains(&y)
        && (1..=12).contains(&m)
    {
        return format!("{y:04}-{m:02}");
    }
    t.to_owned()
}

/// A cell as the form's text value; `Err((rule, message))` when the cell cannot hold it.
pub(crate) fn convert(
    catalogue: &Catalogue,
    field: &Field,
    v: &Value,
) -> Result<Option<String>, (&'static str, String)> {
    if v.is_empty() {
        return Ok(None);
    }
    let text = match (field.kind, v) {
        (_, Value::Error(e)) => {
            return Err((
                "CELL-ERROR",
                format!("单元格是公式错误 {e}，请填写实际内容"),
            ));
        }
        (Kind::CitizenId | Kind::LicenceNo, Value::Number(_)) => {
            return Err((
                "NUMBER-NOT-TEXT",
                "被 Excel 存成了数字（超过15位的数字末几位会变成0，末位X会丢失）：请先把该列设为“文本”格式，再重新输入号码".into(),
            ));
        }
        (Kind::Date, Value::Date(d)) => d.to_string(),
        (Kind::Date, Value::Number(f)) => match serial_date(*f) {
            Some(d) => d.to_string(),
            None => {
                return Err((
                    "DATE-FORMAT",
                    format!("“{}”不是日期，格式如 2018-07-31", cell_text(v)),
                ));
            }
        },
        (Kind::Date, Value::Text(t)) => date_text(t),
        (Kind::Ym, Value::Date(d)) => format!("{:04}-{:02}", d.year(), u8::from(d.month())),
        (Kind::Ym, Value::Number(f)) => match integral(*f) {
            Some(n) if (190_001..=220_012).contains(&n) => ym_text(&n.to_string()),
            _ => match serial_date(*f) {
                Some(d) => format!("{:04}-{:02}", d.year(), u8::from(d.month())),
                None => {
                    return Err((
                        "YM-FORMAT",
                        format!("“{}”不是年月，格式如 2018-07", cell_text(v)),
                    ));
                }
            },
        },
        (Kind::Ym, Value::Text(t)) => ym_text(t),
        (Kind::Code, _) => {
            let typed = cell_text(v);
            let list = field.list.as_deref().and_then(|l| catalogue.list(l));
            match list {
                // A code typed as a number that lost its leading zeros (民族 1 for 01).
                Some(list) if matches!(v, Value::Number(_)) && list.label(&typed).is_none() => list
                    .codes
                    .iter()
                    .find(|(c, _)| c.trim_start_matches('0') == typed.trim_start_matches('0'))
                    .map_or(typed, |(c, _)| c.clone()),
                // A code, a label, a short form or an alias, as people write them.
                Some(list) => match list.resolve(&typed) {
                    Ok(code) => code.to_owned(),
                    Err(closest) => {
                        return Err((
                            "CODE-UNKNOWN",
                            format!("“{typed}”不是可选的值，请选择：{}", closest.join("、")),
                        ));
                    }
                },
                None => typed,
            }
        }
        _ => cell_text(v),
    };
    Ok((!text.is_empty()).then_some(text))
}

struct Columns<'a> {
    /// Column index → field.
    fields: Vec<(usize, &'a Field)>,
    /// Column index of the firm's credit code.
    firm: Option<usize>,
    /// Column indexes of the 摸底核查 case and reason.
    case: Option<usize>,
    reason: Option<usize>,
    /// Header texts by column index.
    headers: Vec<String>,
}

pub(crate) fn push(
    issues: &mut Vec<Issue>,
    row: Option<u32>,
    column: Option<&str>,
    rule: &str,
    error: bool,
    message: impl Into<String>,
) {
    issues.push(Issue {
        row,
        column: column.map(str::to_owned),
        rule: rule.to_owned(),
        error,
        message: message.into(),
    });
}

/// A column header as compared: [`norm`]ed, and an alias people write (身份证号) turned into
/// the template's header (公民身份号码), from `forms/headers.toml`.
pub(crate) fn header_key(catalogue: &Catalogue, h: &str) -> String {
    static ALIASES: std::sync::OnceLock<HashMap<String, String>> = std::sync::OnceLock::new();
    let aliases = ALIASES.get_or_init(|| {
        catalogue
            .header_aliases
            .iter()
            .map(|(a, c)| (norm(a), norm(c)))
            .collect()
    });
    let n = norm(h);
    aliases.get(&n).cloned().unwrap_or(n)
}

/// Find the header among the first rows: the row naming most of the forms' columns.
fn find_header(catalogue: &Catalogue, rows: &[(u32, Vec<Value>)]) -> Option<usize> {
    let mut known: Vec<String> = vec![norm(FIRM_COLUMN)];
    for code in ["A1", "A2"] {
        if let Some(form) = catalogue.form(code) {
            known.extend(catalogue.fields_of(form).map(|f| norm(&f.label)));
        }
    }
    rows.iter()
        .take(HEADER_SEARCH_ROWS)
        .enumerate()
        .map(|(i, (_, cells))| {
            let hits = cells
                .iter()
                .filter(|c| known.contains(&header_key(catalogue, &cell_text(c))))
                .count();
            (i, hits)
        })
        .filter(|(_, hits)| *hits >= 3)
        .max_by_key(|(i, hits)| (*hits, usize::MAX - i))
        .map(|(i, _)| i)
}

fn guess_kind(catalogue: &Catalogue, headers: &[String]) -> Result<ImportKind, String> {
    let (Some(a1), Some(a2)) = (catalogue.form("A1"), catalogue.form("A2")) else {
        return Err("表单定义缺失".into());
    };
    let labels =
        |f: &Form| -> Vec<String> { catalogue.fields_of(f).map(|x| norm(&x.label)).collect() };
    let (l1, l2) = (labels(a1), labels(a2));
    let only = |mine: &[String], other: &[String]| {
        headers
            .iter()
            .filter(|h| mine.contains(h) && !other.contains(h))
            .count()
    };
    if headers.iter().any(|h| *h == norm(IDENTITY_COLUMN)) {
        return Ok(ImportKind::Members);
    }
    match (only(&l1, &l2), only(&l2, &l1)) {
        (0, 0) => Err("无法判断文件是附件1（律师党员）还是附件2（工作人员党员）：表头中既没有“执业证号”等执业栏目，也没有“岗位类别”等工作人员栏目；请使用系统下载的模板，或在导入时选择表格类型".into()),
        (_, 0) => Ok(ImportKind::Lawyers),
        (0, _) => Ok(ImportKind::Staff),
        // Lawyers and staff in one list: each row is told apart by itself.
        _ => Ok(ImportKind::Members),
    }
}

/// Numbers of a file's SHA-256, for the batch record.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Services {
    /// The node a caller may import into (clerks, reviewers and administrators of its subtree).
    pub async fn import_target(&self, caller: Caller<'_>, into: OrgId) -> ServiceResult<orgs::Org> {
        let mut conn = self.db.acquire().await?;
        super::managed_org(&mut conn, caller, into).await
    }

    /// Check a file for import into `into` without storing anything: every error and warning
    /// by row, column and rule code. Audited (who, the file's digest, rows, nationwide hits)
    /// and counted against the caller's daily nationwide lookups.
    pub async fn import_check(
        &self,
        caller: Caller<'_>,
        into: OrgId,
        bytes: &[u8],
        kind: Option<ImportKind>,
        progress: &Progress<'_>,
    ) -> ServiceResult<Report> {
        let org = self.import_target(caller, into).await?;
        let _slot = self.limits.imports.take(caller)?;
        let mut report = self.check_file(caller, &org, bytes, kind, progress).await?;
        report.judged_at = Some(self.judged_at().await?.to_string());
        self.record_check(caller, &org, bytes, &report, true)
            .await?;
        Ok(report)
    }

    async fn check_file(
        &self,
        caller: Caller<'_>,
        org: &orgs::Org,
        bytes: &[u8],
        kind: Option<ImportKind>,
        progress: &Progress<'_>,
    ) -> ServiceResult<Report> {
        if let Some(k) = kind.filter(|k| k.is_registry()) {
            return self.registry_check(org, bytes, k, progress).await;
        }
        let budget = self.lookup_budget(caller).await?;
        let context = self.check_context(org).await?;
        let report = self
            .pipeline(context, bytes, kind, progress, None, budget)
            .await?;
        // A firm registry or organisation roster, told by its header.
        match report.kind.filter(|k| k.is_registry() && kind.is_none()) {
            Some(k) => self.registry_check(org, bytes, k, progress).await,
            None => Ok(report),
        }
    }

    /// The date the rules about time are judged at now (the latest campaign's).
    pub(crate) async fn judged_at(&self) -> ServiceResult<time::Date> {
        let mut conn = self.db.acquire().await?;
        Ok(super::rules_date(
            campaigns::latest(&mut conn).await?.as_ref(),
        ))
    }

    /// How many more numbers the caller may look up across the country today (none: the
    /// operator, who is not limited).
    async fn lookup_budget(&self, caller: Caller<'_>) -> ServiceResult<Option<usize>> {
        let Some(user) = caller.user_id() else {
            return Ok(None);
        };
        let mut conn = self.db.acquire().await?;
        let used = imports::lookups_used(&mut conn, user, &beijing_today().to_string()).await?;
        let left = (self.limits.lookups_per_day - used).max(0);
        Ok(Some(usize::try_from(left).unwrap_or(0)))
    }

    /// After a check (a dry run, or an import that stored nothing when `audit_check`): the
    /// lookups counted against the caller's day, the check audited, and a limit reached
    /// audited and told to the administrators over the caller.
    async fn record_check(
        &self,
        caller: Caller<'_>,
        org: &orgs::Org,
        bytes: &[u8],
        report: &Report,
        audit_check: bool,
    ) -> ServiceResult<()> {
        let day = beijing_today().to_string();
        let limit_hit = report.issues.iter().any(|i| i.rule == "LOOKUP-LIMIT");
        let mut tx = self.db.begin().await?;
        if let Some(user) = caller.user_id()
            && report.looked_up > 0
        {
            let n = i64::try_from(report.looked_up).unwrap_or(i64::MAX);
            imports::add_lookups(&mut tx, user, &day, n).await?;
        }
        if audit_check {
            audit::append(
                &mut tx,
                caller.by(),
                NewEvent {
                    action: "import.check",
                    target_kind: "org",
                    target_id: org.id.to_string(),
                    target_path: &org.path,
                    detail: serde_json::json!({
                        "file_sha256": sha256_hex(bytes),
                        "bytes": bytes.len(),
                        "kind": report.kind.map(ImportKind::code),
                        "rows": report.rows,
                        "invalid": report.invalid,
                        "file_error": report.file_error,
                        "looked_up": report.looked_up,
                        "nationwide_hits": report.nationwide_hits,
                    }),
                },
            )
            .await?;
        }
        if limit_hit && let Caller::User(actor) = caller {
            audit::append(
                &mut tx,
                caller.by(),
                NewEvent {
                    action: "import.lookup_limit",
                    target_kind: "user",
                    target_id: actor.user_id.to_string(),
                    target_path: &actor.org_path,
                    detail: serde_json::json!({
                        "day": day,
                        "limit": self.limits.lookups_per_day,
                        "file_sha256": sha256_hex(bytes),
                    }),
                },
            )
            .await?;
            crate::store::notifications::send(
                &mut tx,
                crate::store::notifications::To::AdminsOver(&actor.org_path),
                "lookup_limit",
                &format!(
                    "{}（{}）今日全国查重已达上限（{} 个号码），其导入预检被拒绝",
                    actor.display_name, actor.org_name, self.limits.lookups_per_day
                ),
                "/audit",
                Some(&format!("lookup-limit:{}:{day}", actor.user_id)),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Check the file again and import it in `mode`, as one recorded batch in one transaction.
    /// Rows are written as they pass the check (reading, checking and writing run side by
    /// side); when the file turns out not importable in `mode`, nothing is kept.
    pub async fn import_run(
        &self,
        caller: Caller<'_>,
        request: ImportRequest<'_>,
        progress: &Progress<'_>,
    ) -> ServiceResult<Imported> {
        let org = self.import_target(caller, request.into).await?;
        let _slot = self.limits.imports.take(caller)?;
        let mut done = self.run_file(caller, &org, request, progress).await?;
        done.report.judged_at = Some(self.judged_at().await?.to_string());
        self.record_check(
            caller,
            &org,
            request.bytes,
            &done.report,
            done.batch_id.is_none(),
        )
        .await?;
        Ok(done)
    }

    async fn run_file(
        &self,
        caller: Caller<'_>,
        org: &orgs::Org,
        request: ImportRequest<'_>,
        progress: &Progress<'_>,
    ) -> ServiceResult<Imported> {
        if let Some(k) = request.kind.filter(|k| k.is_registry()) {
            return self.registry_run(caller, org, request, k, progress).await;
        }
        let budget = self.lookup_budget(caller).await?;
        let context = self.check_context(org).await?;
        // A big page cache for the one transaction (set outside it, put back afterwards).
        let mut conn = self.db.acquire_writer().await?;
        self.db.bulk_load_mode(&mut conn, true).await?;
        let done = self
            .import_in(&mut conn, caller, context, request, progress, budget)
            .await;
        self.db.bulk_load_mode(&mut conn, false).await?;
        drop(conn);
        // The checkpoint copying the import's pages from the WAL into the database runs after
        // the answer, on another connection, instead of inside the commit.
        self.db.checkpoint_soon();
        // A firm registry or organisation roster, told by its header: nothing was written.
        if let Ok(d) = &done
            && request.kind.is_none()
            && let Some(k) = d.report.kind.filter(|k| k.is_registry())
        {
            return self.registry_run(caller, org, request, k, progress).await;
        }
        done
    }

    async fn import_in(
        &self,
        conn: &mut sqlx::AnyConnection,
        caller: Caller<'_>,
        context: CheckContext,
        request: ImportRequest<'_>,
        progress: &Progress<'_>,
        budget: Option<usize>,
    ) -> ServiceResult<Imported> {
        let ImportRequest {
            file_name,
            bytes,
            kind,
            mode,
            ..
        } = request;
        let org = context.org.clone();
        let mut tx = self.db.begin_on(conn).await?;
        let campaign = campaigns::latest(&mut tx).await?.map(|c| c.id);
        let by_name = caller.display_name();
        let sha256 = sha256_hex(bytes);
        let mut sink = Sink {
            tx,
            batch: NewBatch {
                kind: "",
                org_id: org.id,
                org_path: &org.path,
                file_name,
                file_sha256: &sha256,
                mode: mode.code(),
                rows_total: 0,
                rows_imported: 0,
                rows_skipped: 0,
                warnings: 0,
                by: caller.user_id(),
                by_name: &by_name,
            },
            mode,
            campaign,
            batch_id: None,
            written: 0,
            rows_written: HashMap::new(),
            tallies: tallies::Deltas::default(),
            stopped: false,
        };
        let report = self
            .pipeline(context, bytes, kind, progress, Some(&mut sink), budget)
            .await?;
        let total = report.rows;
        let (Some(batch_id), Some(kind), true, false) = (
            sink.batch_id,
            report.kind,
            report.importable(mode),
            sink.stopped,
        ) else {
            // Not importable in this mode: the transaction is rolled back (dropped).
            return Ok(Imported {
                batch_id: None,
                imported: 0,
                skipped: total,
                report,
            });
        };
        progress(Stage::Writing, sink.written as u64);
        let imported = sink.written;
        let started = std::time::Instant::now();
        let mut tx = sink.tx;
        record_counts(&mut tx, batch_id, &report, imported).await?;
        tallies::apply(&mut tx, &sink.tallies).await?;
        tallies::resume_rows(&mut tx, batch_id).await?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "import.members",
                target_kind: "import_batch",
                target_id: batch_id.to_string(),
                target_path: &org.path,
                detail: serde_json::json!({
                    "file_name": file_name,
                    "kind": kind.code(),
                    "mode": mode.code(),
                    "rows": total,
                    "imported": imported,
                    "skipped": total - imported,
                    "warnings": report.warnings,
                    "file_sha256": sha256,
                    "looked_up": report.looked_up,
                    "nationwide_hits": report.nationwide_hits,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        tracing::debug!(batch_id, elapsed = ?started.elapsed(), "import: committed");
        Ok(Imported {
            batch_id: Some(batch_id),
            imported,
            skipped: total - imported,
            report,
        })
    }

    /// What the check needs from the database, read before it starts.
    async fn check_context(&self, org: &orgs::Org) -> ServiceResult<CheckContext> {
        let mut conn = self.db.acquire().await?;
        let own_firms = imports::firms_of_org(&mut conn, org.id).await?;
        let campaign = campaigns::latest(&mut conn).await?;
        let cutoff = campaign
            .as_ref()
            .and_then(|c| crate::forms::rules::parse_date(&c.cutoff_date));
        Ok(CheckContext {
            catalogue: Catalogue::get(),
            org: org.clone(),
            own_firms,
            db: self.db.clone(),
            runtime: tokio::runtime::Handle::current(),
            today: super::rules_date(campaign.as_ref()),
            cutoff,
            keys: self.keys.clone(),
        })
    }

    /// Read, check and (importing) write a file as a pipeline: a reader thread hands rows to a
    /// checker thread, which hands checked rows here in chunks for the nationwide duplicate
    /// check and, with a sink, the database. Memory stays bounded by a few chunks.
    /// `budget`: how many more numbers the caller may look up nationwide today (none: no
    /// limit); a file that needs more is refused where the budget runs out.
    async fn pipeline(
        &self,
        context: CheckContext,
        bytes: &[u8],
        kind: Option<ImportKind>,
        progress: &Progress<'_>,
        mut sink: Option<&mut Sink<'_>>,
        budget: Option<usize>,
    ) -> ServiceResult<Report> {
        progress(Stage::Reading, 0);
        let (read_tx, read_rx) = std::sync::mpsc::sync_channel::<Read>(8);
        let (checked_tx, mut checked_rx) = tokio::sync::mpsc::channel::<Checked>(2);
        let reader = {
            let bytes = bytes.to_vec();
            tokio::task::spawn_blocking(move || read_rows(&bytes, &read_tx))
        };
        let importer_path = context.org.path.clone();
        let checker =
            tokio::task::spawn_blocking(move || check_rows(context, kind, &read_rx, &checked_tx));
        let mut lookups = self.db.acquire().await?;
        let mut labels = (String::new(), String::new());
        let mut dups = Found::default();
        let mut dup_rows: std::collections::HashSet<u32> = std::collections::HashSet::new();
        let (mut seen, mut looked_up) = (0usize, 0usize);
        // Everything the checker sends is taken, even after a failure, so it never blocks.
        let mut failure: Option<ServiceError> = None;
        let mut limit_hit = false;
        // The rows of one chunk are written while the next chunk is looked up (two connections).
        let mut pending: Option<(Vec<Prepared>, bool)> = None;
        let (mut t_wait, mut t_step) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
        let mut t0 = std::time::Instant::now();
        while let Some(message) = checked_rx.recv().await {
            t_wait += t0.elapsed();
            t0 = std::time::Instant::now();
            if failure.is_some() {
                continue;
            }
            let step = async {
                match message {
                    Checked::Columns {
                        kind,
                        id_label,
                        licence_label,
                    } => {
                        labels = (id_label, licence_label);
                        if let Some(s) = sink.as_deref_mut() {
                            s.start(kind).await?;
                        }
                    }
                    Checked::Rows(rows) => {
                        seen += rows.len();
                        let keyed = rows
                            .iter()
                            .filter(|c| c.index.is_some() || c.licence.is_some())
                            .count();
                        if budget.is_some_and(|b| looked_up + keyed > b) {
                            return Ok(Flow::LimitReached);
                        }
                        looked_up += keyed;
                        let lookup = registered_elsewhere(
                            &mut lookups,
                            rows,
                            &importer_path,
                            &labels,
                            &mut dups,
                            &mut dup_rows,
                        );
                        let write = async {
                            match (sink.as_deref_mut(), pending.take()) {
                                (Some(s), Some((ready, any_error))) => {
                                    s.write(ready, any_error).await
                                }
                                _ => Ok(()),
                            }
                        };
                        let (looked, written) = tokio::join!(lookup, write);
                        written?;
                        pending = Some(looked?);
                        progress(Stage::Checking, seen as u64);
                    }
                }
                ServiceResult::Ok(Flow::Go)
            };
            match step.await {
                // The day's lookups ran out: stop reading; the file is refused below.
                Ok(Flow::LimitReached) => {
                    limit_hit = true;
                    break;
                }
                Err(e) => failure = Some(e),
                Ok(Flow::Go) => {}
            }
            t_step += t0.elapsed();
            t0 = std::time::Instant::now();
        }
        drop(checked_rx);
        tracing::debug!(waiting_for_rows = ?t_wait, working = ?t_step, "import: pipeline");
        if failure.is_none()
            && !limit_hit
            && let (Some(s), Some((ready, any_error))) = (sink.as_deref_mut(), pending.take())
            && let Err(e) = s.write(ready, any_error).await
        {
            failure = Some(e);
        }
        drop(lookups);
        let ended = checker.await;
        // The reader ends by itself once the checker stops taking rows.
        let _ = reader.await;
        if let Some(e) = failure {
            return Err(e);
        }
        if limit_hit {
            let mut report = Report::file(
                "LOOKUP-LIMIT",
                format!(
                    "今日全国查重的号码已达上限（每人每天 {} 个）：本文件未检查完，未导入任何数据。请明天再试；确有需要，请联系管理员调整上限",
                    self.limits.lookups_per_day
                ),
            );
            report.looked_up = looked_up;
            return Ok(report);
        }
        let Ok(ended) = ended else {
            return Ok(Report::file(
                "FILE-CORRUPT",
                sheet::SheetError::Corrupt.to_string(),
            ));
        };
        let ended = ended?;
        let CheckEnd {
            mut report,
            mut bad_rows,
            found,
            earlier_dups,
        } = ended;
        if report.file_error {
            report.count_rules();
            return Ok(report);
        }
        // The earlier of two rows with the same key is wrong too, naming the later one; if it
        // was written already, it goes again.
        let mut retract = Vec::new();
        for (first, later, label) in earlier_dups {
            dups.row(
                first,
                vec![Issue {
                    row: Some(first),
                    column: Some(label.clone()),
                    rule: "DUP-IN-FILE".into(),
                    error: true,
                    message: format!(
                        "{label}：与第{later}行重复（同一人在文件中出现了两次，两行都不导入）"
                    ),
                }],
            );
            bad_rows.insert(first);
            retract.push(first);
        }
        if let Some(s) = sink {
            s.retract(&retract).await?;
        }
        report.nationwide_hits = dup_rows.len();
        report.looked_up = looked_up;
        bad_rows.extend(dup_rows);
        found.into_report(dups, &mut report);
        report.invalid = bad_rows.len();
        report.valid = report.rows - report.invalid;
        Ok(report)
    }

    /// Take an uploaded file: its dry run (audited, see [`Services::import_check`]), then,
    /// unless the file cannot be imported at all, keep it and the report (encrypted) for the
    /// user's decision. A user keeps at most [`MAX_WAITING_UPLOADS`]; the oldest goes.
    pub async fn import_upload(
        &self,
        caller: Caller<'_>,
        into: OrgId,
        file_name: &str,
        bytes: &[u8],
        kind: Option<ImportKind>,
    ) -> ServiceResult<Uploaded> {
        let report = self
            .import_check(caller, into, bytes, kind, &|_, _| {})
            .await?;
        if report.file_error {
            return Ok(Uploaded::Refused(report));
        }
        let sealed = self.keys.encrypt_bytes(bytes);
        let report_sealed = self.keys.encrypt_bytes(
            serde_json::to_string(&report)
                .unwrap_or_default()
                .as_bytes(),
        );
        let mut tx = self.db.begin().await?;
        let id = imports::insert_upload(
            &mut tx,
            &imports::NewUpload {
                user: caller.user_id(),
                org: into,
                file_name,
                kind: report.kind.map_or("", ImportKind::code),
                file_sha256: &sha256_hex(bytes),
                content_enc: sealed,
                report_enc: report_sealed,
                expires_at: now() + UPLOAD_HOURS * 3600,
            },
        )
        .await?;
        imports::keep_latest_uploads(&mut tx, caller.user_id(), MAX_WAITING_UPLOADS).await?;
        tx.commit().await?;
        Ok(Uploaded::Kept(id))
    }

    /// An upload of the caller's own into `org`, still waiting, with its dry run's report.
    pub async fn import_stashed(
        &self,
        caller: Caller<'_>,
        org: OrgId,
        id: i64,
    ) -> ServiceResult<Stashed> {
        let mut conn = self.db.acquire().await?;
        let upload = imports::get_upload(&mut conn, id)
            .await?
            .filter(|u| u.user_id == caller.user_id() && u.org_id == org)
            .ok_or(ServiceError::NotFound)?;
        if upload.expires_at < now() {
            return Err(ServiceError::Conflict(
                "上传的文件已过期（超过24小时未处理），请重新上传".into(),
            ));
        }
        super::managed_org(&mut conn, caller, upload.org_id).await?;
        let bytes = self.keys.decrypt_bytes(&upload.content_enc)?;
        let report = match &upload.report_enc {
            Some(sealed) => {
                let json = self.keys.decrypt_bytes(sealed)?;
                serde_json::from_slice(&json)
                    .map_err(|_| StoreError::Corrupt(format!("import upload {id}: report")))?
            }
            None => Report::default(),
        };
        Ok(Stashed {
            id: upload.id,
            org_id: upload.org_id,
            file_name: upload.file_name,
            bytes,
            kind: ImportKind::from_code(&upload.kind),
            report,
        })
    }

    /// Forget a waiting upload (imported or given up), and every expired one.
    pub async fn import_discard(
        &self,
        caller: Caller<'_>,
        org: OrgId,
        id: i64,
    ) -> ServiceResult<()> {
        let stashed = self.import_stashed(caller, org, id).await;
        if let Err(e) = stashed
            && !matches!(e, ServiceError::Conflict(_))
        {
            return Err(e);
        }
        let mut conn = self.db.acquire().await?;
        imports::delete_upload(&mut conn, id).await?;
        Ok(())
    }

    /// Forget uploads nobody decided on within [`UPLOAD_HOURS`] (run hourly by the server).
    pub async fn purge_expired_uploads(&self) -> ServiceResult<()> {
        let mut conn = self.db.acquire().await?;
        imports::delete_upload(&mut conn, 0).await?;
        Ok(())
    }

    /// The latest batches imported into the subtree of `org`.
    pub async fn import_batches(
        &self,
        caller: Caller<'_>,
        org: OrgId,
    ) -> ServiceResult<Vec<imports::Batch>> {
        let org = self.import_target(caller, org).await?;
        let mut conn = self.db.acquire().await?;
        Ok(imports::batches_under(&mut conn, &Scope::Subtree(org.path.clone()), 50).await?)
    }

    /// Undo a batch: its members and their untouched drafts are removed, while nothing
    /// depends on them (no form saved or submitted since, no login issued, no survey check).
    pub async fn import_undo(&self, caller: Caller<'_>, batch: i64) -> ServiceResult<Undone> {
        caller.require(Action::ManageMembers, None)?;
        let mut tx = self.db.begin().await?;
        let b = imports::get_batch(&mut tx, batch)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ManageMembers, Some(&b.org_path))?;
        if b.undone_at.is_some() {
            return Err(ServiceError::Conflict("该批次已经撤销过了".into()));
        }
        let kind = ImportKind::from_code(&b.kind).unwrap_or(ImportKind::Lawyers);
        let gone = if kind.is_registry() {
            Self::registry_undo(&mut tx, &b, caller.user_id()).await?
        } else {
            let d = imports::dependents(&mut tx, batch).await?;
            if d.any() {
                return Err(ServiceError::Conflict(dependents_message(d)));
            }
            imports::undo(&mut tx, batch, caller.user_id()).await?
        };
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "import.undo",
                target_kind: "import_batch",
                target_id: batch.to_string(),
                target_path: &b.org_path,
                detail: serde_json::json!({"file_name": b.file_name, "kind": b.kind, "removed": gone}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Undone {
            kind,
            removed: gone,
        })
    }
}

/// Set a batch's row counts once its rows are in: read, imported, left out, warnings.
pub(crate) async fn record_counts(
    conn: &mut sqlx::AnyConnection,
    batch: i64,
    report: &Report,
    imported: usize,
) -> ServiceResult<()> {
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    imports::set_batch_counts(
        conn,
        batch,
        [
            count(report.rows),
            count(imported),
            count(report.rows.saturating_sub(imported)),
            count(report.warnings),
        ],
    )
    .await?;
    Ok(())
}

/// Rows read per message from the reader thread to the checker.
const READ_CHUNK: usize = 256;
/// Rows whose firms are looked up together.
const FIRM_LOOKUP_ROWS: usize = 500;
/// Rows checked per message from the checker to the duplicate check and the database.
const CHECK_CHUNK: usize = 2_000;

/// Whether the pipeline goes on after a step.
enum Flow {
    Go,
    /// The caller's nationwide lookups for the day would run out with this chunk.
    LimitReached,
}

/// From the reader thread to the checker.
enum Read {
    Head(sheet::Head),
    Rows(Vec<(u32, Vec<Value>)>),
    /// The whole sheet was read.
    End,
    Failed(sheet::SheetError),
}

/// From the checker to the pipeline.
enum Checked {
    /// The header was understood; rows follow.
    Columns {
        kind: ImportKind,
        id_label: String,
        licence_label: String,
    },
    Rows(Vec<Candidate>),
}

/// A checked row on its way to the nationwide duplicate check: its keys (none for a key the
/// file already has on an earlier row, reported as such), whether it has an error, and the
/// record ready to store when it has none (built at once, so the cell values are freed).
struct Candidate {
    row: u32,
    index: Option<String>,
    licence: Option<String>,
    error: bool,
    prepared: Option<Prepared>,
}

/// What the checker thread owns.
struct CheckContext {
    catalogue: &'static Catalogue,
    org: orgs::Org,
    /// The firms the importing organisation itself is (a firm's own organisation).
    own_firms: Vec<FirmRef>,
    /// For the firms the file names, looked up as the rows come.
    db: crate::store::Db,
    runtime: tokio::runtime::Handle,
    today: time::Date,
    cutoff: Option<time::Date>,
    keys: crate::crypto::Keys,
}

/// The checker's verdict: the report without the findings (`found`) and counts.
struct CheckEnd {
    report: Report,
    bad_rows: std::collections::HashSet<u32>,
    found: Found,
    /// (earlier row, later row, column): the earlier of two rows with the same key, found
    /// wrong only when the later one came.
    earlier_dups: Vec<(u32, u32, String)>,
}

/// The import's end of the pipeline: the batch and its rows in one open transaction.
struct Sink<'a> {
    tx: sqlx::Transaction<'a, sqlx::Any>,
    batch: NewBatch<'a>,
    mode: Mode,
    campaign: Option<i64>,
    batch_id: Option<i64>,
    written: usize,
    /// What each written row counted, by its row in the file, in case it has to go again.
    rows_written: HashMap<u32, Written>,
    tallies: tallies::Deltas,
    /// All or nothing and an error was found: nothing more is written; all is rolled back.
    stopped: bool,
}

/// What one written row counted.
struct Written {
    index: String,
    org: i64,
    firm: i64,
    category: &'static str,
    party_status: String,
}

impl Sink<'_> {
    /// Take back rows already written that turned out wrong later in the file.
    async fn retract(&mut self, rows: &[u32]) -> ServiceResult<()> {
        let Some(batch) = self.batch_id else {
            return Ok(());
        };
        let gone: Vec<Written> = rows
            .iter()
            .filter_map(|r| self.rows_written.remove(r))
            .collect();
        if gone.is_empty() {
            return Ok(());
        }
        let indexes: Vec<String> = gone.iter().map(|w| w.index.clone()).collect();
        imports::retract(&mut self.tx, batch, &indexes).await?;
        for w in &gone {
            self.tallies
                .remove_member(w.org, w.firm, w.category, &w.party_status);
            if let Some(c) = self.campaign {
                self.tallies.remove_draft(w.org, c);
            }
        }
        self.written -= gone.len();
        Ok(())
    }

    async fn start(&mut self, kind: ImportKind) -> ServiceResult<()> {
        self.batch.kind = kind.code();
        let id = imports::insert_batch(&mut self.tx, &self.batch).await?;
        // The tallies are kept with a few grouped statements for the batch, not row by row.
        tallies::pause_rows(&mut self.tx, id).await?;
        self.batch_id = Some(id);
        Ok(())
    }

    async fn write(&mut self, rows: Vec<Prepared>, any_error: bool) -> ServiceResult<()> {
        if any_error && self.mode == Mode::AllOrNothing {
            self.stopped = true;
        }
        let Some(batch_id) = self.batch_id else {
            return Ok(());
        };
        if self.stopped || rows.is_empty() {
            return Ok(());
        }
        let mut rows = rows;
        // In tree order: the path index is then written page by page.
        rows.sort_by(|a, b| (a.org_path.as_str(), a.firm.0).cmp(&(b.org_path.as_str(), b.firm.0)));
        self.written += rows.len();
        let member_rows: Vec<String> = rows
            .iter_mut()
            .map(|p| std::mem::take(&mut p.row_json))
            .collect();
        let ids = imports::insert_members(&mut self.tx, &member_rows, batch_id)
            .await
            .map_err(|e| match e {
                StoreError::Duplicate(_) => ServiceError::Conflict(
                    "导入期间有其他人登记了文件中的党员（公民身份号码或执业证号重复）：未导入任何数据，请重新预检后再导入".into(),
                ),
                other => other.into(),
            })?;
        drop(member_rows);
        for p in &rows {
            self.tallies
                .member(p.org.0, p.firm.0, p.category, &p.party_status);
            self.rows_written.insert(
                p.row,
                Written {
                    index: p.index.clone(),
                    org: p.org.0,
                    firm: p.firm.0,
                    category: p.category,
                    party_status: p.party_status.clone(),
                },
            );
        }
        if let Some(campaign) = self.campaign {
            type Draft = (OrgId, String, String, &'static str, Option<Mark>);
            let mut drafts: HashMap<String, Draft> = rows
                .into_iter()
                .map(|p| (p.index, (p.org, p.org_path, p.data, p.form, p.survey)))
                .collect();
            // One statement per form (a mixed list has both).
            let mut by_form: BTreeMap<&'static str, Vec<_>> = BTreeMap::new();
            let mut marks: Vec<survey::ImportedMark> = Vec::new();
            for (id, index) in ids {
                if let Some((org, path, data, form, mark)) = drafts.remove(&index) {
                    self.tallies.draft(org.0, campaign);
                    if let Some(m) = mark {
                        marks.push((id, path.clone(), m.transferred, m.case, m.reason));
                    }
                    by_form.entry(form).or_default().push((id, path, data));
                }
            }
            for (form, rows) in by_form {
                imports::insert_drafts(&mut self.tx, campaign, form, self.batch.by, rows).await?;
            }
            survey::insert_imported(&mut self.tx, campaign, self.batch.by, batch_id, &marks)
                .await?;
        }
        Ok(())
    }
}

/// The reader thread: the sheet's rows in chunks to the checker, then the end (or the error).
fn read_rows(bytes: &[u8], out: &std::sync::mpsc::SyncSender<Read>) {
    let open = std::cell::Cell::new(true);
    let mut chunk = Vec::with_capacity(READ_CHUNK);
    let result = sheet::stream(
        bytes,
        |head| open.set(out.send(Read::Head(head)).is_ok()),
        |n, cells| {
            chunk.push((n, cells));
            if chunk.len() == READ_CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(READ_CHUNK));
                open.set(out.send(Read::Rows(full)).is_ok());
            }
            open.get()
        },
    );
    if !open.get() {
        return;
    }
    let last = match result {
        Ok(()) => {
            if !chunk.is_empty() && out.send(Read::Rows(chunk)).is_err() {
                return;
            }
            Read::End
        }
        Err(e) => Read::Failed(e),
    };
    let _ = out.send(last);
}

/// The rows from the reader thread, one at a time.
struct RowSource<'a> {
    rx: &'a std::sync::mpsc::Receiver<Read>,
    pending: std::collections::VecDeque<(u32, Vec<Value>)>,
    head: Option<sheet::Head>,
    ended: bool,
    failed: Option<sheet::SheetError>,
}

impl RowSource<'_> {
    fn next_row(&mut self) -> Option<(u32, Vec<Value>)> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                return Some(r);
            }
            if self.ended || self.failed.is_some() {
                return None;
            }
            match self.rx.recv() {
                Ok(Read::Head(h)) => self.head = Some(h),
                Ok(Read::Rows(rows)) => self.pending.extend(rows),
                Ok(Read::End) => self.ended = true,
                Ok(Read::Failed(e)) => self.failed = Some(e),
                // The reader stopped without a word: it failed on the file.
                Err(_) => self.failed = Some(sheet::SheetError::Corrupt),
            }
        }
    }

    /// Why reading failed, if it did.
    fn failure(&self) -> Option<Report> {
        self.failed
            .as_ref()
            .map(|e| Report::file(file_rule(e), e.to_string()))
    }
}

/// The checker thread: finds the header, maps the columns and checks every row as it comes
/// from the reader, handing checked rows on in chunks.
#[allow(clippy::too_many_lines)]
fn check_rows(
    cx: CheckContext,
    kind: Option<ImportKind>,
    rx: &std::sync::mpsc::Receiver<Read>,
    out: &tokio::sync::mpsc::Sender<Checked>,
) -> ServiceResult<CheckEnd> {
    let verdict = |report: Report| {
        Ok(CheckEnd {
            report,
            bad_rows: std::collections::HashSet::new(),
            found: Found::default(),
            earlier_dups: Vec::new(),
        })
    };
    let catalogue = cx.catalogue;
    let org = &cx.org;
    let mut source = RowSource {
        rx,
        pending: std::collections::VecDeque::new(),
        head: None,
        ended: false,
        failed: None,
    };
    let mut first: Vec<(u32, Vec<Value>)> = Vec::new();
    while first.len() < HEADER_SEARCH_ROWS {
        match source.next_row() {
            Some(r) => first.push(r),
            None => break,
        }
    }
    if let Some(failed) = source.failure() {
        return verdict(failed);
    }
    if first.is_empty() {
        return verdict(Report::file(
            "FILE-EMPTY",
            "工作表是空的：第一个工作表中没有任何内容",
        ));
    }
    if kind.is_none()
        && let Some((_, k)) = super::registry_import::detect(&first)
    {
        // Not members: the caller hands the file to the registry import.
        return verdict(Report {
            kind: Some(k),
            file_error: true,
            ..Report::default()
        });
    }
    let merged = source.head.take().map(|h| h.merged).unwrap_or_default();
    let Some(header_at) = find_header(catalogue, &first) else {
        return verdict(Report::file(
            "HEADER-NOT-FOUND",
            "找不到表头：前10行中没有本系统模板的栏目名称（如“姓名”“公民身份号码”“民族”）；请使用系统下载的模板，表头放在数据的上一行",
        ));
    };
    let (header_row, header_cells) = &first[header_at];
    let header_row = *header_row;
    let headers: Vec<String> = header_cells.iter().map(cell_text).collect();
    let normed: Vec<String> = headers.iter().map(|h| header_key(catalogue, h)).collect();
    let kind = match kind {
        Some(k) => k,
        None => match guess_kind(catalogue, &normed) {
            Ok(k) => k,
            Err(m) => return verdict(Report::file("KIND-UNKNOWN", m)),
        },
    };
    // The forms the rows fill: one, or both for a mixed list (each row picks its own).
    let forms: Vec<(ImportKind, &Form)> = match kind {
        ImportKind::Members => [ImportKind::Lawyers, ImportKind::Staff]
            .into_iter()
            .filter_map(|k| {
                k.form_code()
                    .and_then(|c| catalogue.form(c))
                    .map(|f| (k, f))
            })
            .collect(),
        k => k
            .form_code()
            .and_then(|c| catalogue.form(c))
            .map(|f| (k, f))
            .into_iter()
            .collect(),
    };
    if forms.is_empty() || (kind == ImportKind::Members && forms.len() != 2) {
        return verdict(Report::file("KIND-UNKNOWN", "表单定义缺失"));
    }
    let attachment = forms
        .iter()
        .map(|(_, f)| f.attachment.as_str())
        .collect::<Vec<_>>()
        .join("或");
    let form_of = |k: ImportKind| forms.iter().find(|(fk, _)| *fk == k).map(|(_, f)| *f);
    let mut report = Report {
        kind: Some(kind),
        header_row: Some(header_row),
        ..Report::default()
    };
    let mut issues = Vec::new();

    // Columns: each header to a field; extra columns reported; required ones missing named.
    let mut cols = Columns {
        fields: Vec::new(),
        firm: None,
        case: None,
        reason: None,
        headers: headers.clone(),
    };
    let mut identity: Option<usize> = None;
    let mut fields: Vec<&Field> = Vec::new();
    for (_, f) in &forms {
        for field in catalogue.fields_of(f) {
            if !fields.iter().any(|g| g.code == field.code) {
                fields.push(field);
            }
        }
    }
    for (i, h) in normed.iter().enumerate() {
        if h.is_empty() {
            continue;
        }
        let column = sheet::column_name(u32::try_from(i).unwrap_or(0));
        if *h == norm(FIRM_COLUMN) {
            if cols.firm.replace(i).is_some() {
                push(
                    &mut issues,
                    Some(header_row),
                    Some(&headers[i]),
                    "COLUMN-TWICE",
                    true,
                    format!("栏目“{}”出现了两次（第{column}列）", headers[i]),
                );
            }
            continue;
        }
        if *h == norm(IDENTITY_COLUMN) && kind == ImportKind::Members {
            identity = Some(i);
            continue;
        }
        if *h == header_key(catalogue, CASE_COLUMN) {
            cols.case = Some(i);
            continue;
        }
        if *h == header_key(catalogue, REASON_COLUMN) {
            cols.reason = Some(i);
            continue;
        }
        match fields.iter().find(|f| norm(&f.label) == *h) {
            Some(f) if cols.fields.iter().any(|(_, g)| g.code == f.code) => push(
                &mut issues,
                Some(header_row),
                Some(&headers[i]),
                "COLUMN-TWICE",
                true,
                format!("栏目“{}”出现了两次（第{column}列）", headers[i]),
            ),
            Some(f) => cols.fields.push((i, f)),
            None => push(
                &mut issues,
                Some(header_row),
                Some(&headers[i]),
                "COLUMN-EXTRA",
                false,
                format!("第{column}列“{}”不是{attachment}的栏目，已忽略", headers[i]),
            ),
        }
    }
    let core: Vec<&str> = CORE
        .iter()
        .chain(if kind == ImportKind::Lawyers {
            CORE_LAWYER.iter()
        } else {
            [].iter()
        })
        .copied()
        .collect();
    let mut later = Vec::new();
    for f in &fields {
        if cols.fields.iter().any(|(_, g)| g.code == f.code) {
            continue;
        }
        if core.contains(&f.code.as_str()) {
            push(
                &mut issues,
                None,
                Some(&f.label),
                "COLUMN-MISSING",
                true,
                format!(
                    "缺少栏目“{}”（可能被改名或删除）：该栏目必须有，请使用系统模板的表头",
                    f.label
                ),
            );
        } else if f.required && !matches!(f.code.as_str(), "sex" | "birth_date") {
            later.push(f.label.as_str());
        }
    }
    if !later.is_empty() {
        push(
            &mut issues,
            None,
            None,
            "COLUMN-LATER",
            false,
            format!(
                "文件中没有以下必填栏目，导入后需由党员本人在网上补填：{}",
                later.join("、")
            ),
        );
    }
    let own_firm: Option<&FirmRef> = (cx.own_firms.len() == 1).then(|| &cx.own_firms[0]);
    if cols.firm.is_none() && own_firm.is_none() {
        push(
            &mut issues,
            None,
            Some(FIRM_COLUMN),
            "COLUMN-MISSING",
            true,
            format!(
                "缺少栏目“{FIRM_COLUMN}”：导入到{}时，须写明每位党员所在的律师事务所",
                org.name
            ),
        );
    }
    if issues.iter().any(|i| i.error) {
        report.file_error = true;
        report.issues = issues;
        return verdict(report);
    }
    let mut found = Found::default();
    found.file(issues);

    // Merged cells in the data area: their rows cannot be read one by one.
    let mut merged_rows: HashMap<u32, String> = HashMap::new();
    for m in &merged {
        if m.last_row <= header_row {
            continue;
        }
        for r in m.first_row.max(header_row + 1)..=m.last_row {
            merged_rows.entry(r).or_insert_with(|| m.name());
        }
    }

    // The firms named so far, by credit code: within the importer's subtree or not (None).
    let mut firm_by_code: HashMap<String, Option<FirmRef>> = HashMap::new();
    let scope = Scope::Subtree(org.path.clone());
    let label_of = |code: &str| -> String {
        cols.fields
            .iter()
            .find(|(_, f)| f.code == code)
            .map(|(i, _)| cols.headers[*i].clone())
            .or_else(|| catalogue.field(code).map(|f| f.label.clone()))
            .unwrap_or_else(|| code.to_owned())
    };
    let id_label = label_of("citizen_id");
    let licence_label = label_of("licence_no");
    if out
        .blocking_send(Checked::Columns {
            kind,
            id_label: id_label.clone(),
            licence_label: licence_label.clone(),
        })
        .is_err()
    {
        return verdict(report);
    }

    let mut bad_rows: std::collections::HashSet<u32> = std::collections::HashSet::new();
    let mut seen_ids: HashMap<String, u32> = HashMap::new();
    let mut seen_licences: HashMap<String, u32> = HashMap::new();
    // (earlier row, later row, column) of each key a later row repeats.
    let mut earlier_dups: Vec<(u32, u32, String)> = Vec::new();
    let mut chunk: Vec<Candidate> = Vec::with_capacity(CHECK_CHUNK);
    let mut last_row = header_row;
    let mut rest = first.into_iter().skip(header_at + 1);
    'rows: loop {
        // Rows a few hundred at a time: the firms they name are looked up together.
        let batch: Vec<(u32, Vec<Value>)> =
            std::iter::from_fn(|| rest.next().or_else(|| source.next_row()))
                .take(FIRM_LOOKUP_ROWS)
                .collect();
        if batch.is_empty() {
            break;
        }
        if let Some(i) = cols.firm {
            let mut codes: Vec<String> = batch
                .iter()
                .map(|(_, cells)| cell_text(cells.get(i).unwrap_or(&Value::Empty)).to_uppercase())
                .filter(|c| !c.is_empty() && !firm_by_code.contains_key(c))
                .collect();
            codes.sort_unstable();
            codes.dedup();
            if !codes.is_empty() {
                let found = cx.runtime.block_on(async {
                    let mut conn = cx.db.acquire().await?;
                    imports::firms_by_codes(&mut conn, &codes, &scope).await
                });
                let found = found?;
                for c in codes {
                    let firm = found
                        .iter()
                        .find(|f| f.credit_code.to_uppercase() == c)
                        .cloned();
                    firm_by_code.insert(c, firm);
                }
            }
        }
        for (row, cells) in batch {
            if row <= last_row {
                // Excel writes rows in order; a file that does not cannot be checked row by row.
                return verdict(Report::file(
                    "FILE-ROW-ORDER",
                    format!(
                        "工作表中第{row}行出现在第{last_row}行之后，行的顺序异常：请在 Excel 中打开该文件并另存为 .xlsx 后再导入"
                    ),
                ));
            }
            last_row = row;
            let get = |i: usize| cells.get(i).unwrap_or(&Value::Empty);
            if cols.fields.iter().all(|(i, _)| get(*i).is_empty())
                && cols.firm.is_none_or(|i| get(i).is_empty())
            {
                continue;
            }
            // The 合计 line at the end of our own exports is not a member.
            if cells
                .iter()
                .find(|c| !c.is_empty())
                .is_some_and(|c| cell_text(c).starts_with("合计"))
            {
                continue;
            }
            report.rows += 1;
            let mut row_issues: Vec<Issue> = Vec::new();
            if let Some(range) = merged_rows.get(&row) {
                push(
                    &mut row_issues,
                    Some(row),
                    None,
                    "MERGED-CELLS",
                    true,
                    format!("含合并单元格（{range}）：请取消合并，并在每一行分别填写"),
                );
            }
            let mut values = BTreeMap::new();
            for (i, f) in &cols.fields {
                match convert(catalogue, f, get(*i)) {
                    Ok(Some(v)) => {
                        values.insert(f.code.clone(), v);
                    }
                    Ok(None) => {}
                    Err((rule, message)) => push(
                        &mut row_issues,
                        Some(row),
                        Some(&cols.headers[*i]),
                        rule,
                        true,
                        format!("{}：{message}", cols.headers[*i]),
                    ),
                }
            }
            // The form this row fills: the list's own or, in a mixed list, told by its 人员身份
            // or by whether it has a licence number.
            let row_kind = if kind == ImportKind::Members {
                let licensed = values.contains_key("licence_no");
                let told = identity
                    .map(|i| cell_text(get(i)))
                    .filter(|t| !t.is_empty());
                match told {
                    None if licensed => ImportKind::Lawyers,
                    None => ImportKind::Staff,
                    Some(t) => match catalogue.list("category").map(|l| l.resolve(&t)) {
                        Some(Ok("lawyer")) => ImportKind::Lawyers,
                        Some(Ok(_)) => ImportKind::Staff,
                        _ => {
                            push(
                                &mut row_issues,
                                Some(row),
                                Some(IDENTITY_COLUMN),
                                "CODE-UNKNOWN",
                                true,
                                format!("{IDENTITY_COLUMN}：“{t}”应为“律师”或“工作人员”"),
                            );
                            if licensed {
                                ImportKind::Lawyers
                            } else {
                                ImportKind::Staff
                            }
                        }
                    },
                }
            } else {
                kind
            };
            let form = form_of(row_kind).unwrap_or(forms[0].1);
            // The other form's own columns are not this row's.
            values.retain(|code, _| catalogue.fields_of(form).any(|f| &f.code == code));
            let row_core: Vec<&str> = CORE
                .iter()
                .chain(if row_kind == ImportKind::Lawyers {
                    CORE_LAWYER.iter()
                } else {
                    [].iter()
                })
                .copied()
                .collect();
            let id = values
                .get("citizen_id")
                .and_then(|t| CitizenId::parse(t, cx.today).ok());
            if let Some(id) = &id {
                values
                    .entry("sex".to_owned())
                    .or_insert_with(|| id.sex_code().to_owned());
                values
                    .entry("birth_date".to_owned())
                    .or_insert_with(|| id.birth_date().to_string());
            }
            let converted: Vec<String> =
                row_issues.iter().filter_map(|i| i.column.clone()).collect();
            for finding in validate(catalogue, form, &values, cx.today) {
                let column = label_of(&finding.field);
                if converted.contains(&column) {
                    continue;
                }
                let in_file = cols.fields.iter().any(|(_, f)| f.code == finding.field);
                // A required field the file has no column for is left to the member (also
                // one required by another value, e.g. the letter's date for 转接中).
                let required_later = (finding.rule == "REQUIRED"
                    || (finding.rule == "REQUIRED-IF" && !in_file))
                    && !row_core.contains(&finding.field.as_str());
                if finding.rule == "REQUIRED" && required_later && !in_file {
                    // Said once for the whole file (COLUMN-LATER).
                    continue;
                }
                let error = finding.severity == Severity::Error && !required_later;
                let field_label = catalogue
                    .field(&finding.field)
                    .map_or(finding.field.as_str(), |f| f.label.as_str());
                let message = if required_later {
                    format!("{column}：未填写，导入后需由党员本人补填")
                } else {
                    format!(
                        "{column}：{}",
                        finding
                            .message
                            .trim_start_matches(&format!("{field_label}："))
                    )
                };
                push(
                    &mut row_issues,
                    Some(row),
                    Some(&column),
                    finding.rule,
                    error,
                    message,
                );
            }
            // The firm the member belongs to, within the importer's subtree.
            let firm_code = cols
                .firm
                .map(|i| cell_text(get(i)).to_uppercase())
                .unwrap_or_default();
            let firm = if firm_code.is_empty() {
                match own_firm {
                    Some(f) => Some(f),
                    None => {
                        push(
                            &mut row_issues,
                            Some(row),
                            Some(FIRM_COLUMN),
                            "REQUIRED",
                            true,
                            format!(
                                "{FIRM_COLUMN}：必填，请写明该党员所在律师事务所的统一社会信用代码"
                            ),
                        );
                        None
                    }
                }
            } else {
                match firm_by_code.get(&firm_code).and_then(Option::as_ref) {
                    Some(f) => Some(f),
                    None => {
                        push(
                            &mut row_issues,
                            Some(row),
                            Some(FIRM_COLUMN),
                            "FIRM-OUT-OF-SCOPE",
                            true,
                            format!(
                                "{FIRM_COLUMN}：“{firm_code}”不是{}范围内已登记的律师事务所；只能导入到本组织范围内的律师事务所",
                                org.name
                            ),
                        );
                        None
                    }
                }
            };
            // A key the file has on an earlier row is reported as such, not looked up again.
            let mut index = None;
            if let Some(id) = &id {
                if let Some(first) = seen_ids.get(id.as_str()) {
                    push(
                        &mut row_issues,
                        Some(row),
                        Some(&id_label),
                        "DUP-IN-FILE",
                        true,
                        format!(
                            "{id_label}：与第{first}行重复（同一人在文件中出现了两次，两行都不导入）"
                        ),
                    );
                    earlier_dups.push((*first, row, id_label.clone()));
                } else {
                    seen_ids.insert(id.as_str().to_owned(), row);
                    index = Some(cx.keys.id_index(id));
                }
            }
            let mut licence = None;
            if let Some(l) = values
                .get("licence_no")
                .filter(|_| row_kind == ImportKind::Lawyers)
            {
                if let Some(first) = seen_licences.get(l) {
                    push(
                        &mut row_issues,
                        Some(row),
                        Some(&licence_label),
                        "DUP-IN-FILE",
                        true,
                        format!("{licence_label}：与第{first}行重复（两行都不导入）"),
                    );
                    earlier_dups.push((*first, row, licence_label.clone()));
                } else {
                    seen_licences.insert(l.clone(), row);
                    licence = Some(l.clone());
                }
            }
            // The 摸底核查 mark the list gives, to be confirmed by the organisation.
            let mark = survey_mark(
                catalogue,
                &values,
                (
                    cols.case.map(|i| cell_text(get(i))),
                    cols.reason.map(|i| cell_text(get(i))),
                ),
                row,
                &mut row_issues,
            );
            if let Some(cutoff) = cx.cutoff {
                let get_v = |k: &str| values.get(k).map(String::as_str);
                let e = eligibility::decide(
                    Facts {
                        category: row_kind.category(),
                        practice_type: get_v("practice_type"),
                        staff_post: get_v("staff_post"),
                        started_on: get_v("hired_on").and_then(crate::forms::rules::parse_date),
                        case: mark.as_ref().and_then(|m| m.case.as_deref()),
                    },
                    cutoff,
                );
                if !e.registered {
                    push(
                        &mut row_issues,
                        Some(row),
                        None,
                        "NOT-REGISTERED",
                        false,
                        format!("按规定不在本次登记范围：{}", e.reason),
                    );
                }
            }
            let error = row_issues.iter().any(|i| i.error);
            found.row(row, row_issues);
            if error {
                bad_rows.insert(row);
            }
            let prepared = match (error, &id, &index, firm) {
                (false, Some(id), Some(index), Some(f)) => {
                    let org_id = f.org_id.unwrap_or(f.city_org_id);
                    Some(prepare(
                        row,
                        &cx.keys,
                        row_kind,
                        id,
                        index.clone(),
                        (f.id, org_id, f.scope_path.clone()),
                        values,
                    ))
                    .map(|p| Prepared { survey: mark, ..p })
                }
                _ => None,
            };
            chunk.push(Candidate {
                row,
                index,
                licence,
                error,
                prepared,
            });
            if chunk.len() == CHECK_CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHECK_CHUNK));
                if out.blocking_send(Checked::Rows(full)).is_err() {
                    break 'rows;
                }
            }
        }
    }
    if let Some(failed) = source.failure() {
        return verdict(failed);
    }
    if !chunk.is_empty() {
        let _ = out.blocking_send(Checked::Rows(chunk));
    }
    Ok(CheckEnd {
        report,
        bad_rows,
        found,
        earlier_dups,
    })
}

/// The nationwide duplicate check of a chunk: a key registered anywhere in the country is an
/// error, the other member named only when inside the importer's subtree. The rows ready to
/// store, and whether the chunk has any row with an error.
async fn registered_elsewhere(
    conn: &mut sqlx::AnyConnection,
    rows: Vec<Candidate>,
    importer: &TreePath,
    (id_label, licence_label): &(String, String),
    found: &mut Found,
    bad_rows: &mut std::collections::HashSet<u32>,
) -> ServiceResult<(Vec<Prepared>, bool)> {
    let indexes: Vec<String> = rows.iter().filter_map(|c| c.index.clone()).collect();
    let licences: Vec<String> = rows.iter().filter_map(|c| c.licence.clone()).collect();
    let ids_found = imports::existing_ids(conn, &indexes).await?;
    let licences_found = imports::existing_licences(conn, &licences).await?;
    let where_is = |e: &imports::Existing| {
        if e.org_path.starts_with(importer.as_str()) {
            format!(
                "已登记为本组织范围内的党员“{}”（所在党组织：{}）",
                e.name, e.org_name
            )
        } else {
            "已在系统中登记（可能在其他单位）；如需转入，请联系其原所在党组织".to_owned()
        }
    };
    let ids_found: HashMap<&str, &imports::Existing> =
        ids_found.iter().map(|e| (e.key.as_str(), e)).collect();
    let licences_found: HashMap<&str, &imports::Existing> =
        licences_found.iter().map(|e| (e.key.as_str(), e)).collect();
    let mut ready = Vec::with_capacity(rows.len());
    let mut any_error = false;
    for c in rows {
        let mut issues = Vec::new();
        let keys = [
            (
                c.index.as_deref().and_then(|i| ids_found.get(i)),
                id_label,
                "该号码",
            ),
            (
                c.licence.as_deref().and_then(|l| licences_found.get(l)),
                licence_label,
                "该执业证号",
            ),
        ];
        for (e, label, what) in keys {
            if let Some(e) = e {
                push(
                    &mut issues,
                    Some(c.row),
                    Some(label),
                    "DUP-REGISTERED",
                    true,
                    format!("{label}：{what}{}", where_is(e)),
                );
            }
        }
        let dup = !issues.is_empty();
        found.row(c.row, issues);
        any_error |= dup || c.error;
        if dup {
            bad_rows.insert(c.row);
        } else if let Some(p) = c.prepared {
            ready.push(p);
        }
    }
    Ok((ready, any_error))
}

/// The member record and the draft form's data of a row without errors.
fn prepare(
    row: u32,
    keys: &crate::crypto::Keys,
    kind: ImportKind,
    id: &CitizenId,
    index: String,
    (firm, org_id, path): (FirmId, OrgId, TreePath),
    mut values: BTreeMap<String, String>,
) -> Prepared {
    values.remove("citizen_id");
    let get = |k: &str| values.get(k).cloned().unwrap_or_default();
    let lawyer = kind == ImportKind::Lawyers;
    let member = NewMember {
        name: get("name"),
        sex: id.sex_code().to_owned(),
        ethnicity: get("ethnicity"),
        birth_date: id.birth_date().to_string(),
        citizen_id_enc: keys.encrypt_id(id),
        citizen_id_index: index,
        citizen_id_masked: id.masked(),
        category: kind.category().to_owned(),
        practice_type: lawyer.then(|| get("practice_type")),
        licence_no: lawyer.then(|| get("licence_no")),
        education: get("education"),
        party_status: get("party_status"),
        joined_on: get("joined_on"),
        full_member_on: values.get("full_member_on").cloned(),
        mobile: get("mobile"),
        firm_id: firm,
        org_id,
        org_path: path,
    };
    Prepared {
        row,
        form: kind.form_code().unwrap_or_default(),
        row_json: imports::member_row(&member),
        index: member.citizen_id_index,
        org: member.org_id,
        org_path: member.org_path.as_str().to_owned(),
        firm: member.firm_id,
        category: kind.category(),
        party_status: member.party_status,
        data: serde_json::to_string(&values).unwrap_or_else(|_| "{}".into()),
        survey: None,
    }
}

fn dependents_message(d: Dependents) -> String {
    let mut parts = Vec::new();
    if d.forms_changed > 0 {
        parts.push(format!("{} 人的登记表已被修改或提交", d.forms_changed));
    }
    if d.accounts > 0 {
        parts.push(format!("{} 人已发放登录账号", d.accounts));
    }
    if d.surveyed > 0 {
        parts.push(format!("{} 人已做摸底核查", d.surveyed));
    }
    format!(
        "该批次已有后续工作，不能撤销：{}。如确需删除，请逐条处理。",
        parts.join("，")
    )
}

pub(crate) fn file_rule(e: &sheet::SheetError) -> &'static str {
    use sheet::SheetError as E;
    match e {
        E::EmptyFile => "FILE-EMPTY",
        E::TooLarge { .. } => "FILE-TOO-LARGE",
        E::NotSpreadsheet => "FILE-NOT-SPREADSHEET",
        E::Encrypted => "FILE-ENCRYPTED",
        E::LegacyXls => "FILE-XLS",
        E::Corrupt => "FILE-CORRUPT",
        E::Bomb { .. } => "FILE-BOMB",
        E::TooManyRows(_) => "FILE-TOO-MANY-ROWS",
        E::Encoding => "FILE-ENCODING",
        E::CsvRow(_) => "FILE-CSV",
        E::CellTooLong { .. } => "FILE-CELL-TOO-LONG",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_typed_in_the_usual_ways() {
        for t in [
            "2018-7-31",
            "2018/07/31",
            "2018.7.31",
            "2018年7月31日",
            "20180731",
            "2018-07-31 00:00:00",
        ] {
            assert_eq!(date_text(t), "2018-07-31", "{t}");
        }
        assert_eq!(date_text("去年夏天"), "去年夏天");
        assert_eq!(date_text("2018-02-30"), "2018-02-30");
        assert_eq!(ym_text("2018.7"), "2018-07");
        assert_eq!(ym_text("201807"), "2018-07");
        assert_eq!(ym_text("2018年7月"), "2018-07");
        assert_eq!(
            serial_date(43312.0).map(|d| d.to_string()),
            Some("2018-07-31".into())
        );
        assert_eq!(serial_date(0.5), None);
    }

    fn finding(row: u32, rule: &str, error: bool) -> Issue {
        Issue {
            row: Some(row),
            column: None,
            rule: rule.into(),
            error,
            message: String::new(),
        }
    }

    #[test]
    fn long_lists_keep_whole_rows_and_count_the_rest_by_rule() {
        let mut checks = Found::default();
        checks.file(vec![Issue {
            row: None,
            column: None,
            rule: "COLUMN-EXTRA".into(),
            error: false,
            message: String::new(),
        }]);
        // Two findings a row: the list fills up part-way through row N.
        let rows = u32::try_from(MAX_LISTED_ISSUES).unwrap();
        for r in 2..rows {
            checks.row(
                r,
                vec![finding(r, "REQUIRED", true), finding(r, "X", false)],
            );
        }
        let mut dups = Found::default();
        dups.row(5, vec![finding(5, "DUP-REGISTERED", true)]);
        dups.row(rows - 1, vec![finding(rows - 1, "DUP-REGISTERED", true)]);
        let mut report = Report::default();
        checks.into_report(dups, &mut report);
        let cut = report.issues.last().and_then(|i| i.row).unwrap();
        // Every listed row is listed whole; nothing past the cut.
        assert!(report.issues.len() <= MAX_LISTED_ISSUES);
        assert!(report.issues.iter().filter(|i| i.row == Some(cut)).count() >= 2);
        assert!(
            report
                .issues
                .iter()
                .any(|i| i.row == Some(5) && i.rule == "DUP-REGISTERED")
        );
        assert!(!report.issues.iter().any(|i| i.row == Some(rows - 1)));
        // Everything is counted.
        let total = 1 + 2 * (rows as usize - 2) + 2;
        assert_eq!(report.issues.len() + report.omitted, total);
        assert_eq!(report.warnings, 1 + (rows as usize - 2));
        let required = report.rules.iter().find(|r| r.0 == "REQUIRED").unwrap();
        assert_eq!(required.1, rows as usize - 2);
        assert_eq!(report.issues[0].row, None, "the file's findings first");
    }

    #[test]
    fn headers_compare_loosely() {
        assert_eq!(norm("＊公民身份号码"), norm("公民身份号码 "));
        assert_eq!(norm("入党日期（必填）"), "入党日期");
        assert_eq!(norm("学历（学位）"), norm("学历(学位)"));
    }
}
