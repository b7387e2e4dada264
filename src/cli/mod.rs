//! The command line: `main` parses and dispatches; one file per subcommand.

mod backup;
mod bench;
mod bench_import;
mod campaign;
mod check;
mod cities;
mod demo;
mod export;
mod import;
mod migrate;
mod serve;
mod setup;
mod user;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, Overrides};
use crate::crypto::Keys;
use crate::service::Services;
use crate::store::Db;

#[derive(Debug, Parser)]
#[command(
    name = "dengji",
    version,
    about = "律师行业党组织和党员基本信息登记核查系统",
    long_about = "律师行业党组织和党员基本信息登记核查系统。\n\
                  默认使用当前目录下的 SQLite 数据库 dengji.db；生产环境请用 --database-url postgres://…"
)]
pub struct Cli {
    /// 配置文件（TOML），可选
    #[arg(long, global = true, env = "DENGJI_CONFIG")]
    config: Option<PathBuf>,
    /// 数据库地址：sqlite://文件 或 postgres://用户:密码@主机/库
    #[arg(long, global = true, env = "DENGJI_DATABASE_URL")]
    database_url: Option<String>,
    /// 身份证号加密主密钥文件（默认：SQLite 数据库旁的 .key 文件）
    #[arg(long, global = true, env = "DENGJI_KEY_FILE")]
    key_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// 启动网页服务
    Serve(serve::Args),
    /// 执行数据库迁移（建表、载入行政区划、建立全国和省级节点）
    Migrate,
    /// 首次部署：建立全国管理员账号和第一项登记核查工作
    Setup(setup::Args),
    /// 按行政区划为一个省建立地市级党组织（先列出，加 --create 建立）
    Cities(cities::Args),
    /// 生成演示数据（一个完整的虚拟全国组织体系）
    Demo(demo::Args),
    /// 账号管理：添加、列出、重置密码、停用、启用
    #[command(subcommand)]
    User(user::Command),
    /// 备份数据库（SQLite：VACUUM INTO；PostgreSQL：pg_dump）
    Backup(backup::Args),
    /// 检查数据一致性（组织树、外键、路径、计数）
    Check,
    /// 性能基准：在演示数据上测量各页面的服务器处理时间
    Bench(bench::Args),
    /// 导出汇总表（附件4/5/6）为 Excel 或 CSV
    Export(export::Args),
    /// 批量导入党员（附件1/附件2 的 .xlsx 或 .csv）：预检、导入、撤销
    Import(import::Args),
    /// 登记核查工作：开展、查看、设置各级截止日期、结束、记录逾期
    #[command(subcommand)]
    Campaign(campaign::Command),
}

/// A command's failure, printed in Chinese on standard error.
pub type CliResult = Result<(), String>;

/// A service refusal as one line: every field and its reason.
pub(crate) fn describe(e: crate::service::ServiceError) -> String {
    match e {
        crate::service::ServiceError::Invalid(list) => list
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("；"),
        other => other.to_string(),
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("错误：无法启动运行时：{e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("错误：{message}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DENGJI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run(cli: Cli) -> CliResult {
    let overrides = Overrides {
        config_file: cli.config.clone(),
        database_url: cli.database_url.clone(),
        key_file: cli.key_file.clone(),
        ..Default::default()
    };
    match cli.command {
        Command::Serve(args) => serve::run(overrides, args).await,
        Command::Migrate => migrate::run(overrides).await,
        Command::Setup(args) => setup::run(overrides, args).await,
        Command::Cities(args) => cities::run(overrides, args).await,
        Command::Demo(args) => demo::run(overrides, args).await,
        Command::User(cmd) => user::run(overrides, cmd).await,
        Command::Backup(args) => backup::run(overrides, args).await,
        Command::Check => check::run(overrides).await,
        Command::Bench(args) => bench::run(overrides, args).await,
        Command::Campaign(cmd) => campaign::run(overrides, cmd).await,
        Command::Export(args) => export::run(overrides, args).await,
        Command::Import(args) => import::run(overrides, args).await,
    }
}

/// Connect, migrate, load the keys and make sure the top of the tree exists.
pub async fn open(config: &Config) -> Result<Services, String> {
    let db = Db::connect(&config.database_url)
        .await
        .map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    let (keys, created) = Keys::load_or_create(&config.key_file).map_err(|e| e.to_string())?;
    if created {
        tracing::warn!(
            key_file = %config.key_file.display(),
            "created a new master key for ID-number encryption; back it up with the database"
        );
    }
    crate::service::setup::ensure_top_of_tree(&db)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Services::new(
        db,
        keys,
        config.session_hours,
        crate::service::Limits {
            address_failures: config.login_failures_per_address,
            lookups_per_day: config.lookups_per_day,
            imports: std::sync::Arc::new(crate::service::import::Slots::new(
                config.imports_at_once,
            )),
        },
    ))
}

pub fn load_config(o: &Overrides) -> Result<Config, String> {
    Config::load(o).map_err(|e| e.to_string())
}
