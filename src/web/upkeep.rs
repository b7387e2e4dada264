//! Editing the directory: a firm's particulars, its organisation and its closing; an
//! organisation's particulars. Each form shows its errors beside it and stores nothing then.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::path::Path;
use super::view::Ctx;
use super::{AppError, AppState, CurrentUser};
use crate::domain::{FirmId, OrgId, OrgKind};
use crate::service::upkeep::{Cover, FIRM_FORMS, FirmInput, OrgInput};
use crate::service::{Caller, ServiceError};

#[derive(Deserialize, Default)]
pub struct FirmForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    credit_code: String,
    #[serde(default)]
    region_code: String,
    #[serde(default)]
    form: String,
    #[serde(default)]
    lawyer_count: String,
    #[serde(default)]
    effective_on: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "firm_edit.html")]
pub struct FirmEditPage {
    ctx: Option<Ctx>,
    csrf: String,
    id: i64,
    title: String,
    f: FirmInput,
    forms: Vec<(&'static str, &'static str)>,
    /// Organisations of the firm's city it may be put under: (id, name, kind label).
    covers: Vec<(i64, String, &'static str)>,
    current_cover: i64,
    kinds: Vec<(&'static str, &'static str)>,
    errors: Vec<String>,
}

async fn firm_page(
    state: &AppState,
    user: &CurrentUser,
    id: FirmId,
    typed: Option<FirmInput>,
    errors: Vec<String>,
) -> Result<FirmEditPage, AppError> {
    let (firm, kids) = state
        .services
        .upkeep()
        .covers_of_city(Caller::User(&user.actor), id)
        .await?;
    let f = typed.unwrap_or_else(|| FirmInput {
        name: firm.name.clone(),
        credit_code: firm.credit_code.clone(),
        region_code: firm.region_code.clone(),
        form: firm.form.clone(),
        lawyer_count: firm.lawyer_count.to_string(),
        effective_on: String::new(),
    });
    Ok(FirmEditPage {
        ctx: Some(Ctx::new(user, "firms")),
        csrf: user.csrf.clone(),
        id: id.0,
        title: firm.name.clone(),
        f,
        forms: FIRM_FORMS
            .iter()
            .map(|c| (*c, crate::service::directory::form_label(c)))
            .collect(),
        covers: kids
            .iter()
            .filter(|o| o.level == crate::domain::OrgLevel::Firm)
            .map(|o| (o.id.0, o.name.clone(), o.kind.label()))
            .collect(),
        current_cover: firm.org_id.map_or(0, |o| o.0),
        kinds: [
            OrgKind::Branch,
            OrgKind::GeneralBranch,
            OrgKind::Committee,
            OrgKind::JointBranch,
        ]
        .iter()
        .map(|k| (k.code(), k.label()))
        .collect(),
        errors,
    })
}

fn errors_of(e: ServiceError) -> Result<Vec<String>, AppError> {
    match e {
        ServiceError::Invalid(list) => Ok(list.iter().map(ToString::to_string).collect()),
        ServiceError::Conflict(r) => Ok(vec![r.to_string()]),
        other => Err(other.into()),
    }
}

/// `GET /firms/{id}/edit`
pub async fn firm_edit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<FirmId>,
) -> Result<FirmEditPage, AppError> {
    firm_page(&state, &user, id, None, Vec::new()).await
}

