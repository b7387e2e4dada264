//! The signed-in user's own account: changing the password.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::view::Ctx;
use super::{AppError, AppState, CurrentUser};
use crate::service::ServiceError;

#[derive(Template, WebTemplate)]
#[template(path = "password.html")]
pub struct PasswordPage {
    pub ctx: Option<Ctx>,
    pub heading: String,
    pub action: String,
    pub ask_old: bool,
    pub csrf: String,
    pub notice: Option<String>,
    pub errors: Vec<String>,
}

pub async fn password_page(user: CurrentUser) -> PasswordPage {
    PasswordPage {
        csrf: user.csrf.clone(),
        ctx: Some(Ctx::new(&user, "")),
        heading: "修改密码".into(),
        action: "/account/password".into(),
        ask_old: true,
        notice: None,
        errors: Vec::new(),
    }
}

#[derive(Deserialize)]
pub struct ChangeForm {
    old: String,
    new: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<ChangeForm>,
) -> Result<Response, AppError> {
    let result = state
        .services
        .users()
        .change_own_password(&user.actor, &f.old, &f.new, &user.token_hash)
        .await;
    let mut page = password_page(user).await;
    match result {
        Ok(()) => {
            page.notice = Some("密码已修改，其他设备上的登录已失效。".into());
            Ok(page.into_response())
        }
        Err(ServiceError::Invalid(list)) => {
            page.errors = list.iter().map(ToString::to_string).collect();
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
