//! Failure counters for logins and activation codes, per username (known or unknown alike) and
//! per source address, each with a window and a lock.

use sqlx::{AnyConnection, Row};

use super::StoreResult;

/// A counter's key: what was tried, and by or for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key<'a> {
    /// Passwords tried for a username.
    Password(&'a str),
    /// Activation codes tried for a username (counted apart: a wrong code never locks the
    /// password login).
    Activation(&'a str),
    /// Failures of any kind from one source address.
    Address(&'a str),
}

impl Key<'_> {
    fn text(&self) -> String {
        match self {
            Self::Password(u) => format!("pw:{}", u.to_lowercase()),
            Self::Activation(u) => format!("act:{}", u.to_lowercase()),
            Self::Address(a) => format!("addr:{a}"),
        }
    }
}

/// Until when a counter is locked (unix seconds), if it is locked at `now`.
pub async fn locked_until(
    conn: &mut AnyConnection,
    key: &Key<'_>,
    now: i64,
) -> StoreResult<Option<i64>> {
    let row = sqlx::query("SELECT locked_until FROM login_throttle WHERE key = $1")
        .bind(key.text())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get::<i64, _>("locked_until")?).filter(|t| *t > now),
        None => None,
    })
}

/// Count one failure at `now` (a counter whose window of `window` seconds has passed starts
/// again at one); at `limit` failures the counter is locked for `lock` seconds. Returns the
/// lock's end when this failure locked it.
pub async fn fail(
    conn: &mut AnyConnection,
    key: &Key<'_>,
    now: i64,
    (window, limit, lock): (i64, i64, i64),
) -> StoreResult<Option<i64>> {
    let failures: i64 = sqlx::query(
        "INSERT INTO login_throttle (key, failures, window_started, locked_until) \
         VALUES ($1, 1, $2, 0) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN login_throttle.window_started + $3 < $2 THEN 1 \
                           ELSE login_throttle.failures + 1 END, \
           window_started = CASE WHEN login_throttle.window_started + $3 < $2 THEN $2 \
                                 ELSE login_throttle.window_started END \
         RETURNING failures",
    )
    .bind(key.text())
    .bind(now)
    .bind(window)
    .fetch_one(&mut *conn)
    .await?
    .try_get("failures")?;
    if failures < limit {
        return Ok(None);
    }
    let until = now + lock;
    sqlx::query("UPDATE login_throttle SET locked_until = $1, failures = 0, window_started = $2 WHERE key = $3")
        .bind(until)
        .bind(now)
        .bind(key.text())
        .execute(&mut *conn)
        .await?;
    Ok(Some(until))
}

/// Forget a counter (a successful login, a password set by an administrator).
pub async fn clear(conn: &mut AnyConnection, key: &Key<'_>) -> StoreResult<()> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1")
        .bind(key.text())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Drop counters that are neither locked nor within a window of `window` seconds.
pub async fn purge(conn: &mut AnyConnection, now: i64, window: i64) -> StoreResult<u64> {
    Ok(sqlx::query(
        "DELETE FROM login_throttle WHERE locked_until < $1 AND window_started + $2 < $1",
    )
    .bind(now)
    .bind(window)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}
