//! Downloads: a node's tables as .xlsx or .csv, one member's 附件1/附件2 and one organisation's
//! 附件3 in the official one-form layout; the `Content-Disposition` of every download.

use axum::extract::{Query, State};

use super::path::Path;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{AppError, AppState, CurrentUser};
use crate::domain::OrgId;
use crate::service::Caller;

#[derive(Deserialize, Default)]
pub struct ExportQuery {
    format: Option<String>,
    /// `full` for full citizen ID numbers (with a purpose); masked otherwise.
    #[serde(default)]
    ids: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    note: String,
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
    Path((id, code)): Path<(OrgId, String)>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, AppError> {
    use crate::service::export::ExportFormat;
    let format = ExportFormat::from_code(q.format.as_deref().unwrap_or("xlsx"))
        .ok_or_else(|| AppError::BadRequest("导出格式应为 xlsx 或 csv".into()))?;
    let ids = crate::service::Ids::parse(&q.ids, &q.purpose, &q.note)?;
    let mut buf: Vec<u8> = Vec::new();
    let summary = state
        .services
        .export()
        .table(
            Caller::User(&user.actor),
            id,
            &code,
            format,
            &ids,
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
pub(super) fn xlsx_download(name: &str, bytes: Vec<u8>) -> Response {
    download(
        name,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        bytes,
    )
}

/// A file to download under its (Chinese) name, of this content type.
pub(super) fn download(name: &str, content_type: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type.to_owned()),
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
    Path(id): Path<crate::domain::MemberId>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, AppError> {
    let ids = crate::service::Ids::parse(&q.ids, &q.purpose, &q.note)?;
    let (name, bytes) = state
        .services
        .member_form()
        .of_member(Caller::User(&user.actor), id, &ids)
        .await?;
    Ok(xlsx_download(&name, bytes))
}

/// One organisation's 附件3 in the official one-form layout (managers of its subtree).
pub async fn org_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
) -> Result<Response, AppError> {
    let (name, bytes) = state
        .services
        .member_form()
        .of_org(Caller::User(&user.actor), id)
        .await?;
    Ok(xlsx_download(&name, bytes))
}
