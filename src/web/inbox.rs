//! The inbox: a user's notices, opening one (marked read, then where it points), all read.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

use super::path::Path;
use axum::response::Redirect;

use super::view::Ctx;
use super::{AppError, AppState, CurrentUser};
use crate::service::inbox::Notification;
use crate::service::{Caller, beijing_time};

#[derive(Template, WebTemplate)]
#[template(path = "inbox.html")]
pub struct InboxPage {
    ctx: Option<Ctx>,
    csrf: String,
    items: Vec<(Notification, String)>,
}

pub async fn inbox(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<InboxPage, AppError> {
    let items = state
        .services
        .inbox()
        .list(Caller::User(&user.actor))
        .await?
        .into_iter()
        .map(|n| {
            let at = beijing_time(n.created_at);
            (n, at)
        })
        .collect();
    Ok(InboxPage {
        ctx: Some(Ctx::new(&user, "inbox")),
        csrf: user.csrf.clone(),
        items,
    })
}

/// Open a notice: mark it read and go where it points.
pub async fn open(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Redirect, AppError> {
    let link = state
        .services
        .inbox()
        .mark_read(Caller::User(&user.actor), Some(id))
        .await?
        .filter(|l| l.starts_with('/') && !l.starts_with("//"))
        .unwrap_or_else(|| "/inbox".to_owned());
    Ok(Redirect::to(&link))
}

pub async fn read_all(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Redirect, AppError> {
    state
        .services
        .inbox()
        .mark_read(Caller::User(&user.actor), None)
        .await?;
    Ok(Redirect::to("/inbox"))
}
