//! Logging in and out, and turning a session cookie back into an actor.

use super::{ServiceError, ServiceResult, beijing_time};
use crate::authz::Actor;
use crate::crypto::{random_token, token_hash, verify_password};
use crate::store::audit::{self, By, NewEvent};
use crate::store::throttle::{self, Key};
use crate::store::{now, sessions, users};

/// Wrong passwords (or activation codes) for one username within [`FAILURE_WINDOW`] before it
/// is locked, and for how long. Unknown usernames are counted and locked the same way, so the
/// answers never tell which accounts exist.
pub const MAX_FAILED_LOGINS: i64 = 5;
pub const LOCKOUT_SECONDS: i64 = 15 * 60;
pub const FAILURE_WINDOW: i64 = 15 * 60;

/// Where a login or activation attempt comes from (none from the command line or a test
/// that does not say).
pub type Source<'a> = Option<&'a str>;

/// A hash checked for unknown usernames, so they cost the same time as known ones.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| crate::crypto::hash_password("dengji-dummy").unwrap_or_default())
}

async fn verify_off_thread(password: &str, hash: String) -> bool {
    let pw = password.to_owned();
    tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
        .await
        .unwrap_or(false)
}

/// A new session: the cookie token (only its hash is stored) and the form token.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub expires_at: i64,
    /// Seconds from now until it expires (the cookie's Max-Age).
    pub max_age: i64,
    pub actor: Actor,
}

/// A session found from its cookie.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub actor: Actor,
    pub csrf_token: String,
    pub token_hash: String,
    /// Unread notices in the inbox (the count in the header).
    pub unread: i64,
    /// When the session was read (Beijing time): printed in the watermark of printed pages.
    pub at: String,
    /// The password was set by someone else: every page but 修改密码 is closed until changed.
    pub must_change_password: bool,
}

fn actor_of(u: &users::User) -> Actor {
    Actor {
        user_id: u.id,
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        role: u.role,
        org_id: u.org_id,
        org_name: u.org_name.clone(),
        org_path: u.org_path.clone(),
        member_id: u.member_id,
        source: None,
    }
}

super::area!(AuthService);

