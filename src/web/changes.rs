//! 定期上报 pages: a node's changes of a period with its change set (submit), the parent's
//! decision (accept, return the set or one change) and the keeping node's answer to a return.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::path::Path;
use super::view::{Ctx, Pager};
use super::{AppError, AppState, CurrentUser};
use crate::domain::OrgId;
use crate::domain::change::{self, ChangeKind, ChangeState};
use crate::service::changes::ChangesView;
use crate::service::{Caller, ServiceError, beijing_time};
use crate::store::changes::ChangeFilter;
use crate::store::roster::RecordKind;

#[derive(Deserialize, Default, Clone)]
pub struct ChangesQuery {
    #[serde(default)]
    period: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    done: String,
}

impl ChangesQuery {
    fn filter(&self) -> ChangeFilter {
        ChangeFilter {
            kind: ChangeKind::from_code(&self.kind),
            state: ChangeState::from_code(&self.state),
            page: self.page.parse::<i64>().unwrap_or(1).max(1),
            per_page: PER_PAGE,
        }
    }
}

const PER_PAGE: i64 = 100;

/// One change as the page shows it.
pub struct ChangeRow {
    pub id: i64,
    pub kind: &'static str,
    pub subject: String,
    pub href: String,
    /// "label：before → after" lines.
    pub fields: Vec<String>,
    pub note: String,
    pub effective_on: String,
    pub keeper: String,
    pub recorded: String,
    pub state: &'static str,
    pub pending: bool,
    pub returned: Option<String>,
    pub answer: String,
    pub can_answer: bool,
}

pub struct ChildRow {
    pub id: i64,
    pub name: String,
    pub changes: i64,
    pub state: String,
    pub deadline: String,
    pub overdue_days: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "changes.html")]
pub struct ChangesPage {
    ctx: Option<Ctx>,
    csrf: String,
    org_id: i64,
    org_name: String,
    parent_name: String,
    cadence: &'static str,
    period: String,
    period_label: String,
    periods: Vec<(String, String)>,
    set_state: String,
    set_detail: String,
    deadline: String,
    overdue_days: i64,
    counts: Vec<(&'static str, i64)>,
    total: i64,
    returned: i64,
    accepted: i64,
    kinds: Vec<(&'static str, &'static str)>,
    kind: String,
    state: String,
    rows: Vec<ChangeRow>,
    children: Vec<ChildRow>,
    pager: Pager,
    blockers: Vec<String>,
    can_submit: bool,
    can_decide: bool,
    notice: Option<&'static str>,
    errors: Vec<String>,
}

fn subject_label(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Member => "党员",
        RecordKind::Firm => "律师事务所",
        RecordKind::Org => "党组织",
    }
}

