//! The 行政区划 picker's data: the divisions under a code (the provinces without one), from
//! the shipped GB/T 2260 list.

use axum::Json;
use axum::extract::Query;
use serde::Deserialize;

use super::CurrentUser;

#[derive(Deserialize, Default)]
pub struct ChildrenQuery {
    #[serde(default)]
    parent: String,
}

/// `[[code, name], …]` of the divisions directly under `parent`.
pub async fn children(
    _user: CurrentUser,
    Query(q): Query<ChildrenQuery>,
) -> Json<Vec<(String, String)>> {
    let parent = q.parent.trim();
    let parent = (!parent.is_empty()).then_some(parent);
    Json(
        crate::forms::divisions::children_of(parent)
            .into_iter()
            .map(|d| (d.code.clone(), d.name.clone()))
            .collect(),
    )
}
