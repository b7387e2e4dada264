//! Four-eyes (双人复核) for risky actions: one account asks with a reason, a second account of
//! the required role in scope approves (the action is then carried out, as the approver, in
//! the same transaction) or refuses; the requester cannot decide their own request, and a
//! request whose target changed in the meantime is refused as stale.

use serde::{Deserialize, Serialize};

use super::{Caller, Refusal, ServiceError, ServiceResult};
use crate::authz::{Action, Actor};
use crate::domain::{CaseId, OrgId, Role, TreePath, UserId};
use crate::store::approvals::{self, Approval, NewApproval};
use crate::store::audit::{self, By, NewEvent};
use crate::store::{cases, imports, now, orgs, users};

/// How a risky action is reached: tried directly (refused where a second person is needed)
/// or carried out by an approved request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Direct,
    Approved,
}

/// Refuse an action done alone where it needs a second person; the command-line operator
/// (who holds the server) is not asked.
pub(crate) fn gate(caller: Caller<'_>, via: Via, needed: bool) -> ServiceResult<()> {
    if needed && via == Via::Direct && matches!(caller, Caller::User(_)) {
        return Err(ServiceError::Conflict(Refusal::NeedsSecondPerson));
    }
    Ok(())
}

/// A risky action and its arguments, as stored with the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Risky {
    /// The national level accepts a province's package (the version the requester saw).
    AcceptPackage { child: i64, version: i64 },
    /// A case of category 4 or 5 is closed.
    CloseCase {
        case: i64,
        outcome: String,
        note: String,
        version: i64,
    },
    /// An import of more than 1,000 rows is undone.
    UndoImport { batch: i64 },
    /// An administrator account is disabled.
    DisableAdmin { user: i64 },
    /// An administrator account is enabled: a new one, or one disabled before.
    EnableAdmin { user: i64 },
    /// The name and/or ID number of a form approved once is corrected (the form's version
    /// at the request; the new ID number sealed with the server's key, and masked).
    CorrectIdentity {
        member: i64,
        version: i64,
        name: Option<String>,
        id_enc: Option<String>,
        id_masked: Option<String>,
    },
}

impl Risky {
    pub fn code(&self) -> &'static str {
        match self {
            Self::AcceptPackage { .. } => "accept_package",
            Self::CloseCase { .. } => "close_case",
            Self::UndoImport { .. } => "undo_import",
            Self::DisableAdmin { .. } => "disable_admin",
            Self::EnableAdmin { .. } => "enable_admin",
            Self::CorrectIdentity { .. } => "correct_identity",
        }
    }

    /// Who may approve: the role, and the action they must hold over the target.
    fn approver(&self) -> (Role, Action) {
        match self {
            Self::AcceptPackage { .. } | Self::CorrectIdentity { .. } => {
                (Role::Reviewer, Action::Review)
            }
            Self::CloseCase { .. } | Self::UndoImport { .. } => {
                (Role::Reviewer, Action::ManageMembers)
            }
            Self::DisableAdmin { .. } | Self::EnableAdmin { .. } => {
                (Role::Admin, Action::ManageUsers)
            }
        }
    }
}

/// The Chinese name of a request's kind.
pub fn kind_label(code: &str) -> &'static str {
    match code {
        "accept_package" => "全国接收省级报送材料",
        "close_case" => "办结第4、5类案件",
        "undo_import" => "撤销超过1000行的导入",
        "disable_admin" => "停用管理员账号",
        "enable_admin" => "启用管理员账号（授予管理员权限）",
        "correct_identity" => "审核通过后更正姓名或公民身份号码",
        _ => "其他",
    }
}

/// The Chinese name of a request's state.
pub fn state_label(code: &str) -> &'static str {
    match code {
        "pending" => "待复核",
        "approved" => "已同意并执行",
        "refused" => "未同意",
        "withdrawn" => "已撤回",
        "stale" => "已失效",
        _ => "",
    }
}

/// What a request is about: the target's kind, id, scope and a sentence for the approver.
struct Target {
    kind: &'static str,
    id: String,
    path: TreePath,
    summary: String,
}

