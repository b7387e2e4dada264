//! 批量建立账号: upload a sheet of organisation, name, role and mobile; the accounts and their
//! one-time activation codes come back once, as a printable list or an .xlsx.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::view::Ctx;
use super::{AppError, AppState, CurrentUser};
use crate::service::Caller;
use crate::service::accounts::{Issued, issued_xlsx};

#[derive(Template, WebTemplate)]
#[template(path = "accounts_import.html")]
pub struct ImportPage {
    ctx: Option<Ctx>,
    csrf: String,
    problems: Vec<String>,
}

fn page(user: &CurrentUser, problems: Vec<String>) -> ImportPage {
    ImportPage {
        ctx: Some(Ctx::new(user, "users")),
        csrf: user.csrf.clone(),
        problems,
    }
}

/// `GET /users/import`
pub async fn show(user: CurrentUser) -> Result<ImportPage, AppError> {
    Caller::User(&user.actor).require(crate::authz::Action::ManageUsers, None)?;
    Ok(page(&user, Vec::new()))
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts_issued.html")]
pub struct IssuedPage {
    ctx: Option<Ctx>,
    issued: Vec<Issued>,
}

/// `POST /users/import`: all accounts or none; the codes in the answer only.
pub async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let mut file: Option<bytes::Bytes> = None;
    let mut output = String::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                return Err(AppError::BadRequest(
                    "上传没有完成或文件过大，请重新上传".into(),
                ));
            }
        };
        match field.name() {
            Some("file") => {
                file = Some(
                    field
                        .bytes()
                        .await
                        .map_err(|_| AppError::BadRequest("上传没有完成，请重新上传".into()))?,
                );
            }
            Some("output") => output = field.text().await.unwrap_or_default(),
            _ => {}
        }
    }
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        let p = page(&user, vec!["请选择要导入的文件".into()]);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
    };
    match state
        .services
        .accounts()
        .import(Caller::User(&user.actor), &bytes)
        .await?
    {
        Err(problems) => {
            let p = page(&user, problems.0);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
        }
        Ok(issued) if output == "xlsx" => Ok(super::export::xlsx_download(
            "账号与激活码.xlsx",
            issued_xlsx(&issued)?,
        )),
        Ok(issued) => Ok(IssuedPage {
            ctx: Some(Ctx::new(&user, "users")),
            issued,
        }
        .into_response()),
    }
}
