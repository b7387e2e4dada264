//! Adding members: a clerk records a party member at a firm and gives them access with a
//! one-time activation code; the member activates by choosing their own password.

use rand::Rng;

use super::users::check_password;
use super::{Caller, Refusal, ServiceError, ServiceResult, beijing_time};
use crate::authz::Action;
use crate::crypto::{hash_password, random_token, token_hash};
use crate::domain::{CitizenId, FieldError, FirmId, LicenceNo, MemberId, Mobile, OrgId, Role};
use crate::forms::Catalogue;
use crate::store::audit::{self, NewEvent};
use crate::store::members::NewMember;
use crate::store::throttle::{self, Key};
use crate::store::{StoreError, activation, firms, members, now, users};

/// How long an activation code works.
pub const ACTIVATION_DAYS: i64 = 7;

/// What a clerk types to add a member.
#[derive(Debug, Clone, Default)]
pub struct NewMemberInput {
    pub name: String,
    pub citizen_id: String,
    pub category: String,
    pub firm_id: Option<FirmId>,
    pub mobile: String,
    pub ethnicity: String,
    pub education: String,
    pub party_status: String,
    pub joined_on: String,
    pub full_member_on: String,
    pub licence_no: String,
    pub practice_type: String,
}

/// The new member's login, shown to the clerk once.
#[derive(Debug, Clone)]
pub struct Activation {
    pub member_id: MemberId,
    pub username: String,
    pub code: String,
    pub expires: String,
}

/// Eight characters without look-alikes (no 0/O, 1/I/L), shown as `XXXX-XXXX`.
fn activation_code() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut rng = rand::rng();
    let chars: Vec<char> = (0..8)
        .map(|_| char::from(ALPHABET[rng.next_u32() as usize % ALPHABET.len()]))
        .collect();
    format!(
        "{}-{}",
        chars[..4].iter().collect::<String>(),
        chars[4..].iter().collect::<String>()
    )
}

/// The password hash of an account nobody can use before activation.
pub(super) async fn placeholder_hash() -> ServiceResult<String> {
    let pw = random_token();
    tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .map_err(|_| ServiceError::Crypto(crate::crypto::CryptoError::Password))?
        .map_err(ServiceError::from)
}

/// A fresh activation code for `user` (stored as a hash); returns it and its expiry.
pub(super) async fn new_code(
    tx: &mut sqlx::AnyConnection,
    caller: Caller<'_>,
    user: crate::domain::UserId,
) -> ServiceResult<(String, i64)> {
    let code = activation_code();
    let expires_at = now() + ACTIVATION_DAYS * 86_400;
    activation::insert(
        tx,
        &token_hash(&normalise_code(&code)),
        user,
        caller.user_id(),
        expires_at,
    )
    .await?;
    Ok((code, expires_at))
}

/// What the member types, normalised the way codes are stored.
fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn in_list(list: &str, code: &str) -> bool {
    Catalogue::get()
        .list(list)
        .is_some_and(|l| l.label(code).is_some())
}

super::area!(MembershipService);