impl AuthService<'_> {
    /// Check the password, enforce the lock-outs (of the username and of the source
    /// address), open a session.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        source: Source<'_>,
    ) -> ServiceResult<NewSession> {
        let username = username.trim();
        let t = now();
        let user = {
            let mut conn = self.db.acquire().await?;
            self.refuse_locked(&mut conn, &Key::Password(username), source, t)
                .await?;
            users::get_by_username(&mut conn, username).await?
        };
        let hash = user
            .as_ref()
            .map_or_else(|| dummy_hash().to_owned(), |u| u.password_hash.clone());
        let ok = verify_off_thread(password, hash).await;
        let mut tx = self.db.begin().await?;
        let Some(user) = user.as_ref().filter(|_| ok) else {
            let locked = self
                .count_failure(&mut tx, &Key::Password(username), source, t)
                .await?;
            if let Some(u) = &user {
                audit::append(
                    &mut tx,
                    By::System(&u.username),
                    NewEvent {
                        action: "login.failed",
                        target_kind: "user",
                        target_id: u.id.to_string(),
                        target_path: &u.org_path,
                        detail: serde_json::json!({"locked": locked.is_some(), "from": source}),
                    },
                )
                .await?;
            }
            tx.commit().await?;
            return Err(locked.map_or(ServiceError::LoginFailed, |until| {
                ServiceError::LockedOut(beijing_time(until))
            }));
        };
        if user.disabled {
            return Err(ServiceError::Disabled);
        }
        throttle::clear(&mut tx, &Key::Password(username)).await?;
        let token = random_token();
        let csrf_token = random_token();
        let expires_at = t + self.session_hours * 3600;
        sessions::insert(
            &mut tx,
            &token_hash(&token),
            user.id,
            &csrf_token,
            expires_at,
            source,
        )
        .await?;
        let actor = actor_of(user);
        audit::append(
            &mut tx,
            By::Actor(&actor),
            NewEvent {
                action: "login",
                target_kind: "user",
                target_id: user.id.to_string(),
                target_path: &user.org_path,
                detail: serde_json::json!({"from": source}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(NewSession {
            token,
            csrf_token,
            expires_at,
            max_age: expires_at - t,
            actor,
        })
    }

    /// Refuse an attempt while its source address or its username's counter is locked.
    pub(crate) async fn refuse_locked(
        &self,
        conn: &mut sqlx::AnyConnection,
        key: &Key<'_>,
        source: Source<'_>,
        t: i64,
    ) -> ServiceResult<()> {
        if let Some(addr) = source
            && let Some(until) = throttle::locked_until(conn, &Key::Address(addr), t).await?
        {
            return Err(ServiceError::Throttled(beijing_time(until)));
        }
        if let Some(until) = throttle::locked_until(conn, key, t).await? {
            let when = beijing_time(until);
            return Err(match key {
                Key::Activation(_) => ServiceError::ActivationLocked(when),
                _ => ServiceError::LockedOut(when),
            });
        }
        Ok(())
    }

    /// Count a failed attempt against its username and its source address; the end of the
    /// username's lock when this failure locked it.
    pub(crate) async fn count_failure(
        &self,
        conn: &mut sqlx::AnyConnection,
        key: &Key<'_>,
        source: Source<'_>,
        t: i64,
    ) -> ServiceResult<Option<i64>> {
        if let Some(addr) = source {
            throttle::fail(
                conn,
                &Key::Address(addr),
                t,
                (
                    FAILURE_WINDOW,
                    self.limits.address_failures,
                    LOCKOUT_SECONDS,
                ),
            )
            .await?;
        }
        Ok(throttle::fail(
            conn,
            key,
            t,
            (FAILURE_WINDOW, MAX_FAILED_LOGINS, LOCKOUT_SECONDS),
        )
        .await?)
    }

    /// The actor behind a cookie token, if the session is live and the account enabled.
    pub async fn session(&self, token: &str) -> ServiceResult<Option<LiveSession>> {
        let mut conn = self.db.acquire().await?;
        let Some(s) = sessions::get_live(&mut conn, &token_hash(token)).await? else {
            return Ok(None);
        };
        if s.user.disabled {
            return Ok(None);
        }
        // Idle too long: the session ends (a new sign-in is needed); used: noted, at most
        // once a minute so that reading pages is not a write each time. Both writes are
        // best effort: a page is not refused because a long import holds SQLite's write
        // lock (the session is judged by what was read either way).
        let t = now();
        if s.last_seen_at > 0 && t - s.last_seen_at > self.limits.idle_minutes * 60 {
            if let Err(e) = sessions::revoke(&mut conn, &s.token_hash).await {
                tracing::debug!(error = %e, "idle session not marked revoked");
            }
            return Ok(None);
        }
        if t - s.last_seen_at >= 60
            && let Err(e) = sessions::touch(&mut conn, &s.token_hash, t).await
        {
            tracing::debug!(error = %e, "session use not noted");
        }
        let unread = crate::store::notifications::unread_count(&mut conn, s.user.id).await?;
        Ok(Some(LiveSession {
            actor: actor_of(&s.user),
            csrf_token: s.csrf_token,
            token_hash: s.token_hash,
            unread,
            at: beijing_time(t),
            must_change_password: s.user.must_change_password,
        }))
    }

    pub async fn logout(&self, actor: &Actor, token_hash: &str) -> ServiceResult<()> {
        let mut tx = self.db.begin().await?;
        sessions::revoke(&mut tx, token_hash).await?;
        audit::append(
            &mut tx,
            By::Actor(actor),
            NewEvent {
                action: "logout",
                target_kind: "user",
                target_id: actor.user_id.to_string(),
                target_path: &actor.org_path,
                detail: serde_json::json!({}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Remove sessions that ended more than a day ago, and failure counters that ran out;
    /// returns how many sessions.
    pub async fn purge_expired(&self) -> ServiceResult<u64> {
        let mut conn = self.db.acquire().await?;
        throttle::purge(&mut conn, now(), FAILURE_WINDOW).await?;
        Ok(sessions::purge_expired(&mut conn).await?)
    }

    /// The caller's own live sessions, most recently used first.
    pub async fn sessions_of(&self, actor: &Actor) -> ServiceResult<Vec<sessions::SessionLine>> {
        let mut conn = self.db.acquire().await?;
        Ok(sessions::live_of(&mut conn, actor.user_id).await?)
    }

    /// End one of the caller's own sessions (named by its handle); audited.
    pub async fn end_own_session(&self, actor: &Actor, handle: &str) -> ServiceResult<()> {
        let mut tx = self.db.begin().await?;
        if !sessions::revoke_handle(&mut tx, actor.user_id, handle).await? {
            return Err(ServiceError::NotFound);
        }
        audit::append(
            &mut tx,
            By::Actor(actor),
            NewEvent {
                action: "session.end",
                target_kind: "user",
                target_id: actor.user_id.to_string(),
                target_path: &actor.org_path,
                detail: serde_json::json!({"session": handle}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
