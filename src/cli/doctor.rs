//! `dengji doctor`: look over a deployment and say, in Chinese, what to fix — the database
//! and its migrations, the key file and whether it opens the data, file modes, cookies behind
//! TLS, disk space, database size, the newest backup, the clock, and PostgreSQL's settings.

use std::path::{Path, PathBuf};

use sqlx::Row;

use super::{CliResult, load_config};
use crate::config::Overrides;
use crate::crypto::Keys;
use crate::store::{Backend, Db, sqlite_file};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// 备份目录（检查最新备份的时间；默认 /var/backups/dengji，不存在则不检查）
    #[arg(long)]
    backups: Option<PathBuf>,
    /// 最新备份最多可以是多少小时以前
    #[arg(long, default_value_t = 26)]
    backup_hours: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Ok,
    Note,
    Problem,
}

#[derive(Default)]
struct Report {
    lines: Vec<(Level, String, String)>,
}

impl Report {
    fn ok(&mut self, what: &str, said: impl Into<String>) {
        self.lines.push((Level::Ok, what.to_owned(), said.into()));
    }
    fn note(&mut self, what: &str, fix: impl Into<String>) {
        self.lines.push((Level::Note, what.to_owned(), fix.into()));
    }
    fn problem(&mut self, what: &str, fix: impl Into<String>) {
        self.lines
            .push((Level::Problem, what.to_owned(), fix.into()));
    }
    fn worst(&self) -> Level {
        self.lines.iter().map(|l| l.0).max().unwrap_or(Level::Ok)
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn mode(_: &Path) -> Option<u32> {
    None
}

fn file_mode(r: &mut Report, what: &str, path: &Path) {
    match mode(path) {
        Some(m) if m & 0o077 != 0 => r.problem(
            what,
            format!(
                "{} 的权限是 {m:o}，其他用户可以读取；请执行 chmod 600 {}",
                path.display(),
                path.display()
            ),
        ),
        Some(_) => r.ok(what, format!("{} 仅所有者可读写", path.display())),
        None => {}
    }
}

/// Free and total bytes of the file system holding `path` (`df -Pk`).
fn disk(path: &Path) -> Option<(u64, u64)> {
    let dir = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    };
    let out = std::process::Command::new("df")
        .arg("-Pk")
        .arg(&dir)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().nth(1)?;
    let cols: Vec<&str> = line.split_whitespace().collect();
    let total: u64 = cols.get(1)?.parse().ok()?;
    let free: u64 = cols.get(3)?.parse().ok()?;
    Some((free * 1024, total * 1024))
}

fn gib(bytes: u64) -> String {
    if bytes < 1 << 30 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
    } else {
        format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
    }
}

fn check_disk(r: &mut Report, path: &Path, size: Option<u64>) {
    let Some((free, total)) = disk(path) else {
        r.note("磁盘空间", "无法读取磁盘空间（df 不可用）");
        return;
    };
    let size = size.unwrap_or(0);
    // A backup, an import and VACUUM each want about the database's size again.
    if free < (size * 2).max(1 << 30) {
        r.problem(
            "磁盘空间",
            format!(
                "数据所在磁盘仅剩 {}（共 {}）；备份、导入和整理各需要约一倍数据库大小的空间，请扩容或清理",
                gib(free),
                gib(total)
            ),
        );
    } else {
        r.ok(
            "磁盘空间",
            format!("剩余 {}（共 {}）", gib(free), gib(total)),
        );
    }
}

fn newest_backup(dir: &Path) -> Option<(PathBuf, std::time::SystemTime)> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            (m.is_file() && m.len() > 0).then(|| (e.path(), m.modified().ok()))
        })
        .filter_map(|(p, t)| Some((p, t?)))
        .max_by_key(|(_, t)| *t)
}

