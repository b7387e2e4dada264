//! The 研判 page of a node (charts and tables of its subtree, every figure a link to the
//! records behind it), its printable report, and the drill-down member lists.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::chart::{self, Bar, PyramidRow};
use super::path::Path;
use super::view::{Ctx, MemberView, Pager, code_label};
use super::{AppError, AppState, CurrentUser};
use crate::domain::OrgId;
use crate::service::Caller;
use crate::service::analysis::Analysis;
use crate::service::summary::Comparison;
use crate::store::analysis::Facet;

/// A count with its share and the link to its records.
pub struct Figure {
    pub label: String,
    pub count: i64,
    pub share: String,
    pub href: Option<String>,
}

/// One attribute: its chart and the table under it.
pub struct FacetView {
    pub code: &'static str,
    pub title: &'static str,
    pub chart: String,
    pub rows: Vec<Figure>,
    pub total: i64,
}

/// One child side by side with the others.
pub struct ChildView {
    pub id: i64,
    pub name: String,
    pub members: i64,
    pub lawyers: i64,
    pub staff: i64,
    pub full_members: i64,
    pub probationary: i64,
    pub firms: i64,
    pub firms_with_members: i64,
    pub covered: i64,
    pub coverage: String,
    pub coverage_meter: String,
    pub approved: i64,
    pub completion: String,
    pub completion_meter: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "analysis.html")]
pub struct AnalysisPage {
    ctx: Option<Ctx>,
    a: Analysis,
    /// The printable report: a cover and a blank 分析意见 section, no navigation.
    report: bool,
    printed_on: String,
    cards: Vec<Figure>,
    facets: Vec<FacetView>,
    pyramid: String,
    /// The ten largest minorities; the others under a fold.
    minorities: Vec<Figure>,
    minorities_rest: Vec<Figure>,
    funnel: String,
    coverage: Vec<Figure>,
    /// 党组织覆盖率 (已建立或纳入党组织 / 有党员的律所).
    coverage_rate: String,
    progress_chart: String,
    progress: Vec<Figure>,
    relations: Vec<Figure>,
    children: Vec<ChildView>,
    children_chart: String,
    year_on_year: Option<Comparison>,
}

fn link(org: OrgId, facet: &str, value: &str) -> String {
    format!("/orgs/{org}/analysis/members?facet={facet}&value={value}")
}

fn figures(
    total: i64,
    rows: impl IntoIterator<Item = (String, i64, Option<String>)>,
) -> Vec<Figure> {
    rows.into_iter()
        .map(|(label, count, href)| Figure {
            share: chart::share(count, total),
            label,
            count,
            href,
        })
        .collect()
}

fn facet_view(a: &Analysis, f: Facet) -> FacetView {
    let c = &a.composition;
    let id = a.org.id;
    let buckets: Vec<(&str, &str)> = f
        .buckets()
        .iter()
        .copied()
        // Rows that cannot occur in a subtree are left out when empty (正式党员未填转正日期).
        .filter(|(code, _)| {
            !matches!((f, *code), (Facet::PartyAge | Facet::Practice, "unknown"))
                || c.count(f, code) > 0
        })
        .collect();
    let bars: Vec<Bar> = buckets
        .iter()
        .filter(|(code, _)| !(f == Facet::Practice && *code == "staff"))
        .map(|(code, label)| Bar::new(*label, c.count(f, code), Some(link(id, f.code(), code))))
        .collect();
    let total = c.total;
    FacetView {
        code: f.code(),
        title: f.label(),
        chart: chart::bars(&format!("chart-{}", f.code()), f.label(), &bars),
        rows: figures(
            total,
            buckets.iter().map(|(code, label)| {
                (
                    (*label).to_owned(),
                    c.count(f, code),
                    Some(link(id, f.code(), code)),
                )
            }),
        ),
        total,
    }
}

fn permille_label(part: i64, whole: i64) -> String {
    chart::share(part, whole)
}

