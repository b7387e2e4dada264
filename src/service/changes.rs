//! 定期上报: after a campaign, every change to registered data is a change record of the node
//! that keeps the record; each node submits its subtree's changes of a period to its parent as
//! a change set, accepted or returned — whole, or one change at a time — like a campaign
//! package; a change is official once the national level accepts the province set carrying it.

use serde_json::{Map, Value};

use super::{Caller, Refusal, ServiceError, ServiceResult, beijing_today};
use crate::authz::Action;
use crate::domain::change::{self, Cadence, ChangeKind, ChangeState, SetState};
use crate::domain::{FieldError, NoticeKind, OrgId, TreePath};
use crate::store::audit::{self, NewEvent};
use crate::store::changes::{self, Change, ChangeFilter, ChangeSet, Counts, NewChange};
use crate::store::notifications::{self, To};
use crate::store::orgs::{self, Org, Page};
use crate::store::roster::RecordKind;

/// The settings key of the reporting cadence.
const CADENCE_KEY: &str = "change_period";

/// How often the nodes report (monthly unless set).
pub(crate) async fn cadence(conn: &mut sqlx::AnyConnection) -> ServiceResult<Cadence> {
    let v = changes::setting(conn, CADENCE_KEY).await?;
    Ok(v.as_deref()
        .and_then(Cadence::from_code)
        .unwrap_or_default())
}

