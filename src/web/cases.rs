//! 分类处理 cases: a node's case list, a case's page with its timeline, outcome and written
//! report, and the forms that act on them.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};

use super::path::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::view::{Ctx, Pager};
use super::{AppError, AppState, CurrentUser};
use crate::domain::{CaseCategory, CaseId, CaseOutcome, CaseState, CaseStep, MemberId, OrgId};
use crate::service::cases::{Case, CaseFilter, CaseView, ReportInput};
use crate::service::four_eyes::Risky;
use crate::service::{Caller, ServiceError, beijing_time};

/// A case as a list row or a page heading shows it.
pub struct CaseLine {
    pub id: i64,
    pub member_id: i64,
    pub member: String,
    pub org_id: i64,
    pub org: String,
    pub owner_id: i64,
    pub owner: String,
    pub category: &'static str,
    pub state: &'static str,
    pub overdue: bool,
    pub due_on: String,
    pub outcome: &'static str,
}

fn line(c: &Case, overdue: bool) -> CaseLine {
    CaseLine {
        id: c.id.0,
        member_id: c.member_id.0,
        member: c.member_name.clone(),
        org_id: c.org_id.0,
        org: c.org_name.clone(),
        owner_id: c.owner_org_id.0,
        owner: c.owner_name.clone(),
        category: c.category.label(),
        state: match (c.state, overdue) {
            (CaseState::Closed, _) => "已办结",
            (CaseState::Open, true) => "逾期",
            (CaseState::Open, false) => "进行中",
        },
        overdue,
        due_on: c.due_on.clone(),
        outcome: c.outcome.map_or("", CaseOutcome::label),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "cases.html")]
pub struct CasesPage {
    ctx: Option<Ctx>,
    org_id: i64,
    org_name: String,
    /// Per category: label, open, overdue, closed.
    counts: Vec<(&'static str, i64, i64, i64)>,
    totals: (i64, i64, i64),
    rows: Vec<CaseLine>,
    categories: Vec<(&'static str, &'static str)>,
    category: String,
    state: String,
    /// Narrowed to one owner node or one member organisation (its name, to undo the filter).
    narrowed: Option<String>,
    pager: Pager,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    category: Option<String>,
    state: Option<String>,
    /// The owner node (负责党组织).
    owner: Option<OrgId>,
    /// The members' organisation (a firm organisation, or a city node for its own members).
    org: Option<OrgId>,
    page: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Query(q): Query<ListQuery>,
) -> Result<CasesPage, AppError> {
    let category = q.category.unwrap_or_default();
    let st = q
        .state
        .filter(|s| matches!(s.as_str(), "open" | "overdue" | "closed"))
        .unwrap_or_default();
    let f = CaseFilter {
        category: CaseCategory::parse(&category),
        state: (!st.is_empty()).then(|| st.clone()),
        owner: q.owner,
        org: q.org,
        page: q.page.unwrap_or(1),
        per_page: 50,
    };
    let v = state
        .services
        .cases()
        .list(Caller::User(&user.actor), id, &f)
        .await?;
    let counts = CaseCategory::ALL
        .iter()
        .map(|c| {
            let i = c.index();
            (
                c.label(),
                v.counts.open[i],
                v.counts.overdue[i],
                v.counts.closed[i],
            )
        })
        .collect();
    let pager = Pager::new(
        &format!("/orgs/{}/cases", id.0),
        &[
            ("category", category.clone()),
            ("state", st.clone()),
            (
                "owner",
                q.owner.map(|o| o.0.to_string()).unwrap_or_default(),
            ),
            ("org", q.org.map(|o| o.0.to_string()).unwrap_or_default()),
        ],
        &v.page,
    );
    Ok(CasesPage {
        ctx: Some(Ctx::new(&user, "tree")),
        org_id: v.org.id.0,
        org_name: v.org.name.clone(),
        totals: (
            v.counts.total_open(),
            v.counts.total_overdue(),
            v.counts.total_closed(),
        ),
        counts,
        rows: v
            .page
            .items
            .iter()
            .map(|c| line(c, c.overdue_on(&v.today)))
            .collect(),
        categories: CaseCategory::ALL
            .iter()
            .map(|c| (c.code(), c.label()))
            .collect(),
        narrowed: v.page.items.first().and_then(|c| {
            if q.owner.is_some() {
                Some(c.owner_name.clone())
            } else if q.org.is_some() {
                Some(c.org_name.clone())
            } else {
                None
            }
        }),
        category,
        state: st,
        pager,
    })
}

/// One step as the timeline shows it.
pub struct StepLine {
    kind: &'static str,
    note: String,
    at: String,
    by: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "case.html")]
