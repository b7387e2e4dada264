//! `dengji bench --change-sets N`: the change-set targets of issue 16 — the campaign closed,
//! N/2 组织关系 transfers inside the demo province (2 change records each, through the transfer
//! service), every set submitted and accepted level by level, then the national acceptance of
//! the province set (N changes made official) timed, the demo city's change set page, and —
//! after a second campaign starts — the 附件6 pages with the year-on-year figures.

use std::collections::BTreeMap;
use std::time::Instant;

use super::CliResult;
use super::bench::time_page;
use crate::domain::OrgId;
use crate::service::demo::DEMO_PASSWORD;
use crate::service::transfer::TransferInput;
use crate::service::{Caller, Services};
use crate::web::SESSION_COOKIE;

const OP: Caller<'static> = Caller::Operator;

/// Submit and accept the sets of `org`'s subtree bottom-up (children first), stopping below
/// `org` itself (its own set is submitted, not accepted).
fn climb<'a>(
    services: &'a Services,
    org: OrgId,
    period: &'a str,
) -> futures_util::future::BoxFuture<'a, Result<(), crate::service::ServiceError>> {
    Box::pin(async move {
        let view = services
            .changes()
            .view(OP, org, Some(period), &Default::default())
            .await?;
        for c in &view.children {
            climb(services, c.org.id, period).await?;
            services.changes().accept(OP, c.org.id, period).await?;
        }
        services.changes().submit(OP, org, period).await
    })
}

