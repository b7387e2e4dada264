//! 追责 pages: a node's register over its subtree with counts and filters, one record with its
//! people and evidence and the handling form, and the register as .xlsx.

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
use crate::domain::{AccountKind, AccountabilityId, Handling, OrgId};
use crate::service::accountability::{Account, AccountFilter, AccountView};
use crate::service::{Caller, ServiceError, beijing_time};

pub struct AccountLine {
    id: i64,
    org_id: i64,
    org: String,
    kind: &'static str,
    source: &'static str,
    summary: String,
    people: Vec<(String, String)>,
    evidence: Vec<(String, String)>,
    decision: &'static str,
    decided: bool,
    decision_note: String,
    decided_on: String,
    decider: String,
    recorded: String,
    version: i64,
}

fn line(a: &Account) -> AccountLine {
    AccountLine {
        id: a.id.0,
        org_id: a.org_id.0,
        org: a.org_name.clone(),
        kind: a.kind.label(),
        source: a.source.label(),
        summary: a.summary.clone(),
        people: a
            .people
            .iter()
            .map(|p| (p.role.clone(), p.name.clone()))
            .collect(),
        evidence: a
            .evidence
            .iter()
            .map(|e| (e.label.clone(), e.link.clone()))
            .collect(),
        decision: a.decision.map_or("待处理", Handling::label),
        decided: a.decision.is_some(),
        decision_note: a.decision_note.clone().unwrap_or_default(),
        decided_on: a.decided_on.clone().unwrap_or_default(),
        decider: a.decider_name.clone().unwrap_or_default(),
        recorded: beijing_time(a.recorded_at),
        version: a.version,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "accountability.html")]
pub struct RegisterPage {
    ctx: Option<Ctx>,
    org_id: i64,
    org_name: String,
    falsified: i64,
    delay: i64,
    undecided: i64,
    rows: Vec<AccountLine>,
    kind: String,
    state: String,
    pager: Pager,
}

#[derive(Deserialize, Default)]
pub struct RegisterQuery {
    kind: Option<String>,
    state: Option<String>,
    page: Option<i64>,
}

pub async fn register(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Query(q): Query<RegisterQuery>,
) -> Result<RegisterPage, AppError> {
    let kind = q.kind.unwrap_or_default();
    let st = q
        .state
        .filter(|s| matches!(s.as_str(), "open" | "decided"))
        .unwrap_or_default();
    let f = AccountFilter {
        kind: AccountKind::parse(&kind),
        state: (!st.is_empty()).then(|| st.clone()),
        page: q.page.unwrap_or(1),
        per_page: 50,
    };
    let v = state
        .services
        .accountability()
        .register(Caller::User(&user.actor), id, &f)
        .await?;
    let pager = Pager::new(
        &format!("/orgs/{}/accountability", id.0),
        &[("kind", kind.clone()), ("state", st.clone())],
        &v.page,
    );
    Ok(RegisterPage {
        ctx: Some(Ctx::new(&user, "tree")),
        org_id: v.org.id.0,
        org_name: v.org.name.clone(),
        falsified: v.counts.falsified,
        delay: v.counts.delay,
        undecided: v.counts.undecided,
        rows: v.page.items.iter().map(line).collect(),
        kind,
        state: st,
        pager,
    })
}

pub async fn register_xlsx(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
) -> Result<Response, AppError> {
    let (name, bytes) = state
        .services
        .accountability()
        .register_xlsx(Caller::User(&user.actor), id)
        .await?;
    Ok(super::export::xlsx_download(&name, bytes))
}

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
pub struct AccountPage {
    ctx: Option<Ctx>,
    csrf: String,
    a: AccountLine,
    can_decide: bool,
    handlings: Vec<(&'static str, &'static str)>,
    today: String,
    notice: Option<String>,
    errors: Vec<String>,
}

fn account_page(user: &CurrentUser, v: &AccountView) -> AccountPage {
    AccountPage {
        ctx: Some(Ctx::new(user, "tree")),
        csrf: user.csrf.clone(),
        a: line(&v.account),
        can_decide: v.can_decide,
        handlings: Handling::ALL
            .iter()
            .map(|h| (h.code(), h.label()))
            .collect(),
        today: v.today.clone(),
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
    Path(id): Path<AccountabilityId>,
    Query(q): Query<ShowQuery>,
) -> Result<AccountPage, AppError> {
    let v = state
        .services
        .accountability()
        .view(Caller::User(&user.actor), id)
        .await?;
    let mut p = account_page(&user, &v);
    p.notice = q.done.map(|_| "已记录处理情况。".to_owned());
    Ok(p)
}

#[derive(Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    on: String,
    #[serde(default)]
    version: i64,
}

pub async fn decide(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<AccountabilityId>,
    Form(f): Form<DecideForm>,
) -> Result<Response, AppError> {
    let caller = Caller::User(&user.actor);
    match state
        .services
        .accountability()
        .decide(caller, id, f.version, &f.decision, &f.note, &f.on)
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/accountability/{}?done=1", id.0)).into_response()),
        Err(ServiceError::Invalid(list)) => {
            let v = state.services.accountability().view(caller, id).await?;
            let mut p = account_page(&user, &v);
            p.errors = list.iter().map(ToString::to_string).collect();
            Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