async fn target_of(conn: &mut sqlx::AnyConnection, risky: &Risky) -> ServiceResult<Target> {
    Ok(match risky {
        Risky::AcceptPackage { child, version } => {
            let org = orgs::get(conn, OrgId(*child))
                .await?
                .ok_or(ServiceError::NotFound)?;
            // The decision is the parent's: its scope is the parent's node.
            let parent = match org.parent_id {
                Some(id) => orgs::get(conn, id).await?.ok_or(ServiceError::NotFound)?,
                None => return Err(ServiceError::NotFound),
            };
            Target {
                kind: "org",
                id: child.to_string(),
                summary: format!("接收“{}”报送的登记核查材料（第{version}版）", org.name),
                path: parent.path,
            }
        }
        Risky::CloseCase { case, outcome, .. } => {
            let c = cases::get(conn, CaseId(*case))
                .await?
                .ok_or(ServiceError::NotFound)?;
            let outcome = crate::domain::CaseOutcome::parse(outcome)
                .map_or("", crate::domain::CaseOutcome::label);
            Target {
                kind: "case",
                id: case.to_string(),
                summary: format!(
                    "办结{}的案件（{}），办理结果：{outcome}",
                    c.member_name,
                    c.category.label()
                ),
                path: c.owner_path,
            }
        }
        Risky::UndoImport { batch } => {
            let b = imports::get_batch(conn, *batch)
                .await?
                .ok_or(ServiceError::NotFound)?;
            Target {
                kind: "import_batch",
                id: batch.to_string(),
                summary: format!(
                    "撤销导入“{}”（{} 行，{} 导入）",
                    b.file_name, b.rows_imported, b.created_by_name
                ),
                path: b.org_path,
            }
        }
        Risky::CorrectIdentity {
            member,
            name,
            id_masked,
            ..
        } => {
            let m = crate::store::members::get(conn, crate::domain::MemberId(*member))
                .await?
                .ok_or(ServiceError::NotFound)?;
            let mut parts = Vec::new();
            if let Some(n) = name {
                parts.push(format!("姓名改为“{n}”"));
            }
            if let Some(id) = id_masked {
                parts.push(format!("公民身份号码改为 {id}"));
            }
            Target {
                kind: "member",
                id: member.to_string(),
                summary: format!(
                    "更正{}（{}）的登记表：{}",
                    m.name,
                    m.org_name,
                    parts.join("，")
                ),
                path: m.org_path,
            }
        }
        Risky::DisableAdmin { user } | Risky::EnableAdmin { user } => {
            let u = users::get(conn, UserId(*user))
                .await?
                .ok_or(ServiceError::NotFound)?;
            let verb = if matches!(risky, Risky::DisableAdmin { .. }) {
                "停用"
            } else {
                "启用"
            };
            Target {
                kind: "user",
                id: user.to_string(),
                summary: format!(
                    "{verb}管理员账号 {}（{}，{}）",
                    u.username, u.display_name, u.org_name
                ),
                path: u.org_path,
            }
        }
    })
}

fn reason_of(reason: &str) -> ServiceResult<String> {
    let r = reason.trim();
    if r.chars().count() < 2 {
        return Err(ServiceError::invalid("理由", "请写明申请的理由"));
    }
    if r.chars().count() > 500 {
        return Err(ServiceError::invalid("理由", "不超过500个字"));
    }
    Ok(r.to_owned())
}

/// Store a request inside the caller's transaction (also used where an action itself opens
/// one, as creating an administrator account does); audited.
pub(crate) async fn request_in(
    conn: &mut sqlx::AnyConnection,
    actor: &Actor,
    risky: &Risky,
    reason: &str,
) -> ServiceResult<i64> {
    let reason = reason_of(reason)?;
    let target = target_of(&mut *conn, risky).await?;
    let payload = serde_json::to_string(risky).map_err(|e| ServiceError::Failed(e.to_string()))?;
    let id = approvals::insert(
        &mut *conn,
        &NewApproval {
            kind: risky.code(),
            target_kind: target.kind,
            target_id: &target.id,
            target_path: &target.path,
            summary: &target.summary,
            payload: &payload,
            reason: &reason,
            requested_by: actor.user_id,
            requested_name: &actor.display_name,
            at: now(),
        },
    )
    .await
    .map_err(|e| match e {
        crate::store::StoreError::Duplicate(_) => ServiceError::Conflict(Refusal::AlreadyRequested),
        other => other.into(),
    })?;
    audit::append(
        &mut *conn,
        By::Actor(actor),
        NewEvent {
            action: "approval.request",
            target_kind: target.kind,
            target_id: target.id.clone(),
            target_path: &target.path,
            detail: serde_json::json!({
                "request": id, "kind": risky.code(), "reason": reason, "summary": target.summary,
            }),
        },
    )
    .await?;
    Ok(id)
}