/// `POST /firms/{id}/edit`
pub async fn firm_save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<FirmId>,
    Form(f): Form<FirmForm>,
) -> Result<Response, AppError> {
    let input = FirmInput {
        name: f.name,
        credit_code: f.credit_code,
        region_code: f.region_code,
        form: f.form,
        lawyer_count: f.lawyer_count,
        effective_on: f.effective_on,
    };
    match state
        .services
        .upkeep()
        .edit_firm(Caller::User(&user.actor), id, &input)
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/firms/{}?done=edit", id.0)).into_response()),
        Err(e) => {
            let errors = errors_of(e)?;
            let page = firm_page(&state, &user, id, Some(input), errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Deserialize, Default)]
pub struct MoveForm {
    /// An organisation's id, `0` for none, `new` for a new one.
    #[serde(default)]
    cover: String,
    #[serde(default)]
    new_name: String,
    #[serde(default)]
    new_kind: String,
    #[serde(default)]
    effective_on: String,
}

/// `POST /firms/{id}/move`
pub async fn firm_move(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<FirmId>,
    Form(f): Form<MoveForm>,
) -> Result<Response, AppError> {
    let cover = match f.cover.trim() {
        "new" => OrgKind::from_code(f.new_kind.trim()).map(|kind| Cover::New {
            name: f.new_name.clone(),
            kind,
        }),
        "0" | "" => Some(Cover::None),
        n => n.parse::<i64>().ok().map(|n| Cover::Org(OrgId(n))),
    };
    let r = match cover {
        Some(c) => {
            state
                .services
                .upkeep()
                .move_firm(Caller::User(&user.actor), id, &c, &f.effective_on)
                .await
        }
        None => Err(ServiceError::Invalid(vec![crate::domain::FieldError::new(
            "cover",
            "请选择所属党组织，新建时请选择类别",
        )])),
    };
    match r {
        Ok(()) => Ok(Redirect::to(&format!("/firms/{}?done=move", id.0)).into_response()),
        Err(e) => {
            let errors = errors_of(e)?;
            let page = firm_page(&state, &user, id, None, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Deserialize, Default)]
pub struct CloseForm {
    #[serde(default)]
    effective_on: String,
    #[serde(default)]
    note: String,
}

/// `POST /firms/{id}/close`: 注销; back to the city's firm list when done.
pub async fn firm_close(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<FirmId>,
    Form(f): Form<CloseForm>,
) -> Result<Response, AppError> {
    match state
        .services
        .upkeep()
        .close_firm(Caller::User(&user.actor), id, &f.effective_on, &f.note)
        .await
    {
        Ok(()) => Ok(Redirect::to("/firms?done=closed").into_response()),
        Err(e) => {
            let errors = errors_of(e)?;
            let page = firm_page(&state, &user, id, None, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Deserialize, Default)]
pub struct OrgForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    secretary_name: String,
    #[serde(default)]
    contact_phone: String,
    #[serde(default)]
    formed_on: String,
    #[serde(default)]
    organiser_name: String,
    #[serde(default)]
    term_start: String,
    #[serde(default)]
    term_end: String,
    #[serde(default)]
    effective_on: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "org_edit.html")]
pub struct OrgEditPage {
    ctx: Option<Ctx>,
    csrf: String,
    id: i64,
    title: String,
    f: OrgInput,
    kinds: Vec<(&'static str, &'static str)>,
    /// A firm-level organisation may be dissolved or merged into a sibling: (id, name).
    firm_level: bool,
    siblings: Vec<(i64, String)>,
    /// The city-level organisations it may be moved under: (id, name).
    cities: Vec<(i64, String)>,
    errors: Vec<String>,
}

async fn org_page(
    state: &AppState,
    user: &CurrentUser,
    id: OrgId,
    typed: Option<OrgInput>,
    errors: Vec<String>,
) -> Result<OrgEditPage, AppError> {
    let caller = Caller::User(&user.actor);
    let org = state.services.upkeep().editable_org(caller, id).await?;
    let f = typed.unwrap_or_else(|| OrgInput {
        name: org.name.clone(),
        kind: org.kind.code().to_owned(),
        secretary_name: org.secretary_name.clone().unwrap_or_default(),
        contact_phone: org.contact_phone.clone().unwrap_or_default(),
        formed_on: org.formed_on.clone().unwrap_or_default(),
        organiser_name: org.organiser_name.clone().unwrap_or_default(),
        term_start: org.term_start.clone().unwrap_or_default(),
        term_end: org.term_end.clone().unwrap_or_default(),
        effective_on: String::new(),
    });
    let firm_level = org.level == crate::domain::OrgLevel::Firm;
    let siblings = match (firm_level, org.parent_id) {
        (true, Some(p)) => state
            .services
            .directory()
            .children(caller, p)
            .await?
            .1
            .into_iter()
            .filter(|o| o.id != org.id)
            .map(|o| (o.id.0, o.name))
            .collect(),
        _ => Vec::new(),
    };
    let cities = state
        .services
        .upkeep()
        .cities_for(caller, id)
        .await?
        .into_iter()
        .map(|o| (o.id.0, o.name))
        .collect();
    Ok(OrgEditPage {
        firm_level,
        siblings,
        cities,
        ctx: Some(Ctx::new(user, "tree")),
        csrf: user.csrf.clone(),
        id: id.0,
        title: org.name.clone(),
        f,
        kinds: OrgKind::ALL
            .iter()
            .filter(|k| k.allowed_at(org.level))
            .map(|k| (k.code(), k.label()))
            .collect(),
        errors,
    })
}

/// `GET /orgs/{id}/edit`
pub async fn org_edit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
) -> Result<OrgEditPage, AppError> {
    org_page(&state, &user, id, None, Vec::new()).await
}

/// `POST /orgs/{id}/edit`
pub async fn org_save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Form(f): Form<OrgForm>,
) -> Result<Response, AppError> {
    let input = OrgInput {
        name: f.name,
        kind: f.kind,
        secretary_name: f.secretary_name,
        contact_phone: f.contact_phone,
        formed_on: f.formed_on,
        organiser_name: f.organiser_name,
        term_start: f.term_start,
        term_end: f.term_end,
        effective_on: f.effective_on,
    };
    match state
        .services
        .upkeep()
        .edit_org(Caller::User(&user.actor), id, &input)
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/orgs/{}?done=edit", id.0)).into_response()),
        Err(e) => {
            let errors = errors_of(e)?;
            let page = org_page(&state, &user, id, Some(input), errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Deserialize, Default)]
pub struct EndForm {
    #[serde(default)]
    into: String,
    #[serde(default)]
    effective_on: String,
    #[serde(default)]
    note: String,
}

async fn after_end(
    state: &AppState,
    user: &CurrentUser,
    id: OrgId,
    r: Result<(), ServiceError>,
) -> Result<Response, AppError> {
    match r {
        Ok(()) => Ok(Redirect::to(&format!("/orgs/{}/archive", id.0)).into_response()),
        Err(e) => {
            let errors = errors_of(e)?;
            let page = org_page(state, user, id, None, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// `POST /orgs/{id}/dissolve`: 撤销 (only once nothing hangs under it).
pub async fn org_dissolve(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Form(f): Form<EndForm>,
) -> Result<Response, AppError> {
    let r = state
        .services
        .upkeep()
        .dissolve_org(Caller::User(&user.actor), id, &f.effective_on, &f.note)
        .await;
    after_end(&state, &user, id, r).await
}

/// `POST /orgs/{id}/reparent`: under another city-level organisation (`into`), with its firms
/// and members.
pub async fn org_reparent(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Form(f): Form<EndForm>,
) -> Result<Response, AppError> {
    let r = match f.into.trim().parse::<i64>() {
        Ok(to) => {
            state
                .services
                .upkeep()
                .reparent_org(Caller::User(&user.actor), id, OrgId(to), &f.effective_on)
                .await
        }
        Err(_) => Err(ServiceError::Invalid(vec![crate::domain::FieldError::new(
            "into",
            "请选择调整到的地市级党组织",
        )])),
    };
    after_end(&state, &user, id, r).await
}

/// `POST /orgs/{id}/merge`: into a sibling organisation, with its firms and members.
pub async fn org_merge(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Form(f): Form<EndForm>,
) -> Result<Response, AppError> {
    let r = match f.into.trim().parse::<i64>() {
        Ok(into) => {
            state
                .services
                .upkeep()
                .merge_org(Caller::User(&user.actor), id, OrgId(into), &f.effective_on)
                .await
        }
        Err(_) => Err(ServiceError::Invalid(vec![crate::domain::FieldError::new(
            "into",
            "请选择合并到的党组织",
        )])),
    };
    after_end(&state, &user, id, r).await
}
