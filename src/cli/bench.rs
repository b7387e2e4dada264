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
    /// 批量审核测量：轮数（每轮为 1,000 名尚未登记的党员建立“已提交”的登记表，再一次审核通过；会改动基准库）
    #[arg(long, default_value_t = 0)]
    approve_rounds: usize,
    /// 批量审核每轮的份数
    #[arg(long, default_value_t = 1000)]
    approve_batch: usize,
    /// 导入基准：生成并导入这么多行附件1（全国节点，完整校验），之后撤销；只做这一项
    #[arg(long, default_value_t = 0)]
    import_rows: usize,
    /// 导入基准生成的 .xlsx 保存到此处（供 openpyxl 对照）
    #[arg(long)]
    import_file: Option<std::path::PathBuf>,
    /// 抽查核验基准：全国按地市分层抽取 2% 样本的次数（先为尚无登记表的党员建立“已审核通过”的登记表，
    /// 并在演示地市开启 200 件分类处理；会改动基准库），再测报告页与地市分类处理列表；只做这一项
    #[arg(long, default_value_t = 0)]
    sample_draws: usize,
    /// 审计哈希链基准：这么多个并发写入者，各提交 --audit-writes 次带审计的事务（再以不带哈希链的同样写入对照；
    /// 会改动基准库）；只做这一项
    #[arg(long, default_value_t = 0)]
    audit_writers: usize,
    /// 审计哈希链基准：每个写入者的事务数
    #[arg(long, default_value_t = 200)]
    audit_writes: usize,
    /// 向审计日志一次追加这么多条带哈希链的事件（供测量 dengji audit verify；会改动基准库）；只做这一项
    #[arg(long, default_value_t = 0)]
    audit_fill: u64,
    /// 名册基准：在演示省内办理这么多次组织关系转接（并将演示党员往返转接 20 次；会改动基准库），
    /// 再测过去日期的省级名册首页与党员档案页；只做这一项
    #[arg(long, default_value_t = 0)]
    roster_moves: usize,
    /// 定期上报基准：结束登记核查，在演示省内办理转接产生这么多条变更（会改动基准库），逐级报送，
    /// 再测全国接收省级变更与地市定期上报页；只做这一项
    #[arg(long, default_value_t = 0)]
    change_sets: usize,
    /// 压力测试账号：在这么多个律所党组织各建党员、经办人、审核人账号，并为其所在地市、省各建经办人账号
    /// （密码同演示账号；会改动基准库），清单写入 --load-accounts-file；只做这一项
    #[arg(long, default_value_t = 0)]
    load_accounts: usize,
    /// 压力测试账号清单（JSON，供 scripts/load/locustfile.py 读取）
    #[arg(long, default_value = "load-accounts.json")]
    load_accounts_file: std::path::PathBuf,
    /// 执业信息核对基准：生成这么多行律师名册（本库已登记的律师加虚构律师）和律所名册，流式载入，
    /// 再测全国和演示地市的核对计数与页面（会留下这份名册）；只做这一项
    #[arg(long, default_value_t = 0)]
    licensing_rows: usize,
    /// 执业信息核对基准生成的名册保存到此目录（供 dengji exchange load 单独测量内存）
    #[arg(long)]
    licensing_dir: Option<std::path::PathBuf>,
}

pub(super) struct Stats {
    pub(super) min: Duration,
    pub(super) median: Duration,
    pub(super) p95: Duration,
    pub(super) max: Duration,
}

pub(super) fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    Stats {
        min: v[0],
        median: at(0.5),
        p95: at(0.95),
        max: v[v.len() - 1],
    }
}

pub(super) fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

