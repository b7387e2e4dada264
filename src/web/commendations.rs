//! 宣传 pages: a node's commendations and those waiting for its decision, the nomination form
//! (with the warnings shown before anything is stored), a commendation with its history and
//! the decision form, and the printable and exported 表彰名单.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::path::Path;
use super::view::Ctx;
use super::{AppError, AppState, CurrentUser};
use crate::domain::{MemberId, OrgId};
use crate::service::commendations::{Decision, Nominated, NominationForm, Shown, roll_title};
use crate::service::{Caller, ServiceError, beijing_time};
use crate::store::commendations::{Commendation, Filter, Kind, State as CState, Step};
use crate::store::orgs::Org;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    year: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    kind: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "commendations.html")]
pub struct ListPage {
    ctx: Option<Ctx>,
    org: Org,
    rows: Vec<Commendation>,
    waiting: Vec<Commendation>,
    year: String,
    state: String,
    kind: String,
    kinds: Vec<(&'static str, &'static str)>,
    can_nominate: bool,
}

fn year_of(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

/// `GET /orgs/{id}/commendations`.
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Query(q): Query<ListQuery>,
) -> Result<ListPage, AppError> {
    let filter = Filter {
        year: year_of(&q.year),
        state: CState::parse(&q.state),
        kind: Kind::parse(&q.kind),
        ..Filter::default()
    };
    let (org, rows, waiting) = state
        .services
        .commendations()
        .list(Caller::User(&user.actor), id, &filter)
        .await?;
    let can_nominate = crate::authz::authorize(
        &user.actor,
        crate::authz::Action::ManageMembers,
        Some(&org.path),
    ) == crate::authz::Decision::Allow;
    Ok(ListPage {
        ctx: Some(Ctx::new(&user, "tree")),
        org,
        rows,
        waiting,
        year: filter.year.map(|y| y.to_string()).unwrap_or_default(),
        state: filter
            .state
            .map(|s| s.code().to_owned())
            .unwrap_or_default(),
        kind: filter.kind.map(|k| k.code().to_owned()).unwrap_or_default(),
        kinds: Kind::ALL.iter().map(|k| (k.code(), k.label())).collect(),
        can_nominate,
    })
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    kind: String,
    member: Option<i64>,
    org: Option<i64>,
}

/// The nomination form, filled or refilled.
#[derive(Template, WebTemplate)]
#[template(path = "commendation_new.html")]
pub struct NewPage {
    ctx: Option<Ctx>,
    csrf: String,
    node: Org,
    /// The levels an award can be of: the node and those above it.
    levels: Vec<Org>,
    kind: String,
    kinds: Vec<(&'static str, &'static str)>,
    member: Option<i64>,
    org: Option<i64>,
    subject: String,
    warnings: Vec<String>,
    /// The warnings were shown on a nomination that was not stored yet.
    confirm: bool,
    errors: Vec<String>,
    post: String,
    citation: String,
    year: String,
    awarding: i64,
    awarded_on: String,
}

#[allow(clippy::too_many_arguments)]
async fn new_page(
    state: &AppState,
    user: &CurrentUser,
    node: OrgId,
    f: &NominationForm,
    warnings: Vec<String>,
    confirm: bool,
    errors: Vec<String>,
) -> Result<NewPage, AppError> {
    let caller = Caller::User(&user.actor);
    let svc = state.services.commendations();
    let (org, levels) = svc.levels(caller, node).await?;
    let kind = Kind::parse(&f.kind).unwrap_or(if f.org.is_some() {
        Kind::Org
    } else {
        Kind::Member
    });
    let (subject, preview) = match svc.preview(caller, node, kind, f.member, f.org).await {
        Ok(p) => p,
        Err(ServiceError::Invalid(_)) => (String::new(), Vec::new()),
        Err(e) => return Err(e.into()),
    };
    Ok(NewPage {
        ctx: Some(Ctx::new(user, "tree")),
        csrf: user.csrf.clone(),
        awarding: f.awarding.map_or(org.id.0, |a| a.0),
        node: org,
        levels,
        kind: kind.code().to_owned(),
        kinds: Kind::ALL.iter().map(|k| (k.code(), k.label())).collect(),
        member: f.member.map(|m| m.0),
        org: f.org.map(|o| o.0),
        subject,
        warnings: if warnings.is_empty() {
            preview
        } else {
            warnings
        },
        confirm,
        errors,
        post: f.post.clone(),
        citation: f.citation.clone(),
        year: if f.year.is_empty() {
            crate::service::beijing_today().year().to_string()
        } else {
            f.year.clone()
        },
        awarded_on: f.awarded_on.clone(),
    })
}

