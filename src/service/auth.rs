//! Logging in and out, and turning a session cookie back into an actor.

use super::{ServiceError, ServiceResult, Services, beijing_time};
use crate::authz::Actor;
use crate::crypto::{random_token, token_hash, verify_password};
use crate::store::audit::{self, By, NewEvent};
use crate::store::{now, sessions, users};

/// Consecutive wrong passwords before an account is locked, and for how long.
pub const MAX_FAILED_LOGINS: i64 = 5;
pub const LOCKOUT_SECONDS: i64 = 15 * 60;

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
    }
}

impl Services {
    /// Check the password, enforce the lock-out, open a session.
    pub async fn login(&self, username: &str, password: &str) -> ServiceResult<NewSession> {
        let username = username.trim();
        let user = {
            let mut conn = self.db.acquire().await?;
            users::get_by_username(&mut conn, username).await?
        };
        let Some(user) = user else {
            verify_off_thread(password, dummy_hash().to_owned()).await;
            return Err(ServiceError::LoginFailed);
        };
        let t = now();
        if user.locked_until > t {
            return Err(ServiceError::LockedOut(beijing_time(user.locked_until)));
        }
        let ok = verify_off_thread(password, user.password_hash.clone()).await;
        let target = NewEvent {
            action: "login",
            target_kind: "user",
            target_id: user.id.to_string(),
            target_path: &user.org_path,
            detail: serde_json::json!({}),
        };
        let mut tx = self.db.begin().await?;
        if !ok {
            let failed = users::increment_failed_logins(&mut tx, user.id).await?;
            let locked_until = if failed >= MAX_FAILED_LOGINS {
                t + LOCKOUT_SECONDS
            } else {
                0
            };
            if locked_until > 0 {
                users::lock_until(&mut tx, user.id, locked_until).await?;
            }
            audit::append(
                &mut tx,
                By::System(&user.username),
                NewEvent {
                    action: "login.failed",
                    detail: serde_json::json!({"failed_logins": failed, "locked": locked_until > 0}),
                    ..target
                },
            )
            .await?;
            tx.commit().await?;
            return Err(if locked_until > 0 {
                ServiceError::LockedOut(beijing_time(locked_until))
            } else {
                ServiceError::LoginFailed
            });
        }
        if user.disabled {
            return Err(ServiceError::Disabled);
        }
        if user.failed_logins > 0 || user.locked_until > 0 {
            users::clear_failed_logins(&mut tx, user.id).await?;
        }
        let token = random_token();
        let csrf_token = random_token();
        let expires_at = t + self.session_hours * 3600;
        sessions::insert(
            &mut tx,
            &token_hash(&token),
            user.id,
            &csrf_token,
            expires_at,
        )
        .await?;
        let actor = actor_of(&user);
        audit::append(&mut tx, By::Actor(&actor), target).await?;
        tx.commit().await?;
        Ok(NewSession {
            token,
            csrf_token,
            expires_at,
            actor,
        })
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
        let unread = crate::store::notifications::unread_count(&mut conn, s.user.id).await?;
        Ok(Some(LiveSession {
            actor: actor_of(&s.user),
            csrf_token: s.csrf_token,
            token_hash: s.token_hash,
            unread,
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

    /// Remove sessions that ended more than a day ago; returns how many.
    pub async fn purge_expired_sessions(&self) -> ServiceResult<u64> {
        let mut conn = self.db.acquire().await?;
        Ok(sessions::purge_expired(&mut conn).await?)
    }
}
