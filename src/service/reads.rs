//! Read audit: every view of personal data is an audit event naming the records it showed,
//! and 查阅记录 answers who accessed a member's record and what a user accessed.

use super::{Caller, ServiceError, ServiceResult};
use crate::authz::Action;
use crate::domain::{MemberId, TreePath, UserId};
pub use crate::store::audit::AccessFilter;
use crate::store::audit::{self, NewEvent};
use crate::store::orgs::Page;
use crate::store::{Db, members, users};

/// One read to record.
#[derive(Debug, Clone)]
pub struct Read<'a> {
    /// `read.member`, `read.members`, `read.registration`, …: see [`crate::domain::audit`].
    pub action: &'static str,
    pub target_kind: &'static str,
    pub target_id: String,
    pub target_path: &'a TreePath,
    /// The members whose personal data the page or file showed.
    pub subjects: Vec<i64>,
    /// What was asked (page, filters, purpose); never a citizen ID number.
    pub detail: serde_json::Value,
}

/// A read waiting to be written: what [`Read`] says, owned.
#[derive(Debug)]
struct Pending {
    actor: Option<crate::authz::Actor>,
    action: &'static str,
    target_kind: &'static str,
    target_id: String,
    target_path: TreePath,
    subjects: Vec<i64>,
    detail: serde_json::Value,
}

#[derive(Debug)]
enum Msg {
    Read(Box<Pending>),
    /// Answered once everything queued before it is committed.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// The queue of reads to record. Pages hand their read over and answer at once; one writer
/// task commits what has queued up in one transaction (many reads per transaction under
/// load), so the audit costs a page a channel send, not a write. Whoever reads the audit log
/// flushes the queue first, so a history always shows the reads made before it was asked for.
/// What a crash loses is what waited for the current transaction (milliseconds of reads).
#[derive(Debug, Clone, Default)]
pub struct ReadLog(std::sync::Arc<std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<Msg>>>);

/// Reads written per transaction at most.
const BATCH: usize = 500;

impl ReadLog {
    fn sender(&self, db: &Db) -> &tokio::sync::mpsc::UnboundedSender<Msg> {
        self.0.get_or_init(|| {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(writer(db.clone(), rx));
            tx
        })
    }

