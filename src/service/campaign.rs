//! Campaigns, run by national administrators: a new campaign (name, cut-off date, the date
//! the time rules are judged at, a deadline per level), its deadlines changed, closing it.

use super::{Caller, Refusal, ServiceError, ServiceResult};
use crate::authz::Action;
use crate::domain::OrgLevel;
use crate::store::audit::{self, NewEvent};

// The read types this area returns, re-exported: callers (web, cli) name them here, not in
// the store.
pub use crate::store::campaigns::Campaign;

/// New deadlines of the campaign, per level.
#[derive(Debug, Clone)]
pub struct Deadlines {
    pub firm: String,
    pub city: String,
    pub province: String,
    pub national: String,
}

/// A campaign to start, as typed.
#[derive(Debug, Clone)]
pub struct CampaignForm {
    pub name: String,
    /// 登记截止基准日: who is to be registered is decided at this date.
    pub cutoff: String,
    /// The date the time rules are judged at; empty: the cut-off date.
    pub reference: String,
    pub deadlines: Deadlines,
}

fn parse_date(label: &'static str, v: &str) -> ServiceResult<time::Date> {
    crate::forms::rules::parse_date(v.trim())
        .ok_or_else(|| ServiceError::invalid(label, "请按 年-月-日 填写日期（如 2018-08-31）"))
}

impl Deadlines {
    /// The four dates, real and in level order (firm ≤ city ≤ province ≤ national).
    fn parse(&self) -> ServiceResult<[time::Date; 4]> {
        let firm = parse_date("律所党组织截止日期", &self.firm)?;
        let city = parse_date("地市截止日期", &self.city)?;
        let province = parse_date("省级截止日期", &self.province)?;
        let national = parse_date("全国截止日期", &self.national)?;
        if !(firm <= city && city <= province && province <= national) {
            return Err(ServiceError::invalid(
                "截止日期",
                "截止日期应逐级递增：律所党组织 ≤ 地市 ≤ 省级 ≤ 全国",
            ));
        }
        Ok([firm, city, province, national])
    }
}

/// Campaigns are the national administrators' (and the operator's).
fn require_national_admin(caller: Caller<'_>) -> ServiceResult<()> {
    caller.require(Action::ManageUsers, None)?;
    match caller {
        Caller::User(a) if a.org_path.depth() != 0 => Err(ServiceError::Forbidden),
        _ => Ok(()),
    }
}

super::area!(CampaignService);

