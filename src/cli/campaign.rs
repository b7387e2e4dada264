//! `dengji campaign`: start a campaign, show it, set its deadlines per level, close it, and
//! record overdue nodes and send deadline reminders now (the server also does this hourly).

use clap::Subcommand;

use super::{CliResult, load_config, open};
use crate::config::Overrides;
use crate::service::Caller;
use crate::service::campaign::{CampaignForm, Deadlines};

/// The four deadlines, as every campaign command takes them.
#[derive(Debug, clap::Args)]
pub struct DeadlineArgs {
    /// 律所党组织报送截止日期（年-月-日）
    #[arg(long)]
    firm: String,
    /// 地市报送截止日期
    #[arg(long)]
    city: String,
    /// 省级报送截止日期
    #[arg(long)]
    province: String,
    /// 全国汇总截止日期
    #[arg(long)]
    national: String,
}

impl From<DeadlineArgs> for Deadlines {
    fn from(a: DeadlineArgs) -> Self {
        Self {
            firm: a.firm,
            city: a.city,
            province: a.province,
            national: a.national,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 开展一项新的登记核查工作（同一时间只能有一项在进行）
    New {
        /// 名称，如“2018年律师行业党组织和党员基本信息登记核查”
        #[arg(long)]
        name: String,
        /// 登记截止基准日（年-月-日）：按此日期确定哪些人员应当登记
        #[arg(long)]
        cutoff: String,
        /// 时间规则判断日（年-月-日），默认即登记截止基准日
        #[arg(long, default_value = "")]
        reference: String,
        #[command(flatten)]
        deadlines: DeadlineArgs,
    },
    /// 显示当前登记核查工作及各级截止日期
    Show,
    /// 结束当前登记核查工作（不再填报、审核、报送；数据仍可查阅）
    Close,
    /// 设置各级报送截止日期（年-月-日）
    Deadlines(DeadlineArgs),
    /// 立即记录逾期并发送截止提醒
    Sweep,
    /// 设置登记核查结束后定期上报变更的周期：month（每月）或 quarter（每季度）
    ChangePeriod {
        /// month 或 quarter
        cadence: String,
    },
}

pub async fn run(o: Overrides, cmd: Command) -> CliResult {
    let config = load_config(&o)?;
    let services = open(&config).await?;
    match cmd {
        Command::New {
            name,
            cutoff,
            reference,
            deadlines,
        } => {
            services
                .campaign()
                .start(
                    Caller::Operator,
                    &CampaignForm {
                        name,
                        cutoff,
                        reference,
                        deadlines: deadlines.into(),
                    },
                )
                .await
                .map_err(super::describe)?;
            println!("已开展新的登记核查工作。");
        }
        Command::Close => {
            services
                .campaign()
                .close(Caller::Operator)
                .await
                .map_err(super::describe)?;
            println!("已结束当前登记核查工作。");
        }
        Command::Show => {}
        Command::Deadlines(deadlines) => {
            services
                .campaign()
                .set_deadlines(Caller::Operator, &deadlines.into())
                .await
                .map_err(super::describe)?;
            println!("已更新各级截止日期。");
        }
        Command::ChangePeriod { cadence } => {
            let c = crate::domain::change::Cadence::from_code(&cadence)
                .ok_or("周期应为 month（每月）或 quarter（每季度）")?;
            services
                .changes()
                .set_cadence(Caller::Operator, c)
                .await
                .map_err(super::describe)?;
            println!("定期上报周期已设为{}。", c.label());
        }
        Command::Sweep => {
            let n = services
                .package()
                .sweep_deadlines()
                .await
                .map_err(super::describe)?;
            let recorded = services
                .accountability()
                .sweep()
                .await
                .map_err(super::describe)?;
            println!("新记录逾期 {n} 个组织；截止提醒已发送；追责登记新增 {recorded} 条。");
        }
    }
    let mut conn = services.db.acquire().await?;
    let c = crate::store::campaigns::latest(&mut conn)
        .await?
        .ok_or("尚未建立登记核查工作")?;
    println!(
        "{}（登记截止基准日 {}，时间规则按 {} 判断{}）",
        c.name,
        c.cutoff_date,
        c.judged_at(),
        if c.closed_at.is_some() {
            "，已结束"
        } else {
            "，进行中"
        }
    );
    println!(
        "  律所党组织 {}；地市 {}；省级 {}；全国 {}",
        c.deadline_firm, c.deadline_city, c.deadline_province, c.deadline_national
    );
    Ok(())
}
