//! The member list (附件1, 附件2, or both in one list): its header found and its columns
//! mapped, every row checked as it streams from a reader thread (form rules, eligibility at the
//! campaign's date, duplicates in the file and across the country), then written in chunks into
//! one transaction with the draft forms and the 摸底核查 marks the list gives.

use std::collections::{BTreeMap, HashMap};

use super::*;
use crate::domain::eligibility::{self, Facts};
use crate::domain::{CitizenId, FirmId, OrgId, TreePath};
use crate::forms::{Catalogue, Field, Form, validate};
use crate::sheet::{self, Value};
use crate::store::firms::FirmRef;
use crate::store::members::NewMember;
use crate::store::{StoreError, orgs, survey, tallies};
use crate::store::{firms as firm_store, imports};

/// The column naming each member's firm (not a form field: it places the record).
pub const FIRM_COLUMN: &str = "律师事务所统一社会信用代码";
/// The column saying whether a row of a mixed list is a lawyer or staff (not a form field).
pub const IDENTITY_COLUMN: &str = "人员身份";
/// The member list's column of the 分类处理 case of a member whose 组织关系 is not here.
pub const CASE_COLUMN: &str = "问题类别";
/// The member list's column of why the 组织关系 is not here.
pub const REASON_COLUMN: &str = "未转入原因";

/// Fields a member record cannot do without: a row missing one is not imported. The form's
/// other required fields may follow later (the member completes the draft). A lawyer's record
/// also needs the last two.
const CORE_LAWYER: [&str; 9] = [
    "name",
    "citizen_id",
    "ethnicity",
    "education",
    "party_status",
    "joined_on",
    "mobile",
    "licence_no",
    "practice_type",
];

