//! The cities assistant page of a province: the city-level nodes its GB/T 2260 divisions call
//! for, each with a name to edit and a mark for 司法行政机关党组织, created in one go.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

use super::path::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::view::Ctx;
use super::{AppError, AppState, CurrentUser};
use crate::domain::OrgId;
use crate::service::cities::{NewCity, ProposedCity};
use crate::service::{Caller, ServiceError};

#[derive(Template, WebTemplate)]
#[template(path = "cities.html")]
pub struct CitiesPage {
    ctx: Option<Ctx>,
    csrf: String,
    org_id: OrgId,
    org_name: String,
    cities: Vec<ProposedCity>,
    errors: Vec<String>,
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    id: OrgId,
    errors: Vec<String>,
) -> Result<CitiesPage, AppError> {
    let (org, cities) = state
        .services
        .cities()
        .propose(Caller::User(&user.actor), id)
        .await?;
    Ok(CitiesPage {
        ctx: Some(Ctx::new(user, "tree")),
        csrf: user.csrf.clone(),
        org_id: id,
        org_name: org.name,
        cities,
        errors,
    })
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
) -> Result<CitiesPage, AppError> {
    page(&state, &user, id, Vec::new()).await
}

/// The form: `create` (region codes ticked), `name_<code>`, `judicial` (region codes ticked).
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let value = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let ticked = |key: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let judicial = ticked("judicial");
    let cities: Vec<NewCity> = ticked("create")
        .into_iter()
        .map(|code| NewCity {
            name: value(&format!("name_{code}")),
            judicial: judicial.contains(&code),
            region_code: code,
        })
        .collect();
    match state
        .services
        .cities()
        .create(Caller::User(&user.actor), id, &cities)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/orgs/{id}/children")).into_response()),
        Err(ServiceError::Invalid(list)) => {
            let errors = list.iter().map(ToString::to_string).collect();
            let p = page(&state, &user, id, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