    /// Wait until every read queued so far is in the database.
    pub async fn flush(&self) {
        let Some(tx) = self.0.get() else { return };
        let (done, wait) = tokio::sync::oneshot::channel();
        if tx.send(Msg::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

/// How long the writer lets reads gather after the first one arrives (unless somebody is
/// waiting for a flush): group commit, one transaction for all of them.
const GATHER: std::time::Duration = std::time::Duration::from_millis(20);

async fn writer(db: Db, mut rx: tokio::sync::mpsc::UnboundedReceiver<Msg>) {
    while let Some(first) = rx.recv().await {
        let mut reads = Vec::new();
        let mut flushes = Vec::new();
        let mut gathered = false;
        let mut next = Some(first);
        loop {
            while let Some(m) = next.take() {
                match m {
                    Msg::Read(p) => reads.push(*p),
                    Msg::Flush(f) => flushes.push(f),
                }
                if reads.len() < BATCH {
                    next = rx.try_recv().ok();
                }
            }
            if gathered || !flushes.is_empty() || reads.len() >= BATCH {
                break;
            }
            tokio::time::sleep(GATHER).await;
            gathered = true;
            next = rx.try_recv().ok();
        }
        if !reads.is_empty() {
            // One retry after a pause: a long import may hold SQLite's write lock.
            let mut result = write(&db, &reads).await;
            if result.is_err() {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                result = write(&db, &reads).await;
            }
            if let Err(e) = result {
                tracing::error!(reads = reads.len(), error = %e, "read audit events not written");
            }
        }
        for f in flushes {
            let _ = f.send(());
        }
    }
}

async fn write(db: &Db, reads: &[Pending]) -> ServiceResult<()> {
    let batch: Vec<audit::BatchEvent<'_>> = reads
        .iter()
        .map(|r| audit::BatchEvent {
            by: match &r.actor {
                Some(a) => audit::By::Actor(a),
                None => audit::By::System("命令行"),
            },
            event: NewEvent {
                action: r.action,
                target_kind: r.target_kind,
                target_id: r.target_id.clone(),
                target_path: &r.target_path,
                detail: r.detail.clone(),
            },
            subjects: &r.subjects,
        })
        .collect();
    let mut tx = db.begin().await?;
    audit::append_batch(&mut tx, &batch).await?;
    tx.commit().await?;
    Ok(())
}

/// Record a read (queued, see [`ReadLog`]). A member reading only their own record is not
/// recorded (it is nobody else's access to their data).
pub(crate) async fn record(
    services: &super::Services,
    caller: Caller<'_>,
    r: Read<'_>,
) -> ServiceResult<()> {
    if let Caller::User(a) = caller
        && let Some(own) = a.member_id
        && r.subjects.iter().all(|s| *s == own.0)
    {
        return Ok(());
    }
    if r.subjects.is_empty() {
        return Ok(());
    }
    let pending = Pending {
        actor: match caller {
            Caller::User(a) => Some(a.clone()),
            Caller::Operator => None,
        },
        action: r.action,
        target_kind: r.target_kind,
        target_id: r.target_id,
        target_path: r.target_path.clone(),
        subjects: r.subjects,
        detail: r.detail,
    };
    services
        .read_log
        .sender(&services.db)
        .send(Msg::Read(Box::new(pending)))
        .map_err(|_| ServiceError::Failed("查阅记录无法写入（记录队列已关闭）".into()))?;
    Ok(())
}

/// One line of an access history: the event, and (for exports covering the member's part of
/// the tree) that it named no one by record but covered them.
pub use crate::store::audit::Access;

super::area!(ReadsService);

impl ReadsService<'_> {
    /// Who accessed this member's record (查阅记录): every read naming them and every export of
    /// a person table that covered them, newest first. Auditors and administrators whose
    /// scope holds the member; anyone else gets "not found".
    pub async fn of_member(
        &self,
        caller: Caller<'_>,
        id: MemberId,
        f: &AccessFilter,
        page: i64,
        per_page: i64,
    ) -> ServiceResult<(members::Member, Page<Access>)> {
        self.read_log.flush().await;
        let mut conn = self.db.acquire().await?;
        let member = members::get(&mut conn, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ReadMember(id), Some(&member.org_path))?;
        caller.require(Action::ReadAudit, Some(&member.org_path))?;
        let list =
            audit::accesses_of_member(&mut conn, id.0, &member.org_path, f, page, per_page).await?;
        Ok((member, list))
    }

    /// What a user accessed: their reads and exports, newest first. Anyone for themselves;
    /// auditors and administrators for an account inside their scope.
    pub async fn of_user(
        &self,
        caller: Caller<'_>,
        id: UserId,
        f: &AccessFilter,
        page: i64,
        per_page: i64,
    ) -> ServiceResult<(users::User, Page<Access>)> {
        self.read_log.flush().await;
        let mut conn = self.db.acquire().await?;
        let user = users::get(&mut conn, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let own = caller.user_id() == Some(id);
        if !own {
            caller.require(Action::ReadAudit, Some(&user.org_path))?;
        }
        let list = audit::accesses_by_user(&mut conn, id.0, f, page, per_page).await?;
        Ok((user, list))
    }

    /// 查看完整号码: the member's full citizen ID number (as on their form, when corrected
    /// there), for a stated purpose; the reveal is audited with it, whoever asks.
    pub async fn reveal(
        &self,
        caller: Caller<'_>,
        id: MemberId,
        purpose: &super::Purpose,
    ) -> ServiceResult<String> {
        let (member, reg) = {
            let mut conn = self.db.acquire().await?;
            let member = members::get(&mut conn, id)
                .await?
                .ok_or(ServiceError::NotFound)?;
            caller.require(Action::ReadMember(id), Some(&member.org_path))?;
            let reg = match crate::store::campaigns::latest(&mut conn).await? {
                Some(c) => crate::store::registrations::get(&mut conn, c.id, id).await?,
                None => None,
            };
            (member, reg)
        };
        let full = self
            .registration()
            .current_citizen_id(&member, reg.as_ref())
            .await?;
        let mut tx = self.db.begin().await?;
        audit::append_with(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "reveal",
                target_kind: "member",
                target_id: id.to_string(),
                target_path: &member.org_path,
                detail: serde_json::json!({"purpose": purpose.label()}),
            },
            &[id.0],
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(full)
    }

    /// A member's 查阅记录 as an .xlsx (at most [`ACCESS_EXPORT_ROWS`]); itself an export.
    pub async fn member_xlsx(
        &self,
        caller: Caller<'_>,
        id: MemberId,
        f: &AccessFilter,
    ) -> ServiceResult<(String, Vec<u8>)> {
        let (member, page) = self.of_member(caller, id, f, 1, ACCESS_EXPORT_ROWS).await?;
        let title = format!("{} 的查阅记录", member.name);
        let mark = super::watermark(caller, &member.org_name, None);
        let bytes = access_workbook(&title, &page.items, page.has_next, true, &mark)?;
        super::record_export(
            &self.db,
            caller,
            NewEvent {
                action: "export.accesses",
                target_kind: "member",
                target_id: id.to_string(),
                target_path: &member.org_path,
                detail: serde_json::json!({"rows": page.items.len()}),
            },
            &[id.0],
            &mark,
        )
        .await?;
        Ok((format!("查阅记录_{}.xlsx", member.name), bytes))
    }

    /// What a user accessed, as an .xlsx; itself an export.
    pub async fn user_xlsx(
        &self,
        caller: Caller<'_>,
        id: UserId,
        f: &AccessFilter,
    ) -> ServiceResult<(String, Vec<u8>)> {
        let (user, page) = self.of_user(caller, id, f, 1, ACCESS_EXPORT_ROWS).await?;
        let title = format!("{}（{}）查阅的记录", user.display_name, user.username);
        let mark = super::watermark(caller, &user.org_name, None);
        let bytes = access_workbook(&title, &page.items, page.has_next, false, &mark)?;
        super::record_export(
            &self.db,
            caller,
            NewEvent {
                action: "export.accesses",
                target_kind: "user",
                target_id: id.to_string(),
                target_path: &user.org_path,
                detail: serde_json::json!({"rows": page.items.len()}),
            },
            &[],
            &mark,
        )
        .await?;
        Ok((format!("查阅记录_{}.xlsx", user.username), bytes))
    }
}

/// Most lines of an access history written to one sheet.
pub const ACCESS_EXPORT_ROWS: i64 = 50_000;

fn access_workbook(
    title: &str,
    items: &[Access],
    cut: bool,
    with_actor: bool,
    mark: &crate::watermark::Watermark,
) -> ServiceResult<Vec<u8>> {
    use crate::domain::audit::{action_label, detail_text, target_label};
    use crate::workbook::{Cell, a4_landscape, write_table};
    let build = || -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        a4_landscape(ws, "查阅记录", 1)?;
        ws.write_string(
            0,
            0,
            if cut {
                format!("{title}（仅含最近 {ACCESS_EXPORT_ROWS} 条，请缩小日期范围）")
            } else {
                format!("{title}（{} 条）", items.len())
            },
        )?;
        let mut heads = vec!["时间"];
        if with_actor {
            heads.extend(["查阅人", "所在组织", "角色"]);
        }
        heads.extend(["来源地址", "方式", "对象", "内容"]);
        for (i, w) in [17.0, 16.0, 24.0, 10.0, 16.0, 18.0, 14.0, 50.0]
            .iter()
            .take(heads.len())
            .enumerate()
        {
            ws.set_column_width(i as u16, *w)?;
        }
        let rows: Vec<Vec<Cell>> = items
            .iter()
            .map(|a| {
                let e = &a.event;
                let mut cells: Vec<Cell> = vec![super::beijing_time(e.at).into()];
                if with_actor {
                    cells.push(
                        e.actor_name
                            .clone()
                            .unwrap_or_else(|| e.actor_username.clone())
                            .into(),
                    );
                    cells.push(e.actor_org.clone().unwrap_or_default().into());
                    cells.push(
                        crate::domain::Role::from_code(&e.actor_role)
                            .map_or("系统", crate::domain::Role::label)
                            .into(),
                    );
                }
                cells.push(e.source.clone().unwrap_or_default().into());
                cells.push(action_label(&e.action).into());
                cells.push(format!("{} {}", target_label(&e.target_kind), e.target_id).into());
                let mut d = detail_text(&e.detail);
                if a.covered {
                    d = format!("导出本级及下级全部名单（含此人）；{d}");
                }
                cells.push(d.into());
                cells
            })
            .collect();
        write_table(ws, 1, &heads, &rows)?;
        mark.apply(&mut wb);
        wb.save_to_buffer()
    };
    build().map_err(|e| ServiceError::Failed(format!("无法生成 Excel 文件：{e}")))
}
