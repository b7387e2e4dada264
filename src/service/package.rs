//! Submitting upward: a node submits its package (approved records, its 附件3, its summary)
//! to its parent, which accepts it or returns it; accepted data is locked until a return from
//! above; deadlines per level with extensions; overdue recorded against the node.

use serde::Serialize;

use super::four_eyes::Via;
use super::{Caller, Refusal, ServiceError, ServiceResult, beijing_today};
use crate::authz::Action;
use crate::domain::{NoticeKind, OrgId, OrgLevel, PackageMove, PackageState};
use crate::store::audit::{self, NewEvent};
use crate::store::campaigns::Campaign;
use crate::store::notifications::{self, To};
use crate::store::org_registrations;
use crate::store::orgs::{self, Org};
use crate::store::packages::{self, Extension, NewPackage, OwnProgress};

// The read types this area returns, re-exported: callers (web, cli) name them here, not in
// the store.
pub use crate::store::packages::Package;
use crate::store::summary;

/// A package's state as users read it (`None`: not submitted yet).
pub fn state_label(state: Option<PackageState>) -> &'static str {
    state.map_or("未报送", PackageState::label)
}

/// The campaign deadline of a node's level (the national level has its own final date).
pub fn base_deadline(campaign: &Campaign, level: OrgLevel) -> &str {
    match level {
        OrgLevel::Firm => &campaign.deadline_firm,
        OrgLevel::City => &campaign.deadline_city,
        OrgLevel::Province => &campaign.deadline_province,
        OrgLevel::National => &campaign.deadline_national,
    }
}

/// A node's deadline: the level's, or a later extension granted by the parent.
#[derive(Debug, Clone)]
pub struct NodeDeadline {
    pub base: String,
    pub extension: Option<Extension>,
    pub effective: String,
    /// Days until the effective deadline (negative when past).
    pub days_left: Option<i64>,
}

impl NodeDeadline {
    pub fn new(campaign: &Campaign, level: OrgLevel, extension: Option<Extension>) -> Self {
        let base = base_deadline(campaign, level).to_owned();
        let effective = extension
            .as_ref()
            .map_or_else(|| base.clone(), |e| e.until.clone());
        let days_left =
            crate::forms::rules::parse_date(&effective).map(|d| (d - beijing_today()).whole_days());
        Self {
            base,
            extension,
            effective,
            days_left,
        }
    }

    pub fn passed(&self) -> bool {
        self.days_left.is_some_and(|d| d < 0)
    }

    /// Days past the level's own deadline (0 when on time).
    pub fn late_days(&self) -> i64 {
        crate::forms::rules::parse_date(&self.base)
            .map_or(0, |d| (beijing_today() - d).whole_days().max(0))
    }
}

/// Something still missing from a node's package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    pub what: String,
}

/// What a node's package contains and lacks right now.
#[derive(Debug, Clone)]
pub struct Readiness {
    pub own: OwnProgress,
    pub a3_filed: bool,
    /// Children and their package state label ("未报送" when none).
    pub children: Vec<(Org, Option<Package>)>,
    pub missing: Vec<Missing>,
}

/// Everything the package page shows.
#[derive(Debug, Clone)]
pub struct PackageView {
    pub org: Org,
    pub parent: Option<Org>,
    pub campaign: Campaign,
    pub package: Option<Package>,
    pub deadline: NodeDeadline,
    pub readiness: Readiness,
    pub overdue_marks: Vec<String>,
    /// The caller works at this node and may submit now.
    pub can_submit: bool,
    /// The caller is a reviewer of the parent and may accept or return / grant extensions.
    pub can_decide: bool,
}

/// The responsible people and contact named on a submission.
#[derive(Debug, Clone, Default)]
pub struct SubmitInput {
    pub secretary_name: String,
    pub organiser_name: String,
    pub contact_phone: String,
    pub missing_note: String,
}

fn by_name(caller: Caller<'_>) -> String {
    match caller {
        Caller::User(a) => format!("{}（{}，{}）", a.display_name, a.role.label(), a.org_name),
        Caller::Operator => "命令行".into(),
    }
}

/// Refuse a change to data of `org_path` while the package of the node `org_id` is with the
/// parent (submitted) or accepted: changing it needs a return from above.
pub async fn ensure_unlocked(
    conn: &mut sqlx::AnyConnection,
    campaign_id: i64,
    org_id: OrgId,
) -> ServiceResult<()> {
    if let Some(p) = packages::get(conn, campaign_id, org_id).await?
        && p.state.is_with_parent()
    {
        return Err(ServiceError::Conflict(Refusal::Locked(p.state)));
    }
    Ok(())
}

