//! One-time activation codes: only their SHA-256 is stored; a code works once, before it
//! expires.

use sqlx::AnyConnection;

use super::{StoreResult, now};
use crate::domain::UserId;

pub async fn insert(
    conn: &mut AnyConnection,
    code_hash: &str,
    user: UserId,
    created_by: Option<UserId>,
    expires_at: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO activation_codes (code_hash, user_id, created_by, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, NULL)",
    )
    .bind(code_hash.to_owned())
    .bind(user.0)
    .bind(created_by.map(|u| u.0))
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Mark the code used if it belongs to `user`, is unused and unexpired; true when it was.
/// One statement, so two simultaneous uses cannot both succeed.
pub async fn consume(conn: &mut AnyConnection, code_hash: &str, user: UserId) -> StoreResult<bool> {
    let t = now();
    let done = sqlx::query(
        "UPDATE activation_codes SET used_at = $1 \
         WHERE code_hash = $2 AND user_id = $3 AND used_at IS NULL AND expires_at > $4",
    )
    .bind(t)
    .bind(code_hash.to_owned())
    .bind(user.0)
    .bind(t)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The 党员本人 account of a member, and whether it was ever activated.
pub async fn account_of_member(
    conn: &mut AnyConnection,
    member: crate::domain::MemberId,
) -> StoreResult<Option<(UserId, String, bool)>> {
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT u.id, u.username, \
         (SELECT COUNT(*) FROM activation_codes a WHERE a.user_id = u.id AND a.used_at IS NOT NULL) AS used \
         FROM users u WHERE u.member_id = $1 AND u.role = 'member'",
    )
    .bind(member.0)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok((
            UserId(r.try_get("id")?),
            r.try_get("username")?,
            r.try_get::<i64, _>("used")? > 0,
        ))
    })
    .transpose()
}

/// Codes given out earlier and not used stop working (a new one replaces them).
pub async fn revoke_unused(conn: &mut AnyConnection, user: UserId) -> StoreResult<()> {
    sqlx::query(
        "UPDATE activation_codes SET expires_at = $1 WHERE user_id = $2 AND used_at IS NULL",
    )
    .bind(now() - 1)
    .bind(user.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
