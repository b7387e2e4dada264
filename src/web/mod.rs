//! The web application: every route in [`router`], thin handlers over the services, pages
//! from compiled templates, assets embedded in the binary.

mod accesses;
mod account;
mod accountability;
mod accounts;
mod analysis;
mod approvals;
mod assets;
mod audit;
mod auth;
mod campaign;
mod cases;
mod changes;
mod chart;
mod cities;
mod client;
mod cockpit;
mod commendations;
mod directory;
mod divisions;
mod error;
mod exchange;
mod export;
mod formview;
mod help;
mod home;
mod import;
mod inbox;
mod membership;
mod org_registration;
mod package;
mod path;
mod registration;
mod remind;
mod reviews;
mod roster;
mod samples;
mod session;
mod summary;
mod survey;
mod template;
mod transfer;
mod upkeep;
mod users;
mod view;

use std::net::SocketAddr;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware;
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

pub(crate) use auth::safe_next;
pub use error::AppError;
pub use session::{CurrentUser, SESSION_COOKIE};

use crate::service::Services;

/// Shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    pub services: Services,
    /// Mark the session cookie `Secure` (behind TLS), and send HSTS.
    pub secure_cookies: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed (for the per-address throttle).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// Largest request body of an ordinary form.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Largest multipart upload: the largest spreadsheet accepted and the form around it.
pub const MAX_UPLOAD_BODY_BYTES: usize = crate::sheet::MAX_FILE_BYTES + 64 * 1024;

