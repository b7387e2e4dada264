//! Change records (one per change to registered data after a campaign) and change sets (a
//! node's changes of one period, submitted to its parent).

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::orgs::{Page, push_path_scope};
use super::roster::RecordKind;
use super::{Sql, StoreError, StoreResult, now};
use crate::domain::change::{ChangeKind, ChangeState, SetState};
use crate::domain::{OrgId, TreePath, UserId};

/// A change to record.
#[derive(Debug, Clone)]
pub struct NewChange {
    pub org_id: OrgId,
    pub org_path: TreePath,
    pub period: String,
    pub kind: ChangeKind,
    pub subject: RecordKind,
    pub subject_id: i64,
    pub subject_name: String,
    /// `{label: [before, after]}`.
    pub fields: serde_json::Map<String, serde_json::Value>,
    pub history_id: Option<i64>,
    pub note: String,
    pub effective_on: String,
    pub state: ChangeState,
    pub by: Option<UserId>,
    pub by_name: String,
}

/// A recorded change, with the name of the node keeping it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub id: i64,
    pub org_id: OrgId,
    pub org_name: String,
    pub org_path: TreePath,
    pub period: String,
    pub kind: ChangeKind,
    pub subject: RecordKind,
    pub subject_id: i64,
    pub subject_name: String,
    /// (label, before, after).
    pub fields: Vec<(String, String, String)>,
    pub note: String,
    pub effective_on: String,
    pub state: ChangeState,
    pub recorded_at: i64,
    pub recorder_name: String,
    pub returned_reason: Option<String>,
    pub returned_by_name: Option<String>,
    pub returned_at: Option<i64>,
    pub answer: Option<String>,
}

pub async fn insert(conn: &mut AnyConnection, c: &NewChange) -> StoreResult<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO changes (org_id, org_path, period, kind, subject_kind, subject_id, \
         subject_name, fields, history_id, note, effective_on, state, recorded_at, recorded_by, \
         recorder_name, accepted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         RETURNING id",
    )
    .bind(c.org_id.0)
    .bind(c.org_path.as_str().to_owned())
    .bind(c.period.clone())
    .bind(c.kind.code())
    .bind(c.subject.code())
    .bind(c.subject_id)
    .bind(c.subject_name.clone())
    .bind(serde_json::Value::Object(c.fields.clone()).to_string())
    .bind(c.history_id)
    .bind(c.note.clone())
    .bind(c.effective_on.clone())
    .bind(c.state.code())
    .bind(now())
    .bind(c.by.map(|u| u.0))
    .bind(c.by_name.clone())
    .bind((c.state == ChangeState::Accepted).then(now))
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

const SELECT: &str = "SELECT c.id, c.org_id, o.name AS org_name, c.org_path, c.period, c.kind, \
     c.subject_kind, c.subject_id, c.subject_name, c.fields, c.note, c.effective_on, c.state, \
     c.recorded_at, c.recorder_name, c.returned_reason, c.returned_by_name, c.returned_at, \
     c.answer FROM changes c JOIN orgs o ON o.id = c.org_id";

fn from_row(r: &AnyRow) -> StoreResult<Change> {
    let path: String = r.try_get("org_path")?;
    let kind: String = r.try_get("kind")?;
    let subject: String = r.try_get("subject_kind")?;
    let state: String = r.try_get("state")?;
    let fields: String = r.try_get("fields")?;
    let fields: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&fields).unwrap_or_default();
    let cell = |v: Option<&serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    Ok(Change {
        id: r.try_get("id")?,
        org_id: OrgId(r.try_get("org_id")?),
        org_name: r.try_get("org_name")?,
        org_path: TreePath::parse(&path)
            .ok_or_else(|| StoreError::Corrupt(format!("changes.org_path {path}")))?,
        period: r.try_get("period")?,
        kind: ChangeKind::from_code(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("changes.kind {kind}")))?,
        subject: match subject.as_str() {
            "member" => RecordKind::Member,
            "firm" => RecordKind::Firm,
            _ => RecordKind::Org,
        },
        subject_id: r.try_get("subject_id")?,
        subject_name: r.try_get("subject_name")?,
        fields: fields
            .iter()
            .map(|(k, v)| {
                let pair = v.as_array();
                (
                    k.clone(),
                    cell(pair.and_then(|p| p.first())),
                    cell(pair.and_then(|p| p.get(1))),
                )
            })
            .collect(),
        note: r.try_get("note")?,
        effective_on: r.try_get("effective_on")?,
        state: ChangeState::from_code(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("changes.state {state}")))?,
        recorded_at: r.try_get("recorded_at")?,
        recorder_name: r.try_get("recorder_name")?,
        returned_reason: r.try_get("returned_reason")?,
        returned_by_name: r.try_get("returned_by_name")?,
        returned_at: r.try_get("returned_at")?,
        answer: r.try_get("answer")?,
    })
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<Change>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE c.id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// What to list of a subtree's changes in a period.
#[derive(Debug, Clone, Default)]
pub struct ChangeFilter {
    pub kind: Option<ChangeKind>,
    pub state: Option<ChangeState>,
    pub page: i64,
    pub per_page: i64,
}

