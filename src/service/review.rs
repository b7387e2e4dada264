//! Review at the firm organisation: the 审核人 approves a submitted form (审核盖章: who, when,
//! and a digest of exactly the content approved) or returns it with a reason; after a return
//! the reviewer sees what the member changed.

use std::collections::BTreeMap;

use super::package::ensure_unlocked;
use super::{Caller, Refusal, ServiceError, ServiceResult};
use crate::authz::Action;
use crate::domain::{
    MemberId, NoticeKind, OrgId, PackageMove, PackageState, RegistrationMove, RegistrationState,
};
use crate::forms::Catalogue;
use crate::store::audit::{self, NewEvent};
use crate::store::notifications::{self, To};
use crate::store::registrations::{self, Pending, Registration};
use crate::store::reviews::{self, NewReview, Review};
use crate::store::{members, orgs, packages};

/// What the record page shows about review.
#[derive(Debug, Clone, Default)]
pub struct ReviewState {
    pub last: Option<Review>,
    /// For a form resubmitted after a return: what changed since; for the first submission
    /// of a later campaign: what changed since the form approved last time.
    pub changes: Vec<Change>,
    /// The earlier campaign `changes` compare with (none: with the return).
    pub since: Option<String>,
    pub can_approve: bool,
    pub can_return: bool,
}

/// A field changed between the return and the resubmission: label, before, after.
pub type Change = (String, String, String);

/// The digest of exactly what is approved: the form, every value and the ID number shown.
pub fn digest(reg: &Registration) -> String {
    content_digest(&reg.form_code, &reg.data, reg.citizen_id_masked.as_deref())
}

#[cfg(test)]
mod digest_tests {
    #[test]
    fn the_digest_in_parts_is_the_digest_of_the_whole() {
        let whole = crate::crypto::token_hash("A1\n{\"name\":\"张一\"}\n110101********1234");
        assert_eq!(
            super::content_digest("A1", "{\"name\":\"张一\"}", Some("110101********1234")),
            whole
        );
    }
}

/// The same digest from the parts of a form (the spot check's population), hashed in place.
pub fn content_digest(form_code: &str, data: &str, masked_id: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(form_code.as_bytes());
    h.update(b"\n");
    h.update(data.as_bytes());
    h.update(b"\n");
    h.update(masked_id.unwrap_or("").as_bytes());
    hex::encode(h.finalize())
}

/// Fields whose value differs between `before` and `after` (JSON objects of field values).
pub fn changes(before: &str, after: &str) -> Vec<Change> {
    let parse = |s: &str| serde_json::from_str::<BTreeMap<String, String>>(s).unwrap_or_default();
    let (a, b) = (parse(before), parse(after));
    let catalogue = Catalogue::get();
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            let field = catalogue.field(k);
            // Code values read as their labels (学士, not `bachelor`); empty reads （空）.
            let shown = |v: Option<&String>| match v.map(|v| v.trim()).filter(|v| !v.is_empty()) {
                None => "（空）".to_owned(),
                Some(v) => field
                    .and_then(|f| f.list.as_deref())
                    .and_then(|l| catalogue.list(l))
                    .and_then(|l| l.label(v))
                    .unwrap_or(v)
                    .to_owned(),
            };
            (
                field.map_or(k.clone(), |f| f.label.clone()),
                shown(a.get(k)),
                shown(b.get(k)),
            )
        })
        .collect()
}

/// The form's 待审核 notices are done with once it is decided: nobody sees them as unread.
async fn resolve_submitted(conn: &mut sqlx::AnyConnection, member: MemberId) -> ServiceResult<()> {
    notifications::resolve(
        conn,
        crate::domain::NoticeKind::Submitted,
        &super::registration::form_link(member),
    )
    .await?;
    Ok(())
}

super::area!(ReviewService);

/// A return: the reason's code and label, the note, and the level it comes from (packages at
/// or above it stay as they are; `None`: from the command line, everything reopens).
#[derive(Debug, Clone, Copy)]
pub(super) struct ReturnOf<'a> {
    pub reason_code: &'a str,
    pub label: &'a str,
    pub note: &'a str,
    pub from: Option<&'a crate::domain::TreePath>,
}

