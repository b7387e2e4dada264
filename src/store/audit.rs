//! The append-only audit log. Only services write it, inside the transaction of the change.

use sqlx::{AnyConnection, Row};

use super::orgs::{Page, push_path_scope};
use super::{Sql, StoreResult, now};
use crate::authz::{Actor, Scope};
use crate::domain::TreePath;

/// One event to record.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub action: &'static str,
    pub target_kind: &'static str,
    pub target_id: String,
    /// Where in the tree the target sits: decides who may read the event.
    pub target_path: &'a TreePath,
    /// What changed, as JSON text. Never holds a citizen ID number or a password.
    pub detail: serde_json::Value,
}

/// Who did it: a signed-in actor, or the system itself (command line, start-up).
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    Actor(&'a Actor),
    System(&'a str),
}

/// What an event records of who acted: account id, username, role, node, source address.
type ActorFields = (Option<i64>, String, String, Option<i64>, Option<String>);

impl By<'_> {
    fn fields(&self) -> ActorFields {
        match self {
            By::Actor(a) => (
                Some(a.user_id.0),
                a.username.clone(),
                a.role.code().to_owned(),
                Some(a.org_id.0),
                a.source.clone(),
            ),
            By::System(who) => (None, (*who).to_owned(), "system".to_owned(), None, None),
        }
    }
}

pub async fn append(conn: &mut AnyConnection, by: By<'_>, e: NewEvent<'_>) -> StoreResult<()> {
    append_with(conn, by, e, &[], None).await.map(|_| ())
}

/// The genesis link: the "previous hash" of the first event of the chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of an event that its hash covers, in their canonical order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canonical {
    pub seq: i64,
    pub at: i64,
    pub actor_user_id: Option<i64>,
    pub actor_username: String,
    pub actor_role: String,
    pub actor_org_id: Option<i64>,
    pub source: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub target_path: String,
    pub detail: String,
}

impl Canonical {
    /// SHA-256 over the previous hash and each field, length-prefixed (so no two different
    /// events share an encoding), as lower-case hex.
    pub fn hash(&self, prev_hash: &str) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let mut field = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        };
        field(prev_hash.as_bytes());
        field(self.seq.to_string().as_bytes());
        field(self.at.to_string().as_bytes());
        field(
            self.actor_user_id
                .map(|v| v.to_string())
                .unwrap_or_default()
                .as_bytes(),
        );
        field(self.actor_username.as_bytes());
        field(self.actor_role.as_bytes());
        field(
            self.actor_org_id
                .map(|v| v.to_string())
                .unwrap_or_default()
                .as_bytes(),
        );
        field(self.source.as_deref().unwrap_or_default().as_bytes());
        field(self.action.as_bytes());
        field(self.target_kind.as_bytes());
        field(self.target_id.as_bytes());
        field(self.target_path.as_bytes());
        field(self.detail.as_bytes());
        hex::encode(h.finalize())
    }
}

/// Take the next link of the chain: bumps the head's sequence number (on PostgreSQL this
/// locks the head row until the transaction ends, which is what keeps many writers in one
/// chain; on SQLite the single writer already holds the lock) and returns it with the
/// previous hash.
async fn next_link(conn: &mut AnyConnection) -> StoreResult<(i64, String)> {
    let row = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut *conn)
        .await?;
    Ok((row.try_get("seq")?, row.try_get("hash")?))
}