/// One page of the changes of a period in the subtree at `path`, oldest first.
pub async fn page(
    conn: &mut AnyConnection,
    path: &TreePath,
    period: &str,
    f: &ChangeFilter,
) -> StoreResult<Page<Change>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE c.period = ").text(period.to_owned());
    push_path_scope(&mut sql, "c.org_path", path);
    if let Some(k) = f.kind {
        sql.push(" AND c.kind = ").text(k.code());
    }
    if let Some(s) = f.state {
        sql.push(" AND c.state = ").text(s.code());
    }
    sql.push(" ORDER BY c.id LIMIT ")
        .int(f.per_page + 1)
        .push(" OFFSET ")
        .int((f.page - 1) * f.per_page);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let items = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, f.page, f.per_page))
}

/// Every change recorded against one record, oldest first (for its archive).
pub async fn of_subject(
    conn: &mut AnyConnection,
    subject: RecordKind,
    id: i64,
) -> StoreResult<Vec<Change>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE c.subject_kind = $1 AND c.subject_id = $2 ORDER BY c.id"
    )))
    .bind(subject.code())
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// How many changes of a period a subtree has, by kind and by state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: i64,
    /// In the order of [`ChangeKind::ALL`].
    pub by_kind: [i64; 6],
    pub returned: i64,
    pub accepted: i64,
}

pub async fn counts(
    conn: &mut AnyConnection,
    path: &TreePath,
    period: &str,
) -> StoreResult<Counts> {
    let mut sql =
        Sql::new("SELECT c.kind, c.state, COUNT(*) AS n FROM changes c WHERE c.period = ");
    sql.text(period.to_owned());
    push_path_scope(&mut sql, "c.org_path", path);
    sql.push(" GROUP BY c.kind, c.state");
    let mut out = Counts::default();
    for r in sql.query().fetch_all(&mut *conn).await? {
        let kind: String = r.try_get("kind")?;
        let state: String = r.try_get("state")?;
        let n: i64 = r.try_get("n")?;
        out.total += n;
        if let Some(i) = ChangeKind::ALL.iter().position(|k| k.code() == kind) {
            out.by_kind[i] += n;
        }
        match state.as_str() {
            "returned" => out.returned += n,
            "accepted" => out.accepted += n,
            _ => {}
        }
    }
    Ok(out)
}

/// How many changes of a subtree, of any period, are not yet accepted.
pub async fn unaccepted_in(conn: &mut AnyConnection, path: &TreePath) -> StoreResult<i64> {
    let mut sql = Sql::new("SELECT COUNT(*) AS n FROM changes c WHERE c.state <> 'accepted'");
    push_path_scope(&mut sql, "c.org_path", path);
    Ok(sql.query().fetch_one(&mut *conn).await?.try_get("n")?)
}

