//! 执业信息核对 pages: the licensing-roster snapshots and the national upload form, a node's
//! reconciliation counts by child with each category's lines (explained with a note in place)
//! and its workbook.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::path::Path;
use super::view::Ctx;
use super::{AppError, AppState, CurrentUser};
use crate::domain::OrgId;
use crate::service::exchange::{Input, Line, Lines, Loaded, Problem, Reconciliation, Source};
use crate::service::{Caller, ServiceError, beijing_time};
use crate::store::licensing::{Category, Snapshot};

/// Lines on one page.
const PER_PAGE: i64 = 50;

#[derive(Template, WebTemplate)]
#[template(path = "exchange.html")]
pub struct ExchangePage {
    ctx: Option<Ctx>,
    csrf: String,
    snapshots: Vec<(Snapshot, String)>,
    can_load: bool,
    root: i64,
    problems: Vec<Problem>,
    total: usize,
    error: Option<String>,
    loaded: Option<i64>,
    as_of: String,
}

#[derive(Deserialize, Default)]
pub struct ExchangeQuery {
    loaded: Option<i64>,
}

async fn exchange_page(
    state: &AppState,
    user: &CurrentUser,
    problems: Vec<Problem>,
    total: usize,
    error: Option<String>,
    loaded: Option<i64>,
    as_of: String,
) -> Result<ExchangePage, AppError> {
    let snapshots = state
        .services
        .exchange()
        .snapshots(Caller::User(&user.actor))
        .await?
        .into_iter()
        .map(|s| {
            let at = beijing_time(s.loaded_at);
            (s, at)
        })
        .collect();
    let can_load = crate::authz::authorize(&user.actor, crate::authz::Action::LoadLicensing, None)
        == crate::authz::Decision::Allow;
    Ok(ExchangePage {
        ctx: Some(Ctx::new(&user.clone(), "tree")),
        csrf: user.csrf.clone(),
        snapshots,
        can_load,
        root: user.actor.org_path.ids().first().map_or(0, |i| i.0),
        problems,
        total,
        error,
        loaded,
        as_of,
    })
}

/// `GET /exchange`.
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ExchangeQuery>,
) -> Result<ExchangePage, AppError> {
    exchange_page(&state, &user, Vec::new(), 0, None, q.loaded, String::new()).await
}