pub async fn run(o: Overrides, args: Args) -> CliResult {
    let config = load_config(&o)?;
    let mut r = Report::default();
    println!("dengji {} 部署检查", env!("CARGO_PKG_VERSION"));
    println!("数据库：{}", crate::store::redact_url(&config.database_url));

    // The key file, before the database: without it nothing personal can be read.
    let keys = match std::fs::read_to_string(&config.key_file) {
        Ok(text) => match Keys::from_hex(&text) {
            Ok(k) => {
                file_mode(&mut r, "密钥文件权限", &config.key_file);
                Some(k)
            }
            Err(e) => {
                r.problem("密钥文件", format!("{}：{e}", config.key_file.display()));
                None
            }
        },
        Err(e) => {
            r.problem(
                "密钥文件",
                format!(
                    "{} 无法读取（{e}）；请确认 key_file 设置指向备份时的密钥文件",
                    config.key_file.display()
                ),
            );
            None
        }
    };

    let missing_file = sqlite_file(&config.database_url).filter(|p| !p.exists());
    let db = if let Some(path) = missing_file {
        // Connecting would create an empty database: say so instead.
        r.problem(
            "数据库连接",
            format!(
                "SQLite 数据库文件 {} 不存在；请检查 database_url，或执行 dengji migrate 新建",
                path.display()
            ),
        );
        None
    } else {
        match Db::connect(&config.database_url).await {
            Ok(db) => {
                r.ok("数据库连接", "可以连接");
                Some(db)
            }
            Err(e) => {
                r.problem("数据库连接", e.to_string());
                None
            }
        }
    };
    if let Some(db) = &db {
        database(&mut r, db, keys.as_ref(), &config).await;
    }

    // Cookies: behind a TLS proxy they must be marked Secure.
    let public = !config.listen.ip().is_loopback();
    if !config.secure_cookies && (public || !config.trusted_proxies.is_empty()) {
        r.problem(
            "安全 Cookie",
            "服务经反向代理或在非本机地址上提供，但 secure_cookies 未开启；启用 HTTPS 后请在配置中设置 secure_cookies = true",
        );
    } else if config.secure_cookies {
        r.ok("安全 Cookie", "已开启（须经 HTTPS 访问）");
    } else {
        r.note(
            "安全 Cookie",
            "只在本机监听，未开启 secure_cookies；正式部署经 HTTPS 反向代理时请开启",
        );
    }
    if public && config.trusted_proxies.is_empty() {
        r.note(
            "监听地址",
            format!(
                "监听 {}（非本机地址）；建议只监听 127.0.0.1，由 nginx 提供 HTTPS（见 deploy/nginx.conf）",
                config.listen
            ),
        );
    }

    // The newest backup.
    let dir = args
        .backups
        .clone()
        .unwrap_or_else(|| PathBuf::from("/var/backups/dengji"));
    if dir.is_dir() {
        match newest_backup(&dir) {
            Some((path, at)) => {
                let at = at
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                let age = (crate::store::now() - at).max(0) as u64 / 3600;
                if age > args.backup_hours {
                    r.problem(
                        "备份",
                        format!(
                            "最新备份 {} 是 {age} 小时前的；请检查备份定时任务（deploy/dengji-backup.timer）",
                            path.display()
                        ),
                    );
                } else {
                    r.ok(
                        "备份",
                        format!("最新备份 {}（{age} 小时前）", path.display()),
                    );
                }
            }
            None => r.problem(
                "备份",
                format!(
                    "备份目录 {} 中没有备份；请执行 dengji backup",
                    dir.display()
                ),
            ),
        }
    } else if args.backups.is_some() {
        r.problem("备份", format!("备份目录 {} 不存在", dir.display()));
    } else {
        r.note(
            "备份",
            "未找到备份目录 /var/backups/dengji，未检查备份时间（可用 --backups 指定）",
        );
    }

    // The clock: every rule about time is judged at dates.
    clock(&mut r, db.as_ref()).await;
    if let Some(db) = db {
        db.close().await;
    }

    for (level, what, said) in &r.lines {
        let tag = match level {
            Level::Ok => "[正常]",
            Level::Note => "[注意]",
            Level::Problem => "[问题]",
        };
        println!("  {tag} {what}：{said}");
    }
    let problems = r.lines.iter().filter(|l| l.0 == Level::Problem).count();
    match r.worst() {
        Level::Problem => Err(super::refused!(
            "发现 {problems} 个需要处理的问题，详见上文"
        )),
        Level::Note => {
            println!("没有必须处理的问题；标为“注意”的各项请酌情处理。");
            Ok(())
        }
        Level::Ok => {
            println!("全部检查正常。");
            Ok(())
        }
    }
}

async fn database(r: &mut Report, db: &Db, keys: Option<&Keys>, config: &crate::config::Config) {
    match db.migration_status().await {
        Ok((known, None)) => r.problem(
            "数据库结构",
            format!("数据库尚未建表（本版本有 {known} 个迁移）；请执行 dengji migrate"),
        ),
        Ok((known, Some(done))) if done < known => r.problem(
            "数据库结构",
            format!(
                "数据库已执行 {done} 个迁移，本版本有 {known} 个；请先备份，再执行 dengji migrate"
            ),
        ),
        Ok((known, Some(_))) => r.ok("数据库结构", format!("已是本版本的结构（{known} 个迁移）")),
        Err(e) => r.problem("数据库结构", e.to_string()),
    }
    let Ok(mut conn) = db.acquire().await else {
        return;
    };
    // The key opens the data.
    if let Some(keys) = keys {
        match sqlx::query("SELECT citizen_id_enc FROM members LIMIT 1")
            .fetch_optional(&mut *conn)
            .await
        {
            Ok(Some(row)) => match row.try_get::<Vec<u8>, _>(0) {
                Ok(enc) if keys.decrypt_id(&enc).is_ok() => {
                    r.ok("密钥与数据", "密钥可以解密库中的身份证号码");
                }
                _ => r.problem(
                    "密钥与数据",
                    "密钥文件无法解密库中的身份证号码：密钥与数据不符，请换回原来的密钥文件",
                ),
            },
            Ok(None) => r.ok("密钥与数据", "库中尚无党员记录"),
            Err(_) => {}
        }
    }
    match db.backend() {
        Backend::Sqlite => {
            if let Some(path) = sqlite_file(&config.database_url) {
                file_mode(r, "数据库文件权限", &path);
                let size = std::fs::metadata(&path).ok().map(|m| m.len());
                if let Some(s) = size {
                    r.ok("数据库大小", gib(s));
                }
                check_disk(r, &path, size);
            }
        }
        Backend::Postgres => {
            let size: Option<i64> =
                sqlx::query_scalar("SELECT pg_database_size(current_database())")
                    .fetch_one(&mut *conn)
                    .await
                    .ok();
            if let Some(s) = size {
                r.ok("数据库大小", gib(s.max(0) as u64));
            }
            postgres_settings(r, &mut conn).await;
        }
    }
    check_disk_of_key(r, &config.key_file);
}

