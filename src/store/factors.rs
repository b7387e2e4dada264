//! Second factors: an account's TOTP secret (encrypted), its last accepted step, recovery
//! codes (hashed, single use), sign-in tickets between password and code, and the setting
//! that requires a second factor of reviewers and administrators.

use sqlx::{AnyConnection, Row};

use super::{StoreResult, now};
use crate::domain::UserId;

/// The settings key of "reviewers and administrators must use a second factor".
const REQUIRED_KEY: &str = "totp_required";

/// An account's second factor as stored: the encrypted secret and the last step used.
#[derive(Debug, Clone)]
pub struct Factor {
    pub secret_enc: Vec<u8>,
    pub last_step: i64,
}

pub async fn get(conn: &mut AnyConnection, user: UserId) -> StoreResult<Option<Factor>> {
    let row = sqlx::query(
        "SELECT totp_secret, totp_last_step FROM users WHERE id = $1 AND totp_secret IS NOT NULL",
    )
    .bind(user.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(Factor {
        secret_enc: r.try_get("totp_secret")?,
        last_step: r.try_get("totp_last_step")?,
    }))
}

/// The secret being set up (shown as a QR code, not yet confirmed by a code).
pub async fn pending(conn: &mut AnyConnection, user: UserId) -> StoreResult<Option<Vec<u8>>> {
    let row = sqlx::query("SELECT totp_pending FROM users WHERE id = $1")
        .bind(user.0)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<Option<Vec<u8>>, _>("totp_pending")?,
        None => None,
    })
}

pub async fn set_pending(
    conn: &mut AnyConnection,
    user: UserId,
    secret_enc: Option<Vec<u8>>,
) -> StoreResult<()> {
    sqlx::query("UPDATE users SET totp_pending = $2 WHERE id = $1")
        .bind(user.0)
        .bind(secret_enc)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Make the pending secret the account's factor, the confirming step its last used.
pub async fn enable(
    conn: &mut AnyConnection,
    user: UserId,
    secret_enc: Vec<u8>,
    step: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE users SET totp_secret = $2, totp_pending = NULL, totp_last_step = $3 WHERE id = $1",
    )
    .bind(user.0)
    .bind(secret_enc)
    .bind(step)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Remove the factor and its recovery codes; true if there was one.
pub async fn disable(conn: &mut AnyConnection, user: UserId) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = 0 \
         WHERE id = $1 AND totp_secret IS NOT NULL",
    )
    .bind(user.0)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user.0)
        .execute(&mut *conn)
        .await?;
    Ok(done > 0)
}

/// Record `step` as used, only if it is later than the last one: false means the code was
/// already used (by this request's twin racing it, say).
pub async fn use_step(conn: &mut AnyConnection, user: UserId, step: i64) -> StoreResult<bool> {
    let done =
        sqlx::query("UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2")
            .bind(user.0)
            .bind(step)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    Ok(done == 1)
}

/// Replace the account's recovery codes with new ones (hashes).
pub async fn replace_recovery(
    conn: &mut AnyConnection,
    user: UserId,
    hashes: &[String],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user.0)
        .execute(&mut *conn)
        .await?;
    for h in hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user.0)
            .bind(h.clone())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Use up a recovery code; false if it is not one of the account's unused codes.
pub async fn use_recovery(conn: &mut AnyConnection, user: UserId, hash: &str) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = $3 \
         WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(user.0)
    .bind(hash.to_owned())
    .bind(now())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// How many recovery codes the account has left.
pub async fn recovery_left(conn: &mut AnyConnection, user: UserId) -> StoreResult<i64> {
    Ok(sqlx::query(
        "SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user.0)
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")?)
}

pub async fn insert_ticket(
    conn: &mut AnyConnection,
    ticket_hash: &str,
    user: UserId,
    expires_at: i64,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM login_tickets WHERE expires_at <= $1")
        .bind(now())
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO login_tickets (ticket_hash, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(ticket_hash.to_owned())
        .bind(user.0)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The account a live ticket was issued to.
pub async fn ticket_user(
    conn: &mut AnyConnection,
    ticket_hash: &str,
    t: i64,
) -> StoreResult<Option<UserId>> {
    let row =
        sqlx::query("SELECT user_id FROM login_tickets WHERE ticket_hash = $1 AND expires_at > $2")
            .bind(ticket_hash.to_owned())
            .bind(t)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(match row {
        Some(r) => Some(UserId(r.try_get("user_id")?)),
        None => None,
    })
}

pub async fn drop_ticket(conn: &mut AnyConnection, ticket_hash: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM login_tickets WHERE ticket_hash = $1")
        .bind(ticket_hash.to_owned())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether reviewers and administrators must set up a second factor.
pub async fn required(conn: &mut AnyConnection) -> StoreResult<bool> {
    let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
        .bind(REQUIRED_KEY)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<String, _>("value")? == "1",
        None => false,
    })
}

pub async fn set_required(conn: &mut AnyConnection, on: bool) -> StoreResult<()> {
    sqlx::query("DELETE FROM settings WHERE key = $1")
        .bind(REQUIRED_KEY)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2)")
        .bind(REQUIRED_KEY)
        .bind(if on { "1" } else { "0" })
        .execute(&mut *conn)
        .await?;
    Ok(())
}
