//! Server-side sessions: only the SHA-256 of the cookie token is stored; revocable.

use sqlx::{AnyConnection, Row};

use super::users::{User, from_row as user_from_row};
use super::{StoreResult, now};
use crate::domain::UserId;

#[derive(Debug, Clone)]
pub struct Session {
    pub token_hash: String,
    pub csrf_token: String,
    pub expires_at: i64,
    /// When a request last used it (0: not since the migration).
    pub last_seen_at: i64,
    pub user: User,
}

pub async fn insert(
    conn: &mut AnyConnection,
    token_hash: &str,
    user_id: UserId,
    csrf_token: &str,
    expires_at: i64,
    source: Option<&str>,
) -> StoreResult<()> {
    let t = now();
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, revoked, \
         last_seen_at, source) VALUES ($1, $2, $3, $4, $5, 0, $4, $6)",
    )
    .bind(token_hash.to_owned())
    .bind(user_id.0)
    .bind(csrf_token.to_owned())
    .bind(t)
    .bind(expires_at)
    .bind(source.map(str::to_owned))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A live session (not revoked, not expired) with its user, whatever the user's state.
pub async fn get_live(conn: &mut AnyConnection, token_hash: &str) -> StoreResult<Option<Session>> {
    let row = sqlx::query(
        "SELECT s.token_hash, s.csrf_token, s.expires_at, u.id, u.username, u.display_name, \
         u.password_hash, u.role, u.org_id, o.name AS org_name, o.path AS org_path, u.member_id, \
         u.disabled, u.failed_logins, u.locked_until, u.created_at, u.must_change_password, \
         CAST(CASE WHEN u.totp_secret IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_totp, \
         s.last_seen_at, s.created_at AS session_created_at \
         FROM sessions s JOIN users u ON u.id = s.user_id JOIN orgs o ON o.id = u.org_id \
         WHERE s.token_hash = $1 AND s.revoked = 0 AND s.expires_at > $2",
    )
    .bind(token_hash.to_owned())
    .bind(now())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(Session {
        token_hash: r.try_get("token_hash")?,
        csrf_token: r.try_get("csrf_token")?,
        expires_at: r.try_get("expires_at")?,
        last_seen_at: r.try_get("last_seen_at")?,
        user: user_from_row(&r)?,
    }))
}

pub async fn revoke(conn: &mut AnyConnection, token_hash: &str) -> StoreResult<()> {
    sqlx::query("UPDATE sessions SET revoked = 1 WHERE token_hash = $1")
        .bind(token_hash.to_owned())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn revoke_all_of(conn: &mut AnyConnection, user_id: UserId) -> StoreResult<()> {
    sqlx::query("UPDATE sessions SET revoked = 1 WHERE user_id = $1 AND revoked = 0")
        .bind(user_id.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// End every session of a user but the one in use.
pub async fn revoke_all_except(
    conn: &mut AnyConnection,
    user_id: UserId,
    keep_token_hash: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE sessions SET revoked = 1 WHERE user_id = $1 AND revoked = 0 AND token_hash <> $2",
    )
    .bind(user_id.0)
    .bind(keep_token_hash.to_owned())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Drop sessions that ended more than a day ago.
pub async fn purge_expired(conn: &mut AnyConnection) -> StoreResult<u64> {
    let r = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(now() - 86_400)
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected())
}

/// Note that a request used the session now.
pub async fn touch(conn: &mut AnyConnection, token_hash: &str, at: i64) -> StoreResult<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
        .bind(at)
        .bind(token_hash.to_owned())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// One of a user's own live sessions, as their list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLine {
    /// The first 12 characters of the token's hash: names the session in a revoke form
    /// without giving anything away.
    pub handle: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub source: Option<String>,
}

/// The user's live sessions, most recently used first.
pub async fn live_of(conn: &mut AnyConnection, user_id: UserId) -> StoreResult<Vec<SessionLine>> {
    let rows = sqlx::query(
        "SELECT token_hash, created_at, last_seen_at, expires_at, source FROM sessions \
         WHERE user_id = $1 AND revoked = 0 AND expires_at > $2 \
         ORDER BY last_seen_at DESC, created_at DESC",
    )
    .bind(user_id.0)
    .bind(now())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let hash: String = r.try_get("token_hash")?;
            Ok(SessionLine {
                handle: hash.chars().take(12).collect(),
                created_at: r.try_get("created_at")?,
                last_seen_at: r.try_get("last_seen_at")?,
                expires_at: r.try_get("expires_at")?,
                source: r.try_get("source")?,
            })
        })
        .collect()
}

/// End one of the user's own sessions, named by its handle; whether one was ended.
pub async fn revoke_handle(
    conn: &mut AnyConnection,
    user_id: UserId,
    handle: &str,
) -> StoreResult<bool> {
    if handle.len() != 12 || !handle.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(false);
    }
    let r = sqlx::query(
        "UPDATE sessions SET revoked = 1 WHERE user_id = $1 AND revoked = 0 \
         AND SUBSTR(token_hash, 1, 12) = $2",
    )
    .bind(user_id.0)
    .bind(handle.to_ascii_lowercase())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() > 0)
}
