//! Account management: create, disable, enable, reset and change passwords.

use super::four_eyes::Via;
use super::{Caller, Refusal, ServiceError, ServiceResult};
use crate::authz::{Action, Actor, Scope};
use crate::crypto::{hash_password, verify_password};
use crate::domain::{FieldError, MemberId, OrgId, Role, UserId};
use crate::store::audit::{self, NewEvent};
use crate::store::orgs::Page;
use crate::store::throttle::{self, Key};
use crate::store::{StoreError, members, orgs, sessions, users};

// The read types this area returns, re-exported: callers (web, cli) name them here, not in
// the store.
pub use crate::store::users::{User, UserFilter};

/// What an administrator types to create an account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub org_id: OrgId,
    /// Required for the 党员本人 role, refused for the others.
    pub member_id: Option<MemberId>,
    /// The password was chosen by whoever creates the account (an administrator): the user
    /// must change it at the first sign-in.
    pub must_change_password: bool,
}

pub fn check_username(username: &str) -> Result<(), FieldError> {
    let ok_chars = username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !(3..=32).contains(&username.chars().count()) || !ok_chars {
        return Err(FieldError::new(
            "用户名",
            "应为3–32位，只能包含英文字母、数字、下划线、点和连字符",
        ));
    }
    Ok(())
}

/// Passwords too common to allow, shipped with the binary (one per line, `#` comments).
const COMMON_PASSWORDS: &str = include_str!("data/common_passwords.txt");

fn is_common(password: &str) -> bool {
    let p = password.to_lowercase();
    // One character repeated, or a run of consecutive digits or letters (0123456789…).
    let chars: Vec<char> = p.chars().collect();
    let same = chars.windows(2).all(|w| w[0] == w[1]);
    let ascending = chars
        .windows(2)
        .all(|w| u32::from(w[1]) == u32::from(w[0]) + 1);
    same || ascending
        || COMMON_PASSWORDS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .any(|l| l == p)
}

/// The password rules: 10–128 characters, letters and digits, not the username, not a
/// common password.
pub fn check_password(password: &str, username: &str) -> Result<(), FieldError> {
    let n = password.chars().count();
    if !(10..=128).contains(&n) {
        return Err(FieldError::new("密码", "长度应为10–128位"));
    }
    let letters = password.chars().any(|c| c.is_alphabetic());
    let digits = password.chars().any(|c| c.is_ascii_digit());
    if !(letters && digits) {
        return Err(FieldError::new("密码", "应同时包含字母和数字"));
    }
    if password.to_lowercase() == username.trim().to_lowercase() {
        return Err(FieldError::new("密码", "不能与用户名相同"));
    }
    if is_common(password) {
        return Err(FieldError::new(
            "密码",
            "过于常见，容易被猜中，请换一个不常见的密码",
        ));
    }
    Ok(())
}

async fn hash_off_thread(password: &str) -> ServiceResult<String> {
    let pw = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .map_err(|_| ServiceError::Crypto(crate::crypto::CryptoError::Password))?
        .map_err(ServiceError::from)
}

/// An account the caller manages: found, and inside the caller's subtree (administrators;
/// "not found" for one outside, as for one that does not exist).
pub(crate) async fn managed(
    conn: &mut sqlx::AnyConnection,
    caller: Caller<'_>,
    id: UserId,
) -> ServiceResult<users::User> {
    caller.require(Action::ManageUsers, None)?;
    let user = users::get(conn, id).await?.ok_or(ServiceError::NotFound)?;
    caller.require(Action::ManageUsers, Some(&user.org_path))?;
    Ok(user)
}

/// The audit event of something done to an account, naming it by username.
pub(crate) async fn account_event(
    conn: &mut sqlx::AnyConnection,
    caller: Caller<'_>,
    action: &'static str,
    user: &users::User,
) -> ServiceResult<()> {
    audit::append(
        conn,
        caller.by(),
        NewEvent {
            action,
            target_kind: "user",
            target_id: user.id.to_string(),
            target_path: &user.org_path,
            detail: serde_json::json!({"username": user.username}),
        },
    )
    .await?;
    Ok(())
}