/// A row ready to be stored: the member as a JSON row (`imports::member_row`), where it
/// goes, and its draft form's data.
pub(super) struct Prepared {
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
pub(super) struct Mark {
    transferred: &'static str,
    case: Option<String>,
    reason: Option<String>,
}

/// The mark a row's 组织关系是否在本所 (or, without it, its 转接状态) and its 问题类别 give;
/// findings about the case go to `issues`.
pub(super) fn survey_mark(
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

pub(super) struct Columns<'a> {
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

/// Find the header among the first rows: the row naming most of the forms' columns.
pub(super) fn find_header(catalogue: &Catalogue, rows: &[(u32, Vec<Value>)]) -> Option<usize> {
    let mut known: Vec<String> = vec![norm(FIRM_COLUMN)];
    for code in ["A1", "A2"] {
        if let Some(form) = catalogue.form(code) {
            known.extend(catalogue.fields_of(form).map(|f| norm(&f.label)));
        }
    }
    header_row(rows, |cells| {
        let hits = cells
            .iter()
            .filter(|c| known.contains(&header_key(catalogue, &cell_text(c))))
            .count();
        (hits >= 3).then_some(hits)
    })
    .map(|(i, _)| i)
}

pub(super) fn guess_kind(catalogue: &Catalogue, headers: &[String]) -> Result<ImportKind, String> {
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

impl crate::service::import::ImportService<'_> {
    pub(super) async fn import_in(
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
            batch: new_batch(caller, &org, (file_name, mode), &sha256, &by_name, None),
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
        let batch = sink.batch;
        tallies::apply(&mut tx, &sink.tallies).await?;
        tracing::debug!(elapsed = ?started.elapsed(), "import: tallies applied");
        tallies::add_grams(&mut tx, batch_id).await?;
        crate::store::analysis::add_batch(&mut tx, batch_id).await?;
        tracing::debug!(elapsed = ?started.elapsed(), "import: grams written");
        tallies::resume_rows(&mut tx, batch_id).await?;
        finish_batch(
            &mut tx,
            caller,
            &batch,
            (batch_id, kind),
            &report,
            imported,
            serde_json::json!({
                "looked_up": report.looked_up,
                "nationwide_hits": report.nationwide_hits,
            }),
        )
        .await?;
        tracing::debug!(elapsed = ?started.elapsed(), "import: batch finished");
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
    pub(super) async fn check_context(&self, org: &orgs::Org) -> ServiceResult<CheckContext> {
        let mut conn = self.db.acquire().await?;
        let own_firms = firm_store::refs_of_org(&mut conn, org.id).await?;
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
            today: crate::service::rules_date(campaign.as_ref()),
            cutoff,
            keys: self.keys.clone(),
        })
    }

    /// Read, check and (importing) write a file as a pipeline: a reader thread hands rows to a
    /// checker thread, which hands checked rows here in chunks for the nationwide duplicate
    /// check and, with a sink, the database. Memory stays bounded by a few chunks.
    /// `budget`: how many more numbers the caller may look up nationwide today (none: no
    /// limit); a file that needs more is refused where the budget runs out.
    pub(super) async fn pipeline(
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
}

/// Rows read per message from the reader thread to the checker.
pub(super) const READ_CHUNK: usize = 256;
/// Rows whose firms are looked up together.
pub(super) const FIRM_LOOKUP_ROWS: usize = 500;
/// Rows checked per message from the checker to the duplicate check and the database.
pub(super) const CHECK_CHUNK: usize = 2_000;

/// Whether the pipeline goes on after a step.
pub(super) enum Flow {
    Go,
    /// The caller's nationwide lookups for the day would run out with this chunk.
    LimitReached,
}

/// From the reader thread to the checker.
pub(super) enum Read {
    Head(sheet::Head),
    Rows(Vec<(u32, Vec<Value>)>),
    /// The whole sheet was read.
    End,
    Failed(sheet::SheetError),
}

/// From the checker to the pipeline.
pub(super) enum Checked {
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
pub(super) struct Candidate {
    row: u32,
    index: Option<String>,
    licence: Option<String>,
    error: bool,
    prepared: Option<Prepared>,
}

/// What the checker thread owns.
pub(super) struct CheckContext {
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
pub(super) struct CheckEnd {
    report: Report,
    bad_rows: std::collections::HashSet<u32>,
    found: Found,
    /// (earlier row, later row, column): the earlier of two rows with the same key, found
    /// wrong only when the later one came.
    earlier_dups: Vec<(u32, u32, String)>,
}

/// The import's end of the pipeline: the batch and its rows in one open transaction.
pub(super) struct Sink<'a> {
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
pub(super) struct Written {
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
                    Refusal::Raced("导入期间有其他人登记了文件中的党员（公民身份号码或执业证号重复）：未导入任何数据，请重新预检后再导入".into()),
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
pub(super) fn read_rows(bytes: &[u8], out: &std::sync::mpsc::SyncSender<Read>) {
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
pub(super) struct RowSource<'a> {
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

/// The fields a member record of this kind cannot do without (a staff member's: all but the
/// licence's two).
fn core_fields(kind: ImportKind) -> &'static [&'static str] {
    if kind == ImportKind::Lawyers {
        &CORE_LAWYER
    } else {
        &CORE_LAWYER[..7]
    }
}

/// Whether a row of a mixed list is a lawyer's (附件1) or a staff member's (附件2): told by its
/// 人员身份 (as people write it), else by whether it has a licence number; an unknown 人员身份 is
/// an error in `issues`.
fn mixed_row_kind(
    catalogue: &Catalogue,
    licensed: bool,
    told: Option<String>,
    row: u32,
    issues: &mut Vec<Issue>,
) -> ImportKind {
    let by_licence = if licensed {
        ImportKind::Lawyers
    } else {
        ImportKind::Staff
    };
    let Some(t) = told.filter(|t| !t.is_empty()) else {
        return by_licence;
    };
    match catalogue.list("category").map(|l| l.resolve(&t)) {
        Some(Ok("lawyer")) => ImportKind::Lawyers,
        Some(Ok(_)) => ImportKind::Staff,
        _ => {
            push(
                issues,
                Some(row),
                Some(IDENTITY_COLUMN),
                "CODE-UNKNOWN",
                true,
                format!("{IDENTITY_COLUMN}：“{t}”应为“律师”或“工作人员”"),
            );
            by_licence
        }
    }
}

/// The member list's header mapped: each header to a field of the list's forms, and the firm,
/// 人员身份, 问题类别 and 未转入原因 columns (with the column of 人员身份, for a mixed list);
/// extra columns, columns given twice and missing ones reported in `issues`.
fn map_columns<'f>(
    catalogue: &'f Catalogue,
    forms: &[(ImportKind, &'f Form)],
    kind: ImportKind,
    (headers, normed): (&[String], &[String]),
    (header_row, attachment): (u32, &str),
    issues: &mut Vec<Issue>,
) -> (Columns<'f>, Option<usize>) {
    let mut cols = Columns {
        fields: Vec::new(),
        firm: None,
        case: None,
        reason: None,
        headers: headers.to_vec(),
    };
    let mut identity: Option<usize> = None;
    let mut fields: Vec<&Field> = Vec::new();
    for (_, f) in forms {
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
                column_twice(issues, header_row, &headers[i], &column);
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
            Some(f) if cols.fields.iter().any(|(_, g)| g.code == f.code) => {
                column_twice(issues, header_row, &headers[i], &column);
            }
            Some(f) => cols.fields.push((i, f)),
            None => push(
                issues,
                Some(header_row),
                Some(&headers[i]),
                "COLUMN-EXTRA",
                false,
                format!("第{column}列“{}”不是{attachment}的栏目，已忽略", headers[i]),
            ),
        }
    }
    let core = core_fields(kind);
    let mut later = Vec::new();
    for f in &fields {
        if cols.fields.iter().any(|(_, g)| g.code == f.code) {
            continue;
        }
        if core.contains(&f.code.as_str()) {
            push(
                issues,
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
            issues,
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
    (cols, identity)
}

/// The checker thread: finds the header, maps the columns and checks every row as it comes
/// from the reader, handing checked rows on in chunks.
#[allow(clippy::too_many_lines)]
pub(super) fn check_rows(
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
        && let Some((_, k)) = registry::detect(&first)
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
    let (cols, identity) = map_columns(
        catalogue,
        &forms,
        kind,
        (&headers, &normed),
        (header_row, &attachment),
        &mut issues,
    );
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
                    firm_store::refs_by_codes(&mut conn, &codes, &scope).await
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
                mixed_row_kind(
                    catalogue,
                    values.contains_key("licence_no"),
                    identity.map(|i| cell_text(get(i))),
                    row,
                    &mut row_issues,
                )
            } else {
                kind
            };
            let form = form_of(row_kind).unwrap_or(forms[0].1);
            // The other form's own columns are not this row's.
            values.retain(|code, _| catalogue.fields_of(form).any(|f| &f.code == code));
            let row_core = core_fields(row_kind);
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
                        outcome: None,
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
pub(super) async fn registered_elsewhere(
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
pub(super) fn prepare(
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
