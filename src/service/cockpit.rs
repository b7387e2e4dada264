//! Each parent's view over its children: registration progress from the records, the
//! deadline of the children's level and the time left; overdue children stand out.

use super::package::NodeDeadline;
use super::{Caller, ServiceResult, beijing_today};
use crate::domain::{OrgId, OrgLevel};
use crate::store::orgs::Org;
use crate::store::packages::{self, Package};
use crate::store::registrations::{self, ChildProgress};

#[derive(Debug, Clone)]
pub struct ChildRow {
    pub progress: ChildProgress,
    /// The child's package, when it has submitted one.
    pub package: Option<Package>,
    /// The child's deadline (the level's, or an extension).
    pub deadline: NodeDeadline,
    /// Members without any registration yet.
    pub not_started: i64,
    /// Share approved, in whole percent.
    pub percent: i64,
    /// 未开始 / 填报中 / 待审核 / 有退回 / 待报送, or the package's state once submitted.
    pub status: &'static str,
    /// Recorded overdue at least once in this campaign.
    pub overdue_recorded: bool,
    pub overdue: bool,
}

#[derive(Debug, Clone)]
pub struct Cockpit {
    pub org: Org,
    pub campaign_name: String,
    pub deadline: Option<String>,
    /// Days until the deadline (negative when past).
    pub days_left: Option<i64>,
    pub rows: Vec<ChildRow>,
    /// 分类处理 cases of the subtree per category.
    pub cases: crate::store::cases::CaseCounts,
}

fn status_of(p: &ChildProgress, not_started: i64, package: Option<&Package>) -> &'static str {
    if let Some(p) = package {
        return p.state.short_label();
    }
    if p.members > 0 && p.approved == p.members {
        "待报送"
    } else if p.returned > 0 {
        "有退回"
    } else if p.submitted > 0 {
        "待审核"
    } else if p.draft > 0 || (not_started < p.members && p.members > 0) {
        "填报中"
    } else {
        "未开始"
    }
}

super::area!(CockpitService);

impl CockpitService<'_> {
    pub async fn view(&self, caller: Caller<'_>, org_id: OrgId) -> ServiceResult<Cockpit> {
        let mut conn = self.db.acquire().await?;
        let org = super::readable_org(&mut conn, caller, org_id).await?;
        let campaign = super::current_campaign_of(&mut conn).await?;
        let deadline = org
            .level
            .child()
            .map(|level| super::package::base_deadline(&campaign, level).to_owned());
        let today = beijing_today();
        let days_left = deadline
            .as_deref()
            .and_then(crate::forms::rules::parse_date)
            .map(|d| (d - today).whole_days());
        let packages = packages::of_children(&mut conn, campaign.id, org.id).await?;
        let extensions = packages::extensions_of_children(&mut conn, campaign.id, org.id).await?;
        let recorded = packages::overdue_children(&mut conn, campaign.id, org.id).await?;
        let rows = registrations::progress_of_children(&mut conn, campaign.id, org.id)
            .await?
            .into_iter()
            .map(|p| {
                let started = p.draft + p.submitted + p.returned + p.approved;
                let not_started = (p.members - started).max(0);
                let package = packages.iter().find(|k| k.org_id == p.org_id).cloned();
                let level = OrgLevel::from_code(&p.level).unwrap_or(OrgLevel::Firm);
                let deadline = NodeDeadline::new(
                    &campaign,
                    level,
                    extensions.iter().find(|e| e.org_id == p.org_id).cloned(),
                );
                let status = status_of(&p, not_started, package.as_ref());
                let handed_in = package.as_ref().is_some_and(|k| k.state.is_with_parent());
                let percent = if p.members == 0 {
                    100
                } else {
                    p.approved * 100 / p.members
                };
                ChildRow {
                    overdue: deadline.passed() && !handed_in,
                    overdue_recorded: recorded.contains(&p.org_id),
                    package,
                    deadline,
                    not_started,
                    percent,
                    status,
                    progress: p,
                }
            })
            .collect();
        let cases = crate::store::cases::counts(
            &mut conn,
            campaign.id,
            &crate::authz::Scope::Subtree(org.path.clone()),
            &today.to_string(),
        )
        .await?;
        Ok(Cockpit {
            cases,
            org,
            campaign_name: campaign.name,
            deadline,
            days_left,
            rows,
        })
    }
}
