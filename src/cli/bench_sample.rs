//! `dengji bench --sample-draws N`: the spot-check targets of issue 15 — a stratified 2 % sample
//! drawn nationwide with its frozen population, the sample report page, and a city's case
//! list first page — on the national demo (which it first gives approved forms and cases).

use std::time::Instant;

use super::CliResult;
use super::bench::time_page;
use crate::domain::{OrgId, OrgLevel, SampleParams};
use crate::service::demo::DEMO_PASSWORD;
use crate::service::{Caller, Services};
use crate::web::SESSION_COOKIE;

/// Cases opened by hand in the demo city before its list is timed.
const CASES: usize = 200;

pub async fn run(
    services: &Services,
    app: &axum::Router,
    draws: usize,
    iterations: usize,
) -> CliResult {
    let (campaign_id, city, city_path) = {
        let mut conn = services.db.acquire().await?;
        let campaign = crate::store::campaigns::latest(&mut conn)
            .await?
            .ok_or("尚未建立登记核查工作")?;
        let shi = crate::store::users::get_by_username(&mut conn, "shi")
            .await?
            .ok_or("基准测试需要演示数据（dengji demo）")?;
        (campaign.id, shi.org_id, shi.org_path)
    };
    let started = Instant::now();
    let filled = {
        let mut tx = services.db.begin().await?;
        let n = crate::store::registrations::fill_approved_for_bench(&mut tx, campaign_id).await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        n
    };
    println!(
        "准备：为 {filled} 名尚无登记表的党员建立已审核通过的登记表（{:.1} 秒，不计时）",
        started.elapsed().as_secs_f64()
    );
    // Every approval leaves its review with the digest of the content approved: the bulk
    // forms get theirs too (not timed).
    let started = Instant::now();
    let mut reviewed = 0;
    let mut after = 0;
    loop {
        let mut tx = services.db.begin().await?;
        let batch = crate::store::registrations::unreviewed_approved_for_bench(
            &mut tx,
            campaign_id,
            after,
            20_000,
        )
        .await?;
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            break;
        };
        let range = (first.0, last.0);
        after = last.0;
        let rows = batch
            .into_iter()
            .map(|(id, path, form, data, masked)| {
                use crate::store::sql::Arg;
                let digest =
                    crate::service::review::content_digest(&form, &data, masked.as_deref());
                vec![
                    Arg::Int(id),
                    Arg::Text(path),
                    Arg::Text("approve".into()),
                    Arg::Text("基准测试".into()),
                    Arg::Text("审核人".into()),
                    Arg::Text(digest),
                    Arg::Text(data),
                    Arg::Int(crate::store::now()),
                ]
            })
            .collect::<Vec<_>>();
        reviewed += rows.len();
        crate::store::sql::insert_rows(
            &mut tx,
            "registration_reviews",
            "registration_id, org_path, decision, reviewer_name, reviewer_role, digest, \
             snapshot, at",
            rows,
        )
        .await
        .map_err(crate::store::StoreError::from)?;
        crate::store::registrations::set_approved_digests_for_bench(&mut tx, range.0, range.1)
            .await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
    }
    if reviewed > 0 {
        println!(
            "准备：为 {reviewed} 份登记表补记审核记录（含内容摘要，{:.1} 秒，不计时）",
            started.elapsed().as_secs_f64()
        );
    }
    services.db.analyze_campaign_records().await?;
    let root = OrgId(1);
    let mut last = None;
    println!("全国按地市分层抽样（比例 2%，每层 5–200 份），含冻结总体名单：");
    for i in 0..draws {
        let params = SampleParams {
            by: OrgLevel::City,
            rate_ppm: 20_000,
            min: 5,
            max: 200,
            weighted: true,
            seed: 20_181_120 + i as u64,
        };
        let t = Instant::now();
        let id = services
            .samples()
            .draw(Caller::Operator, root, &params, "基准测试")
            .await?;
        let took = t.elapsed();
        let v = services.samples().view(Caller::Operator, id).await?;
        println!(
            "  第 {} 次：总体 {} 份，{} 层，抽取 {} 份，{:.2} 秒",
            i + 1,
            v.sample.population,
            v.strata.len(),
            v.sample.size,
            took.as_secs_f64()
        );
        last = Some(id);
    }
    // Cases in the demo city, opened by hand (not timed), then its list.
    let have = services
        .cases()
        .list(
            Caller::Operator,
            city,
            &crate::service::cases::CaseFilter {
                page: 1,
                per_page: 1,
                ..Default::default()
            },
        )
        .await?
        .counts
        .total_open();
    if have < CASES as i64 {
        let mut opened = 0;
        let members = {
            let mut conn = services.db.acquire().await?;
            crate::store::cases::members_without_case_for_bench(
                &mut conn,
                campaign_id,
                &city_path,
                CASES as i64,
            )
            .await?
        };
        for m in members {
            let category = ["1", "2", "3", "4", "5"][opened % 5];
            services
                .cases()
                .open(Caller::Operator, m, category, "基准测试")
                .await?;
            opened += 1;
        }
        println!("准备：在演示地市开启 {opened} 件分类处理（不计时）");
    }
    // As the autovacuum of a running PostgreSQL would after such writes.
    services.db.analyze_campaign_records().await?;
    let mut cookies = Vec::new();
    for user in ["quanguo", "shi"] {
        let s = services
            .auth()
            .login(user, DEMO_PASSWORD, None)
            .await
            .map_err(|e| format!("演示账号 {user} 无法登录：{e}"))?;
        cookies.push(format!("{SESSION_COOKIE}={}", s.token));
    }
    println!("每项 {iterations} 次（先预热3次），单位毫秒");
    println!(
        "{:<56} {:>8} {:>8} {:>8} {:>8}",
        "场景", "最小", "中位", "P95", "最大"
    );
    if let Some(id) = last {
        time_page(
            app,
            "全国抽查核验报告页（分层结果、加权估计、记录首页）",
            &cookies[0],
            &format!("/samples/{}", id.0),
            iterations,
        )
        .await?;
    }
    time_page(
        app,
        "地市级分类处理列表首页（含各类计数）",
        &cookies[1],
        &format!("/orgs/{}/cases", city.0),
        iterations,
    )
    .await?;
    Ok(())
}
