//! Pages over the directory: the tree, organisations, firms, members.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};

use super::path::Path;
use serde::Deserialize;

use super::view::{Ctx, MemberView, Pager, paging};
use super::{AppError, AppState, CurrentUser};
use crate::authz::{Action, Decision, authorize};
use crate::domain::workflow::form_state_label;
use crate::domain::{FirmId, MemberId, OrgId, OrgKind, OrgLevel, RegistrationState, Role};
use crate::service::Caller;
use crate::service::directory::OrgView;
use crate::service::directory::{Coverage, Firm, FirmFilter, FirmSort, form_label};
use crate::service::directory::{FormFilter, MemberFilter, MemberSort};
use crate::service::directory::{Org, OrgFilter, OrgSort, Page};

/// An optional id from a query string; anything that is not a positive number is ignored.
fn id_param(v: &Option<String>) -> Option<i64> {
    v.as_deref()
        .and_then(|s| s.trim().parse().ok())
        .filter(|n| *n > 0)
}

fn text_param(v: &Option<String>) -> String {
    v.as_deref().unwrap_or("").trim().chars().take(50).collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "org.html")]
pub struct OrgPage {
    ctx: Option<Ctx>,
    view: OrgView,
    can_manage_users: bool,
    can_add_members: bool,
    can_edit: bool,
    /// 宣传: the organisation's commendations.
    commendations: Vec<crate::store::commendations::Commendation>,
    /// The caller's own node, from which they may nominate this organisation.
    nominate_from: Option<i64>,
}

/// The caller's node, when they may nominate a subject at `path` from it (a clerk, reviewer or
/// administrator whose subtree holds it).
fn nominate_from(user: &CurrentUser, path: &crate::domain::TreePath) -> Option<i64> {
    (authorize(&user.actor, Action::ManageMembers, Some(path)) == Decision::Allow)
        .then_some(user.actor.org_id.0)
}

pub async fn org(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
) -> Result<OrgPage, AppError> {
    let view = state
        .services
        .directory()
        .org(Caller::User(&user.actor), id)
        .await?;
    let commendations = state
        .services
        .commendations()
        .of_subject(Caller::User(&user.actor), None, Some(id))
        .await?;
    Ok(OrgPage {
        commendations,
        nominate_from: nominate_from(&user, &view.org.path),
        can_manage_users: authorize(&user.actor, Action::ManageUsers, Some(&view.org.path))
            == Decision::Allow,
        can_add_members: authorize(&user.actor, Action::ManageMembers, Some(&view.org.path))
            == Decision::Allow,
        can_edit: authorize(&user.actor, Action::EditDirectory, Some(&view.org.path))
            == Decision::Allow,
        ctx: Some(Ctx::new(&user, "tree")),
        view,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "org_children.html")]
pub struct ChildrenFragment {
    children: Vec<Org>,
}

pub async fn org_children(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
) -> Result<ChildrenFragment, AppError> {
    let (_, children) = state
        .services
        .directory()
        .children(Caller::User(&user.actor), id)
        .await?;
    Ok(ChildrenFragment { children })
}

#[derive(Deserialize, Default)]
pub struct OrgQuery {
    name: Option<String>,
    level: Option<String>,
    kind: Option<String>,
    sort: Option<String>,
    under: Option<String>,
    page: Option<String>,
}

/// The filters as the form shows them back.
pub struct OrgForm {
    name: String,
    level: String,
    kind: String,
    sort: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "orgs.html")]
pub struct OrgsPage {
    ctx: Option<Ctx>,
    q: OrgForm,
    under: Option<i64>,
    under_name: Option<String>,
    levels: Vec<(&'static str, &'static str)>,
    kinds: Vec<(&'static str, &'static str)>,
    page: Page<Org>,
    pager: Pager,
}

