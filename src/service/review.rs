//! Review at the firm organisation: the 审核人 approves a submitted form (审核盖章: who, when,
//! and a digest of exactly the content approved) or returns it with a reason; after a return
//! the reviewer sees what the member changed.

use std::collections::BTreeMap;

use super::{Caller, ServiceError, ServiceResult, Services};
use crate::authz::Action;
use crate::crypto::token_hash;
use crate::domain::{MemberId, OrgId};
use crate::forms::Catalogue;
use crate::store::audit::{self, NewEvent};
use crate::store::registrations::{self, Pending, Registration};
use crate::store::reviews::{self, NewReview, Review};
use crate::store::{StoreError, members, orgs};

/// A field changed between the return and the resubmission: label, before, after.
pub type Change = (String, String, String);

/// The digest of exactly what is approved: the form, every value and the ID number shown.
pub fn digest(reg: &Registration) -> String {
    token_hash(&format!(
        "{}\n{}\n{}",
        reg.form_code,
        reg.data,
        reg.citizen_id_masked.as_deref().unwrap_or("")
    ))
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
            let label = catalogue.field(k).map_or(k.clone(), |f| f.label.clone());
            (
                label,
                a.get(k).cloned().unwrap_or_default(),
                b.get(k).cloned().unwrap_or_default(),
            )
        })
        .collect()
}

impl Services {
    async fn reviewable(
        &self,
        conn: &mut sqlx::AnyConnection,
        caller: Caller<'_>,
        member_id: MemberId,
    ) -> ServiceResult<(crate::store::members::Member, Registration)> {
        let member = members::get(conn, member_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::Review, Some(&member.org_path))?;
        let campaign = super::current_campaign_of(conn).await?;
        let reg = registrations::get(conn, campaign.id, member_id)
            .await?
            .ok_or_else(|| {
                ServiceError::Conflict(format!("{}：尚未提交登记表，不能审核", member.name))
            })?;
        if reg.state != "submitted" {
            return Err(ServiceError::Conflict(format!(
                "{}：登记表当前状态为“{}”，只有已提交的登记表才能审核",
                member.name,
                super::registration::state_label(&reg.state)
            )));
        }
        Ok((member, reg))
    }

    fn reviewer(caller: Caller<'_>) -> (Option<crate::domain::UserId>, String, String) {
        match caller {
            Caller::User(a) => (
                Some(a.user_id),
                a.display_name.clone(),
                a.role.label().to_owned(),
            ),
            Caller::Operator => (None, "命令行".into(), "系统".into()),
        }
    }

    /// Approve these submitted forms, all or none.
    pub async fn approve_registrations(
        &self,
        caller: Caller<'_>,
        ids: &[MemberId],
    ) -> ServiceResult<usize> {
        caller.require(Action::Review, None)?;
        if ids.is_empty() {
            return Err(ServiceError::invalid("党员", "请至少选择一份登记表"));
        }
        let (reviewer_id, name, role) = Self::reviewer(caller);
        let mut tx = self.db.begin().await?;
        for id in ids {
            let (member, reg) = self.reviewable(&mut tx, caller, *id).await?;
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
            reviews::transition(&mut tx, reg.id, reg.version, "submitted", "approved", None)
                .await
                .map_err(|e| match e {
                    StoreError::Conflict => ServiceError::Conflict(format!(
                        "{}：登记表刚刚被修改，请刷新后重试",
                        member.name
                    )),
                    other => other.into(),
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
        }
        tx.commit().await?;
        Ok(ids.len())
    }

    /// Return a submitted form to the member with a reason code and a note.
    pub async fn return_registration(
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
        let (reviewer_id, name, role) = Self::reviewer(caller);
        let mut tx = self.db.begin().await?;
        let (member, reg) = self.reviewable(&mut tx, caller, member_id).await?;
        reviews::insert(
            &mut tx,
            &NewReview {
                registration_id: reg.id,
                org_path: &member.org_path,
                decision: "return",
                reason_code: Some(reason_code.to_owned()),
                note: Some(note.to_owned()),
                reviewer_id,
                reviewer_name: name,
                reviewer_role: role,
                digest: digest(&reg),
                snapshot: reg.data.clone(),
            },
        )
        .await?;
        reviews::transition(
            &mut tx,
            reg.id,
            reg.version,
            "submitted",
            "returned",
            Some(format!("{label}：{note}")),
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict => ServiceError::Conflict("登记表刚刚被修改，请刷新后重试".into()),
            other => other.into(),
        })?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "registration.return",
                target_kind: "member",
                target_id: member_id.to_string(),
                target_path: &member.org_path,
                detail: serde_json::json!({"reason": reason_code}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The last decision on a member's form and, for a form resubmitted after a return, what
    /// changed since.
    pub async fn review_state(
        &self,
        caller: Caller<'_>,
        member_id: MemberId,
    ) -> ServiceResult<(Option<Review>, Vec<Change>, bool)> {
        let mut conn = self.db.acquire().await?;
        let member = members::get(&mut conn, member_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ReadMember(member_id), Some(&member.org_path))?;
        let can_review = caller
            .require(Action::Review, Some(&member.org_path))
            .is_ok();
        let campaign = super::current_campaign_of(&mut conn).await?;
        let Some(reg) = registrations::get(&mut conn, campaign.id, member_id).await? else {
            return Ok((None, Vec::new(), can_review));
        };
        let last = reviews::latest(&mut conn, reg.id).await?;
        let diff = match &last {
            Some(r) if r.decision == "return" && reg.state == "submitted" => {
                changes(&r.snapshot, &reg.data)
            }
            _ => Vec::new(),
        };
        Ok((last, diff, can_review && reg.state == "submitted"))
    }

    /// Forms waiting for review below a node.
    pub async fn pending_reviews(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
    ) -> ServiceResult<(orgs::Org, Vec<Pending>)> {
        let mut conn = self.db.acquire().await?;
        let org = super::readable_org(&mut conn, caller, org_id).await?;
        let campaign = super::current_campaign_of(&mut conn).await?;
        let list = registrations::pending(&mut conn, campaign.id, &org.path, 1000).await?;
        Ok((org, list))
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
                ("现居住地".to_owned(), String::new(), "x".to_owned()),
                ("手机号码".to_owned(), "1".to_owned(), "2".to_owned()),
            ]
        );
    }
}
