//! 分类处理 cases (notice §三(四)): opened from the survey's 未转入 mark or by hand, handled by
//! the city-level node above the member (the local industry committee or the 司法行政机关党组织
//! standing in), a timeline of steps, an outcome allowed for the category, and for cases 4 and
//! 5 the written report the superior organisation acknowledges before the case may close.

use super::four_eyes::Via;
use super::{Caller, Refusal, ServiceError, ServiceResult, beijing_today};
use crate::authz::{Action, Scope};
use crate::domain::{
    CaseCategory, CaseId, CaseOutcome, CaseState, CaseStep, FieldError, MemberId, NoticeKind,
    OrgId, OrgLevel, ReportState, TreePath,
};
use crate::store::audit::{self, NewEvent};
use crate::store::campaigns::Campaign;
use crate::store::cases::{self, NewCase};
use crate::store::notifications::{self, To};
use crate::store::orgs::{self, Org};
use crate::store::{members, survey};

// The read types this area returns, re-exported: callers (web, cli) name them here, not in
// the store.
pub use crate::store::cases::{Case, CaseCounts, CaseFilter, Report, Step};

/// Longest note of a step, a closing or a return.
const NOTE_CHARS: usize = 500;

/// A case's page.
#[derive(Debug, Clone)]
pub struct CaseView {
    pub case: Case,
    pub steps: Vec<Step>,
    pub report: Option<Report>,
    /// Past its due date and still open.
    pub overdue: bool,
    /// The caller may add steps (the member's organisation or any node above it).
    pub can_step: bool,
    /// The caller may close or reopen it and submit its report (the owner node or above).
    pub can_handle: bool,
    /// The caller may acknowledge or return its report (the owner's direct parent).
    pub can_decide_report: bool,
}

/// A node's case list.
#[derive(Debug, Clone)]
pub struct CaseList {
    pub org: Org,
    pub page: crate::store::orgs::Page<Case>,
    pub counts: CaseCounts,
    pub today: String,
}

fn today() -> String {
    beijing_today().to_string()
}

/// Today plus the campaign's days for the category.
fn due_on(campaign: &Campaign, category: CaseCategory) -> String {
    let days = campaign.case_due_days[category.index()];
    (beijing_today() + time::Duration::days(days)).to_string()
}

fn note_of(note: &str, field: &'static str, required: bool) -> ServiceResult<String> {
    let note = note.trim();
    if required && note.is_empty() {
        return Err(ServiceError::invalid(field, "请填写"));
    }
    if note.chars().count() > NOTE_CHARS {
        return Err(ServiceError::invalid(
            field,
            format!("不超过{NOTE_CHARS}个字"),
        ));
    }
    Ok(note.to_owned())
}

/// The node that handles a member's case: the city-level node on the member's path (the local
/// industry committee or the 司法行政机关党组织 standing in), or the member's own organisation
/// when it sits above city level.
async fn owner_of(conn: &mut sqlx::AnyConnection, org_path: &TreePath) -> ServiceResult<Org> {
    let ids = org_path.ids();
    let id = ids
        .get(2)
        .or(ids.last())
        .copied()
        .ok_or(ServiceError::NotFound)?;
    let org = orgs::get(conn, id).await?.ok_or(ServiceError::NotFound)?;
    if org.level != OrgLevel::City && ids.len() > 2 {
        return Err(ServiceError::NotFound);
    }
    Ok(org)
}

/// The refusal of a change to a closed case, naming how it ended.
fn closed(case: &Case) -> ServiceError {
    ServiceError::Conflict(Refusal::CaseClosed(
        case.outcome.map_or("已办结", CaseOutcome::label),
    ))
}