fn page_of(
    v: ChangesView,
    user: &CurrentUser,
    q: &ChangesQuery,
    errors: Vec<String>,
) -> ChangesPage {
    let params = vec![
        ("period", v.period.clone()),
        ("kind", q.kind.clone()),
        ("state", q.state.clone()),
    ];
    let rows = v
        .changes
        .items
        .iter()
        .map(|c| ChangeRow {
            id: c.id,
            kind: c.kind.label(),
            subject: format!("{}：{}", subject_label(c.subject), c.subject_name),
            href: match c.subject {
                RecordKind::Member => format!("/members/{}/archive", c.subject_id),
                RecordKind::Firm => format!("/firms/{}", c.subject_id),
                RecordKind::Org => format!("/orgs/{}/archive", c.subject_id),
            },
            fields: c
                .fields
                .iter()
                .map(|(k, a, b)| {
                    let a = if a.is_empty() {
                        "（无）"
                    } else {
                        a.as_str()
                    };
                    format!("{k}：{a} → {b}")
                })
                .collect(),
            note: c.note.clone(),
            effective_on: c.effective_on.clone(),
            keeper: c.org_name.clone(),
            recorded: format!("{} {}", c.recorder_name, beijing_time(c.recorded_at)),
            state: c.state.label(),
            pending: c.state == ChangeState::Pending,
            returned: c.returned_reason.as_ref().map(|r| {
                format!(
                    "{}（{} {}）",
                    r,
                    c.returned_by_name.clone().unwrap_or_default(),
                    c.returned_at.map(beijing_time).unwrap_or_default()
                )
            }),
            answer: c.answer.clone().unwrap_or_default(),
            can_answer: c.state == ChangeState::Returned && v.caller_org == Some(c.org_id),
        })
        .collect();
    let children = v
        .children
        .iter()
        .map(|c| ChildRow {
            id: c.org.id.0,
            name: c.org.name.clone(),
            changes: c.changes,
            state: c
                .set
                .as_ref()
                .map_or("未报送".to_owned(), |s| s.state.label().to_owned()),
            deadline: c.deadline.clone(),
            overdue_days: c.overdue_days,
        })
        .collect();
    let (set_state, set_detail) = match &v.set {
        Some(s) => (
            s.state.label().to_owned(),
            format!(
                "{} 于 {} 报送 {} 条{}{}",
                s.submitter_name,
                beijing_time(s.submitted_at),
                s.changes,
                if s.late_days > 0 {
                    format!("（逾期 {} 天报送）", s.late_days)
                } else {
                    String::new()
                },
                match (&s.decider_name, s.decided_at) {
                    (Some(n), Some(at)) => format!(
                        "；{n} {} 处理{}",
                        beijing_time(at),
                        s.reason
                            .as_ref()
                            .map(|r| format!("：{r}"))
                            .unwrap_or_default()
                    ),
                    _ => String::new(),
                }
            ),
        ),
        None if v.org.parent_id.is_none() => ("全国接收即为正式名册".to_owned(), String::new()),
        None => ("未报送".to_owned(), String::new()),
    };
    ChangesPage {
        ctx: Some(Ctx::new(user, "tree")),
        csrf: user.csrf.clone(),
        org_id: v.org.id.0,
        org_name: v.org.name.clone(),
        parent_name: v
            .parent
            .as_ref()
            .map(|p| p.name.clone())
            .unwrap_or_default(),
        cadence: v.cadence.label(),
        period_label: change::period_label(&v.period),
        periods: v
            .periods
            .iter()
            .map(|p| (p.clone(), change::period_label(p)))
            .collect(),
        set_state,
        set_detail,
        deadline: v.deadline.clone(),
        overdue_days: v.overdue_days,
        counts: ChangeKind::ALL
            .iter()
            .zip(v.counts.by_kind)
            .map(|(k, n)| (k.label(), n))
            .collect(),
        total: v.counts.total,
        returned: v.counts.returned,
        accepted: v.counts.accepted,
        kinds: ChangeKind::ALL
            .iter()
            .map(|k| (k.code(), k.label()))
            .collect(),
        kind: q.kind.clone(),
        state: q.state.clone(),
        rows,
        children,
        pager: Pager::new(
            &format!("/orgs/{}/changes", v.org.id.0),
            &params,
            &v.changes,
        ),
        blockers: v.blockers.clone(),
        can_submit: v.can_submit,
        can_decide: v.can_decide,
        notice: match q.done.as_str() {
            "submit" => Some("本期变更已报送上级。"),
            "accept" => Some("已接收该组织本期报送的变更。"),
            "return" => Some("已退回，该组织会收到通知。"),
            "answer" => Some("已填写处理说明，该变更将随本组织下次报送一并上报。"),
            _ => None,
        },
        period: v.period,
        errors,
    }
}

async fn show_page(
    state: &AppState,
    user: &CurrentUser,
    id: OrgId,
    q: &ChangesQuery,
    errors: Vec<String>,
) -> Result<ChangesPage, AppError> {
    let v = state
        .services
        .changes()
        .view(Caller::User(&user.actor), id, Some(&q.period), &q.filter())
        .await?;
    Ok(page_of(v, user, q, errors))
}

