//! 抽查核验 pages: a node's samples and the draw form, a sample's report with its strata,
//! checkers and records, a sampled record's check form, and the report as .xlsx.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};

use super::path::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::view::{Ctx, Pager};
use super::{AppError, AppState, CurrentUser};
use crate::domain::sample::{self as rules, Estimate};
use crate::domain::{Finding, OrgId, SampleId, SampleItemId, SampleParams};
use crate::service::samples::{CheckInput, ItemFilter, Sample};
use crate::service::{Caller, ServiceError, beijing_time};

/// A sample as a list row or a heading shows it.
pub struct SampleLine {
    pub id: i64,
    pub org: String,
    pub how: String,
    pub seed: String,
    pub population: i64,
    pub size: i64,
    pub checked: i64,
    pub false_count: i64,
    pub drawn: String,
    pub note: String,
}

fn line(s: &Sample) -> SampleLine {
    SampleLine {
        id: s.id.0,
        org: s.org_name.clone(),
        how: format!(
            "按{}分层，比例 {}，每层 {}–{} 份{}",
            s.by.label(),
            rules::rate_label(s.rate_ppm),
            s.min,
            s.max,
            if s.weighted { "，按风险加权" } else { "" }
        ),
        seed: s.seed.to_string(),
        population: s.population,
        size: s.size,
        checked: s.checked,
        false_count: s.false_count,
        drawn: format!("{}（{}）", beijing_time(s.drawn_at), s.drawer_name),
        note: s.note.clone(),
    }
}

fn shown(e: Option<Estimate>) -> (String, String) {
    match e {
        Some(e) => (
            rules::percent(e.rate),
            format!("{} – {}", rules::percent(e.low), rules::percent(e.high)),
        ),
        None => ("—".into(), "—".into()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "samples.html")]
pub struct SamplesPage {
    ctx: Option<Ctx>,
    csrf: String,
    org_id: i64,
    org_name: String,
    rows: Vec<SampleLine>,
    can_draw: bool,
    /// Levels below the node to stratify by (code, label).
    levels: Vec<(&'static str, &'static str)>,
    errors: Vec<String>,
    /// The form as typed (kept after an error).
    form: DrawForm,
}

#[derive(Deserialize, Default, Clone)]
pub struct DrawForm {
    #[serde(default)]
    by: String,
    #[serde(default)]
    rate: String,
    #[serde(default)]
    min: String,
    #[serde(default)]
    max: String,
    #[serde(default)]
    seed: String,
    #[serde(default)]
    weighted: Option<String>,
    #[serde(default)]
    note: String,
}

async fn samples_page(
    state: &AppState,
    user: &CurrentUser,
    id: OrgId,
    form: DrawForm,
    errors: Vec<String>,
) -> Result<SamplesPage, AppError> {
    let v = state
        .services
        .samples()
        .list(Caller::User(&user.actor), id)
        .await?;
    let levels = crate::domain::OrgLevel::ALL
        .into_iter()
        .filter(|l| *l > v.org.level)
        .map(|l| (l.code(), l.label()))
        .collect();
    Ok(SamplesPage {
        ctx: Some(Ctx::new(user, "tree")),
        csrf: user.csrf.clone(),
        org_id: v.org.id.0,
        org_name: v.org.name.clone(),
        rows: v.samples.iter().map(line).collect(),
        can_draw: v.can_draw,
        levels,
        errors,
        form,
    })
}

pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
) -> Result<SamplesPage, AppError> {
    let form = DrawForm {
        by: "city".into(),
        rate: "2%".into(),
        min: "5".into(),
        max: "200".into(),
        ..DrawForm::default()
    };
    samples_page(&state, &user, id, form, Vec::new()).await
}

/// The draw form read into parameters, or the fields it got wrong.
fn params_of(f: &DrawForm) -> Result<SampleParams, Vec<String>> {
    let mut errors = Vec::new();
    let by = rules::parse_level(&f.by);
    if by.is_none() {
        errors.push(format!("分层级别：没有“{}”这一级", f.by));
    }
    let rate = rules::parse_rate(&f.rate).map_err(|e| errors.push(format!("抽样比例：{e}")));
    let mut number = |label: &str, v: &str| -> Option<u64> {
        match v.trim().parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(format!("{label}：请填写整数"));
                None
            }
        }
    };
    let min = number("每层最少", &f.min);
    let max = number("每层最多", &f.max);
    // A blank seed: one chosen now and stored with the sample.
    let seed = if f.seed.trim().is_empty() {
        Some(rand::random::<u64>() % 100_000_000)
    } else {
        number("随机种子", &f.seed)
    };
    match (by, rate, min, max, seed) {
        (Some(by), Ok(rate_ppm), Some(min), Some(max), Some(seed)) if errors.is_empty() => {
            Ok(SampleParams {
                by,
                rate_ppm,
                min,
                max,
                weighted: f.weighted.is_some(),
                seed,
            })
        }
        _ => Err(errors),
    }
}