/// `POST /exchange`: the roster files, an optional mapping file and the data date.
pub async fn load(
    State(state): State<AppState>,
    user: CurrentUser,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let mut inputs = Vec::new();
    let mut mapping: Option<String> = None;
    let mut as_of = String::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                return Err(AppError::BadRequest(format!(
                    "上传没有完成或文件过大（网页上传的文件合计不能超过 {} MB；更大的名册请用命令 dengji exchange load），请重新上传",
                    crate::sheet::MAX_FILE_BYTES / (1024 * 1024)
                )));
            }
        };
        let name = field.name().unwrap_or("").to_owned();
        match name.as_str() {
            "lawyers" | "firms" | "mapping" => {
                let file = super::import::upload_name(field.file_name());
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|_| AppError::BadRequest("上传没有完成，请重新上传".into()))?;
                if bytes.is_empty() && file.is_empty() {
                    continue;
                }
                if name == "mapping" {
                    mapping = Some(String::from_utf8(bytes.to_vec()).map_err(|_| {
                        AppError::BadRequest("映射文件应为 UTF-8 编码的文本（TOML）".into())
                    })?);
                } else {
                    inputs.push(Input {
                        name: if file.is_empty() { name.clone() } else { file },
                        source: Source::Bytes(bytes.to_vec()),
                    });
                }
            }
            "as_of" => as_of = field.text().await.unwrap_or_default(),
            _ => {}
        }
    }
    let loaded = state
        .services
        .exchange()
        .load(
            Caller::User(&user.actor),
            inputs,
            mapping.as_deref(),
            &as_of,
        )
        .await;
    match loaded {
        Ok(Loaded::Done(s)) => {
            Ok(Redirect::to(&format!("/exchange?loaded={}", s.id)).into_response())
        }
        Ok(Loaded::Refused { problems, total }) => {
            let page = exchange_page(&state, &user, problems, total, None, None, as_of).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(ServiceError::Invalid(errors)) => {
            let message = errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("；");
            let page =
                exchange_page(&state, &user, Vec::new(), 0, Some(message), None, as_of).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct ReconcileQuery {
    #[serde(default)]
    category: String,
    page: Option<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "reconcile.html")]
pub struct ReconcilePage {
    ctx: Option<Ctx>,
    csrf: String,
    r: Reconciliation,
    categories: Vec<(&'static str, &'static str)>,
    lines: Option<Lines>,
    can_explain: bool,
    pages: i64,
}

impl ReconcilePage {
    fn line_id(&self, l: &Line) -> String {
        format!("{}-{}", l.category.code(), l.subject)
    }
}

/// `GET /orgs/{id}/reconcile`: the counts, and a category's lines when one is chosen.
pub async fn show_node(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Query(q): Query<ReconcileQuery>,
) -> Result<Response, AppError> {
    let caller = Caller::User(&user.actor);
    let svc = state.services.exchange();
    // Without a snapshot the service's refusal (409) says what to do.
    let r = svc.reconcile(caller, id).await?;
    let lines = if q.category.is_empty() {
        None
    } else {
        let c = Category::parse(&q.category).ok_or(ServiceError::NotFound)?;
        Some(
            svc.lines(caller, id, c, q.page.unwrap_or(1), PER_PAGE)
                .await?,
        )
    };
    let can_explain = crate::authz::authorize(
        &user.actor,
        crate::authz::Action::ManageMembers,
        Some(&r.org.path),
    ) == crate::authz::Decision::Allow;
    let pages = lines
        .as_ref()
        .map_or(0, |l| (l.total + PER_PAGE - 1) / PER_PAGE);
    Ok(ReconcilePage {
        ctx: Some(Ctx::new(&user, "tree")),
        csrf: user.csrf.clone(),
        r,
        categories: Category::ALL
            .iter()
            .map(|c| (c.code(), c.label()))
            .collect(),
        lines,
        can_explain,
        pages,
    }
    .into_response())
}

/// `GET /orgs/{id}/reconcile.xlsx`.
pub async fn export(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
) -> Result<Response, AppError> {
    let (name, bytes) = state
        .services
        .exchange()
        .workbook(Caller::User(&user.actor), id)
        .await?;
    Ok(super::export::xlsx_download(&name, bytes))
}

/// `POST /orgs/{id}/reconcile/refresh`: 重新核对 the subtree.
pub async fn refresh(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
) -> Result<Response, AppError> {
    state
        .services
        .exchange()
        .refresh(Caller::User(&user.actor), id)
        .await?;
    Ok(Redirect::to(&format!("/orgs/{id}/reconcile")).into_response())
}

#[derive(Deserialize)]
pub struct AddForm {
    subject: String,
}

/// `POST /orgs/{id}/reconcile/add`: the new-member form pre-filled from an unregistered line
/// (a POST, so the ID number never rides in a URL).
pub async fn add(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Form(f): Form<AddForm>,
) -> Result<Response, AppError> {
    let p = state
        .services
        .exchange()
        .prefill(Caller::User(&user.actor), id, &f.subject)
        .await?;
    Ok(super::membership::prefilled_page(&state, &user, id, p)
        .await?
        .into_response())
}

#[derive(Deserialize)]
pub struct ExplainForm {
    category: String,
    subject: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    page: Option<i64>,
}

/// `POST /orgs/{id}/reconcile/explain`.
pub async fn explain(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Form(f): Form<ExplainForm>,
) -> Result<Response, AppError> {
    let c = Category::parse(&f.category).ok_or(ServiceError::NotFound)?;
    state
        .services
        .exchange()
        .explain(Caller::User(&user.actor), id, c, &f.subject, &f.note)
        .await?;
    Ok(Redirect::to(&format!(
        "/orgs/{id}/reconcile?category={}&page={}",
        c.code(),
        f.page.unwrap_or(1)
    ))
    .into_response())
}
