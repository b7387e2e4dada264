//! Bulk import from .xlsx or .csv — member lists, the firm registry and organisation rosters:
//! a dry run reports every error and warning by row, column and rule code; the import then runs
//! all-or-nothing or for the valid rows only, as a recorded batch that can be undone while
//! nothing depends on it. One report type, one alias table and one batch path for every kind;
//! each kind of sheet has its own file.

pub(crate) mod cells;
mod members;
mod registry;

pub(crate) use cells::{
    HEADER_SEARCH_ROWS, cell_text, convert, date_text, header_key, header_row, norm, serial_date,
};
pub use members::{CASE_COLUMN, FIRM_COLUMN, IDENTITY_COLUMN, REASON_COLUMN};
pub use registry::{Col, columns, template_fields};

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::{Caller, Refusal, ServiceError, ServiceResult, beijing_today};
use crate::authz::{Action, Scope};
use crate::domain::OrgId;
use crate::forms::Severity;
use crate::sheet;
use crate::store::audit::{self, NewEvent};
use crate::store::imports::{self, Dependents, NewBatch};
use crate::store::{StoreError, campaigns, now, orgs};

// The read types this area returns, re-exported: callers (web, cli) name them here, not in
// the store.
pub use crate::store::imports::Batch;

/// How long an uploaded file waits for the user's decision after the dry run.
pub const UPLOAD_HOURS: i64 = 24;
/// An undo of more imported rows than this needs a second person (双人复核).
pub const FOUR_EYES_UNDO_ROWS: i64 = 1000;
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
    /// The firm registry (律师事务所名册, `registry`).
    Firms,
    /// The party organisation roster (党组织名册, `registry`).
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

/// Numbers of a file's SHA-256, for the batch record.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

super::area!(ImportService);

