//! `dengji bench`: time the pages the performance targets name, in-process through the same
//! router the server uses (server time: routing, authorisation, SQL, templates; no network).

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

use super::{CliResult, load_config, open};
use crate::config::Overrides;
use crate::service::demo::DEMO_PASSWORD;
use crate::web::{AppState, SESSION_COOKIE, router};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// 每项测量次数
    #[arg(long, default_value_t = 30)]
    iterations: usize,
    /// 姓名片段（党员列表筛选）
    #[arg(long, default_value = "王")]
    name: String,
}

struct Stats {
    min: Duration,
    median: Duration,
    p95: Duration,
    max: Duration,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    Stats {
        min: v[0],
        median: at(0.5),
        p95: at(0.95),
        max: v[v.len() - 1],
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

pub async fn run(o: Overrides, args: Args) -> CliResult {
    let config = load_config(&o)?;
    let services = open(&config).await?;
    let app = router(AppState {
        services: services.clone(),
        secure_cookies: false,
    });
    let iterations = args.iterations.max(1);
    let (province, province_path, city) = {
        use crate::store::users::get_by_username;
        let mut conn = services.db.acquire().await.map_err(|e| e.to_string())?;
        let need = "基准测试需要演示数据（dengji demo）";
        let sheng = get_by_username(&mut conn, "sheng")
            .await
            .map_err(|e| e.to_string())?
            .ok_or(need)?;
        let shi = get_by_username(&mut conn, "shi")
            .await
            .map_err(|e| e.to_string())?
            .ok_or(need)?;
        (sheng.org_id, sheng.org_path, shi.org_id)
    };
    let counts = |path: crate::domain::TreePath| {
        let services = services.clone();
        async move {
            services
                .subtree_counts(crate::service::Caller::Operator, &path)
                .await
                .map_err(|e| e.to_string())
        }
    };
    let members = counts(crate::domain::TreePath::root(crate::domain::OrgId(1)))
        .await?
        .members;
    let province_members = counts(province_path).await?.members;

    let mut cookies = Vec::new();
    for user in ["admin", "sheng"] {
        let s = services
            .login(user, DEMO_PASSWORD)
            .await
            .map_err(|e| format!("演示账号 {user} 无法登录：{e}"))?;
        cookies.push(format!("{SESSION_COOKIE}={}", s.token));
    }
    let (admin, sheng) = (cookies[0].clone(), cookies[1].clone());
    let fragment: String = args.name.bytes().map(|b| format!("%{b:02X}")).collect();
    let cases: Vec<(String, String, String)> = vec![
        (
            format!(
                "省级党员列表首页（姓名含“{}”，按姓名排序；该省 {province_members} 名党员）",
                args.name
            ),
            sheng.clone(),
            format!("/members?name={fragment}&sort=name"),
        ),
        (
            "省级党员列表首页（无筛选）".into(),
            sheng.clone(),
            "/members".into(),
        ),
        (
            format!(
                "全国党员列表首页（姓名含“{}”；共 {members} 名党员）",
                args.name
            ),
            admin.clone(),
            format!("/members?name={fragment}&sort=name"),
        ),
        (
            "展开全国节点（32个省级）".into(),
            admin.clone(),
            "/orgs/1/children".into(),
        ),
        (
            "展开省级节点（地市级）".into(),
            sheng.clone(),
            format!("/orgs/{province}/children"),
        ),
        (
            "展开地市级节点（律所党组织）".into(),
            sheng.clone(),
            format!("/orgs/{city}/children"),
        ),
        (
            "地市级进度（各律所党组织填报情况）".into(),
            sheng.clone(),
            format!("/orgs/{city}/cockpit"),
        ),
        (
            "省级节点页面（含下级计数）".into(),
            sheng.clone(),
            format!("/orgs/{province}"),
        ),
        ("全国首页（含全国计数）".into(), admin.clone(), "/".into()),
    ];
    println!(
        "数据库：{}；每项 {iterations} 次（先预热3次），单位毫秒",
        services.db.url_for_display()
    );
    println!(
        "{:<56} {:>8} {:>8} {:>8} {:>8}",
        "场景", "最小", "中位", "P95", "最大"
    );
    for (label, cookie, path) in cases {
        let mut times = Vec::with_capacity(iterations);
        for i in 0..iterations + 3 {
            let req = Request::builder()
                .uri(&path)
                .header(header::COOKIE, &cookie)
                .header(header::HOST, "localhost")
                .body(Body::empty())
                .map_err(|e| e.to_string())?;
            let started = Instant::now();
            let resp = app.clone().oneshot(req).await.map_err(|e| e.to_string())?;
            let status = resp.status();
            let _ = axum::body::to_bytes(resp.into_body(), usize::MAX).await;
            let took = started.elapsed();
            if status != StatusCode::OK {
                return Err(format!("{path} 返回 {status}"));
            }
            if i >= 3 {
                times.push(took);
            }
        }
        let s = stats(times);
        println!(
            "{:<56} {:>8} {:>8} {:>8} {:>8}",
            label,
            ms(s.min),
            ms(s.median),
            ms(s.p95),
            ms(s.max)
        );
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status
            .lines()
            .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
        {
            println!("{line}");
        }
    }
    services.db.close().await;
    Ok(())
}