/// Why a node's data cannot be changed now: its package is with its parent (submitted, or
/// accepted). One rule for the survey, the 附件3 and the members' forms, explained the same way
/// on each of their pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub state: PackageState,
    pub parent_name: String,
    /// Who submitted and when (Beijing time).
    pub submitted: (String, String),
    /// Who accepted and when, once accepted.
    pub accepted: Option<(String, String)>,
}

impl Lock {
    /// The sentence at the top of every page whose changes the lock refuses.
    pub fn message(&self) -> String {
        let mut s = format!(
            "本组织的材料已于 {} 由 {} 报送{}",
            self.submitted.1, self.submitted.0, self.parent_name
        );
        match &self.accepted {
            Some((by, at)) => s.push_str(&format!("，{at} 已由 {by} 接收")),
            None => s.push_str("，正等待上级接收"),
        }
        s.push_str(&format!(
            "。数据已锁定，本页只能查看；如需修改，请联系{}在“下级进度”中将本组织的报送材料退回。",
            self.parent_name
        ));
        s
    }
}

/// The lock on a node's data in a campaign, if its package is with the parent.
pub async fn lock_of(
    conn: &mut sqlx::AnyConnection,
    campaign_id: i64,
    org: &Org,
) -> ServiceResult<Option<Lock>> {
    let Some(p) = packages::get(conn, campaign_id, org.id).await? else {
        return Ok(None);
    };
    if !p.state.is_with_parent() {
        return Ok(None);
    }
    let parent_name = match org.parent_id {
        Some(id) => crate::store::orgs::get(conn, id)
            .await?
            .map_or_else(|| "上级党组织".to_owned(), |o| o.name),
        None => "上级党组织".to_owned(),
    };
    let accepted = (p.state == PackageState::Accepted).then(|| {
        (
            p.decider_name.clone().unwrap_or_default(),
            p.decided_at.map(super::beijing_time).unwrap_or_default(),
        )
    });
    Ok(Some(Lock {
        state: p.state,
        parent_name,
        submitted: (
            p.submitter_name.clone(),
            super::beijing_time(p.submitted_at),
        ),
        accepted,
    }))
}

super::area!(PackageService);

