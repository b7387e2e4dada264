//! The session cookie, the signed-in user extractor, and the guard that every state-changing
//! request passes: it must carry the session's CSRF token (form field `csrf` or header
//! `X-CSRF-Token`); the login form instead must come from this site (Origin check).

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ErrorInfo, render_error};
use super::view::Ctx;
use super::{AppError, AppState, MAX_BODY_BYTES, MAX_UPLOAD_BODY_BYTES};
use crate::authz::Actor;
use crate::service::auth::LiveSession;

pub const SESSION_COOKIE: &str = "dengji_session";

/// What the guard found for this request, kept in the request's extensions.
#[derive(Clone)]
struct SessionSlot(Option<LiveSession>);

/// The signed-in user; handlers that take it are closed to anonymous visitors.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub actor: Actor,
    pub csrf: String,
    pub token_hash: String,
    pub unread: i64,
    /// When the request was read (for the print watermark).
    pub at: String,
    /// Every page but 修改密码 is closed until the password is changed.
    pub must_change_password: bool,
    /// Every page but 动态验证码 is closed until a second factor is set up.
    pub must_set_up_factor: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<SessionSlot>() {
            Some(SessionSlot(Some(s))) => Ok(Self {
                actor: s.actor.clone(),
                csrf: s.csrf_token.clone(),
                token_hash: s.token_hash.clone(),
                unread: s.unread,
                at: s.at.clone(),
                must_change_password: s.must_change_password,
                must_set_up_factor: s.must_set_up_factor,
            }),
            _ => Err(AppError::LoginRequired {
                next: parts.uri.path().to_owned(),
            }),
        }
    }
}

/// The value of our session cookie, if the request has one.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

