//! `dengji campaign`: show the current campaign, set its deadlines per level, and record
//! overdue nodes and send deadline reminders now (the server also does this hourly).

use clap::Subcommand;

use super::{CliResult, load_config, open};
use crate::config::Overrides;
use crate::service::Caller;
use crate::service::campaign::Deadlines;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 显示当前登记核查工作及各级截止日期
    Show,
    /// 设置各级报送截止日期（年-月-日）
    Deadlines {
        #[arg(long)]
        firm: String,
        #[arg(long)]
        city: String,
        #[arg(long)]
        province: String,
        #[arg(long)]
        national: String,
    },
    /// 立即记录逾期并发送截止提醒
    Sweep,
}

pub async fn run(o: Overrides, cmd: Command) -> CliResult {
    let config = load_config(&o)?;
    let services = open(&config).await?;
    match cmd {
        Command::Show => {}
        Command::Deadlines {
            firm,
            city,
            province,
            national,
        } => {
            services
                .set_deadlines(
                    Caller::Operator,
                    &Deadlines {
                        firm,
                        city,
                        province,
                        national,
                    },
                )
                .await
                .map_err(super::describe)?;
            println!("已更新各级截止日期。");
        }
        Command::Sweep => {
            let n = services.sweep_deadlines().await.map_err(super::describe)?;
            println!("新记录逾期 {n} 个组织；截止提醒已发送。");
        }
    }
    let mut conn = services.db.acquire().await.map_err(|e| e.to_string())?;
    let c = crate::store::campaigns::latest(&mut conn)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("尚未建立登记核查工作")?;
    println!("{}（登记截止基准日 {}）", c.name, c.cutoff_date);
    println!(
        "  律所党组织 {}；地市 {}；省级 {}；全国 {}",
        c.deadline_firm, c.deadline_city, c.deadline_province, c.deadline_national
    );
    Ok(())
}