pub async fn draw(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<OrgId>,
    axum::Form(f): axum::Form<DrawForm>,
) -> Result<Response, AppError> {
    let params = match params_of(&f) {
        Ok(p) => p,
        Err(errors) => {
            let page = samples_page(&state, &user, id, f, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    match state
        .services
        .samples()
        .draw(Caller::User(&user.actor), id, &params, &f.note)
        .await
    {
        Ok(sid) => Ok(Redirect::to(&format!("/samples/{}?done=draw", sid.0)).into_response()),
        Err(ServiceError::Invalid(list)) => {
            let errors = list.iter().map(ToString::to_string).collect();
            let page = samples_page(&state, &user, id, f, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// A stratum's line of the report.
pub struct StratumRow {
    org_id: i64,
    name: String,
    population: u64,
    size: u64,
    assigned: u64,
    checked: u64,
    false_count: u64,
    rate: String,
    interval: String,
    checkers: String,
}

/// A sampled record's row.
pub struct ItemRow {
    id: i64,
    position: i64,
    stratum: String,
    member: String,
    org: String,
    checker: String,
    result: &'static str,
    is_false: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "sample.html")]
pub struct SamplePage {
    ctx: Option<Ctx>,
    csrf: String,
    s: SampleLine,
    org_id: i64,
    digest: String,
    rules_date: String,
    strata: Vec<StratumRow>,
    overall_rate: String,
    overall_interval: String,
    drawn: u64,
    checked: u64,
    false_count: u64,
    can_assign: bool,
    items: Vec<ItemRow>,
    result: String,
    mine: bool,
    pager: Pager,
    /// The reproducibility check, when asked for.
    verified: Option<bool>,
    notice: Option<String>,
    errors: Vec<String>,
}

#[derive(Deserialize, Default)]
pub struct SampleQuery {
    done: Option<String>,
    stratum: Option<OrgId>,
    result: Option<String>,
    /// Only the records assigned to me.
    mine: Option<String>,
    verify: Option<String>,
    page: Option<i64>,
}

async fn sample_page(
    state: &AppState,
    user: &CurrentUser,
    id: SampleId,
    q: &SampleQuery,
) -> Result<SamplePage, AppError> {
    let caller = Caller::User(&user.actor);
    let v = state.services.samples().view(caller, id).await?;
    let result = q
        .result
        .clone()
        .filter(|r| matches!(r.as_str(), "todo" | "true" | "false"))
        .unwrap_or_default();
    let mine = q.mine.is_some();
    let f = ItemFilter {
        stratum: q.stratum,
        result: (!result.is_empty()).then(|| result.clone()),
        checker: mine.then_some(user.actor.user_id),
        page: q.page.unwrap_or(1),
        per_page: 50,
    };
    let page = state.services.samples().items(caller, id, &f).await?;
    let verified = if q.verify.is_some() {
        Some(state.services.samples().reproduces(caller, id).await?)
    } else {
        None
    };
    let pager = Pager::new(
        &format!("/samples/{}", id.0),
        &[
            (
                "stratum",
                q.stratum.map(|s| s.0.to_string()).unwrap_or_default(),
            ),
            ("result", result.clone()),
            ("mine", if mine { "1".into() } else { String::new() }),
        ],
        &page,
    );
    let (overall_rate, overall_interval) = shown(v.overall);
    Ok(SamplePage {
        ctx: Some(Ctx::new(user, "tree")),
        csrf: user.csrf.clone(),
        s: line(&v.sample),
        org_id: v.sample.org_id.0,
        digest: rules::short_digest(&v.sample.population_digest).to_owned(),
        rules_date: v.sample.rules_date.clone(),
        strata: v
            .strata
            .iter()
            .map(|l| {
                let (rate, interval) = shown(l.estimate);
                StratumRow {
                    org_id: l.stratum.org_id.0,
                    name: l.stratum.org_name.clone(),
                    population: l.stratum.population,
                    size: l.stratum.size,
                    assigned: l.stratum.assigned,
                    checked: l.stratum.checked,
                    false_count: l.stratum.false_count,
                    rate,
                    interval,
                    checkers: l.stratum.checkers.clone(),
                }
            })
            .collect(),
        overall_rate,
        overall_interval,
        drawn: v.drawn,
        checked: v.checked,
        false_count: v.false_count,
        can_assign: v.can_assign,
        items: page
            .items
            .iter()
            .map(|i| ItemRow {
                id: i.id.0,
                position: i.position,
                stratum: i.stratum_name.clone(),
                member: i.member_name.clone(),
                org: i.org_name.clone(),
                checker: i.checker_name.clone().unwrap_or_default(),
                result: i.result.map_or("未核验", Finding::label),
                is_false: i.result == Some(Finding::False),
            })
            .collect(),
        result,
        mine,
        pager,
        verified,
        notice: q.done.as_deref().map(|d| {
            match d {
                "draw" => "已抽取样本，总体名单与内容摘要已冻结。",
                "assign" => "已分配核查人。",
                _ => "已保存。",
            }
            .to_owned()
        }),
        errors: Vec::new(),
    })
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<SampleId>,
    Query(q): Query<SampleQuery>,
) -> Result<SamplePage, AppError> {
    sample_page(&state, &user, id, &q).await
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    stratum: String,
    #[serde(default)]
    username: String,
}

pub async fn assign(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<SampleId>,
    axum::Form(f): axum::Form<AssignForm>,
) -> Result<Response, AppError> {
    let stratum = f.stratum.trim().parse::<i64>().ok().map(OrgId);
    match state
        .services
        .samples()
        .assign(Caller::User(&user.actor), id, stratum, &f.username)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/samples/{}?done=assign", id.0)).into_response()),
        Err(ServiceError::Invalid(list)) => {
            let mut p = sample_page(&state, &user, id, &SampleQuery::default()).await?;
            p.errors = list.iter().map(ToString::to_string).collect();
            Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn report_xlsx(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<SampleId>,
) -> Result<Response, AppError> {
    let (name, bytes) = state
        .services
        .samples()
        .report_xlsx(Caller::User(&user.actor), id)
        .await?;
    Ok(super::export::xlsx_download(&name, bytes))
}

#[derive(Template, WebTemplate)]
#[template(path = "sample_item.html")]
pub struct ItemPage {
    ctx: Option<Ctx>,
    csrf: String,
    id: i64,
    sample_id: i64,
    position: i64,
    member_id: i64,
    member: String,
    org: String,
    stratum: String,
    checker: String,
    changed: bool,
    fields: Vec<(String, String, String)>,
    can_check: bool,
    version: i64,
    result: Option<&'static str>,
    false_fields: Vec<String>,
    note: String,
    checked: String,
    account_id: Option<i64>,
    notice: Option<String>,
    errors: Vec<String>,
}

async fn item_page(
    state: &AppState,
    user: &CurrentUser,
    id: SampleItemId,
) -> Result<ItemPage, AppError> {
    let v = state
        .services
        .samples()
        .item(Caller::User(&user.actor), id)
        .await?;
    let i = &v.item;
    let labels: std::collections::HashMap<&str, &str> = v
        .fields
        .iter()
        .map(|(c, l, _)| (c.as_str(), l.as_str()))
        .collect();
    Ok(ItemPage {
        ctx: Some(Ctx::new(user, "tree")),
        csrf: user.csrf.clone(),
        id: i.id.0,
        sample_id: i.sample_id.0,
        position: i.position,
        member_id: i.member_id.0,
        member: i.member_name.clone(),
        org: i.org_name.clone(),
        stratum: i.stratum_name.clone(),
        checker: i.checker_name.clone().unwrap_or_else(|| "未分配".into()),
        changed: v.changed_since_drawn,
        can_check: v.can_check,
        version: i.version,
        result: i.result.map(Finding::label),
        false_fields: i
            .false_fields
            .iter()
            .map(|f| {
                labels
                    .get(f.as_str())
                    .map_or(f.clone(), |l| (*l).to_owned())
            })
            .collect(),
        note: i.note.clone().unwrap_or_default(),
        checked: match (i.checked_at, &i.checked_name) {
            (Some(at), Some(by)) => format!("{}（{by}）", beijing_time(at)),
            _ => String::new(),
        },
        account_id: v.account.as_ref().map(|a| a.id.0),
        fields: v.fields.clone(),
        notice: None,
        errors: Vec::new(),
    })
}

#[derive(Deserialize, Default)]
pub struct ItemQuery {
    done: Option<String>,
}

pub async fn item(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<SampleItemId>,
    Query(q): Query<ItemQuery>,
) -> Result<ItemPage, AppError> {
    let mut p = item_page(&state, &user, id).await?;
    if q.done.is_some() {
        p.notice = Some(if p.result == Some(Finding::False.label()) {
            "已记录：不属实。登记表已退回党员本人更正，并已登记追责。".into()
        } else {
            "已记录核验结果。".into()
        });
    }
    Ok(p)
}

/// The check form: `field` repeats once per ticked field, which a plain struct cannot take.
pub async fn check(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<SampleItemId>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|_| AppError::BadRequest("表单无法读取".into()))?;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let Some(finding) = Finding::parse(&get("result")) else {
        let mut p = item_page(&state, &user, id).await?;
        p.errors = vec!["核验结果：请选择属实或不属实".into()];
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
    };
    let input = CheckInput {
        version: get("version").parse().unwrap_or(-1),
        finding,
        false_fields: pairs
            .iter()
            .filter(|(k, _)| k == "field")
            .map(|(_, v)| v.clone())
            .collect(),
        note: get("note"),
    };
    match state
        .services
        .samples()
        .check(Caller::User(&user.actor), id, &input)
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/samples/items/{}?done=1", id.0)).into_response()),
        Err(ServiceError::Invalid(list)) => {
            let mut p = item_page(&state, &user, id).await?;
            p.errors = list.iter().map(ToString::to_string).collect();
            Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
