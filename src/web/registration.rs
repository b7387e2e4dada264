//! The registration form page (附件1/附件2), rendered from the form definition.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form as PostForm;
use axum::extract::{Query, State};

use super::path::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::formview::{SectionView, form_sections};
use super::view::Ctx;
use super::{AppError, AppState, CurrentUser};
use crate::domain::{MemberId, RegistrationState, Role};
use crate::forms::{Finding, Severity};
use crate::service::registration::{PROXY_METHODS, RegistrationInput, RegistrationView, Step};
use crate::service::{Caller, ServiceError};

#[derive(Template, WebTemplate)]
#[template(path = "registration.html")]
pub struct RegistrationPage {
    ctx: Option<Ctx>,
    identity_locked: bool,
    csrf: String,
    member_id: i64,
    member_name: String,
    attachment: String,
    title: String,
    campaign: String,
    state_label: &'static str,
    version: i64,
    notice: Option<String>,
    top_error: Option<String>,
    return_reason: Option<String>,
    eligible: bool,
    eligibility: String,
    error_count: usize,
    sections: Vec<SectionView>,
    citizen_id_masked: String,
    editable: bool,
    by_member: bool,
    proxy_methods: Vec<(&'static str, &'static str)>,
    proxy_method: String,
    warnings_note: String,
    extra_errors: Vec<String>,
    approval: Option<String>,
    can_approve: bool,
    can_return: bool,
    changes: Vec<(String, String, String)>,
    /// The earlier campaign `changes` compare with (none: with the return).
    changes_since: Option<String>,
    /// This campaign's form started from the one approved in an earlier campaign (its name)
    /// and the fields changed since.
    carried: Option<(String, usize)>,
    return_reasons: Vec<(String, String)>,
    /// After a decision: the next form waiting in the reviewer's queue (id, name).
    next: Option<(i64, String)>,
    decided: bool,
    review_org: i64,
    lock: Option<crate::service::package::Lock>,
}

/// Build the page from the view, showing `values` (what is stored, or what was just typed)
/// and `findings` beside their fields.
fn page(
    user: &CurrentUser,
    view: &RegistrationView,
    values: &BTreeMap<String, String>,
    typed_id: &str,
    findings: &[Finding],
) -> RegistrationPage {
    let (sections, extra_errors) =
        form_sections(view.form, values, typed_id, findings, user.actor.role);
    RegistrationPage {
        ctx: Some(Ctx::new(
            user,
            if user.actor.role == Role::Member {
                "home"
            } else {
                "members"
            },
        )),
        csrf: user.csrf.clone(),
        member_id: view.member.id.0,
        member_name: view.member.name.clone(),
        attachment: view.form.attachment.clone(),
        title: view.form.title.clone(),
        campaign: format!(
            "{} · 时间规则按 {} 判断",
            view.campaign_name, view.judged_at
        ),
        state_label: view.state.label(),
        version: view.version,
        notice: None,
        top_error: None,
        return_reason: view.return_reason.clone(),
        eligible: view.eligibility.registered,
        eligibility: view.eligibility.reason.clone(),
        error_count: findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count(),
        sections,
        citizen_id_masked: view.citizen_id_masked.clone(),
        editable: view.editable,
        identity_locked: view.identity_locked,
        by_member: user.actor.role == Role::Member,
        proxy_methods: PROXY_METHODS.to_vec(),
        proxy_method: view.proxy_method.clone().unwrap_or_default(),
        warnings_note: view.warnings_note.clone(),
        extra_errors,
        approval: None,
        can_approve: false,
        can_return: false,
        changes: Vec::new(),
        changes_since: None,
        carried: view
            .previous
            .as_ref()
            .map(|(name, changed)| (name.clone(), changed.len())),
        return_reasons: crate::forms::Catalogue::get()
            .list("return_reason")
            .map(|l| l.codes.clone())
            .unwrap_or_default(),
        next: None,
        lock: view.lock.clone(),
        decided: false,
        review_org: user.actor.org_id.0,
    }
}