/// Keep the member's case in step with the survey mark just recorded (in the survey's
/// transaction): a 未转入 mark with a case opens one, or moves an open one to the new
/// category; a closed case refuses a mark that contradicts it.
pub(super) async fn follow_survey(
    conn: &mut sqlx::AnyConnection,
    caller: Caller<'_>,
    campaign: &Campaign,
    member: &members::Member,
    transferred: &str,
    case_code: Option<&str>,
) -> ServiceResult<()> {
    let category = case_code.and_then(CaseCategory::parse);
    let existing = cases::of_member(conn, campaign.id, member.id).await?;
    let name = caller.display_name();
    match (existing, category) {
        (None, Some(category)) if transferred == "not_in" => {
            open_in(conn, caller, campaign, member, category, "survey").await?;
        }
        (Some(c), Some(category)) if c.state == CaseState::Open && c.category != category => {
            cases::set_category(conn, c.id, category, &due_on(campaign, category)).await?;
            cases::add_step(
                conn,
                c.id,
                CaseStep::Other.code(),
                &format!(
                    "摸底核查改为{}（原为{}）",
                    category.label(),
                    c.category.label()
                ),
                caller.user_id(),
                &name,
            )
            .await?;
        }
        (Some(c), _) if c.state == CaseState::Open && transferred == "in" => {
            cases::add_step(
                conn,
                c.id,
                CaseStep::Other.code(),
                "摸底核查改为“已转入”；请核实后以“已转入并登记”办结",
                caller.user_id(),
                &name,
            )
            .await?;
        }
        (Some(c), category)
            if c.state == CaseState::Closed
                && (category != Some(c.category) || transferred != "not_in") =>
        {
            return Err(closed(&c));
        }
        _ => {}
    }
    Ok(())
}

async fn open_in(
    conn: &mut sqlx::AnyConnection,
    caller: Caller<'_>,
    campaign: &Campaign,
    member: &members::Member,
    category: CaseCategory,
    source: &str,
) -> ServiceResult<CaseId> {
    let owner = owner_of(conn, &member.org_path).await?;
    let due = due_on(campaign, category);
    let id = cases::insert(
        conn,
        &NewCase {
            campaign_id: campaign.id,
            member_id: member.id,
            org_id: member.org_id,
            org_path: &member.org_path,
            owner_org_id: owner.id,
            owner_path: &owner.path,
            category,
            due_on: &due,
            source,
            by: caller.user_id(),
            by_name: &caller.display_name(),
        },
    )
    .await?;
    audit_case(
        conn,
        caller,
        "case.open",
        id,
        &member.org_path,
        serde_json::json!({
                "member": member.id.0,
                "category": category.code(),
                "owner": owner.id.0,
            "source": source,
        }),
    )
    .await?;
    Ok(id)
}

/// The audit event of an act on a case, in the act's transaction.
async fn audit_case(
    conn: &mut sqlx::AnyConnection,
    caller: Caller<'_>,
    action: &'static str,
    id: CaseId,
    path: &TreePath,
    detail: serde_json::Value,
) -> ServiceResult<()> {
    audit::append(
        conn,
        caller.by(),
        NewEvent {
            action,
            target_kind: "case",
            target_id: id.to_string(),
            target_path: path,
            detail,
        },
    )
    .await?;
    Ok(())
}

super::area!(CasesService);

