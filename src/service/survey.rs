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
    /// Rows the search and filter keep (all pages), the page shown, and whether more follow.
    pub matched: usize,
    pub page: i64,
    pub has_next: bool,
    pub can_record: bool,
    /// The node's package is with its parent: the survey is read-only.
    pub lock: Option<super::package::Lock>,
}

/// Which members of the roster a page lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RosterShow {
    #[default]
    All,
    /// 尚未核查.
    Unchecked,
    /// Any of the four checks still open.
    Incomplete,
    /// 未转入.
    NotIn,
    /// 导入待确认.
    ToConfirm,
}

impl RosterShow {
    pub const ALL: [(Self, &'static str, &'static str); 5] = [
        (Self::All, "", "全部"),
        (Self::Unchecked, "unchecked", "尚未核查"),
        (Self::Incomplete, "incomplete", "四项未全部核查"),
        (Self::NotIn, "not_in", "未转入"),
        (Self::ToConfirm, "to_confirm", "导入待确认"),
    ];

    pub fn parse(code: &str) -> Self {
        Self::ALL
            .iter()
            .find(|(_, c, _)| *c == code)
            .map_or(Self::All, |(s, _, _)| *s)
    }

    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(s, _, _)| *s == self)
            .map_or("", |(_, c, _)| c)
    }

    fn keeps(self, r: &RosterRow) -> bool {
        let c = r.check.as_ref();
        match self {
            Self::All => true,
            Self::Unchecked => c.is_none(),
            Self::Incomplete => {
                c.is_none_or(|c| !(c.basic_ok && c.transfer_ok && c.dues_ok && c.life_ok))
            }
            Self::NotIn => c.is_some_and(|c| c.transferred == "not_in"),
            Self::ToConfirm => c.is_some_and(|c| c.imported),
        }
    }
}

/// A page of the roster: name search, filter, page number and size (0: everything).
#[derive(Debug, Clone, Default)]
pub struct RosterQuery {
    pub name: String,
    pub show: RosterShow,
    pub page: i64,
    pub per_page: i64,
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
    /// The whole roster of a node with its checks.
    pub async fn view(&self, caller: Caller<'_>, org_id: OrgId) -> ServiceResult<SurveyView> {
        self.view_page(caller, org_id, &RosterQuery::default())
            .await
    }

    /// One page of the roster, searched by name and narrowed by how far the check is; the
    /// counts are over the whole roster.
    pub async fn view_page(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
        q: &RosterQuery,
    ) -> ServiceResult<SurveyView> {
        let mut conn = self.db.acquire().await?;
        let org = super::readable_org(&mut conn, caller, org_id).await?;
        let campaign = super::current_campaign_of(&mut conn).await?;
        let all = survey::roster(&mut conn, campaign.id, org.id).await?;
        let lock = super::package::lock_of(&mut conn, campaign.id, &org).await?;
        let counts = counts(&all);
        let name = q.name.trim();
        let kept: Vec<RosterRow> = all
            .into_iter()
            .filter(|r| name.is_empty() || r.name.contains(name))
            .filter(|r| q.show.keeps(r))
            .collect();
        let matched = kept.len();
        let (page, per_page) = (
            q.page.max(1),
            if q.per_page > 0 { q.per_page } else { i64::MAX },
        );
        let skip = usize::try_from((page - 1).saturating_mul(per_page)).unwrap_or(usize::MAX);
        let take = usize::try_from(per_page).unwrap_or(usize::MAX);
        let rows: Vec<RosterRow> = kept.into_iter().skip(skip).take(take).collect();
        let has_next = skip.saturating_add(rows.len()) < matched;
        drop(conn);
        super::reads::record(
            self,
            caller,
            super::reads::Read {
                action: "read.survey",
                target_kind: "org",
                target_id: org.id.to_string(),
                target_path: &org.path,
                subjects: rows.iter().map(|r| r.member_id.0).collect(),
                detail: serde_json::json!({"page": page}),
            },
        )
        .await?;
        Ok(SurveyView {
            matched,
            page,
            has_next,
            counts,
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
        entry: Check,
    ) -> ServiceResult<()> {
        self.record_many(caller, vec![(member_id, entry)])
            .await
            .map(|_| ())
    }

    /// Record the checks of several members at once (a page saved, or a bulk mark), all or
    /// none: a refusal names each member whose entry is wrong. Returns how many were saved.
    pub async fn record_many(
        &self,
        caller: Caller<'_>,
        entries: Vec<(MemberId, Check)>,
    ) -> ServiceResult<usize> {
        caller.require(Action::ManageMembers, None)?;
        if entries.is_empty() {
            return Err(ServiceError::invalid("党员", "请至少选择一名党员"));
        }
        let mut tx = self.db.begin().await?;
        let campaign = super::open_campaign_of(&mut tx).await?;
        let mut errors = Vec::new();
        let mut checked = Vec::with_capacity(entries.len());
        for (member_id, mut entry) in entries {
            entry.reason = entry
                .reason
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty());
            entry.case_code = entry.case_code.filter(|c| !c.is_empty());
            let member = members::get(&mut tx, member_id)
                .await?
                .ok_or(ServiceError::NotFound)?;
            caller.require(Action::ManageMembers, Some(&member.org_path))?;
            if let Err(list) = check_entry(&entry) {
                errors.extend(
                    list.into_iter().map(|e| {
                        FieldError::new(e.field, format!("{}（{}）", e.reason, member.name))
                    }),
                );
            }
            checked.push((member, entry));
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let mut unlocked = std::collections::HashSet::new();
        for (member, entry) in &checked {
            if unlocked.insert(member.org_id) {
                super::package::ensure_unlocked(&mut tx, campaign.id, member.org_id).await?;
            }
            super::cases::follow_survey(
                &mut tx,
                caller,
                &campaign,
                member,
                &entry.transferred,
                entry.case_code.as_deref(),
            )
            .await?;
            survey::upsert(
                &mut tx,
                campaign.id,
                member.id,
                &member.org_path,
                entry,
                caller.user_id(),
            )
            .await?;
            audit::append(
                &mut tx,
                caller.by(),
                NewEvent {
                    action: "survey.record",
                    target_kind: "member",
                    target_id: member.id.to_string(),
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
        }
        tx.commit().await?;
        Ok(checked.len())
    }
}
