//! A node's package page: what it contains and lacks, the deadline, submitting it upward; for
//! the parent's reviewer, accepting or returning it and granting more time. Also the
//! summary tables and the inbox.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::view::Ctx;
use super::{AppError, AppState, CurrentUser};
use crate::domain::OrgId;
use crate::service::package::{PackageView, SubmitInput, state_label};
use crate::service::summary::SummaryTable;
use crate::service::{Caller, ServiceError, beijing_time};
use crate::store::notifications::Notification;

#[derive(Template, WebTemplate)]
#[template(path = "package.html")]
pub struct PackagePage {
    ctx: Option<Ctx>,
    csrf: String,
    v: PackageView,
    state_label: &'static str,
    submitted_at: String,
    missing_then: Vec<String>,
    time_left: String,
    children_pending: usize,
    error: Option<String>,
    notice: Option<String>,
    input: SubmitInput,
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

fn message_of(e: ServiceError) -> Result<String, AppError> {
    match e {
        ServiceError::Invalid(errors) => Ok(errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("；")),
        ServiceError::Conflict(m) => Ok(m),
        other => Err(AppError::Service(other)),
    }
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    error: Option<String>,
    input: Option<SubmitInput>,
) -> Result<PackagePage, AppError> {
    let v = state
        .services
        .package_view(Caller::User(&user.actor), OrgId(id))
        .await?;
    let input = input.unwrap_or_else(|| SubmitInput {
        secretary_name: v
            .package
            .as_ref()
            .map(|p| p.secretary_name.clone())
            .or_else(|| v.org.secretary_name.clone())
            .unwrap_or_default(),
        organiser_name: v
            .package
            .as_ref()
            .map(|p| p.organiser_name.clone())
            .unwrap_or_default(),
        contact_phone: v
            .package
            .as_ref()
            .map(|p| p.contact_phone.clone())
            .or_else(|| v.org.contact_phone.clone())
            .unwrap_or_default(),
        missing_note: String::new(),
    });
    let missing_then: Vec<String> = v
        .package
        .as_ref()
        .and_then(|p| serde_json::from_str::<Vec<serde_json::Value>>(&p.missing).ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m.get("what").and_then(|w| w.as_str()).map(str::to_owned))
        .collect();
    let time_left = match v.deadline.days_left {
        Some(d) if d > 0 => format!("还有 {d} 天"),
        Some(0) => "今天截止".to_owned(),
        Some(d) => format!("已过期 {} 天", -d),
        None => String::new(),
    };
    let children_pending = v
        .readiness
        .children
        .iter()
        .filter(|(_, p)| p.as_ref().is_none_or(|p| !p.state.is_accepted()))
        .count();
    Ok(PackagePage {
        ctx: Some(Ctx::new(user, "tree")),
        time_left,
        children_pending,
        csrf: user.csrf.clone(),
        state_label: state_label(v.package.as_ref().map(|p| p.state)),
        submitted_at: v
            .package
            .as_ref()
            .map(|p| beijing_time(p.submitted_at))
            .unwrap_or_default(),
        missing_then,
        v,
        error,
        notice: None,
        input,
    })
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> Result<PackagePage, AppError> {
    let mut p = page(&state, &user, id, None, None).await?;
    p.notice = match q.done.as_deref() {
        Some("submit") => Some("已报送上级，等待上级审核接收。".into()),
        Some("accept") => Some("已接收该组织报送的材料。".into()),
        Some("return") => Some("已退回，该组织将收到退回原因。".into()),
        Some("extend") => Some("已批准延期。".into()),
        _ => None,
    };
    Ok(p)
}

#[derive(Deserialize)]
pub struct SubmitForm {
    secretary_name: String,
    organiser_name: String,
    contact_phone: String,
    #[serde(default)]
    missing_note: String,
}

pub async fn submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<SubmitForm>,
) -> Result<Response, AppError> {
    let input = SubmitInput {
        secretary_name: f.secretary_name,
        organiser_name: f.organiser_name,
        contact_phone: f.contact_phone,
        missing_note: f.missing_note,
    };
    match state
        .services
        .submit_package(Caller::User(&user.actor), OrgId(id), &input)
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/orgs/{id}/package?done=submit")).into_response()),
        Err(e) => {
            let msg = message_of(e)?;
            Ok(page(&state, &user, id, Some(msg), Some(input))
                .await?
                .into_response())
        }
    }
}

/// After a parent's decision: back to the package page with a notice, or the page again with
/// the refusal.
async fn decided(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    result: Result<(), ServiceError>,
    done: &str,
) -> Result<Response, AppError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/orgs/{id}/package?done={done}")).into_response()),
        Err(e) => Ok(page(state, user, id, Some(message_of(e)?), None)
            .await?
            .into_response()),
    }
}

