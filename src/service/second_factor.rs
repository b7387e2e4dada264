//! The TOTP second factor: setting it up (QR code, confirming code, recovery codes), turning
//! it off, an administrator's reset for a lost phone, and the setting that requires it of
//! reviewers and administrators.

use super::{Caller, ServiceError, ServiceResult};
use crate::authz::{Action, Actor};
use crate::crypto::token_hash;
use crate::domain::{Role, UserId};
use crate::store::audit::{self, By, NewEvent};
use crate::store::{factors, now, users};
use crate::totp;

/// The name authenticator apps show beside the account.
pub const ISSUER: &str = "律师行业党员登记";

/// Roles the requirement applies to.
pub fn role_needs_factor(role: Role) -> bool {
    matches!(role, Role::Reviewer | Role::Admin)
}

/// What the account page shows.
#[derive(Debug, Clone)]
pub struct Status {
    pub enabled: bool,
    pub recovery_left: i64,
    /// The setting is on and the caller's role is one it covers.
    pub required: bool,
}

/// A secret being set up: typed by hand or scanned, then confirmed with a code.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub secret: String,
    pub uri: String,
    pub qr_svg: String,
}

/// New recovery codes for an account (the old ones stop working): the codes, shown once.
async fn issue_recovery(
    conn: &mut sqlx::AnyConnection,
    user: UserId,
) -> ServiceResult<Vec<String>> {
    let codes = totp::new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(c)).collect();
    factors::replace_recovery(conn, user, &hashes).await?;
    Ok(codes)
}

/// An event about the actor's own account.
async fn own_event(
    conn: &mut sqlx::AnyConnection,
    actor: &Actor,
    action: &'static str,
    detail: serde_json::Value,
) -> ServiceResult<()> {
    audit::append(
        conn,
        By::Actor(actor),
        NewEvent {
            action,
            target_kind: "user",
            target_id: actor.user_id.to_string(),
            target_path: &actor.org_path,
            detail,
        },
    )
    .await?;
    Ok(())
}

/// The stored form of a recovery code.
pub(crate) fn recovery_hash(code: &str) -> String {
    token_hash(&totp::normalise_recovery(code))
}

/// A code message for a refused TOTP code.
pub(crate) fn refused(r: totp::Refused) -> ServiceError {
    ServiceError::invalid(
        "动态验证码",
        match r {
            totp::Refused::Wrong => "验证码不正确，请输入验证器上当前显示的 6 位数字",
            totp::Refused::Replayed => "该验证码已使用过，请等待验证器显示下一个验证码",
        },
    )
}

super::area!(FactorService);

