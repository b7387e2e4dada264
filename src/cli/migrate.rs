//! `dengji migrate`: bring the schema up to date.

use super::{CliResult, load_config, open};
use crate::config::Overrides;

pub async fn run(o: Overrides) -> CliResult {
    let config = load_config(&o)?;
    let services = open(&config).await?;
    println!("数据库已是最新结构：{}", services.db.url_for_display());
    services.db.close().await;
    Ok(())
}