impl CasesService<'_> {
    /// The case, if the caller may read its member.
    async fn readable(
        &self,
        conn: &mut sqlx::AnyConnection,
        caller: Caller<'_>,
        id: CaseId,
    ) -> ServiceResult<Case> {
        caller.require(Action::ReadDirectory, None)?;
        let case = cases::get(conn, id).await?.ok_or(ServiceError::NotFound)?;
        caller.require(Action::ReadMember(case.member_id), Some(&case.org_path))?;
        Ok(case)
    }

    pub async fn view(&self, caller: Caller<'_>, id: CaseId) -> ServiceResult<CaseView> {
        let mut conn = self.db.acquire().await?;
        let case = self.readable(&mut conn, caller, id).await?;
        let steps = cases::steps(&mut conn, id).await?;
        let report = cases::report_of(&mut conn, id).await?;
        let can_decide_report = report.as_ref().is_some_and(|r| {
            r.state == ReportState::Submitted
                && match caller {
                    Caller::Operator => true,
                    Caller::User(a) => {
                        a.org_id == r.to_org_id && caller.require(Action::Review, None).is_ok()
                    }
                }
        });
        drop(conn);
        super::reads::record(
            self,
            caller,
            super::reads::Read {
                action: "read.case",
                target_kind: "case",
                target_id: id.to_string(),
                target_path: &case.org_path,
                subjects: vec![case.member_id.0],
                detail: serde_json::json!({}),
            },
        )
        .await?;
        Ok(CaseView {
            overdue: case.overdue_on(&today()),
            can_step: caller
                .require(Action::ManageMembers, Some(&case.org_path))
                .is_ok(),
            can_handle: caller
                .require(Action::ManageMembers, Some(&case.owner_path))
                .is_ok(),
            can_decide_report,
            case,
            steps,
            report,
        })
    }

    /// The cases of members within the node's subtree, with the counts per category.
    pub async fn list(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
        f: &CaseFilter,
    ) -> ServiceResult<CaseList> {
        let mut conn = self.db.acquire().await?;
        let org = super::readable_org(&mut conn, caller, org_id).await?;
        let campaign = super::current_campaign_of(&mut conn).await?;
        let today = today();
        let f = CaseFilter {
            page: f.page.max(1),
            per_page: f.per_page.clamp(1, 200),
            ..f.clone()
        };
        let scope = Scope::Subtree(org.path.clone());
        let page = cases::list(&mut conn, campaign.id, &scope, &f, &today).await?;
        let counts = cases::counts(&mut conn, campaign.id, &scope, &today).await?;
        Ok(CaseList {
            org,
            page,
            counts,
            today,
        })
    }

    /// The member's case in the current campaign, if any.
    pub async fn of_member(
        &self,
        caller: Caller<'_>,
        member_id: MemberId,
    ) -> ServiceResult<Option<Case>> {
        let mut conn = self.db.acquire().await?;
        let member = members::get(&mut conn, member_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ReadMember(member_id), Some(&member.org_path))?;
        let Some(campaign) = crate::store::campaigns::latest(&mut conn).await? else {
            return Ok(None);
        };
        Ok(cases::of_member(&mut conn, campaign.id, member_id).await?)
    }

    /// Open a case by hand from a member's page: the survey mark becomes 未转入 with this
    /// category and reason (its four checks kept), and the case opens.
    pub async fn open(
        &self,
        caller: Caller<'_>,
        member_id: MemberId,
        category: &str,
        reason: &str,
    ) -> ServiceResult<CaseId> {
        caller.require(Action::ManageMembers, None)?;
        let category = CaseCategory::parse(category)
            .ok_or_else(|| ServiceError::invalid("问题类别", "请选择第1–5类"))?;
        let reason = note_of(reason, "未转入原因", true)?;
        if reason.chars().count() > 200 {
            return Err(ServiceError::invalid("未转入原因", "不超过200个字"));
        }
        let mut tx = self.db.begin().await?;
        let member = members::get(&mut tx, member_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ManageMembers, Some(&member.org_path))?;
        let campaign = super::open_campaign_of(&mut tx).await?;
        if let Some(c) = cases::of_member(&mut tx, campaign.id, member_id).await? {
            return Err(ServiceError::Conflict(Refusal::CaseExists(c.id.0)));
        }
        super::package::ensure_unlocked(&mut tx, campaign.id, member.org_id).await?;
        let mut mark = survey::check_of(&mut tx, campaign.id, member_id)
            .await?
            .unwrap_or_default();
        mark.transferred = "not_in".into();
        mark.case_code = Some(category.code().into());
        mark.reason = Some(reason);
        survey::upsert(
            &mut tx,
            campaign.id,
            member_id,
            &member.org_path,
            &mark,
            caller.user_id(),
        )
        .await?;
        let id = open_in(&mut tx, caller, &campaign, &member, category, "hand").await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Record a step of the timeline.
    pub async fn add_step(
        &self,
        caller: Caller<'_>,
        id: CaseId,
        kind: &str,
        note: &str,
    ) -> ServiceResult<()> {
        let kind =
            CaseStep::parse(kind).ok_or_else(|| ServiceError::invalid("办理事项", "请选择"))?;
        let note = note_of(note, "办理情况", true)?;
        let mut tx = self.db.begin().await?;
        let case = self.readable(&mut tx, caller, id).await?;
        caller.require(Action::ManageMembers, Some(&case.org_path))?;
        super::open_campaign_of(&mut tx).await?;
        if case.state == CaseState::Closed {
            return Err(closed(&case));
        }
        cases::add_step(
            &mut tx,
            id,
            kind.code(),
            &note,
            caller.user_id(),
            &caller.display_name(),
        )
        .await?;
        audit_case(
            &mut tx,
            caller,
            "case.step",
            id,
            &case.org_path,
            serde_json::json!({ "kind": kind.code() }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Close the case with an outcome its category allows (`version`: the one the page
    /// showed). Cases 4 and 5 close only once their report is acknowledged.
    /// Closing a case of category 4 or 5 needs a second person (双人复核).
    pub async fn close(
        &self,
        caller: Caller<'_>,
        id: CaseId,
        outcome: &str,
        note: &str,
        version: i64,
    ) -> ServiceResult<()> {
        let mut tx = self.db.begin().await?;
        self.close_in(&mut tx, caller, (id, outcome, note, version), Via::Direct)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn close_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        caller: Caller<'_>,
        (id, outcome, note, version): (CaseId, &str, &str, i64),
        via: Via,
    ) -> ServiceResult<()> {
        let outcome = CaseOutcome::parse(outcome)
            .ok_or_else(|| ServiceError::invalid("办理结果", "请选择"))?;
        let note = note_of(note, "办结说明", false)?;
        let case = self.readable(&mut *tx, caller, id).await?;
        caller.require(Action::ManageMembers, Some(&case.owner_path))?;
        super::open_campaign_of(&mut *tx).await?;
        if !case.category.outcomes().contains(&outcome) {
            let allowed: Vec<&str> = case.category.outcomes().iter().map(|o| o.label()).collect();
            return Err(ServiceError::Invalid(vec![FieldError::new(
                "办理结果",
                format!(
                    "{}只能以“{}”办结",
                    case.category.label(),
                    allowed.join("”或“")
                ),
            )]));
        }
        if case.category.needs_report() {
            let report = cases::report_of(&mut *tx, id).await?;
            if report.as_ref().map(|r| r.state) != Some(ReportState::Acknowledged) {
                return Err(ServiceError::Conflict(Refusal::ReportNotAcknowledged));
            }
        }
        super::four_eyes::gate(caller, via, case.category.needs_report())?;
        let name = caller.display_name();
        if !note.is_empty() {
            cases::add_step(
                &mut *tx,
                id,
                CaseStep::Other.code(),
                &format!("办结：{note}"),
                caller.user_id(),
                &name,
            )
            .await?;
        }
        let version = if note.is_empty() {
            version
        } else {
            version + 1
        };
        cases::close(&mut *tx, id, outcome, version, caller.user_id(), &name)
            .await
            .map_err(|e| super::on_race(e, "该案件在您打开页面之后已有变化，请刷新页面后再办结"))?;
        audit_case(
            &mut *tx,
            caller,
            "case.close",
            id,
            &case.org_path,
            serde_json::json!({ "outcome": outcome.code() }),
        )
        .await?;
        Ok(())
    }

    /// Open a closed case again (a wrong outcome); the survey mark stays as it is.
    pub async fn reopen(&self, caller: Caller<'_>, id: CaseId, version: i64) -> ServiceResult<()> {
        let mut tx = self.db.begin().await?;
        let case = self.readable(&mut tx, caller, id).await?;
        caller.require(Action::ManageMembers, Some(&case.owner_path))?;
        super::open_campaign_of(&mut tx).await?;
        cases::reopen(&mut tx, id, version)
            .await
            .map_err(|e| super::on_race(e, "该案件在您打开页面之后已有变化，请刷新页面后再操作"))?;
        audit_case(
            &mut tx,
            caller,
            "case.reopen",
            id,
            &case.org_path,
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Submit the written report of a case 4 or 5 to the owner's parent (again after a
    /// return): the member, the facts, the steps, the intended outcome and who is responsible.
    pub async fn submit_report(
        &self,
        caller: Caller<'_>,
        id: CaseId,
        input: &ReportInput,
    ) -> ServiceResult<()> {
        let facts = note_of(&input.facts, "基本情况", true)?;
        let mut errors = Vec::new();
        if input.secretary_name.trim().is_empty() {
            errors.push(FieldError::new("书记（第一责任人）", "请填写"));
        }
        if input.organiser_name.trim().is_empty() {
            errors.push(FieldError::new("组织委员（直接责任人）", "请填写"));
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let mut tx = self.db.begin().await?;
        let case = self.readable(&mut tx, caller, id).await?;
        caller.require(Action::ManageMembers, Some(&case.owner_path))?;
        super::open_campaign_of(&mut tx).await?;
        if !case.category.needs_report() {
            return Err(ServiceError::Conflict(Refusal::NoReportNeeded));
        }
        if case.state == CaseState::Closed {
            return Err(closed(&case));
        }
        if let Some(r) = cases::report_of(&mut tx, id).await?
            && r.state != ReportState::Returned
        {
            return Err(ServiceError::Conflict(Refusal::ReportSubmitted(r.state)));
        }
        let owner = orgs::get(&mut tx, case.owner_org_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let to = owner
            .parent_id
            .ok_or(ServiceError::Conflict(Refusal::TopOfTree))?;
        let steps = cases::steps(&mut tx, id).await?;
        let outcome = case.category.outcomes()[0];
        let body = serde_json::json!({
            "member": case.member_name,
            "org": case.org_name,
            "owner": case.owner_name,
            "category": case.category.label(),
            "facts": facts,
            "steps": steps.iter().map(|s| serde_json::json!({
                "kind": CaseStep::parse(&s.kind).map_or("其他", CaseStep::label),
                "note": s.note,
                "at": super::beijing_time(s.at),
                "by": s.by_name,
            })).collect::<Vec<_>>(),
            "outcome": outcome.label(),
            "secretary": input.secretary_name.trim(),
            "organiser": input.organiser_name.trim(),
        });
        let name = caller.display_name();
        cases::submit_report(&mut tx, id, to, &body.to_string(), caller.user_id(), &name).await?;
        notifications::send(
            &mut tx,
            To::Staff(to),
            NoticeKind::CaseReport,
            &format!(
                "{}报送了{}的分类处理书面报告，请阅知",
                case.owner_name, case.member_name
            ),
            &format!("/cases/{}", id.0),
            None,
        )
        .await?;
        audit_case(
            &mut tx,
            caller,
            "case.report",
            id,
            &case.org_path,
            serde_json::json!({ "to": to.0 }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The superior organisation acknowledges (已阅) or returns (with a reason) a report
    /// submitted to it (`version`: the one the page showed).
    pub async fn decide_report(
        &self,
        caller: Caller<'_>,
        id: CaseId,
        acknowledge: bool,
        reason: &str,
        version: i64,
    ) -> ServiceResult<()> {
        let reason = note_of(reason, "退回原因", !acknowledge)?;
        caller.require(Action::Review, None)?;
        let mut tx = self.db.begin().await?;
        let case = self.readable(&mut tx, caller, id).await?;
        super::open_campaign_of(&mut tx).await?;
        let report = cases::report_of(&mut tx, id)
            .await?
            .ok_or(ServiceError::Conflict(Refusal::NoReport))?;
        if let Caller::User(a) = caller
            && a.org_id != report.to_org_id
        {
            return Err(ServiceError::Conflict(Refusal::NotDirectParent));
        }
        let state = if acknowledge {
            ReportState::Acknowledged
        } else {
            ReportState::Returned
        };
        let name = caller.display_name();
        cases::decide_report(
            &mut tx,
            id,
            state,
            (!acknowledge).then_some(reason.as_str()),
            version,
            caller.user_id(),
            &name,
        )
        .await
        .map_err(|e| super::on_race(e, "该报告在您打开页面之后已有变化，请刷新页面后再操作"))?;
        notifications::send(
            &mut tx,
            To::Staff(case.owner_org_id),
            NoticeKind::CaseReport,
            &format!(
                "{}的分类处理书面报告{}",
                case.member_name,
                if acknowledge {
                    "上级已阅"
                } else {
                    "被上级退回"
                }
            ),
            &format!("/cases/{}", id.0),
            None,
        )
        .await?;
        audit_case(
            &mut tx,
            caller,
            if acknowledge {
                "case.report.acknowledge"
            } else {
                "case.report.return"
            },
            id,
            &case.org_path,
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The case and its written report as submitted (with the report's content), for the
    /// caller who may read the case.
    async fn submitted_report(
        &self,
        caller: Caller<'_>,
        id: CaseId,
    ) -> ServiceResult<(Case, Report, serde_json::Value)> {
        let mut conn = self.db.acquire().await?;
        let case = self.readable(&mut conn, caller, id).await?;
        let report = cases::report_of(&mut conn, id)
            .await?
            .ok_or(ServiceError::Conflict(Refusal::NoReport))?;
        let body = serde_json::from_str(&report.body)
            .map_err(|_| ServiceError::Failed("书面报告内容无法读取".into()))?;
        Ok((case, report, body))
    }

    /// The case's written report as submitted, as a printable A4 .xlsx (file name, bytes):
    /// for the owner's subtree and the superior organisation it went to. Audited.
    pub async fn report_xlsx(
        &self,
        caller: Caller<'_>,
        id: CaseId,
    ) -> ServiceResult<(String, Vec<u8>)> {
        let (case, report, body) = self.submitted_report(caller, id).await?;
        let mark = super::watermark(caller, &case.owner_name, None);
        let bytes = report_workbook(&body, &report, &mark)
            .map_err(|e| ServiceError::Failed(format!("无法生成 Excel 文件：{e}")))?;
        self.audit_export(
            caller,
            NewEvent {
                action: "export.case_report",
                target_kind: "case",
                target_id: id.to_string(),
                target_path: &case.org_path,
                detail: serde_json::json!({}),
            },
            &[case.member_id.0],
            &mark,
        )
        .await?;
        Ok((format!("分类处理书面报告-{}.xlsx", case.member_name), bytes))
    }

    /// The same report as a Word document (file name, bytes), to edit, stamp and print.
    /// Audited.
    pub async fn report_docx(
        &self,
        caller: Caller<'_>,
        id: CaseId,
    ) -> ServiceResult<(String, Vec<u8>)> {
        let (case, report, body) = self.submitted_report(caller, id).await?;
        let mark = super::watermark(caller, &case.owner_name, None);
        let bytes = crate::docx::document(
            &report_title(&body),
            &report_items(&body, &report),
            &mark.line(),
        )
        .map_err(|e| ServiceError::Failed(format!("无法生成 Word 文件：{e}")))?;
        self.audit_export(
            caller,
            NewEvent {
                action: "export.case_report",
                target_kind: "case",
                target_id: id.to_string(),
                target_path: &case.org_path,
                detail: serde_json::json!({ "format": "docx" }),
            },
            &[case.member_id.0],
            &mark,
        )
        .await?;
        Ok((format!("分类处理书面报告-{}.docx", case.member_name), bytes))
    }

    /// Tell the owner node and its parent, once, of each open case past its due date.
    pub async fn sweep_overdue(&self) -> ServiceResult<u64> {
        let mut tx = self.db.begin().await?;
        let due = cases::overdue_untold(&mut tx, &today()).await?;
        let mut told = 0;
        for c in &due {
            let title = format!(
                "{}的分类处理（{}）已超过办理期限（{}）",
                c.member_name,
                c.category.label(),
                c.due_on
            );
            let link = format!("/cases/{}", c.id.0);
            told += notifications::send(
                &mut tx,
                To::Staff(c.owner_org_id),
                NoticeKind::CaseOverdue,
                &title,
                &link,
                None,
            )
            .await?;
            let ids = c.owner_path.ids();
            if ids.len() >= 2 {
                let parent_id = ids[ids.len() - 2];
                told += notifications::send(
                    &mut tx,
                    To::Staff(parent_id),
                    NoticeKind::CaseOverdue,
                    &title,
                    &link,
                    None,
                )
                .await?;
            }
            cases::mark_overdue_told(&mut tx, c.id).await?;
        }
        tx.commit().await?;
        Ok(told)
    }
}

/// What the owner types into a written report.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    /// 基本情况: what happened and what was done.
    pub facts: String,
    pub secretary_name: String,
    pub organiser_name: String,
}

/// The report on one A4 page: title, then each item as label and text.
fn report_workbook(
    b: &serde_json::Value,
    report: &Report,
    mark: &crate::watermark::Watermark,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("书面报告")?;
    ws.set_paper_size(9);
    ws.set_column_width(0, 18)?;
    ws.set_column_width(1, 70)?;
    let title = Format::new()
        .set_bold()
        .set_font_size(16)
        .set_align(FormatAlign::Center);
    let label = Format::new()
        .set_bold()
        .set_border(FormatBorder::Thin)
        .set_text_wrap();
    let cell = Format::new().set_border(FormatBorder::Thin).set_text_wrap();
    ws.merge_range(0, 0, 0, 1, &report_title(b), &title)?;
    let rows = report_items(b, report);
    for (i, (l, v)) in rows.iter().enumerate() {
        let r = i as u32 + 2;
        ws.write_string_with_format(r, 0, *l, &label)?;
        ws.write_string_with_format(r, 1, v, &cell)?;
    }
    mark.apply(&mut wb);
    wb.save_to_buffer()
}

/// The report's title, naming the member.
fn report_title(b: &serde_json::Value) -> String {
    format!(
        "关于{}同志分类处理情况的报告",
        b["member"].as_str().unwrap_or_default()
    )
}

/// The report's items in order, label and text: the one content of the .xlsx and the .docx.
fn report_items(b: &serde_json::Value, report: &Report) -> Vec<(&'static str, String)> {
    let text = |k: &str| b[k].as_str().unwrap_or_default().to_owned();
    let steps: Vec<String> = b["steps"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    format!(
                        "{} {}：{}（{}）",
                        s["at"].as_str().unwrap_or_default(),
                        s["kind"].as_str().unwrap_or_default(),
                        s["note"].as_str().unwrap_or_default(),
                        s["by"].as_str().unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    vec![
        ("报告单位", text("owner")),
        ("党员姓名", text("member")),
        ("所在党组织", text("org")),
        ("问题类别", text("category")),
        ("基本情况", text("facts")),
        ("办理过程", steps.join("\n")),
        ("拟办理结果", text("outcome")),
        ("第一责任人（书记）", text("secretary")),
        ("直接责任人（组织委员）", text("organiser")),
        (
            "报送",
            format!(
                "{} {}",
                super::beijing_time(report.submitted_at),
                report.submitter_name
            ),
        ),
        ("状态", report.state.label().to_owned()),
    ]
}