impl MembershipService<'_> {
    /// Firms a caller may add members to (those in their subtree), by name.
    pub async fn firms(&self, caller: Caller<'_>, org: OrgId) -> ServiceResult<Vec<firms::Firm>> {
        let (scope, _) = self.directory().narrowed_scope(caller, Some(org)).await?;
        caller.require(Action::ManageMembers, None)?;
        let mut conn = self.db.acquire().await?;
        let page = firms::list(
            &mut conn,
            &scope,
            &firms::FirmFilter {
                page: 1,
                per_page: 500,
                ..Default::default()
            },
        )
        .await?;
        Ok(page.items)
    }

    /// Add a member and their (not yet usable) account; returns the one-time activation code.
    pub async fn add(
        &self,
        caller: Caller<'_>,
        input: NewMemberInput,
    ) -> ServiceResult<Activation> {
        caller.require(Action::ManageMembers, None)?;
        let today = {
            let mut conn = self.db.acquire().await?;
            super::rules_date(crate::store::campaigns::latest(&mut conn).await?.as_ref())
        };
        let mut errors = Vec::new();
        let name = input.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 30 {
            errors.push(FieldError::new("姓名", "必填，且不超过30个字"));
        }
        let id = match CitizenId::parse(&input.citizen_id, today) {
            Ok(id) => Some(id),
            Err(e) => {
                let reason = e.to_string();
                errors.push(FieldError::new(
                    "公民身份号码",
                    reason.trim_start_matches("公民身份号码").to_owned(),
                ));
                None
            }
        };
        let lawyer = match input.category.as_str() {
            "lawyer" => true,
            "staff" => false,
            _ => {
                errors.push(FieldError::new("人员类别", "请选择律师党员或工作人员党员"));
                false
            }
        };
        let mobile = Mobile::parse(&input.mobile)
            .map_err(|_| errors.push(FieldError::new("手机号码", "应为11位手机号码，以13–19开头")))
            .ok();
        if !in_list("ethnicity", &input.ethnicity) {
            errors.push(FieldError::new("民族", "请从列表中选择"));
        }
        if !in_list("education", &input.education) {
            errors.push(FieldError::new("学历", "请从列表中选择"));
        }
        if !in_list("party_status", &input.party_status) {
            errors.push(FieldError::new("人员类别（正式/预备）", "请从列表中选择"));
        }
        let joined = crate::forms::rules::parse_date(input.joined_on.trim());
        match joined {
            None => errors.push(FieldError::new(
                "入党日期",
                "应为有效日期，格式如 2010-07-01",
            )),
            Some(d) if d > today => errors.push(FieldError::new(
                "入党日期",
                format!("不能晚于 {today}（本次登记核查的判断日）"),
            )),
            Some(_) => {}
        }
        let full = input.full_member_on.trim();
        if input.party_status == "full" && crate::forms::rules::parse_date(full).is_none() {
            errors.push(FieldError::new(
                "转正日期",
                "正式党员必填，格式如 2011-07-01",
            ));
        }
        let (licence, practice) = if lawyer {
            let l = LicenceNo::parse(&input.licence_no)
                .map_err(|e| {
                    errors.push(FieldError::new(
                        "执业证号",
                        e.to_string().trim_start_matches("执业证号").to_owned(),
                    ))
                })
                .ok();
            if !in_list("practice_type", &input.practice_type) {
                errors.push(FieldError::new("执业类别", "请从列表中选择"));
            }
            (l, Some(input.practice_type.clone()))
        } else {
            (None, None)
        };
        let Some(firm_id) = input.firm_id else {
            errors.push(FieldError::new("律师事务所", "请选择"));
            return Err(ServiceError::Invalid(errors));
        };
        let mut conn = self.db.acquire().await?;
        let firm = firms::get(&mut conn, firm_id).await?;
        let firm = match (firm, caller) {
            (Some(f), _)
                if caller
                    .require(Action::ManageMembers, Some(&f.scope_path))
                    .is_ok() =>
            {
                f
            }
            _ => {
                errors.push(FieldError::new(
                    "律师事务所",
                    "所选律师事务所不存在或不在本组织范围内",
                ));
                return Err(ServiceError::Invalid(errors));
            }
        };
        if let Some(id) = &id
            && members::find_by_id_index(&mut conn, &self.keys.id_index(id))
                .await?
                .is_some()
        {
            errors.push(FieldError::new(
                "公民身份号码",
                "该号码已在系统中登记（可能在其他单位）；请核实，如需转入请联系原所在党组织",
            ));
        }
        drop(conn);
        let (Some(id), Some(mobile), Some(joined), true) = (id, mobile, joined, errors.is_empty())
        else {
            return Err(ServiceError::Invalid(errors));
        };
        let (org_id, org_path) = match firm.org_id {
            Some(o) => (o, firm.scope_path.clone()),
            None => (firm.city_org_id, firm.scope_path.clone()),
        };
        let placeholder_hash = placeholder_hash().await?;
        let mut tx = self.db.begin().await?;
        let member_id = members::insert(
            &mut tx,
            &NewMember {
                name: name.clone(),
                sex: id.sex_code().to_owned(),
                ethnicity: input.ethnicity.clone(),
                birth_date: id.birth_date().to_string(),
                citizen_id_enc: self.keys.encrypt_id(&id),
                citizen_id_index: self.keys.id_index(&id),
                citizen_id_masked: id.masked(),
                category: if lawyer { "lawyer" } else { "staff" }.to_owned(),
                practice_type: practice,
                licence_no: licence.map(|l| l.as_str().to_owned()),
                education: input.education.clone(),
                party_status: input.party_status.clone(),
                joined_on: joined.to_string(),
                full_member_on: (input.party_status == "full").then(|| full.to_owned()),
                mobile: mobile.as_str().to_owned(),
                firm_id,
                org_id,
                org_path: org_path.clone(),
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::Duplicate(c) if c.contains("licence") => ServiceError::invalid(
                "执业证号",
                "该执业证号已在系统中登记（可能在其他单位），请核实",
            ),
            StoreError::Duplicate(_) => {
                ServiceError::invalid("公民身份号码", "该号码已在系统中登记（可能在其他单位）")
            }
            other => other.into(),
        })?;
        let username = format!("dy{}", member_id.0);
        let user_id = users::insert(
            &mut tx,
            &users::NewUser {
                username: username.clone(),
                display_name: name.clone(),
                password_hash: placeholder_hash,
                role: Role::Member,
                org_id,
                member_id: Some(member_id),
            },
        )
        .await?;
        let (code, expires_at) = new_code(&mut tx, caller, user_id).await?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "member.add",
                target_kind: "member",
                target_id: member_id.to_string(),
                target_path: &org_path,
                detail: serde_json::json!({
                    "name": name,
                    "firm_id": firm_id.0,
                    "category": if lawyer { "lawyer" } else { "staff" },
                    "username": username,
                    "citizen_id": id.masked(),
                }),
            },
        )
        .await?;
        if super::changes::reported(&mut tx, &[org_id]).await? {
            let placed = crate::store::roster::placement_date(&mut tx)
                .await?
                .unwrap_or_default();
            let mut fields = serde_json::Map::new();
            fields.insert("所在律师事务所".into(), serde_json::json!(["", firm.name]));
            fields.insert(
                "人员类别".into(),
                serde_json::json!(["", if lawyer { "律师" } else { "工作人员" }]),
            );
            super::changes::record(
                &mut tx,
                caller,
                (org_id, &org_path),
                super::changes::Record {
                    kind: crate::domain::change::ChangeKind::Add,
                    subject: crate::store::roster::RecordKind::Member,
                    subject_id: member_id.0,
                    subject_name: &name,
                    fields,
                    history_id: None,
                    note: "",
                    effective_on: &placed,
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Activation {
            member_id,
            username,
            code,
            expires: beijing_time(expires_at),
        })
    }

    /// Give a member on record (imported, or whose code expired) a login: the account is made
    /// if missing, earlier unused codes stop working, and a new one-time code is returned.
    /// Refused once the member has activated (a forgotten password is reset by an
    /// administrator).
    pub async fn issue_activation(
        &self,
        caller: Caller<'_>,
        member: MemberId,
    ) -> ServiceResult<Activation> {
        caller.require(Action::ManageMembers, None)?;
        let m = {
            let mut conn = self.db.acquire().await?;
            members::get(&mut conn, member)
                .await?
                .ok_or(ServiceError::NotFound)?
        };
        caller.require(Action::ReadDirectory, Some(&m.org_path))?;
        caller.require(Action::ManageMembers, Some(&m.org_path))?;
        let hash = placeholder_hash().await?;
        let mut tx = self.db.begin().await?;
        let (user_id, username) = match activation::account_of_member(&mut tx, member).await? {
            Some((_, _, true)) => {
                return Err(ServiceError::Conflict(Refusal::AlreadyActivated));
            }
            Some((id, username, false)) => {
                activation::revoke_unused(&mut tx, id).await?;
                (id, username)
            }
            None => {
                let username = format!("dy{}", member.0);
                let id = users::insert(
                    &mut tx,
                    &users::NewUser {
                        username: username.clone(),
                        display_name: m.name.clone(),
                        password_hash: hash,
                        role: Role::Member,
                        org_id: m.org_id,
                        member_id: Some(member),
                    },
                )
                .await?;
                (id, username)
            }
        };
        let (code, expires_at) = new_code(&mut tx, caller, user_id).await?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "member.activation",
                target_kind: "member",
                target_id: member.to_string(),
                target_path: &m.org_path,
                detail: serde_json::json!({"username": username}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Activation {
            member_id: member,
            username,
            code,
            expires: beijing_time(expires_at),
        })
    }

    /// The member sets their own password with the one-time code. Any wrong, used or expired
    /// code gets the same answer; repeated failures lock the account like wrong passwords.
    pub async fn activate(
        &self,
        username: &str,
        code: &str,
        password: &str,
        source: super::auth::Source<'_>,
    ) -> ServiceResult<()> {
        let invalid = || {
            ServiceError::invalid(
                "激活码",
                "激活码无效、已使用或已过期，请向所在党组织经办人重新获取",
            )
        };
        let username = username.trim();
        let key = Key::Activation(username);
        let t = now();
        let user = {
            let mut conn = self.db.acquire().await?;
            self.auth()
                .refuse_locked(&mut conn, &key, source, t)
                .await?;
            users::get_by_username(&mut conn, username).await?
        };
        let name_for_check = user.as_ref().map_or(username, |u| u.username.as_str());
        check_password(password, name_for_check).map_err(|e| ServiceError::Invalid(vec![e]))?;
        let hash = {
            let pw = password.to_owned();
            tokio::task::spawn_blocking(move || hash_password(&pw))
                .await
                .map_err(|_| ServiceError::Crypto(crate::crypto::CryptoError::Password))??
        };
        let mut tx = self.db.begin().await?;
        let consumed = match &user {
            Some(u) => {
                activation::consume(&mut tx, &token_hash(&normalise_code(code)), u.id).await?
            }
            None => false,
        };
        let Some(user) = user.as_ref().filter(|_| consumed) else {
            // Unknown usernames are counted like known ones: the answer is the same.
            let locked = self.auth().count_failure(&mut tx, &key, source, t).await?;
            tx.commit().await?;
            return Err(match locked {
                Some(until) => ServiceError::ActivationLocked(beijing_time(until)),
                None => invalid(),
            });
        };
        throttle::clear(&mut tx, &key).await?;
        users::set_password(&mut tx, user.id, &hash, false).await?;
        audit::append(
            &mut tx,
            super::Caller::Operator.by(),
            NewEvent {
                action: "user.activate",
                target_kind: "user",
                target_id: user.id.to_string(),
                target_path: &user.org_path,
                detail: serde_json::json!({"username": user.username}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let c = activation_code();
        assert_eq!(c.len(), 9);
        assert_eq!(&c[4..5], "-");
        assert!(!c.contains(['0', 'O', '1', 'I', 'L']));
        assert_eq!(normalise_code(" ab2c-d3ef "), "AB2CD3EF");
    }
}