impl ImportService<'_> {
    /// The node a caller may import into (clerks, reviewers and administrators of its subtree).
    pub async fn target(&self, caller: Caller<'_>, into: OrgId) -> ServiceResult<orgs::Org> {
        let mut conn = self.db.acquire().await?;
        super::managed_org(&mut conn, caller, into).await
    }

    /// Check a file for import into `into` without storing anything: every error and warning
    /// by row, column and rule code. Audited (who, the file's digest, rows, nationwide hits)
    /// and counted against the caller's daily nationwide lookups.
    pub async fn check(
        &self,
        caller: Caller<'_>,
        into: OrgId,
        bytes: &[u8],
        kind: Option<ImportKind>,
        progress: &Progress<'_>,
    ) -> ServiceResult<Report> {
        let org = self.target(caller, into).await?;
        let _slot = self.limits.imports.take(caller)?;
        let mut report = self.check_file(caller, &org, bytes, kind, progress).await?;
        report.judged_at = Some(self.judged_at().await?.to_string());
        self.record_check(caller, &org, bytes, &report, true)
            .await?;
        Ok(report)
    }

    /// The check of [`Self::check`] without taking an import slot, counting lookups or
    /// writing the audit record: for the fuzz targets (`crate::fuzzing`), which check
    /// millions of files.
    pub(crate) async fn check_unrecorded(
        &self,
        caller: Caller<'_>,
        into: OrgId,
        bytes: &[u8],
        kind: Option<ImportKind>,
    ) -> ServiceResult<Report> {
        let org = self.target(caller, into).await?;
        self.check_file(caller, &org, bytes, kind, &|_, _| {}).await
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
                crate::domain::NoticeKind::LookupLimit,
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
    pub async fn run(
        &self,
        caller: Caller<'_>,
        request: ImportRequest<'_>,
        progress: &Progress<'_>,
    ) -> ServiceResult<Imported> {
        let org = self.target(caller, request.into).await?;
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
}

impl ImportService<'_> {
    /// Take an uploaded file: its dry run (audited, see [`ImportService::check`]), then,
    /// unless the file cannot be imported at all, keep it and the report (encrypted) for the
    /// user's decision. A user keeps at most [`MAX_WAITING_UPLOADS`]; the oldest goes.
    pub async fn upload(
        &self,
        caller: Caller<'_>,
        into: OrgId,
        file_name: &str,
        bytes: &[u8],
        kind: Option<ImportKind>,
    ) -> ServiceResult<Uploaded> {
        let report = self
            .import()
            .check(caller, into, bytes, kind, &|_, _| {})
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
    pub async fn stashed(&self, caller: Caller<'_>, org: OrgId, id: i64) -> ServiceResult<Stashed> {
        let mut conn = self.db.acquire().await?;
        let upload = imports::get_upload(&mut conn, id)
            .await?
            .filter(|u| u.user_id == caller.user_id() && u.org_id == org)
            .ok_or(ServiceError::NotFound)?;
        if upload.expires_at < now() {
            return Err(ServiceError::Conflict(Refusal::UploadExpired));
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
    pub async fn discard(&self, caller: Caller<'_>, org: OrgId, id: i64) -> ServiceResult<()> {
        let stashed = self.stashed(caller, org, id).await;
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
    pub async fn purge_expired(&self) -> ServiceResult<()> {
        let mut conn = self.db.acquire().await?;
        imports::delete_upload(&mut conn, 0).await?;
        Ok(())
    }

    /// The latest batches imported into the subtree of `org`.
    pub async fn batches(
        &self,
        caller: Caller<'_>,
        org: OrgId,
    ) -> ServiceResult<Vec<imports::Batch>> {
        let org = self.target(caller, org).await?;
        let mut conn = self.db.acquire().await?;
        Ok(imports::batches_under(&mut conn, &Scope::Subtree(org.path.clone()), 50).await?)
    }

    /// Undo a batch: its members and their untouched drafts are removed, while nothing
    /// depends on them (no form saved or submitted since, no login issued, no survey check).
    /// Undoing more than [`FOUR_EYES_UNDO_ROWS`] rows needs a second person (双人复核).
    pub async fn undo(&self, caller: Caller<'_>, batch: i64) -> ServiceResult<Undone> {
        let mut tx = self.db.begin().await?;
        let undone = self
            .undo_in(&mut tx, caller, batch, super::four_eyes::Via::Direct)
            .await?;
        tx.commit().await?;
        Ok(undone)
    }

    pub(crate) async fn undo_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        caller: Caller<'_>,
        batch: i64,
        via: super::four_eyes::Via,
    ) -> ServiceResult<Undone> {
        caller.require(Action::ManageMembers, None)?;
        let b = imports::get_batch(&mut *tx, batch)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ManageMembers, Some(&b.org_path))?;
        if b.undone_at.is_some() {
            return Err(ServiceError::Conflict(Refusal::AlreadyUndone));
        }
        super::four_eyes::gate(caller, via, b.rows_imported > FOUR_EYES_UNDO_ROWS)?;
        let kind = ImportKind::from_code(&b.kind).unwrap_or(ImportKind::Lawyers);
        let gone = if kind.is_registry() {
            Self::registry_undo(&mut *tx, &b, caller.user_id()).await?
        } else {
            let d = imports::dependents(&mut *tx, batch).await?;
            if d.any() {
                return Err(ServiceError::Conflict(Refusal::UndoBlocked(
                    dependents_message(d),
                )));
            }
            imports::undo(&mut *tx, batch, caller.user_id()).await?
        };
        audit::append(
            &mut *tx,
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
        Ok(Undone {
            kind,
            removed: gone,
        })
    }
}

/// Set a batch's row counts once its rows are in: read, imported, left out, warnings.
/// A header found a second time (the header row, its text, its column letter): refuses the file.
pub(crate) fn column_twice(issues: &mut Vec<Issue>, row: u32, text: &str, letter: &str) {
    push(
        issues,
        Some(row),
        Some(text),
        "COLUMN-TWICE",
        true,
        format!("栏目“{text}”出现了两次（第{letter}列）"),
    );
}

/// The batch record of an import of any kind (the member import sets the kind when the header
/// has told it).
pub(crate) fn new_batch<'a>(
    caller: Caller<'_>,
    org: &'a orgs::Org,
    (file_name, mode): (&'a str, Mode),
    sha256: &'a str,
    by_name: &'a str,
    kind: Option<ImportKind>,
) -> NewBatch<'a> {
    NewBatch {
        kind: kind.map_or("", ImportKind::code),
        org_id: org.id,
        org_path: &org.path,
        file_name,
        file_sha256: sha256,
        mode: mode.code(),
        rows_total: 0,
        rows_imported: 0,
        rows_skipped: 0,
        warnings: 0,
        by: caller.user_id(),
        by_name,
    }
}

/// The end of every import, in its transaction: the batch's counts and the audit event
/// (`import.members`, `import.firms` or `import.orgs`) with what every import records and what
/// the kind adds (`extra`, an object).
pub(crate) async fn finish_batch(
    conn: &mut sqlx::AnyConnection,
    caller: Caller<'_>,
    batch: &NewBatch<'_>,
    (batch_id, kind): (i64, ImportKind),
    report: &Report,
    imported: usize,
    extra: serde_json::Value,
) -> ServiceResult<()> {
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let total = report.rows;
    imports::set_batch_counts(
        conn,
        batch_id,
        [
            count(total),
            count(imported),
            count(total.saturating_sub(imported)),
            count(report.warnings),
        ],
    )
    .await?;
    let mut detail = serde_json::json!({
        "file_name": batch.file_name,
        "kind": kind.code(),
        "mode": batch.mode,
        "rows": total,
        "imported": imported,
        "skipped": total.saturating_sub(imported),
        "warnings": report.warnings,
        "file_sha256": batch.file_sha256,
    });
    if let (Some(d), serde_json::Value::Object(more)) = (detail.as_object_mut(), extra) {
        d.extend(more);
    }
    let action = match kind {
        ImportKind::Firms => "import.firms",
        ImportKind::Orgs => "import.orgs",
        _ => "import.members",
    };
    audit::append(
        conn,
        caller.by(),
        NewEvent {
            action,
            target_kind: "import_batch",
            target_id: batch_id.to_string(),
            target_path: batch.org_path,
            detail,
        },
    )
    .await?;
    Ok(())
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
    if d.casework > 0 {
        parts.push(format!(
            "{} 人已有组织关系转接、分类处理或停止登记",
            d.casework
        ));
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
}