pub struct CasePage {
    ctx: Option<Ctx>,
    csrf: String,
    c: CaseLine,
    handling: &'static str,
    opened: String,
    opener: String,
    closed: String,
    closer: String,
    source: &'static str,
    version: i64,
    open: bool,
    steps: Vec<StepLine>,
    step_kinds: Vec<(&'static str, &'static str)>,
    outcomes: Vec<(&'static str, &'static str)>,
    needs_report: bool,
    report_state: String,
    report_waiting: bool,
    report_returned: Option<String>,
    report_version: i64,
    report_body: Option<serde_json::Value>,
    can_step: bool,
    can_handle: bool,
    can_decide_report: bool,
    notice: Option<String>,
    errors: Vec<String>,
}

fn case_page(user: &CurrentUser, v: CaseView) -> CasePage {
    let c = &v.case;
    let report = v.report.as_ref();
    CasePage {
        ctx: Some(Ctx::new(user, "tree")),
        csrf: user.csrf.clone(),
        handling: c.category.handling(),
        opened: beijing_time(c.opened_at),
        opener: c.opener_name.clone(),
        closed: c.closed_at.map(beijing_time).unwrap_or_default(),
        closer: c.closer_name.clone().unwrap_or_default(),
        source: if c.source == "survey" {
            "摸底核查"
        } else {
            "经办人开启"
        },
        version: c.version,
        open: c.state == CaseState::Open,
        steps: v
            .steps
            .iter()
            .map(|s| StepLine {
                kind: CaseStep::parse(&s.kind).map_or("其他", CaseStep::label),
                note: s.note.clone(),
                at: beijing_time(s.at),
                by: s.by_name.clone(),
            })
            .collect(),
        step_kinds: CaseStep::ALL
            .iter()
            .map(|s| (s.code(), s.label()))
            .collect(),
        outcomes: c
            .category
            .outcomes()
            .iter()
            .map(|o| (o.code(), o.label()))
            .collect(),
        needs_report: c.category.needs_report(),
        report_state: report.map_or("未报送".to_owned(), |r| r.state.label().to_owned()),
        report_waiting: report.is_some_and(|r| r.state == crate::domain::ReportState::Submitted),
        report_returned: report.and_then(|r| r.return_reason.clone()),
        report_version: report.map_or(0, |r| r.version),
        report_body: report.and_then(|r| serde_json::from_str(&r.body).ok()),
        can_step: v.can_step,
        can_handle: v.can_handle,
        can_decide_report: v.can_decide_report,
        c: line(c, v.overdue),
        notice: None,
        errors: Vec::new(),
    }
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<CaseId>,
    Query(q): Query<ShowQuery>,
) -> Result<CasePage, AppError> {
    let v = state
        .services
        .cases()
        .view(Caller::User(&user.actor), id)
        .await?;
    let mut p = case_page(&user, v);
    p.notice = q.done.as_deref().map(|d| {
        match d {
            "open" => "已开启分类处理。",
            "step" => "已记录办理情况。",
            "close" => "已办结。",
            "reopen" => "已重新打开。",
            "report" => "书面报告已报送上级党组织。",
            "ack" => "已阅知书面报告。",
            "return" => "已退回书面报告。",
            _ => "已保存。",
        }
        .to_owned()
    });
    Ok(p)
}

/// The case page again with the input errors beside it (nothing was stored).
async fn with_errors(
    state: &AppState,
    user: &CurrentUser,
    id: CaseId,
    list: Vec<crate::domain::FieldError>,
) -> Result<Response, AppError> {
    let v = state
        .services
        .cases()
        .view(Caller::User(&user.actor), id)
        .await?;
    let mut p = case_page(user, v);
    p.errors = list.iter().map(ToString::to_string).collect();
    Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
}