impl AnalysisPage {
    fn new(user: &CurrentUser, a: Analysis, report: bool, y: Option<Comparison>) -> Self {
        let id = a.org.id;
        let c = &a.composition;
        let s = &a.stats;
        let total = c.total;
        let cards = figures(
            total,
            [
                ("党员".to_owned(), total, None),
                (
                    "正式党员".to_owned(),
                    c.count(Facet::Status, "full"),
                    Some(link(id, "status", "full")),
                ),
                (
                    "预备党员".to_owned(),
                    c.count(Facet::Status, "probationary"),
                    Some(link(id, "status", "probationary")),
                ),
                (
                    "党员律师".to_owned(),
                    c.count(Facet::Category, "lawyer"),
                    Some(link(id, "category", "lawyer")),
                ),
                (
                    "工作人员党员".to_owned(),
                    c.count(Facet::Category, "staff"),
                    Some(link(id, "category", "staff")),
                ),
            ],
        );
        let facets = Facet::ALL
            .into_iter()
            .filter(|f| !matches!(f, Facet::Status | Facet::Category))
            .map(|f| facet_view(&a, f))
            .collect();
        let pyramid_rows: Vec<PyramidRow> = Facet::Age
            .buckets()
            .iter()
            .map(|(code, label)| {
                let n = |sex: &str| {
                    c.age_sex
                        .get(&((*code).to_owned(), sex.to_owned()))
                        .copied()
                        .unwrap_or(0)
                };
                PyramidRow {
                    label: (*label).to_owned(),
                    men: n("1"),
                    women: n("2"),
                    men_href: Some(link(id, "age_sex", &format!("{code}:1"))),
                    women_href: Some(link(id, "age_sex", &format!("{code}:2"))),
                }
            })
            .collect();
        let pyramid = chart::pyramid("chart-pyramid", "年龄与性别", &pyramid_rows);
        let mut minority: Vec<(&String, &i64)> = c.nationalities.iter().collect();
        minority.sort_by(|x, y| y.1.cmp(x.1).then(x.0.cmp(y.0)));
        let mut minorities = figures(
            total,
            minority.into_iter().map(|(code, n)| {
                (
                    code_label("ethnicity", code),
                    *n,
                    Some(link(id, "nationality", code)),
                )
            }),
        );
        let minorities_rest = minorities.split_off(minorities.len().min(10));
        let firms_link = |coverage: &str| Some(format!("/firms?under={id}&coverage={coverage}"));
        let covered = s.firms_own_org + s.firms_joint;
        let funnel = chart::funnel(
            "chart-coverage",
            "党的组织覆盖",
            &[
                Bar::new("律师事务所", s.firms, Some(format!("/firms?under={id}"))),
                Bar::new("有党员的律所", s.firms_with_members, None),
                Bar::new("已建立或纳入党组织", covered, None),
                Bar::new("单独建立党组织", s.firms_own_org, firms_link("own")),
            ],
        );
        let coverage = figures(
            s.firms,
            [
                (
                    "律师事务所".to_owned(),
                    s.firms,
                    Some(format!("/firms?under={id}")),
                ),
                ("有党员的律所".to_owned(), s.firms_with_members, None),
                (
                    "单独建立党组织的律所".to_owned(),
                    s.firms_own_org,
                    firms_link("own"),
                ),
                (
                    "纳入联合党支部的律所".to_owned(),
                    s.firms_joint,
                    firms_link("joint"),
                ),
                (
                    "有党员但未建立或纳入党组织的律所".to_owned(),
                    a.firms_uncovered(),
                    None,
                ),
                ("没有党员的律所".to_owned(), s.firms_without_members, None),
            ],
        );
        let p = a.progress;
        let progress_parts = [
            ("未填报", a.not_started(), "none"),
            ("草稿", p.drafts, "draft"),
            ("待审核", p.submitted, "submitted"),
            ("已退回", p.returned, "returned"),
            ("已通过", p.approved, "approved"),
        ];
        let progress_chart = chart::stacked(
            "chart-progress",
            &format!("{} 登记表填报进度", a.campaign_name),
            &progress_parts
                .iter()
                .map(|(l, n, code)| {
                    Bar::new(*l, *n, Some(format!("/members?under={id}&form={code}")))
                })
                .collect::<Vec<_>>(),
        );
        let progress = figures(
            total,
            progress_parts.iter().map(|(l, n, code)| {
                (
                    (*l).to_owned(),
                    *n,
                    Some(format!("/members?under={id}&form={code}")),
                )
            }),
        );
        let mut relation_rows = vec![(
            "组织关系已转入（摸底核查）".to_owned(),
            s.relation_in_industry,
            None,
        )];
        for (i, n) in s.cases.iter().enumerate() {
            relation_rows.push((
                format!(
                    "第{}类：{}",
                    i + 1,
                    code_label("case", &(i + 1).to_string())
                ),
                *n,
                Some(format!("/orgs/{id}/cases")),
            ));
        }
        let relations = figures(total, relation_rows);
        let children: Vec<ChildView> = a
            .children
            .iter()
            .map(|k| {
                let covered = k.firms_own + k.firms_joint;
                ChildView {
                    id: k.org_id.0,
                    name: k.name.clone(),
                    members: k.members(),
                    lawyers: k.lawyers,
                    staff: k.staff,
                    full_members: k.full_members,
                    probationary: k.probationary,
                    firms: k.firms,
                    firms_with_members: k.firms_with_members,
                    covered,
                    coverage: permille_label(covered, k.firms_with_members),
                    coverage_meter: chart::meter(covered, k.firms_with_members),
                    approved: k.approved,
                    completion: permille_label(k.approved, k.members()),
                    completion_meter: chart::meter(k.approved, k.members()),
                }
            })
            .collect();
        let children_chart = chart::bars(
            "chart-children",
            "各下级党员人数",
            &a.children
                .iter()
                .map(|k| {
                    Bar::new(
                        k.name.clone(),
                        k.members(),
                        Some(format!("/orgs/{}/analysis", k.org_id)),
                    )
                })
                .collect::<Vec<_>>(),
        );
        Self {
            ctx: Some(Ctx::new(user, "tree")),
            report,
            printed_on: crate::service::beijing_today().to_string(),
            cards,
            facets,
            pyramid,
            minorities,
            minorities_rest,
            funnel,
            coverage,
            coverage_rate: chart::share(covered, s.firms_with_members),
            progress_chart,
            progress,
            relations,
            children,
            children_chart,
            year_on_year: y,
            a,
        }
    }
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    id: OrgId,
    report: bool,
) -> Result<AnalysisPage, AppError> {
    let caller = Caller::User(&user.actor);
    let a = state.services.analysis().view(caller, id).await?;
    let y = state.services.summary().year_on_year(caller, id).await?;
    Ok(AnalysisPage::new(user, a, report, y))
}