fn check_disk_of_key(r: &mut Report, key: &Path) {
    if let Some(dir) = key.parent().filter(|d| !d.as_os_str().is_empty())
        && let Some(m) = mode(dir)
        && m & 0o002 != 0
    {
        r.problem(
            "密钥目录权限",
            format!(
                "{} 任何人可写；请执行 chmod o-w {}",
                dir.display(),
                dir.display()
            ),
        );
    }
}

async fn setting(conn: &mut sqlx::AnyConnection, name: &str) -> Option<String> {
    sqlx::query_scalar::<_, String>("SELECT setting FROM pg_settings WHERE name = $1")
        .bind(name.to_owned())
        .fetch_optional(&mut *conn)
        .await
        .ok()
        .flatten()
}

async fn postgres_settings(r: &mut Report, conn: &mut sqlx::AnyConnection) {
    for (name, want) in [("fsync", "on"), ("full_page_writes", "on")] {
        match setting(conn, name).await.as_deref() {
            Some(v) if v == want => {}
            Some(v) => r.problem(
                "PostgreSQL 设置",
                format!("{name} = {v}：断电时可能损坏数据，请设为 {want}"),
            ),
            None => {}
        }
    }
    if setting(conn, "synchronous_commit").await.as_deref() == Some("off") {
        r.note(
            "PostgreSQL 设置",
            "synchronous_commit = off：崩溃时可能丢失最后几秒已确认的写入",
        );
    }
    // shared_buffers is in 8 kB pages.
    if let Some(pages) = setting(conn, "shared_buffers")
        .await
        .and_then(|v| v.parse::<u64>().ok())
    {
        let bytes = pages * 8192;
        if bytes < 512 << 20 {
            r.note(
                "PostgreSQL 设置",
                format!(
                    "shared_buffers 只有 {} MiB；百万党员规模建议至少 1 GiB（见 deploy/postgresql.conf）",
                    bytes >> 20
                ),
            );
        } else {
            r.ok(
                "PostgreSQL 内存",
                format!("shared_buffers {} MiB", bytes >> 20),
            );
        }
    }
    if let Some(n) = setting(conn, "max_connections")
        .await
        .and_then(|v| v.parse::<u32>().ok())
        && n < 50
    {
        r.note(
            "PostgreSQL 设置",
            format!(
                "max_connections = {n}：每个 dengji 服务进程最多使用约 20 个连接，多进程部署请调高"
            ),
        );
    }
    if let Some(v) = setting(conn, "server_version_num")
        .await
        .and_then(|v| v.parse::<u32>().ok())
        && v < 130_000
    {
        r.problem("PostgreSQL 版本", "需要 PostgreSQL 13 或更新版本");
    }
}

async fn clock(r: &mut Report, db: Option<&Db>) {
    let now = crate::store::now();
    // Built in 2026: a clock before that is surely wrong.
    if now < 1_767_225_600 {
        r.problem(
            "系统时间",
            "系统时间早于 2026 年，明显有误；截止日期和逾期判断依赖时间，请校准时钟（启用 NTP）",
        );
        return;
    }
    if let Some(db) = db
        && db.backend() == Backend::Postgres
        && let Ok(mut conn) = db.acquire().await
        && let Ok(theirs) =
            sqlx::query_scalar::<_, i64>("SELECT CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)")
                .fetch_one(&mut *conn)
                .await
    {
        let drift = (theirs - now).abs();
        if drift > 5 {
            r.problem(
                "系统时间",
                format!("本机与数据库服务器的时间相差 {drift} 秒；请在两台机器上启用 NTP 校时"),
            );
            return;
        }
    }
    let synced = std::process::Command::new("timedatectl")
        .args(["show", "-p", "NTPSynchronized", "--value"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "yes");
    match synced {
        Some(false) => r.note(
            "系统时间",
            "系统时钟未与 NTP 同步；请启用 systemd-timesyncd 或 chrony",
        ),
        _ => r.ok(
            "系统时间",
            format!("北京时间 {}", crate::service::beijing_today()),
        ),
    }
}