pub async fn orgs(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<OrgQuery>,
) -> Result<OrgsPage, AppError> {
    let (page_no, per_page) = paging(id_param(&q.page));
    let form = OrgForm {
        name: text_param(&q.name),
        level: text_param(&q.level),
        kind: text_param(&q.kind),
        sort: match q.sort.as_deref() {
            Some(s @ ("level" | "region")) => s.to_owned(),
            _ => "name".to_owned(),
        },
    };
    let filter = OrgFilter {
        name: Some(form.name.clone()),
        level: OrgLevel::from_code(&form.level),
        kind: OrgKind::from_code(&form.kind),
        sort: match form.sort.as_str() {
            "level" => OrgSort::Level,
            "region" => OrgSort::Region,
            _ => OrgSort::Name,
        },
        page: page_no,
        per_page,
    };
    let under = id_param(&q.under);
    let (page, node) = state
        .services
        .directory()
        .orgs_under(Caller::User(&user.actor), under.map(OrgId), &filter)
        .await?;
    let params = [
        ("name", form.name.clone()),
        ("level", form.level.clone()),
        ("kind", form.kind.clone()),
        ("sort", form.sort.clone()),
        ("under", under.map(|u| u.to_string()).unwrap_or_default()),
    ];
    Ok(OrgsPage {
        ctx: Some(Ctx::new(&user, "orgs")),
        pager: Pager::new("/orgs", &params, &page),
        q: form,
        under,
        under_name: node.map(|n| n.name),
        levels: OrgLevel::ALL
            .iter()
            .map(|l| (l.code(), l.label()))
            .collect(),
        kinds: OrgKind::ALL.iter().map(|k| (k.code(), k.label())).collect(),
        page,
    })
}

#[derive(Deserialize, Default)]
pub struct FirmQuery {
    name: Option<String>,
    coverage: Option<String>,
    sort: Option<String>,
    under: Option<String>,
    page: Option<String>,
}

pub struct FirmForm {
    name: String,
    coverage: String,
    sort: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "firms.html")]
pub struct FirmsPage {
    ctx: Option<Ctx>,
    q: FirmForm,
    under: Option<i64>,
    under_name: Option<String>,
    page: Page<Firm>,
    pager: Pager,
}

