//! Login and logout pages.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::client::ClientAddr;
use super::session::{clear_cookie, session_cookie};
use super::view::Ctx;
use super::{AppError, AppState, CurrentUser};
use crate::service::ServiceError;
use crate::service::auth::LoginStep;

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

/// Only a path of this site is followed after login, never another host: it starts with one
/// `/`, has no `\\` anywhere, and no control character or whitespace — checked on the value as
/// given and after each further percent-decoding (`/%2F/x`, `/%09/x`). Anything else is `/`.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    let Some(n) = next else {
        return "/".to_owned();
    };
    let local = |s: &str| {
        let mut chars = s.chars();
        chars.next() == Some('/')
            && !matches!(chars.next(), Some('/' | '\\'))
            && !s
                .chars()
                .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
    };
    let mut text = std::borrow::Cow::Borrowed(n);
    for _ in 0..4 {
        if !local(&text) {
            return "/".to_owned();
        }
        let decoded = match percent_encoding::percent_decode_str(&text).decode_utf8() {
            Ok(d) => d.into_owned(),
            Err(_) => return "/".to_owned(),
        };
        if decoded == text {
            return n.to_owned();
        }
        text = std::borrow::Cow::Owned(decoded);
    }
    // Encoded more than a few times over: nobody types that.
    "/".to_owned()
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

pub async fn login(
    State(state): State<AppState>,
    from: ClientAddr,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    match state
        .services
        .auth()
        .login_start(&f.username, &f.password, from.as_deref())
        .await
    {
        Ok(LoginStep::Done(s)) => signed_in(&state, &s, &next),
        Ok(LoginStep::Code { ticket }) => CodePage {
            ctx: None,
            error: None,
            ticket,
            next,
        }
        .into_response(),
        Err(
            e @ (ServiceError::LoginFailed
            | ServiceError::LockedOut(_)
            | ServiceError::Throttled(_)
            | ServiceError::Disabled),
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

fn signed_in(state: &AppState, s: &crate::service::auth::NewSession, next: &str) -> Response {
    let cookie = session_cookie(&s.token, s.max_age, state.secure_cookies);
    ([(header::SET_COOKIE, cookie)], Redirect::to(next)).into_response()
}

/// The second step of signing in: the code from the authenticator app.
#[derive(Template, WebTemplate)]
#[template(path = "login_code.html")]
pub struct CodePage {
    ctx: Option<Ctx>,
    error: Option<String>,
    ticket: String,
    next: String,
}

#[derive(Deserialize)]
pub struct CodeForm {
    ticket: String,
    code: String,
    next: Option<String>,
}

pub async fn login_code(
    State(state): State<AppState>,
    from: ClientAddr,
    Form(f): Form<CodeForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    match state
        .services
        .auth()
        .login_code(&f.ticket, &f.code, from.as_deref())
        .await
    {
        Ok(s) => signed_in(&state, &s, &next),
        Err(ServiceError::Invalid(list)) => {
            let page = CodePage {
                ctx: None,
                error: Some(
                    list.iter()
                        .map(|e| e.reason.clone())
                        .collect::<Vec<_>>()
                        .join("；"),
                ),
                ticket: f.ticket,
                next,
            };
            (StatusCode::UNAUTHORIZED, page).into_response()
        }
        Err(
            e @ (ServiceError::LockedOut(_) | ServiceError::Throttled(_) | ServiceError::Disabled),
        ) => {
            let page = LoginPage {
                ctx: None,
                error: Some(e.to_string()),
                notice: None,
                username: String::new(),
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
    state
        .services
        .auth()
        .logout(&user.actor, &user.token_hash)
        .await?;
    Ok((
        [(header::SET_COOKIE, clear_cookie(state.secure_cookies))],
        Redirect::to("/login"),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        for good in ["/", "/members?name=%E7%8E%8B", "/orgs/12/import"] {
            assert_eq!(safe_next(Some(good)), good);
        }
        for bad in [
            "//evil.example/x",
            "/\\evil.example/x",
            "\\/evil.example",
            "/\t/evil.example/x",
            "/%09/evil.example/x",
            "/%2F/evil.example/x",
            "/%2f/evil.example/x",
            "/%5C/evil.example",
            "/%252F/evil.example",
            "/\n/x",
            "/%0a/x",
            "/%0d%0aSet-Cookie:x=1",
            "/ /evil",
            "/a/b%20c",
            "https://evil.example/",
            "javascript:alert(1)",
            "evil.example",
            "",
            "/%ff%fe",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