pub async fn run(o: Overrides, args: Args) -> CliResult {
    let config = load_config(&o)?;
    let services = open(&config).await?;
    let app = router(AppState {
        services: services.clone(),
        secure_cookies: false,
        trusted_proxies: Vec::new(),
    });
    if args.import_rows > 0 {
        super::bench_import::run(&services, args.import_rows, args.import_file.as_deref()).await?;
        services.db.close().await;
        return Ok(());
    }
    if args.licensing_rows > 0 {
        let s = services
            .auth()
            .login("shi", DEMO_PASSWORD, None)
            .await
            .map_err(|e| format!("演示账号 shi 无法登录：{e}"))?;
        let cookie = format!("{SESSION_COOKIE}={}", s.token);
        super::bench_exchange::run(
            &services,
            &app,
            &cookie,
            args.licensing_rows,
            args.iterations,
            args.licensing_dir.as_deref(),
        )
        .await?;
        services.db.close().await;
        return Ok(());
    }
    if args.audit_writers > 0 {
        super::bench_audit::writers(&services, args.audit_writers, args.audit_writes.max(1))
            .await?;
        services.db.close().await;
        return Ok(());
    }
    if args.load_accounts > 0 {
        super::bench_load::run(&services, args.load_accounts, &args.load_accounts_file).await?;
        services.db.close().await;
        return Ok(());
    }
    if args.audit_fill > 0 {
        super::bench_audit::fill(&services, args.audit_fill).await?;
        services.db.close().await;
        return Ok(());
    }
    let iterations = args.iterations.max(1);
    if args.change_sets > 0 {
        super::bench_changes::run(&services, &app, args.change_sets, iterations).await?;
        services.db.close().await;
        return Ok(());
    }
    if args.roster_moves > 0 {
        super::bench_roster::run(&services, &app, args.roster_moves, iterations).await?;
        services.db.close().await;
        return Ok(());
    }
    if args.sample_draws > 0 {
        super::bench_sample::run(&services, &app, args.sample_draws, iterations).await?;
        services.db.close().await;
        return Ok(());
    }
    let (province, province_path, city, member) = {
        use crate::store::users::get_by_username;
        let mut conn = services.db.acquire().await?;
        let need = "基准测试需要演示数据（dengji demo）";
        let sheng = get_by_username(&mut conn, "sheng").await?.ok_or(need)?;
        let shi = get_by_username(&mut conn, "shi").await?.ok_or(need)?;
        let dangyuan = get_by_username(&mut conn, "dangyuan").await?.ok_or(need)?;
        (
            sheng.org_id,
            sheng.org_path,
            shi.org_id,
            dangyuan.member_id.ok_or(need)?.0,
        )
    };
    let counts = |path: crate::domain::TreePath| {
        let services = services.clone();
        async move {
            services
                .directory()
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
            .auth()
            .login(user, DEMO_PASSWORD, None)
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
            "全国附件6《党组织信息汇总表》首页（含统计区块）".into(),
            admin.clone(),
            "/orgs/1/summary/a6".into(),
        ),
        (
            "省级附件4《律师党员基本信息汇总表》首页".into(),
            sheng.clone(),
            format!("/orgs/{province}/summary/a4"),
        ),
        (
            "地市级附件6首页（含统计区块）".into(),
            sheng.clone(),
            format!("/orgs/{city}/summary/a6"),
        ),
        (
            "省级节点页面（含下级计数）".into(),
            sheng.clone(),
            format!("/orgs/{province}"),
        ),
        ("全国首页（含全国计数）".into(), admin.clone(), "/".into()),
        (
            "全国研判页（全部板块）".into(),
            admin.clone(),
            "/orgs/1/analysis".into(),
        ),
        (
            "省级研判页（全部板块）".into(),
            sheng.clone(),
            format!("/orgs/{province}/analysis"),
        ),
        (
            "地市级研判页（全部板块）".into(),
            sheng.clone(),
            format!("/orgs/{city}/analysis"),
        ),
        (
            "全国研判名单首页（31–40岁）".into(),
            admin.clone(),
            "/orgs/1/analysis/members?facet=age&value=31_40".into(),
        ),
        (
            "省级研判名单首页（31–40岁）".into(),
            sheng.clone(),
            format!("/orgs/{province}/analysis/members?facet=age&value=31_40"),
        ),
        (
            "全国研判名单首页（少数民族）".into(),
            admin.clone(),
            "/orgs/1/analysis/members?facet=ethnicity&value=minority".into(),
        ),
        (
            "党员页面（省级经办人查看本省一名党员；记录查阅）".into(),
            sheng.clone(),
            format!("/members/{member}"),
        ),
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
        time_page(&app, &label, &cookie, &path, iterations).await?;
    }
    if args.approve_rounds > 0 {
        bulk_approve(
            &services,
            &province_path_of(&services).await?,
            args.approve_rounds,
            args.approve_batch,
        )
        .await?;
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

/// Time `GET path` as the session `cookie`, `iterations` times after three warm-up runs, and
/// print one line of figures.
pub(super) async fn time_page(
    app: &axum::Router,
    label: &str,
    cookie: &str,
    path: &str,
    iterations: usize,
) -> CliResult {
    let mut times = Vec::with_capacity(iterations);
    for i in 0..iterations + 3 {
        let req = Request::builder()
            .uri(path)
            .header(header::COOKIE, cookie)
            .header(header::HOST, "localhost")
            .body(Body::empty())
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        let resp = app.clone().oneshot(req).await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let _ = axum::body::to_bytes(resp.into_body(), usize::MAX).await;
        let took = started.elapsed();
        if status != StatusCode::OK {
            return Err(super::refused!("{path} 返回 {status}"));
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
    Ok(())
}

async fn province_path_of(
    services: &crate::service::Services,
) -> Result<crate::domain::TreePath, super::CliError> {
    let mut conn = services.db.acquire().await?;
    crate::store::users::get_by_username(&mut conn, "sheng")
        .await?
        .map(|u| u.org_path)
        .ok_or_else(|| "基准测试需要演示数据（dengji demo）".into())
}

/// Time `review().approve` on `batch` forms at once, `rounds` times. Each round first
/// files `batch` members of the province who have no form yet (state 已提交, a realistic
/// form body), which is not timed.
async fn bulk_approve(
    services: &crate::service::Services,
    province: &crate::domain::TreePath,
    rounds: usize,
    batch: usize,
) -> CliResult {
    use crate::service::Caller;
    use crate::store::registrations::{self, Write};
    println!("批量审核（审核盖章），每轮 {batch} 份，全部成功或全部不变：");
    for round in 1..=rounds {
        let mut tx = services.db.begin().await?;
        let campaign = crate::store::campaigns::latest(&mut tx)
            .await?
            .ok_or("尚未建立登记核查工作")?;
        let waiting = crate::store::registrations::members_without_form(
            &mut tx,
            campaign.id,
            province,
            batch as i64,
        )
        .await?;
        if waiting.len() < batch {
            return Err(super::refused!("该省尚未登记的党员不足 {batch} 名"));
        }
        let mut ids = Vec::with_capacity(batch);
        for (member, path, name) in &waiting {
            let data = serde_json::json!({
                "name": name, "mobile": "13912345678", "standing": "normal",
                "holder_name": "中共某律师事务所支部委员会", "holder_type": "own_firm",
                "holder_region": "110101", "in_firm": "1", "transfer_status": "transferred",
                "dues_org": "中共某律师事务所支部委员会", "dues_paid_until": "2018-07",
                "life_org": "中共某律师事务所支部委员会", "last_life_on": "2018-07-10",
                "lost_contact": "0", "mobile_member": "0", "education": "21",
                "party_status": "full", "joined_on": "2005-07-01", "full_member_on": "2006-07-01",
            })
            .to_string();
            registrations::insert(
                &mut tx,
                &Write {
                    campaign_id: campaign.id,
                    member_id: *member,
                    org_path: path,
                    form_code: "A1",
                    data,
                    citizen_id_enc: None,
                    citizen_id_masked: None,
                    state: crate::domain::RegistrationState::Submitted,
                    confirmed_at: None,
                    proxy_method: Some("phone".into()),
                    warnings_note: None,
                    submitted_at: Some(crate::store::now()),
                    by: None,
                },
            )
            .await?;
            ids.push(*member);
        }
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        let started = Instant::now();
        let n = services.review().approve(Caller::Operator, &ids).await?;
        println!("  第 {round} 轮：{n} 份，{} 毫秒", ms(started.elapsed()));
    }
    Ok(())
}
