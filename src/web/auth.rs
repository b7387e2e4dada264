//! Login and logout pages.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::session::{clear_cookie, session_cookie};
use super::view::Ctx;
use super::{AppError, AppState, CurrentUser};
use crate::service::ServiceError;

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    ctx: Option<Ctx>,
    error: Option<String>,
    notice: Option<String>,
    username: String,
    next: String,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    activated: Option<String>,
}

/// Only local paths are followed after login (never another site).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

pub async fn login_page(Query(q): Query<NextQuery>) -> LoginPage {
    LoginPage {
        ctx: None,
        error: None,
        notice: q
            .activated
            .is_some()
            .then(|| "账号已激活，请用新密码登录。".to_owned()),
        username: String::new(),
        next: safe_next(q.next.as_deref()),
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

pub async fn login(State(state): State<AppState>, Form(f): Form<LoginForm>) -> Response {
    let next = safe_next(f.next.as_deref());
    match state.services.login(&f.username, &f.password).await {
        Ok(s) => {
            let max_age = s.expires_at - crate::store::now();
            let cookie = session_cookie(&s.token, max_age, state.secure_cookies);
            ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
        }
        Err(
            e @ (ServiceError::LoginFailed | ServiceError::LockedOut(_) | ServiceError::Disabled),
        ) => {
            let page = LoginPage {
                ctx: None,
                error: Some(e.to_string()),
                notice: None,
                username: f.username.trim().to_owned(),
                next,
            };
            (StatusCode::UNAUTHORIZED, page).into_response()
        }
        Err(e) => AppError::Service(e).into_response(),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    state.services.logout(&user.actor, &user.token_hash).await?;
    Ok((
        [(header::SET_COOKIE, clear_cookie(state.secure_cookies))],
        Redirect::to("/login"),
    )
        .into_response())
}
