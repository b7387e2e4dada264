//! 名册 pages (now or as of a past date; filter, print, export) and 档案 pages of a member and
//! an organisation.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::path::Path;
use super::view::{Ctx, Pager};
use super::{AppError, AppState, CurrentUser};
use crate::domain::{MemberId, OrgId, OrgKind};
use crate::service::export::{ExportFormat, roster_cells, roster_columns};
use crate::service::roster::{Archive, Roster, RosterFilter};
use crate::service::{Caller, ServiceError};

#[derive(Deserialize, Default, Clone)]
pub struct RosterQuery {
    #[serde(default)]
    roster: String,
    #[serde(default)]
    as_of: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    name: String,
    /// `accepted`: the official roster (changes accepted by the national level only).
    #[serde(default)]
    basis: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    format: String,
}

impl RosterQuery {
    fn roster(&self) -> Roster {
        Roster::from_code(&self.roster).unwrap_or(Roster::Lawyers)
    }

    fn filter(&self, per_page: i64) -> RosterFilter {
        let roster = self.roster();
        RosterFilter {
            roster,
            as_of: Some(self.as_of.trim().to_owned()).filter(|d| !d.is_empty()),
            category: Some(self.category.trim().to_owned())
                .filter(|c| categories(roster).iter().any(|(k, _)| k == c)),
            name: Some(self.name.trim().to_owned()).filter(|n| !n.is_empty()),
            accepted: self.basis == "accepted",
            page: self.page.parse::<i64>().unwrap_or(1).max(1),
            per_page,
        }
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("roster", self.roster().code().to_owned()),
            ("as_of", self.as_of.trim().to_owned()),
            ("category", self.category.trim().to_owned()),
            ("name", self.name.trim().to_owned()),
            (
                "basis",
                if self.basis == "accepted" {
                    "accepted".to_owned()
                } else {
                    String::new()
                },
            ),
        ]
    }

    fn query_string(&self) -> String {
        let pairs: Vec<(&str, String)> = self
            .params()
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }
}

/// The category filter's choices of a roster: (code, label).
fn categories(r: Roster) -> Vec<(String, String)> {
    match r {
        Roster::Lawyers | Roster::Staff => vec![
            ("full".into(), "正式党员".into()),
            ("probationary".into(), "预备党员".into()),
        ],
        Roster::Orgs => OrgKind::ALL
            .iter()
            .map(|k| (k.code().to_owned(), k.label().to_owned()))
            .collect(),
        Roster::Firms => vec![
            ("own".into(), "单独建立党组织".into()),
            ("joint".into(), "纳入联合党支部".into()),
            ("none".into(), "未建立党组织".into()),
        ],
    }
}

/// A line as the page shows it: the record's link, and its cells.
pub struct RosterRow {
    pub href: String,
    pub cells: Vec<String>,
    /// The version shown ended after the day asked for.
    pub since_changed: bool,
}

fn rows_of(r: Roster, lines: &[crate::service::roster::Line], offset: usize) -> Vec<RosterRow> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut cells = vec![(offset + i + 1).to_string()];
            cells.extend(roster_cells(r, l));
            RosterRow {
                href: match r {
                    Roster::Lawyers | Roster::Staff => format!("/members/{}/archive", l.id),
                    Roster::Orgs => format!("/orgs/{}/archive", l.id),
                    Roster::Firms => format!("/firms/{}", l.id),
                },
                cells,
                since_changed: l.to_date.is_some(),
            }
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "rosters.html")]
pub struct RostersPage {
    ctx: Option<Ctx>,
    org_id: i64,
    org_name: String,
    rosters: Vec<(&'static str, &'static str)>,
    roster: &'static str,
    roster_label: &'static str,
    as_of: String,
    category: String,
    name: String,
    accepted: bool,
    categories: Vec<(String, String)>,
    columns: Vec<&'static str>,
    rows: Vec<RosterRow>,
    pager: Pager,
    query: String,
    can_export: bool,
    errors: Vec<String>,
}

const PER_PAGE: i64 = 50;

