//! 组织关系转接 (转出/转入): the sending organisation starts a member's transfer to a firm found
//! anywhere in the country, the receiving organisation accepts or refuses it, the sender may
//! withdraw it while it waits; the lowest common ancestor and everything above see it.

use super::changes;
use super::{Caller, ServiceError, ServiceResult, refusal::Refusal};
use crate::authz::Action;
use crate::domain::change::ChangeKind;
use crate::domain::{FieldError, FirmId, MemberId, NoticeKind, OrgId, TreePath};
use crate::store::audit::{self, NewEvent};
use crate::store::notifications::{self, To};
use crate::store::roster::{self, RecordKind};
use crate::store::transfers::{self, NewTransfer, TransferState};

pub use crate::store::firms::FoundFirm;
pub use crate::store::transfers::{Direction, Transfer};

super::area!(TransferService);

/// What ending a member's registration records: why, where the 组织关系 went (required for
/// a transfer out of the lawyer industry), from when, and a note.
#[derive(Debug, Clone, Default)]
pub struct StopInput {
    pub reason: String,
    pub destination: String,
    pub effective_on: String,
    pub note: String,
}

/// What the sender types: the receiving firm (picked from a search), why, and from when.
#[derive(Debug, Clone, Default)]
pub struct TransferInput {
    pub to_firm: Option<FirmId>,
    pub reason: String,
    pub effective_on: String,
}

/// The deepest node both paths lie under.
pub fn common_ancestor(a: &TreePath, b: &TreePath) -> TreePath {
    let (x, y) = (a.ids(), b.ids());
    let mut path = TreePath::root(x[0]);
    for (i, (p, q)) in x.iter().zip(y.iter()).enumerate() {
        if p != q {
            break;
        }
        if i > 0 {
            path = path.child(*p);
        }
    }
    path
}

async fn open_case(conn: &mut sqlx::AnyConnection, member: MemberId) -> ServiceResult<bool> {
    let Some(c) = crate::store::campaigns::latest(conn).await? else {
        return Ok(false);
    };
    Ok(crate::store::cases::of_member(conn, c.id, member)
        .await?
        .is_some_and(|k| k.state == crate::domain::case::CaseState::Open))
}

