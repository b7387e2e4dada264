//! 附件3 pages: an organisation's own registration form.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};

use super::path::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::service::package::Lock;

use super::formview::{SectionView, form_sections};
use super::view::Ctx;
use super::{AppError, AppState, CurrentUser};
use crate::domain::OrgId;
use crate::forms::Finding;
use crate::service::org_registration::MemberCounts;
use crate::service::org_registration::OrgRegistrationView;
use crate::service::{Caller, ServiceError};

#[derive(Template, WebTemplate)]
#[template(path = "org_registration.html")]
pub struct OrgRegistrationPage {
    ctx: Option<Ctx>,
    csrf: String,
    org_id: i64,
    org_name: String,
    attachment: String,
    title: String,
    campaign: String,
    version: i64,
    d: MemberCounts,
    covered: Vec<(String, i64)>,
    sections: Vec<SectionView>,
    extra_errors: Vec<String>,
    editable: bool,
    citizen_id_masked: String,
    notice: Option<String>,
    top_error: Option<String>,
    lock: Option<Lock>,
}

fn page(
    user: &CurrentUser,
    view: OrgRegistrationView,
    values: &BTreeMap<String, String>,
    findings: &[Finding],
) -> OrgRegistrationPage {
    let (sections, extra_errors) = form_sections(view.form, values, "", findings, user.actor.role);
    OrgRegistrationPage {
        ctx: Some(Ctx::new(user, "tree")),
        csrf: user.csrf.clone(),
        org_id: view.org.id.0,
        org_name: view.org.name,
        attachment: view.form.attachment.clone(),
        title: view.form.title.clone(),
        campaign: format!(
            "{} · 时间规则按 {} 判断",
            view.campaign_name, view.judged_at
        ),
        version: view.version,
        d: view.derived,
        covered: view.covered_firms,
        sections,
        extra_errors,
        editable: view.editable,
        lock: view.lock,
        citizen_id_masked: String::new(),
        notice: None,
        top_error: None,
    }
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    saved: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Query(q): Query<ShowQuery>,
) -> Result<OrgRegistrationPage, AppError> {
    let view = state
        .services
        .org_registration()
        .view(Caller::User(&user.actor), id)
        .await?;
    let values = view.values.clone();
    // Nothing saved yet: no errors until the first save.
    let findings = super::registration::unsaved_hints_only(view.version, &view.findings);
    let mut p = page(&user, view, &values, &findings);
    p.notice = q.saved.map(|_| "已保存。".to_owned());
    Ok(p)
}

pub async fn save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let mut values = BTreeMap::new();
    let mut version = -1;
    for (k, v) in pairs {
        if k == "version" {
            version = v.trim().parse().unwrap_or(-1);
        } else if let Some(code) = k.strip_prefix("f_") {
            values.insert(code.to_owned(), v);
        }
    }
    let caller = Caller::User(&user.actor);
    let result = state
        .services
        .org_registration()
        .save(caller, id, values.clone(), version)
        .await;
    let (status, findings, top) = match result {
        Ok(_) => return Ok(Redirect::to(&format!("/orgs/{id}/a3?saved=1")).into_response()),
        Err(ServiceError::Rejected(f)) => (StatusCode::UNPROCESSABLE_ENTITY, f, None),
        Err(ServiceError::Conflict(m)) => (StatusCode::CONFLICT, Vec::new(), Some(m.to_string())),
        Err(e) => return Err(e.into()),
    };
    let view = state.services.org_registration().view(caller, id).await?;
    let mut p = page(&user, view, &values, &findings);
    p.top_error = top;
    Ok((status, p).into_response())
}
