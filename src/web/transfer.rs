//! 组织关系转接 pages: starting a member's transfer (finding the receiving firm anywhere),
//! a node's transfer list (in, out, passing through), one transfer with its decision.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::path::Path;
use super::view::{Ctx, Pager};
use super::{AppError, AppState, CurrentUser};
use crate::domain::{FirmId, MemberId, OrgId};
use crate::service::transfer::{Direction, FoundFirm, Transfer, TransferInput};
use crate::service::{Caller, ServiceError, beijing_time};

#[derive(Deserialize, Default)]
pub struct FindQuery {
    #[serde(default)]
    q: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "transfer_new.html")]
pub struct TransferNewPage {
    ctx: Option<Ctx>,
    csrf: String,
    member_id: i64,
    member_name: String,
    place: String,
    q: String,
    found: Vec<FoundFirm>,
    searched: bool,
    reason: String,
    effective_on: String,
    errors: Vec<String>,
}

async fn new_page(
    state: &AppState,
    user: &CurrentUser,
    id: MemberId,
    q: &str,
    typed: (&str, &str),
    errors: Vec<String>,
) -> Result<TransferNewPage, AppError> {
    let caller = Caller::User(&user.actor);
    // Refused before the member is read when the role may not start transfers.
    let found = state.services.transfer().find_receivers(caller, q).await?;
    let m = state.services.directory().member(caller, id).await?;
    Ok(TransferNewPage {
        ctx: Some(Ctx::new(user, "members")),
        csrf: user.csrf.clone(),
        member_id: id.0,
        member_name: m.name.clone(),
        place: format!("{}（{}）", m.firm_name, m.org_name),
        q: q.trim().to_owned(),
        searched: q.trim().chars().count() >= 2,
        found,
        reason: typed.0.to_owned(),
        effective_on: typed.1.to_owned(),
        errors,
    })
}

/// `GET /members/{id}/transfer?q=…`: the form, with the firms found for `q`.
pub async fn new(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<MemberId>,
    Query(f): Query<FindQuery>,
) -> Result<TransferNewPage, AppError> {
    new_page(&state, &user, id, &f.q, ("", ""), Vec::new()).await
}

#[derive(Deserialize, Default)]
pub struct StartForm {
    #[serde(default)]
    to_firm: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    effective_on: String,
}

