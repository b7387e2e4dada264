//! `dengji restore`: put a backup made by `dengji backup` back — an SQLite backup file into an
//! SQLite or PostgreSQL database, a `pg_dump` file into PostgreSQL — after checking that the
//! configured key file opens the backup's ID numbers, and only into an empty database unless
//! `--force` is given.

use std::io::Read;
use std::path::{Path, PathBuf};

use sqlx::{Connection, Row};

use super::{CliError, CliResult, load_config};
use crate::config::Overrides;
use crate::crypto::Keys;
use crate::store::{Backend, Db, copy, redact_url, remove_sqlite_files, sqlite_file};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// 备份文件（dengji backup 生成的 SQLite 文件或 pg_dump 文件）
    #[arg(long)]
    from: PathBuf,
    /// 目标数据库已有数据时仍然覆盖（SQLite：替换数据库文件；PostgreSQL：pg_restore --clean）
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sqlite,
    PgDump,
}

fn kind_of(path: &Path) -> Result<Kind, CliError> {
    let mut head = [0u8; 16];
    let mut f = std::fs::File::open(path)
        .map_err(|e| CliError::Unavailable(format!("无法打开备份文件 {}：{e}", path.display())))?;
    let n = f.read(&mut head)?;
    if n == 16 && &head == b"SQLite format 3\0" {
        Ok(Kind::Sqlite)
    } else if n >= 5 && &head[..5] == b"PGDMP" {
        Ok(Kind::PgDump)
    } else {
        Err(super::refused!(
            "{} 不是 dengji 备份文件（既不是 SQLite 数据库，也不是 pg_dump 自定义格式文件）",
            path.display()
        ))
    }
}

/// The installation's keys, never created here: a restore with a new key could read nothing.
fn keys(path: &Path) -> Result<Keys, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        super::refused!(
            "密钥文件 {} 无法读取（{e}）：恢复必须使用备份时的密钥文件",
            path.display()
        )
    })?;
    Keys::from_hex(&text).map_err(|e| super::refused!("{e}"))
}

/// One encrypted ID number from an SQLite backup, opened read-only.
async fn sample_from_sqlite(path: &Path) -> Result<Option<Vec<u8>>, CliError> {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", path.display());
    let mut conn = sqlx::AnyConnection::connect(&url)
        .await
        .map_err(|e| super::refused!("备份文件 {} 无法打开：{e}", path.display()))?;
    let row = sqlx::query("SELECT citizen_id_enc FROM members LIMIT 1")
        .fetch_optional(&mut conn)
        .await
        .map_err(|e| super::refused!("备份文件 {} 不是 dengji 数据库：{e}", path.display()))?;
    let out = row.map(|r| r.try_get::<Vec<u8>, _>(0)).transpose();
    conn.close().await.ok();
    out.map_err(|e| super::refused!("备份文件 {} 的党员记录无法读取：{e}", path.display()))
}