/// Whether changes made now to the data of these nodes are reported as change records: once
/// the latest campaign is closed (the roster lives on), or while the open campaign has any
/// of their packages with the parent (the change waits for the parent instead of being
/// refused or slipping in silently). Before the first campaign, and in an open campaign
/// otherwise, the campaign itself carries the data.
pub(crate) async fn reported(
    conn: &mut sqlx::AnyConnection,
    nodes: &[OrgId],
) -> ServiceResult<bool> {
    let Some(c) = crate::store::campaigns::latest(conn).await? else {
        return Ok(false);
    };
    if c.closed_at.is_some() {
        return Ok(true);
    }
    for n in nodes {
        if let Some(p) = crate::store::packages::get(conn, c.id, *n).await?
            && p.state.is_with_parent()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The period a change recorded now at `path` belongs to: today's, or the next one still open
/// at the node and every node above it (a period whose set a node has already submitted takes
/// no more changes from below).
async fn open_period(conn: &mut sqlx::AnyConnection, path: &TreePath) -> ServiceResult<String> {
    let mut period = cadence(conn).await?.period_of(beijing_today());
    let ids = path.ids();
    for _ in 0..120 {
        let closed = changes::sets_of(conn, &ids, &period)
            .await?
            .iter()
            .any(|s| s.state.is_with_parent());
        if !closed {
            return Ok(period);
        }
        period = change::next_period(&period).ok_or_else(|| {
            ServiceError::Store(crate::store::StoreError::Corrupt(format!(
                "period {period}"
            )))
        })?;
    }
    Ok(period)
}

/// One change to record.
pub(crate) struct Record<'a> {
    pub kind: ChangeKind,
    pub subject: RecordKind,
    pub subject_id: i64,
    pub subject_name: &'a str,
    pub fields: Map<String, Value>,
    /// The history row of the version the change ended (none for 新增).
    pub history_id: Option<i64>,
    pub note: &'a str,
    pub effective_on: &'a str,
}

/// Record a change kept by the node `keeper`, in the caller's transaction. The national
/// level's own changes are official at once (nobody is above it).
pub(crate) async fn record(
    tx: &mut sqlx::AnyConnection,
    caller: Caller<'_>,
    keeper: (OrgId, &TreePath),
    r: Record<'_>,
) -> ServiceResult<i64> {
    let period = open_period(tx, keeper.1).await?;
    let state = if keeper.1.depth() == 0 {
        ChangeState::Accepted
    } else {
        ChangeState::Pending
    };
    Ok(changes::insert(
        tx,
        &NewChange {
            org_id: keeper.0,
            org_path: keeper.1.clone(),
            period,
            kind: r.kind,
            subject: r.subject,
            subject_id: r.subject_id,
            subject_name: r.subject_name.to_owned(),
            fields: r.fields,
            history_id: r.history_id,
            note: r.note.trim().to_owned(),
            effective_on: r.effective_on.to_owned(),
            state,
            by: caller.user_id(),
            by_name: caller.display_name(),
        },
    )
    .await?)
}

/// A child node and its change set of the period.
#[derive(Debug, Clone)]
pub struct ChildSet {
    pub org: Org,
    /// Changes of the period in the child's subtree.
    pub changes: i64,
    pub set: Option<ChangeSet>,
    pub deadline: String,
    /// Days past the deadline without a set with the parent (0: not overdue).
    pub overdue_days: i64,
}

/// Everything the change set page of a node shows.
#[derive(Debug, Clone)]
pub struct ChangesView {
    pub org: Org,
    pub parent: Option<Org>,
    pub cadence: Cadence,
    pub period: String,
    /// Periods with changes in the subtree (newest first), the current one included.
    pub periods: Vec<String>,
    pub set: Option<ChangeSet>,
    pub deadline: String,
    pub overdue_days: i64,
    pub counts: Counts,
    pub changes: Page<Change>,
    pub children: Vec<ChildSet>,
    /// Why the node cannot submit now (empty: it can, if the caller works here).
    pub blockers: Vec<String>,
    /// The caller works at this node and may submit its set.
    pub can_submit: bool,
    /// The caller is a reviewer of the parent and the set waits for a decision (or was
    /// accepted and may still be returned).
    pub can_decide: bool,
    /// The caller works at the node keeping a returned change and may answer it.
    pub caller_org: Option<OrgId>,
}

fn overdue(deadline: Option<time::Date>, set: Option<&ChangeSet>, changes: i64) -> i64 {
    if changes == 0 || set.is_some_and(|s| s.state.is_with_parent()) {
        return 0;
    }
    deadline.map_or(0, |d| (beijing_today() - d).whole_days().max(0))
}

fn period_ok(period: &str) -> ServiceResult<()> {
    if change::period_bounds(period).is_none() {
        return Err(ServiceError::Invalid(vec![FieldError::new(
            "period",
            "报送期间应为“2027-01”（月）或“2027-Q1”（季度）",
        )]));
    }
    Ok(())
}

super::area!(ChangeService);

impl ChangeService<'_> {
    /// The children of `org` with changes of the period in their subtree (or a set), and
    /// their sets.
    async fn children_sets(
        &self,
        conn: &mut sqlx::AnyConnection,
        org: &Org,
        period: &str,
    ) -> ServiceResult<Vec<ChildSet>> {
        let origins = changes::origins(conn, &org.path, period).await?;
        let kids = orgs::children(conn, org.id, 100_000).await?;
        let ids: Vec<OrgId> = kids.iter().map(|k| k.id).collect();
        let sets = changes::sets_of(conn, &ids, period).await?;
        let mut out = Vec::new();
        for k in kids {
            let n: i64 = origins
                .iter()
                .filter(|(p, _)| k.path.contains(p))
                .map(|(_, n)| n)
                .sum();
            let set = sets.iter().find(|s| s.org_id == k.id).cloned();
            if n == 0 && set.is_none() {
                continue;
            }
            let deadline = change::deadline(period, k.level);
            out.push(ChildSet {
                overdue_days: overdue(deadline, set.as_ref(), n),
                deadline: deadline.map(|d| d.to_string()).unwrap_or_default(),
                org: k,
                changes: n,
                set,
            });
        }
        Ok(out)
    }

    /// Why `org` cannot submit its set of the period now.
    async fn blockers(
        &self,
        conn: &mut sqlx::AnyConnection,
        org: &Org,
        period: &str,
        counts: &Counts,
        children: &[ChildSet],
    ) -> ServiceResult<Result<(), Refusal>> {
        if org.parent_id.is_none() {
            return Ok(Err(Refusal::TopOfTree));
        }
        if let Some(s) = changes::set_of(conn, org.id, period).await?
            && s.state.is_with_parent()
        {
            return Ok(Err(Refusal::ChangeSetWithParent(s.state)));
        }
        if counts.total == 0 {
            return Ok(Err(Refusal::NothingToReport(change::period_label(period))));
        }
        if let Some(name) = changes::first_returned(conn, &org.path, period).await? {
            return Ok(Err(Refusal::ChangeReturned(name)));
        }
        let waiting: Vec<&str> = children
            .iter()
            .filter(|c| c.set.as_ref().map(|s| s.state) != Some(SetState::Accepted))
            .map(|c| c.org.name.as_str())
            .collect();
        if !waiting.is_empty() {
            let mut names = waiting
                .iter()
                .take(5)
                .copied()
                .collect::<Vec<_>>()
                .join("、");
            if waiting.len() > 5 {
                names.push_str(&format!(" 等 {} 个", waiting.len()));
            }
            return Ok(Err(Refusal::ChildChangesWaiting(names)));
        }
        Ok(Ok(()))
    }

    /// The change set page of a node for a period (the current one by default).
    pub async fn view(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
        period: Option<&str>,
        filter: &ChangeFilter,
    ) -> ServiceResult<ChangesView> {
        let mut conn = self.db.acquire().await?;
        let org = super::readable_org(&mut conn, caller, org_id).await?;
        let cadence = cadence(&mut conn).await?;
        let current = cadence.period_of(beijing_today());
        let period = match period.map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => {
                period_ok(p)?;
                p.to_owned()
            }
            None => current.clone(),
        };
        let mut periods = changes::periods(&mut conn, &org.path, 36).await?;
        for p in [&current, &period] {
            if !periods.contains(p) {
                periods.push(p.clone());
            }
        }
        periods.sort_by(|a, b| b.cmp(a));
        let parent = match org.parent_id {
            Some(p) => orgs::get(&mut conn, p).await?,
            None => None,
        };
        let set = changes::set_of(&mut conn, org.id, &period).await?;
        let counts = changes::counts(&mut conn, &org.path, &period).await?;
        let mut f = filter.clone();
        f.page = f.page.max(1);
        f.per_page = f.per_page.clamp(1, 500);
        let list = changes::page(&mut conn, &org.path, &period, &f).await?;
        let children = self.children_sets(&mut conn, &org, &period).await?;
        let blockers = match self
            .blockers(&mut conn, &org, &period, &counts, &children)
            .await?
        {
            Ok(()) => Vec::new(),
            Err(r) => vec![r.to_string()],
        };
        let deadline = change::deadline(&period, org.level);
        let works_here = |a: &crate::authz::Actor| a.org_id == org.id;
        let can_submit = blockers.is_empty()
            && match caller {
                Caller::User(a) => {
                    works_here(a)
                        && caller
                            .require(Action::SubmitPackage, Some(&org.path))
                            .is_ok()
                }
                Caller::Operator => true,
            };
        let can_decide = set.as_ref().is_some_and(|s| s.state.is_with_parent())
            && match caller {
                Caller::User(a) => {
                    Some(a.org_id) == org.parent_id
                        && caller.require(Action::Review, Some(&org.path)).is_ok()
                }
                Caller::Operator => true,
            };
        Ok(ChangesView {
            overdue_days: overdue(deadline, set.as_ref(), counts.total),
            deadline: deadline.map(|d| d.to_string()).unwrap_or_default(),
            org,
            parent,
            cadence,
            period,
            periods,
            set,
            counts,
            changes: list,
            children,
            blockers,
            can_submit,
            can_decide,
            caller_org: match caller {
                Caller::User(a) => Some(a.org_id),
                Caller::Operator => None,
            },
        })
    }

    /// Submit the node's changes of a period (its own and its children's accepted sets).
    pub async fn submit(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
        period: &str,
    ) -> ServiceResult<()> {
        period_ok(period)?;
        caller.require(Action::SubmitPackage, None)?;
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
        let counts = changes::counts(&mut tx, &org.path, period).await?;
        let children = self.children_sets(&mut tx, &org, period).await?;
        self.blockers(&mut tx, &org, period, &counts, &children)
            .await?
            .map_err(ServiceError::Conflict)?;
        let late = change::deadline(period, org.level)
            .map_or(0, |d| (beijing_today() - d).whole_days().max(0));
        changes::submit_set(
            &mut tx,
            org.id,
            period,
            (counts.total, late),
            caller.user_id(),
            &caller.display_name(),
        )
        .await
        .map_err(|e| super::on_race(e, "本期变更刚刚已被他人报送，请刷新页面"))?;
        if let Some(p) = org.parent_id {
            notifications::send(
                &mut tx,
                To::Staff(p),
                NoticeKind::Submitted,
                &format!(
                    "{} 报送了{}的变更（{} 条）",
                    org.name,
                    change::period_label(period),
                    counts.total
                ),
                &format!("/orgs/{}/changes?period={period}", org.id),
                None,
            )
            .await?;
        }
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "changeset.submit",
                target_kind: "org",
                target_id: org.id.to_string(),
                target_path: &org.path,
                detail: serde_json::json!({"period": period, "changes": counts.total, "late_days": late}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A child node whose set the caller (a reviewer of its parent) decides on.
    async fn decidable(
        &self,
        conn: &mut sqlx::AnyConnection,
        caller: Caller<'_>,
        child_id: OrgId,
    ) -> ServiceResult<Org> {
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
        Ok(child)
    }

    /// Refuse a decision on a child's set while the deciding node's own set of the period is
    /// with its parent (a return from above comes first).
    async fn ensure_own_open(
        &self,
        conn: &mut sqlx::AnyConnection,
        node: Option<OrgId>,
        period: &str,
    ) -> ServiceResult<()> {
        if let Some(n) = node
            && let Some(s) = changes::set_of(conn, n, period).await?
            && s.state.is_with_parent()
        {
            return Err(ServiceError::Conflict(Refusal::ChangeSetWithParent(
                s.state,
            )));
        }
        Ok(())
    }

    /// Accept a child's submitted set; at the national level its changes become official.
    pub async fn accept(
        &self,
        caller: Caller<'_>,
        child_id: OrgId,
        period: &str,
    ) -> ServiceResult<u64> {
        period_ok(period)?;
        let mut tx = self.db.begin().await?;
        let child = self.decidable(&mut tx, caller, child_id).await?;
        if let Some(name) = changes::first_returned(&mut tx, &child.path, period).await? {
            return Err(ServiceError::Conflict(Refusal::ChangeReturned(name)));
        }
        let moved = changes::decide_sets(
            &mut tx,
            &[child.id],
            period,
            (&[SetState::Submitted], SetState::Accepted),
            (caller.user_id(), &caller.display_name()),
            None,
        )
        .await?;
        if moved != 1 {
            return Err(ServiceError::Conflict(Refusal::SetNotSubmitted));
        }
        let official = if child.path.depth() == 1 {
            changes::accept_all(&mut tx, &child.path, period).await?
        } else {
            0
        };
        super::tell_child_and_audit(
            &mut tx,
            caller,
            &child,
            &format!("/orgs/{}/changes?period={period}", child.id),
            (
                NoticeKind::Accepted,
                &format!(
                    "本组织报送的{}变更已被上级接收",
                    change::period_label(period)
                ),
            ),
            "changeset.accept",
            serde_json::json!({"period": period, "official": official}),
        )
        .await?;
        tx.commit().await?;
        Ok(official)
    }

    /// Return a child's whole set (submitted, or accepted while the caller's own set is still
    /// open) with a reason.
    pub async fn send_back(
        &self,
        caller: Caller<'_>,
        child_id: OrgId,
        period: &str,
        reason: &str,
    ) -> ServiceResult<()> {
        period_ok(period)?;
        let reason = reason_ok(reason)?;
        let mut tx = self.db.begin().await?;
        let child = self.decidable(&mut tx, caller, child_id).await?;
        self.ensure_own_open(&mut tx, child.parent_id, period)
            .await?;
        let moved = changes::decide_sets(
            &mut tx,
            &[child.id],
            period,
            (
                &[SetState::Submitted, SetState::Accepted],
                SetState::Returned,
            ),
            (caller.user_id(), &caller.display_name()),
            Some(reason),
        )
        .await?;
        if moved != 1 {
            return Err(ServiceError::Conflict(Refusal::SetNotSubmitted));
        }
        super::tell_child_and_audit(
            &mut tx,
            caller,
            &child,
            &format!("/orgs/{}/changes?period={period}", child.id),
            (
                NoticeKind::Returned,
                &format!(
                    "本组织报送的{}变更被上级退回：{reason}",
                    change::period_label(period)
                ),
            ),
            "changeset.return",
            serde_json::json!({"period": period, "reason": reason}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Return one change of a child's set with a reason: the change goes back to the node
    /// keeping it, and every set that carried it below the caller is returned with it.
    pub async fn return_change(
        &self,
        caller: Caller<'_>,
        id: i64,
        reason: &str,
    ) -> ServiceResult<()> {
        let reason = reason_ok(reason)?;
        caller.require(Action::Review, None)?;
        let mut tx = self.db.begin().await?;
        let c = changes::get(&mut tx, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::Review, Some(&c.org_path))?;
        if c.state != ChangeState::Pending {
            return Err(ServiceError::Conflict(Refusal::ChangeNotReturnable(
                c.state,
            )));
        }
        // The deciding node: the caller's; the operator decides as the keeper's parent.
        let ids = c.org_path.ids();
        let decider_depth = match caller {
            Caller::User(a) => ids
                .iter()
                .position(|i| *i == a.org_id)
                .ok_or(ServiceError::NotFound)?,
            Caller::Operator => ids.len().saturating_sub(2),
        };
        let below: Vec<OrgId> = ids[decider_depth + 1..].to_vec();
        let Some(child) = below.first().copied() else {
            // A change the caller's own node keeps: nobody above has it to return.
            return Err(ServiceError::Conflict(Refusal::NotDirectParent));
        };
        let child_set = changes::set_of(&mut tx, child, &c.period).await?;
        if !child_set.is_some_and(|s| s.state.is_with_parent()) {
            return Err(ServiceError::Conflict(Refusal::SetNotSubmitted));
        }
        self.ensure_own_open(&mut tx, Some(ids[decider_depth]), &c.period)
            .await?;
        changes::mark_returned(&mut tx, id, reason, &caller.display_name())
            .await
            .map_err(|e| super::on_race(e, "该变更记录刚刚已被他人处理，请刷新页面"))?;
        let why = format!("变更记录“{}”被退回：{reason}", c.subject_name);
        changes::decide_sets(
            &mut tx,
            &below,
            &c.period,
            (
                &[SetState::Submitted, SetState::Accepted],
                SetState::Returned,
            ),
            (caller.user_id(), &caller.display_name()),
            Some(&why),
        )
        .await?;
        notifications::send(
            &mut tx,
            To::Staff(c.org_id),
            NoticeKind::Returned,
            &why,
            &format!("/orgs/{}/changes?period={}", c.org_id, c.period),
            None,
        )
        .await?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "change.return",
                target_kind: "org",
                target_id: c.org_id.to_string(),
                target_path: &c.org_path,
                detail: serde_json::json!({
                    "change": id, "name": c.subject_name, "period": c.period, "reason": reason,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The keeping node answers a returned change (what it corrected, or why it stands): the
    /// change goes up again with the node's next submission.
    pub async fn answer(&self, caller: Caller<'_>, id: i64, note: &str) -> ServiceResult<()> {
        let note = note.trim();
        if note.chars().count() < 2 || note.chars().count() > 500 {
            return Err(ServiceError::invalid(
                "处理说明",
                "请写明如何处理了退回的变更（2至500字）",
            ));
        }
        caller.require(Action::SubmitPackage, None)?;
        let mut tx = self.db.begin().await?;
        let c = changes::get(&mut tx, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::SubmitPackage, Some(&c.org_path))?;
        if let Caller::User(a) = caller
            && a.org_id != c.org_id
        {
            return Err(ServiceError::Conflict(Refusal::NotOwnNode));
        }
        if c.state != ChangeState::Returned {
            return Err(ServiceError::Conflict(Refusal::ChangeNotReturned));
        }
        changes::answer(&mut tx, id, note)
            .await
            .map_err(|e| super::on_race(e, "该变更记录刚刚已被他人处理，请刷新页面"))?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "change.answer",
                target_kind: "org",
                target_id: c.org_id.to_string(),
                target_path: &c.org_path,
                detail: serde_json::json!({"change": id, "name": c.subject_name, "note": note}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Set how often the nodes report (the national administrator, or the command line).
    pub async fn set_cadence(&self, caller: Caller<'_>, cadence: Cadence) -> ServiceResult<()> {
        caller.require(Action::ManageUsers, None)?;
        if let Caller::User(a) = caller
            && a.org_path.depth() != 0
        {
            return Err(ServiceError::Forbidden);
        }
        let mut tx = self.db.begin().await?;
        changes::set_setting(&mut tx, CADENCE_KEY, cadence.code()).await?;
        let root = orgs::root(&mut tx).await?.ok_or(ServiceError::NotFound)?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "changeset.cadence",
                target_kind: "setting",
                target_id: CADENCE_KEY.to_owned(),
                target_path: &root.path,
                detail: serde_json::json!({"cadence": cadence.code()}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

fn reason_ok(reason: &str) -> ServiceResult<&str> {
    let reason = reason.trim();
    if reason.chars().count() < 4 || reason.chars().count() > 500 {
        return Err(ServiceError::invalid(
            "退回原因",
            "请写明退回原因和需要更正的内容（4至500字）",
        ));
    }
    Ok(reason)
}