/// `GET /orgs/{id}/changes?period=2027-01`: the node's changes of a period and its set.
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Query(q): Query<ChangesQuery>,
) -> Result<Response, AppError> {
    match show_page(&state, &user, id, &q, Vec::new()).await {
        Ok(p) => Ok(p.into_response()),
        Err(AppError::Service(ServiceError::Invalid(list))) => {
            let q = ChangesQuery::default();
            let errors = list.iter().map(ToString::to_string).collect();
            let p = show_page(&state, &user, id, &q, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
pub struct SetForm {
    #[serde(default)]
    period: String,
    #[serde(default)]
    reason: String,
}

/// After a change: back to the node's page of the period, or the page with the refusal.
async fn after(
    state: &AppState,
    user: &CurrentUser,
    (org, period): (OrgId, &str),
    done: &str,
    r: Result<(), ServiceError>,
) -> Result<Response, AppError> {
    let back = ChangesQuery {
        period: period.to_owned(),
        ..Default::default()
    };
    let (status, errors) = match r {
        Ok(()) => {
            let query = serde_urlencoded::to_string([("period", period), ("done", done)])
                .unwrap_or_default();
            return Ok(Redirect::to(&format!("/orgs/{}/changes?{query}", org.0)).into_response());
        }
        Err(ServiceError::Invalid(list)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            list.iter().map(ToString::to_string).collect(),
        ),
        Err(ServiceError::Conflict(r)) => (StatusCode::CONFLICT, vec![r.to_string()]),
        Err(e) => return Err(e.into()),
    };
    let page = show_page(state, user, org, &back, errors).await?;
    Ok((status, page).into_response())
}

/// `POST /orgs/{id}/changes/submit`
pub async fn submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Form(f): Form<SetForm>,
) -> Result<Response, AppError> {
    let r = state
        .services
        .changes()
        .submit(Caller::User(&user.actor), id, f.period.trim())
        .await;
    after(&state, &user, (id, f.period.trim()), "submit", r).await
}

/// `POST /orgs/{id}/changes/accept` (a reviewer of the parent)
pub async fn accept(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Form(f): Form<SetForm>,
) -> Result<Response, AppError> {
    let r = state
        .services
        .changes()
        .accept(Caller::User(&user.actor), id, f.period.trim())
        .await
        .map(|_| ());
    after(&state, &user, (id, f.period.trim()), "accept", r).await
}

/// `POST /orgs/{id}/changes/return` (a reviewer of the parent: the whole set)
pub async fn send_back(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Form(f): Form<SetForm>,
) -> Result<Response, AppError> {
    let r = state
        .services
        .changes()
        .send_back(Caller::User(&user.actor), id, f.period.trim(), &f.reason)
        .await;
    after(&state, &user, (id, f.period.trim()), "return", r).await
}

#[derive(Deserialize, Default)]
pub struct OneForm {
    /// The node whose page the form was on (where to come back to).
    #[serde(default)]
    org: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    text: String,
}

impl OneForm {
    fn back(&self, user: &CurrentUser) -> OrgId {
        self.org.parse().map_or(user.actor.org_id, OrgId)
    }
}

/// `POST /changes/{id}/return`: return one change with a reason.
pub async fn return_one(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<OneForm>,
) -> Result<Response, AppError> {
    let r = state
        .services
        .changes()
        .return_change(Caller::User(&user.actor), id, &f.text)
        .await;
    after(&state, &user, (f.back(&user), f.period.trim()), "return", r).await
}

/// `POST /changes/{id}/answer`: the keeping node's answer to a returned change.
pub async fn answer(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<OneForm>,
) -> Result<Response, AppError> {
    let r = state
        .services
        .changes()
        .answer(Caller::User(&user.actor), id, &f.text)
        .await;
    after(&state, &user, (f.back(&user), f.period.trim()), "answer", r).await
}