async fn set_head(conn: &mut AnyConnection, hash: &str, at: i64) -> StoreResult<()> {
    sqlx::query("UPDATE audit_head SET hash = $1, updated_at = $2 WHERE id = 1")
        .bind(hash.to_owned())
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Append an event, chained to the one before, with the members it concerns (indexed for
/// 查阅记录) and, for an export, the id printed in the file. Returns the event's id.
pub async fn append_with(
    conn: &mut AnyConnection,
    by: By<'_>,
    e: NewEvent<'_>,
    subjects: &[i64],
    export_id: Option<&str>,
) -> StoreResult<i64> {
    let (user_id, username, role, org_id, source) = by.fields();
    let (seq, prev_hash) = next_link(conn).await?;
    let c = Canonical {
        seq,
        at: now(),
        actor_user_id: user_id,
        actor_username: username,
        actor_role: role,
        actor_org_id: org_id,
        source,
        action: e.action.to_owned(),
        target_kind: e.target_kind.to_owned(),
        target_id: e.target_id,
        target_path: e.target_path.as_str().to_owned(),
        detail: e.detail.to_string(),
    };
    let hash = c.hash(&prev_hash);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit_events (at, actor_user_id, actor_username, actor_role, actor_org_id, \
         source, action, target_kind, target_id, target_path, detail, seq, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(c.at)
    .bind(c.actor_user_id)
    .bind(c.actor_username)
    .bind(c.actor_role)
    .bind(c.actor_org_id)
    .bind(c.source)
    .bind(c.action)
    .bind(c.target_kind)
    .bind(c.target_id)
    .bind(c.target_path)
    .bind(c.detail)
    .bind(seq)
    .bind(prev_hash)
    .bind(hash.clone())
    .fetch_one(&mut *conn)
    .await?;
    set_head(conn, &hash, c.at).await?;
    for chunk in subjects.chunks(400) {
        let mut sql = super::Sql::new("INSERT INTO audit_subjects (event_id, member_id) VALUES ");
        for (i, m) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(").int(id).push(", ").int(*m).push(")");
        }
        sql.query().execute(&mut *conn).await?;
    }
    if let Some(x) = export_id {
        sqlx::query("INSERT INTO audit_exports (export_id, event_id) VALUES ($1, $2)")
            .bind(x.to_owned())
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(id)
}

/// Seal the events written before the chain existed (hash empty) into it, in id order.
/// Run once after the migration; a no-op afterwards. Returns how many were sealed.
pub async fn seal_unchained(conn: &mut AnyConnection) -> StoreResult<u64> {
    let mut sealed = 0u64;
    loop {
        let rows = sqlx::query(
            "SELECT id, at, actor_user_id, actor_username, actor_role, actor_org_id, source, action, \
             target_kind, target_id, target_path, detail FROM audit_events \
             WHERE hash IS NULL ORDER BY id LIMIT 1000",
        )
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            return Ok(sealed);
        }
        for r in &rows {
            let (seq, prev_hash) = next_link(conn).await?;
            let id: i64 = r.try_get("id")?;
            let c = canonical_of(r, seq)?;
            let hash = c.hash(&prev_hash);
            sqlx::query(
                "UPDATE audit_events SET seq = $1, prev_hash = $2, hash = $3 WHERE id = $4",
            )
            .bind(seq)
            .bind(prev_hash)
            .bind(hash.clone())
            .bind(id)
            .execute(&mut *conn)
            .await?;
            set_head(conn, &hash, c.at).await?;
            sealed += 1;
        }
    }
}

fn canonical_of(r: &sqlx::any::AnyRow, seq: i64) -> StoreResult<Canonical> {
    Ok(Canonical {
        seq,
        at: r.try_get("at")?,
        actor_user_id: r.try_get("actor_user_id")?,
        actor_username: r.try_get("actor_username")?,
        actor_role: r.try_get("actor_role")?,
        actor_org_id: r.try_get("actor_org_id")?,
        source: r.try_get("source")?,
        action: r.try_get("action")?,
        target_kind: r.try_get("target_kind")?,
        target_id: r.try_get("target_id")?,
        target_path: r.try_get("target_path")?,
        detail: r.try_get("detail")?,
    })
}

/// The head of the chain: the last link's number and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
    pub updated_at: i64,
}

pub async fn head(conn: &mut AnyConnection) -> StoreResult<Head> {
    let r = sqlx::query("SELECT seq, hash, updated_at FROM audit_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    Ok(Head {
        seq: r.try_get("seq")?,
        hash: r.try_get("hash")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// What is wrong with the chain at one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// The event's content no longer matches its hash: it was edited.
    Edited { id: i64, seq: i64 },
    /// Events are missing before this one (sequence numbers skipped).
    Deleted {
        id: i64,
        missing_from: i64,
        missing_to: i64,
    },
    /// The event does not continue the chain from the one before it, or claims a place that
    /// another event holds: it was inserted (or replaced one).
    Inserted { id: i64, seq: i64 },
    /// Events stand out of their order: they were swapped or moved.
    Reordered { id: i64, seq: i64 },
    /// The event has no place in the chain at all.
    Unsealed { id: i64 },
    /// The chain ends before the head says it does: the last events were removed.
    TailMissing { last_seq: i64, head_seq: i64 },
    /// The chain's last hash differs from the head's.
    HeadMismatch { last_seq: i64 },
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub events: u64,
    pub last_seq: i64,
    pub last_hash: String,
    pub first_break: Option<Break>,
    /// The hash at given sequence numbers (for checking saved checkpoints).
    pub at_seq: Vec<(i64, String)>,
}

/// Walk every event in id order and check each link; stops at the first break. `want` lists
/// sequence numbers whose hash to report (checkpoints); `progress` is called every 100,000.
pub async fn verify(
    conn: &mut AnyConnection,
    want: &[i64],
    mut progress: impl FnMut(u64),
) -> StoreResult<Verified> {
    use futures_util::TryStreamExt;
    let mut out = Verified {
        events: 0,
        last_seq: 0,
        last_hash: GENESIS.to_owned(),
        first_break: None,
        at_seq: Vec::new(),
    };
    {
        let mut rows = sqlx::query(
            "SELECT id, at, actor_user_id, actor_username, actor_role, actor_org_id, source, action, \
             target_kind, target_id, target_path, detail, seq, prev_hash, hash \
             FROM audit_events ORDER BY id",
        )
        .fetch(&mut *conn);
        let mut pending: Option<Break> = None;
        while let Some(r) = rows.try_next().await? {
            let id: i64 = r.try_get("id")?;
            let seq: Option<i64> = r.try_get("seq")?;
            let prev: Option<String> = r.try_get("prev_hash")?;
            let hash: Option<String> = r.try_get("hash")?;
            let (Some(seq), Some(prev), Some(hash)) = (seq, prev, hash) else {
                out.first_break = Some(Break::Unsealed { id });
                break;
            };
            let expected = out.last_seq + 1;
            if pending.is_none() && canonical_of(&r, seq)?.hash(&prev) != hash {
                out.first_break = Some(Break::Edited { id, seq });
                break;
            }
            if let Some(Break::Deleted {
                id: first,
                missing_from,
                missing_to,
            }) = pending
            {
                // The row after a gap tells a deletion from a swap: one of the "missing"
                // numbers turning up after it means the events were moved, not removed.
                out.first_break = Some(if (missing_from..=missing_to).contains(&seq) {
                    Break::Reordered {
                        id: first,
                        seq: missing_to + 1,
                    }
                } else {
                    Break::Deleted {
                        id: first,
                        missing_from,
                        missing_to,
                    }
                });
                break;
            }
            if seq > expected {
                pending = Some(Break::Deleted {
                    id,
                    missing_from: expected,
                    missing_to: seq - 1,
                });
                continue;
            }
            if seq < expected {
                // Every number below `expected` was seen already: a second event claims it.
                out.first_break = Some(Break::Inserted { id, seq });
                break;
            }
            if prev != out.last_hash {
                out.first_break = Some(Break::Inserted { id, seq });
                break;
            }
            out.events += 1;
            out.last_seq = seq;
            out.last_hash = hash;
            if want.contains(&seq) {
                out.at_seq.push((seq, out.last_hash.clone()));
            }
            if out.events.is_multiple_of(100_000) {
                progress(out.events);
            }
        }
        if out.first_break.is_none() {
            out.first_break = pending;
        }
    }
    if out.first_break.is_none() {
        let h = head(conn).await?;
        if h.seq > out.last_seq {
            out.first_break = Some(Break::TailMissing {
                last_seq: out.last_seq,
                head_seq: h.seq,
            });
        } else if h.hash != out.last_hash || h.seq != out.last_seq {
            out.first_break = Some(Break::HeadMismatch {
                last_seq: out.last_seq,
            });
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub at: i64,
    pub actor_username: String,
    pub actor_role: String,
    /// The account's name and organisation, when the event was an account's.
    pub actor_name: Option<String>,
    pub actor_org: Option<String>,
    /// The address the request came from.
    pub source: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub detail: String,
}

/// Reads of personal data (`read.*`, `reveal`, `export.*`) or everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Reads,
    Changes,
}

/// What the audit log is filtered by (besides the reader's scope).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    /// Only reads of personal data (views, reveals, exports), or only the rest.
    pub kind: Option<EventKind>,
    /// Part of the acting account's username or name.
    pub user: Option<String>,
    /// Unix seconds: from (inclusive) and to (exclusive).
    pub from: Option<i64>,
    pub to: Option<i64>,
}

pub async fn list(
    conn: &mut AnyConnection,
    scope: &Scope,
    f: &AuditFilter,
    page: i64,
    per_page: i64,
) -> StoreResult<Page<Event>> {
    let Scope::Subtree(path) = scope else {
        return Ok(Page::from_rows(Vec::new(), 1, per_page));
    };
    let mut sql = Sql::new(
        "SELECT e.id, e.at, e.actor_username, e.actor_role, u.display_name AS actor_name, \
         o.name AS actor_org, e.source, e.action, e.target_kind, e.target_id, e.detail \
         FROM audit_events e LEFT JOIN users u ON u.id = e.actor_user_id \
         LEFT JOIN orgs o ON o.id = e.actor_org_id WHERE 1 = 1",
    );
    push_path_scope(&mut sql, "e.target_path", path);
    if let Some(a) = f.action.as_deref().filter(|a| !a.is_empty()) {
        sql.push(" AND e.action = ").text(a);
    }
    const READS: &str =
        "(e.action LIKE 'read.%' OR e.action = 'reveal' OR e.action LIKE 'export.%')";
    match f.kind {
        Some(EventKind::Reads) => {
            sql.push(" AND ").push(READS);
        }
        Some(EventKind::Changes) => {
            sql.push(" AND NOT ").push(READS);
        }
        None => {}
    }
    if let Some(who) = f.user.as_deref().filter(|u| !u.is_empty()) {
        let like = format!("%{}%", super::sql::like_escape(who));
        sql.push(" AND (e.actor_username LIKE ")
            .text(like.clone())
            .push(" ESCAPE '\\' OR u.display_name LIKE ")
            .text(like)
            .push(" ESCAPE '\\')");
    }
    if let Some(from) = f.from {
        sql.push(" AND e.at >= ").int(from);
    }
    if let Some(to) = f.to {
        sql.push(" AND e.at < ").int(to);
    }
    sql.push(" ORDER BY e.id DESC LIMIT ")
        .int(per_page + 1)
        .push(" OFFSET ")
        .int((page - 1) * per_page);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let items = rows.iter().map(event_of).collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, per_page))
}

