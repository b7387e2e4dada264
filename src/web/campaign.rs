//! The national administrator's campaign page: the campaigns so far, a new one (name, cut-off
//! date, the date the time rules are judged at, a deadline per level), deadlines, closing.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::view::Ctx;
use super::{AppError, AppState, CurrentUser};
use crate::service::campaign::Campaign;
use crate::service::campaign::{CampaignForm, Deadlines};
use crate::service::{Caller, ServiceError, beijing_time};

pub struct CampaignRow {
    pub name: String,
    pub cutoff: String,
    pub judged_at: String,
    pub deadlines: [String; 4],
    /// Days to a 分类处理 case's due date, per category 1–5.
    pub case_days: [i64; 5],
    pub created: String,
    pub closed: Option<String>,
}

fn row(c: &Campaign) -> CampaignRow {
    CampaignRow {
        name: c.name.clone(),
        cutoff: c.cutoff_date.clone(),
        judged_at: c.judged_at().to_owned(),
        deadlines: [
            c.deadline_firm.clone(),
            c.deadline_city.clone(),
            c.deadline_province.clone(),
            c.deadline_national.clone(),
        ],
        case_days: c.case_due_days,
        created: beijing_time(c.created_at),
        closed: c.closed_at.map(beijing_time),
    }
}

/// What the new-campaign form holds (kept when it is refused).
#[derive(Deserialize, Default, Clone)]
pub struct NewForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    cutoff: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    firm: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    province: String,
    #[serde(default)]
    national: String,
}

impl NewForm {
    fn deadlines(&self) -> Deadlines {
        Deadlines {
            firm: self.firm.clone(),
            city: self.city.clone(),
            province: self.province.clone(),
            national: self.national.clone(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "campaign.html")]
pub struct CampaignPage {
    ctx: Option<Ctx>,
    csrf: String,
    campaigns: Vec<CampaignRow>,
    /// The campaign under way (open).
    open: Option<CampaignRow>,
    form: NewForm,
    errors: Vec<String>,
    notice: Option<String>,
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    form: NewForm,
    errors: Vec<String>,
    notice: Option<String>,
) -> Result<CampaignPage, AppError> {
    let all = state
        .services
        .campaign()
        .list(Caller::User(&user.actor))
        .await?;
    Ok(CampaignPage {
        ctx: Some(Ctx::new(user, "campaign")),
        csrf: user.csrf.clone(),
        open: all.iter().find(|c| c.closed_at.is_none()).map(row),
        campaigns: all.iter().map(row).collect(),
        form,
        errors,
        notice,
    })
}

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    axum::extract::Query(q): axum::extract::Query<Done>,
) -> Result<CampaignPage, AppError> {
    let notice = q.done.map(|d| match d.as_str() {
        "new" => "已开展新的登记核查工作。".to_owned(),
        "deadlines" => "已更新各级截止日期。".to_owned(),
        "case_days" => "已更新分类处理办理天数（已开启的案件保持原办理期限）。".to_owned(),
        _ => "已结束该登记核查工作。".to_owned(),
    });
    page(&state, &user, NewForm::default(), Vec::new(), notice).await
}

/// A refusal shown on the page with what was typed; other errors as error pages.
async fn refused(
    state: &AppState,
    user: &CurrentUser,
    form: NewForm,
    e: ServiceError,
) -> Result<Response, AppError> {
    let errors = match e {
        ServiceError::Invalid(list) => list.iter().map(ToString::to_string).collect(),
        ServiceError::Conflict(m) => vec![m.to_string()],
        other => return Err(other.into()),
    };
    let p = page(state, user, form, errors, None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<NewForm>,
) -> Result<Response, AppError> {
    let form = CampaignForm {
        name: f.name.clone(),
        cutoff: f.cutoff.clone(),
        reference: f.reference.clone(),
        deadlines: f.deadlines(),
    };
    match state
        .services
        .campaign()
        .start(Caller::User(&user.actor), &form)
        .await
    {
        Ok(_) => Ok(Redirect::to("/campaign?done=new").into_response()),
        Err(e) => refused(&state, &user, f, e).await,
    }
}

pub async fn deadlines(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<NewForm>,
) -> Result<Response, AppError> {
    match state
        .services
        .campaign()
        .set_deadlines(Caller::User(&user.actor), &f.deadlines())
        .await
    {
        Ok(()) => Ok(Redirect::to("/campaign?done=deadlines").into_response()),
        Err(e) => refused(&state, &user, NewForm::default(), e).await,
    }
}

#[derive(Deserialize, Default)]
pub struct CaseDaysForm {
    #[serde(default)]
    c1: String,
    #[serde(default)]
    c2: String,
    #[serde(default)]
    c3: String,
    #[serde(default)]
    c4: String,
    #[serde(default)]
    c5: String,
}

pub async fn case_days(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<CaseDaysForm>,
) -> Result<Response, AppError> {
    match state
        .services
        .campaign()
        .set_case_due_days(Caller::User(&user.actor), &[f.c1, f.c2, f.c3, f.c4, f.c5])
        .await
    {
        Ok(()) => Ok(Redirect::to("/campaign?done=case_days").into_response()),
        Err(e) => refused(&state, &user, NewForm::default(), e).await,
    }
}

pub async fn close(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    match state
        .services
        .campaign()
        .close(Caller::User(&user.actor))
        .await
    {
        Ok(()) => Ok(Redirect::to("/campaign?done=close").into_response()),
        Err(e) => refused(&state, &user, NewForm::default(), e).await,
    }
}