pub fn router(state: AppState) -> Router {
    let static_header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    Router::new()
        .route("/", get(home::home))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/login/code", post(auth::login_code))
        .route("/logout", post(auth::logout))
        .route(
            "/activate",
            get(membership::activate_page).post(membership::activate),
        )
        .route(
            "/account/password",
            get(account::password_page).post(account::change_password),
        )
        .route("/account/accesses", get(accesses::own))
        .route("/account/sessions", get(account::sessions))
        .route("/account/totp", get(account::totp_page))
        .route("/account/totp/begin", post(account::totp_begin))
        .route("/account/totp/confirm", post(account::totp_confirm))
        .route("/account/totp/recovery", post(account::totp_recovery))
        .route("/account/totp/disable", post(account::totp_disable))
        .route("/account/sessions/end", post(account::end_session))
        .route("/orgs", get(directory::orgs))
        .route("/orgs/{id}", get(directory::org))
        .route("/orgs/{id}/children", get(directory::org_children))
        .route("/orgs/{id}/survey", get(survey::show).post(survey::record))
        .route("/orgs/{id}/cases", get(cases::list))
        .route("/cases/{id}", get(cases::show))
        .route("/cases/{id}/steps", post(cases::add_step))
        .route("/cases/{id}/close", post(cases::close))
        .route("/cases/{id}/reopen", post(cases::reopen))
        .route("/cases/{id}/report", post(cases::submit_report))
        .route("/cases/{id}/report/decision", post(cases::decide_report))
        .route("/cases/{id}/report.xlsx", get(cases::report_xlsx))
        .route("/cases/{id}/report.docx", get(cases::report_docx))
        .route("/members/{id}/case", post(cases::open))
        .route("/orgs/{id}/samples", get(samples::list).post(samples::draw))
        .route("/samples/{id}", get(samples::show))
        .route("/samples/{id}/assign", post(samples::assign))
        .route("/samples/{id}/report.xlsx", get(samples::report_xlsx))
        .route("/samples/items/{id}", get(samples::item))
        .route("/samples/items/{id}/check", post(samples::check))
        .route("/orgs/{id}/accountability", get(accountability::register))
        .route(
            "/orgs/{id}/accountability.xlsx",
            get(accountability::register_xlsx),
        )
        .route("/accountability/{id}", get(accountability::show))
        .route(
            "/accountability/{id}/decision",
            post(accountability::decide),
        )
        .route(
            "/orgs/{id}/a3",
            get(org_registration::show).post(org_registration::save),
        )
        .route("/firms", get(directory::firms))
        .route("/firms/{id}", get(directory::firm))
        .route(
            "/firms/{id}/edit",
            get(upkeep::firm_edit).post(upkeep::firm_save),
        )
        .route("/firms/{id}/move", post(upkeep::firm_move))
        .route("/firms/{id}/close", post(upkeep::firm_close))
        .route("/orgs/{id}/dissolve", post(upkeep::org_dissolve))
        .route("/orgs/{id}/merge", post(upkeep::org_merge))
        .route("/orgs/{id}/reparent", post(upkeep::org_reparent))
        .route(
            "/orgs/{id}/edit",
            get(upkeep::org_edit).post(upkeep::org_save),
        )
        .route("/orgs/{id}/rosters", get(roster::show))
        .route("/orgs/{id}/rosters/print", get(roster::print))
        .route("/orgs/{id}/rosters/export", get(roster::export))
        .route("/orgs/{id}/archive", get(roster::org))
        .route("/members/{id}/archive", get(roster::member))
        .route(
            "/members/{id}/transfer",
            get(transfer::new).post(transfer::start),
        )
        .route(
            "/members/{id}/stop",
            get(transfer::stop_form).post(transfer::stop),
        )
        .route("/members/{id}/resume", post(transfer::resume))
        .route("/orgs/{id}/transfers", get(transfer::list))
        .route("/orgs/{id}/changes", get(changes::show))
        .route("/orgs/{id}/changes/submit", post(changes::submit))
        .route("/orgs/{id}/changes/accept", post(changes::accept))
        .route("/orgs/{id}/changes/return", post(changes::send_back))
        .route("/changes/{id}/return", post(changes::return_one))
        .route("/changes/{id}/answer", post(changes::answer))
        .route("/transfers/{id}", get(transfer::show))
        .route("/transfers/{id}/accept", post(transfer::accept))
        .route("/transfers/{id}/refuse", post(transfer::refuse))
        .route("/transfers/{id}/cancel", post(transfer::cancel))
        .route("/members", get(directory::members))
        .route(
            "/members/new",
            get(membership::new_member_page).post(membership::add_member),
        )
        .route("/members/{id}", get(directory::member))
        .route("/members/{id}/form.xlsx", get(export::member_form))
        .route("/members/{id}/accesses", get(accesses::of_member))
        .route("/members/{id}/reveal", post(directory::reveal))
        .route("/members/{id}/accesses.xlsx", get(accesses::of_member_xlsx))
        .route("/orgs/{id}/a3.xlsx", get(export::org_form))
        .route(
            "/members/{id}/registration",
            get(registration::show).post(registration::save),
        )
        .route(
            "/members/{id}/identity",
            post(registration::request_identity),
        )
        .route("/members/{id}/approve", post(registration::approve))
        .route(
            "/members/{id}/activation",
            post(membership::issue_activation),
        )
        .route("/members/{id}/return", post(registration::return_form))
        .route(
            "/orgs/{id}/reviews",
            get(reviews::queue).post(reviews::approve_many),
        )
        .route("/orgs/{id}/analysis", get(analysis::show))
        .route("/orgs/{id}/analysis/report", get(analysis::report))
        .route("/orgs/{id}/analysis.xlsx", get(analysis::export))
        .route("/orgs/{id}/analysis/members", get(analysis::members))
        .route(
            "/orgs/{id}/commendations",
            get(commendations::list).post(commendations::nominate),
        )
        .route("/orgs/{id}/commendations/new", get(commendations::new))
        .route("/orgs/{id}/commendations/roll", get(commendations::roll))
        .route(
            "/orgs/{id}/commendations/roll.xlsx",
            get(commendations::roll_xlsx),
        )
        .route("/commendations/{id}", get(commendations::show))
        .route("/commendations/{id}/decide", post(commendations::decide))
        .route("/orgs/{id}/reconcile", get(exchange::show_node))
        .route("/orgs/{id}/reconcile.xlsx", get(exchange::export))
        .route("/orgs/{id}/reconcile/explain", post(exchange::explain))
        .route("/orgs/{id}/reconcile/refresh", post(exchange::refresh))
        .route("/orgs/{id}/reconcile/add", post(exchange::add))
        .route(
            "/exchange",
            get(exchange::show)
                .post(exchange::load)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD_BODY_BYTES)),
        )
        .route("/orgs/{id}/cockpit", get(cockpit::show))
        .route("/orgs/{id}/cockpit.xlsx", get(cockpit::export))
        .route("/orgs/{id}/remind/members", post(remind::members))
        .route("/orgs/{id}/remind/children", post(remind::children))
        .route("/orgs/{id}/cities", get(cities::show).post(cities::create))
        .route(
            "/orgs/{id}/package",
            get(package::show).post(package::submit),
        )
        .route("/orgs/{id}/package/accept", post(package::accept))
        .route("/orgs/{id}/package/return", post(package::return_package))
        .route("/orgs/{id}/extension", post(package::extend))
        .route("/orgs/{id}/summary/{code}", get(summary::summary))
        .route("/orgs/{id}/summary/{code}/export", get(export::export))
        .route("/templates/{code}", get(template::template))
        .route(
            "/orgs/{id}/import",
            get(import::show)
                .post(import::upload)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD_BODY_BYTES)),
        )
        .route(
            "/orgs/{id}/import/{upload}",
            get(import::show_upload).post(import::decide),
        )
        .route(
            "/orgs/{id}/import/{upload}/issues.csv",
            get(import::issues_csv),
        )
        .route("/imports/{batch}/undo", post(import::undo))
        .route("/inbox", get(inbox::inbox))
        .route("/inbox/read", post(inbox::read_all))
        .route("/inbox/{id}", get(inbox::open))
        .route("/users", get(users::list).post(users::create))
        .route("/users/new", get(users::new_page))
        .route(
            "/users/import",
            get(accounts::show)
                .post(accounts::upload)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD_BODY_BYTES)),
        )
        .route("/users/{id}/accesses", get(accesses::of_user))
        .route("/users/{id}/sessions/end", post(users::end_sessions))
        .route("/users/{id}/totp/reset", post(users::reset_factor))
        .route("/users/factor-requirement", post(users::require_factor))
        .route("/approvals", get(approvals::list).post(approvals::request))
        .route("/approvals/{id}/approve", post(approvals::approve))
        .route("/approvals/{id}/refuse", post(approvals::refuse))
        .route("/approvals/{id}/withdraw", post(approvals::withdraw))
        .route("/users/{id}/accesses.xlsx", get(accesses::of_user_xlsx))
        .route("/users/{id}/disable", post(users::disable))
        .route("/users/{id}/enable", post(users::enable))
        .route(
            "/users/{id}/password",
            get(users::password_page).post(users::reset_password),
        )
        .route("/audit", get(audit::list))
        .route("/audit.xlsx", get(audit::export))
        .route("/campaign", get(campaign::show).post(campaign::create))
        .route("/campaign/deadlines", post(campaign::deadlines))
        .route("/campaign/case-days", post(campaign::case_days))
        .route("/campaign/close", post(campaign::close))
        .route("/divisions", get(divisions::children))
        .route("/help", get(help::show))
        .route("/static/{file}", get(assets::serve))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(error::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::resolve_and_guard,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::read_your_writes,
        ))
        .layer(middleware::from_fn(session::log_request))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(static_header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ))
        .layer(static_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(static_header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(static_header(header::REFERRER_POLICY, "same-origin"))
        .layer(static_header(header::CACHE_CONTROL, "no-store"))
        .with_state(state)
}

/// Ctrl-C, or SIGTERM (what systemd and most supervisors send to stop a service).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("stopping: finishing requests in flight");
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("无法监听 {addr}：端口已被占用，请换一个端口（--listen）或先停止占用它的程序")]
    PortInUse { addr: SocketAddr },
    #[error("无法监听 {addr}：{reason}")]
    Bind { addr: SocketAddr, reason: String },
    #[error("服务运行出错：{0}")]
    Io(#[from] std::io::Error),
}

/// Bind first (so a taken port is reported before anything else), then serve until Ctrl-C.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, ServeError> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            ServeError::PortInUse { addr }
        } else {
            ServeError::Bind {
                addr,
                reason: e.to_string(),
            }
        }
    })
}

pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> Result<(), ServeError> {
    // The hourly upkeep (Services::sweep_hourly), at start and every hour; with several
    // servers on one PostgreSQL database one of them sweeps each round.
    let services = state.services.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            if let Err(e) = services.sweep_hourly().await {
                tracing::warn!(error = %e, "could not run the hourly sweeps");
            }
        }
    });
    let read_log = state.services.read_log.clone();
    let app = router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    // The reads of the last requests are written before the process ends.
    read_log.flush().await;
    Ok(())
}
