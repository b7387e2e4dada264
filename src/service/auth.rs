//! Logging in and out, and turning a session cookie back into an actor.

use super::{ServiceError, ServiceResult, beijing_time};
use crate::authz::Actor;
use crate::crypto::{random_token, token_hash, verify_password};
use crate::store::audit::{self, By, NewEvent};
use crate::store::throttle::{self, Key};
use crate::store::{factors, now, sessions, users};

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

/// Check a password against its hash on a blocking thread (Argon2 takes a while).
pub(crate) async fn verify_off_thread(password: &str, hash: String) -> bool {
    let pw = password.to_owned();
    tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
        .await
        .unwrap_or(false)
}

/// How long the ticket between the password and the code at sign-in stays valid.
pub const TICKET_SECONDS: i64 = 5 * 60;

/// What the password step of signing in gives.
#[derive(Debug, Clone)]
pub enum LoginStep {
    /// Signed in.
    Done(NewSession),
    /// The account has a second factor: the code is asked for with this ticket.
    Code { ticket: String },
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
    /// A second factor is required of this role and not set up: every page but 动态验证码 is
    /// closed until it is.
    pub must_set_up_factor: bool,
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
    /// address), open a session. An account with a second factor is refused here (the web
    /// sign-in uses [`Self::login_start`] and [`Self::login_code`]).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        source: Source<'_>,
    ) -> ServiceResult<NewSession> {
        match self.login_start(username, password, source).await? {
            LoginStep::Done(s) => Ok(s),
            LoginStep::Code { .. } => Err(ServiceError::invalid(
                "动态验证码",
                "该账号已启用动态验证码，请在网页上登录",
            )),
        }
    }

    /// The first step of signing in: the password. Without a second factor the session
    /// opens; with one, a ticket (valid [`TICKET_SECONDS`]) is handed back for the code.
    pub async fn login_start(
        &self,
        username: &str,
        password: &str,
        source: Source<'_>,
    ) -> ServiceResult<LoginStep> {
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
        if user.has_totp {
            let ticket = random_token();
            factors::insert_ticket(&mut tx, &token_hash(&ticket), user.id, t + TICKET_SECONDS)
                .await?;
            tx.commit().await?;
            return Ok(LoginStep::Code { ticket });
        }
        throttle::clear(&mut tx, &Key::Password(username)).await?;
        let session = self.open(&mut tx, user, source, t, "password").await?;
        tx.commit().await?;
        Ok(LoginStep::Done(session))
    }

    /// The second step: a code from the authenticator (or one recovery code) for the ticket
    /// the password step gave. Wrong codes count towards the same lock-outs as passwords; a
    /// code already used is refused.
    pub async fn login_code(
        &self,
        ticket: &str,
        code: &str,
        source: Source<'_>,
    ) -> ServiceResult<NewSession> {
        let t = now();
        let ticket_hash = token_hash(ticket.trim());
        let (user, factor) = {
            let mut conn = self.db.acquire().await?;
            let Some(id) = factors::ticket_user(&mut conn, &ticket_hash, t).await? else {
                return Err(ServiceError::invalid(
                    "动态验证码",
                    "登录已超时，请重新输入用户名和密码",
                ));
            };
            let user = users::get(&mut conn, id)
                .await?
                .ok_or(ServiceError::NotFound)?;
            self.refuse_locked(&mut conn, &Key::Password(&user.username), source, t)
                .await?;
            let factor = factors::get(&mut conn, id).await?;
            (user, factor)
        };
        if user.disabled {
            return Err(ServiceError::Disabled);
        }
        let mut tx = self.db.begin().await?;
        // A factor reset by an administrator in the meantime: the password was enough.
        let outcome = match &factor {
            None => Ok("password"),
            Some(f) => {
                let typed = code.trim();
                if typed.chars().any(|c| c.is_ascii_alphabetic()) {
                    let hash = super::second_factor::recovery_hash(typed);
                    if factors::use_recovery(&mut tx, user.id, &hash).await? {
                        Ok("recovery")
                    } else {
                        Err(ServiceError::invalid(
                            "动态验证码",
                            "恢复码不正确或已使用过",
                        ))
                    }
                } else {
                    let secret = self.keys.decrypt_bytes(&f.secret_enc)?;
                    match crate::totp::check(&secret, typed, t, f.last_step) {
                        Ok(step) if factors::use_step(&mut tx, user.id, step).await? => Ok("totp"),
                        Ok(_) => Err(super::second_factor::refused(
                            crate::totp::Refused::Replayed,
                        )),
                        Err(r) => Err(super::second_factor::refused(r)),
                    }
                }
            }
        };
        let how = match outcome {
            Ok(how) => how,
            Err(refusal) => {
                let locked = self
                    .count_failure(&mut tx, &Key::Password(&user.username), source, t)
                    .await?;
                if locked.is_some() {
                    factors::drop_ticket(&mut tx, &ticket_hash).await?;
                }
                audit::append(
                    &mut tx,
                    By::System(&user.username),
                    NewEvent {
                        action: "login.code_failed",
                        target_kind: "user",
                        target_id: user.id.to_string(),
                        target_path: &user.org_path,
                        detail: serde_json::json!({"locked": locked.is_some(), "from": source}),
                    },
                )
                .await?;
                tx.commit().await?;
                return Err(locked.map_or(refusal, |until| {
                    ServiceError::LockedOut(beijing_time(until))
                }));
            }
        };
        factors::drop_ticket(&mut tx, &ticket_hash).await?;
        throttle::clear(&mut tx, &Key::Password(&user.username)).await?;
        let session = self.open(&mut tx, &user, source, t, how).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// Open a session for a user who has proved who they are; audited with how.
    async fn open(
        &self,
        tx: &mut sqlx::AnyConnection,
        user: &users::User,
        source: Source<'_>,
        t: i64,
        how: &str,
    ) -> ServiceResult<NewSession> {
        let token = random_token();
        let csrf_token = random_token();
        let expires_at = t + self.session_hours * 3600;
        sessions::insert(
            &mut *tx,
            &token_hash(&token),
            user.id,
            &csrf_token,
            expires_at,
            source,
        )
        .await?;
        let actor = actor_of(user);
        audit::append(
            &mut *tx,
            By::Actor(&actor),
            NewEvent {
                action: "login",
                target_kind: "user",
                target_id: user.id.to_string(),
                target_path: &user.org_path,
                detail: serde_json::json!({"from": source, "factor": how}),
            },
        )
        .await?;
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
        let must_set_up_factor = !s.user.has_totp
            && super::second_factor::role_needs_factor(s.user.role)
            && factors::required(&mut conn).await?;
        Ok(Some(LiveSession {
            actor: actor_of(&s.user),
            csrf_token: s.csrf_token,
            token_hash: s.token_hash,
            unread,
            at: beijing_time(t),
            must_change_password: s.user.must_change_password,
            must_set_up_factor,
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
