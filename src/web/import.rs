//! Bulk import pages: upload a spreadsheet into a node, see the dry run (every error and
//! warning by row, column and rule), import all-or-nothing or the valid rows only, and undo a
//! recent batch.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Multipart, Query, State};

use super::path::Path;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::view::Ctx;
use super::{AppError, AppState, CurrentUser};
use crate::domain::OrgId;
use crate::service::import::Batch;
use crate::service::import::{ImportKind, ImportRequest, Issue, Mode, Report, Undone, Uploaded};
use crate::service::{Caller, ServiceError, beijing_time};

/// Issues shown on the page; the rest are in the downloadable list.
const ISSUES_SHOWN: usize = 500;

pub struct BatchRow {
    pub id: i64,
    pub file_name: String,
    pub kind: &'static str,
    pub mode: &'static str,
    pub at: String,
    pub by: String,
    pub total: i64,
    pub imported: i64,
    pub skipped: i64,
    pub undone: Option<String>,
}

fn batch_row(b: Batch) -> BatchRow {
    BatchRow {
        id: b.id,
        kind: ImportKind::from_code(&b.kind).map_or("未知", ImportKind::label),
        mode: Mode::label(&b.mode),
        at: beijing_time(b.created_at),
        by: b.created_by_name,
        total: b.rows_total,
        imported: b.rows_imported,
        skipped: b.rows_skipped,
        undone: b.undone_at.map(beijing_time),
        file_name: b.file_name,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "import.html")]
pub struct ImportPage {
    ctx: Option<Ctx>,
    csrf: String,
    org_id: OrgId,
    org_name: String,
    batches: Vec<BatchRow>,
    notice: Option<String>,
    error: Option<String>,
    max_mb: usize,
}

#[derive(Deserialize, Default)]
pub struct ImportQuery {
    batch: Option<i64>,
    undone: Option<u64>,
    kind: Option<String>,
}

async fn import_page(
    state: &AppState,
    user: &CurrentUser,
    id: OrgId,
    notice: Option<String>,
    error: Option<String>,
) -> Result<ImportPage, AppError> {
    let caller = Caller::User(&user.actor);
    let batches = state.services.import().batches(caller, id).await?;
    let org = state.services.import().target(caller, id).await?.name;
    Ok(ImportPage {
        ctx: Some(Ctx::new(user, "tree")),
        csrf: user.csrf.clone(),
        org_id: id,
        org_name: org,
        batches: batches.into_iter().map(batch_row).collect(),
        notice,
        error,
        max_mb: crate::sheet::MAX_FILE_BYTES / (1024 * 1024),
    })
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Query(q): Query<ImportQuery>,
) -> Result<ImportPage, AppError> {
    let mut notice = None;
    if let Some(b) = q.batch {
        let batches = state
            .services
            .import()
            .batches(Caller::User(&user.actor), id)
            .await?;
        if let Some(b) = batches.iter().find(|x| x.id == b) {
            let next = match ImportKind::from_code(&b.kind) {
                Some(ImportKind::Firms) => {
                    "律师事务所已登记在所属地市级党组织之下；有党组织的律所请接着导入党组织名册。"
                }
                Some(ImportKind::Orgs) => {
                    "新建的党组织已进入组织树；请为其开设工作账号，再由其导入或登记党员。"
                }
                _ => "导入的党员登记表为草稿，请通知党员本人核对补填后提交。",
            };
            notice = Some(format!(
                "导入完成：批次 {}，导入 {} 行，未导入 {} 行。{next}",
                b.id, b.rows_imported, b.rows_skipped
            ));
        }
    }
    if let Some(removed) = q.undone {
        let kind = q
            .kind
            .as_deref()
            .and_then(ImportKind::from_code)
            .unwrap_or(ImportKind::Lawyers);
        notice = Some(format!(
            "已撤销该批次，{}。",
            Undone { kind, removed }.message()
        ));
    }
    import_page(&state, &user, id, notice, None).await
}

