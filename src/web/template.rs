//! Blank import templates as downloads.

use super::path::Path;
use axum::response::Response;

use super::export::xlsx_download;
use super::{AppError, CurrentUser};
use crate::service::Caller;

/// A blank Excel template of 附件1, 附件2, 附件3, the firm registry or the organisation roster
/// (no data in it; any working account).
pub async fn template(user: CurrentUser, Path(code): Path<String>) -> Result<Response, AppError> {
    let (name, bytes) = crate::service::template::template(Caller::User(&user.actor), &code)?;
    Ok(xlsx_download(&name, bytes))
}