/// The findings a form page shows: all of them once the form was saved, only the warnings
/// before (no error before the user has typed anything).
pub fn unsaved_hints_only(version: i64, findings: &[Finding]) -> Vec<Finding> {
    findings
        .iter()
        .filter(|f| version > 0 || f.severity == Severity::Warning)
        .cloned()
        .collect()
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<MemberId>,
    Query(q): Query<ShowQuery>,
) -> Result<RegistrationPage, AppError> {
    let view = state
        .services
        .registration()
        .view(Caller::User(&user.actor), id)
        .await?;
    // A form nobody has saved yet shows no errors: they appear once it is saved or submitted
    // (hints drawn from the records stay).
    let shown = unsaved_hints_only(view.version, &view.findings);
    let mut p = page(&user, &view, &view.values, "", &shown);
    p.notice = match q.done.as_deref() {
        Some("save") => Some("草稿已保存，可随时回来继续填写。".into()),
        Some("submit") => Some("登记表已提交，等待所在党组织审核。".into()),
        Some("approve") => Some("已审核通过。".into()),
        Some("return") => Some("已退回，党员可看到退回原因并修改后重新提交。".into()),
        _ => None,
    };
    let review = state
        .services
        .review()
        .state(Caller::User(&user.actor), id)
        .await?;
    if let Some(r) = review
        .last
        .filter(|r| r.decision == "approve" && view.state == RegistrationState::Approved)
    {
        p.approval = Some(format!(
            "审核盖章：{}（{}）于 {} 审核通过；内容摘要 {}",
            r.reviewer_name,
            r.reviewer_role,
            crate::service::beijing_time(r.at),
            &r.digest[..16]
        ));
    }
    p.can_approve = review.can_approve;
    p.can_return = review.can_return;
    p.changes = review.changes;
    p.changes_since = review.since;
    p.decided = matches!(q.done.as_deref(), Some("approve" | "return"));
    if p.decided {
        // 下一份: the oldest form still waiting below the reviewer's node.
        p.next = state
            .services
            .review()
            .next_pending(Caller::User(&user.actor), user.actor.org_id, id)
            .await?
            .map(|(m, name)| (m.0, name));
    }
    Ok(p)
}

pub async fn save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<MemberId>,
    PostForm(pairs): PostForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let mut values = BTreeMap::new();
    let mut citizen_id = String::new();
    let mut version = 0;
    let mut step = Step::SaveDraft;
    let mut confirmed = false;
    let mut proxy_method = None;
    let mut warnings_note = String::new();
    for (k, v) in pairs {
        match k.as_str() {
            "citizen_id" => citizen_id = v,
            "version" => version = v.trim().parse().unwrap_or(-1),
            "step" => {
                step = if v == "submit" {
                    Step::Submit
                } else {
                    Step::SaveDraft
                }
            }
            "confirm" => confirmed = v == "1",
            "proxy_method" => proxy_method = Some(v),
            "warnings_note" => warnings_note = v,
            _ => {
                if let Some(code) = k.strip_prefix("f_") {
                    values.insert(code.to_owned(), v);
                }
            }
        }
    }
    let caller = Caller::User(&user.actor);
    let result = state
        .services
        .registration()
        .save(
            caller,
            id,
            RegistrationInput {
                values: values.clone(),
                citizen_id: citizen_id.clone(),
                version,
                step,
                confirmed,
                proxy_method: proxy_method.clone(),
                warnings_note: warnings_note.clone(),
            },
        )
        .await;
    let done = if step == Step::Submit {
        "submit"
    } else {
        "save"
    };
    let (status, findings, top) = match result {
        Ok(_) => {
            return Ok(
                Redirect::to(&format!("/members/{id}/registration?done={done}")).into_response(),
            );
        }
        Err(ServiceError::Rejected(findings)) => (StatusCode::UNPROCESSABLE_ENTITY, findings, None),
        Err(ServiceError::Conflict(msg)) => {
            (StatusCode::CONFLICT, Vec::new(), Some(msg.to_string()))
        }
        Err(e) => return Err(e.into()),
    };
    // Show the form again with exactly what was typed, and the reasons.
    let view = state.services.registration().view(caller, id).await?;
    let mut p = page(&user, &view, &values, &citizen_id, &findings);
    p.top_error = top;
    p.warnings_note = warnings_note;
    p.proxy_method = proxy_method.unwrap_or_default();
    Ok((status, p).into_response())
}

pub async fn approve(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<MemberId>,
) -> Result<Redirect, AppError> {
    state
        .services
        .review()
        .approve(Caller::User(&user.actor), &[id])
        .await?;
    Ok(Redirect::to(&format!(
        "/members/{id}/registration?done=approve"
    )))
}

#[derive(Deserialize)]
pub struct ReturnForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
}

pub async fn return_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<MemberId>,
    PostForm(f): PostForm<ReturnForm>,
) -> Result<Redirect, AppError> {
    state
        .services
        .review()
        .send_back(Caller::User(&user.actor), id, &f.reason, &f.note)
        .await?;
    Ok(Redirect::to(&format!(
        "/members/{id}/registration?done=return"
    )))
}

#[derive(Deserialize)]
pub struct IdentityForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    citizen_id: String,
    #[serde(default)]
    reason: String,
}

/// 申请更正姓名或公民身份号码: a four-eyes request for a form approved once.
pub async fn request_identity(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<MemberId>,
    axum::Form(f): axum::Form<IdentityForm>,
) -> Result<Response, AppError> {
    match state
        .services
        .registration()
        .request_identity(&user.actor, id, (&f.name, &f.citizen_id, &f.reason))
        .await
    {
        Ok(_) => Ok(Redirect::to("/approvals?done=requested").into_response()),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Conflict(_))) => {
            let view = state
                .services
                .registration()
                .view(Caller::User(&user.actor), id)
                .await?;
            let mut p = page(&user, &view, &view.values, "", &[]);
            p.top_error = Some(match e {
                ServiceError::Invalid(list) => list
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("；"),
                other => other.to_string(),
            });
            Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