/// An uploaded file's name as shown and stored: without the browser's folders, control
/// characters, and beyond 120 characters.
pub(super) fn upload_name(sent: Option<&str>) -> String {
    sent.map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n))
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect()
}

/// Receive the file, keep it for the decision, and go to the dry run.
pub async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let mut file: Option<(String, bytes::Bytes)> = None;
    let mut kind = String::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                return Err(AppError::BadRequest(format!(
                    "上传没有完成或文件过大（单个文件不能超过 {} MB），请重新上传",
                    crate::sheet::MAX_FILE_BYTES / (1024 * 1024)
                )));
            }
        };
        match field.name() {
            Some("file") => {
                let name = upload_name(field.file_name());
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|_| AppError::BadRequest("上传没有完成，请重新上传".into()))?;
                file = Some((name, bytes));
            }
            Some("kind") => kind = field.text().await.unwrap_or_default(),
            _ => {}
        }
    }
    let Some((name, bytes)) = file.filter(|(n, b)| !n.is_empty() || !b.is_empty()) else {
        let page = import_page(&state, &user, id, None, Some("请选择要导入的文件".into())).await?;
        return Ok(page.into_response());
    };
    let kind = ImportKind::from_code(&kind);
    let uploaded = state
        .services
        .import()
        .upload(Caller::User(&user.actor), id, &name, &bytes, kind)
        .await;
    match uploaded {
        Ok(Uploaded::Kept(upload)) => {
            Ok(Redirect::to(&format!("/orgs/{id}/import/{upload}")).into_response())
        }
        // Nothing was kept: the verdict is shown at once.
        Ok(Uploaded::Refused(r)) => Ok(preview(&user, id, None, name, r, None).into_response()),
        Err(ServiceError::Busy(m)) => {
            let page = import_page(&state, &user, id, None, Some(m)).await?;
            Ok((axum::http::StatusCode::SERVICE_UNAVAILABLE, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub struct IssueRow {
    pub row: String,
    pub column: String,
    pub rule: String,
    pub level: &'static str,
    pub error: bool,
    pub message: String,
}

fn issue_row(i: &Issue) -> IssueRow {
    IssueRow {
        row: crate::service::import::issue_place(i),
        column: i.column.clone().unwrap_or_default(),
        rule: i.rule.clone(),
        level: if i.error { "错误" } else { "提示" },
        error: i.error,
        message: i.message.clone(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "import_preview.html")]
pub struct PreviewPage {
    ctx: Option<Ctx>,
    csrf: String,
    org_id: OrgId,
    /// The waiting upload (none when the file was refused and not kept).
    upload: Option<i64>,
    file_name: String,
    kind_code: String,
    kind_label: &'static str,
    r: Report,
    issues: Vec<IssueRow>,
    /// Findings not shown in the table: in the downloadable list, or only counted.
    more: usize,
    rules: Vec<(String, usize, usize)>,
    can_all: bool,
    can_valid: bool,
    error: Option<String>,
}

/// The preview of a report: the waiting upload's, or a refused file's.
fn preview(
    user: &CurrentUser,
    org_id: OrgId,
    upload: Option<i64>,
    file_name: String,
    r: Report,
    error: Option<String>,
) -> PreviewPage {
    let issues: Vec<IssueRow> = r.issues.iter().take(ISSUES_SHOWN).map(issue_row).collect();
    PreviewPage {
        ctx: Some(Ctx::new(user, "tree")),
        csrf: user.csrf.clone(),
        org_id,
        upload,
        file_name,
        kind_code: r.kind.map_or("", ImportKind::code).to_owned(),
        kind_label: r.kind.map_or("未识别", ImportKind::label),
        more: (r.issues.len() + r.omitted).saturating_sub(ISSUES_SHOWN),
        rules: r.rules.clone(),
        can_all: upload.is_some() && r.importable(Mode::AllOrNothing),
        can_valid: upload.is_some() && r.importable(Mode::ValidOnly),
        issues,
        r,
        error,
    }
}

/// The waiting upload's dry run, as it was checked on upload (nothing is checked again).
pub async fn show_upload(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, upload)): Path<(OrgId, i64)>,
) -> Result<PreviewPage, AppError> {
    let stashed = state
        .services
        .import()
        .stashed(Caller::User(&user.actor), id, upload)
        .await?;
    Ok(preview(
        &user,
        id,
        Some(upload),
        stashed.file_name,
        stashed.report,
        None,
    ))
}

/// The whole list of findings as CSV (UTF-8 with BOM), to work through in Excel.
pub async fn issues_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, upload)): Path<(OrgId, i64)>,
) -> Result<Response, AppError> {
    let r = state
        .services
        .import()
        .stashed(Caller::User(&user.actor), id, upload)
        .await?
        .report;
    let out = crate::service::import::issues_csv(&r);
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                super::export::disposition("导入问题清单.csv"),
            ),
        ],
        out,
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct DecideForm {
    mode: String,
    #[serde(default)]
    kind: String,
}