/// The nodes of a subtree that keep changes of a period, with how many each keeps.
pub async fn origins(
    conn: &mut AnyConnection,
    path: &TreePath,
    period: &str,
) -> StoreResult<Vec<(TreePath, i64)>> {
    let mut sql = Sql::new("SELECT c.org_path, COUNT(*) AS n FROM changes c WHERE c.period = ");
    sql.text(period.to_owned());
    push_path_scope(&mut sql, "c.org_path", path);
    sql.push(" GROUP BY c.org_path");
    sql.query()
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            let p: String = r.try_get("org_path")?;
            Ok((
                TreePath::parse(&p)
                    .ok_or_else(|| StoreError::Corrupt(format!("changes.org_path {p}")))?,
                r.try_get("n")?,
            ))
        })
        .collect()
}

/// The periods a subtree has changes in, newest first (at most `limit`).
pub async fn periods(
    conn: &mut AnyConnection,
    path: &TreePath,
    limit: i64,
) -> StoreResult<Vec<String>> {
    let mut sql = Sql::new("SELECT DISTINCT c.period FROM changes c WHERE 1 = 1");
    push_path_scope(&mut sql, "c.org_path", path);
    sql.push(" ORDER BY c.period DESC LIMIT ").int(limit);
    sql.query()
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok(r.try_get("period")?))
        .collect()
}

/// Mark the pending changes of a period in a subtree official; how many.
pub async fn accept_all(
    conn: &mut AnyConnection,
    path: &TreePath,
    period: &str,
) -> StoreResult<u64> {
    let mut sql = Sql::new("UPDATE changes SET state = 'accepted', accepted_at = ");
    sql.int(now())
        .push(" WHERE state = 'pending' AND period = ")
        .text(period.to_owned());
    push_path_scope(&mut sql, "org_path", path);
    Ok(sql.query().execute(&mut *conn).await?.rows_affected())
}

/// Return one pending change with a reason; `Conflict` if it was not pending.
pub async fn mark_returned(
    conn: &mut AnyConnection,
    id: i64,
    reason: &str,
    by_name: &str,
) -> StoreResult<()> {
    let r = sqlx::query(
        "UPDATE changes SET state = 'returned', returned_reason = $1, returned_by_name = $2, \
         returned_at = $3, answer = NULL WHERE id = $4 AND state = 'pending'",
    )
    .bind(reason.to_owned())
    .bind(by_name.to_owned())
    .bind(now())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    super::changed_one(&r)
}

/// The keeping node's answer to a return: the change is pending again.
pub async fn answer(conn: &mut AnyConnection, id: i64, answer: &str) -> StoreResult<()> {
    let r = sqlx::query(
        "UPDATE changes SET state = 'pending', answer = $1 WHERE id = $2 AND state = 'returned'",
    )
    .bind(answer.to_owned())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    super::changed_one(&r)
}

/// The first returned change of a period in a subtree that has not been answered.
pub async fn first_returned(
    conn: &mut AnyConnection,
    path: &TreePath,
    period: &str,
) -> StoreResult<Option<String>> {
    let mut sql =
        Sql::new("SELECT c.subject_name FROM changes c WHERE c.state = 'returned' AND c.period = ");
    sql.text(period.to_owned());
    push_path_scope(&mut sql, "c.org_path", path);
    sql.push(" ORDER BY c.id LIMIT 1");
    Ok(sql
        .query()
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("subject_name"))
        .transpose()?)
}

/// A node's change set of one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSet {
    pub id: i64,
    pub org_id: OrgId,
    pub period: String,
    pub state: SetState,
    pub changes: i64,
    pub late_days: i64,
    pub submitted_at: i64,
    pub submitter_name: String,
    pub decided_at: Option<i64>,
    pub decider_name: Option<String>,
    pub reason: Option<String>,
}

const SET_SELECT: &str = "SELECT id, org_id, period, state, changes, late_days, submitted_at, \
     submitter_name, decided_at, decider_name, reason FROM change_sets";

fn set_of_row(r: &AnyRow) -> StoreResult<ChangeSet> {
    let state: String = r.try_get("state")?;
    Ok(ChangeSet {
        id: r.try_get("id")?,
        org_id: OrgId(r.try_get("org_id")?),
        period: r.try_get("period")?,
        state: SetState::from_code(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("change_sets.state {state}")))?,
        changes: r.try_get("changes")?,
        late_days: r.try_get("late_days")?,
        submitted_at: r.try_get("submitted_at")?,
        submitter_name: r.try_get("submitter_name")?,
        decided_at: r.try_get("decided_at")?,
        decider_name: r.try_get("decider_name")?,
        reason: r.try_get("reason")?,
    })
}