impl ReviewService<'_> {
    /// The member and their form, checked to be in one of `states` and reviewable by the
    /// caller.
    async fn reviewable(
        &self,
        conn: &mut sqlx::AnyConnection,
        caller: Caller<'_>,
        campaign_id: i64,
        member_id: MemberId,
        m: RegistrationMove,
    ) -> ServiceResult<(crate::store::members::Member, Registration)> {
        let member = members::get(conn, member_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::Review, Some(&member.org_path))?;
        if let Caller::User(a) = caller
            && a.member_id == Some(member_id)
        {
            return Err(ServiceError::Conflict(Refusal::OwnForm));
        }
        let reg = registrations::get(conn, campaign_id, member_id)
            .await?
            .ok_or_else(|| ServiceError::Conflict(Refusal::NotSubmitted(member.name.clone())))?;
        if reg.state.after(m).is_none() {
            return Err(ServiceError::Conflict(Refusal::WrongState {
                member: member.name,
                state: reg.state,
                why: if m == RegistrationMove::Return {
                    "只有已提交或已通过的登记表才能退回"
                } else {
                    "只有已提交的登记表才能审核"
                },
            }));
        }
        Ok((member, reg))
    }

    fn reviewer(caller: Caller<'_>) -> (Option<crate::domain::UserId>, String, String) {
        match caller {
            Caller::User(a) => (
                Some(a.user_id),
                a.display_name.clone(),
                format!("{}，{}", a.role.label(), a.org_name),
            ),
            Caller::Operator => (None, "命令行".into(), "系统".into()),
        }
    }

    /// Approve these submitted forms, all or none.
    pub async fn approve(&self, caller: Caller<'_>, ids: &[MemberId]) -> ServiceResult<usize> {
        caller.require(Action::Review, None)?;
        if ids.is_empty() {
            return Err(ServiceError::invalid("党员", "请至少选择一份登记表"));
        }
        let (reviewer_id, name, role) = Self::reviewer(caller);
        let mut tx = self.db.begin().await?;
        let campaign = super::open_campaign_of(&mut tx).await?;
        // Per node: whether it is unlocked (checked once) and how many forms were approved.
        let mut nodes: BTreeMap<i64, (crate::domain::TreePath, i64)> = BTreeMap::new();
        for id in ids {
            let (member, reg) = self
                .reviewable(&mut tx, caller, campaign.id, *id, RegistrationMove::Approve)
                .await?;
            let node = match nodes.entry(member.org_id.0) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    ensure_unlocked(&mut tx, campaign.id, member.org_id).await?;
                    v.insert((member.org_path.clone(), 0))
                }
                std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
            };
            node.1 += 1;
            let digest = digest(&reg);
            reviews::insert(
                &mut tx,
                &NewReview {
                    registration_id: reg.id,
                    org_path: &member.org_path,
                    decision: "approve",
                    reason_code: None,
                    note: None,
                    reviewer_id,
                    reviewer_name: name.clone(),
                    reviewer_role: role.clone(),
                    digest: digest.clone(),
                    snapshot: reg.data.clone(),
                },
            )
            .await?;
            reviews::transition(
                &mut tx,
                reg.id,
                reg.version,
                reg.state,
                RegistrationState::Approved,
                None,
            )
            .await
            .map_err(|e| {
                super::on_race(
                    e,
                    &format!("{}：登记表刚刚被修改，请刷新后重试", member.name),
                )
            })?;
            audit::append(
                &mut tx,
                caller.by(),
                NewEvent {
                    action: "registration.approve",
                    target_kind: "member",
                    target_id: id.to_string(),
                    target_path: &member.org_path,
                    detail: serde_json::json!({"digest": digest, "version": reg.version}),
                },
            )
            .await?;
            resolve_submitted(&mut tx, member.id).await?;
        }
        // Approvals inside a subtree accepted before are changes after acceptance.
        for (path, n) in nodes.values() {
            packages::count_change(&mut tx, campaign.id, &path.ids(), *n).await?;
        }
        tx.commit().await?;
        Ok(ids.len())
    }

    /// Return a form to the member with a reason code and a note: a submitted form (the
    /// node's own review), or an approved one. An approved form in a package already with
    /// the parent or accepted can only be returned from above; that reopens the packages
    /// between the member's node and the returning reviewer's node.
    pub async fn send_back(
        &self,
        caller: Caller<'_>,
        member_id: MemberId,
        reason_code: &str,
        note: &str,
    ) -> ServiceResult<()> {
        caller.require(Action::Review, None)?;
        let catalogue = Catalogue::get();
        let Some(label) = catalogue
            .list("return_reason")
            .and_then(|l| l.label(reason_code))
        else {
            return Err(ServiceError::invalid("退回原因", "请选择退回原因"));
        };
        let note = note.trim();
        if note.is_empty() || note.chars().count() > 300 {
            return Err(ServiceError::invalid(
                "退回说明",
                "请写明需要更正的内容（300字以内）",
            ));
        }
        let mut tx = self.db.begin().await?;
        let campaign = super::open_campaign_of(&mut tx).await?;
        let (member, reg) = self
            .reviewable(
                &mut tx,
                caller,
                campaign.id,
                member_id,
                RegistrationMove::Return,
            )
            .await?;
        let caller_path = match caller {
            Caller::User(a) => Some(a.org_path.clone()),
            Caller::Operator => None,
        };
        let returning = ReturnOf {
            reason_code,
            label,
            note,
            from: caller_path.as_ref(),
        };
        Self::return_record(&mut tx, caller, &member, &reg, &returning).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Return an approved or submitted form (already checked to be returnable by the
    /// caller): the review record, the state, the packages between the member's node and the
    /// returning level reopened, the notices and the audit event, in the caller's transaction.
    /// A spot check's 不属实 finding returns through here from the sample's drawing node.
    pub(super) async fn return_record(
        tx: &mut sqlx::AnyConnection,
        caller: Caller<'_>,
        member: &crate::store::members::Member,
        reg: &Registration,
        r: &ReturnOf<'_>,
    ) -> ServiceResult<()> {
        let (reviewer_id, name, role) = Self::reviewer(caller);
        // Packages on the way up that hold this record.
        let held: Vec<packages::Package> =
            packages::on_path(&mut *tx, reg.campaign_id, &member.org_path)
                .await?
                .into_iter()
                .filter(|p| p.state.is_with_parent())
                .collect();
        let mut reopen = Vec::new();
        for p in held {
            let at_or_above_caller = r.from.is_some_and(|c| {
                crate::domain::TreePath::parse(&p.org_path).is_some_and(|pp| pp.contains(c))
            });
            if at_or_above_caller {
                // The caller's own package, or one above it: the caller's level cannot reopen.
                if p.org_id == member.org_id {
                    return Err(ServiceError::Conflict(Refusal::Locked(p.state)));
                }
                continue;
            }
            reopen.push(p);
        }
        let reason = format!("{}：{}", r.label, r.note);
        let from_above = !reopen.is_empty();
        reviews::insert(
            &mut *tx,
            &NewReview {
                registration_id: reg.id,
                org_path: &member.org_path,
                decision: "return",
                reason_code: Some(r.reason_code.to_owned()),
                note: Some(r.note.to_owned()),
                reviewer_id,
                reviewer_name: name.clone(),
                reviewer_role: role,
                digest: digest(reg),
                snapshot: reg.data.clone(),
            },
        )
        .await?;
        reviews::transition(
            &mut *tx,
            reg.id,
            reg.version,
            reg.state,
            RegistrationState::Returned,
            Some(reason.clone()),
        )
        .await
        .map_err(|e| super::on_race(e, "登记表刚刚被修改，请刷新后重试"))?;
        resolve_submitted(&mut *tx, member.id).await?;
        for p in &reopen {
            packages::decide(
                &mut *tx,
                p,
                &PackageState::before(PackageMove::Return),
                PackageState::Returned,
                reviewer_id,
                &name,
                Some(format!("退回党员 {} 的登记表（{reason}）", member.name)),
            )
            .await
            .map_err(|e| super::on_race(e, "材料状态刚刚发生变化，请刷新后重试"))?;
            notifications::send(
                &mut *tx,
                To::Staff(p.org_id),
                NoticeKind::Returned,
                &format!("上级退回了党员 {} 的登记表：{reason}", member.name),
                &format!("/members/{}", member.id),
                None,
            )
            .await?;
        }
        notifications::send(
            &mut *tx,
            To::Member(member.id),
            NoticeKind::Returned,
            &format!("您的登记表被退回：{reason}"),
            &format!("/members/{}/registration", member.id),
            None,
        )
        .await?;
        audit::append(
            &mut *tx,
            caller.by(),
            NewEvent {
                action: "registration.return",
                target_kind: "member",
                target_id: member.id.to_string(),
                target_path: &member.org_path,
                detail: serde_json::json!({
                    "reason": r.reason_code,
                    "from": reg.state.code(),
                    "reopened": reopen.iter().map(|p| p.org_id.0).collect::<Vec<_>>(),
                    "from_above": from_above,
                }),
            },
        )
        .await?;
        Ok(())
    }

    /// The last decision on a member's form, what changed since a return, and what the
    /// caller may do with it.
    pub async fn state(
        &self,
        caller: Caller<'_>,
        member_id: MemberId,
    ) -> ServiceResult<ReviewState> {
        let mut conn = self.db.acquire().await?;
        let member = members::get(&mut conn, member_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ReadMember(member_id), Some(&member.org_path))?;
        let own = matches!(caller, Caller::User(a) if a.member_id == Some(member_id));
        let may_review = !own
            && caller
                .require(Action::Review, Some(&member.org_path))
                .is_ok();
        let campaign = super::current_campaign_of(&mut conn).await?;
        let Some(reg) = registrations::get(&mut conn, campaign.id, member_id).await? else {
            return Ok(ReviewState::default());
        };
        // The member's organisation has handed in: its own level cannot change the form
        // (a level above can, by returning it, which reopens the packages on the way).
        let own_level_locked = match caller {
            Caller::User(a) if member.org_path.contains(&a.org_path) => {
                match super::package::ensure_unlocked(&mut conn, campaign.id, member.org_id).await {
                    Ok(()) => false,
                    Err(ServiceError::Conflict(_)) => true,
                    Err(e) => return Err(e),
                }
            }
            _ => false,
        };
        let may_review = may_review && !own_level_locked;
        let last = reviews::latest(&mut conn, reg.id).await?;
        let mut since = None;
        let changes = match &last {
            Some(r) if r.decision == "return" && reg.state == RegistrationState::Submitted => {
                changes(&r.snapshot, &reg.data)
            }
            None if reg.state == RegistrationState::Submitted => {
                match registrations::last_approved_before(&mut conn, member_id, campaign.id).await?
                {
                    Some((name, data)) => {
                        since = Some(name);
                        changes(&data, &reg.data)
                    }
                    None => Vec::new(),
                }
            }
            _ => Vec::new(),
        };
        Ok(ReviewState {
            last,
            since,
            changes,
            can_approve: may_review && reg.state.after(RegistrationMove::Approve).is_some(),
            can_return: may_review && reg.state.after(RegistrationMove::Return).is_some(),
        })
    }

    /// Forms waiting for review below a node.
    pub async fn pending(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
    ) -> ServiceResult<(orgs::Org, Vec<Pending>)> {
        let mut conn = self.db.acquire().await?;
        let org = super::readable_org(&mut conn, caller, org_id).await?;
        let campaign = super::current_campaign_of(&mut conn).await?;
        let list = registrations::pending(&mut conn, campaign.id, &org.path, 1000).await?;
        drop(conn);
        super::reads::record(
            self,
            caller,
            super::reads::Read {
                action: "read.reviews",
                target_kind: "org",
                target_id: org.id.to_string(),
                target_path: &org.path,
                subjects: list.iter().map(|p| p.member_id.0).collect(),
                detail: serde_json::json!({}),
            },
        )
        .await?;
        Ok((org, list))
    }

    /// The oldest form still waiting below the node other than `after` (下一份), by name only.
    pub async fn next_pending(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
        after: MemberId,
    ) -> ServiceResult<Option<(MemberId, String)>> {
        let mut conn = self.db.acquire().await?;
        let org = super::readable_org(&mut conn, caller, org_id).await?;
        let campaign = super::current_campaign_of(&mut conn).await?;
        let list = registrations::pending(&mut conn, campaign.id, &org.path, 2).await?;
        Ok(list
            .into_iter()
            .find(|f| f.member_id != after)
            .map(|f| (f.member_id, f.name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_name_the_fields() {
        let c = changes(
            r#"{"mobile":"1","name":"甲"}"#,
            r#"{"mobile":"2","name":"甲","address":"x"}"#,
        );
        assert_eq!(
            c,
            vec![
                ("现居住地".to_owned(), "（空）".to_owned(), "x".to_owned()),
                ("手机号码".to_owned(), "1".to_owned(), "2".to_owned()),
            ]
        );
    }

    #[test]
    fn changed_codes_read_as_their_labels() {
        let c = changes(r#"{"degree":"bachelor"}"#, r#"{"degree":""}"#);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].0, "学位");
        assert_eq!(c[0].1, "学士");
        assert_eq!(c[0].2, "（空）");
    }
}