impl FactorService<'_> {
    pub async fn required_setting(&self) -> ServiceResult<bool> {
        let mut conn = self.db.acquire().await?;
        Ok(factors::required(&mut conn).await?)
    }

    /// The requirement setting, for a national administrator (who may change it); `None`
    /// for everyone else.
    pub async fn setting_for(&self, actor: &Actor) -> ServiceResult<Option<bool>> {
        if actor.role != Role::Admin || actor.org_path != self.directory().root_path().await? {
            return Ok(None);
        }
        Ok(Some(self.required_setting().await?))
    }

    pub async fn status(&self, actor: &Actor) -> ServiceResult<Status> {
        let mut conn = self.db.acquire().await?;
        let enabled = factors::get(&mut conn, actor.user_id).await?.is_some();
        Ok(Status {
            enabled,
            recovery_left: factors::recovery_left(&mut conn, actor.user_id).await?,
            required: role_needs_factor(actor.role) && factors::required(&mut conn).await?,
        })
    }

    /// Start setting up (or replacing) the caller's second factor: a new secret, kept
    /// aside until a code from it is typed.
    pub async fn begin(&self, actor: &Actor) -> ServiceResult<Enrolment> {
        let secret = totp::new_secret();
        let mut conn = self.db.acquire().await?;
        factors::set_pending(
            &mut conn,
            actor.user_id,
            Some(self.keys.encrypt_bytes(&secret)),
        )
        .await?;
        Ok(self.enrolment(actor, &secret))
    }

    /// The secret being set up, again (the page reloaded after a wrong code).
    pub async fn pending(&self, actor: &Actor) -> ServiceResult<Option<Enrolment>> {
        let mut conn = self.db.acquire().await?;
        let Some(enc) = factors::pending(&mut conn, actor.user_id).await? else {
            return Ok(None);
        };
        let secret = self.keys.decrypt_bytes(&enc)?;
        Ok(Some(self.enrolment(actor, &secret)))
    }

    fn enrolment(&self, actor: &Actor, secret: &[u8]) -> Enrolment {
        let uri = totp::otpauth_uri(ISSUER, &actor.username, secret);
        Enrolment {
            secret: totp::base32(secret)
                .as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join(" "),
            qr_svg: totp::qr_svg(&uri).unwrap_or_default(),
            uri,
        }
    }

    /// Confirm the secret being set up with a code from it: it becomes the account's second
    /// factor (replacing any earlier one); returns the new recovery codes, shown once.
    pub async fn confirm(&self, actor: &Actor, code: &str) -> ServiceResult<Vec<String>> {
        let mut tx = self.db.begin().await?;
        let Some(enc) = factors::pending(&mut tx, actor.user_id).await? else {
            return Err(ServiceError::invalid(
                "动态验证码",
                "没有正在设置的验证器，请重新点击“开始设置”",
            ));
        };
        let secret = self.keys.decrypt_bytes(&enc)?;
        let step = totp::check(&secret, code, now(), 0).map_err(refused)?;
        let replacing = factors::get(&mut tx, actor.user_id).await?.is_some();
        factors::enable(&mut tx, actor.user_id, enc, step).await?;
        let codes = issue_recovery(&mut tx, actor.user_id).await?;
        own_event(
            &mut tx,
            actor,
            "totp.enable",
            serde_json::json!({"replacing": replacing}),
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// New recovery codes for the caller (the old ones stop working), proving the password.
    pub async fn new_recovery_codes(
        &self,
        actor: &Actor,
        password: &str,
    ) -> ServiceResult<Vec<String>> {
        self.prove_password(actor, password).await?;
        let mut tx = self.db.begin().await?;
        if factors::get(&mut tx, actor.user_id).await?.is_none() {
            return Err(ServiceError::invalid("动态验证码", "尚未启用动态验证码"));
        }
        let codes = issue_recovery(&mut tx, actor.user_id).await?;
        own_event(
            &mut tx,
            actor,
            "totp.recovery_codes",
            serde_json::json!({"codes": codes.len()}),
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Turn off the caller's second factor, proving the password; refused where the
    /// caller's role requires one.
    pub async fn disable_own(&self, actor: &Actor, password: &str) -> ServiceResult<()> {
        self.prove_password(actor, password).await?;
        let mut tx = self.db.begin().await?;
        if role_needs_factor(actor.role) && factors::required(&mut tx).await? {
            return Err(ServiceError::invalid(
                "动态验证码",
                "您的角色必须使用动态验证码，不能关闭；更换手机请直接“重新设置”",
            ));
        }
        if !factors::disable(&mut tx, actor.user_id).await? {
            return Err(ServiceError::invalid("动态验证码", "尚未启用动态验证码"));
        }
        own_event(&mut tx, actor, "totp.disable", serde_json::json!({})).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn prove_password(&self, actor: &Actor, password: &str) -> ServiceResult<()> {
        let user = {
            let mut conn = self.db.acquire().await?;
            users::get(&mut conn, actor.user_id)
                .await?
                .ok_or(ServiceError::NotFound)?
        };
        if !super::auth::verify_off_thread(password, user.password_hash).await {
            return Err(ServiceError::invalid("密码", "密码不正确"));
        }
        Ok(())
    }

    /// An administrator removes an account's second factor (a lost phone): the user signs in
    /// with the password alone and, where required, sets a new one up at once.
    pub async fn reset(&self, caller: Caller<'_>, id: UserId) -> ServiceResult<()> {
        let mut tx = self.db.begin().await?;
        let user = super::users::managed(&mut tx, caller, id).await?;
        if !factors::disable(&mut tx, id).await? {
            return Err(ServiceError::invalid(
                "动态验证码",
                "该账号未启用动态验证码",
            ));
        }
        crate::store::sessions::revoke_all_of(&mut tx, id).await?;
        super::users::account_event(&mut tx, caller, "totp.reset", &user).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Require (or stop requiring) a second factor of every reviewer and administrator: a
    /// national administrator's (or the command line's) setting.
    pub async fn set_required(&self, caller: Caller<'_>, on: bool) -> ServiceResult<()> {
        let root = self.directory().root_path().await?;
        if let Caller::User(a) = caller
            && a.org_path != root
        {
            return Err(ServiceError::Forbidden);
        }
        caller.require(Action::ManageUsers, Some(&root))?;
        let mut tx = self.db.begin().await?;
        factors::set_required(&mut tx, on).await?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "totp.required",
                target_kind: "setting",
                target_id: "totp_required".to_owned(),
                target_path: &root,
                detail: serde_json::json!({"on": on}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
