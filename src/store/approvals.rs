//! Four-eyes requests (双人复核): a risky action one account asked for, waiting for a second
//! account's decision.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::orgs::push_path_scope;
use super::{Sql, StoreError, StoreResult, changed_one};
use crate::authz::Scope;
use crate::domain::{TreePath, UserId};

/// A request and, once decided, its decision.
#[derive(Debug, Clone)]
pub struct Approval {
    pub id: i64,
    pub kind: String,
    pub target_kind: String,
    pub target_id: String,
    pub target_path: TreePath,
    /// What is asked for, in words (shown to the approver).
    pub summary: String,
    pub payload: String,
    pub reason: String,
    pub state: String,
    pub requested_by: UserId,
    pub requested_name: String,
    pub requested_at: i64,
    pub decided_name: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewApproval<'a> {
    pub kind: &'a str,
    pub target_kind: &'a str,
    pub target_id: &'a str,
    pub target_path: &'a TreePath,
    pub summary: &'a str,
    pub payload: &'a str,
    pub reason: &'a str,
    pub requested_by: UserId,
    pub requested_name: &'a str,
    pub at: i64,
}

const SELECT: &str = "SELECT id, kind, target_kind, target_id, target_path, summary, payload, \
     reason, state, requested_by, requested_name, requested_at, decided_name, decided_at, \
     decision_note FROM approvals";

fn from_row(r: &AnyRow) -> StoreResult<Approval> {
    let path: String = r.try_get("target_path")?;
    Ok(Approval {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        target_kind: r.try_get("target_kind")?,
        target_id: r.try_get("target_id")?,
        target_path: TreePath::parse(&path)
            .ok_or_else(|| StoreError::Corrupt(format!("path {path}")))?,
        summary: r.try_get("summary")?,
        payload: r.try_get("payload")?,
        reason: r.try_get("reason")?,
        state: r.try_get("state")?,
        requested_by: UserId(r.try_get("requested_by")?),
        requested_name: r.try_get("requested_name")?,
        requested_at: r.try_get("requested_at")?,
        decided_name: r.try_get("decided_name")?,
        decided_at: r.try_get("decided_at")?,
        decision_note: r.try_get("decision_note")?,
    })
}

/// Store a pending request; `Duplicate` when the same action on the same target is already
/// waiting.
pub async fn insert(conn: &mut AnyConnection, a: &NewApproval<'_>) -> StoreResult<i64> {
    let row = sqlx::query(
        "INSERT INTO approvals (kind, target_kind, target_id, target_path, summary, payload, \
         reason, state, requested_by, requested_name, requested_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10) RETURNING id",
    )
    .bind(a.kind.to_owned())
    .bind(a.target_kind.to_owned())
    .bind(a.target_id.to_owned())
    .bind(a.target_path.as_str().to_owned())
    .bind(a.summary.to_owned())
    .bind(a.payload.to_owned())
    .bind(a.reason.to_owned())
    .bind(a.requested_by.0)
    .bind(a.requested_name.to_owned())
    .bind(a.at)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("id")?)
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<Approval>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE id = ").int(id);
    match sql.query().fetch_optional(&mut *conn).await? {
        Some(r) => Ok(Some(from_row(&r)?)),
        None => Ok(None),
    }
}

/// Pending requests on targets within `scope`, oldest first (none for a member's own scope).
pub async fn pending_in(
    conn: &mut AnyConnection,
    scope: &Scope,
    limit: i64,
) -> StoreResult<Vec<Approval>> {
    let Scope::Subtree(path) = scope else {
        return Ok(Vec::new());
    };
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE state = 'pending'");
    push_path_scope(&mut sql, "target_path", path);
    sql.push(" ORDER BY requested_at, id LIMIT ").int(limit);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}

/// A user's own requests, newest first.
pub async fn of_requester(
    conn: &mut AnyConnection,
    user: UserId,
    limit: i64,
) -> StoreResult<Vec<Approval>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE requested_by = ")
        .int(user.0)
        .push(" ORDER BY requested_at DESC, id DESC LIMIT ")
        .int(limit);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}

/// Decide a pending request (`approved`, `refused`, `withdrawn`, `stale`); `Conflict` when
/// it is no longer pending (somebody decided first).
pub async fn decide(
    conn: &mut AnyConnection,
    id: i64,
    state: &str,
    by: Option<UserId>,
    (name, note, at): (&str, &str, i64),
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE approvals SET state = $2, decided_by = $3, decided_name = $4, \
         decision_note = $5, decided_at = $6 WHERE id = $1 AND state = 'pending'",
    )
    .bind(id)
    .bind(state.to_owned())
    .bind(by.map(|u| u.0))
    .bind(name.to_owned())
    .bind(note.to_owned())
    .bind(at)
    .execute(&mut *conn)
    .await?;
    changed_one(&done)
}