/// The change sets of these nodes for a period.
pub async fn sets_of(
    conn: &mut AnyConnection,
    orgs: &[OrgId],
    period: &str,
) -> StoreResult<Vec<ChangeSet>> {
    if orgs.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(SET_SELECT);
    sql.push(" WHERE period = ").text(period.to_owned());
    sql.push(" AND org_id IN (");
    for (i, o) in orgs.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.int(o.0);
    }
    sql.push(")");
    sql.query()
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(set_of_row)
        .collect()
}

pub async fn set_of(
    conn: &mut AnyConnection,
    org: OrgId,
    period: &str,
) -> StoreResult<Option<ChangeSet>> {
    Ok(sets_of(conn, &[org], period).await?.into_iter().next())
}

/// Submit (or resubmit a returned) change set; `Conflict` when it is already with the parent.
pub async fn submit_set(
    conn: &mut AnyConnection,
    org: OrgId,
    period: &str,
    (changes, late_days): (i64, i64),
    by: Option<UserId>,
    by_name: &str,
) -> StoreResult<()> {
    let updated = sqlx::query(
        "UPDATE change_sets SET state = 'submitted', changes = $1, late_days = $2, \
         submitted_at = $3, submitted_by = $4, submitter_name = $5, decided_at = NULL, \
         decided_by = NULL, decider_name = NULL, reason = NULL \
         WHERE org_id = $6 AND period = $7 AND state = 'returned'",
    )
    .bind(changes)
    .bind(late_days)
    .bind(now())
    .bind(by.map(|u| u.0))
    .bind(by_name.to_owned())
    .bind(org.0)
    .bind(period.to_owned())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated == 1 {
        return Ok(());
    }
    if set_of(conn, org, period).await?.is_some() {
        return Err(StoreError::Conflict);
    }
    sqlx::query(
        "INSERT INTO change_sets (org_id, period, state, changes, late_days, submitted_at, \
         submitted_by, submitter_name) VALUES ($1, $2, 'submitted', $3, $4, $5, $6, $7)",
    )
    .bind(org.0)
    .bind(period.to_owned())
    .bind(changes)
    .bind(late_days)
    .bind(now())
    .bind(by.map(|u| u.0))
    .bind(by_name.to_owned())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Move the sets of these nodes for a period from one of `from` to `to` (the decision of the
/// parent); how many moved.
pub async fn decide_sets(
    conn: &mut AnyConnection,
    orgs: &[OrgId],
    period: &str,
    (from, to): (&[SetState], SetState),
    (by, by_name): (Option<UserId>, &str),
    reason: Option<&str>,
) -> StoreResult<u64> {
    if orgs.is_empty() {
        return Ok(0);
    }
    let mut sql = Sql::new("UPDATE change_sets SET state = ");
    sql.text(to.code())
        .push(", decided_at = ")
        .int(now())
        .push(", decided_by = ")
        .bind(super::sql::Arg::opt_int(by.map(|u| u.0)))
        .push(", decider_name = ")
        .text(by_name.to_owned())
        .push(", reason = ")
        .bind(super::sql::Arg::opt_text(reason.map(str::to_owned)))
        .push(" WHERE period = ")
        .text(period.to_owned())
        .push(" AND state IN (");
    for (i, s) in from.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.text(s.code());
    }
    sql.push(") AND org_id IN (");
    for (i, o) in orgs.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.int(o.0);
    }
    sql.push(")");
    Ok(sql.query().execute(&mut *conn).await?.rows_affected())
}

/// A setting's value.
pub async fn setting(conn: &mut AnyConnection, key: &str) -> StoreResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key.to_owned())
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Set a setting.
pub async fn set_setting(conn: &mut AnyConnection, key: &str, value: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM settings WHERE key = $1")
        .bind(key.to_owned())
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2)")
        .bind(key.to_owned())
        .bind(value.to_owned())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
