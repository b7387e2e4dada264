//! Adding members (clerks) and activating accounts (members).

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
use crate::domain::{FirmId, MemberId, OrgId};
use crate::forms::Catalogue;
use crate::service::membership::NewMemberInput;
use crate::service::{Caller, ServiceError};

type Pairs = Vec<(String, String)>;

fn list(code: &str) -> Pairs {
    Catalogue::get()
        .list(code)
        .map(|l| l.codes.clone())
        .unwrap_or_default()
}

#[derive(Deserialize, Default, Clone)]
pub struct MemberForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    citizen_id: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    firm: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    ethnicity: String,
    #[serde(default)]
    education: String,
    #[serde(default)]
    party_status: String,
    #[serde(default)]
    joined_on: String,
    #[serde(default)]
    full_member_on: String,
    #[serde(default)]
    licence_no: String,
    #[serde(default)]
    practice_type: String,
    #[serde(default)]
    org: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "member_new.html")]
pub struct NewMemberPage {
    ctx: Option<Ctx>,
    csrf: String,
    org_id: i64,
    org_name: String,
    firms: Vec<(i64, String)>,
    v: MemberForm,
    ethnicities: Pairs,
    educations: Pairs,
    statuses: Pairs,
    practice_types: Pairs,
    errors: Vec<String>,
}

#[derive(Deserialize, Default)]
pub struct OrgQuery {
    org: Option<String>,
}

async fn new_page(
    state: &AppState,
    user: &CurrentUser,
    org: OrgId,
    v: MemberForm,
    errors: Vec<String>,
) -> Result<NewMemberPage, AppError> {
    let caller = Caller::User(&user.actor);
    let view = state.services.directory().org(caller, org).await?;
    let firms = state.services.membership().firms(caller, org).await?;
    Ok(NewMemberPage {
        ctx: Some(Ctx::new(user, "members")),
        csrf: user.csrf.clone(),
        org_id: org.0,
        org_name: view.org.name,
        firms: firms.into_iter().map(|f| (f.id.0, f.name)).collect(),
        v,
        ethnicities: list("ethnicity"),
        educations: list("education"),
        statuses: list("party_status"),
        practice_types: list("practice_type"),
        errors,
    })
}

/// The new-member form pre-filled from a licensing-roster line (`exchange::add`).
pub(super) async fn prefilled_page(
    state: &AppState,
    user: &CurrentUser,
    org: OrgId,
    p: crate::service::exchange::Prefill,
) -> Result<NewMemberPage, AppError> {
    let v = MemberForm {
        name: p.name,
        citizen_id: p.citizen_id,
        category: "lawyer".into(),
        firm: p.firm.map(|f| f.0.to_string()).unwrap_or_default(),
        ethnicity: "01".into(),
        education: "21".into(),
        party_status: if p.probationary {
            "probationary"
        } else {
            "full"
        }
        .into(),
        licence_no: p.licence_no,
        practice_type: p.practice_type,
        org: org.0.to_string(),
        ..Default::default()
    };
    new_page(state, user, org, v, Vec::new()).await
}

pub async fn new_member_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<OrgQuery>,
) -> Result<NewMemberPage, AppError> {
    let org = q
        .org
        .as_deref()
        .and_then(|o| o.trim().parse().ok())
        .map_or(user.actor.org_id, OrgId);
    let defaults = MemberForm {
        category: "lawyer".into(),
        ethnicity: "01".into(),
        education: "21".into(),
        party_status: "full".into(),
        practice_type: "1".into(),
        ..Default::default()
    };
    new_page(&state, &user, org, defaults, Vec::new()).await
}

#[derive(Template, WebTemplate)]
#[template(path = "member_added.html")]
pub struct MemberAddedPage {
    ctx: Option<Ctx>,
    name: String,
    username: String,
    code: String,
    expires: String,
    member_id: i64,
    org_id: i64,
    reissued: bool,
}

pub async fn add_member(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<MemberForm>,
) -> Result<Response, AppError> {
    let org = OrgId(
        f.org
            .trim()
            .parse()
            .map_err(|_| AppError::BadRequest("组织编号无效".into()))?,
    );
    let input = NewMemberInput {
        name: f.name.clone(),
        citizen_id: f.citizen_id.clone(),
        category: f.category.clone(),
        firm_id: f.firm.trim().parse().ok().map(FirmId),
        mobile: f.mobile.clone(),
        ethnicity: f.ethnicity.clone(),
        education: f.education.clone(),
        party_status: f.party_status.clone(),
        joined_on: f.joined_on.clone(),
        full_member_on: f.full_member_on.clone(),
        licence_no: f.licence_no.clone(),
        practice_type: f.practice_type.clone(),
    };
    match state
        .services
        .membership()
        .add(Caller::User(&user.actor), input)
        .await
    {
        Ok(a) => Ok(MemberAddedPage {
            ctx: Some(Ctx::new(&user, "members")),
            name: f.name.trim().to_owned(),
            username: a.username,
            code: a.code,
            expires: a.expires,
            member_id: a.member_id.0,
            org_id: org.0,
            reissued: false,
        }
        .into_response()),
        Err(ServiceError::Invalid(list)) => {
            let errors = list.iter().map(ToString::to_string).collect();
            let page = new_page(&state, &user, org, f, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "activate.html")]
pub struct ActivatePage {
    ctx: Option<Ctx>,
    username: String,
    errors: Vec<String>,
}

pub async fn activate_page() -> ActivatePage {
    ActivatePage {
        ctx: None,
        username: String::new(),
        errors: Vec::new(),
    }
}

#[derive(Deserialize)]
pub struct ActivateForm {
    username: String,
    code: String,
    password: String,
    password2: String,
}

pub async fn activate(
    State(state): State<AppState>,
    from: super::client::ClientAddr,
    Form(f): Form<ActivateForm>,
) -> Response {
    let refuse = |errors: Vec<String>| {
        let page = ActivatePage {
            ctx: None,
            username: f.username.trim().to_owned(),
            errors,
        };
        (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
    };
    if f.password != f.password2 {
        return refuse(vec!["新密码：两次输入不一致".into()]);
    }
    match state
        .services
        .membership()
        .activate(&f.username, &f.code, &f.password, from.as_deref())
        .await
    {
        Ok(()) => Redirect::to("/login?activated=1").into_response(),
        Err(ServiceError::Invalid(list)) => refuse(list.iter().map(ToString::to_string).collect()),
        Err(e @ (ServiceError::ActivationLocked(_) | ServiceError::Throttled(_))) => {
            refuse(vec![e.to_string()])
        }
        Err(e) => AppError::Service(e).into_response(),
    }
}

/// A new one-time code for a member on record (imported, or whose code expired).
pub async fn issue_activation(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<MemberId>,
) -> Result<Response, AppError> {
    let a = state
        .services
        .membership()
        .issue_activation(Caller::User(&user.actor), id)
        .await?;
    let m = state
        .services
        .directory()
        .member(Caller::User(&user.actor), id)
        .await?;
    Ok(MemberAddedPage {
        ctx: Some(Ctx::new(&user, "members")),
        name: m.name,
        username: a.username,
        code: a.code,
        expires: a.expires,
        member_id: id.0,
        org_id: m.org_id.0,
        reissued: true,
    }
    .into_response())
}
