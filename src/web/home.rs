//! The home page by role: a member sees the state of their own form and what to do next; a
//! working account sees its node's work in order of urgency, with counts, links and 催办.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use super::remind::RemindedQuery;
use super::view::Ctx;
use super::{AppError, AppState, CurrentUser};
use crate::authz::{Action, Decision, authorize};
use crate::domain::{OrgLevel, RegistrationState, Role};
use crate::service::cockpit::{ChildRow, Tasks, percent_label};
use crate::service::directory::SubtreeCounts;
use crate::service::registration::FormStatus;
use crate::service::{Caller, ServiceError};

/// Children listed on the home page in full up to this many.
const MAX_CHILDREN: usize = 40;

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    ctx: Option<Ctx>,
    csrf: String,
    org_name: String,
    org_line: String,
    counts: SubtreeCounts,
    campaign: Option<String>,
    tasks: Option<Tasks>,
    /// The children listed on the page (all when few, else those not handed in).
    child_rows: Vec<ChildRow>,
    more_children: bool,
    can_remind: bool,
    can_review: bool,
    reminded: Option<String>,
}

impl HomePage {
    fn pct(&self, approved: &i64, members: &i64) -> String {
        percent_label(crate::service::cockpit::completion(*approved, *members))
    }

    fn days(&self, d: &Option<i64>) -> String {
        super::view::days_left_label(*d)
    }

    fn is_national(&self, t: &Tasks) -> bool {
        t.org.level == OrgLevel::National
    }

    fn samples_here(&self, t: &Tasks) -> bool {
        matches!(t.org.level, OrgLevel::National | OrgLevel::Province)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "member_home.html")]
pub struct MemberHomePage {
    ctx: Option<Ctx>,
    name: Option<String>,
    member_id: i64,
    org_name: String,
    status: Option<FormStatus>,
}

impl MemberHomePage {
    fn state_label(&self, s: &FormStatus) -> &'static str {
        match s.state {
            None => "未填写",
            Some(RegistrationState::Draft) => "草稿（尚未提交）",
            Some(RegistrationState::Submitted) => "已提交，待审核",
            Some(RegistrationState::Returned) => "已退回，请修改后重新提交",
            Some(RegistrationState::Approved) => "已审核通过",
        }
    }

    fn submitted(&self, s: &FormStatus) -> bool {
        s.state == Some(RegistrationState::Submitted)
    }

    fn approved(&self, s: &FormStatus) -> bool {
        s.state == Some(RegistrationState::Approved)
    }

    fn to_fill(&self, s: &FormStatus) -> bool {
        !s.closed && s.state.is_none_or(RegistrationState::editable)
    }
}

pub async fn home(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<RemindedQuery>,
) -> Result<Response, AppError> {
    let s = &state.services;
    let caller = Caller::User(&user.actor);
    if user.actor.role == Role::Member {
        let Some(id) = user.actor.member_id else {
            return Ok(MemberHomePage {
                ctx: Some(Ctx::new(&user, "home")),
                name: None,
                member_id: 0,
                org_name: String::new(),
                status: None,
            }
            .into_response());
        };
        let member = s.directory().member(caller, id).await?;
        let status = match s.registration().status(caller, id).await {
            Ok(st) => Some(st),
            Err(ServiceError::Conflict(_)) => None,
            Err(e) => return Err(e.into()),
        };
        return Ok(MemberHomePage {
            ctx: Some(Ctx::new(&user, "home")),
            name: Some(member.name),
            member_id: id.0,
            org_name: member.org_name,
            status,
        }
        .into_response());
    }
    let view = s.directory().org(caller, user.actor.org_id).await?;
    let org = view.org;
    let tasks = s.cockpit().tasks(caller, org.id).await?;
    let all: Vec<ChildRow> = tasks
        .as_ref()
        .and_then(|t| t.children.as_ref())
        .map(|c| c.rows.clone())
        .unwrap_or_default();
    let few = all.len() <= MAX_CHILDREN;
    let child_rows: Vec<ChildRow> = if few {
        all
    } else {
        all.into_iter()
            .filter(|r| !r.handed_in)
            .take(MAX_CHILDREN / 2)
            .collect()
    };
    let mut org_line = format!("{} · {}", org.level.label(), org.kind.label());
    if let Some(r) = &org.region_name {
        org_line.push_str(&format!(" · {r}"));
    }
    Ok(HomePage {
        ctx: Some(Ctx::new(&user, "home")),
        csrf: user.csrf.clone(),
        can_remind: tasks.as_ref().is_some_and(|t| !t.closed)
            && authorize(&user.actor, Action::Remind, Some(&org.path)) == Decision::Allow,
        can_review: authorize(&user.actor, Action::Review, Some(&org.path)) == Decision::Allow,
        org_name: org.name,
        org_line,
        counts: view.counts,
        campaign: s.directory().current_campaign().await?,
        tasks,
        child_rows,
        more_children: !few,
        reminded: q.message(),
    }
    .into_response())
}