/// The export event printed with this id (any case), whoever may read it: for the operator.
pub async fn find_export(conn: &mut AnyConnection, export_id: &str) -> StoreResult<Option<Event>> {
    let r = sqlx::query(
        "SELECT e.id, e.at, e.actor_username, e.actor_role, u.display_name AS actor_name, \
         o.name AS actor_org, e.source, e.action, e.target_kind, e.target_id, e.detail \
         FROM audit_exports x JOIN audit_events e ON e.id = x.event_id \
         LEFT JOIN users u ON u.id = e.actor_user_id LEFT JOIN orgs o ON o.id = e.actor_org_id \
         WHERE x.export_id = $1",
    )
    .bind(export_id.to_ascii_uppercase())
    .fetch_optional(&mut *conn)
    .await?;
    r.as_ref().map(event_of).transpose()
}

fn event_of(r: &sqlx::any::AnyRow) -> StoreResult<Event> {
    Ok(Event {
        id: r.try_get("id")?,
        at: r.try_get("at")?,
        actor_username: r.try_get("actor_username")?,
        actor_role: r.try_get("actor_role")?,
        actor_name: r.try_get("actor_name")?,
        actor_org: r.try_get("actor_org")?,
        source: r.try_get("source")?,
        action: r.try_get("action")?,
        target_kind: r.try_get("target_kind")?,
        target_id: r.try_get("target_id")?,
        detail: r.try_get("detail")?,
    })
}

