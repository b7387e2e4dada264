//! 查阅记录: who accessed a member's record, what a user accessed, and one's own history;
//! filterable by date and exportable.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};

use super::path::Path;
use axum::response::Response;
use serde::Deserialize;

use super::view::{Ctx, Pager, paging};
use super::{AppError, AppState, CurrentUser};
use crate::domain::audit::{action_label, detail_text, target_label, target_link};
use crate::domain::{MemberId, Role, UserId};
use crate::service::reads::{Access, AccessFilter};
use crate::service::{Caller, beijing_time};

#[derive(Deserialize, Default)]
pub struct AccessQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    page: Option<String>,
}

pub struct AccessRow {
    at: String,
    actor: String,
    username: String,
    org: String,
    role: &'static str,
    source: String,
    action: String,
    target: String,
    link: Option<String>,
    detail: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "accesses.html")]
pub struct AccessesPage {
    ctx: Option<Ctx>,
    heading: String,
    /// Whose record (a member's history) or whose accesses (a user's).
    of_member: bool,
    action_path: String,
    q: AccessQuery,
    errors: Vec<String>,
    rows: Vec<AccessRow>,
    pager: Pager,
    export: String,
}

/// The date filter the query asks for, and what in it could not be read.
fn filter_of(q: &AccessQuery) -> (AccessFilter, Vec<String>) {
    let mut errors = Vec::new();
    let (from, to) = super::audit::period_of(&q.from, &q.to, &mut errors);
    (AccessFilter { from, to }, errors)
}

fn page_of(q: &AccessQuery) -> (i64, i64) {
    paging(
        q.page
            .as_deref()
            .and_then(|p| p.trim().parse().ok())
            .filter(|n: &i64| *n > 0),
    )
}

fn row_of(a: &Access) -> AccessRow {
    let e = &a.event;
    let mut detail = detail_text(&e.detail);
    if a.covered {
        detail = format!("导出本级及下级全部名单（含此人）；{detail}");
    }
    AccessRow {
        at: beijing_time(e.at),
        actor: e
            .actor_name
            .clone()
            .unwrap_or_else(|| e.actor_username.clone()),
        username: e.actor_username.clone(),
        org: e.actor_org.clone().unwrap_or_default(),
        role: Role::from_code(&e.actor_role).map_or("系统", Role::label),
        source: e.source.clone().unwrap_or_default(),
        action: action_label(&e.action).to_owned(),
        target: format!("{} {}", target_label(&e.target_kind), e.target_id),
        link: target_link(&e.target_kind, &e.target_id),
        detail,
    }
}

fn params(q: &AccessQuery) -> [(&'static str, String); 2] {
    [("from", q.from.clone()), ("to", q.to.clone())]
}

/// 查阅记录 of a member: who opened, listed or exported their record.
pub async fn of_member(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<MemberId>,
    Query(q): Query<AccessQuery>,
) -> Result<AccessesPage, AppError> {
    let (page_no, per_page) = page_of(&q);
    let (filter, errors) = filter_of(&q);
    let (member, page) = state
        .services
        .reads()
        .of_member(Caller::User(&user.actor), id, &filter, page_no, per_page)
        .await?;
    let path = format!("/members/{id}/accesses");
    let p = params(&q);
    Ok(AccessesPage {
        ctx: Some(Ctx::new(&user, "members")),
        heading: format!("{} 的查阅记录", member.name),
        of_member: true,
        export: format!(
            "{path}.xlsx?{}",
            serde_urlencoded::to_string(&p).unwrap_or_default()
        ),
        pager: Pager::new(&path, &p, &page),
        action_path: path,
        rows: page.items.iter().map(row_of).collect(),
        errors,
        q,
    })
}

/// What one account accessed (auditors and administrators; anyone for themselves).
pub async fn of_user(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<UserId>,
    Query(q): Query<AccessQuery>,
) -> Result<AccessesPage, AppError> {
    user_page(state, user, id, q, format!("/users/{id}/accesses")).await
}

/// 我的查阅记录.
pub async fn own(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<AccessQuery>,
) -> Result<AccessesPage, AppError> {
    let id = user.actor.user_id;
    user_page(state, user, id, q, "/account/accesses".to_owned()).await
}

async fn user_page(
    state: AppState,
    user: CurrentUser,
    id: UserId,
    q: AccessQuery,
    path: String,
) -> Result<AccessesPage, AppError> {
    let (page_no, per_page) = page_of(&q);
    let (filter, errors) = filter_of(&q);
    let (account, page) = state
        .services
        .reads()
        .of_user(Caller::User(&user.actor), id, &filter, page_no, per_page)
        .await?;
    let own = account.id == user.actor.user_id;
    let p = params(&q);
    Ok(AccessesPage {
        ctx: Some(Ctx::new(&user, if own { "account" } else { "users" })),
        heading: if own {
            "我的查阅记录".to_owned()
        } else {
            format!("{}（{}）查阅的记录", account.display_name, account.username)
        },
        of_member: false,
        export: format!(
            "/users/{id}/accesses.xlsx?{}",
            serde_urlencoded::to_string(&p).unwrap_or_default()
        ),
        pager: Pager::new(&path, &p, &page),
        action_path: path,
        rows: page.items.iter().map(row_of).collect(),
        errors,
        q,
    })
}

pub async fn of_member_xlsx(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<MemberId>,
    Query(q): Query<AccessQuery>,
) -> Result<Response, AppError> {
    let (filter, _) = filter_of(&q);
    let (name, bytes) = state
        .services
        .reads()
        .member_xlsx(Caller::User(&user.actor), id, &filter)
        .await?;
    Ok(super::export::xlsx_download(&name, bytes))
}

pub async fn of_user_xlsx(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<UserId>,
    Query(q): Query<AccessQuery>,
) -> Result<Response, AppError> {
    let (filter, _) = filter_of(&q);
    let (name, bytes) = state
        .services
        .reads()
        .user_xlsx(Caller::User(&user.actor), id, &filter)
        .await?;
    Ok(super::export::xlsx_download(&name, bytes))
}
