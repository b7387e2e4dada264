//! `dengji check`: verify the stored data's invariants and print a report.

use super::{CliResult, load_config, open};
use crate::config::Overrides;
use crate::store::check;

pub async fn run(o: Overrides) -> CliResult {
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
    drop(conn);
    services.db.close().await;
    if bad > 0 {
        return Err(super::refused!("发现 {bad} 类数据问题，详见上文"));
    }
    println!("全部 {} 项检查通过。", findings.len());
    Ok(())
}
