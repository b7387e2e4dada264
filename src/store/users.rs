//! User accounts, each bound to one organisation node with one role.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::orgs::{Page, push_path_scope};
use super::sql::like_escape;
use super::{Sql, StoreError, StoreResult, now};
use crate::authz::Scope;
use crate::domain::{MemberId, OrgId, Role, TreePath, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub org_id: OrgId,
    pub org_name: String,
    pub org_path: TreePath,
    pub member_id: Option<MemberId>,
    pub disabled: bool,
    pub failed_logins: i64,
    pub locked_until: i64,
    pub created_at: i64,
    /// The password was set by someone else: change it before anything else.
    pub must_change_password: bool,
    /// A TOTP second factor is set up: sign-in asks for a code after the password.
    pub has_totp: bool,
}

const SELECT: &str = "SELECT u.id, u.username, u.display_name, u.password_hash, u.role, \
     u.org_id, o.name AS org_name, o.path AS org_path, u.member_id, u.disabled, \
     u.failed_logins, u.locked_until, u.created_at, u.must_change_password, \
     CAST(CASE WHEN u.totp_secret IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_totp \
     FROM users u JOIN orgs o ON o.id = u.org_id";

pub(crate) fn from_row(r: &AnyRow) -> StoreResult<User> {
    let role: String = r.try_get("role")?;
    let path: String = r.try_get("org_path")?;
    Ok(User {
        id: UserId(r.try_get("id")?),
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        password_hash: r.try_get("password_hash")?,
        role: Role::from_code(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
        org_id: OrgId(r.try_get("org_id")?),
        org_name: r.try_get("org_name")?,
        org_path: TreePath::parse(&path)
            .ok_or_else(|| StoreError::Corrupt(format!("path {path}")))?,
        member_id: r.try_get::<Option<i64>, _>("member_id")?.map(MemberId),
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        failed_logins: r.try_get("failed_logins")?,
        locked_until: r.try_get("locked_until")?,
        created_at: r.try_get("created_at")?,
        must_change_password: r.try_get::<i64, _>("must_change_password")? != 0,
        has_totp: r.try_get::<i64, _>("has_totp")? != 0,
    })
}

pub async fn get(conn: &mut AnyConnection, id: UserId) -> StoreResult<Option<User>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE u.id = ").int(id.0);
    match sql.query().fetch_optional(&mut *conn).await? {
        Some(r) => Ok(Some(from_row(&r)?)),
        None => Ok(None),
    }
}

pub async fn get_by_username(
    conn: &mut AnyConnection,
    username: &str,
) -> StoreResult<Option<User>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE u.username = ").text(username);
    match sql.query().fetch_optional(&mut *conn).await? {
        Some(r) => Ok(Some(from_row(&r)?)),
        None => Ok(None),
    }
}

#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub q: Option<String>,
    pub role: Option<Role>,
    pub page: i64,
    pub per_page: i64,
}

pub async fn list(
    conn: &mut AnyConnection,
    scope: &Scope,
    f: &UserFilter,
) -> StoreResult<Page<User>> {
    let path = match scope {
        Scope::Subtree(p) => p,
        Scope::OwnRecord(_) => return Ok(Page::from_rows(Vec::new(), 1, f.per_page)),
    };
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE 1 = 1");
    push_path_scope(&mut sql, "o.path", path);
    if let Some(q) = f.q.as_deref().filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", like_escape(q));
        sql.push(" AND (u.username LIKE ")
            .text(pattern.clone())
            .push(" ESCAPE '\\' OR u.display_name LIKE ")
            .text(pattern)
            .push(" ESCAPE '\\')");
    }
    if let Some(role) = f.role {
        sql.push(" AND u.role = ").text(role.code());
    }
    sql.push(" ORDER BY o.path, u.username LIMIT ")
        .int(f.per_page + 1)
        .push(" OFFSET ")
        .int((f.page - 1) * f.per_page);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let items = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, f.page, f.per_page))
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub org_id: OrgId,
    pub member_id: Option<MemberId>,
}

pub async fn insert(conn: &mut AnyConnection, u: &NewUser) -> StoreResult<UserId> {
    let id: i64 = sqlx::query(
        "INSERT INTO users (username, display_name, password_hash, role, org_id, member_id, \
         disabled, failed_logins, locked_until, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, 0, 0, $7) RETURNING id",
    )
    .bind(u.username.clone())
    .bind(u.display_name.clone())
    .bind(u.password_hash.clone())
    .bind(u.role.code())
    .bind(u.org_id.0)
    .bind(u.member_id.map(|m| m.0))
    .bind(now())
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?;
    Ok(UserId(id))
}

pub async fn set_disabled(conn: &mut AnyConnection, id: UserId, disabled: bool) -> StoreResult<()> {
    sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
        .bind(i64::from(disabled))
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Set a new password hash and clear any lock-out; `by_other`: set by someone else (an
/// administrator), so the user must change it at the next sign-in.
pub async fn set_password(
    conn: &mut AnyConnection,
    id: UserId,
    hash: &str,
    by_other: bool,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = 0, \
         must_change_password = $3 WHERE id = $2",
    )
    .bind(hash.to_owned())
    .bind(id.0)
    .bind(i64::from(by_other))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Require the user to change their password at the next sign-in.
pub async fn require_password_change(conn: &mut AnyConnection, id: UserId) -> StoreResult<()> {
    sqlx::query("UPDATE users SET must_change_password = 1 WHERE id = $1")
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Count one more wrong password; returns the new count.
pub async fn increment_failed_logins(conn: &mut AnyConnection, id: UserId) -> StoreResult<i64> {
    Ok(sqlx::query(
        "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins",
    )
    .bind(id.0)
    .fetch_one(&mut *conn)
    .await?
    .try_get("failed_logins")?)
}

/// Lock the account until `until` (unix seconds).
pub async fn lock_until(conn: &mut AnyConnection, id: UserId, until: i64) -> StoreResult<()> {
    sqlx::query("UPDATE users SET locked_until = $1 WHERE id = $2")
        .bind(until)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Forget earlier wrong passwords and any lock.
pub async fn clear_failed_logins(conn: &mut AnyConnection, id: UserId) -> StoreResult<()> {
    sqlx::query("UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = $1")
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Disable every account of an organisation (it was dissolved).
/// Disable (or enable again) the member account of a member; how many.
pub async fn set_member_disabled(
    conn: &mut AnyConnection,
    member: crate::domain::MemberId,
    disabled: bool,
) -> StoreResult<u64> {
    Ok(
        sqlx::query("UPDATE users SET disabled = $1 WHERE member_id = $2")
            .bind(i64::from(disabled))
            .bind(member.0)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}

pub async fn disable_at_org(conn: &mut AnyConnection, org: OrgId) -> StoreResult<u64> {
    Ok(
        sqlx::query("UPDATE users SET disabled = 1 WHERE org_id = $1")
            .bind(org.0)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}