/// What an access history is filtered by: unix seconds, from (inclusive) and to (exclusive).
#[derive(Debug, Clone, Default)]
pub struct AccessFilter {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// One access to personal data: the event, and whether it covered the member only as part
/// of an exported table of a whole node (not named on a page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub event: Event,
    pub covered: bool,
}

/// The actions that are accesses: reads of personal data and exports.
const ACCESS: &str = "(e.action LIKE 'read.%' OR e.action LIKE 'export%' OR e.action = 'reveal')";

const EVENT_COLUMNS: &str = "SELECT e.id, e.at, e.actor_username, e.actor_role, \
    u.display_name AS actor_name, o.name AS actor_org, e.source, e.action, e.target_kind, \
    e.target_id, e.detail FROM audit_events e LEFT JOIN users u ON u.id = e.actor_user_id \
    LEFT JOIN orgs o ON o.id = e.actor_org_id";

fn push_period(sql: &mut Sql, f: &AccessFilter) {
    if let Some(from) = f.from {
        sql.push(" AND e.at >= ").int(from);
    }
    if let Some(to) = f.to {
        sql.push(" AND e.at < ").int(to);
    }
}

async fn access_page(
    conn: &mut AnyConnection,
    mut sql: Sql,
    page: i64,
    per_page: i64,
) -> StoreResult<Page<Access>> {
    sql.push(" ORDER BY e.id DESC LIMIT ")
        .int(per_page + 1)
        .push(" OFFSET ")
        .int((page - 1) * per_page);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let items = rows
        .iter()
        .map(|r| {
            let event = event_of(r)?;
            Ok(Access {
                covered: event.action == "export",
                event,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, per_page))
}

/// Every access naming the member, and every export of a person table made at a node above
/// them (`path` and its ancestors), newest first.
pub async fn accesses_of_member(
    conn: &mut AnyConnection,
    member_id: i64,
    path: &TreePath,
    f: &AccessFilter,
    page: i64,
    per_page: i64,
) -> StoreResult<Page<Access>> {
    let mut sql = Sql::new(EVENT_COLUMNS);
    sql.push(" WHERE (e.id IN (SELECT event_id FROM audit_subjects WHERE member_id = ")
        .int(member_id)
        .push(") OR (e.action = 'export' AND e.detail LIKE '%\"personal\":true%' AND e.target_path IN (");
    let ids = path.ids();
    let mut prefix = TreePath::root(ids[0]);
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            prefix = prefix.child(*id);
            sql.push(", ");
        }
        sql.text(prefix.as_str().to_owned());
    }
    sql.push(")))");
    push_period(&mut sql, f);
    access_page(conn, sql, page, per_page).await
}

