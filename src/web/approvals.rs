//! 双人复核: asking for a risky action with a reason, the page of requests waiting for one's
//! decision and of one's own requests, approving, refusing and withdrawing.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};

use super::path::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::view::Ctx;
use super::{AppError, AppState, CurrentUser};
use crate::service::four_eyes::{Risky, kind_label, state_label};
use crate::service::{Refusal, ServiceError, ServiceResult, beijing_time};

/// The page that asks for a reason when an action needs a second person.
#[derive(Template, WebTemplate)]
#[template(path = "approval_new.html")]
pub struct AskPage {
    ctx: Option<Ctx>,
    csrf: String,
    kind: &'static str,
    payload: String,
    reason: String,
    errors: Vec<String>,
}

fn ask_page(user: &CurrentUser, risky: &Risky, reason: String, errors: Vec<String>) -> AskPage {
    AskPage {
        ctx: Some(Ctx::new(user, "approvals")),
        csrf: user.csrf.clone(),
        kind: kind_label(risky.code()),
        payload: serde_json::to_string(risky).unwrap_or_default(),
        reason,
        errors,
    }
}

/// The answer to a risky action tried alone: the request form (the action's own result
/// otherwise, handed back to the caller's handler).
pub fn or_ask<T>(
    user: &CurrentUser,
    risky: Risky,
    result: ServiceResult<T>,
) -> Result<ServiceResult<T>, Box<Response>> {
    match result {
        Err(ServiceError::Conflict(Refusal::NeedsSecondPerson)) => Err(Box::new(
            ask_page(user, &risky, String::new(), Vec::new()).into_response(),
        )),
        other => Ok(other),
    }
}

#[derive(Deserialize)]
pub struct AskForm {
    payload: String,
    #[serde(default)]
    reason: String,
}

pub async fn request(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<AskForm>,
) -> Result<Response, AppError> {
    let risky: Risky = serde_json::from_str(&f.payload)
        .map_err(|_| AppError::BadRequest("申请内容无法识别，请回到原页面重新操作".into()))?;
    match state
        .services
        .four_eyes()
        .request(&user.actor, &risky, &f.reason)
        .await
    {
        Ok(_) => Ok(Redirect::to("/approvals?done=requested").into_response()),
        Err(ServiceError::Invalid(list)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            ask_page(
                &user,
                &risky,
                f.reason,
                list.iter().map(ToString::to_string).collect(),
            ),
        )
            .into_response()),
        Err(ServiceError::Conflict(why)) => Ok((
            StatusCode::CONFLICT,
            ask_page(&user, &risky, f.reason, vec![why.to_string()]),
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}

pub struct Row {
    id: i64,
    kind: &'static str,
    summary: String,
    reason: String,
    requested: String,
    state: &'static str,
    pending: bool,
    decision: String,
}

fn row(a: crate::store::approvals::Approval) -> Row {
    Row {
        id: a.id,
        kind: kind_label(&a.kind),
        summary: a.summary,
        reason: a.reason,
        requested: format!("{} · {}", a.requested_name, beijing_time(a.requested_at)),
        pending: a.state == "pending",
        state: state_label(&a.state),
        decision: match (a.decided_name, a.decided_at) {
            (Some(n), Some(t)) => {
                let note = a.decision_note.unwrap_or_default();
                if note.is_empty() {
                    format!("{n} · {}", beijing_time(t))
                } else {
                    format!("{n} · {}：{note}", beijing_time(t))
                }
            }
            _ => String::new(),
        },
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "approvals.html")]
pub struct ApprovalsPage {
    ctx: Option<Ctx>,
    csrf: String,
    to_decide: Vec<Row>,
    mine: Vec<Row>,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    done: Option<String>,
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    notice: Option<String>,
    error: Option<String>,
) -> Result<ApprovalsPage, AppError> {
    let inbox = state.services.four_eyes().inbox(&user.actor).await?;
    Ok(ApprovalsPage {
        ctx: Some(Ctx::new(user, "approvals")),
        csrf: user.csrf.clone(),
        to_decide: inbox.to_decide.into_iter().map(row).collect(),
        mine: inbox.mine.into_iter().map(row).collect(),
        notice,
        error,
    })
}

pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ListQuery>,
) -> Result<ApprovalsPage, AppError> {
    let notice = match q.done.as_deref() {
        Some("requested") => Some("申请已提交，等待另一位有权限的人员复核。".to_owned()),
        Some("approved") => Some("已同意，该事项已执行。".to_owned()),
        Some("refused") => Some("已不同意，申请人会看到您的理由。".to_owned()),
        Some("withdrawn") => Some("申请已撤回。".to_owned()),
        _ => None,
    };
    page(&state, &user, notice, None).await
}

#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    note: String,
}

async fn decided(
    state: &AppState,
    user: &CurrentUser,
    result: ServiceResult<()>,
    done: &str,
) -> Result<Response, AppError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/approvals?done={done}")).into_response()),
        Err(ServiceError::Conflict(why)) => Ok((
            StatusCode::CONFLICT,
            page(state, user, None, Some(why.to_string())).await?,
        )
            .into_response()),
        Err(ServiceError::Invalid(list)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            page(
                state,
                user,
                None,
                Some(
                    list.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("；"),
                ),
            )
            .await?,
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}

pub async fn approve(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<NoteForm>,
) -> Result<Response, AppError> {
    let r = state
        .services
        .four_eyes()
        .approve(&user.actor, id, &f.note)
        .await;
    decided(&state, &user, r, "approved").await
}

pub async fn refuse(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<NoteForm>,
) -> Result<Response, AppError> {
    let r = state
        .services
        .four_eyes()
        .refuse(&user.actor, id, &f.note)
        .await;
    decided(&state, &user, r, "refused").await
}

pub async fn withdraw(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let r = state.services.four_eyes().withdraw(&user.actor, id).await;
    decided(&state, &user, r, "withdrawn").await
}
