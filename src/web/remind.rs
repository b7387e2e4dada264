//! 催办 buttons: remind a node's unsubmitted members, or its children that have not handed
//! in, and come back to the page with what the reminder reached.

use axum::Form;
use axum::extract::State;
use axum::response::Redirect;
use serde::Deserialize;

use super::path::Path;
use super::{AppError, AppState, CurrentUser};
use crate::domain::OrgId;
use crate::service::Caller;
use crate::service::remind::Reminded;

/// What a reminder reached, carried back to the page in its query string (counts only).
#[derive(Debug, Deserialize, Default)]
pub struct RemindedQuery {
    reminded: Option<String>,
    sent: Option<String>,
    unreachable: Option<String>,
    nodes: Option<String>,
}

impl RemindedQuery {
    fn of(r: &Reminded) -> String {
        format!(
            "reminded={}&sent={}&unreachable={}&nodes={}",
            r.targets,
            r.notified,
            r.unreachable,
            u8::from(r.nodes)
        )
    }

    /// The sentence to show, when the page was reached from a reminder.
    pub fn message(&self) -> Option<String> {
        let num = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<i64>().ok());
        let targets = num(&self.reminded)?;
        Some(
            Reminded {
                targets,
                notified: u64::try_from(num(&self.sent).unwrap_or(0)).unwrap_or(0),
                unreachable: num(&self.unreachable).unwrap_or(0),
                nodes: self.nodes.as_deref() == Some("1"),
            }
            .message(),
        )
    }
}

#[derive(Deserialize)]
pub struct RemindForm {
    /// Where to come back to: `home`, `members` or `cockpit`.
    #[serde(default)]
    back: String,
    /// One child only (cockpit rows).
    #[serde(default)]
    child: String,
}

fn back_to(back: &str, id: OrgId, reminded: &Reminded) -> Redirect {
    let q = RemindedQuery::of(reminded);
    Redirect::to(&match back {
        "home" => format!("/?{q}"),
        "cockpit" => format!("/orgs/{id}/cockpit?{q}"),
        _ => format!("/members?under={id}&form=none&{q}"),
    })
}

pub async fn members(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Form(f): Form<RemindForm>,
) -> Result<Redirect, AppError> {
    let r = state
        .services
        .remind()
        .members(Caller::User(&user.actor), id)
        .await?;
    Ok(back_to(&f.back, id, &r))
}

pub async fn children(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Form(f): Form<RemindForm>,
) -> Result<Redirect, AppError> {
    let child = f.child.trim().parse::<i64>().ok().map(OrgId);
    let r = state
        .services
        .remind()
        .children(Caller::User(&user.actor), id, child)
        .await?;
    Ok(back_to(&f.back, id, &r))
}