#[derive(Deserialize)]
pub struct DecideForm {
    version: i64,
    #[serde(default)]
    reason: String,
}

pub async fn accept(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<DecideForm>,
) -> Result<Response, AppError> {
    let result = state
        .services
        .accept_package(Caller::User(&user.actor), OrgId(id), f.version)
        .await;
    decided(&state, &user, id, result, "accept").await
}

pub async fn return_package(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<DecideForm>,
) -> Result<Response, AppError> {
    let result = state
        .services
        .return_package(Caller::User(&user.actor), OrgId(id), f.version, &f.reason)
        .await;
    decided(&state, &user, id, result, "return").await
}

#[derive(Deserialize)]
pub struct ExtendForm {
    until: String,
    reason: String,
}

pub async fn extend(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<ExtendForm>,
) -> Result<Response, AppError> {
    let result = state
        .services
        .grant_extension(Caller::User(&user.actor), OrgId(id), &f.until, &f.reason)
        .await;
    decided(&state, &user, id, result, "extend").await
}

#[derive(Template, WebTemplate)]
#[template(path = "summary.html")]
pub struct SummaryPage {
    ctx: Option<Ctx>,
    t: SummaryTable,
    coverage: String,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    page: Option<i64>,
}

pub async fn summary(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, code)): Path<(i64, String)>,
    Query(q): Query<PageQuery>,
) -> Result<SummaryPage, AppError> {
    let t = state
        .services
        .summary_table(
            Caller::User(&user.actor),
            OrgId(id),
            &code,
            q.page.unwrap_or(1),
        )
        .await?;
    let link = |p: i64| format!("/orgs/{id}/summary/{}?page={p}", code.to_lowercase());
    let coverage = t.stats.as_ref().map_or_else(String::new, |s| {
        let pm = s.coverage_permille();
        format!("{}.{}%", pm / 10, pm % 10)
    });
    Ok(SummaryPage {
        ctx: Some(Ctx::new(&user, "tree")),
        prev: (t.page > 1).then(|| link(t.page - 1)),
        next: t.has_next.then(|| link(t.page + 1)),
        coverage,
        t,
    })
}

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
        .inbox(Caller::User(&user.actor))
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
        .mark_read(Caller::User(&user.actor), None)
        .await?;
    Ok(Redirect::to("/inbox"))
}

#[derive(Deserialize, Default)]
pub struct ExportQuery {
    format: Option<String>,
}

/// `filename*` of a Content-Disposition header (RFC 5987): UTF-8, percent-encoded.
pub(super) fn disposition(name: &str) -> String {
    let mut encoded = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"export\"; filename*=UTF-8''{encoded}")
}

/// Download a node's 附件4/5/6 as .xlsx (official layout) or .csv.
pub async fn export(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, code)): Path<(i64, String)>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, AppError> {
    use crate::service::export::ExportFormat;
    let format = ExportFormat::from_code(q.format.as_deref().unwrap_or("xlsx"))
        .ok_or_else(|| AppError::BadRequest("导出格式应为 xlsx 或 csv".into()))?;
    let mut buf: Vec<u8> = Vec::new();
    let summary = state
        .services
        .export_table(
            Caller::User(&user.actor),
            OrgId(id),
            &code,
            format,
            &mut buf,
            &|_| {},
        )
        .await?;
    let content_type = match format {
        ExportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ExportFormat::Csv => "text/csv; charset=utf-8",
    };
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, content_type.to_owned()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                disposition(&summary.file_name),
            ),
        ],
        buf,
    )
        .into_response())
}

/// An .xlsx file as a download under its (Chinese) name.
fn xlsx_download(name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, disposition(name)),
        ],
        bytes,
    )
        .into_response()
}

/// One member's 附件1/附件2 in the official one-form layout (clerks, reviewers and
/// administrators of the member's subtree).
pub async fn member_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let (name, bytes) = state
        .services
        .export_member_form(Caller::User(&user.actor), crate::domain::MemberId(id))
        .await?;
    Ok(xlsx_download(&name, bytes))
}

/// One organisation's 附件3 in the official one-form layout (managers of its subtree).
pub async fn org_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let (name, bytes) = state
        .services
        .export_org_form(Caller::User(&user.actor), OrgId(id))
        .await?;
    Ok(xlsx_download(&name, bytes))
}

/// A blank Excel template of 附件1, 附件2, 附件3, the firm registry or the organisation roster
/// (no data in it; any working account).
pub async fn template(user: CurrentUser, Path(code): Path<String>) -> Result<Response, AppError> {
    let (name, bytes) = crate::service::template::template(Caller::User(&user.actor), &code)?;
    Ok(xlsx_download(&name, bytes))
}
