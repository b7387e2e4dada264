//! `dengji serve`: the web application.

use super::{CliResult, load_config, open};
use crate::config::Overrides;
use crate::web::{AppState, bind, serve};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// 监听地址，如 127.0.0.1:8080
    #[arg(long, env = "DENGJI_LISTEN")]
    listen: Option<String>,
    /// 数据库为空时先生成演示数据并打印演示账号
    #[arg(long)]
    demo: bool,
    /// 演示数据的党员人数
    #[arg(long, default_value_t = 3000)]
    demo_members: u64,
    /// 演示数据停在工作开始时（不生成填报、审核和报送进度）
    #[arg(long)]
    demo_at_start: bool,
    /// 会话 Cookie 加 Secure 标记（经 HTTPS 访问时）
    #[arg(long, env = "DENGJI_SECURE_COOKIES")]
    secure_cookies: bool,
    /// PostgreSQL 流复制只读副本地址（可多个，逗号分隔）：列表、汇总、总览和导出从副本读取
    #[arg(
        long = "replica-url",
        env = "DENGJI_REPLICA_URL",
        value_delimiter = ','
    )]
    replica_urls: Vec<String>,
}

pub async fn run(mut o: Overrides, args: Args) -> CliResult {
    o.listen = args.listen.clone();
    if !args.replica_urls.is_empty() {
        o.replica_urls = Some(args.replica_urls.clone());
    }
    if args.secure_cookies {
        o.secure_cookies = Some(true);
    }
    let config = load_config(&o)?;
    let listener = bind(config.listen)
        .await
        .map_err(|e| super::CliError::Unavailable(e.to_string()))?;
    let mut services = open(&config).await?;
    services
        .db
        .attach_replicas(&config.replica_urls)
        .await
        .map_err(|e| super::CliError::Unavailable(e.to_string()))?;
    if args.demo {
        let (firms, members) = {
            let mut conn = services.db.acquire().await?;
            crate::store::bulk::firm_and_member_counts(&mut conn).await?
        };
        if firms == 0 && members == 0 {
            let summary = super::demo::generate(
                &services,
                &super::demo::Args {
                    members: args.demo_members,
                    firms: None,
                    seed: 2018,
                    in_progress: !args.demo_at_start,
                },
            )
            .await?;
            super::demo::print_summary(&summary);
        } else {
            println!("数据库中已有数据（{firms} 家律所、{members} 名党员），未重新生成演示数据。");
            println!(
                "演示账号（如存在）：admin、sheng、shi、suo、suo_shenhe、dangyuan 等，密码 {}",
                crate::service::demo::DEMO_PASSWORD
            );
        }
    }
    let addr = listener.local_addr()?;
    println!(
        "dengji 已启动：http://{addr}/   （数据库：{}{}，按 Ctrl-C 停止）",
        services.db.url_for_display(),
        match services.db.replica_count() {
            0 => String::new(),
            n => format!("，只读副本 {n} 个"),
        }
    );
    let state = AppState {
        services,
        secure_cookies: config.secure_cookies,
        trusted_proxies: config.trusted_proxies.clone(),
    };
    serve(listener, state)
        .await
        .map_err(|e| super::CliError::Unavailable(e.to_string()))
}
