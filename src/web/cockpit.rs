//! The progress cockpit of a node over its children.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

use super::path::Path;

use super::view::Ctx;
use super::{AppError, AppState, CurrentUser};
use crate::domain::OrgId;
use crate::service::Caller;
use crate::service::cockpit::Cockpit;

#[derive(Template, WebTemplate)]
#[template(path = "cockpit.html")]
pub struct CockpitPage {
    ctx: Option<Ctx>,
    c: Cockpit,
    time_left: String,
    overdue_count: usize,
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
) -> Result<CockpitPage, AppError> {
    let c = state
        .services
        .cockpit()
        .view(Caller::User(&user.actor), id)
        .await?;
    let time_left = match c.days_left {
        Some(d) if d > 0 => format!("还有 {d} 天"),
        Some(0) => "今天截止".to_owned(),
        Some(d) => format!("已过期 {} 天", -d),
        None => String::new(),
    };
    Ok(CockpitPage {
        ctx: Some(Ctx::new(&user, "tree")),
        overdue_count: c.rows.iter().filter(|r| r.overdue).count(),
        time_left,
        c,
    })
}