/// `GET /orgs/{id}/rosters`: one roster of the node's subtree, now or on a past date.
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Query(q): Query<RosterQuery>,
) -> Result<Response, AppError> {
    let f = q.filter(PER_PAGE);
    let caller = Caller::User(&user.actor);
    let mut errors = Vec::new();
    let (org_name, rows, pager) = match state.services.roster().page(caller, id, &f).await {
        Ok((org, page)) => {
            let offset = ((page.page - 1) * page.per_page) as usize;
            let rows = rows_of(f.roster, &page.items, offset);
            (
                org.name,
                rows,
                Pager::new(&format!("/orgs/{}/rosters", id.0), &q.params(), &page),
            )
        }
        Err(ServiceError::Invalid(list)) => {
            errors = list.iter().map(ToString::to_string).collect();
            let org = state.services.directory().org(caller, id).await?.org;
            (
                org.name,
                Vec::new(),
                Pager {
                    page: 1,
                    prev: None,
                    next: None,
                },
            )
        }
        Err(e) => return Err(e.into()),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = RostersPage {
        ctx: Some(Ctx::new(&user, "tree")),
        org_id: id.0,
        org_name,
        rosters: Roster::ALL.iter().map(|r| (r.code(), r.label())).collect(),
        roster: f.roster.code(),
        roster_label: f.roster.label(),
        as_of: q.as_of.trim().to_owned(),
        category: f.category.clone().unwrap_or_default(),
        name: q.name.trim().to_owned(),
        accepted: f.accepted && f.as_of.is_none(),
        categories: categories(f.roster),
        columns: std::iter::once("序号")
            .chain(roster_columns(f.roster).iter().copied())
            .collect(),
        rows,
        pager,
        query: q.query_string(),
        can_export: user.actor.role != crate::domain::Role::Auditor,
        errors,
    };
    Ok((status, page).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "roster_print.html")]
pub struct RosterPrint {
    ctx: Option<Ctx>,
    title: String,
    as_of: String,
    columns: Vec<&'static str>,
    rows: Vec<RosterRow>,
    cut: bool,
    limit: i64,
}

/// `GET /orgs/{id}/rosters/print`: the roster on A4 (at most a few thousand lines).
pub async fn print(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Query(q): Query<RosterQuery>,
) -> Result<RosterPrint, AppError> {
    let f = q.filter(PER_PAGE);
    let (org, lines, cut) = state
        .services
        .roster()
        .print(Caller::User(&user.actor), id, &f)
        .await?;
    Ok(RosterPrint {
        ctx: Some(Ctx::new(&user, "tree")),
        title: format!("{}{}", org.name, f.roster.label()),
        as_of: f.as_of.clone().unwrap_or_else(|| {
            if f.accepted {
                "当前（正式口径：已被全国接收的变更）".to_owned()
            } else {
                "当前".to_owned()
            }
        }),
        columns: std::iter::once("序号")
            .chain(roster_columns(f.roster).iter().copied())
            .collect(),
        rows: rows_of(f.roster, &lines, 0),
        cut,
        limit: crate::service::roster::PRINT_LINES,
    })
}

/// `GET /orgs/{id}/rosters/export?format=xlsx|csv`: the whole roster as a file.
pub async fn export(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Query(q): Query<RosterQuery>,
) -> Result<Response, AppError> {
    let format = ExportFormat::from_code(if q.format.is_empty() {
        "xlsx"
    } else {
        &q.format
    })
    .ok_or_else(|| AppError::BadRequest("导出格式应为 xlsx 或 csv".into()))?;
    let f = q.filter(PER_PAGE);
    let mut buf: Vec<u8> = Vec::new();
    let summary = state
        .services
        .export()
        .roster(Caller::User(&user.actor), id, &f, format, &mut buf)
        .await?;
    let content_type = match format {
        ExportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ExportFormat::Csv => "text/csv; charset=utf-8",
    };
    Ok(super::export::download(
        &summary.file_name,
        content_type,
        buf,
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "archive.html")]
pub struct ArchivePage {
    ctx: Option<Ctx>,
    a: Archive,
    /// The versions' category column, in words.
    versions: Vec<(String, String, String, String)>,
    back: String,
}

fn category_label(code: &str) -> String {
    match code {
        "full" => "正式党员".to_owned(),
        "probationary" => "预备党员".to_owned(),
        other => {
            OrgKind::from_code(other).map_or_else(|| other.to_owned(), |k| k.label().to_owned())
        }
    }
}

fn archive_page(user: &CurrentUser, a: Archive, back: String) -> ArchivePage {
    let versions = a
        .versions
        .iter()
        .map(|(f, t, p, c)| (f.clone(), t.clone(), p.clone(), category_label(c)))
        .collect();
    ArchivePage {
        ctx: Some(Ctx::new(user, "tree")),
        a,
        versions,
        back,
    }
}

/// `GET /members/{id}/archive`: a member's whole story.
pub async fn member(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<MemberId>,
) -> Result<ArchivePage, AppError> {
    let a = state
        .services
        .roster()
        .member_archive(Caller::User(&user.actor), id)
        .await?;
    Ok(archive_page(&user, a, format!("/members/{}", id.0)))
}

/// `GET /orgs/{id}/archive`: an organisation's whole story.
pub async fn org(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
) -> Result<ArchivePage, AppError> {
    let a = state
        .services
        .roster()
        .org_archive(Caller::User(&user.actor), id)
        .await?;
    Ok(archive_page(&user, a, format!("/orgs/{}", id.0)))
}
