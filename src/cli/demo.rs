//! `dengji demo`: fill an empty database with a synthetic nation and print the logins.

use indicatif::{ProgressBar, ProgressStyle};

use super::{CliResult, load_config, open};
use crate::config::Overrides;
use crate::service::Services;
use crate::service::demo::{DEMO_PASSWORD, DemoOptions, DemoSummary};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// 党员人数（默认3000；全国规模可用 1000000）
    #[arg(long, default_value_t = 3000)]
    pub members: u64,
    /// 律师事务所数（默认每20名党员一家）
    #[arg(long)]
    pub firms: Option<u64>,
    /// 随机种子：相同种子生成相同数据
    #[arg(long, default_value_t = 2018)]
    pub seed: u64,
    /// 同时生成工作进度：部分登记表已填报、退回、审核通过，部分组织已报送、已接收，律所截止日期已过
    #[arg(long)]
    pub in_progress: bool,
}

pub async fn run(o: Overrides, args: Args) -> CliResult {
    let config = load_config(&o)?;
    let services = open(&config).await?;
    let summary = generate(&services, &args).await?;
    print_summary(&summary);
    services.db.close().await;
    Ok(())
}

pub async fn generate(services: &Services, args: &Args) -> Result<DemoSummary, super::CliError> {
    let bar = ProgressBar::new(args.members);
    bar.set_style(
        ProgressStyle::with_template("生成党员 {bar:40} {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let summary = services
        .demo()
        .generate(
            &DemoOptions {
                members: args.members,
                firms: args.firms,
                seed: args.seed,
            },
            &|n| bar.set_position(n),
        )
        .await?;
    bar.finish_and_clear();
    println!(
        "演示数据已生成：{} 个党组织、{} 家律师事务所、{} 名党员，用时 {:.1} 秒。",
        summary.orgs,
        summary.firms,
        summary.members,
        started.elapsed().as_secs_f64()
    );
    if args.in_progress {
        let m = services.demo().set_in_motion(args.seed).await?;
        println!(
            "工作进度已生成：登记表提交 {}、审核通过 {}、退回 {}、草稿 {}；报送 {} 次、接收 {} 次；律所截止日期已过 3 天。",
            m.submitted,
            m.approved,
            m.returned,
            m.drafts,
            m.packages_submitted,
            m.packages_accepted
        );
    }
    Ok(summary)
}

pub fn print_summary(summary: &DemoSummary) {
    println!("演示账号（密码均为 {DEMO_PASSWORD}）：");
    for l in &summary.logins {
        println!("  {:<12} {:<6} {}", l.username, l.role.label(), l.org_name);
    }
}