/// The 双人复核 page of one user: what waits for them, and what they asked for.
#[derive(Debug, Clone)]
pub struct Inbox {
    pub to_decide: Vec<Approval>,
    pub mine: Vec<Approval>,
}

super::area!(FourEyesService);

impl FourEyesService<'_> {
    /// Ask for a risky action with a reason. The requester must hold the action's authority
    /// over the target (they could do it but for the second person).
    pub async fn request(&self, actor: &Actor, risky: &Risky, reason: &str) -> ServiceResult<i64> {
        let mut tx = self.db.begin().await?;
        let target = target_of(&mut tx, risky).await?;
        let (_, action) = risky.approver();
        Caller::User(actor).require(action, Some(&target.path))?;
        let id = request_in(&mut tx, actor, risky, reason).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Requests the actor may decide (pending, in their subtree, their role, not their own)
    /// and the actor's own requests.
    pub async fn inbox(&self, actor: &Actor) -> ServiceResult<Inbox> {
        let mut conn = self.db.acquire().await?;
        let pending =
            approvals::pending_in(&mut conn, &crate::authz::Scope::of(actor), 200).await?;
        let to_decide = pending
            .into_iter()
            .filter(|a| a.requested_by != actor.user_id)
            .filter(|a| {
                serde_json::from_str::<Risky>(&a.payload).is_ok_and(|r| {
                    let (role, action) = r.approver();
                    actor.role == role
                        && Caller::User(actor)
                            .require(action, Some(&a.target_path))
                            .is_ok()
                })
            })
            .collect();
        let mine = approvals::of_requester(&mut conn, actor.user_id, 50).await?;
        Ok(Inbox { to_decide, mine })
    }

    /// How many requests wait for the actor's decision (the count in the header).
    pub async fn waiting(&self, actor: &Actor) -> ServiceResult<usize> {
        if !matches!(actor.role, Role::Reviewer | Role::Admin) {
            return Ok(0);
        }
        Ok(self.inbox(actor).await?.to_decide.len())
    }

    /// Load a pending request the actor may decide: not their own, their role, in scope.
    async fn decidable(
        &self,
        conn: &mut sqlx::AnyConnection,
        actor: &Actor,
        id: i64,
    ) -> ServiceResult<(Approval, Risky)> {
        let a = approvals::get(conn, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if !actor.org_path.contains(&a.target_path) {
            return Err(ServiceError::NotFound);
        }
        let risky: Risky = serde_json::from_str(&a.payload)
            .map_err(|e| ServiceError::Failed(format!("申请内容无法读取：{e}")))?;
        if a.state != "pending" {
            return Err(ServiceError::Conflict(Refusal::NotPending));
        }
        if a.requested_by == actor.user_id {
            return Err(ServiceError::Conflict(Refusal::OwnRequest));
        }
        let (role, action) = risky.approver();
        if actor.role != role {
            return Err(ServiceError::Forbidden);
        }
        Caller::User(actor).require(action, Some(&a.target_path))?;
        Ok((a, risky))
    }

    /// Approve: the action is carried out now, as the approver, in the same transaction as
    /// the decision. If the target changed since the request (a newer version, a state that
    /// moved on), nothing is done and the request is marked stale.
    pub async fn approve(&self, actor: &Actor, id: i64, note: &str) -> ServiceResult<()> {
        let note = note.trim().chars().take(500).collect::<String>();
        let mut tx = self.db.begin().await?;
        let (a, risky) = self.decidable(&mut tx, actor, id).await?;
        approvals::decide(
            &mut tx,
            id,
            "approved",
            Some(actor.user_id),
            (&actor.display_name, &note, now()),
        )
        .await
        .map_err(|e| super::on_race(e, "该申请刚刚已被他人处理"))?;
        let caller = Caller::User(actor);
        let done = match &risky {
            Risky::AcceptPackage { child, version } => {
                self.package()
                    .accept_in(&mut tx, caller, OrgId(*child), *version, Via::Approved)
                    .await
            }
            Risky::CloseCase {
                case,
                outcome,
                note,
                version,
            } => {
                self.cases()
                    .close_in(
                        &mut tx,
                        caller,
                        (CaseId(*case), outcome, note, *version),
                        Via::Approved,
                    )
                    .await
            }
            Risky::UndoImport { batch } => self
                .import()
                .undo_in(&mut tx, caller, *batch, Via::Approved)
                .await
                .map(|_| ()),
            Risky::CorrectIdentity {
                member,
                version,
                name,
                id_enc,
                id_masked,
            } => {
                self.registration()
                    .correct_identity_in(
                        &mut tx,
                        caller,
                        crate::domain::MemberId(*member),
                        (
                            *version,
                            name.as_deref(),
                            id_enc.as_deref(),
                            id_masked.as_deref(),
                        ),
                    )
                    .await
            }
            Risky::DisableAdmin { user } | Risky::EnableAdmin { user } => {
                let disable = matches!(risky, Risky::DisableAdmin { .. });
                self.users()
                    .set_disabled_in(&mut tx, caller, UserId(*user), disable, Via::Approved)
                    .await
            }
        };
        match done {
            Ok(()) => {
                self.audit_decision(&mut tx, actor, &a, "approval.approve", &note)
                    .await?;
                tx.commit().await?;
                Ok(())
            }
            // The target moved on: the request lapses (in a transaction of its own, since
            // this one holds the half-done action) and the approver is told why.
            Err(ServiceError::Conflict(why)) => {
                drop(tx);
                let why = why.to_string();
                let mut tx = self.db.begin().await?;
                approvals::decide(
                    &mut tx,
                    id,
                    "stale",
                    Some(actor.user_id),
                    (&actor.display_name, &why, now()),
                )
                .await
                .map_err(|e| super::on_race(e, "该申请刚刚已被他人处理"))?;
                self.audit_decision(&mut tx, actor, &a, "approval.stale", &why)
                    .await?;
                tx.commit().await?;
                Err(ServiceError::Conflict(Refusal::TargetChanged(why)))
            }
            Err(e) => Err(e),
        }
    }

    /// Refuse, with a note saying why.
    pub async fn refuse(&self, actor: &Actor, id: i64, note: &str) -> ServiceResult<()> {
        let note = reason_of(note)
            .map_err(|_| ServiceError::invalid("不同意的理由", "请写明不同意的理由"))?;
        let mut tx = self.db.begin().await?;
        let (a, _) = self.decidable(&mut tx, actor, id).await?;
        approvals::decide(
            &mut tx,
            id,
            "refused",
            Some(actor.user_id),
            (&actor.display_name, &note, now()),
        )
        .await
        .map_err(|e| super::on_race(e, "该申请刚刚已被他人处理"))?;
        self.audit_decision(&mut tx, actor, &a, "approval.refuse", &note)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The requester takes their own pending request back.
    pub async fn withdraw(&self, actor: &Actor, id: i64) -> ServiceResult<()> {
        let mut tx = self.db.begin().await?;
        let a = approvals::get(&mut tx, id)
            .await?
            .filter(|a| a.requested_by == actor.user_id)
            .ok_or(ServiceError::NotFound)?;
        if a.state != "pending" {
            return Err(ServiceError::Conflict(Refusal::NotPending));
        }
        approvals::decide(
            &mut tx,
            id,
            "withdrawn",
            Some(actor.user_id),
            (&actor.display_name, "", now()),
        )
        .await
        .map_err(|e| super::on_race(e, "该申请刚刚已被他人处理"))?;
        self.audit_decision(&mut tx, actor, &a, "approval.withdraw", "")
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn audit_decision(
        &self,
        conn: &mut sqlx::AnyConnection,
        actor: &Actor,
        a: &Approval,
        action: &'static str,
        note: &str,
    ) -> ServiceResult<()> {
        audit::append(
            conn,
            By::Actor(actor),
            NewEvent {
                action,
                target_kind: "approval",
                target_id: a.id.to_string(),
                target_path: &a.target_path,
                detail: serde_json::json!({
                    "kind": a.kind, "summary": a.summary,
                    "requested_by": a.requested_name, "note": note,
                }),
            },
        )
        .await?;
        Ok(())
    }
}
