//! `dengji exchange`: load a snapshot of the 全国律师综合管理系统's roster from files (streamed,
//! all or nothing) and write a node's reconciliation against it as .xlsx — through the same
//! service as the 执业信息核对 pages.

use std::path::PathBuf;

use clap::Subcommand;

use super::{CliError, CliResult, load_config, open};
use crate::config::Overrides;
use crate::domain::OrgId;
use crate::service::Caller;
use crate::service::exchange::{Input, Loaded, MAX_LISTED, Source};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 载入名册：律师名册（必需）和律师事务所名册（可选），.xlsx、.csv（UTF-8 或 GB18030）或 JSON Lines，格式见 docs/exchange.md
    Load {
        /// 名册文件（一个或两个）
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// 名册的数据日期（如 2018-07-31）
        #[arg(long)]
        as_of: String,
        /// 列名映射文件（TOML），文件的列名与交换格式不同时使用
        #[arg(long)]
        mapping: Option<PathBuf>,
    },
    /// 核对：把一个节点及其下级的登记情况与最新名册核对，写成 .xlsx
    Reconcile {
        /// 组织节点编号
        #[arg(long)]
        node: i64,
        /// 输出文件（.xlsx）；不给则只打印汇总
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
}

pub async fn run(o: Overrides, cmd: Command) -> CliResult {
    if let Command::Reconcile {
        output: Some(out), ..
    } = &cmd
        && out.extension().and_then(|e| e.to_str()) != Some("xlsx")
    {
        return Err(CliError::Usage("输出文件名应以 .xlsx 结尾".into()));
    }
    let mapping = match &cmd {
        Command::Load {
            mapping: Some(m), ..
        } => Some(
            std::fs::read_to_string(m)
                .map_err(|e| CliError::Usage(format!("无法读取映射文件 {}：{e}", m.display())))?,
        ),
        _ => None,
    };
    let config = load_config(&o)?;
    let services = open(&config).await?;
    let exchange = services.exchange();
    match cmd {
        Command::Load { files, as_of, .. } => {
            let mut inputs = Vec::new();
            for path in &files {
                let f = std::fs::File::open(path).map_err(|e| {
                    CliError::Unavailable(format!("无法打开 {}：{e}", path.display()))
                })?;
                inputs.push(Input {
                    name: path.file_name().map_or_else(
                        || path.display().to_string(),
                        |n| n.to_string_lossy().into(),
                    ),
                    source: Source::Reader(Box::new(f)),
                });
            }
            let started = std::time::Instant::now();
            match exchange
                .load(Caller::Operator, inputs, mapping.as_deref(), &as_of)
                .await?
            {
                Loaded::Done(s) => println!(
                    "已载入名册（第{}次）：数据日期 {}，律师 {} 人，律师事务所 {} 家（{:.1} 秒）",
                    s.id,
                    s.as_of,
                    s.lawyers,
                    s.firms,
                    started.elapsed().as_secs_f64()
                ),
                Loaded::Refused { problems, total } => {
                    for p in &problems {
                        println!("  {}：{}", p.place(), p.message);
                    }
                    if total > problems.len() {
                        println!("  …… 另有 {} 条未列出", total - problems.len());
                    }
                    services.db.close().await;
                    return Err(super::refused!(
                        "名册有 {total} 处问题，未载入任何数据（最多列出 {MAX_LISTED} 条）"
                    ));
                }
            }
        }
        Command::Reconcile { node, output } => {
            let r = exchange.reconcile(Caller::Operator, OrgId(node)).await?;
            println!(
                "{} 与名册（第{}次载入，数据日期 {}）核对：一致 {} 人",
                r.org.name, r.snapshot.id, r.snapshot.as_of, r.matched
            );
            for (c, n, explained) in &r.totals {
                println!("  {}：{n}（已说明 {explained}）", c.label());
            }
            if let Some(out) = output {
                let (_, bytes) = exchange.workbook(Caller::Operator, OrgId(node)).await?;
                let mut f = crate::private_file::create(&out)
                    .map_err(|e| format!("无法创建 {}：{e}", out.display()))?;
                std::io::Write::write_all(&mut f, &bytes)
                    .map_err(|e| CliError::Unavailable(format!("无法写入：{e}")))?;
                println!("已写入 {}", out.display());
            }
        }
    }
    services.db.close().await;
    Ok(())
}
