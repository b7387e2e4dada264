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
    /// The account's name and organisation, when the event was an account's.
    pub actor_name: Option<String>,
    pub actor_org: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub detail: String,
}

/// What the audit log is filtered by (besides the reader's scope).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
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
         o.name AS actor_org, e.action, e.target_kind, e.target_id, e.detail \
         FROM audit_events e LEFT JOIN users u ON u.id = e.actor_user_id \
         LEFT JOIN orgs o ON o.id = e.actor_org_id WHERE 1 = 1",
    );
    push_path_scope(&mut sql, "e.target_path", path);
    if let Some(a) = f.action.as_deref().filter(|a| !a.is_empty()) {
        sql.push(" AND e.action = ").text(a);
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
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        items.push(Event {
            id: r.try_get("id")?,
            at: r.try_get("at")?,
            actor_username: r.try_get("actor_username")?,
            actor_role: r.try_get("actor_role")?,
            actor_name: r.try_get("actor_name")?,
            actor_org: r.try_get("actor_org")?,
            action: r.try_get("action")?,
            target_kind: r.try_get("target_kind")?,
            target_id: r.try_get("target_id")?,
            detail: r.try_get("detail")?,
        });
    }
    Ok(Page::from_rows(items, page, per_page))
}