impl PackageService<'_> {
    async fn readiness(
        &self,
        conn: &mut sqlx::AnyConnection,
        campaign: &Campaign,
        org: &Org,
    ) -> ServiceResult<Readiness> {
        let own = packages::own_progress(conn, campaign.id, org.id).await?;
        let a3_filed = org_registrations::get(conn, campaign.id, org.id)
            .await?
            .is_some();
        let kids = orgs::children(conn, org.id, 100_000).await?;
        let pkgs = packages::of_children(conn, campaign.id, org.id).await?;
        let children: Vec<(Org, Option<Package>)> = kids
            .into_iter()
            .map(|c| {
                let p = pkgs.iter().find(|p| p.org_id == c.id).cloned();
                (c, p)
            })
            .collect();
        let mut missing = Vec::new();
        if !a3_filed {
            missing.push(Missing {
                what: "本组织的附件3《党组织基本信息登记表》尚未填写".into(),
            });
        }
        if own.unfinished > 0 {
            missing.push(Missing {
                what: format!("本组织有 {} 名党员的登记表尚未审核通过", own.unfinished),
            });
        }
        for (c, p) in &children {
            let state = p.as_ref().map(|p| p.state);
            if state != Some(PackageState::Accepted) {
                missing.push(Missing {
                    what: format!("下级组织“{}”：{}", c.name, state_label(state)),
                });
            }
        }
        Ok(Readiness {
            own,
            a3_filed,
            children,
            missing,
        })
    }

    /// The package page of a node: its state, deadline, what is missing, and what the caller
    /// may do.
    pub async fn view(&self, caller: Caller<'_>, org_id: OrgId) -> ServiceResult<PackageView> {
        let mut conn = self.db.acquire().await?;
        let org = super::readable_org(&mut conn, caller, org_id).await?;
        let campaign = super::current_campaign_of(&mut conn).await?;
        let parent = match org.parent_id {
            Some(p) => orgs::get(&mut conn, p).await?,
            None => None,
        };
        let package = packages::get(&mut conn, campaign.id, org.id).await?;
        let extension = packages::extension_of(&mut conn, campaign.id, org.id).await?;
        let deadline = NodeDeadline::new(&campaign, org.level, extension);
        let readiness = self.readiness(&mut conn, &campaign, &org).await?;
        let overdue_marks = packages::overdue_marks(&mut conn, campaign.id, org.id).await?;
        let at_node = match caller {
            Caller::User(a) => a.org_id == org.id,
            Caller::Operator => true,
        };
        let can_submit = parent.is_some()
            && at_node
            && caller
                .require(Action::SubmitPackage, Some(&org.path))
                .is_ok()
            && PackageState::after(package.as_ref().map(|p| p.state), PackageMove::Submit)
                .is_some();
        let can_decide = match (caller, &parent) {
            (Caller::User(a), Some(p)) => {
                a.org_id == p.id && caller.require(Action::Review, Some(&org.path)).is_ok()
            }
            (Caller::Operator, Some(_)) => true,
            _ => false,
        };
        Ok(PackageView {
            org,
            parent,
            campaign,
            package,
            deadline,
            readiness,
            overdue_marks,
            can_submit,
            can_decide,
        })
    }

    /// Submit a node's package to its parent.
    pub async fn submit(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
        input: &SubmitInput,
    ) -> ServiceResult<()> {
        caller.require(Action::SubmitPackage, None)?;
        let mut errors = Vec::new();
        let secretary = input.secretary_name.trim();
        let organiser = input.organiser_name.trim();
        let phone = input.contact_phone.trim();
        if secretary.is_empty() || secretary.chars().count() > 30 {
            errors.push(crate::domain::FieldError::new(
                "第一责任人（书记）",
                "请填写书记姓名（30字以内）",
            ));
        }
        if organiser.is_empty() || organiser.chars().count() > 30 {
            errors.push(crate::domain::FieldError::new(
                "直接责任人（组织委员）",
                "请填写组织委员姓名（30字以内）",
            ));
        }
        if phone.is_empty()
            || phone.len() > 20
            || !phone.chars().all(|c| c.is_ascii_digit() || c == '-')
        {
            errors.push(crate::domain::FieldError::new(
                "联系电话",
                "请填写联系电话（手机号码或带区号的固定电话，只含数字和“-”）",
            ));
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let mut tx = self.db.begin().await?;
        let org = orgs::get(&mut tx, org_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::SubmitPackage, Some(&org.path))?;
        if let Caller::User(a) = caller
            && a.org_id != org.id
        {
            return Err(ServiceError::Conflict(Refusal::NotOwnNode));
        }
        let Some(parent_id) = org.parent_id else {
            return Err(ServiceError::Conflict(Refusal::TopOfTree));
        };
        let campaign = super::open_campaign_of(&mut tx).await?;
        let existing = packages::get(&mut tx, campaign.id, org.id).await?;
        if let Some(p) = &existing
            && PackageState::after(Some(p.state), PackageMove::Submit).is_none()
        {
            return Err(ServiceError::Conflict(Refusal::AlreadySubmitted(p.state)));
        }
        let extension = packages::extension_of(&mut tx, campaign.id, org.id).await?;
        let deadline = NodeDeadline::new(&campaign, org.level, extension);
        if deadline.passed() {
            drop(tx);
            // The refusal itself changes nothing; the lateness is recorded against the node.
            self.sweep_deadlines().await?;
            return Err(ServiceError::Conflict(Refusal::DeadlinePassed(
                deadline.effective,
            )));
        }
        let readiness = self.readiness(&mut tx, &campaign, &org).await?;
        if readiness.own.waiting > 0 {
            return Err(ServiceError::Conflict(Refusal::ReviewsWaiting(
                readiness.own.waiting,
            )));
        }
        let note = input.missing_note.trim();
        if !readiness.missing.is_empty() && note.chars().count() < 4 {
            let list: Vec<&str> = readiness.missing.iter().map(|m| m.what.as_str()).collect();
            return Err(ServiceError::invalid(
                "缺报说明",
                format!(
                    "材料尚不完整：{}。如确需先行报送，请在“缺报说明”中写明原因（至少4个字）",
                    list.join("；")
                ),
            ));
        }
        if note.chars().count() > 500 {
            return Err(ServiceError::invalid("缺报说明", "缺报说明请在500字以内"));
        }
        let stats = summary::stats(&mut tx, campaign.id, &org.path).await?;
        packages::submit(
            &mut tx,
            &NewPackage {
                campaign_id: campaign.id,
                org_id: org.id,
                org_path: &org.path,
                submitted_by: caller.user_id(),
                submitter_name: by_name(caller),
                secretary_name: secretary.to_owned(),
                organiser_name: organiser.to_owned(),
                contact_phone: phone.to_owned(),
                missing: serde_json::to_string(&readiness.missing).unwrap_or_else(|_| "[]".into()),
                missing_note: (!note.is_empty()).then(|| note.to_owned()),
                summary: serde_json::to_string(&stats).unwrap_or_else(|_| "{}".into()),
                late_days: deadline.late_days(),
            },
            existing.as_ref(),
        )
        .await
        .map_err(|e| super::on_race(e, "本组织的材料刚刚已由他人报送，请刷新页面"))?;
        notifications::send(
            &mut tx,
            To::Staff(parent_id),
            NoticeKind::Submitted,
            &format!("{} 已报送登记核查材料，请审核接收", org.name),
            &format!("/orgs/{}/package", org.id),
            None,
        )
        .await?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "package.submit",
                target_kind: "org",
                target_id: org.id.to_string(),
                target_path: &org.path,
                detail: serde_json::json!({
                    "missing": readiness.missing.len(),
                    "late_days": deadline.late_days(),
                    "members": stats.members(),
                    "approved": stats.approved,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The child's package and the child, checked to be decidable by the caller (a reviewer
    /// of the parent).
    async fn decidable(
        &self,
        conn: &mut sqlx::AnyConnection,
        caller: Caller<'_>,
        child_id: OrgId,
    ) -> ServiceResult<(Org, Campaign)> {
        caller.require(Action::Review, None)?;
        let child = orgs::get(conn, child_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::Review, Some(&child.path))?;
        if let Caller::User(a) = caller
            && Some(a.org_id) != child.parent_id
        {
            return Err(ServiceError::Conflict(Refusal::NotDirectParent));
        }
        let campaign = super::open_campaign_of(conn).await?;
        Ok((child, campaign))
    }

    /// Accept a child's submitted package (`version` is the one the reviewer looked at).
    /// The national level's acceptance of a province needs a second person (双人复核).
    pub async fn accept(
        &self,
        caller: Caller<'_>,
        child_id: OrgId,
        version: i64,
    ) -> ServiceResult<()> {
        let mut tx = self.db.begin().await?;
        self.accept_in(&mut tx, caller, child_id, version, Via::Direct)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn accept_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        caller: Caller<'_>,
        child_id: OrgId,
        version: i64,
        via: Via,
    ) -> ServiceResult<()> {
        let (child, campaign) = self.decidable(&mut *tx, caller, child_id).await?;
        let pkg = self
            .package_in(&mut *tx, &campaign, &child, version)
            .await?;
        super::four_eyes::gate(caller, via, child.path.depth() == 1)?;
        packages::decide(
            &mut *tx,
            &pkg,
            &PackageState::before(PackageMove::Accept),
            PackageState::Accepted,
            caller.user_id(),
            &by_name(caller),
            None,
        )
        .await
        .map_err(|e| super::on_race(e, "该材料的状态刚刚发生变化，请刷新页面后再操作"))?;
        // Data arriving in an already accepted (or submitted) subtree is counted there.
        let above: Vec<OrgId> = child
            .path
            .ids()
            .into_iter()
            .filter(|id| *id != child.id)
            .collect();
        packages::count_change(&mut *tx, campaign.id, &above, 1).await?;
        super::tell_child_and_audit(
            &mut *tx,
            caller,
            &child,
            &format!("/orgs/{}/package", child.id),
            (NoticeKind::Accepted, "本组织报送的登记核查材料已被上级接收"),
            "package.accept",
            serde_json::json!({"version": pkg.version}),
        )
        .await?;
        Ok(())
    }

    async fn package_in(
        &self,
        conn: &mut sqlx::AnyConnection,
        campaign: &Campaign,
        child: &Org,
        version: i64,
    ) -> ServiceResult<Package> {
        let pkg = packages::get(conn, campaign.id, child.id)
            .await?
            .ok_or_else(|| ServiceError::Conflict(Refusal::NoPackage(child.name.clone())))?;
        if pkg.version != version {
            return Err(ServiceError::Conflict(Refusal::StalePackage));
        }
        Ok(pkg)
    }

    /// Return a child's package (submitted, or accepted earlier) with a reason.
    pub async fn send_back(
        &self,
        caller: Caller<'_>,
        child_id: OrgId,
        version: i64,
        reason: &str,
    ) -> ServiceResult<()> {
        let reason = reason.trim();
        if reason.chars().count() < 4 || reason.chars().count() > 500 {
            return Err(ServiceError::invalid(
                "退回原因",
                "请写明退回原因和需要更正的内容（4至500字）",
            ));
        }
        let mut tx = self.db.begin().await?;
        let (child, campaign) = self.decidable(&mut tx, caller, child_id).await?;
        let pkg = self.package_in(&mut tx, &campaign, &child, version).await?;
        if pkg.state.is_returned() {
            return Err(ServiceError::Conflict(Refusal::AwaitingResubmission));
        }
        packages::decide(
            &mut tx,
            &pkg,
            &PackageState::before(PackageMove::Return),
            PackageState::Returned,
            caller.user_id(),
            &by_name(caller),
            Some(reason.to_owned()),
        )
        .await
        .map_err(|e| super::on_race(e, "该材料的状态刚刚发生变化，请刷新页面后再操作"))?;
        super::tell_child_and_audit(
            &mut tx,
            caller,
            &child,
            &format!("/orgs/{}/package", child.id),
            (
                NoticeKind::Returned,
                &format!("本组织报送的材料被上级退回：{reason}"),
            ),
            "package.return",
            serde_json::json!({"version": pkg.version, "from": pkg.state.code()}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Grant a child a later deadline, with the reason recorded.
    pub async fn extend(
        &self,
        caller: Caller<'_>,
        child_id: OrgId,
        until: &str,
        reason: &str,
    ) -> ServiceResult<()> {
        let reason = reason.trim();
        let Some(date) = crate::forms::rules::parse_date(until.trim()) else {
            return Err(ServiceError::invalid(
                "延期至",
                "请按 年-月-日 填写日期，例如 2018-09-15",
            ));
        };
        if reason.chars().count() < 4 || reason.chars().count() > 300 {
            return Err(ServiceError::invalid(
                "延期理由",
                "请写明延期理由（4至300字）",
            ));
        }
        if date < beijing_today() {
            return Err(ServiceError::invalid("延期至", "延期日期不能早于今天"));
        }
        let mut tx = self.db.begin().await?;
        let (child, campaign) = self.decidable(&mut tx, caller, child_id).await?;
        let current = NodeDeadline::new(
            &campaign,
            child.level,
            packages::extension_of(&mut tx, campaign.id, child.id).await?,
        );
        if crate::forms::rules::parse_date(&current.effective).is_some_and(|d| date <= d) {
            return Err(ServiceError::invalid(
                "延期至",
                format!("延期日期应晚于当前截止日期 {}", current.effective),
            ));
        }
        let until = date.to_string();
        packages::grant_extension(
            &mut tx,
            campaign.id,
            child.id,
            &until,
            reason,
            caller.user_id(),
            &by_name(caller),
        )
        .await?;
        super::tell_child_and_audit(
            &mut tx,
            caller,
            &child,
            &format!("/orgs/{}/package", child.id),
            (
                NoticeKind::Extension,
                &format!("上级已批准延期报送至 {until}"),
            ),
            "package.extend",
            serde_json::json!({"until": until, "was": current.effective}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Record overdue nodes and send deadline reminders (3 days ahead) and overdue notices.
    /// Runs at start and hourly in the server; cheap enough to run any time.
    pub async fn sweep_deadlines(&self) -> ServiceResult<u64> {
        let mut tx = self.db.begin().await?;
        let Some(campaign) = crate::store::campaigns::latest(&mut tx).await? else {
            return Ok(0);
        };
        let today = beijing_today();
        let in3 = today + time::Duration::days(3);
        let mut marked = 0;
        for level in [OrgLevel::Firm, OrgLevel::City, OrgLevel::Province] {
            let base = base_deadline(&campaign, level).to_owned();
            marked += packages::record_overdue(
                &mut tx,
                campaign.id,
                level.code(),
                &base,
                &today.to_string(),
            )
            .await?;
            packages::remind_level(
                &mut tx,
                campaign.id,
                level.code(),
                &base,
                &today.to_string(),
                &in3.to_string(),
                NoticeKind::Deadline,
                "本组织登记核查材料的报送截止日期临近（3天内），请及时审核并报送",
            )
            .await?;
            packages::remind_level(
                &mut tx,
                campaign.id,
                level.code(),
                &base,
                "0000-01-01",
                &(today - time::Duration::days(1)).to_string(),
                NoticeKind::Overdue,
                "本组织登记核查材料已逾期未报送，逾期情况已记录；请尽快报送或向上级申请延期",
            )
            .await?;
        }
        tx.commit().await?;
        Ok(marked)
    }
}
