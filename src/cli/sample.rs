//! `dengji sample`: draw a seeded, stratified spot-check sample over a node's subtree, write a
//! sample's report as .xlsx, and check that a sample draws again the same from its frozen
//! population — through the same service as the 抽查核验 pages.

use std::path::PathBuf;

use clap::Subcommand;

use super::{CliResult, load_config, open};
use crate::config::Overrides;
use crate::domain::sample::{parse_level, parse_rate, rate_label};
use crate::domain::{OrgId, SampleId, SampleParams};
use crate::service::Caller;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 抽取样本：对该节点及其下级审核通过的登记表分层随机抽样，总体名单和内容摘要一并冻结
    Draw {
        /// 抽样单位（全国或省级节点编号）
        #[arg(long)]
        node: i64,
        /// 抽样比例，如 0.02 或 2%
        #[arg(long)]
        rate: String,
        /// 每层最少抽取数
        #[arg(long, default_value_t = 5)]
        min: u64,
        /// 每层最多抽取数
        #[arg(long, default_value_t = 200)]
        max: u64,
        /// 随机种子（同一种子在同一冻结名单上抽出相同样本）
        #[arg(long)]
        seed: u64,
        /// 分层级别：province（省）、city（地市）、firm（律所党组织）
        #[arg(long, default_value = "city")]
        by: String,
        /// 按风险加权（有提示说明、被退回过、代填的记录更容易被抽中）
        #[arg(long)]
        weighted: bool,
        /// 说明
        #[arg(long, default_value = "")]
        note: String,
    },
    /// 导出抽查核验报告（.xlsx）
    Report {
        /// 抽样编号
        id: i64,
        /// 输出文件（.xlsx）
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// 复核：按种子对冻结名单重新抽取，与样本比对
    Verify {
        /// 抽样编号
        id: i64,
    },
}

pub async fn run(o: Overrides, cmd: Command) -> CliResult {
    // Arguments first: a wrong one is told before the database is opened.
    let params = match &cmd {
        Command::Draw {
            rate,
            min,
            max,
            seed,
            by,
            weighted,
            ..
        } => Some(SampleParams {
            by: parse_level(by).ok_or_else(|| {
                super::CliError::Usage(format!("分层级别“{by}”不认识：应为 province、city 或 firm"))
            })?,
            rate_ppm: parse_rate(rate)
                .map_err(|e| super::CliError::Usage(format!("抽样比例：{e}")))?,
            min: *min,
            max: *max,
            weighted: *weighted,
            seed: *seed,
        }),
        _ => None,
    };
    let config = load_config(&o)?;
    let services = open(&config).await?;
    let samples = services.samples();
    match cmd {
        Command::Draw { node, note, .. } => {
            let Some(params) = params else {
                return Ok(());
            };
            let started = std::time::Instant::now();
            let id = samples
                .draw(Caller::Operator, OrgId(node), &params, &note)
                .await?;
            let v = samples.view(Caller::Operator, id).await?;
            println!(
                "抽样 {}：{}，按{}分层，比例 {}（每层 {}–{}），种子 {}；总体 {} 份，{} 层，抽取 {} 份（{:.1} 秒）",
                id.0,
                v.sample.org_name,
                v.sample.by.label(),
                rate_label(v.sample.rate_ppm),
                v.sample.min,
                v.sample.max,
                v.sample.seed,
                v.sample.population,
                v.strata.len(),
                v.sample.size,
                started.elapsed().as_secs_f64()
            );
        }
        Command::Report { id, output } => {
            if output.extension().and_then(|e| e.to_str()) != Some("xlsx") {
                return Err(super::CliError::Usage("输出文件名应以 .xlsx 结尾".into()));
            }
            let (_, bytes) = samples.report_xlsx(Caller::Operator, SampleId(id)).await?;
            let mut f = crate::private_file::create(&output)
                .map_err(|e| format!("无法创建 {}：{e}", output.display()))?;
            std::io::Write::write_all(&mut f, &bytes)
                .map_err(|e| super::CliError::Unavailable(format!("无法写入：{e}")))?;
            println!("已写入 {}", output.display());
        }
        Command::Verify { id } => {
            if samples.reproduces(Caller::Operator, SampleId(id)).await? {
                println!("抽样 {id}：按种子对冻结名单重新抽取，结果与样本完全一致。");
            } else {
                return Err(super::refused!(
                    "抽样 {id}：重新抽取结果与样本不一致（冻结名单或样本记录已被改动）"
                ));
            }
        }
    }
    services.db.close().await;
    Ok(())
}
