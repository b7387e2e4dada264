//! The progress cockpit of a node over its children: totals, filters, 催办 and its export.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::path::Path;

use super::remind::RemindedQuery;
use super::view::{Ctx, Pager};
use super::{AppError, AppState, CurrentUser};
use crate::authz::{Action, Decision, authorize};
use crate::domain::OrgId;
use crate::service::Caller;
use crate::service::cockpit::{ChildStatus, Cockpit, Order, Show, percent_label};
use crate::store::orgs::Page;

#[derive(Deserialize, Default)]
pub struct CockpitQuery {
    #[serde(default)]
    show: String,
    #[serde(default)]
    sort: String,
    /// Text, not a number: numbers do not survive `serde(flatten)` of a query string.
    #[serde(default)]
    page: String,
    #[serde(flatten)]
    reminded: RemindedQuery,
}

#[derive(Template, WebTemplate)]
#[template(path = "cockpit.html")]
pub struct CockpitPage {
    ctx: Option<Ctx>,
    csrf: String,
    c: Cockpit,
    time_left: String,
    show: &'static str,
    sort: &'static str,
    /// (code, label) of the filter's choices.
    shows: Vec<(&'static str, &'static str)>,
    can_remind: bool,
    reminded: Option<String>,
    /// The children the filter keeps (the page shows [`PER_PAGE`] of them).
    shown: usize,
    /// 1-based positions of the first and last row of the page.
    first: usize,
    last: usize,
    pager: Pager,
}

/// Children per page: a city of 700 firm organisations is seven pages, not one page of
/// 270 KB (issue 20: what a busy machine renders per request).
pub const PER_PAGE: usize = 100;

impl CockpitPage {
    fn pct(&self, p: impl std::borrow::Borrow<Option<i64>>) -> String {
        percent_label(*p.borrow())
    }

    fn days(&self, d: impl std::borrow::Borrow<Option<i64>>) -> String {
        super::view::days_left_label(*d.borrow())
    }
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Query(q): Query<CockpitQuery>,
) -> Result<CockpitPage, AppError> {
    let show = Show::parse(&q.show);
    let order = Order::parse(&q.sort);
    let c = state
        .services
        .cockpit()
        .view(Caller::User(&user.actor), id, show, order)
        .await?;
    let shown = c.rows.len();
    let pages = shown.div_ceil(PER_PAGE).max(1);
    let page = q.page.trim().parse::<usize>().unwrap_or(1).clamp(1, pages);
    let mut c = c;
    let start = (page - 1) * PER_PAGE;
    c.rows = c.rows.drain(..).skip(start).take(PER_PAGE).collect();
    let pager = Pager::new(
        &format!("/orgs/{}/cockpit", id.0),
        &[
            ("show", show.code().to_owned()),
            ("sort", order.code().to_owned()),
        ],
        &Page {
            items: Vec::<()>::new(),
            page: page as i64,
            per_page: PER_PAGE as i64,
            has_next: page < pages,
        },
    );
    let mut shows = vec![("", "全部"), ("outstanding", "未报送"), ("overdue", "逾期")];
    shows.extend(ChildStatus::ALL.iter().map(|s| (s.code(), s.label())));
    Ok(CockpitPage {
        ctx: Some(Ctx::new(&user, "tree")),
        csrf: user.csrf.clone(),
        can_remind: !c.closed
            && authorize(&user.actor, Action::Remind, Some(&c.org.path)) == Decision::Allow,
        time_left: super::view::days_left_label(c.days_left),
        show: show.code(),
        sort: order.code(),
        shows,
        reminded: q.reminded.message(),
        shown,
        first: if c.rows.is_empty() { 0 } else { start + 1 },
        last: start + c.rows.len(),
        pager,
        c,
    })
}

pub async fn export(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
) -> Result<Response, AppError> {
    let (name, bytes) = state
        .services
        .cockpit()
        .export_xlsx(Caller::User(&user.actor), id)
        .await?;
    Ok(super::export::xlsx_download(&name, bytes))
}