pub async fn run(
    services: &Services,
    app: &axum::Router,
    changes: usize,
    iterations: usize,
) -> CliResult {
    let need = "基准测试需要演示数据（dengji demo）";
    let (province, city) = {
        let mut conn = services.db.acquire().await?;
        let sheng = crate::store::users::get_by_username(&mut conn, "sheng")
            .await?
            .ok_or(need)?;
        let shi = crate::store::users::get_by_username(&mut conn, "shi")
            .await?
            .ok_or(need)?;
        (sheng, shi)
    };
    let open = {
        let mut conn = services.db.acquire().await?;
        crate::store::campaigns::latest(&mut conn)
            .await?
            .is_some_and(|c| c.closed_at.is_none())
    };
    if open {
        services
            .campaign()
            .close(OP)
            .await
            .map_err(|e| format!("结束登记核查失败：{e}"))?;
    }
    let transfers = changes.div_ceil(2);
    let (firms, members) = {
        let mut conn = services.db.acquire().await?;
        let scope = crate::authz::Scope::Subtree(province.org_path.clone());
        let firms = crate::store::firms::list(
            &mut conn,
            &scope,
            &crate::store::firms::FirmFilter {
                page: 1,
                per_page: 100_000,
                ..Default::default()
            },
        )
        .await?
        .items;
        let members = crate::store::members::list(
            &mut conn,
            &scope,
            &crate::store::members::MemberFilter {
                page: 1,
                per_page: transfers as i64 * 2,
                ..Default::default()
            },
        )
        .await?
        .items;
        (firms, members)
    };
    // The firms of each city, to move a member to another firm of the same city.
    let mut by_city: BTreeMap<OrgId, Vec<crate::domain::FirmId>> = BTreeMap::new();
    let mut city_of = BTreeMap::new();
    for f in &firms {
        by_city.entry(f.city_org_id).or_default().push(f.id);
        city_of.insert(f.id, f.city_org_id);
    }
    let started = Instant::now();
    let mut moved = 0;
    for m in &members {
        if moved >= transfers {
            break;
        }
        let Some(to) = city_of
            .get(&m.firm_id)
            .and_then(|c| by_city.get(c))
            .and_then(|fs| fs.iter().find(|f| **f != m.firm_id))
        else {
            continue;
        };
        let Ok(t) = services
            .transfer()
            .start(
                OP,
                m.id,
                &TransferInput {
                    to_firm: Some(*to),
                    reason: "基准测试".into(),
                    effective_on: String::new(),
                },
            )
            .await
        else {
            continue;
        };
        if services.transfer().accept(OP, t, "").await.is_ok() {
            moved += 1;
        }
    }
    let took = started.elapsed();
    println!(
        "省内组织关系转接 {moved} 次（变更记录 {} 条）：{:.1} 秒",
        moved * 2,
        took.as_secs_f64()
    );
    let period = crate::domain::change::Cadence::Monthly.period_of(crate::service::beijing_today());
    // The demo city's change set page, before its set goes up.
    let s = services
        .auth()
        .login("shi", DEMO_PASSWORD, None)
        .await
        .map_err(|e| format!("演示账号 shi 无法登录：{e}"))?;
    let cookie = format!("{SESSION_COOKIE}={}", s.token);
    println!(
        "{:<56} {:>8} {:>8} {:>8} {:>8}",
        "场景", "最小", "中位", "P95", "最大"
    );
    time_page(
        app,
        "地市本月定期上报页（变更明细首页、下级报送情况）",
        &cookie,
        &format!("/orgs/{}/changes?period={period}", city.org_id),
        iterations,
    )
    .await?;
    let started = Instant::now();
    climb(services, province.org_id, &period)
        .await
        .map_err(|e| format!("逐级报送失败：{e}"))?;
    println!(
        "逐级报送并接收（律所党组织 → 地市 → 省级报送）：{:.1} 秒",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let official = services
        .changes()
        .accept(OP, province.org_id, &period)
        .await
        .map_err(|e| format!("全国接收失败：{e}"))?;
    println!(
        "全国接收省级变更（{official} 条转为正式）：{:.0} 毫秒",
        started.elapsed().as_secs_f64() * 1000.0
    );
    let s = services
        .auth()
        .login("sheng", DEMO_PASSWORD, None)
        .await
        .map_err(|e| format!("演示账号 sheng 无法登录：{e}"))?;
    let cookie = format!("{SESSION_COOKIE}={}", s.token);
    for (label, path) in [
        (
            "省级律师党员名册首页（正式口径）",
            format!(
                "/orgs/{}/rosters?roster=lawyers&basis=accepted",
                province.org_id
            ),
        ),
        (
            "省级律师党员名册首页（当前）",
            format!("/orgs/{}/rosters?roster=lawyers", province.org_id),
        ),
        (
            "省级本月定期上报页",
            format!("/orgs/{}/changes?period={period}", province.org_id),
        ),
    ] {
        time_page(app, label, &cookie, &path, iterations).await?;
    }
    // A second campaign: the 附件6 pages set the roster beside the first campaign's.
    let year = crate::service::beijing_today().year();
    services
        .campaign()
        .start(
            OP,
            &crate::service::campaign::CampaignForm {
                name: format!("{year}年度更新（基准测试）"),
                cutoff: format!("{year}-01-01"),
                reference: String::new(),
                deadlines: crate::service::campaign::Deadlines {
                    firm: format!("{}-03-31", year + 1),
                    city: format!("{}-04-30", year + 1),
                    province: format!("{}-05-31", year + 1),
                    national: format!("{}-06-30", year + 1),
                },
            },
        )
        .await
        .map_err(|e| format!("开展第二次登记核查失败：{e}"))?;
    let s = services
        .auth()
        .login("quanguo", DEMO_PASSWORD, None)
        .await
        .map_err(|e| format!("演示账号 quanguo 无法登录：{e}"))?;
    let national = format!("{SESSION_COOKIE}={}", s.token);
    let root = crate::store::orgs::root(&mut *services.db.acquire().await?)
        .await?
        .ok_or(need)?;
    for (label, path, who) in [
        (
            "省级附件6（含与上次登记核查相比）",
            format!("/orgs/{}/summary/a6?compare=1", province.org_id),
            &cookie,
        ),
        (
            "全国附件6（含与上次登记核查相比）",
            format!("/orgs/{}/summary/a6?compare=1", root.id),
            &national,
        ),
    ] {
        time_page(app, label, who, &path, iterations).await?;
    }
    Ok(())
}
