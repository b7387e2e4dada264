//! `dengji check`: verify the stored data's invariants and print a report; `--digest` prints
//! the content digest (the same for the same records on SQLite and PostgreSQL).

use super::{CliResult, load_config, open};
use crate::config::Overrides;
use crate::store::{check, copy};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// 同时计算并打印数据内容摘要（同样的数据在 SQLite 和 PostgreSQL 上摘要相同，用于核对备份恢复和数据迁移）
    #[arg(long)]
    digest: bool,
    /// 与 --digest 同用：逐表打印行数和摘要
    #[arg(long, requires = "digest")]
    tables: bool,
}

pub async fn run(o: Overrides, args: Args) -> CliResult {
    let config = load_config(&o)?;
    let services = open(&config).await?;
    let mut conn = services.db.acquire().await?;
    println!("数据库：{}", services.db.url_for_display());
    for (label, n) in check::table_counts(&mut conn).await? {
        println!("  {label}：{n}");
    }
    let findings = check::run(&mut conn).await?;
    let mut bad = 0;
    for f in &findings {
        if f.violations == 0 {
            println!("  [通过] {}", f.name);
        } else {
            bad += 1;
            println!("  [问题] {}：{} 条不符合", f.name, f.violations);
        }
    }
    if args.digest {
        let (digest, tables) = copy::digest(&mut conn, services.db.backend()).await?;
        if args.tables {
            for t in &tables {
                println!("  {} {} {}", t.table, t.rows, t.sum);
            }
        }
        println!("内容摘要：{digest}");
    }
    drop(conn);
    services.db.close().await;
    if bad > 0 {
        return Err(super::refused!("发现 {bad} 类数据问题，详见上文"));
    }
    println!("全部 {} 项检查通过。", findings.len());
    Ok(())
}
