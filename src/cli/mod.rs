//! The command line: `main` parses and dispatches; one file per subcommand.

mod audit;
mod backup;
mod bench;
mod bench_audit;
mod bench_changes;
mod bench_exchange;
mod bench_import;
mod bench_load;
mod bench_roster;
mod bench_sample;
mod campaign;
mod check;
mod cities;
mod demo;
mod doctor;
mod exchange;
mod export;
mod import;
mod migrate;
mod migrate_data;
mod restore;
mod sample;
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
    Check(check::Args),
    /// 把一个数据库的全部数据复制到一个空库（如从 SQLite 迁移到 PostgreSQL），并以内容摘要核对
    MigrateData(migrate_data::Args),
    /// 部署检查：数据库与迁移、密钥文件、文件权限、安全 Cookie、磁盘空间、备份时间、时钟、PostgreSQL 设置
    Doctor(doctor::Args),
    /// 从备份恢复数据库（SQLite 备份文件或 pg_dump 文件），先核对密钥；默认只恢复到空库
    Restore(restore::Args),
    /// 性能基准：在演示数据上测量各页面的服务器处理时间
    Bench(bench::Args),
    /// 导出汇总表（附件4/5/6）、登记表名册（附件1/2/3）和律师事务所、党组织名册为 Excel 或 CSV
    Export(export::Args),
    /// 批量导入党员名单（附件1/附件2，或律师和工作人员混合名单）、律师事务所名册、党组织名册（.xlsx 或 .csv）：预检、导入、撤销
    Import(import::Args),
    /// 登记核查工作：开展、查看、设置各级截止日期、结束、记录逾期
    #[command(subcommand)]
    Campaign(campaign::Command),
    /// 抽查核验：分层随机抽样、导出报告、按种子复核
    #[command(subcommand)]
    Sample(sample::Command),
    /// 审计日志：校验防篡改哈希链、写检查点、按导出编号追查
    #[command(subcommand)]
    Audit(audit::Command),
    /// 与全国律师综合管理系统交换：载入律师和律师事务所名册、按节点核对并导出
    #[command(subcommand)]
    Exchange(exchange::Command),
}

/// A refusal (`CliError::Refused`) worded as by `format!`.
macro_rules! refused {
    ($($t:tt)*) => {
        $crate::cli::CliError::Refused(format!($($t)*))
    };
}
pub(crate) use refused;

/// A command's failure, printed in Chinese on standard error, with its exit status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    /// The work was refused (wrong input, a rule, the state of the records): exit status 1.
    #[error("{0}")]
    Refused(String),
    /// The command was given wrongly (missing or contradictory options, a bad config): 2.
    #[error("{0}")]
    Usage(String),
    /// The database or a file could not be reached, or the system is busy: 3.
    #[error("{0}")]
    Unavailable(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Refused(_) => 1,
            Self::Usage(_) => 2,
            Self::Unavailable(_) => 3,
        }
    }
}

impl From<String> for CliError {
    fn from(m: String) -> Self {
        Self::Refused(m)
    }
}

impl From<&str> for CliError {
    fn from(m: &str) -> Self {
        Self::Refused(m.to_owned())
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<crate::store::StoreError> for CliError {
    fn from(e: crate::store::StoreError) -> Self {
        describe(e.into())
    }
}

impl From<sqlx::Error> for CliError {
    fn from(e: sqlx::Error) -> Self {
        crate::store::StoreError::from(e).into()
    }
}

impl From<crate::service::ServiceError> for CliError {
    fn from(e: crate::service::ServiceError) -> Self {
        describe(e)
    }
}

pub type CliResult = Result<(), CliError>;

/// A service refusal as one line: every field and its reason; the database out of reach or
/// busy as unavailable.
pub(crate) fn describe(e: crate::service::ServiceError) -> CliError {
    use crate::service::ServiceError as E;
    use crate::store::StoreError as S;
    match e {
        E::Invalid(list) => CliError::Refused(
            list.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("；"),
        ),
        E::Store(
            s @ (S::Unreachable { .. } | S::Busy | S::Lost | S::Migrate(_) | S::UnknownScheme(_)),
        ) => CliError::Unavailable(s.to_string()),
        E::Busy(m) | E::Failed(m) => CliError::Unavailable(m),
        other => CliError::Refused(other.to_string()),
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
        Err(e) => {
            eprintln!("错误：{e}");
            ExitCode::from(e.exit_code())
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
        Command::Check(args) => check::run(overrides, args).await,
        Command::MigrateData(args) => migrate_data::run(args).await,
        Command::Restore(args) => restore::run(overrides, args).await,
        Command::Doctor(args) => doctor::run(overrides, args).await,
        Command::Bench(args) => bench::run(overrides, args).await,
        Command::Campaign(cmd) => campaign::run(overrides, cmd).await,
        Command::Export(args) => export::run(overrides, args).await,
        Command::Import(args) => import::run(overrides, args).await,
        Command::Sample(cmd) => sample::run(overrides, cmd).await,
        Command::Audit(cmd) => audit::run(overrides, cmd).await,
        Command::Exchange(cmd) => exchange::run(overrides, cmd).await,
    }
}

/// Connect, migrate, load the keys and make sure the top of the tree exists.
pub async fn open(config: &Config) -> Result<Services, CliError> {
    let unavailable = |e: &dyn std::fmt::Display| CliError::Unavailable(e.to_string());
    let db = Db::connect(&config.database_url)
        .await
        .map_err(|e| unavailable(&e))?;
    db.migrate().await.map_err(|e| unavailable(&e))?;
    let (keys, created) = Keys::load_or_create(&config.key_file).map_err(|e| unavailable(&e))?;
    if created {
        tracing::warn!(
            key_file = %config.key_file.display(),
            "created a new master key for ID-number encryption; back it up with the database"
        );
    }
    crate::service::setup::ensure_top_of_tree(&db).await?;
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
            csv_watermark: config.csv_watermark,
            idle_minutes: config.idle_minutes,
        },
    ))
}

pub fn load_config(o: &Overrides) -> Result<Config, CliError> {
    Config::load(o).map_err(|e| CliError::Usage(e.to_string()))
}
