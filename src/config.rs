//! Configuration: an optional TOML file, overridden by `DENGJI_*` environment variables and
//! command-line flags. Passed explicitly; there is no global.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Settings as read from the optional file (every field optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database_url: Option<String>,
    /// Streaming replicas of the PostgreSQL primary that `dengji serve` reads lists,
    /// summaries, cockpits and exports from.
    pub replica_urls: Option<Vec<String>>,
    pub listen: Option<String>,
    pub key_file: Option<PathBuf>,
    pub secure_cookies: Option<bool>,
    pub session_hours: Option<i64>,
    /// Reverse proxies (IP addresses) whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Option<Vec<String>>,
    /// Failed logins from one address within 15 minutes before it is refused for 15 minutes.
    pub login_failures_per_address: Option<i64>,
    /// ID and licence numbers one user may check against the whole country per day.
    pub lookups_per_day: Option<i64>,
    /// Imports and dry runs running at once on this server.
    pub imports_at_once: Option<usize>,
    /// Start every exported CSV with a `#` line naming the export (off for importers that
    /// cannot skip a first line).
    pub csv_watermark: Option<bool>,
    /// Minutes a session may stay unused before it ends (default 120).
    pub idle_minutes: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    /// Read-only streaming replicas (PostgreSQL), empty for none.
    pub replica_urls: Vec<String>,
    pub listen: SocketAddr,
    /// File holding the 32-byte master secret (hex) for ID-number encryption.
    pub key_file: PathBuf,
    /// Mark the session cookie `Secure` (set when served behind TLS).
    pub secure_cookies: bool,
    pub session_hours: i64,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub login_failures_per_address: i64,
    pub lookups_per_day: i64,
    pub imports_at_once: usize,
    pub csv_watermark: bool,
    pub idle_minutes: i64,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://dengji.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("配置文件 {path} 无法读取：{reason}")]
    Read { path: String, reason: String },
    #[error("配置文件 {path} 格式错误：{reason}")]
    Parse { path: String, reason: String },
    #[error("监听地址无法识别：{0}（示例：127.0.0.1:8080）")]
    Listen(String),
    #[error("会话时长应在1到720小时之间")]
    SessionHours,
    #[error("trusted_proxies 中的地址无法识别：{0}（应为 IP 地址，如 127.0.0.1）")]
    Proxy(String),
    #[error("{0} 应为正整数")]
    Positive(&'static str),
}

/// Values given on the command line or in the environment (clap reads both).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub database_url: Option<String>,
    pub replica_urls: Option<Vec<String>>,
    pub listen: Option<String>,
    pub key_file: Option<PathBuf>,
    pub secure_cookies: Option<bool>,
}

/// The key file that goes with a database: beside an SQLite file, `dengji.key` otherwise.
pub fn default_key_file(database_url: &str) -> PathBuf {
    match crate::store::sqlite_file(database_url) {
        Some(db) => {
            let mut name = db.into_os_string();
            name.push(".key");
            PathBuf::from(name)
        }
        None => PathBuf::from("dengji.key"),
    }
}

impl Config {
    pub fn load(o: &Overrides) -> Result<Self, ConfigError> {
        let file = match &o.config_file {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let database_url = o
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let listen_text = o
            .listen
            .clone()
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = listen_text
            .parse()
            .map_err(|_| ConfigError::Listen(listen_text.clone()))?;
        let key_file = o
            .key_file
            .clone()
            .or(file.key_file)
            .unwrap_or_else(|| default_key_file(&database_url));
        let session_hours = file.session_hours.unwrap_or(12);
        if !(1..=720).contains(&session_hours) {
            return Err(ConfigError::SessionHours);
        }
        let trusted_proxies = file
            .trusted_proxies
            .unwrap_or_default()
            .iter()
            .map(|p| p.trim().parse().map_err(|_| ConfigError::Proxy(p.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        let positive = |v: Option<i64>, default: i64, name| match v {
            None => Ok(default),
            Some(n) if n > 0 => Ok(n),
            Some(_) => Err(ConfigError::Positive(name)),
        };
        let defaults = crate::service::Limits::default();
        let replica_urls = o
            .replica_urls
            .clone()
            .or(file.replica_urls)
            .unwrap_or_default()
            .into_iter()
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .collect();
        Ok(Self {
            database_url,
            replica_urls,
            listen,
            key_file,
            secure_cookies: o.secure_cookies.or(file.secure_cookies).unwrap_or(false),
            session_hours,
            trusted_proxies,
            login_failures_per_address: positive(
                file.login_failures_per_address,
                defaults.address_failures,
                "login_failures_per_address",
            )?,
            lookups_per_day: positive(
                file.lookups_per_day,
                defaults.lookups_per_day,
                "lookups_per_day",
            )?,
            imports_at_once: usize::try_from(positive(
                file.imports_at_once.map(|n| i64::try_from(n).unwrap_or(0)),
                2,
                "imports_at_once",
            )?)
            .unwrap_or(2),
            csv_watermark: file.csv_watermark.unwrap_or(defaults.csv_watermark),
            idle_minutes: positive(file.idle_minutes, defaults.idle_minutes, "idle_minutes")?,
        })
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c = Config::load(&Overrides::default()).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.key_file, PathBuf::from("dengji.db.key"));
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);

        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(
            &f,
            "database_url = \"postgres://a@b/c\"\nlisten = \"0.0.0.0:9000\"\n\
             replica_urls = [\"postgres://a@r1/c\", \" \"]\n",
        )
        .unwrap();
        let c = Config::load(&Overrides {
            config_file: Some(f.clone()),
            listen: Some("127.0.0.1:9001".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.database_url, "postgres://a@b/c");
        assert_eq!(c.listen.to_string(), "127.0.0.1:9001", "flag beats file");
        assert_eq!(c.key_file, PathBuf::from("dengji.key"));
        assert_eq!(
            c.replica_urls,
            ["postgres://a@r1/c"],
            "blank entries dropped"
        );

        std::fs::write(&f, "databse_url = \"x\"\n").unwrap();
        let err = Config::load(&Overrides {
            config_file: Some(f),
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(err, ConfigError::Parse { .. }));
        assert!(matches!(
            Config::load(&Overrides {
                listen: Some("nonsense".into()),
                ..Default::default()
            }),
            Err(ConfigError::Listen(_))
        ));
    }
}
