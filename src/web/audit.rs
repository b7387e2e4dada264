//! The audit log for people: actions in Chinese, who (name and organisation), the target as
//! a link, readable details, filters by date, user, action and node, and its export.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::view::{Ctx, Pager, paging};
use super::{AppError, AppState, CurrentUser};
use crate::domain::audit::{ACTIONS, action_label, detail_text, target_label, target_link};
use crate::domain::{OrgId, Role};
use crate::service::directory::AuditFilter;
use crate::service::{Caller, beijing_day_start, beijing_time};

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    action: String,
    /// `reads` (查阅) or `changes` (操作), or empty for both.
    #[serde(default)]
    kind: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    under: String,
    page: Option<String>,
}

pub struct AuditRow {
    at: String,
    actor: String,
    username: String,
    org: String,
    role: &'static str,
    action: String,
    target: String,
    link: Option<String>,
    detail: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
pub struct AuditPage {
    ctx: Option<Ctx>,
    q: AuditQuery,
    actions: &'static [(&'static str, &'static str)],
    errors: Vec<String>,
    rows: Vec<AuditRow>,
    pager: Pager,
    export: String,
}

/// The filter the query asks for, and what in it could not be read.
/// A 起始日期–截止日期 filter as typed: the period in unix seconds (from inclusive, to
/// exclusive, Beijing days), and what in it could not be read.
pub(super) fn period_of(
    from: &str,
    to: &str,
    errors: &mut Vec<String>,
) -> (Option<i64>, Option<i64>) {
    let mut day = |label: &str, v: &str| -> Option<time::Date> {
        let v = v.trim();
        if v.is_empty() {
            return None;
        }
        let d = crate::forms::rules::parse_date(v);
        if d.is_none() {
            errors.push(format!("{label}：请按 年-月-日 填写，例如 2018-09-01"));
        }
        d
    };
    let from = day("起始日期", from).map(beijing_day_start);
    let to = day("截止日期", to)
        .and_then(|d| d.next_day())
        .map(beijing_day_start);
    (from, to)
}

fn filter_of(q: &AuditQuery) -> (AuditFilter, Option<OrgId>, Vec<String>) {
    let mut errors = Vec::new();
    let (from, to) = period_of(&q.from, &q.to, &mut errors);
    let action = ACTIONS
        .iter()
        .find(|(c, _)| *c == q.action.trim())
        .map(|(c, _)| (*c).to_owned());
    let user: String = q.user.trim().chars().take(50).collect();
    let under = q
        .under
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(OrgId);
    (
        AuditFilter {
            action,
            kind: match q.kind.as_str() {
                "reads" => Some(crate::service::directory::EventKind::Reads),
                "changes" => Some(crate::service::directory::EventKind::Changes),
                _ => None,
            },
            user: (!user.is_empty()).then_some(user),
            from,
            to,
        },
        under,
        errors,
    )
}

pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<AuditQuery>,
) -> Result<AuditPage, AppError> {
    let (page_no, per_page) = paging(
        q.page
            .as_deref()
            .and_then(|p| p.trim().parse().ok())
            .filter(|n: &i64| *n > 0),
    );
    let (filter, under, errors) = filter_of(&q);
    let page = state
        .services
        .directory()
        .audit(
            Caller::User(&user.actor),
            under,
            &filter,
            page_no,
            50.max(per_page),
        )
        .await?;
    let rows = page
        .items
        .iter()
        .map(|e| AuditRow {
            at: beijing_time(e.at),
            actor: e
                .actor_name
                .clone()
                .unwrap_or_else(|| e.actor_username.clone()),
            username: e.actor_username.clone(),
            org: e.actor_org.clone().unwrap_or_default(),
            role: Role::from_code(&e.actor_role).map_or("系统", Role::label),
            action: action_label(&e.action).to_owned(),
            target: format!("{} {}", target_label(&e.target_kind), e.target_id),
            link: target_link(&e.target_kind, &e.target_id),
            detail: detail_text(&e.detail),
        })
        .collect();
    let params = [
        ("action", q.action.clone()),
        ("kind", q.kind.clone()),
        ("user", q.user.clone()),
        ("from", q.from.clone()),
        ("to", q.to.clone()),
        ("under", q.under.clone()),
    ];
    let export = format!(
        "/audit.xlsx?{}",
        serde_urlencoded::to_string(&params).unwrap_or_default()
    );
    Ok(AuditPage {
        ctx: Some(Ctx::new(&user, "audit")),
        pager: Pager::new("/audit", &params, &page),
        actions: ACTIONS,
        errors,
        rows,
        q,
        export,
    })
}

pub async fn export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<AuditQuery>,
) -> Result<Response, AppError> {
    let (filter, under, _) = filter_of(&q);
    let (name, bytes) = state
        .services
        .directory()
        .audit_xlsx(Caller::User(&user.actor), under, &filter)
        .await?;
    Ok(super::export::xlsx_download(&name, bytes))
}