/// `POST /members/{id}/transfer`
pub async fn start(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<MemberId>,
    Form(f): Form<StartForm>,
) -> Result<Response, AppError> {
    let input = TransferInput {
        to_firm: f.to_firm.trim().parse::<i64>().ok().map(FirmId),
        reason: f.reason.clone(),
        effective_on: f.effective_on.clone(),
    };
    match state
        .services
        .transfer()
        .start(Caller::User(&user.actor), id, &input)
        .await
    {
        Ok(t) => Ok(Redirect::to(&format!("/transfers/{t}?done=start")).into_response()),
        Err(ServiceError::Invalid(list)) => {
            let errors = list.iter().map(ToString::to_string).collect();
            let page = new_page(
                &state,
                &user,
                id,
                &f.q,
                (&f.reason, &f.effective_on),
                errors,
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(ServiceError::Conflict(r)) => {
            let page = new_page(
                &state,
                &user,
                id,
                &f.q,
                (&f.reason, &f.effective_on),
                vec![r.to_string()],
            )
            .await?;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// A transfer as lists and its page show it.
pub struct TransferLine {
    id: i64,
    member_id: i64,
    member: String,
    from: String,
    to: String,
    reason: String,
    effective_on: String,
    state: &'static str,
    pending: bool,
    started: String,
    decided: String,
    note: String,
}

fn line(t: &Transfer) -> TransferLine {
    TransferLine {
        id: t.id,
        member_id: t.member_id.0,
        member: t.member_name.clone(),
        from: format!("{}（{}）", t.from_firm_name, t.from_org_name),
        to: format!("{}（{}）", t.to_firm_name, t.to_org_name),
        reason: t.reason.clone(),
        effective_on: t.effective_on.clone(),
        state: t.state.label(),
        pending: t.state == crate::store::transfers::TransferState::Pending,
        started: format!("{} · {}", t.started_name, beijing_time(t.started_at)),
        decided: match (&t.decided_name, t.decided_at) {
            (Some(n), Some(at)) => format!("{n} · {}", beijing_time(at)),
            _ => String::new(),
        },
        note: t.decision_note.clone(),
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    dir: String,
    #[serde(default)]
    pending: String,
    #[serde(default)]
    page: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "transfers.html")]
pub struct TransfersPage {
    ctx: Option<Ctx>,
    org_id: i64,
    org_name: String,
    dir: &'static str,
    pending: bool,
    rows: Vec<TransferLine>,
    pager: Pager,
}

/// `GET /orgs/{id}/transfers`: the transfers the node's subtree sends, receives or sees.
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Query(q): Query<ListQuery>,
) -> Result<TransfersPage, AppError> {
    let (direction, dir) = match q.dir.as_str() {
        "in" => (Direction::In, "in"),
        "out" => (Direction::Out, "out"),
        _ => (Direction::All, "all"),
    };
    let pending = q.pending == "1";
    let page_no = q.page.parse::<i64>().unwrap_or(1).max(1);
    let (page, node) = state
        .services
        .transfer()
        .list(
            Caller::User(&user.actor),
            Some(id),
            direction,
            pending,
            page_no,
        )
        .await?;
    let params = [
        ("dir", dir.to_owned()),
        ("pending", if pending { "1".into() } else { String::new() }),
    ];
    Ok(TransfersPage {
        ctx: Some(Ctx::new(&user, "tree")),
        org_id: id.0,
        org_name: node.map(|n| n.name).unwrap_or_default(),
        dir,
        pending,
        rows: page.items.iter().map(line).collect(),
        pager: Pager::new(&format!("/orgs/{}/transfers", id.0), &params, &page),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "transfer.html")]
pub struct TransferPage {
    ctx: Option<Ctx>,
    csrf: String,
    t: TransferLine,
    can_decide: bool,
    can_cancel: bool,
    notice: Option<&'static str>,
    errors: Vec<String>,
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    done: String,
}

async fn transfer_page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    done: &str,
    errors: Vec<String>,
) -> Result<TransferPage, AppError> {
    let v = state
        .services
        .transfer()
        .get(Caller::User(&user.actor), id)
        .await?;
    Ok(TransferPage {
        ctx: Some(Ctx::new(user, "tree")),
        csrf: user.csrf.clone(),
        t: line(&v.transfer),
        can_decide: v.can_decide,
        can_cancel: v.can_cancel,
        notice: match done {
            "start" => Some("已发起转接，等待转入方接收。"),
            "accept" => Some("已接收：该党员的组织关系已转入。"),
            "refuse" => Some("已拒收，转出方会收到通知。"),
            "cancel" => Some("已撤回。"),
            _ => None,
        },
        errors,
    })
}

/// `GET /transfers/{id}`
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Result<TransferPage, AppError> {
    transfer_page(&state, &user, id, &q.done, Vec::new()).await
}

#[derive(Deserialize, Default)]
pub struct DecideForm {
    #[serde(default)]
    note: String,
}

async fn after(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    done: &str,
    r: Result<(), ServiceError>,
) -> Result<Response, AppError> {
    match r {
        Ok(()) => Ok(Redirect::to(&format!("/transfers/{id}?done={done}")).into_response()),
        Err(ServiceError::Invalid(list)) => {
            let errors = list.iter().map(ToString::to_string).collect();
            let page = transfer_page(state, user, id, "", errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(ServiceError::Conflict(r)) => {
            let page = transfer_page(state, user, id, "", vec![r.to_string()]).await?;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /transfers/{id}/accept`
pub async fn accept(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<DecideForm>,
) -> Result<Response, AppError> {
    let r = state
        .services
        .transfer()
        .accept(Caller::User(&user.actor), id, &f.note)
        .await;
    after(&state, &user, id, "accept", r).await
}

/// `POST /transfers/{id}/refuse`
pub async fn refuse(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<DecideForm>,
) -> Result<Response, AppError> {
    let r = state
        .services
        .transfer()
        .refuse(Caller::User(&user.actor), id, &f.note)
        .await;
    after(&state, &user, id, "refuse", r).await
}

/// `POST /transfers/{id}/cancel`
pub async fn cancel(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let r = state
        .services
        .transfer()
        .cancel(Caller::User(&user.actor), id)
        .await;
    after(&state, &user, id, "cancel", r).await
}

#[derive(Template, WebTemplate)]
#[template(path = "member_stop.html")]
pub struct StopPage {
    ctx: Option<Ctx>,
    csrf: String,
    member_id: i64,
    member_name: String,
    place: String,
    reasons: Vec<(&'static str, &'static str)>,
    f: StopForm,
    errors: Vec<String>,
}

#[derive(Deserialize, Default, Clone)]
pub struct StopForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    destination: String,
    #[serde(default)]
    effective_on: String,
    #[serde(default)]
    note: String,
}

async fn stop_page(
    state: &AppState,
    user: &CurrentUser,
    id: MemberId,
    f: StopForm,
    errors: Vec<String>,
) -> Result<StopPage, AppError> {
    let m = state
        .services
        .transfer()
        .stoppable(Caller::User(&user.actor), id)
        .await?;
    Ok(StopPage {
        ctx: Some(Ctx::new(user, "members")),
        csrf: user.csrf.clone(),
        member_id: id.0,
        member_name: m.name.clone(),
        place: format!("{}（{}）", m.firm_name, m.org_name),
        reasons: crate::domain::change::StopReason::ALL
            .iter()
            .map(|r| (r.code(), r.label()))
            .collect(),
        f,
        errors,
    })
}

/// `GET /members/{id}/stop`: the form ending a member's registration.
pub async fn stop_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<MemberId>,
) -> Result<StopPage, AppError> {
    stop_page(&state, &user, id, StopForm::default(), Vec::new()).await
}

/// `POST /members/{id}/stop`
pub async fn stop(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<MemberId>,
    Form(f): Form<StopForm>,
) -> Result<Response, AppError> {
    let input = crate::service::transfer::StopInput {
        reason: f.reason.clone(),
        destination: f.destination.clone(),
        effective_on: f.effective_on.clone(),
        note: f.note.clone(),
    };
    let (status, errors) = match state
        .services
        .transfer()
        .stop(Caller::User(&user.actor), id, &input)
        .await
    {
        Ok(()) => return Ok(Redirect::to(&format!("/members/{}", id.0)).into_response()),
        Err(ServiceError::Invalid(list)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            list.iter().map(ToString::to_string).collect(),
        ),
        Err(ServiceError::Conflict(r)) => (StatusCode::CONFLICT, vec![r.to_string()]),
        Err(e) => return Err(e.into()),
    };
    let page = stop_page(&state, &user, id, f, errors).await?;
    Ok((status, page).into_response())
}

#[derive(Deserialize, Default)]
pub struct ResumeForm {
    #[serde(default)]
    note: String,
    #[serde(default)]
    effective_on: String,
}

/// `POST /members/{id}/resume`: 恢复登记; a refusal is shown on the stop page's layout.
pub async fn resume(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<MemberId>,
    Form(f): Form<ResumeForm>,
) -> Result<Response, AppError> {
    match state
        .services
        .transfer()
        .resume(Caller::User(&user.actor), id, &f.effective_on, &f.note)
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/members/{}", id.0)).into_response()),
        Err(ServiceError::Invalid(list)) => Err(AppError::BadRequest(
            list.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("；"),
        )),
        Err(e) => Err(e.into()),
    }
}