impl CampaignService<'_> {
    /// Every campaign, the newest first (national administrators).
    pub async fn list(
        &self,
        caller: Caller<'_>,
    ) -> ServiceResult<Vec<crate::store::campaigns::Campaign>> {
        require_national_admin(caller)?;
        let mut conn = self.db.acquire().await?;
        Ok(crate::store::campaigns::all(&mut conn).await?)
    }

    /// Start a campaign. Refused while another one is open; the dates must be real, the
    /// deadlines in level order and after the cut-off date.
    pub async fn start(&self, caller: Caller<'_>, f: &CampaignForm) -> ServiceResult<i64> {
        require_national_admin(caller)?;
        let name = f.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ServiceError::invalid("名称", "请填写名称（不超过100字）"));
        }
        let cutoff = parse_date("登记截止基准日", &f.cutoff)?;
        let reference = if f.reference.trim().is_empty() {
            None
        } else {
            Some(parse_date("时间规则判断日", &f.reference)?)
        };
        let [firm, city, province, national] = f.deadlines.parse()?;
        if firm < cutoff {
            return Err(ServiceError::invalid(
                "律所党组织截止日期",
                "报送截止日期应在登记截止基准日之后",
            ));
        }
        let mut tx = self.db.begin().await?;
        if let Some(open) = crate::store::campaigns::latest(&mut tx)
            .await?
            .filter(|c| c.closed_at.is_none())
        {
            return Err(ServiceError::Conflict(Refusal::CampaignOpen(open.name)));
        }
        let id = crate::store::campaigns::insert(
            &mut tx,
            &crate::store::campaigns::NewCampaign {
                name: name.to_owned(),
                cutoff_date: cutoff.to_string(),
                reference_date: reference.map(|d| d.to_string()),
                deadline_firm: firm.to_string(),
                deadline_city: city.to_string(),
                deadline_province: province.to_string(),
                deadline_national: national.to_string(),
                closes_on: national.to_string(),
            },
        )
        .await?;
        // 研判 counts ages, 党龄 and 执业年限 as of the new cut-off.
        crate::store::analysis::rebuild_composition(&mut tx, self.db.backend()).await?;
        let root = root_path(&mut tx).await?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "campaign.new",
                target_kind: "campaign",
                target_id: id.to_string(),
                target_path: &root,
                detail: serde_json::json!({
                    "name": name,
                    "cutoff": cutoff.to_string(),
                    "reference": reference.map(|d| d.to_string()),
                    OrgLevel::Firm.code(): firm.to_string(),
                    OrgLevel::City.code(): city.to_string(),
                    OrgLevel::Province.code(): province.to_string(),
                    OrgLevel::National.code(): national.to_string(),
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Close the current campaign: filing, review and submission end; everything stays
    /// readable.
    pub async fn close(&self, caller: Caller<'_>) -> ServiceResult<()> {
        require_national_admin(caller)?;
        let mut tx = self.db.begin().await?;
        let campaign = super::current_campaign_of(&mut tx).await?;
        if !crate::store::campaigns::close(&mut tx, campaign.id).await? {
            return Err(ServiceError::Conflict(Refusal::AlreadyClosed));
        }
        let root = root_path(&mut tx).await?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "campaign.close",
                target_kind: "campaign",
                target_id: campaign.id.to_string(),
                target_path: &root,
                detail: serde_json::json!({"name": campaign.name}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Set the deadline of each level of the current campaign (national administrators and
    /// the operator). Dates must be real and in level order (firm ≤ city ≤ province ≤
    /// national).
    pub async fn set_deadlines(&self, caller: Caller<'_>, d: &Deadlines) -> ServiceResult<()> {
        require_national_admin(caller)?;
        let [firm, city, province, national] = d.parse()?;
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
        let root = root_path(&mut tx).await?;
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

impl CampaignService<'_> {
    /// Days from opening to a 分类处理 case's due date, per category 1–5 (national
    /// administrators). Cases already open keep their due date.
    pub async fn set_case_due_days(
        &self,
        caller: Caller<'_>,
        days: &[String; 5],
    ) -> ServiceResult<()> {
        require_national_admin(caller)?;
        let mut parsed = [0i64; 5];
        let mut errors = Vec::new();
        for (i, d) in days.iter().enumerate() {
            match d.trim().parse::<i64>() {
                Ok(n) if (1..=365).contains(&n) => parsed[i] = n,
                _ => errors.push(crate::domain::FieldError::new(
                    CASE_DAY_FIELDS[i],
                    "应为1–365之间的天数",
                )),
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let mut tx = self.db.begin().await?;
        let campaign = super::open_campaign_of(&mut tx).await?;
        crate::store::campaigns::set_case_due_days(&mut tx, campaign.id, parsed).await?;
        let root = root_path(&mut tx).await?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "campaign.case_due_days",
                target_kind: "campaign",
                target_id: campaign.id.to_string(),
                target_path: &root,
                detail: serde_json::json!({ "days": parsed }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The fields of the due days per category, as errors name them.
const CASE_DAY_FIELDS: [&str; 5] = [
    "第1类办理天数",
    "第2类办理天数",
    "第3类办理天数",
    "第4类办理天数",
    "第5类办理天数",
];

async fn root_path(conn: &mut sqlx::AnyConnection) -> ServiceResult<crate::domain::TreePath> {
    Ok(crate::store::orgs::root(conn)
        .await?
        .ok_or(ServiceError::NotFound)?
        .path)
}
