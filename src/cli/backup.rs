//! `dengji backup`: a consistent copy of the live database.

use std::path::PathBuf;

use super::{CliResult, load_config};
use crate::config::Overrides;
use crate::store::{Backend, Db, redact_url};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// 备份文件路径（不得已存在）
    #[arg(long, short)]
    output: PathBuf,
    /// PostgreSQL：只打印 pg_dump 命令，不执行
    #[arg(long)]
    print_only: bool,
}

pub async fn run(o: Overrides, args: Args) -> CliResult {
    let config = load_config(&o)?;
    if args.output.exists() {
        return Err(super::refused!(
            "备份文件 {} 已存在，请换一个文件名",
            args.output.display()
        ));
    }
    let db = Db::connect(&config.database_url).await?;
    // The copy holds every ID number: readable by its owner only. SQLite writes into the
    // empty file; pg_dump truncates it and keeps its mode.
    let private = || {
        crate::private_file::create_new(&args.output)
            .map(drop)
            .map_err(|e| format!("无法创建备份文件 {}：{e}", args.output.display()))
    };
    match db.backend() {
        Backend::Sqlite => {
            private()?;
            let dest = args.output.to_string_lossy().to_string();
            db.backup_sqlite(&dest).await?;
            db.close().await;
            println!(
                "已备份到 {}（请同时妥善保管密钥文件 {}）",
                dest,
                config.key_file.display()
            );
            Ok(())
        }
        Backend::Postgres => {
            db.close().await;
            let shown = format!(
                "pg_dump --format=custom --file={} --dbname='{}'",
                args.output.display(),
                redact_url(&config.database_url)
            );
            if args.print_only {
                println!("{shown}");
                return Ok(());
            }
            private()?;
            let status = std::process::Command::new("pg_dump")
                .arg("--format=custom")
                .arg(format!("--file={}", args.output.display()))
                .arg(format!("--dbname={}", config.database_url))
                .status()
                .map_err(|e| format!("无法运行 pg_dump（{e}）；请手动执行：{shown}"))?;
            if !status.success() {
                return Err(super::refused!("pg_dump 失败（{status}）；命令：{shown}"));
            }
            println!(
                "已备份到 {}（请同时妥善保管密钥文件 {}）",
                args.output.display(),
                config.key_file.display()
            );
            Ok(())
        }
    }
}
