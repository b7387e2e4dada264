//! The review queue of a node: submitted forms below it, approved one by one or in bulk.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};

use super::path::Path;
use axum::response::Redirect;
use serde::Deserialize;

use super::view::Ctx;
use super::{AppError, AppState, CurrentUser};
use crate::authz::{Action, Decision, authorize};
use crate::domain::{MemberId, OrgId};
use crate::service::{Caller, beijing_time};

#[derive(Template, WebTemplate)]
#[template(path = "reviews.html")]
pub struct ReviewsPage {
    ctx: Option<Ctx>,
    csrf: String,
    org_id: i64,
    org_name: String,
    rows: Vec<(i64, String, String, String, String)>,
    can_review: bool,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct QueueQuery {
    approved: Option<String>,
}

pub async fn queue(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Query(q): Query<QueueQuery>,
) -> Result<ReviewsPage, AppError> {
    let (org, list) = state
        .services
        .review()
        .pending(Caller::User(&user.actor), id)
        .await?;
    Ok(ReviewsPage {
        ctx: Some(Ctx::new(&user, "tree")),
        csrf: user.csrf.clone(),
        org_id: org.id.0,
        can_review: authorize(&user.actor, Action::Review, Some(&org.path)) == Decision::Allow,
        org_name: org.name,
        rows: list
            .into_iter()
            .map(|p| {
                let form = if p.form_code == "A1" {
                    "附件1"
                } else {
                    "附件2"
                };
                (
                    p.member_id.0,
                    p.name,
                    p.firm_name,
                    form.to_owned(),
                    p.submitted_at.map(beijing_time).unwrap_or_default(),
                )
            })
            .collect(),
        notice: q.approved.map(|n| format!("已审核通过 {n} 份登记表。")),
    })
}

pub async fn approve_many(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Redirect, AppError> {
    let ids: Vec<MemberId> = pairs
        .iter()
        .filter(|(k, _)| k == "member")
        .filter_map(|(_, v)| v.trim().parse().ok().map(MemberId))
        .collect();
    let n = state
        .services
        .review()
        .approve(Caller::User(&user.actor), &ids)
        .await?;
    Ok(Redirect::to(&format!("/orgs/{id}/reviews?approved={n}")))
}