super::area!(UsersService);

impl UsersService<'_> {
    pub async fn create(&self, caller: Caller<'_>, new: NewAccount) -> ServiceResult<UserId> {
        let mut errors = Vec::new();
        let username = new.username.trim().to_owned();
        let display_name = new.display_name.trim().to_owned();
        if let Err(e) = check_username(&username) {
            errors.push(e);
        }
        if display_name.is_empty() || display_name.chars().count() > 30 {
            errors.push(FieldError::new("姓名", "不能为空，且不超过30个字"));
        }
        if let Err(e) = check_password(&new.password, &username) {
            errors.push(e);
        }
        match (new.role, new.member_id) {
            (Role::Member, None) => {
                errors.push(FieldError::new("党员", "党员本人账号必须关联一名党员"))
            }
            // Working accounts may name their holder's own member record (书记 are members
            // too): they can then never review their own form.
            (Role::Auditor, Some(_)) => {
                errors.push(FieldError::new("党员", "只读审计账号不能关联党员"))
            }
            (_, Some(_)) | (_, None) => {}
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        caller.require(Action::ManageUsers, None)?;
        let hash = hash_off_thread(&new.password).await?;
        let mut tx = self.db.begin().await?;
        let org = orgs::get(&mut tx, new.org_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ManageUsers, Some(&org.path))?;
        if let Some(member_id) = new.member_id {
            let member = members::get(&mut tx, member_id)
                .await?
                .ok_or_else(|| ServiceError::invalid("党员", "该党员不存在"))?;
            if member.org_id != org.id {
                return Err(ServiceError::invalid(
                    "所属组织",
                    "党员本人账号应设在该党员所在的党组织",
                ));
            }
        }
        if users::get_by_username(&mut tx, &username).await?.is_some() {
            return Err(ServiceError::invalid("用户名", "该用户名已被使用"));
        }
        let id = users::insert(
            &mut tx,
            &users::NewUser {
                username: username.clone(),
                display_name: display_name.clone(),
                password_hash: hash,
                role: new.role,
                org_id: org.id,
                member_id: new.member_id,
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::Duplicate(_) => ServiceError::invalid("用户名", "该用户名已被使用"),
            other => other.into(),
        })?;
        if new.must_change_password {
            users::require_password_change(&mut tx, id).await?;
        }
        // A new administrator account waits, disabled, for a second administrator (双人复核).
        if let (Role::Admin, Caller::User(actor)) = (new.role, caller) {
            users::set_disabled(&mut tx, id, true).await?;
            super::four_eyes::request_in(
                &mut tx,
                actor,
                &super::four_eyes::Risky::EnableAdmin { user: id.0 },
                "新建管理员账号",
            )
            .await?;
        }
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "user.create",
                target_kind: "user",
                target_id: id.to_string(),
                target_path: &org.path,
                detail: serde_json::json!({
                    "username": username,
                    "display_name": display_name,
                    "role": new.role.code(),
                    "org_id": org.id.0,
                    "member_id": new.member_id.map(|m| m.0),
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// End every session of an account (an administrator of its scope): it must sign in
    /// again everywhere.
    pub async fn end_sessions(&self, caller: Caller<'_>, id: UserId) -> ServiceResult<()> {
        let mut tx = self.db.begin().await?;
        let user = managed(&mut tx, caller, id).await?;
        sessions::revoke_all_of(&mut tx, id).await?;
        account_event(&mut tx, caller, "user.end_sessions", &user).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Disable (revoking every session at once) or re-enable an account.
    /// Disabling an administrator, or enabling one (granting the role's powers), needs a
    /// second person (双人复核).
    pub async fn set_disabled(
        &self,
        caller: Caller<'_>,
        id: UserId,
        disabled: bool,
    ) -> ServiceResult<()> {
        let mut tx = self.db.begin().await?;
        self.set_disabled_in(&mut tx, caller, id, disabled, Via::Direct)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn set_disabled_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        caller: Caller<'_>,
        id: UserId,
        disabled: bool,
        via: Via,
    ) -> ServiceResult<()> {
        let user = managed(&mut *tx, caller, id).await?;
        // Already so: nothing to do, except that an approved request for it has lapsed.
        if user.disabled == disabled {
            if via == Via::Approved {
                return Err(ServiceError::Conflict(Refusal::TargetChanged(
                    if disabled {
                        "该账号已停用"
                    } else {
                        "该账号已启用"
                    }
                    .into(),
                )));
            }
            return Ok(());
        }
        if let Caller::User(actor) = caller
            && actor.user_id == id
            && disabled
        {
            return Err(ServiceError::Conflict(Refusal::OwnAccount));
        }
        super::four_eyes::gate(caller, via, user.role == Role::Admin)?;
        users::set_disabled(&mut *tx, id, disabled).await?;
        if disabled {
            sessions::revoke_all_of(&mut *tx, id).await?;
        }
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        account_event(&mut *tx, caller, action, &user).await?;
        Ok(())
    }

    /// An administrator sets a new password; the account's sessions end and any lock clears.
    pub async fn reset_password(
        &self,
        caller: Caller<'_>,
        id: UserId,
        password: &str,
    ) -> ServiceResult<()> {
        let user = {
            let mut conn = self.db.acquire().await?;
            managed(&mut conn, caller, id).await?
        };
        check_password(password, &user.username).map_err(|e| ServiceError::Invalid(vec![e]))?;
        let hash = hash_off_thread(password).await?;
        let mut tx = self.db.begin().await?;
        users::set_password(&mut tx, id, &hash, true).await?;
        sessions::revoke_all_of(&mut tx, id).await?;
        for key in [
            Key::Password(&user.username),
            Key::Activation(&user.username),
        ] {
            throttle::clear(&mut tx, &key).await?;
        }
        account_event(&mut tx, caller, "user.reset_password", &user).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A user changes their own password, proving the old one; other sessions end.
    pub async fn change_own_password(
        &self,
        actor: &Actor,
        old: &str,
        new: &str,
        keep_session_hash: &str,
    ) -> ServiceResult<()> {
        let user = {
            let mut conn = self.db.acquire().await?;
            users::get(&mut conn, actor.user_id)
                .await?
                .ok_or(ServiceError::NotFound)?
        };
        let old_hash = user.password_hash.clone();
        let old_pw = old.to_owned();
        let ok = tokio::task::spawn_blocking(move || verify_password(&old_pw, &old_hash))
            .await
            .unwrap_or(false);
        if !ok {
            return Err(ServiceError::invalid("原密码", "原密码不正确"));
        }
        check_password(new, &user.username).map_err(|e| ServiceError::Invalid(vec![e]))?;
        let hash = hash_off_thread(new).await?;
        let mut tx = self.db.begin().await?;
        users::set_password(&mut tx, actor.user_id, &hash, false).await?;
        sessions::revoke_all_except(&mut tx, actor.user_id, keep_session_hash).await?;
        audit::append(
            &mut tx,
            Caller::User(actor).by(),
            NewEvent {
                action: "user.change_password",
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

    pub async fn list(
        &self,
        caller: Caller<'_>,
        filter: &users::UserFilter,
    ) -> ServiceResult<Page<users::User>> {
        caller.require(Action::ManageUsers, None)?;
        let scope = match caller {
            Caller::User(a) => Scope::of(a),
            Caller::Operator => Scope::Subtree(self.directory().root_path().await?),
        };
        let mut conn = self.db.acquire().await?;
        Ok(users::list(&mut conn, &scope, filter).await?)
    }

    pub async fn get(&self, caller: Caller<'_>, id: UserId) -> ServiceResult<users::User> {
        let mut conn = self.db.acquire().await?;
        managed(&mut conn, caller, id).await
    }
}

impl UsersService<'_> {
    /// The node an administrator is about to add an account to (must be in their subtree).
    pub async fn org_for_accounts(
        &self,
        caller: Caller<'_>,
        id: OrgId,
    ) -> ServiceResult<orgs::Org> {
        caller.require(Action::ManageUsers, None)?;
        let mut conn = self.db.acquire().await?;
        let org = orgs::get(&mut conn, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ManageUsers, Some(&org.path))?;
        Ok(org)
    }
}
