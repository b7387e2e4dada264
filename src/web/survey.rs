//! The 摸底核查 workspace of an organisation.

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
use crate::domain::{MemberId, OrgId};
use crate::forms::Catalogue;
use crate::service::survey::Check;
use crate::service::survey::{SurveyCounts, SurveyView};
use crate::service::{Caller, ServiceError};

pub struct Row {
    member_id: i64,
    name: String,
    category: String,
    firm: String,
    basic_ok: bool,
    transfer_ok: bool,
    dues_ok: bool,
    life_ok: bool,
    transferred: String,
    transferred_label: &'static str,
    case_code: String,
    reason: String,
    /// Prefilled from a member list, not yet confirmed.
    imported: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "survey.html")]
pub struct SurveyPage {
    ctx: Option<Ctx>,
    csrf: String,
    org_id: i64,
    org_name: String,
    campaign: String,
    c: SurveyCounts,
    case_counts: Vec<(String, usize)>,
    cases: Vec<(String, String)>,
    rows: Vec<Row>,
    can_record: bool,
    lock: Option<crate::service::package::Lock>,
    notice: Option<String>,
    errors: Vec<String>,
}

fn page(user: &CurrentUser, v: SurveyView) -> SurveyPage {
    let cases = Catalogue::get()
        .list("case")
        .map(|l| l.codes.clone())
        .unwrap_or_default();
    let case_counts = cases
        .iter()
        .zip(v.counts.by_case)
        .map(|((c, _), n)| (format!("第{c}类"), n))
        .collect();
    let rows = v
        .rows
        .into_iter()
        .map(|r| {
            let c = r.check.unwrap_or_default();
            Row {
                member_id: r.member_id.0,
                name: r.name,
                category: super::view::code_label("category", &r.category),
                firm: r.firm_name,
                basic_ok: c.basic_ok,
                transfer_ok: c.transfer_ok,
                dues_ok: c.dues_ok,
                life_ok: c.life_ok,
                transferred_label: match c.transferred.as_str() {
                    "in" => "已转入",
                    "not_in" => "未转入",
                    _ => "未核查",
                },
                transferred: c.transferred,
                case_code: c.case_code.unwrap_or_default(),
                reason: c.reason.unwrap_or_default(),
                imported: c.imported,
            }
        })
        .collect();
    SurveyPage {
        ctx: Some(Ctx::new(user, "tree")),
        csrf: user.csrf.clone(),
        org_id: v.org.id.0,
        org_name: v.org.name,
        campaign: v.campaign_name,
        c: v.counts,
        case_counts,
        cases,
        rows,
        can_record: v.can_record,
        lock: v.lock.clone(),
        notice: None,
        errors: Vec::new(),
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
) -> Result<SurveyPage, AppError> {
    let v = state
        .services
        .survey()
        .view(Caller::User(&user.actor), id)
        .await?;
    let mut p = page(&user, v);
    p.notice = q.saved.map(|_| "已保存。".to_owned());
    Ok(p)
}

#[derive(Deserialize)]
pub struct RecordForm {
    member: String,
    basic_ok: Option<String>,
    transfer_ok: Option<String>,
    dues_ok: Option<String>,
    life_ok: Option<String>,
    #[serde(default)]
    transferred: String,
    case: Option<String>,
    reason: Option<String>,
}

pub async fn record(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Form(f): Form<RecordForm>,
) -> Result<Response, AppError> {
    let member = MemberId(
        f.member
            .trim()
            .parse()
            .map_err(|_| AppError::BadRequest("党员编号无效".into()))?,
    );
    let entry = Check {
        basic_ok: f.basic_ok.is_some(),
        transfer_ok: f.transfer_ok.is_some(),
        dues_ok: f.dues_ok.is_some(),
        life_ok: f.life_ok.is_some(),
        transferred: f.transferred,
        case_code: f.case,
        reason: f.reason,
        imported: false,
    };
    let caller = Caller::User(&user.actor);
    match state.services.survey().record(caller, member, entry).await {
        Ok(()) => Ok(
            Redirect::to(&format!("/orgs/{id}/survey?saved=1#survey-{}", member.0)).into_response(),
        ),
        Err(ServiceError::Invalid(list)) => {
            let v = state.services.survey().view(caller, id).await?;
            let mut p = page(&user, v);
            p.errors = list.iter().map(ToString::to_string).collect();
            Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
