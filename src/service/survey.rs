//! 摸底核查: each firm organisation checks its members on the four points of the notice and
//! records who has transferred their membership in, and for the others why and which of the
//! five 分类处理 cases applies.

use super::{Caller, ServiceError, ServiceResult};
use crate::authz::Action;
use crate::domain::{FieldError, MemberId, OrgId};
use crate::forms::Catalogue;
use crate::store::audit::{self, NewEvent};
use crate::store::members;
use crate::store::orgs::Org;
use crate::store::survey::{self, RosterRow};

// The read types this area returns, re-exported: callers (web, cli) name them here, not in
// the store.
pub use crate::store::survey::Check;

/// The progress counts shown above the roster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SurveyCounts {
    pub total: usize,
    pub unchecked: usize,
    /// All four points checked.
    pub complete: usize,
    pub transferred_in: usize,
    pub not_in: usize,
    /// 未转入 members per case 1–5.
    pub by_case: [usize; 5],
    /// Marks prefilled from a member list that the organisation has not confirmed yet.
    pub to_confirm: usize,
}

#[derive(Debug, Clone)]
pub struct SurveyView {
    pub org: Org,
    pub campaign_name: String,
    pub rows: Vec<RosterRow>,
    pub counts: SurveyCounts,
    pub can_record: bool,
    /// The node's package is with its parent: the survey is read-only.
    pub lock: Option<super::package::Lock>,
}

pub fn counts(rows: &[RosterRow]) -> SurveyCounts {
    let mut c = SurveyCounts {
        total: rows.len(),
        ..Default::default()
    };
    for r in rows {
        let Some(check) = &r.check else {
            c.unchecked += 1;
            continue;
        };
        c.to_confirm += usize::from(check.imported);
        if check.basic_ok && check.transfer_ok && check.dues_ok && check.life_ok {
            c.complete += 1;
        }
        match check.transferred.as_str() {
            "in" => c.transferred_in += 1,
            "not_in" => {
                c.not_in += 1;
                if let Some(n) = check
                    .case_code
                    .as_deref()
                    .and_then(|k| k.parse::<usize>().ok())
                    && (1..=5).contains(&n)
                {
                    c.by_case[n - 1] += 1;
                }
            }
            _ => {}
        }
    }
    c
}

/// Check a recorded survey entry; errors name the field.
pub fn check_entry(c: &Check) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    match c.transferred.as_str() {
        "in" => {
            if c.case_code.is_some() {
                errors.push(FieldError::new(
                    "问题类别",
                    "已转入的党员不应选择分类处理类别",
                ));
            }
        }
        "not_in" => {
            let valid_case = c.case_code.as_deref().is_some_and(|k| {
                Catalogue::get()
                    .list("case")
                    .is_some_and(|l| l.label(k).is_some())
            });
            if !valid_case {
                errors.push(FieldError::new(
                    "问题类别",
                    "未转入的党员须选择分类处理类别（第1–5类）",
                ));
            }
            if c.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                errors.push(FieldError::new("未转入原因", "未转入的党员须写明原因"));
            }
        }
        _ => errors.push(FieldError::new("组织关系", "请选择已转入或未转入")),
    }
    if c.reason.as_deref().is_some_and(|r| r.chars().count() > 200) {
        errors.push(FieldError::new("未转入原因", "不超过200个字"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

super::area!(SurveyService);

impl SurveyService<'_> {
    pub async fn view(&self, caller: Caller<'_>, org_id: OrgId) -> ServiceResult<SurveyView> {
        let mut conn = self.db.acquire().await?;
        let org = super::readable_org(&mut conn, caller, org_id).await?;
        let campaign = super::current_campaign_of(&mut conn).await?;
        let rows = survey::roster(&mut conn, campaign.id, org.id).await?;
        let lock = super::package::lock_of(&mut conn, campaign.id, &org).await?;
        Ok(SurveyView {
            counts: counts(&rows),
            can_record: lock.is_none()
                && campaign.closed_at.is_none()
                && caller
                    .require(Action::ManageMembers, Some(&org.path))
                    .is_ok(),
            lock,
            org,
            campaign_name: campaign.name,
            rows,
        })
    }

    pub async fn record(
        &self,
        caller: Caller<'_>,
        member_id: MemberId,
        mut entry: Check,
    ) -> ServiceResult<()> {
        caller.require(Action::ManageMembers, None)?;
        entry.reason = entry
            .reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        entry.case_code = entry.case_code.filter(|c| !c.is_empty());
        check_entry(&entry).map_err(ServiceError::Invalid)?;
        let mut tx = self.db.begin().await?;
        let member = members::get(&mut tx, member_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ManageMembers, Some(&member.org_path))?;
        let campaign = super::open_campaign_of(&mut tx).await?;
        super::package::ensure_unlocked(&mut tx, campaign.id, member.org_id).await?;
        super::cases::follow_survey(
            &mut tx,
            caller,
            &campaign,
            &member,
            &entry.transferred,
            entry.case_code.as_deref(),
        )
        .await?;
        let by = caller.user_id();
        survey::upsert(
            &mut tx,
            campaign.id,
            member_id,
            &member.org_path,
            &entry,
            by,
        )
        .await?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "survey.record",
                target_kind: "member",
                target_id: member_id.to_string(),
                target_path: &member.org_path,
                detail: serde_json::json!({
                    "basic_ok": entry.basic_ok,
                    "transfer_ok": entry.transfer_ok,
                    "dues_ok": entry.dues_ok,
                    "life_ok": entry.life_ok,
                    "transferred": entry.transferred,
                    "case": entry.case_code,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
