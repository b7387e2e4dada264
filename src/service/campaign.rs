//! The campaign under way: its deadline per level, set by national administrators.

use super::{Caller, ServiceError, ServiceResult, Services};
use crate::authz::Action;
use crate::domain::OrgLevel;
use crate::store::audit::{self, NewEvent};

/// New deadlines of the campaign, per level.
#[derive(Debug, Clone)]
pub struct Deadlines {
    pub firm: String,
    pub city: String,
    pub province: String,
    pub national: String,
}

impl Services {
    /// Set the deadline of each level of the current campaign (national administrators and
    /// the operator). Dates must be real and in level order (firm ≤ city ≤ province ≤
    /// national).
    pub async fn set_deadlines(&self, caller: Caller<'_>, d: &Deadlines) -> ServiceResult<()> {
        caller.require(Action::ManageUsers, None)?;
        if let Caller::User(a) = caller
            && a.org_path.depth() != 0
        {
            return Err(ServiceError::Forbidden);
        }
        let parse = |label: &'static str, v: &str| {
            crate::forms::rules::parse_date(v.trim())
                .ok_or_else(|| ServiceError::invalid(label, "请按 年-月-日 填写日期"))
        };
        let firm = parse("律所党组织截止日期", &d.firm)?;
        let city = parse("地市截止日期", &d.city)?;
        let province = parse("省级截止日期", &d.province)?;
        let national = parse("全国截止日期", &d.national)?;
        if !(firm <= city && city <= province && province <= national) {
            return Err(ServiceError::invalid(
                "截止日期",
                "截止日期应逐级递增：律所党组织 ≤ 地市 ≤ 省级 ≤ 全国",
            ));
        }
        let mut tx = self.db.begin().await?;
        let campaign = super::current_campaign_of(&mut tx).await?;
        crate::store::campaigns::set_deadlines(
            &mut tx,
            campaign.id,
            &firm.to_string(),
            &city.to_string(),
            &province.to_string(),
            &national.to_string(),
        )
        .await?;
        let root = crate::store::orgs::root(&mut tx)
            .await?
            .ok_or(ServiceError::NotFound)?
            .path;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "campaign.deadlines",
                target_kind: "campaign",
                target_id: campaign.id.to_string(),
                target_path: &root,
                detail: serde_json::json!({
                    OrgLevel::Firm.code(): firm.to_string(),
                    OrgLevel::City.code(): city.to_string(),
                    OrgLevel::Province.code(): province.to_string(),
                    OrgLevel::National.code(): national.to_string(),
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