impl TransferService<'_> {
    /// 停止登记: end a member's registration (a transfer out of the lawyer industry records
    /// the receiving organisation). The member leaves the roster from the day given (their
    /// version stays in the history), their account is disabled, no campaign registers them,
    /// and the change is reported like any other.
    pub async fn stop(
        &self,
        caller: Caller<'_>,
        member_id: MemberId,
        input: &StopInput,
    ) -> ServiceResult<()> {
        use crate::domain::change::StopReason;
        caller.require(Action::ManageMembers, None)?;
        let mut errors = Vec::new();
        let reason = StopReason::from_code(input.reason.trim());
        if reason.is_none() {
            errors.push(FieldError::new("reason", "请选择停止登记的原因"));
        }
        let destination = input.destination.trim();
        if reason == Some(StopReason::TransferredOut) && destination.chars().count() < 2 {
            errors.push(FieldError::new(
                "destination",
                "组织关系转出律师行业的，请填写接收的党组织名称",
            ));
        }
        if destination.chars().count() > 100 {
            errors.push(FieldError::new("destination", "去向请在100字以内"));
        }
        let note = input.note.trim();
        if reason == Some(StopReason::Other) && note.chars().count() < 2 {
            errors.push(FieldError::new("note", "原因为“其他”时请写明情况"));
        }
        if note.chars().count() > 500 {
            errors.push(FieldError::new("note", "说明请在500字以内"));
        }
        let (Some(reason), true) = (reason, errors.is_empty()) else {
            return Err(ServiceError::Invalid(errors));
        };
        let mut tx = self.db.begin().await?;
        let member = crate::store::members::get(&mut tx, member_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ManageMembers, Some(&member.org_path))?;
        if let Some(on) = &member.stopped_on {
            return Err(ServiceError::Conflict(Refusal::MemberStopped(on.clone())));
        }
        if transfers::of_member(&mut tx, member_id)
            .await?
            .iter()
            .any(|t| t.state == TransferState::Pending)
        {
            return Err(ServiceError::Conflict(Refusal::TransferPending));
        }
        if open_case(&mut tx, member_id).await? {
            return Err(ServiceError::Conflict(Refusal::CaseOpen));
        }
        let reported = changes::reported(&mut tx, &[member.org_id]).await?;
        let placed = roster::placed_on(&mut tx, RecordKind::Member, member_id.0).await?;
        let on = super::upkeep::effective_on(&input.effective_on, placed.as_deref())?;
        let mut history = None;
        if let Some(mut v) = roster::member_version(&mut tx, member_id, &on, "stop").await? {
            v.detail["stop_reason"] = reason.label().into();
            v.detail["destination"] = destination.into();
            history = Some(roster::keep(&mut tx, &v).await?);
        }
        crate::store::members::stop(
            &mut tx,
            member_id,
            &on,
            reason.code(),
            Some(destination).filter(|d| !d.is_empty()),
        )
        .await
        .map_err(|e| super::on_race(e, "该党员刚刚已被停止登记，请刷新页面"))?;
        crate::store::users::set_member_disabled(&mut tx, member_id, true).await?;
        if reported {
            let mut fields = serde_json::Map::new();
            fields.insert("登记状态".into(), serde_json::json!(["在册", "停止登记"]));
            fields.insert("原因".into(), serde_json::json!(["", reason.label()]));
            if !destination.is_empty() {
                fields.insert("去向".into(), serde_json::json!(["", destination]));
            }
            changes::record(
                &mut tx,
                caller,
                (member.org_id, &member.org_path),
                changes::Record {
                    kind: ChangeKind::Stop,
                    subject: RecordKind::Member,
                    subject_id: member_id.0,
                    subject_name: &member.name,
                    fields,
                    history_id: history,
                    note,
                    effective_on: &on,
                },
            )
            .await?;
        }
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "member.stop",
                target_kind: "member",
                target_id: member_id.to_string(),
                target_path: &member.org_path,
                detail: serde_json::json!({
                    "name": member.name, "reason": reason.label(), "destination": destination,
                    "effective_on": on, "note": note,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A member whose registration the caller may end (for the form): refused before the
    /// member is read when the role may not.
    pub async fn stoppable(
        &self,
        caller: Caller<'_>,
        member_id: MemberId,
    ) -> ServiceResult<crate::store::members::Member> {
        caller.require(Action::ManageMembers, None)?;
        let mut conn = self.db.acquire().await?;
        let member = crate::store::members::get(&mut conn, member_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ManageMembers, Some(&member.org_path))?;
        if let Some(on) = &member.stopped_on {
            return Err(ServiceError::Conflict(Refusal::MemberStopped(on.clone())));
        }
        Ok(member)
    }

    /// 恢复登记: put a member whose registration ended back on the roster (a mistake undone,
    /// or the member back in the profession), from the day given.
    pub async fn resume(
        &self,
        caller: Caller<'_>,
        member_id: MemberId,
        effective_on: &str,
        note: &str,
    ) -> ServiceResult<()> {
        let note = note.trim();
        if note.chars().count() < 2 || note.chars().count() > 500 {
            return Err(ServiceError::invalid(
                "note",
                "请写明恢复登记的原因（2至500字）",
            ));
        }
        caller.require(Action::ManageMembers, None)?;
        let mut tx = self.db.begin().await?;
        let member = crate::store::members::get(&mut tx, member_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ManageMembers, Some(&member.org_path))?;
        let Some(stopped) = member.stopped_on.clone() else {
            return Err(ServiceError::Conflict(Refusal::MemberNotStopped));
        };
        let reported = changes::reported(&mut tx, &[member.org_id]).await?;
        let on = super::upkeep::effective_on(effective_on, Some(&stopped))?;
        crate::store::members::resume(&mut tx, member_id, &on)
            .await
            .map_err(|e| super::on_race(e, "该党员刚刚已恢复登记，请刷新页面"))?;
        crate::store::users::set_member_disabled(&mut tx, member_id, false).await?;
        if reported {
            let mut fields = serde_json::Map::new();
            fields.insert("登记状态".into(), serde_json::json!(["停止登记", "在册"]));
            changes::record(
                &mut tx,
                caller,
                (member.org_id, &member.org_path),
                changes::Record {
                    kind: ChangeKind::Add,
                    subject: RecordKind::Member,
                    subject_id: member_id.0,
                    subject_name: &member.name,
                    fields,
                    history_id: None,
                    note,
                    effective_on: &on,
                },
            )
            .await?;
        }
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "member.resume",
                target_kind: "member",
                target_id: member_id.to_string(),
                target_path: &member.org_path,
                detail: serde_json::json!({"name": member.name, "effective_on": on, "note": note}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Firms anywhere in the country whose credit code is `query` or whose name contains it:
    /// only the firm's name and the organisation that would receive (nothing else of it).
    pub async fn find_receivers(
        &self,
        caller: Caller<'_>,
        query: &str,
    ) -> ServiceResult<Vec<FoundFirm>> {
        caller.require(Action::ManageMembers, None)?;
        let q = query.trim();
        if q.chars().count() < 2 {
            return Ok(Vec::new());
        }
        let mut conn = self.db.acquire().await?;
        Ok(crate::store::firms::find_nationwide(&mut conn, q, 20).await?)
    }

    /// Start a member's transfer to another firm (and its organisation).
    pub async fn start(
        &self,
        caller: Caller<'_>,
        member_id: MemberId,
        input: &TransferInput,
    ) -> ServiceResult<i64> {
        caller.require(Action::ManageMembers, None)?;
        let mut errors = Vec::new();
        if input.to_firm.is_none() {
            errors.push(FieldError::new("to_firm", "请先查找并选择转入的律师事务所"));
        }
        let reason = input.reason.trim().to_owned();
        if reason.is_empty() {
            errors.push(FieldError::new(
                "reason",
                "请填写转接原因，例如“调入某某律师事务所执业”",
            ));
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let Some(to_firm) = input.to_firm else {
            return Err(ServiceError::Invalid(Vec::new()));
        };
        let mut tx = self.db.begin().await?;
        let member = crate::store::members::get(&mut tx, member_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ManageMembers, Some(&member.org_path))?;
        if let Some(on) = &member.stopped_on {
            return Err(ServiceError::Conflict(Refusal::MemberStopped(on.clone())));
        }
        let firm = crate::store::firms::get(&mut tx, to_firm)
            .await?
            .ok_or_else(|| {
                ServiceError::Invalid(vec![FieldError::new("to_firm", "未找到该律师事务所")])
            })?;
        let to_org = firm.org_id.unwrap_or(firm.city_org_id);
        if to_firm == member.firm_id && to_org == member.org_id {
            return Err(ServiceError::Conflict(Refusal::TransferToSelf));
        }
        if open_case(&mut tx, member_id).await? {
            return Err(ServiceError::Conflict(Refusal::CaseOpen));
        }
        let placed = roster::placed_on(&mut tx, RecordKind::Member, member_id.0).await?;
        let on = super::upkeep::effective_on(&input.effective_on, placed.as_deref())?;
        let from_firm = crate::store::firms::get(&mut tx, member.firm_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let common = common_ancestor(&member.org_path, &firm.scope_path);
        let new = NewTransfer {
            member_id,
            member_name: member.name.clone(),
            from: (
                member.org_id,
                member.firm_id,
                from_firm.name.clone(),
                member.org_path.clone(),
            ),
            to: (to_org, to_firm, firm.name.clone(), firm.scope_path.clone()),
            common_path: common,
            reason: reason.clone(),
            effective_on: on.clone(),
            started_name: by_name(caller),
        };
        let id = transfers::insert(&mut tx, &new)
            .await?
            .ok_or(ServiceError::Conflict(Refusal::TransferPending))?;
        notifications::send(
            &mut tx,
            To::Staff(to_org),
            NoticeKind::Other,
            &format!("有一名党员的组织关系待转入：{}", member.name),
            &format!("/transfers/{id}"),
            None,
        )
        .await?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "transfer.start",
                target_kind: "member",
                target_id: member_id.to_string(),
                target_path: &member.org_path,
                detail: serde_json::json!({
                    "transfer": id, "name": member.name, "from": from_firm.name,
                    "to": firm.name, "reason": reason, "effective_on": on,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A transfer the caller may see: sender's side, receiver's side, or above them both.
    pub async fn get(&self, caller: Caller<'_>, id: i64) -> ServiceResult<TransferView> {
        caller.require(Action::ReadDirectory, None)?;
        let mut conn = self.db.acquire().await?;
        let t = transfers::get(&mut conn, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let may = |p: &TreePath| caller.require(Action::ManageMembers, Some(p)).is_ok();
        let sees = [&t.from_path, &t.to_path, &t.common_path]
            .iter()
            .any(|p| caller.require(Action::ReadDirectory, Some(p)).is_ok());
        if !sees {
            return Err(ServiceError::NotFound);
        }
        let pending = t.state == TransferState::Pending;
        Ok(TransferView {
            can_decide: pending && may(&t.to_path),
            can_cancel: pending && may(&t.from_path),
            transfer: t,
        })
    }

    /// The receiving side takes the member in: the member, their forms and counts move.
    pub async fn accept(&self, caller: Caller<'_>, id: i64, note: &str) -> ServiceResult<()> {
        self.decide(caller, id, TransferState::Accepted, note).await
    }

    /// The receiving side refuses (with a reason the sender reads).
    pub async fn refuse(&self, caller: Caller<'_>, id: i64, note: &str) -> ServiceResult<()> {
        if note.trim().is_empty() {
            return Err(ServiceError::Invalid(vec![FieldError::new(
                "note",
                "拒收时请说明原因",
            )]));
        }
        self.decide(caller, id, TransferState::Refused, note).await
    }

    /// The sending side withdraws a transfer still waiting.
    pub async fn cancel(&self, caller: Caller<'_>, id: i64) -> ServiceResult<()> {
        self.decide(caller, id, TransferState::Cancelled, "").await
    }

    async fn decide(
        &self,
        caller: Caller<'_>,
        id: i64,
        state: TransferState,
        note: &str,
    ) -> ServiceResult<()> {
        caller.require(Action::ManageMembers, None)?;
        let mut tx = self.db.begin().await?;
        let t = transfers::get(&mut tx, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let side = if state == TransferState::Cancelled {
            &t.from_path
        } else {
            &t.to_path
        };
        caller.require(Action::ManageMembers, Some(side))?;
        if t.state != TransferState::Pending {
            return Err(ServiceError::Conflict(Refusal::TransferDecided(
                t.state.label(),
            )));
        }
        let member = crate::store::members::get(&mut tx, t.member_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if state == TransferState::Accepted {
            if member.org_id != t.from_org_id || member.firm_id != t.from_firm_id {
                return Err(ServiceError::Conflict(Refusal::TransferStale));
            }
            let firm = crate::store::firms::get(&mut tx, t.to_firm_id).await?;
            let Some(firm) = firm.filter(|f| f.org_id.unwrap_or(f.city_org_id) == t.to_org_id)
            else {
                return Err(ServiceError::Conflict(Refusal::TransferStale));
            };
            if open_case(&mut tx, t.member_id).await? {
                return Err(ServiceError::Conflict(Refusal::CaseOpen));
            }
            let reported = changes::reported(&mut tx, &[t.from_org_id, t.to_org_id]).await?;
            let placed = roster::placed_on(&mut tx, RecordKind::Member, t.member_id.0).await?;
            let on = super::upkeep::not_before(placed.as_deref(), &t.effective_on);
            let mut history = None;
            if let Some(v) = roster::member_version(&mut tx, t.member_id, &on, "transfer").await? {
                history = Some(roster::keep(&mut tx, &v).await?);
            }
            if reported {
                let mut fields = serde_json::Map::new();
                fields.insert(
                    "所在律师事务所".into(),
                    serde_json::json!([t.from_firm_name, t.to_firm_name]),
                );
                fields.insert(
                    "组织关系所在党组织".into(),
                    serde_json::json!([t.from_org_name, t.to_org_name]),
                );
                for (kind, keeper) in [
                    (ChangeKind::Out, (t.from_org_id, &t.from_path)),
                    (ChangeKind::In, (t.to_org_id, &t.to_path)),
                ] {
                    changes::record(
                        &mut tx,
                        caller,
                        keeper,
                        changes::Record {
                            kind,
                            subject: RecordKind::Member,
                            subject_id: t.member_id.0,
                            subject_name: &t.member_name,
                            fields: fields.clone(),
                            history_id: history,
                            note: &t.reason,
                            effective_on: &on,
                        },
                    )
                    .await?;
                }
            }
            transfers::move_member(
                &mut tx,
                t.member_id,
                (t.to_org_id, t.to_firm_id, &firm.scope_path),
                &on,
            )
            .await?;
        }
        if !transfers::decide(&mut tx, id, state, &by_name(caller), note.trim()).await? {
            return Err(ServiceError::Conflict(Refusal::Raced(
                "该转接刚刚已被他人处理，请刷新页面".into(),
            )));
        }
        let (tell, title) = match state {
            TransferState::Accepted => (
                t.from_org_id,
                format!("{} 的组织关系已转入{}", t.member_name, t.to_org_name),
            ),
            TransferState::Refused => (
                t.from_org_id,
                format!("{} 的组织关系转接被拒收：{}", t.member_name, note.trim()),
            ),
            _ => (
                t.to_org_id,
                format!("{} 的组织关系转接已由转出方撤回", t.member_name),
            ),
        };
        notifications::send(
            &mut tx,
            To::Staff(tell),
            NoticeKind::Other,
            &title,
            &format!("/transfers/{id}"),
            None,
        )
        .await?;
        let action = match state {
            TransferState::Accepted => "transfer.accept",
            TransferState::Refused => "transfer.refuse",
            _ => "transfer.cancel",
        };
        let path = if state == TransferState::Accepted {
            t.to_path.clone()
        } else {
            member.org_path.clone()
        };
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action,
                target_kind: "member",
                target_id: t.member_id.to_string(),
                target_path: &path,
                detail: serde_json::json!({
                    "transfer": id, "name": t.member_name, "from": t.from_firm_name,
                    "to": t.to_firm_name, "note": note.trim(),
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Transfers the subtree of `org` (the caller's own node by default) sees, newest first.
    pub async fn list(
        &self,
        caller: Caller<'_>,
        org: Option<OrgId>,
        direction: Direction,
        pending_only: bool,
        page: i64,
    ) -> ServiceResult<(
        crate::store::orgs::Page<Transfer>,
        Option<crate::store::orgs::Org>,
    )> {
        let (scope, node) = self.directory().narrowed_scope(caller, org).await?;
        let crate::authz::Scope::Subtree(path) = scope else {
            return Err(ServiceError::NotFound);
        };
        let mut conn = self.db.acquire().await?;
        let page =
            transfers::list(&mut conn, &path, direction, pending_only, page.max(1), 50).await?;
        Ok((page, node))
    }
}

/// A transfer and what the caller may do with it.
#[derive(Debug, Clone)]
pub struct TransferView {
    pub transfer: Transfer,
    pub can_decide: bool,
    pub can_cancel: bool,
}

fn by_name(caller: Caller<'_>) -> String {
    match caller {
        Caller::User(a) => format!("{}（{}）", a.display_name, a.org_name),
        Caller::Operator => "命令行".into(),
    }
}