/// Every access by one account, newest first.
pub async fn accesses_by_user(
    conn: &mut AnyConnection,
    user_id: i64,
    f: &AccessFilter,
    page: i64,
    per_page: i64,
) -> StoreResult<Page<Access>> {
    let mut sql = Sql::new(EVENT_COLUMNS);
    sql.push(" WHERE e.actor_user_id = ")
        .int(user_id)
        .push(" AND ")
        .push(ACCESS);
    push_period(&mut sql, f);
    access_page(conn, sql, page, per_page).await
}

/// The members an event named (a list page's rows), in the order stored.
pub async fn subjects_of(conn: &mut AnyConnection, event_id: i64) -> StoreResult<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT member_id FROM audit_subjects WHERE event_id = $1 ORDER BY member_id",
    )
    .bind(event_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Benchmarks only: append `n` chained events of a typical size (a member page read with
/// its subject) at once, continuing the chain from the head, in transactions of 100,000;
/// `progress` gets the count written so far.
pub async fn fill_for_bench(
    pool: &sqlx::AnyPool,
    n: u64,
    mut progress: impl FnMut(u64),
) -> StoreResult<()> {
    use super::sql::{Arg, insert_rows};
    let mut done = 0u64;
    while done < n {
        let mut tx = pool.begin().await?;
        let h = head(&mut tx).await?;
        let (mut seq, mut prev) = (h.seq, h.hash);
        let at = now();
        let take = (n - done).min(100_000);
        let mut rows = Vec::with_capacity(usize::try_from(take).unwrap_or(0));
        for i in 0..take {
            seq += 1;
            let member = 1 + (done + i) % 1_000_000;
            let c = Canonical {
                seq,
                at,
                actor_user_id: Some(1),
                actor_username: "bench".into(),
                actor_role: "clerk".into(),
                actor_org_id: Some(1),
                source: Some("127.0.0.1".into()),
                action: "read.member".into(),
                target_kind: "member".into(),
                target_id: member.to_string(),
                target_path: "/1/".into(),
                detail: "{}".into(),
            };
            let hash = c.hash(&prev);
            rows.push(vec![
                Arg::Int(c.at),
                Arg::Int(1),
                Arg::Text(c.actor_username),
                Arg::Text(c.actor_role),
                Arg::Int(1),
                Arg::Text("127.0.0.1".into()),
                Arg::Text(c.action),
                Arg::Text(c.target_kind),
                Arg::Text(c.target_id),
                Arg::Text(c.target_path),
                Arg::Text(c.detail),
                Arg::Int(seq),
                Arg::Text(std::mem::replace(&mut prev, hash.clone())),
                Arg::Text(hash),
            ]);
        }
        insert_rows(
            &mut tx,
            "audit_events",
            "at, actor_user_id, actor_username, actor_role, actor_org_id, source, action, \
             target_kind, target_id, target_path, detail, seq, prev_hash, hash",
            rows,
        )
        .await?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2, updated_at = $3 WHERE id = 1")
            .bind(seq)
            .bind(prev)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        done += take;
        progress(done);
    }
    Ok(())
}

/// Benchmarks only: create (or drop) a table of audit events without the chain, the
/// baseline the chain's cost is measured against.
pub async fn bench_baseline(pool: &sqlx::AnyPool, create: bool) -> StoreResult<()> {
    let sql = if create {
        "CREATE TABLE IF NOT EXISTS bench_unchained_events (id BIGINT, at BIGINT NOT NULL, \
         actor_username TEXT NOT NULL, actor_role TEXT NOT NULL, action TEXT NOT NULL, \
         target_kind TEXT NOT NULL, target_id TEXT NOT NULL, target_path TEXT NOT NULL, \
         detail TEXT NOT NULL)"
    } else {
        "DROP TABLE IF EXISTS bench_unchained_events"
    };
    sqlx::query(sql).execute(pool).await?;
    Ok(())
}

/// Benchmarks only: the row `append` writes, without the chain.
pub async fn bench_unchained_write(
    conn: &mut AnyConnection,
    id: i64,
    target_id: &str,
    path: &TreePath,
    detail: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO bench_unchained_events (id, at, actor_username, actor_role, action, \
         target_kind, target_id, target_path, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(now())
    .bind("bench")
    .bind("system")
    .bind("bench.write")
    .bind("bench")
    .bind(target_id.to_owned())
    .bind(path.as_str().to_owned())
    .bind(detail.to_owned())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One event of a batch written by [`append_batch`]: the event, who, the members it names.
pub struct BatchEvent<'a> {
    pub by: By<'a>,
    pub event: NewEvent<'a>,
    pub subjects: &'a [i64],
}

/// Append many events at once, chained in order: one head update for all of them, one
/// multi-row insert of the events and one of their subjects (the read log's writer: a
/// handful of statements per transaction however many reads waited).
pub async fn append_batch(conn: &mut AnyConnection, batch: &[BatchEvent<'_>]) -> StoreResult<()> {
    use super::sql::{Arg, insert_rows};
    if batch.is_empty() {
        return Ok(());
    }
    let n = i64::try_from(batch.len()).unwrap_or(i64::MAX);
    let row = sqlx::query("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
        .bind(n)
        .fetch_one(&mut *conn)
        .await?;
    let last: i64 = row.try_get("seq")?;
    let mut prev: String = row.try_get("hash")?;
    let first = last - n + 1;
    let at = now();
    let mut rows = Vec::with_capacity(batch.len());
    for (i, b) in batch.iter().enumerate() {
        let (user_id, username, role, org_id, source) = b.by.fields();
        let c = Canonical {
            seq: first + i64::try_from(i).unwrap_or(0),
            at,
            actor_user_id: user_id,
            actor_username: username,
            actor_role: role,
            actor_org_id: org_id,
            source,
            action: b.event.action.to_owned(),
            target_kind: b.event.target_kind.to_owned(),
            target_id: b.event.target_id.clone(),
            target_path: b.event.target_path.as_str().to_owned(),
            detail: b.event.detail.to_string(),
        };
        let hash = c.hash(&prev);
        let opt_int = |v: Option<i64>| v.map_or(Arg::NullInt, Arg::Int);
        rows.push(vec![
            Arg::Int(c.at),
            opt_int(c.actor_user_id),
            Arg::Text(c.actor_username),
            Arg::Text(c.actor_role),
            opt_int(c.actor_org_id),
            c.source.map_or(Arg::NullText, Arg::Text),
            Arg::Text(c.action),
            Arg::Text(c.target_kind),
            Arg::Text(c.target_id),
            Arg::Text(c.target_path),
            Arg::Text(c.detail),
            Arg::Int(c.seq),
            Arg::Text(std::mem::replace(&mut prev, hash.clone())),
            Arg::Text(hash),
        ]);
    }
    insert_rows(
        &mut *conn,
        "audit_events",
        "at, actor_user_id, actor_username, actor_role, actor_org_id, source, action, \
         target_kind, target_id, target_path, detail, seq, prev_hash, hash",
        rows,
    )
    .await?;
    set_head(conn, &prev, at).await?;
    // The events' ids, by their place in the chain, for the subjects.
    let ids: Vec<(i64, i64)> =
        sqlx::query("SELECT seq, id FROM audit_events WHERE seq >= $1 AND seq <= $2 ORDER BY seq")
            .bind(first)
            .bind(last)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("seq")?, r.try_get("id")?)))
            .collect::<StoreResult<_>>()?;
    let mut subjects = Vec::new();
    for (seq, id) in ids {
        let i = usize::try_from(seq - first).unwrap_or(usize::MAX);
        if let Some(b) = batch.get(i) {
            subjects.extend(b.subjects.iter().map(|m| vec![Arg::Int(id), Arg::Int(*m)]));
        }
    }
    if !subjects.is_empty() {
        insert_rows(
            &mut *conn,
            "audit_subjects",
            "event_id, member_id",
            subjects,
        )
        .await?;
    }
    Ok(())
}

/// The changes recorded against one record (`target_kind`, `target_id`), found under each
/// path it has had (so the target path index answers), oldest first, at most `limit`.
pub async fn changes_of(
    conn: &mut AnyConnection,
    target_kind: &str,
    target_id: i64,
    paths: &[TreePath],
    limit: i64,
) -> StoreResult<Vec<Event>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(EVENT_COLUMNS);
    sql.push(" WHERE e.target_kind = ")
        .text(target_kind.to_owned())
        .push(" AND e.target_id = ")
        .text(target_id.to_string())
        .push(" AND NOT ")
        .push(ACCESS)
        .push(" AND e.target_path IN (");
    for (i, p) in paths.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.text(p.as_str().to_owned());
    }
    sql.push(") ORDER BY e.id LIMIT ").int(limit);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    rows.iter().map(event_of).collect()
}
