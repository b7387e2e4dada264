//! The 研判 page of a node (charts and tables of its subtree, every figure a link to the
//! records behind it), its printable report, and the drill-down member lists.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::chart::{self, Bar, PyramidRow};
use super::path::Path;
use super::view::{Ctx, MemberView, Pager};
use super::{AppError, AppState, CurrentUser};
use crate::domain::OrgId;
use crate::service::Caller;
use crate::service::analysis::{Analysis, Line};
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

/// Lines as figures: each with its share of `total` and the link `href` makes of its code.
fn figures(total: i64, lines: &[Line], href: impl Fn(&str) -> Option<String>) -> Vec<Figure> {
    lines
        .iter()
        .map(|l| Figure {
            share: chart::share(l.count, total),
            label: l.label.clone(),
            count: l.count,
            href: href(&l.code),
        })
        .collect()
}

fn bars(figures: &[Figure]) -> Vec<Bar> {
    figures
        .iter()
        .map(|f| Bar::new(f.label.clone(), f.count, f.href.clone()))
        .collect()
}

fn facet_view(a: &Analysis, f: Facet) -> FacetView {
    let id = a.org.id;
    let lines = a.facet_lines(f);
    let rows = figures(a.composition.total, &lines, |code| {
        Some(link(id, f.code(), code))
    });
    // 执业年限 is a lawyers' figure: the staff row stays in the table, not in the chart.
    let charted: Vec<Bar> = lines
        .iter()
        .zip(&rows)
        .filter(|(l, _)| !(f == Facet::Practice && l.code == "staff"))
        .map(|(_, r)| Bar::new(r.label.clone(), r.count, r.href.clone()))
        .collect();
    FacetView {
        code: f.code(),
        title: f.label(),
        chart: chart::bars(&format!("chart-{}", f.code()), f.label(), &charted),
        rows,
        total: a.composition.total,
    }
}

impl AnalysisPage {
    fn new(user: &CurrentUser, a: Analysis, report: bool, y: Option<Comparison>) -> Self {
        let id = a.org.id;
        let c = &a.composition;
        let s = &a.stats;
        let total = c.total;
        let mut cards = vec![Figure {
            label: "党员".into(),
            count: total,
            share: String::new(),
            href: None,
        }];
        for f in [Facet::Status, Facet::Category] {
            cards.extend(figures(total, &a.facet_lines(f), |code| {
                Some(link(id, f.code(), code))
            }));
        }
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
        let mut minorities = figures(total, &a.minority_lines(), |code| {
            Some(link(id, "nationality", code))
        });
        let minorities_rest = minorities.split_off(minorities.len().min(10));
        // Only the lists that are exactly the firms counted are linked.
        let coverage = figures(s.firms, &a.coverage_lines(), |code| match code {
            "all" => Some(format!("/firms?under={id}")),
            "own" | "joint" => Some(format!("/firms?under={id}&coverage={code}")),
            _ => None,
        });
        let covered = s.firms_own_org + s.firms_joint;
        let funnel_steps = [
            Bar::new("律师事务所", s.firms, Some(format!("/firms?under={id}"))),
            Bar::new("有党员的律所", s.firms_with_members, None),
            Bar::new("已建立或纳入党组织", covered, None),
            Bar::new(
                "单独建立党组织",
                s.firms_own_org,
                Some(format!("/firms?under={id}&coverage=own")),
            ),
        ];
        let funnel = chart::funnel("chart-coverage", "党的组织覆盖", &funnel_steps);
        let progress = figures(total, &a.progress_lines(), |code| {
            Some(format!("/members?under={id}&form={code}"))
        });
        let progress_chart = chart::stacked(
            "chart-progress",
            &format!("{} 登记表填报进度", a.campaign_name),
            &bars(&progress),
        );
        let relations = figures(total, &a.relation_lines(), |code| {
            code.starts_with("case")
                .then(|| format!("/orgs/{id}/cases"))
        });
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
                    coverage: chart::share(covered, k.firms_with_members),
                    coverage_meter: chart::meter(covered, k.firms_with_members),
                    approved: k.approved,
                    completion: chart::share(k.approved, k.members()),
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

/// `GET /orgs/{id}/analysis.xlsx`: the figures, one sheet per section.
pub async fn export(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
) -> Result<axum::response::Response, AppError> {
    let (name, bytes) = state
        .services
        .analysis()
        .export_xlsx(Caller::User(&user.actor), id)
        .await?;
    Ok(super::export::xlsx_download(&name, bytes))
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
