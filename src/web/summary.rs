//! The summary tables of a node (附件4, 附件5, 附件6 and the rosters), page by page.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};

use super::path::Path;
use serde::Deserialize;

use super::view::Ctx;
use super::{AppError, AppState, CurrentUser};
use crate::domain::OrgId;
use crate::service::Caller;
use crate::service::summary::{Comparison, SummaryTable};

#[derive(Template, WebTemplate)]
#[template(path = "summary.html")]
pub struct SummaryPage {
    ctx: Option<Ctx>,
    t: SummaryTable,
    coverage: String,
    prev: Option<String>,
    next: Option<String>,
    /// A table of persons: exported masked by default, in full with a purpose.
    personal: bool,
    purposes: [(&'static str, &'static str); 5],
    /// 与上次登记核查相比, when asked for (`?compare=1`): none yet, or the figures.
    compared: bool,
    year_on_year: Option<Comparison>,
    /// 正式口径 beside 当前口径, when asked for (`?basis=accepted`).
    official: Option<Comparison>,
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    page: Option<i64>,
    compare: Option<String>,
    basis: Option<String>,
}

pub async fn summary(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, code)): Path<(OrgId, String)>,
    Query(q): Query<PageQuery>,
) -> Result<SummaryPage, AppError> {
    let t = state
        .services
        .summary()
        .table(Caller::User(&user.actor), id, &code, q.page.unwrap_or(1))
        .await?;
    let compared = q.compare.is_some() && t.stats.is_some();
    let year_on_year = if compared {
        state
            .services
            .summary()
            .year_on_year(Caller::User(&user.actor), id)
            .await?
    } else {
        None
    };
    let official = if t.stats.is_some() && q.basis.as_deref() == Some("accepted") {
        Some(
            state
                .services
                .summary()
                .official_basis(Caller::User(&user.actor), id)
                .await?,
        )
    } else {
        None
    };
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
        personal: !matches!(t.code.as_str(), "A3" | "A6"),
        purposes: crate::service::Purpose::CHOICES,
        compared,
        year_on_year,
        official,
        t,
    })
}
