//! One error type for every handler, rendered as a Chinese page with the right status.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::service::ServiceError;

#[derive(Debug)]
pub enum AppError {
    /// Not signed in: go to the login page, then come back.
    LoginRequired {
        next: String,
    },
    Service(ServiceError),
    BadRequest(String),
    Csrf,
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        Self::Service(e)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    ctx: Option<super::view::Ctx>,
    title: &'a str,
    message: String,
    field_errors: Vec<String>,
}

/// What an error page says, kept on the response so that the session guard can render it
/// again with the signed-in user's header and menu.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub title: String,
    pub message: String,
    pub field_errors: Vec<String>,
}

pub fn render_error(
    status: StatusCode,
    info: &ErrorInfo,
    ctx: Option<super::view::Ctx>,
) -> Response {
    let page = ErrorPage {
        ctx,
        title: &info.title,
        message: info.message.clone(),
        field_errors: info.field_errors.clone(),
    };
    let mut response = match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, info.title.clone()).into_response(),
    };
    response.extensions_mut().insert(info.clone());
    response
}

pub fn error_page(
    status: StatusCode,
    title: &str,
    message: String,
    field_errors: Vec<String>,
) -> Response {
    let info = ErrorInfo {
        title: title.to_owned(),
        message,
        field_errors,
    };
    render_error(status, &info, None)
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            Self::LoginRequired { next } => {
                let target = if next == "/" || next.is_empty() {
                    "/login".to_owned()
                } else {
                    format!("/login?next={}", urlencode(&next))
                };
                Redirect::to(&target).into_response()
            }
            Self::Csrf => error_page(
                StatusCode::FORBIDDEN,
                "请求已过期",
                "表单校验失败（页面可能已过期或来自其他网站），请返回刷新页面后重试。".into(),
                Vec::new(),
            ),
            Self::BadRequest(msg) => {
                error_page(StatusCode::BAD_REQUEST, "请求有误", msg, Vec::new())
            }
            Self::Service(e) => {
                let (status, title) = match &e {
                    ServiceError::NotFound => (StatusCode::NOT_FOUND, "未找到"),
                    ServiceError::Forbidden => (StatusCode::FORBIDDEN, "无权访问"),
                    ServiceError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "输入有误"),
                    ServiceError::Conflict(_) => (StatusCode::CONFLICT, "操作冲突"),
                    ServiceError::Rejected(_) => (StatusCode::UNPROCESSABLE_ENTITY, "输入有误"),
                    ServiceError::LoginFailed
                    | ServiceError::LockedOut(_)
                    | ServiceError::ActivationLocked(_)
                    | ServiceError::Throttled(_)
                    | ServiceError::Disabled => (StatusCode::UNAUTHORIZED, "登录失败"),
                    // Busy itself, or the database's busy (a store error).
                    e if e.is_busy() => (StatusCode::SERVICE_UNAVAILABLE, "系统正忙"),
                    ServiceError::Busy(_) => (StatusCode::SERVICE_UNAVAILABLE, "系统正忙"),
                    ServiceError::Failed(_) => {
                        tracing::error!(error = %e, "request failed");
                        (StatusCode::INTERNAL_SERVER_ERROR, "未能完成")
                    }
                    ServiceError::Store(_) | ServiceError::Crypto(_) => {
                        tracing::error!(error = %e, "request failed");
                        return error_page(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "系统错误",
                            "系统内部错误，请稍后重试；如持续出现请联系管理员。".into(),
                            Vec::new(),
                        );
                    }
                };
                let fields = match &e {
                    ServiceError::Invalid(list) => list.iter().map(ToString::to_string).collect(),
                    ServiceError::Rejected(list) => {
                        list.iter().map(|f| f.message.clone()).collect()
                    }
                    _ => Vec::new(),
                };
                error_page(status, title, e.to_string(), fields)
            }
        }
    }
}

pub async fn not_found() -> Response {
    AppError::Service(ServiceError::NotFound).into_response()
}

/// Percent-encode a path for a query value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