pub fn session_cookie(token: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

pub fn clear_cookie(secure: bool) -> String {
    session_cookie("", 0, secure)
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The host part of an `Origin` header value, e.g. `127.0.0.1:8080`.
fn origin_host(origin: &str) -> Option<&str> {
    origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'))
}

/// The cookie that sends a user's reads to the primary database for a moment after each of
/// their writes, when lists and summaries are read from streaming replicas.
pub const FRESH_COOKIE: &str = "dengji_fresh";
/// How long after a write a user's reads stay on the primary: a streaming replica on the same
/// network lags by well under a second; this leaves room for a slow moment.
pub const FRESH_SECONDS: i64 = 10;

/// Read-your-own-writes over replicas (the way Rails' database selector does it): a request
/// that may write (any method but GET/HEAD/OPTIONS), and every request for
/// [`FRESH_SECONDS`] after one, runs with [`crate::store::reading_primary`], so the page a
/// user lands on after saving shows what they saved; other users' pages may lag a moment.
/// The cookie holds no secret: forging it only moves one's own reads to the primary.
pub async fn read_your_writes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if state.services.db.replica_count() == 0 {
        return next.run(request).await;
    }
    let writes = !is_safe(request.method());
    let fresh = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|pair| {
            pair.trim()
                .split_once('=')
                .is_some_and(|(n, _)| n == FRESH_COOKIE)
        });
    if !writes && !fresh {
        return next.run(request).await;
    }
    let mut response = crate::store::reading_primary(next.run(request)).await;
    if writes {
        let cookie = format!(
            "{FRESH_COOKIE}=1; Path=/; HttpOnly; SameSite=Strict; Max-Age={FRESH_SECONDS}{}",
            if state.secure_cookies { "; Secure" } else { "" }
        );
        if let Ok(v) = cookie.parse() {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// One log line per request: method, route pattern (never the path's ids or the query, which
/// may hold personal data), status, time and the user's id.
pub async fn log_request(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "(unmatched)".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(request).await;
    let user = response.extensions().get::<LoggedUser>().map(|u| u.0);
    tracing::info!(
        target: "dengji::request",
        %method,
        %route,
        status = response.status().as_u16(),
        ms = %format_args!("{:.1}", started.elapsed().as_secs_f64() * 1000.0),
        user,
    );
    response
}

/// The signed-in user's id, left on the response for the request log.
#[derive(Clone, Copy)]
struct LoggedUser(i64);

pub async fn resolve_and_guard(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let session = match session_token(request.headers()) {
        Some(token) => match state.services.auth().session(&token).await {
            Ok(s) => s,
            Err(e) => return AppError::Service(e).into_response(),
        },
        None => None,
    };
    let (mut parts, body) = request.into_parts();
    // A password set by an administrator is changed before anything else.
    if session.as_ref().is_some_and(|s| s.must_change_password)
        && !matches!(
            parts.uri.path(),
            "/account/password" | "/logout" | "/help" | "/healthz"
        )
        && !parts.uri.path().starts_with("/static/")
    {
        return axum::response::Redirect::to("/account/password").into_response();
    }
    // So is a second factor the role requires.
    if session.as_ref().is_some_and(|s| s.must_set_up_factor)
        && !matches!(
            parts.uri.path(),
            "/account/totp"
                | "/account/totp/begin"
                | "/account/totp/confirm"
                | "/logout"
                | "/help"
                | "/healthz"
        )
        && !parts.uri.path().starts_with("/static/")
    {
        return axum::response::Redirect::to("/account/totp").into_response();
    }
    // Every audit event of the request names the address it came from.
    let mut session = session;
    if let Some(live) = session.as_mut() {
        let Ok(super::client::ClientAddr(addr)) =
            super::client::ClientAddr::from_request_parts(&mut parts, &state).await;
        live.actor.source = addr;
    }
    let body = if is_safe(&parts.method) {
        body
    } else if matches!(parts.uri.path(), "/login" | "/login/code" | "/activate") {
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok());
        let origin = parts
            .headers
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok());
        if let (Some(origin), Some(host)) = (origin, host)
            && origin != "null"
            && origin_host(origin) != Some(host)
        {
            return AppError::Csrf.into_response();
        }
        body
    } else {
        let Some(live) = &session else {
            return AppError::LoginRequired {
                next: "/".to_owned(),
            }
            .into_response();
        };
        let header_token = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let boundary = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|ct| multer::parse_boundary(ct).ok());
        // File uploads are multipart and may be larger; everything else is a small form.
        let limit = if boundary.is_some() {
            MAX_UPLOAD_BODY_BYTES
        } else {
            MAX_BODY_BYTES
        };
        let Ok(bytes) = to_bytes(body, limit).await else {
            return AppError::BadRequest(if boundary.is_some() {
                format!(
                    "上传的文件过大：单个文件不能超过 {} MB，请分成几个文件导入",
                    crate::sheet::MAX_FILE_BYTES / (1024 * 1024)
                )
            } else {
                "提交的内容过大".into()
            })
            .into_response();
        };
        let form_token = match &boundary {
            Some(b) => multipart_field(&bytes, b, "csrf").await,
            None => serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                .ok()
                .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v)),
        };
        let presented = header_token.or(form_token).unwrap_or_default();
        if !constant_time_eq(presented.as_bytes(), live.csrf_token.as_bytes()) {
            return AppError::Csrf.into_response();
        }
        Body::from(bytes)
    };
    parts.extensions.insert(SessionSlot(session.clone()));
    let response = next.run(Request::from_parts(parts, body)).await;
    let user_id = session.as_ref().map(|s| s.actor.user_id.0);
    // Error pages of a signed-in user keep the header and menu.
    let mut response = match (response.extensions().get::<ErrorInfo>(), session) {
        (Some(info), Some(live)) => {
            let user = CurrentUser {
                actor: live.actor,
                csrf: live.csrf_token,
                token_hash: live.token_hash,
                unread: live.unread,
                at: live.at,
                must_change_password: live.must_change_password,
                must_set_up_factor: live.must_set_up_factor,
            };
            render_error(response.status(), info, Some(Ctx::new(&user, "")))
        }
        _ => response,
    };
    if let Some(id) = user_id {
        response.extensions_mut().insert(LoggedUser(id));
    }
    if state.secure_cookies {
        // Served behind TLS: browsers are to use HTTPS only from now on.
        response.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            axum::http::HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// A small text field of a buffered multipart body (the CSRF token comes before the file).
async fn multipart_field(body: &bytes::Bytes, boundary: &str, name: &str) -> Option<String> {
    let stream = futures_util::stream::once({
        let body = body.clone();
        async move { Ok::<_, std::convert::Infallible>(body) }
    });
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(name) {
            return field.text().await.ok().filter(|t| t.len() <= 256);
        }
    }
    None
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_parsing() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; dengji_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(session_token(&h).as_deref(), Some("abc"));
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "dengji_session=".parse().unwrap());
        assert_eq!(session_token(&h), None);
        assert!(
            session_cookie("t", 60, true).contains("HttpOnly; SameSite=Strict; Max-Age=60; Secure")
        );
        assert_eq!(origin_host("http://127.0.0.1:8080"), Some("127.0.0.1:8080"));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
