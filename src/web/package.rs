//! A node's package page: what it contains and lacks, the deadline, submitting it upward; for
//! the parent's reviewer, accepting or returning it and granting more time.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};

use super::path::Path;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::view::Ctx;
use super::{AppError, AppState, CurrentUser};
use crate::domain::OrgId;
use crate::service::four_eyes::Risky;
use crate::service::package::{PackageView, SubmitInput, state_label};
use crate::service::{Caller, ServiceError, beijing_time};

#[derive(Template, WebTemplate)]
#[template(path = "package.html")]
pub struct PackagePage {
    ctx: Option<Ctx>,
    csrf: String,
    v: PackageView,
    state_label: &'static str,
    submitted_at: String,
    missing_then: Vec<String>,
    time_left: String,
    children_pending: usize,
    error: Option<String>,
    notice: Option<String>,
    input: SubmitInput,
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

fn message_of(e: ServiceError) -> Result<String, AppError> {
    match e {
        ServiceError::Invalid(errors) => Ok(errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("；")),
        ServiceError::Conflict(m) => Ok(m.to_string()),
        other => Err(AppError::Service(other)),
    }
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    id: OrgId,
    error: Option<String>,
    input: Option<SubmitInput>,
) -> Result<PackagePage, AppError> {
    let v = state
        .services
        .package()
        .view(Caller::User(&user.actor), id)
        .await?;
    let input = input.unwrap_or_else(|| SubmitInput {
        secretary_name: v
            .package
            .as_ref()
            .map(|p| p.secretary_name.clone())
            .or_else(|| v.org.secretary_name.clone())
            .unwrap_or_default(),
        organiser_name: v
            .package
            .as_ref()
            .map(|p| p.organiser_name.clone())
            .unwrap_or_default(),
        contact_phone: v
            .package
            .as_ref()
            .map(|p| p.contact_phone.clone())
            .or_else(|| v.org.contact_phone.clone())
            .unwrap_or_default(),
        missing_note: String::new(),
    });
    let missing_then: Vec<String> = v
        .package
        .as_ref()
        .and_then(|p| serde_json::from_str::<Vec<serde_json::Value>>(&p.missing).ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m.get("what").and_then(|w| w.as_str()).map(str::to_owned))
        .collect();
    let time_left = super::view::days_left_label(v.deadline.days_left);
    let children_pending = v
        .readiness
        .children
        .iter()
        .filter(|(_, p)| p.as_ref().is_none_or(|p| !p.state.is_accepted()))
        .count();
    Ok(PackagePage {
        ctx: Some(Ctx::new(user, "tree")),
        time_left,
        children_pending,
        csrf: user.csrf.clone(),
        state_label: state_label(v.package.as_ref().map(|p| p.state)),
        submitted_at: v
            .package
            .as_ref()
            .map(|p| beijing_time(p.submitted_at))
            .unwrap_or_default(),
        missing_then,
        v,
        error,
        notice: None,
        input,
    })
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Query(q): Query<DoneQuery>,
) -> Result<PackagePage, AppError> {
    let mut p = page(&state, &user, id, None, None).await?;
    p.notice = match q.done.as_deref() {
        Some("submit") => Some("已报送上级，等待上级审核接收。".into()),
        Some("accept") => Some("已接收该组织报送的材料。".into()),
        Some("return") => Some("已退回，该组织将收到退回原因。".into()),
        Some("extend") => Some("已批准延期。".into()),
        _ => None,
    };
    Ok(p)
}

#[derive(Deserialize)]
pub struct SubmitForm {
    secretary_name: String,
    organiser_name: String,
    contact_phone: String,
    #[serde(default)]
    missing_note: String,
}

pub async fn submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Form(f): Form<SubmitForm>,
) -> Result<Response, AppError> {
    let input = SubmitInput {
        secretary_name: f.secretary_name,
        organiser_name: f.organiser_name,
        contact_phone: f.contact_phone,
        missing_note: f.missing_note,
    };
    match state
        .services
        .package()
        .submit(Caller::User(&user.actor), id, &input)
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/orgs/{id}/package?done=submit")).into_response()),
        Err(e) => {
            let msg = message_of(e)?;
            Ok(page(&state, &user, id, Some(msg), Some(input))
                .await?
                .into_response())
        }
    }
}

/// After a parent's decision: back to the package page with a notice, or the page again with
/// the refusal.
async fn decided(
    state: &AppState,
    user: &CurrentUser,
    id: OrgId,
    result: Result<(), ServiceError>,
    done: &str,
) -> Result<Response, AppError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/orgs/{id}/package?done={done}")).into_response()),
        Err(e) => Ok(page(state, user, id, Some(message_of(e)?), None)
            .await?
            .into_response()),
    }
}

#[derive(Deserialize)]
pub struct DecideForm {
    version: i64,
    #[serde(default)]
    reason: String,
}

pub async fn accept(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Form(f): Form<DecideForm>,
) -> Result<Response, AppError> {
    let result = state
        .services
        .package()
        .accept(Caller::User(&user.actor), id, f.version)
        .await;
    let risky = Risky::AcceptPackage {
        child: id.0,
        version: f.version,
    };
    let result = match super::approvals::or_ask(&user, risky, result) {
        Ok(r) => r,
        Err(ask) => return Ok(*ask),
    };
    decided(&state, &user, id, result, "accept").await
}

pub async fn return_package(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Form(f): Form<DecideForm>,
) -> Result<Response, AppError> {
    let result = state
        .services
        .package()
        .send_back(Caller::User(&user.actor), id, f.version, &f.reason)
        .await;
    decided(&state, &user, id, result, "return").await
}

#[derive(Deserialize)]
pub struct ExtendForm {
    until: String,
    reason: String,
}

pub async fn extend(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Form(f): Form<ExtendForm>,
) -> Result<Response, AppError> {
    let result = state
        .services
        .package()
        .extend(Caller::User(&user.actor), id, &f.until, &f.reason)
        .await;
    decided(&state, &user, id, result, "extend").await
}
