//! `dengji cities --province ID [--create] [--judicial CODE,…]`: the cities assistant — list
//! the city-level nodes a province would have from GB/T 2260, or create the missing ones.

use super::{CliResult, load_config, open};
use crate::config::Overrides;
use crate::domain::OrgId;
use crate::service::Caller;
use crate::service::cities::NewCity;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// 省级党组织编号
    #[arg(long)]
    province: i64,
    /// 建立尚未建立的全部地市级党组织（不给时只列出）
    #[arg(long)]
    create: bool,
    /// 由司法行政机关党组织代行的地区的行政区划代码（逗号分隔），其名称为“××司法局党组”
    #[arg(long, value_delimiter = ',')]
    judicial: Vec<String>,
}

pub async fn run(o: Overrides, args: Args) -> CliResult {
    let config = load_config(&o)?;
    let services = open(&config).await?;
    let (org, proposed) = services
        .cities()
        .propose(Caller::Operator, OrgId(args.province))
        .await?;
    let missing: Vec<_> = proposed.iter().filter(|p| p.existing.is_none()).collect();
    println!(
        "{}：{} 个地市级行政区划，已建立 {} 个，待建立 {} 个。",
        org.name,
        proposed.len(),
        proposed.len() - missing.len(),
        missing.len()
    );
    for p in &proposed {
        let judicial = args.judicial.contains(&p.region_code);
        match &p.existing {
            Some(name) => println!("  {} {:<12} 已有：{name}", p.region_code, p.region_name),
            None if judicial => println!(
                "  {} {:<12} 建立：{}司法局党组（司法行政机关党组织）",
                p.region_code, p.region_name, p.region_name
            ),
            None => println!("  {} {:<12} 建立：{}", p.region_code, p.region_name, p.name),
        }
    }
    if args.create && !missing.is_empty() {
        let cities: Vec<NewCity> = missing
            .iter()
            .map(|p| {
                let judicial = args.judicial.contains(&p.region_code);
                NewCity {
                    region_code: p.region_code.clone(),
                    name: if judicial {
                        format!("{}司法局党组", p.region_name)
                    } else {
                        p.name.clone()
                    },
                    judicial,
                }
            })
            .collect();
        let n = services
            .cities()
            .create(Caller::Operator, OrgId(args.province), &cities)
            .await?;
        println!("已建立 {n} 个地市级党组织。");
    } else if !args.create {
        println!("加 --create 建立上面待建立的地市级党组织。");
    }
    services.db.close().await;
    Ok(())
}