/// `GET /orgs/{id}/analysis`.
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
) -> Result<AnalysisPage, AppError> {
    page(&state, &user, id, false).await
}

/// `GET /orgs/{id}/analysis/report`: the page as an A4 report.
pub async fn report(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
) -> Result<AnalysisPage, AppError> {
    page(&state, &user, id, true).await
}

#[derive(Deserialize, Default)]
pub struct BehindQuery {
    #[serde(default)]
    facet: String,
    #[serde(default)]
    value: String,
    page: Option<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "analysis_members.html")]
pub struct BehindPage {
    ctx: Option<Ctx>,
    org_id: i64,
    org_name: String,
    cutoff: String,
    label: String,
    members: Vec<MemberView>,
    pager: Pager,
}

/// `GET /orgs/{id}/analysis/members?facet=…&value=…`: the members behind one figure.
pub async fn members(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    Query(q): Query<BehindQuery>,
) -> Result<BehindPage, AppError> {
    let b = state
        .services
        .analysis()
        .members(
            Caller::User(&user.actor),
            id,
            &q.facet,
            &q.value,
            q.page.unwrap_or(1).clamp(1, 100_000),
        )
        .await?;
    let pager = Pager::new(
        &format!("/orgs/{id}/analysis/members"),
        &[("facet", q.facet.clone()), ("value", q.value.clone())],
        &b.page,
    );
    Ok(BehindPage {
        ctx: Some(Ctx::new(&user, "tree")),
        org_id: b.org.id.0,
        org_name: b.org.name.clone(),
        cutoff: b.cutoff,
        label: b.label,
        members: b
            .page
            .items
            .iter()
            .map(|m| MemberView::new(m, false))
            .collect(),
        pager,
    })
}