/// One encrypted ID number from a `pg_dump` custom file: `pg_restore` prints the members
/// table's data as COPY text without writing anywhere.
fn sample_from_dump(path: &Path) -> Result<Option<Vec<u8>>, CliError> {
    let out = std::process::Command::new("pg_restore")
        .arg("--data-only")
        .arg("--table=members")
        .arg("--file=-")
        .arg(path)
        .output()
        .map_err(|e| CliError::Unavailable(format!("无法运行 pg_restore（{e}）")))?;
    if !out.status.success() {
        return Err(super::refused!(
            "pg_restore 无法读取备份文件 {}：{}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(enc_from_copy_text(&String::from_utf8_lossy(&out.stdout)))
}

/// The first `citizen_id_enc` of a `COPY … members (…) FROM stdin;` block.
fn enc_from_copy_text(text: &str) -> Option<Vec<u8>> {
    let mut lines = text.lines();
    let header = lines.find(|l| l.starts_with("COPY ") && l.contains("members ("))?;
    let cols = header.split_once('(')?.1.split_once(')')?.0;
    let at = cols
        .split(", ")
        .position(|c| c.trim() == "citizen_id_enc")?;
    let first = lines.next().filter(|l| *l != "\\.")?;
    let cell = first.split('\t').nth(at)?;
    hex::decode(cell.strip_prefix("\\\\x")?).ok()
}

fn check_key(keys: &Keys, sample: Option<&[u8]>) -> Result<(), CliError> {
    match sample {
        None => {
            println!("备份中没有党员记录，无需核对密钥。");
            Ok(())
        }
        Some(enc) => keys.decrypt_id(enc).map(drop).map_err(|_| {
            super::refused!(
                "配置的密钥文件与备份不符，无法解密备份中的身份证号码；未写入任何数据。\
                 请使用备份时的密钥文件"
            )
        }),
    }
}

/// Records in the target that a restore would replace (none when it does not exist yet).
async fn occupied_target(url: &str) -> Result<Vec<(&'static str, i64)>, CliError> {
    if let Some(path) = sqlite_file(url)
        && !path.exists()
    {
        return Ok(Vec::new());
    }
    let db = Db::connect(url).await?;
    let mut conn = db.acquire().await?;
    // A database never migrated has no tables: nothing to replace.
    let out = copy::occupied(&mut conn).await.unwrap_or_default();
    drop(conn);
    db.close().await;
    Ok(out)
}

pub async fn run(o: Overrides, args: Args) -> CliResult {
    let config = load_config(&o)?;
    let kind = kind_of(&args.from)?;
    let keys = keys(&config.key_file)?;
    let target = crate::store::backend_of(&config.database_url)?;
    let sample = match kind {
        Kind::Sqlite => sample_from_sqlite(&args.from).await?,
        Kind::PgDump => {
            if target != Backend::Postgres {
                return Err(super::refused!(
                    "pg_dump 备份只能恢复到 PostgreSQL 数据库；要迁移到 SQLite，请先恢复到 PostgreSQL 再用 migrate-data"
                ));
            }
            sample_from_dump(&args.from)?
        }
    };
    check_key(&keys, sample.as_deref())?;
    let occupied = occupied_target(&config.database_url).await?;
    if !occupied.is_empty() && !args.force {
        let what: Vec<String> = occupied.iter().map(|(l, n)| format!("{l} {n}")).collect();
        return Err(super::refused!(
            "目标数据库 {} 已有数据（{}），未写入任何数据；确需覆盖请加 --force",
            redact_url(&config.database_url),
            what.join("、")
        ));
    }
    match (kind, target) {
        (Kind::Sqlite, Backend::Sqlite) => {
            let path = sqlite_file(&config.database_url)
                .ok_or_else(|| super::refused!("SQLite 内存数据库不能作为恢复目标"))?;
            replace_file(&args.from, &path)?;
        }
        (Kind::Sqlite, Backend::Postgres) => {
            if !occupied.is_empty() {
                return Err(super::refused!(
                    "SQLite 备份恢复到 PostgreSQL 时，目标库必须为空（--force 不适用）"
                ));
            }
            // The backup may be of an older version: bring a private copy up to date first.
            let staged =
                std::env::temp_dir().join(format!("dengji-restore-{}.db", std::process::id()));
            let _ = std::fs::remove_file(&staged);
            replace_file(&args.from, &staged)?;
            let copied = async {
                let from = Db::connect(&format!("sqlite://{}", staged.display())).await?;
                from.migrate().await?;
                let to = Db::connect(&config.database_url).await?;
                to.migrate().await?;
                let done = super::migrate_data::copy_between(&from, &to).await;
                from.close().await;
                to.close().await;
                done
            }
            .await;
            remove_sqlite_files(&staged, true);
            copied?;
        }
        (Kind::PgDump, _) => {
            let status = std::process::Command::new("pg_restore")
                .args([
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--single-transaction",
                ])
                .arg(format!("--dbname={}", config.database_url))
                .arg(&args.from)
                .status()
                .map_err(|e| CliError::Unavailable(format!("无法运行 pg_restore（{e}）")))?;
            if !status.success() {
                return Err(super::refused!(
                    "pg_restore 失败（{status}），事务已回滚，目标库未改变"
                ));
            }
        }
    }
    // Bring the restored data to this version and prove it consistent.
    let services = super::open(&config).await?;
    let mut conn = services.db.acquire().await?;
    let findings = crate::store::check::run(&mut conn).await?;
    let bad: Vec<&str> = findings
        .iter()
        .filter(|f| f.violations > 0)
        .map(|f| f.name)
        .collect();
    let (digest, _) = copy::digest(&mut conn, services.db.backend()).await?;
    drop(conn);
    services.db.close().await;
    if !bad.is_empty() {
        return Err(super::refused!(
            "已恢复，但数据检查发现问题：{}",
            bad.join("；")
        ));
    }
    println!("已从 {} 恢复，数据检查通过。", args.from.display());
    println!("内容摘要：{digest}");
    Ok(())
}

/// Put the backup file in place of the SQLite database (and drop its journals): written beside
/// it first, then renamed, so a failure leaves the old database as it was.
fn replace_file(backup: &Path, db: &Path) -> Result<(), CliError> {
    let staged = db.with_extension("restoring");
    let _ = std::fs::remove_file(&staged);
    {
        let mut out = crate::private_file::create_new(&staged)
            .map_err(|e| format!("无法写入 {}：{e}", staged.display()))?;
        let mut input = std::fs::File::open(backup)?;
        std::io::copy(&mut input, &mut out)?;
        out.sync_all()?;
    }
    remove_sqlite_files(db, false);
    std::fs::rename(&staged, db)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::enc_from_copy_text;

    #[test]
    fn the_first_encrypted_number_is_read_from_copy_text() {
        let text = "SET x = 1;\nCOPY public.members (id, name, citizen_id_enc, org_id) FROM stdin;\n\
                    7\t张三\t\\\\x01ab02\t3\n8\t李四\t\\\\x01cd\t3\n\\.\n";
        assert_eq!(enc_from_copy_text(text), Some(vec![0x01, 0xab, 0x02]));
        let empty = "COPY public.members (id, citizen_id_enc) FROM stdin;\n\\.\n";
        assert_eq!(enc_from_copy_text(empty), None);
    }
}
