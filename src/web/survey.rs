//! The 摸底核查 workspace of an organisation.

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
use crate::domain::{MemberId, OrgId};
use crate::forms::Catalogue;
use crate::service::survey::Check;
use crate::service::survey::{RosterQuery, RosterShow, SurveyCounts, SurveyView};
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
    /// The search, filter and page shown (kept through a save).
    q: String,
    show: &'static str,
    shows: &'static [(RosterShow, &'static str, &'static str)],
    matched: usize,
    pager: Pager,
}

/// Members per page of the survey.
const PER_PAGE: i64 = 100;

fn page(user: &CurrentUser, v: SurveyView, query: &RosterQuery) -> SurveyPage {
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
        q: query.name.clone(),
        show: query.show.code(),
        shows: &RosterShow::ALL,
        matched: v.matched,
        pager: Pager::new(
            &format!("/orgs/{}/survey", v.org.id.0),
            &[
                ("q", query.name.clone()),
                ("show", query.show.code().to_owned()),
            ],
            &crate::service::directory::Page {
                items: Vec::<()>::new(),
                page: v.page,
                per_page: PER_PAGE,
                has_next: v.has_next,
            },
        ),
    }
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    saved: Option<String>,
    #[serde(default)]
    q: String,
    #[serde(default)]
    show: String,
    page: Option<String>,
}

fn roster_query(q: &str, show: &str, page: Option<&str>) -> RosterQuery {
    RosterQuery {
        name: q.trim().chars().take(30).collect(),
        show: RosterShow::parse(show),
        page: page
            .and_then(|p| p.trim().parse().ok())
            .filter(|p: &i64| *p > 0)
            .unwrap_or(1),
        per_page: PER_PAGE,
    }
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Query(q): Query<ShowQuery>,
) -> Result<SurveyPage, AppError> {
    let query = roster_query(&q.q, &q.show, q.page.as_deref());
    let v = state
        .services
        .survey()
        .view_page(Caller::User(&user.actor), id, &query)
        .await?;
    let mut p = page(&user, v, &query);
    p.notice = q.saved.map(|n| format!("已保存 {n} 名党员的核查情况。"));
    Ok(p)
}

/// One member's entry as posted: by the row's own form (`member`, `basic_ok` …) or in the
/// page's form (`basic_ok.12`, `transferred.12` …).
fn entry_of(pairs: &[(String, String)], suffix: &str) -> Check {
    let get = |name: &str| {
        let key = format!("{name}{suffix}");
        pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    };
    Check {
        basic_ok: get("basic_ok").is_some(),
        transfer_ok: get("transfer_ok").is_some(),
        dues_ok: get("dues_ok").is_some(),
        life_ok: get("life_ok").is_some(),
        transferred: get("transferred").unwrap_or_default(),
        case_code: get("case"),
        reason: get("reason"),
        imported: false,
    }
}

/// The same entry, compared as stored (empty texts are none).
fn same(a: &Check, b: &Check) -> bool {
    let norm = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    a.basic_ok == b.basic_ok
        && a.transfer_ok == b.transfer_ok
        && a.dues_ok == b.dues_ok
        && a.life_ok == b.life_ok
        && a.transferred == b.transferred
        && norm(&a.case_code) == norm(&b.case_code)
        && norm(&a.reason) == norm(&b.reason)
        && !b.imported
}

pub async fn record(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let value = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let query = roster_query(
        value("q").unwrap_or(""),
        value("show").unwrap_or(""),
        value("page"),
    );
    let caller = Caller::User(&user.actor);
    let parse_id = |v: &str| {
        v.trim()
            .parse::<i64>()
            .map(MemberId)
            .map_err(|_| AppError::BadRequest("党员编号无效".into()))
    };
    let mut anchor = String::new();
    let entries: Vec<(MemberId, Check)> = if let Some(m) = value("member") {
        // One row's own form.
        let member = parse_id(m)?;
        anchor = format!("#survey-{}", member.0);
        vec![(member, entry_of(&pairs, ""))]
    } else {
        let on_page: Vec<MemberId> = pairs
            .iter()
            .filter(|(k, _)| k == "m")
            .map(|(_, v)| parse_id(v))
            .collect::<Result<_, _>>()?;
        let selected: Vec<MemberId> = pairs
            .iter()
            .filter(|(k, _)| k == "sel")
            .map(|(_, v)| parse_id(v))
            .collect::<Result<_, _>>()?;
        if value("action") == Some("mark_in") {
            // Bulk: the selected members, all four checked and 已转入.
            selected
                .into_iter()
                .map(|m| {
                    (
                        m,
                        Check {
                            basic_ok: true,
                            transfer_ok: true,
                            dues_ok: true,
                            life_ok: true,
                            transferred: "in".into(),
                            case_code: None,
                            reason: None,
                            imported: false,
                        },
                    )
                })
                .collect()
        } else {
            // The page: rows that changed, and selected rows (an imported row is confirmed
            // only when selected or changed).
            let stored = state.services.survey().view(caller, id).await?;
            on_page
                .into_iter()
                .filter_map(|m| {
                    let entry = entry_of(&pairs, &format!(".{}", m.0));
                    let before = stored
                        .rows
                        .iter()
                        .find(|r| r.member_id == m)
                        .and_then(|r| r.check.clone());
                    let untouched = match &before {
                        Some(b) => same(&entry, b),
                        None => entry == Check::default(),
                    };
                    (!untouched || selected.contains(&m)).then_some((m, entry))
                })
                .collect()
        }
    };
    if entries.is_empty() {
        let why = if value("action") == Some("mark_in") {
            "请先勾选要标记的党员"
        } else {
            "本页没有修改，未保存"
        };
        return refused(&state, &user, id, &query, vec![why.to_owned()]).await;
    }
    match state.services.survey().record_many(caller, entries).await {
        Ok(n) => {
            let back = serde_urlencoded::to_string([
                ("saved", n.to_string()),
                ("q", query.name.clone()),
                ("show", query.show.code().to_owned()),
                ("page", query.page.to_string()),
            ])
            .unwrap_or_default();
            Ok(Redirect::to(&format!("/orgs/{id}/survey?{back}{anchor}")).into_response())
        }
        Err(ServiceError::Invalid(list)) => {
            refused(
                &state,
                &user,
                id,
                &query,
                list.iter().map(ToString::to_string).collect(),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// The same page again with what was refused, nothing saved.
async fn refused(
    state: &AppState,
    user: &CurrentUser,
    id: OrgId,
    query: &RosterQuery,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let v = state
        .services
        .survey()
        .view_page(Caller::User(&user.actor), id, query)
        .await?;
    let mut p = page(user, v, query);
    p.errors = errors;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
}
