//! `dengji bench --roster-moves N`: the living roster's targets of issue 16 — N 组织关系
//! transfers inside the demo province (through the transfer service, so the history exists),
//! one member moved back and forth 20 times, then the province rosters as of a past date and
//! now, and that member's archive page (20 versions).

use std::time::Instant;

use super::CliResult;
use super::bench::time_page;
use crate::domain::{FirmId, MemberId};
use crate::service::demo::DEMO_PASSWORD;
use crate::service::transfer::TransferInput;
use crate::service::{Caller, Services};
use crate::web::SESSION_COOKIE;

/// Move `member` to `firm` through a transfer accepted at once, effective `on`.
async fn move_once(
    services: &Services,
    member: MemberId,
    firm: FirmId,
    on: &str,
) -> Result<(), crate::service::ServiceError> {
    let t = services
        .transfer()
        .start(
            Caller::Operator,
            member,
            &TransferInput {
                to_firm: Some(firm),
                reason: "基准测试".into(),
                effective_on: on.into(),
            },
        )
        .await?;
    services.transfer().accept(Caller::Operator, t, "").await
}

pub async fn run(
    services: &Services,
    app: &axum::Router,
    moves: usize,
    iterations: usize,
) -> CliResult {
    let need = "基准测试需要演示数据（dengji demo）";
    let (province, city, member) = {
        let mut conn = services.db.acquire().await?;
        let sheng = crate::store::users::get_by_username(&mut conn, "sheng")
            .await?
            .ok_or(need)?;
        let shi = crate::store::users::get_by_username(&mut conn, "shi")
            .await?
            .ok_or(need)?;
        let dangyuan = crate::store::users::get_by_username(&mut conn, "dangyuan")
            .await?
            .ok_or(need)?;
        (sheng.org_id, shi, dangyuan.member_id.ok_or(need)?)
    };
    // Two firms of the demo city with members: the moves go between them.
    let (firms, city_members) = {
        let mut conn = services.db.acquire().await?;
        let scope = crate::authz::Scope::Subtree(city.org_path.clone());
        let firms = crate::store::firms::list(
            &mut conn,
            &scope,
            &crate::store::firms::FirmFilter {
                page: 1,
                per_page: 2_000,
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
                per_page: moves as i64 + 50,
                ..Default::default()
            },
        )
        .await?
        .items;
        (firms, members)
    };
    let home = crate::store::members::get(&mut *services.db.acquire().await?, member)
        .await?
        .ok_or(need)?
        .firm_id;
    let away = firms
        .iter()
        .find(|f| f.id != home)
        .ok_or("演示地市只有一家律所")?
        .id;
    let started = Instant::now();
    let mut day = time::macros::date!(2019 - 01 - 01);
    let mut done = 0;
    for i in 0..20 {
        let to = if i % 2 == 0 { away } else { home };
        move_once(services, member, to, &day.to_string())
            .await
            .map_err(|e| format!("转接演示党员失败：{e}"))?;
        day += time::Duration::days(30);
        done += 1;
    }
    println!(
        "演示党员往返转接 {done} 次：{:.1} 秒",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let mut moved = 0;
    for m in city_members.iter().filter(|m| m.id != member) {
        if moved >= moves {
            break;
        }
        let to = firms
            .iter()
            .find(|f| f.id != m.firm_id)
            .map(|f| f.id)
            .unwrap_or(away);
        // Members with an open case (or in a locked package) stay where they are.
        if move_once(services, m.id, to, "2019-06-01").await.is_ok() {
            moved += 1;
        }
    }
    let took = started.elapsed();
    println!(
        "省内组织关系转接 {moved} 次（发起并接收）：{:.1} 秒，每次 {:.2} 毫秒",
        took.as_secs_f64(),
        took.as_secs_f64() * 1000.0 / moved.max(1) as f64
    );
    let s = services
        .auth()
        .login("sheng", DEMO_PASSWORD, None)
        .await
        .map_err(|e| format!("演示账号 sheng 无法登录：{e}"))?;
    let cookie = format!("{SESSION_COOKIE}={}", s.token);
    println!(
        "{:<56} {:>8} {:>8} {:>8} {:>8}",
        "场景", "最小", "中位", "P95", "最大"
    );
    for (label, path) in [
        (
            "省级律师党员名册首页（截至 2018-12-31）",
            format!("/orgs/{province}/rosters?roster=lawyers&as_of=2018-12-31"),
        ),
        (
            "省级律师党员名册首页（截至 2019-06-01，含转接历史）",
            format!("/orgs/{province}/rosters?roster=lawyers&as_of=2019-06-01"),
        ),
        (
            "省级律师党员名册首页（当前）",
            format!("/orgs/{province}/rosters?roster=lawyers"),
        ),
        (
            "省级律师事务所名册首页（截至 2018-12-31）",
            format!("/orgs/{province}/rosters?roster=firms&as_of=2018-12-31"),
        ),
        (
            "党员档案页（20 个版本）",
            format!("/members/{}/archive", member.0),
        ),
    ] {
        time_page(app, label, &cookie, &path, iterations).await?;
    }
    Ok(())
}