pub async fn firms(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<FirmQuery>,
) -> Result<FirmsPage, AppError> {
    let (page_no, per_page) = paging(id_param(&q.page));
    let coverage = q.coverage.as_deref().and_then(Coverage::from_code);
    let form = FirmForm {
        name: text_param(&q.name),
        coverage: coverage.map(|c| c.code().to_owned()).unwrap_or_default(),
        sort: match q.sort.as_deref() {
            Some(s @ ("region" | "lawyers")) => s.to_owned(),
            _ => "name".to_owned(),
        },
    };
    let filter = FirmFilter {
        name: Some(form.name.clone()),
        coverage,
        org: None,
        sort: match form.sort.as_str() {
            "region" => FirmSort::Region,
            "lawyers" => FirmSort::LawyersDesc,
            _ => FirmSort::Name,
        },
        page: page_no,
        per_page,
    };
    let under = id_param(&q.under);
    let (page, node) = state
        .services
        .directory()
        .firms(Caller::User(&user.actor), under.map(OrgId), &filter)
        .await?;
    let params = [
        ("name", form.name.clone()),
        ("coverage", form.coverage.clone()),
        ("sort", form.sort.clone()),
        ("under", under.map(|u| u.to_string()).unwrap_or_default()),
    ];
    Ok(FirmsPage {
        ctx: Some(Ctx::new(&user, "firms")),
        pager: Pager::new("/firms", &params, &page),
        q: form,
        under,
        under_name: node.map(|n| n.name),
        page,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "firm.html")]
pub struct FirmPage {
    ctx: Option<Ctx>,
    firm: Firm,
    form_label: &'static str,
    coverage_label: &'static str,
    can_edit: bool,
}

pub async fn firm(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<FirmId>,
) -> Result<FirmPage, AppError> {
    let firm = state
        .services
        .directory()
        .firm(Caller::User(&user.actor), id)
        .await?;
    Ok(FirmPage {
        ctx: Some(Ctx::new(&user, "firms")),
        form_label: form_label(&firm.form),
        coverage_label: Coverage::of(&firm).label(),
        can_edit: authorize(&user.actor, Action::EditDirectory, Some(&firm.scope_path))
            == Decision::Allow,
        firm,
    })
}

#[derive(Deserialize, Default)]
pub struct MemberQuery {
    name: Option<String>,
    category: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    under: Option<String>,
    firm: Option<String>,
    /// The form state: none (未填报), draft, submitted, returned, approved.
    form: Option<String>,
    page: Option<String>,
    #[serde(flatten)]
    reminded: super::remind::RemindedQuery,
}

pub struct MemberForm {
    name: String,
    category: String,
    status: String,
    sort: String,
    form: String,
}

/// The form-state filter's choices: (query value, label).
const FORM_STATES: [(&str, &str); 5] = [
    ("none", "未填报"),
    ("draft", "草稿"),
    ("submitted", "待审核"),
    ("returned", "已退回"),
    ("approved", "已通过"),
];

fn form_filter(code: &str) -> Option<FormFilter> {
    match code {
        "none" => Some(FormFilter::NotStarted),
        other => RegistrationState::parse(other).map(FormFilter::In),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "members.html")]
pub struct MembersPage {
    ctx: Option<Ctx>,
    q: MemberForm,
    under: Option<i64>,
    under_name: Option<String>,
    firm: Option<i64>,
    categories: Vec<(String, String)>,
    statuses: Vec<(String, String)>,
    form_states: &'static [(&'static str, &'static str)],
    rows: Vec<(MemberView, &'static str)>,
    pager: Pager,
    /// The node whose unsubmitted members 催办 reminds, when the user may remind.
    remind_org: Option<i64>,
    reminded: Option<String>,
}

fn known_code(list: &[(String, String)], v: &Option<String>) -> String {
    let v = v.as_deref().unwrap_or("");
    list.iter()
        .find(|(c, _)| c == v)
        .map(|(c, _)| c.clone())
        .unwrap_or_default()
}

/// A code list of the form catalogue, as (code, label) pairs.
fn code_list(name: &str) -> Vec<(String, String)> {
    crate::forms::Catalogue::get()
        .list(name)
        .map(|l| l.codes.clone())
        .unwrap_or_default()
}

pub async fn members(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<MemberQuery>,
) -> Result<MembersPage, AppError> {
    let (page_no, per_page) = paging(id_param(&q.page));
    let form = MemberForm {
        name: text_param(&q.name),
        category: known_code(&code_list("category"), &q.category),
        status: known_code(&code_list("party_status"), &q.status),
        sort: match q.sort.as_deref() {
            Some(s @ ("birth" | "joined")) => s.to_owned(),
            _ => "name".to_owned(),
        },
        form: q
            .form
            .as_deref()
            .filter(|f| form_filter(f).is_some())
            .unwrap_or("")
            .to_owned(),
    };
    let firm = id_param(&q.firm);
    let filter = MemberFilter {
        name: Some(form.name.clone()),
        category: (!form.category.is_empty()).then(|| form.category.clone()),
        party_status: (!form.status.is_empty()).then(|| form.status.clone()),
        firm: firm.map(FirmId),
        org: None,
        campaign: None,
        form: form_filter(&form.form),
        sort: match form.sort.as_str() {
            "birth" => MemberSort::BirthDate,
            "joined" => MemberSort::JoinedOn,
            _ => MemberSort::Name,
        },
        page: page_no,
        per_page,
    };
    let under = id_param(&q.under);
    let (page, node) = state
        .services
        .directory()
        .members(Caller::User(&user.actor), under.map(OrgId), &filter)
        .await?;
    let params = [
        ("name", form.name.clone()),
        ("category", form.category.clone()),
        ("status", form.status.clone()),
        ("sort", form.sort.clone()),
        ("under", under.map(|u| u.to_string()).unwrap_or_default()),
        ("firm", firm.map(|u| u.to_string()).unwrap_or_default()),
        ("form", form.form.clone()),
    ];
    let remind_node = under.map_or(user.actor.org_id, OrgId);
    let remind_org = (firm.is_none()
        && authorize(&user.actor, Action::Remind, None) == Decision::Allow)
        .then_some(remind_node.0);
    Ok(MembersPage {
        ctx: Some(Ctx::new(&user, "members")),
        pager: Pager::new("/members", &params, &page),
        rows: page
            .items
            .iter()
            .map(|m| {
                (
                    MemberView::new(&m.member, false),
                    form_state_label(m.form_state),
                )
            })
            .collect(),
        q: form,
        form_states: &FORM_STATES,
        remind_org,
        reminded: q.reminded.message(),
        under,
        under_name: node.map(|n| n.name),
        firm,
        categories: code_list("category"),
        statuses: code_list("party_status"),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "member.html")]
pub struct MemberPage {
    ctx: Option<Ctx>,
    m: MemberView,
    can_browse: bool,
    can_issue_login: bool,
    csrf: String,
    /// The member's 分类处理 case: id, category and state in words.
    case: Option<(i64, &'static str, &'static str)>,
    categories: Vec<(&'static str, &'static str)>,
    /// The full ID number after 查看完整号码 (this response only).
    revealed: Option<String>,
    reveal_error: Option<String>,
    purposes: [(&'static str, &'static str); 5],
    can_read_audit: bool,
    /// 停止登记: when, why and where to, in words (none: on the roster).
    stopped: Option<String>,
    /// 宣传: the member's commendations.
    commendations: Vec<crate::store::commendations::Commendation>,
    /// The caller's own node, from which they may nominate this member.
    nominate_from: Option<i64>,
}

pub async fn member(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<MemberId>,
) -> Result<MemberPage, AppError> {
    member_page(&state, &user, id).await
}

#[derive(Deserialize)]
pub struct RevealForm {
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    note: String,
}

/// 查看完整号码: the member page again, with the full number of this record for the stated
/// purpose (audited), or the reason it was refused. Posted, so the number is never in a URL.
pub async fn reveal(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<MemberId>,
    axum::Form(f): axum::Form<RevealForm>,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    let caller = Caller::User(&user.actor);
    let outcome = match crate::service::Purpose::parse(&f.purpose, &f.note) {
        Ok(p) => state.services.reads().reveal(caller, id, &p).await,
        Err(e) => Err(e),
    };
    let mut page = member_page(&state, &user, id).await?;
    match outcome {
        Ok(full) => page.revealed = Some(full),
        Err(crate::service::ServiceError::Invalid(list)) => {
            page.reveal_error = Some(
                list.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("；"),
            );
            return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        Err(e) => return Err(e.into()),
    }
    Ok(page.into_response())
}

async fn member_page(
    state: &AppState,
    user: &CurrentUser,
    id: MemberId,
) -> Result<MemberPage, AppError> {
    let m = state
        .services
        .directory()
        .member(Caller::User(&user.actor), id)
        .await?;
    let case = if user.actor.role == Role::Member {
        None
    } else {
        state
            .services
            .cases()
            .of_member(Caller::User(&user.actor), id)
            .await?
            .map(|c| {
                (
                    c.id.0,
                    c.category.label(),
                    if c.state == crate::domain::CaseState::Open {
                        "进行中"
                    } else {
                        "已办结"
                    },
                )
            })
    };
    let (commendations, nominate_from) = if user.actor.role == Role::Member {
        (Vec::new(), None)
    } else {
        (
            state
                .services
                .commendations()
                .of_subject(Caller::User(&user.actor), Some(id), None)
                .await?,
            m.stopped_on
                .is_none()
                .then(|| nominate_from(user, &m.org_path))
                .flatten(),
        )
    };
    Ok(MemberPage {
        commendations,
        nominate_from,
        case,
        categories: crate::domain::CaseCategory::ALL
            .iter()
            .map(|c| (c.code(), c.label()))
            .collect(),
        can_browse: user.actor.role != Role::Member,
        can_issue_login: crate::authz::authorize(
            &user.actor,
            crate::authz::Action::ManageMembers,
            Some(&m.org_path),
        ) == crate::authz::Decision::Allow,
        csrf: user.csrf.clone(),
        revealed: None,
        reveal_error: None,
        purposes: crate::service::Purpose::CHOICES,
        can_read_audit: crate::authz::authorize(
            &user.actor,
            crate::authz::Action::ReadAudit,
            Some(&m.org_path),
        ) == crate::authz::Decision::Allow,
        ctx: Some(Ctx::new(
            user,
            if user.actor.role == Role::Member {
                "home"
            } else {
                "members"
            },
        )),
        stopped: m.stopped_on.as_ref().map(|on| {
            let why = m
                .stop_reason
                .as_deref()
                .and_then(crate::domain::change::StopReason::from_code)
                .map_or("", |r| r.label());
            match &m.stop_destination {
                Some(d) => format!("已于 {on} 停止登记（{why}，去向：{d}）"),
                None => format!("已于 {on} 停止登记（{why}）"),
            }
        }),
        m: MemberView::new(&m, true),
    })
}
