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

pub async fn append(conn: &mut AnyConnection, by: By<'_>, e: NewEvent<'_>) -> StoreResult<()> {
    let (user_id, username, role, org_id) = match by {
        By::Actor(a) => (
            Some(a.user_id.0),
            a.username.clone(),
            a.role.code().to_owned(),
            Some(a.org_id.0),
        ),
        By::System(who) => (None, who.to_owned(), "system".to_owned(), None),
    };
    sqlx::query(
        "INSERT INTO audit_events (at, actor_user_id, actor_username, actor_role, actor_org_id, \
         action, target_kind, target_id, target_path, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(now())
    .bind(user_id)
    .bind(username)
    .bind(role)
    .bind(org_id)
    .bind(e.action)
    .bind(e.target_kind)
    .bind(e.target_id)
    .bind(e.target_path.as_str().to_owned())
    .bind(e.detail.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub at: i64,
    pub actor_username: String,
    pub actor_role: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub detail: String,
}

pub async fn list(
    conn: &mut AnyConnection,
    scope: &Scope,
    action: Option<&str>,
    page: i64,
    per_page: i64,
) -> StoreResult<Page<Event>> {
    let Scope::Subtree(path) = scope else {
        return Ok(Page::from_rows(Vec::new(), 1, per_page));
    };
    let mut sql = Sql::new(
        "SELECT id, at, actor_username, actor_role, action, target_kind, target_id, detail \
         FROM audit_events WHERE 1 = 1",
    );
    push_path_scope(&mut sql, "target_path", path);
    if let Some(a) = action.filter(|a| !a.is_empty()) {
        sql.push(" AND action = ").text(a);
    }
    sql.push(" ORDER BY id DESC LIMIT ")
        .int(per_page + 1)
        .push(" OFFSET ")
        .int((page - 1) * per_page);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        items.push(Event {
            id: r.try_get("id")?,
            at: r.try_get("at")?,
            actor_username: r.try_get("actor_username")?,
            actor_role: r.try_get("actor_role")?,
            action: r.try_get("action")?,
            target_kind: r.try_get("target_kind")?,
            target_id: r.try_get("target_id")?,
            detail: r.try_get("detail")?,
        });
    }
    Ok(Page::from_rows(items, page, per_page))
}