async fn after(
    state: &AppState,
    user: &CurrentUser,
    id: CaseId,
    done: &str,
    r: Result<(), ServiceError>,
) -> Result<Response, AppError> {
    match r {
        Ok(()) => Ok(Redirect::to(&format!("/cases/{}?done={done}", id.0)).into_response()),
        Err(ServiceError::Invalid(list)) => with_errors(state, user, id, list).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct StepForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    note: String,
}

pub async fn add_step(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<CaseId>,
    Form(f): Form<StepForm>,
) -> Result<Response, AppError> {
    let r = state
        .services
        .cases()
        .add_step(Caller::User(&user.actor), id, &f.kind, &f.note)
        .await;
    after(&state, &user, id, "step", r).await
}

#[derive(Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    version: i64,
}

pub async fn close(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<CaseId>,
    Form(f): Form<CloseForm>,
) -> Result<Response, AppError> {
    let r = state
        .services
        .cases()
        .close(
            Caller::User(&user.actor),
            id,
            &f.outcome,
            &f.note,
            f.version,
        )
        .await;
    let risky = Risky::CloseCase {
        case: id.0,
        outcome: f.outcome.clone(),
        note: f.note.clone(),
        version: f.version,
    };
    let r = match super::approvals::or_ask(&user, risky, r) {
        Ok(r) => r,
        Err(ask) => return Ok(*ask),
    };
    after(&state, &user, id, "close", r).await
}

#[derive(Deserialize)]
pub struct VersionForm {
    #[serde(default)]
    version: i64,
}

pub async fn reopen(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<CaseId>,
    Form(f): Form<VersionForm>,
) -> Result<Response, AppError> {
    let r = state
        .services
        .cases()
        .reopen(Caller::User(&user.actor), id, f.version)
        .await;
    after(&state, &user, id, "reopen", r).await
}

#[derive(Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    facts: String,
    #[serde(default)]
    secretary_name: String,
    #[serde(default)]
    organiser_name: String,
}

pub async fn submit_report(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<CaseId>,
    Form(f): Form<ReportForm>,
) -> Result<Response, AppError> {
    let input = ReportInput {
        facts: f.facts,
        secretary_name: f.secretary_name,
        organiser_name: f.organiser_name,
    };
    let r = state
        .services
        .cases()
        .submit_report(Caller::User(&user.actor), id, &input)
        .await;
    after(&state, &user, id, "report", r).await
}

#[derive(Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    version: i64,
}

pub async fn decide_report(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<CaseId>,
    Form(f): Form<DecideForm>,
) -> Result<Response, AppError> {
    let acknowledge = match f.decision.as_str() {
        "acknowledge" => true,
        "return" => false,
        _ => return Err(AppError::BadRequest("请选择已阅或退回".into())),
    };
    let r = state
        .services
        .cases()
        .decide_report(
            Caller::User(&user.actor),
            id,
            acknowledge,
            &f.reason,
            f.version,
        )
        .await;
    after(
        &state,
        &user,
        id,
        if acknowledge { "ack" } else { "return" },
        r,
    )
    .await
}

#[derive(Deserialize)]
pub struct OpenForm {
    #[serde(default)]
    category: String,
    #[serde(default)]
    reason: String,
}

/// Open a case by hand from the member's page.
pub async fn open(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(member): Path<MemberId>,
    Form(f): Form<OpenForm>,
) -> Result<Response, AppError> {
    match state
        .services
        .cases()
        .open(Caller::User(&user.actor), member, &f.category, &f.reason)
        .await
    {
        Ok(id) => Ok(Redirect::to(&format!("/cases/{}?done=open", id.0)).into_response()),
        Err(ServiceError::Invalid(list)) => Err(AppError::BadRequest(
            list.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("；"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The written report as a printable .xlsx.
pub async fn report_xlsx(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<CaseId>,
) -> Result<Response, AppError> {
    let (name, bytes) = state
        .services
        .cases()
        .report_xlsx(Caller::User(&user.actor), id)
        .await?;
    Ok(super::export::xlsx_download(&name, bytes))
}

/// The written report as a Word document.
pub async fn report_docx(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<CaseId>,
) -> Result<Response, AppError> {
    let (name, bytes) = state
        .services
        .cases()
        .report_docx(Caller::User(&user.actor), id)
        .await?;
    Ok(super::export::download(
        &name,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        bytes,
    ))
}