/// `GET /orgs/{id}/commendations/new?kind=…&member=…|org=…`.
pub async fn new(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(node): Path<OrgId>,
    Query(q): Query<NewQuery>,
) -> Result<NewPage, AppError> {
    let f = NominationForm {
        kind: q.kind,
        member: q.member.map(MemberId),
        org: q.org.map(OrgId),
        ..NominationForm::default()
    };
    new_page(&state, &user, node, &f, Vec::new(), false, Vec::new()).await
}

#[derive(Deserialize, Default)]
pub struct NominateForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    member: String,
    #[serde(default)]
    org: String,
    #[serde(default)]
    post: String,
    #[serde(default)]
    citation: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    awarding: String,
    #[serde(default)]
    awarded_on: String,
    #[serde(default)]
    confirmed: String,
}

/// `POST /orgs/{id}/commendations`: nominate; warnings first, then the nomination.
pub async fn nominate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(node): Path<OrgId>,
    Form(f): Form<NominateForm>,
) -> Result<Response, AppError> {
    let form = NominationForm {
        kind: f.kind,
        member: f.member.trim().parse().ok().map(MemberId),
        org: f.org.trim().parse().ok().map(OrgId),
        post: f.post,
        citation: f.citation,
        year: f.year,
        awarding: f.awarding.trim().parse().ok().map(OrgId),
        awarded_on: f.awarded_on,
        confirmed: !f.confirmed.is_empty(),
    };
    match state
        .services
        .commendations()
        .nominate(Caller::User(&user.actor), node, &form)
        .await
    {
        Ok(Nominated::Done(id)) => {
            Ok(Redirect::to(&format!("/commendations/{id}")).into_response())
        }
        Ok(Nominated::Warnings(w)) => Ok(new_page(&state, &user, node, &form, w, true, Vec::new())
            .await?
            .into_response()),
        Err(ServiceError::Invalid(list)) => {
            let errors = list.iter().map(ToString::to_string).collect();
            let page = new_page(&state, &user, node, &form, Vec::new(), false, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "commendation.html")]
pub struct ShowPage {
    ctx: Option<Ctx>,
    csrf: String,
    s: Shown,
    steps: Vec<(String, Step)>,
    errors: Vec<String>,
}

async fn show_page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    errors: Vec<String>,
) -> Result<ShowPage, AppError> {
    let s = state
        .services
        .commendations()
        .show(Caller::User(&user.actor), id)
        .await?;
    Ok(ShowPage {
        ctx: Some(Ctx::new(user, "tree")),
        csrf: user.csrf.clone(),
        steps: s
            .steps
            .iter()
            .map(|st| (beijing_time(st.at), st.clone()))
            .collect(),
        s,
        errors,
    })
}

/// `GET /commendations/{id}`.
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<ShowPage, AppError> {
    show_page(&state, &user, id, Vec::new()).await
}

#[derive(Deserialize, Default)]
pub struct DecideForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    awarded_on: String,
}

/// `POST /commendations/{id}/decide`.
pub async fn decide(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<DecideForm>,
) -> Result<Response, AppError> {
    let Some(decision) = Decision::parse(&f.decision) else {
        let page = show_page(&state, &user, id, vec!["请选择审批意见".into()]).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    match state
        .services
        .commendations()
        .decide(
            Caller::User(&user.actor),
            id,
            decision,
            &f.note,
            &f.awarded_on,
        )
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/commendations/{id}")).into_response()),
        Err(ServiceError::Invalid(list)) => {
            let errors = list.iter().map(ToString::to_string).collect();
            let page = show_page(&state, &user, id, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct RollQuery {
    #[serde(default)]
    year: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "commendation_roll.html")]
pub struct RollPage {
    ctx: Option<Ctx>,
    org_id: i64,
    title: String,
    year: String,
    rows: Vec<Commendation>,
}

/// `GET /orgs/{id}/commendations/roll?year=…`: the printable 表彰名单.
pub async fn roll(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Query(q): Query<RollQuery>,
) -> Result<RollPage, AppError> {
    let (org, year, rows) = state
        .services
        .commendations()
        .roll(Caller::User(&user.actor), id, year_of(&q.year))
        .await?;
    Ok(RollPage {
        ctx: Some(Ctx::new(&user, "tree")),
        org_id: org.id.0,
        title: roll_title(&org, year),
        year: year.map(|y| y.to_string()).unwrap_or_default(),
        rows,
    })
}

/// `GET /orgs/{id}/commendations/roll.xlsx?year=…`.
pub async fn roll_xlsx(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Query(q): Query<RollQuery>,
) -> Result<Response, AppError> {
    let (name, bytes) = state
        .services
        .commendations()
        .roll_xlsx(Caller::User(&user.actor), id, year_of(&q.year))
        .await?;
    Ok(super::export::xlsx_download(&name, bytes))
}