/// Import the waiting file in the chosen mode, or give it up.
pub async fn decide(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, upload)): Path<(OrgId, i64)>,
    Form(f): Form<DecideForm>,
) -> Result<Response, AppError> {
    let caller = Caller::User(&user.actor);
    if f.mode == "discard" {
        state.services.import().discard(caller, id, upload).await?;
        return Ok(Redirect::to(&format!("/orgs/{id}/import")).into_response());
    }
    let mode =
        Mode::from_code(&f.mode).ok_or_else(|| AppError::BadRequest("请选择导入方式".into()))?;
    let stashed = state.services.import().stashed(caller, id, upload).await?;
    let kind = stashed.kind.or_else(|| ImportKind::from_code(&f.kind));
    let outcome = state
        .services
        .import()
        .run(
            caller,
            ImportRequest {
                into: id,
                file_name: &stashed.file_name,
                bytes: &stashed.bytes,
                kind,
                mode,
            },
            &|_, _| {},
        )
        .await;
    let again = |r: Report, message: String| {
        preview(
            &user,
            id,
            Some(upload),
            stashed.file_name.clone(),
            r,
            Some(message),
        )
        .into_response()
    };
    match outcome {
        Ok(done) => match done.batch_id {
            Some(batch) => {
                state.services.import().discard(caller, id, upload).await?;
                Ok(Redirect::to(&format!("/orgs/{id}/import?batch={batch}")).into_response())
            }
            // Checked again at the import, the file (or the database) had changed.
            None => Ok(again(
                done.report,
                "文件中有错误，未导入任何数据：请改正后重新上传，或选择“仅导入无误的行”".into(),
            )),
        },
        Err(ServiceError::Conflict(r)) => Ok(again(stashed.report.clone(), r.to_string())),
        Err(ServiceError::Busy(m)) => Ok(again(stashed.report.clone(), m)),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct UndoForm {
    org: i64,
}

pub async fn undo(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(batch): Path<i64>,
    Form(f): Form<UndoForm>,
) -> Result<Response, AppError> {
    let result = state
        .services
        .import()
        .undo(Caller::User(&user.actor), batch)
        .await;
    let result = match super::approvals::or_ask(
        &user,
        crate::service::four_eyes::Risky::UndoImport { batch },
        result,
    ) {
        Ok(r) => r,
        Err(ask) => return Ok(*ask),
    };
    match result {
        Ok(u) => Ok(Redirect::to(&format!(
            "/orgs/{}/import?undone={}&kind={}",
            f.org,
            u.removed,
            u.kind.code()
        ))
        .into_response()),
        Err(ServiceError::Conflict(m)) => {
            Ok(
                import_page(&state, &user, OrgId(f.org), None, Some(m.to_string()))
                    .await?
                    .into_response(),
            )
        }
        Err(e) => Err(e.into()),
    }
}
