//! The signed-in user's own account: changing the password, their sessions.

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
        notice: user
            .must_change_password
            .then(|| "您的密码由管理员设置：请先修改密码，之后才能继续使用系统。".to_owned()),
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
    let forced = user.must_change_password;
    let mut page = password_page(user).await;
    match result {
        Ok(()) if forced => Ok(axum::response::Redirect::to("/?password=changed").into_response()),
        Ok(()) => {
            page.notice = Some("密码已修改，其他设备上的登录已失效。".into());
            page.errors.clear();
            Ok(page.into_response())
        }
        Err(ServiceError::Invalid(list)) => {
            page.errors = list.iter().map(ToString::to_string).collect();
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub struct SessionRow {
    handle: String,
    created: String,
    last_seen: String,
    source: String,
    current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "sessions.html")]
pub struct SessionsPage {
    ctx: Option<Ctx>,
    csrf: String,
    rows: Vec<SessionRow>,
    notice: Option<&'static str>,
}

#[derive(Deserialize, Default)]
pub struct SessionsQuery {
    done: Option<String>,
}

/// 登录设备: the user's own live sessions, each with 结束.
pub async fn sessions(
    State(state): State<AppState>,
    user: CurrentUser,
    axum::extract::Query(q): axum::extract::Query<SessionsQuery>,
) -> Result<SessionsPage, AppError> {
    let lines = state.services.auth().sessions_of(&user.actor).await?;
    let own: String = user.token_hash.chars().take(12).collect();
    Ok(SessionsPage {
        csrf: user.csrf.clone(),
        ctx: Some(Ctx::new(&user, "")),
        rows: lines
            .into_iter()
            .map(|l| SessionRow {
                current: l.handle == own,
                created: crate::service::beijing_time(l.created_at),
                last_seen: if l.last_seen_at > 0 {
                    crate::service::beijing_time(l.last_seen_at)
                } else {
                    String::new()
                },
                source: l.source.unwrap_or_default(),
                handle: l.handle,
            })
            .collect(),
        notice: (q.done.as_deref() == Some("ended")).then_some("已结束该登录。"),
    })
}

#[derive(Deserialize)]
pub struct EndForm {
    session: String,
}

pub async fn end_session(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<EndForm>,
) -> Result<Response, AppError> {
    state
        .services
        .auth()
        .end_own_session(&user.actor, f.session.trim())
        .await?;
    Ok(axum::response::Redirect::to("/account/sessions?done=ended").into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "totp.html")]
pub struct TotpPage {
    ctx: Option<Ctx>,
    csrf: String,
    username: String,
    status: crate::service::second_factor::Status,
    /// A secret being set up: the QR code and the confirming form.
    enrolment: Option<crate::service::second_factor::Enrolment>,
    /// Recovery codes just issued, shown this once.
    codes: Vec<String>,
    notice: Option<String>,
    errors: Vec<String>,
}

impl TotpPage {
    /// The page again with what was wrong, answered 422.
    fn refused(mut self, list: &[crate::domain::FieldError]) -> Response {
        self.errors = list.iter().map(ToString::to_string).collect();
        (StatusCode::UNPROCESSABLE_ENTITY, self).into_response()
    }
}

async fn totp_view(state: &AppState, user: &CurrentUser) -> Result<TotpPage, AppError> {
    let status = state.services.factors().status(&user.actor).await?;
    let notice = (status.required && !status.enabled)
        .then(|| "您的角色必须使用动态验证码：请先完成设置，之后才能继续使用系统。".to_owned());
    Ok(TotpPage {
        ctx: Some(Ctx::new(user, "")),
        csrf: user.csrf.clone(),
        username: user.actor.username.clone(),
        status,
        enrolment: None,
        codes: Vec::new(),
        notice,
        errors: Vec::new(),
    })
}

/// 动态验证码: the account's second factor, set up, replaced, turned off.
pub async fn totp_page(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<TotpPage, AppError> {
    totp_view(&state, &user).await
}

pub async fn totp_begin(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<TotpPage, AppError> {
    let enrolment = state.services.factors().begin(&user.actor).await?;
    let mut page = totp_view(&state, &user).await?;
    page.enrolment = Some(enrolment);
    Ok(page)
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

pub async fn totp_confirm(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<CodeForm>,
) -> Result<Response, AppError> {
    let result = state.services.factors().confirm(&user.actor, &f.code).await;
    let mut page = totp_view(&state, &user).await?;
    match result {
        Ok(codes) => {
            page.codes = codes;
            page.notice = Some(
                "动态验证码已启用。请把下面的恢复码抄下或打印，妥善保管：手机不在身边时，每个恢复码可代替验证码登录一次。恢复码只显示这一次。"
                    .into(),
            );
            Ok(page.into_response())
        }
        Err(ServiceError::Invalid(list)) => {
            page.enrolment = state.services.factors().pending(&user.actor).await?;
            Ok(page.refused(&list))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    password: String,
}

pub async fn totp_recovery(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let result = state
        .services
        .factors()
        .new_recovery_codes(&user.actor, &f.password)
        .await;
    let mut page = totp_view(&state, &user).await?;
    match result {
        Ok(codes) => {
            page.codes = codes;
            page.notice = Some("已生成新的恢复码，原有恢复码全部作废。恢复码只显示这一次。".into());
            Ok(page.into_response())
        }
        Err(ServiceError::Invalid(list)) => Ok(page.refused(&list)),
        Err(e) => Err(e.into()),
    }
}

pub async fn totp_disable(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let result = state
        .services
        .factors()
        .disable_own(&user.actor, &f.password)
        .await;
    let mut page = totp_view(&state, &user).await?;
    match result {
        Ok(()) => {
            page.notice = Some("动态验证码已关闭，登录只需密码。".into());
            Ok(page.into_response())
        }
        Err(ServiceError::Invalid(list)) => Ok(page.refused(&list)),
        Err(e) => Err(e.into()),
    }
}
