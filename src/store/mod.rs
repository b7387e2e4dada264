//! Persistence only: one `Db` over SQLite or PostgreSQL through sqlx's `Any` driver, with
//! portable SQL (`$n` placeholders, text dates, integer flags). Returns domain-shaped rows and
//! its own error, never HTTP types. Every list function takes a [`Scope`](crate::authz::Scope).

pub mod accountability;
pub mod activation;
pub mod analysis;
pub mod approvals;
pub mod audit;
pub mod bulk;
pub mod campaigns;
pub mod cases;
pub mod changes;
pub mod check;
pub mod commendations;
pub mod copy;
pub mod divisions;
pub mod factors;
pub mod firms;
pub mod imports;
pub mod licensing;
pub mod members;
pub mod notifications;
pub mod org_registrations;
pub mod orgs;
pub mod packages;
pub mod registrations;
pub mod reviews;
pub mod roster;
pub mod samples;
pub mod sessions;
pub mod sql;
pub mod summary;
pub mod survey;
pub mod tallies;
pub mod throttle;
pub mod transfers;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection, Executor};

pub use sql::Sql;

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("数据库地址无法识别：{0}（应以 sqlite:// 或 postgres:// 开头）")]
    UnknownScheme(String),
    #[error("无法连接数据库 {url}：{reason}")]
    Unreachable { url: String, reason: String },
    #[error("数据库迁移失败：{0}")]
    Migrate(String),
    #[error("记录重复：{0}")]
    Duplicate(String),
    #[error("记录已被他人修改")]
    Conflict,
    #[error("数据不一致：{0}")]
    Corrupt(String),
    /// No connection came free in time (every one waited on a long write).
    #[error("系统正忙（数据库繁忙），请稍后再试")]
    Busy,
    /// The connection to the database went while working (the server restarted, the network
    /// dropped): an open transaction is rolled back by the server, but a connection lost
    /// during the commit leaves it unknown whether it landed, so the message asks to look.
    /// The pool reconnects for the next request.
    #[error("暂时无法访问数据库，请稍后刷新页面，确认刚才的操作是否已经保存")]
    Lost,
    #[error("数据库错误：{0}")]
    Database(#[source] sqlx::Error),
}

/// An update guarded by a version (or a state): `Conflict` unless it changed exactly one row
/// (somebody else acted first).
pub(crate) fn changed_one(done: &sqlx::any::AnyQueryResult) -> StoreResult<()> {
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

/// A workflow state read from a row (`parse` of the state's type), or `Corrupt` naming it.
pub(crate) fn state_of<T>(code: &str, parse: impl Fn(&str) -> Option<T>) -> StoreResult<T> {
    parse(code).ok_or_else(|| StoreError::Corrupt(format!("未知状态 {code}")))
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return Self::Duplicate(db.constraint().unwrap_or("unique").to_owned());
        }
        if matches!(e, sqlx::Error::PoolTimedOut) {
            return Self::Busy;
        }
        if connection_lost(&e) {
            return Self::Lost;
        }
        Self::Database(e)
    }
}

/// Whether `e` says the database connection is gone rather than that the statement was
/// wrong: an I/O error, a closed pool or connection, or PostgreSQL's connection-exception
/// (SQLSTATE class 08) and operator-intervention shutdown codes (57P01–57P03).
fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The database handle the whole application shares; cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    /// Where write transactions come from. SQLite has one writer at a time: its own small
    /// pool queues them, so writers waiting for the lock never hold the readers' connections.
    /// On PostgreSQL the same pool as `pool`.
    writer: AnyPool,
    /// Streaming replicas of a PostgreSQL primary ([`Db::attach_replicas`]), taken in turn by
    /// [`Db::acquire_read`].
    replicas: std::sync::Arc<Replicas>,
    backend: Backend,
    url_for_display: String,
}

#[derive(Debug, Default)]
struct Replicas {
    pools: Vec<(AnyPool, String)>,
    next: std::sync::atomic::AtomicUsize,
}

tokio::task_local! {
    /// Set around a request whose reads must see the caller's own latest writes (the web
    /// layer sets it for a moment after each of the user's writes): [`Db::acquire_read`] then
    /// reads from the primary.
    static READ_PRIMARY: ();
}

/// Run `f` with every [`Db::acquire_read`] in it reading from the primary.
pub async fn reading_primary<F: std::future::Future>(f: F) -> F::Output {
    READ_PRIMARY.scope((), f).await
}

/// A task this server may run alone among several (see [`Db::try_exclusive`]).
pub struct Exclusive {
    tx: Option<sqlx::Transaction<'static, sqlx::Any>>,
}

impl Exclusive {
    /// Let another server take the task.
    pub async fn release(self) -> StoreResult<()> {
        if let Some(tx) = self.tx {
            tx.rollback().await?;
        }
        Ok(())
    }
}

/// A database URL with its password hidden, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The file of an `sqlite:` URL (none for an in-memory database).
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let path = rest.trim_start_matches("//");
    let path = path.split('?').next().unwrap_or(path);
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// Remove an SQLite database's journals (`-wal`, `-shm`) and, with `and_file`, the database
/// file itself; what is not there is no error.
pub fn remove_sqlite_files(db: &std::path::Path, and_file: bool) {
    let suffixes: &[&str] = if and_file {
        &["", "-wal", "-shm"]
    } else {
        &["-wal", "-shm"]
    };
    for suffix in suffixes {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(std::path::PathBuf::from(p));
    }
}

/// Decide the backend from the URL's scheme; anything else is refused.
pub fn backend_of(url: &str) -> StoreResult<Backend> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" if url.starts_with("sqlite:") && url.len() > "sqlite:".len() => {
            Ok(Backend::Sqlite)
        }
        "postgres" | "postgresql" if url.contains("://") => Ok(Backend::Postgres),
        _ => Err(StoreError::UnknownScheme(redact_url(url))),
    }
}

impl Db {
    /// Connect (creating an SQLite file if needed, never a PostgreSQL database) and check the
    /// connection works. Migrations are separate: see [`Db::migrate`].
    pub async fn connect(url: &str) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(url)?;
        let url_for_display = redact_url(url);
        let unreachable = |e: sqlx::Error| StoreError::Unreachable {
            url: url_for_display.clone(),
            reason: e.to_string(),
        };
        if backend == Backend::Sqlite
            && let Some(path) = sqlite_file(url)
        {
            // Owner-only before SQLite opens it (it then gives its journals the same mode).
            crate::private_file::ensure(&path).map_err(|e| StoreError::Unreachable {
                url: url_for_display.clone(),
                reason: e.to_string(),
            })?;
        }
        let full_url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&full_url)
            .map_err(|e| StoreError::Unreachable {
                url: url_for_display.clone(),
                reason: e.to_string(),
            })?
            // Statements carry personal data in their arguments' neighbourhood; never log them.
            .disable_statement_logging();
        let pool_options = match backend {
            Backend::Sqlite => AnyPoolOptions::new()
                .max_connections(16)
                .after_connect(|conn, _| Box::pin(sqlite_setup(conn))),
            // JIT compilation costs hundreds of milliseconds and pays off only for long
            // analytical queries; every page query here is short.
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("SET jit = off").await?;
                            Ok(())
                        })
                    })
            }
        };
        // SQLite readers may wait behind writers' connections for a while; a PostgreSQL
        // server that does not answer is reported soon.
        let wait = match backend {
            Backend::Sqlite => Duration::from_secs(30),
            Backend::Postgres => Duration::from_secs(8),
        };
        let pool = pool_options
            .acquire_timeout(wait)
            .connect_with(options.clone())
            .await
            .map_err(unreachable)?;
        let writer = match backend {
            Backend::Sqlite => {
                // WAL is a property of the file: set once, kept across connections.
                sqlx::query("PRAGMA journal_mode = WAL")
                    .fetch_all(&pool)
                    .await
                    .map_err(unreachable)?;
                AnyPoolOptions::new()
                    .max_connections(2)
                    .after_connect(|conn, _| Box::pin(sqlite_setup(conn)))
                    // A writer waits for the one before it: the longest write is an import.
                    .acquire_timeout(Duration::from_secs(120))
                    .connect_with(options)
                    .await
                    .map_err(unreachable)?
            }
            Backend::Postgres => pool.clone(),
        };
        Ok(Self {
            pool,
            writer,
            replicas: std::sync::Arc::default(),
            backend,
            url_for_display,
        })
    }

    /// Read the pages that may lag a moment (lists, summaries, cockpits, exports) from these
    /// streaming replicas of the PostgreSQL primary, in turn. Each is connected to now, so a
    /// wrong address is reported at start; one that stops answering later is passed over for
    /// the primary (logged).
    pub async fn attach_replicas(&mut self, urls: &[String]) -> StoreResult<()> {
        if urls.is_empty() {
            return Ok(());
        }
        if self.backend != Backend::Postgres {
            return Err(StoreError::Unreachable {
                url: urls
                    .iter()
                    .map(|u| redact_url(u))
                    .collect::<Vec<_>>()
                    .join(", "),
                reason: "只读副本（DENGJI_REPLICA_URL）仅用于 PostgreSQL 主库".into(),
            });
        }
        let mut pools = Vec::new();
        for url in urls {
            let shown = redact_url(url);
            if !matches!(backend_of(url), Ok(Backend::Postgres)) {
                return Err(StoreError::Unreachable {
                    url: shown,
                    reason: "只读副本应为 PostgreSQL 数据库地址（postgres://…）".into(),
                });
            }
            let unreachable = |e: sqlx::Error| StoreError::Unreachable {
                url: shown.clone(),
                reason: e.to_string(),
            };
            let options = AnyConnectOptions::from_str(url)
                .map_err(unreachable)?
                .disable_statement_logging();
            let pool = AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(3))
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("SET jit = off").await?;
                        Ok(())
                    })
                })
                .connect_with(options)
                .await
                .map_err(unreachable)?;
            pools.push((pool, shown));
        }
        self.replicas = std::sync::Arc::new(Replicas {
            pools,
            next: std::sync::atomic::AtomicUsize::new(0),
        });
        Ok(())
    }

    /// How many replicas [`Db::acquire_read`] takes turns over.
    pub fn replica_count(&self) -> usize {
        self.replicas.pools.len()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The right to run one task (`key`) while other servers on the same database run too
    /// (several `dengji serve` behind a load balancer): on PostgreSQL a transaction-scoped
    /// advisory lock, held until [`Exclusive::release`] or until the guard is dropped (the
    /// transaction is rolled back) or the server dies; `None` when another server holds it.
    /// SQLite serves from one machine and its writes take turns anyway: always granted.
    pub async fn try_exclusive(&self, key: i64) -> StoreResult<Option<Exclusive>> {
        match self.backend {
            Backend::Sqlite => Ok(Some(Exclusive { tx: None })),
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await?;
                Ok(got.then_some(Exclusive { tx: Some(tx) }))
            }
        }
    }

    pub fn url_for_display(&self) -> &str {
        &self.url_for_display
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Apply the migrations of this backend and load the shipped reference data.
    pub async fn migrate(&self) -> StoreResult<()> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migrate(e.to_string()))?;
        let mut conn = self.pool.acquire().await?;
        divisions::seed(&mut conn).await?;
        drop(conn);
        // Events older than the hash chain join it once (a no-op afterwards).
        let mut tx = self.begin().await?;
        let sealed = audit::seal_unchained(&mut tx).await?;
        tx.commit().await?;
        if sealed > 0 {
            tracing::info!(sealed, "audit events sealed into the hash chain");
        }
        // The composition tallies count as of the latest campaign's cut-off (migration 0029):
        // recounted once after the migration or a restore from an older version.
        let mut tx = self.begin().await?;
        if analysis::ensure_composition(&mut tx, self.backend).await? {
            tracing::info!("composition tallies recounted");
        }
        tx.commit().await?;
        Ok(())
    }

    /// The migrations this binary knows and how many of them the database has applied
    /// (`None`: never migrated — no bookkeeping table), without applying anything.
    pub async fn migration_status(&self) -> StoreResult<(usize, Option<usize>)> {
        use sqlx::Row as _;
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        let known: Vec<i64> = migrator.iter().map(|m| m.version).collect();
        let applied = sqlx::query("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&self.pool)
            .await;
        let Ok(rows) = applied else {
            return Ok((known.len(), None));
        };
        let mut n = 0;
        for r in rows {
            let v: i64 = r.try_get("version")?;
            n += usize::from(known.contains(&v));
        }
        Ok((known.len(), Some(n)))
    }

    /// A write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, taking the write lock
    /// at once: a deferred transaction that reads first and writes later fails with
    /// `SQLITE_BUSY_SNAPSHOT` (517) when another connection committed in between, and no busy
    /// timeout can wait that out; an immediate one waits (up to `busy_timeout`) for the lock
    /// instead, and what it reads stays true until its commit. Every service transaction
    /// writes (at least its audit event), so this is right for all of them. PostgreSQL needs
    /// nothing: row locks and unique indexes settle its conflicts.
    pub async fn begin(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.writer.begin().await?,
        })
    }

    /// A write transaction on a connection already held (see [`Db::begin`]).
    pub async fn begin_on<'c>(
        &self,
        conn: &'c mut AnyConnection,
    ) -> StoreResult<sqlx::Transaction<'c, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => conn.begin().await?,
        })
    }

    pub async fn acquire(&self) -> StoreResult<sqlx::pool::PoolConnection<sqlx::Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// A connection for a read-only page that may lag the primary by a moment: from the next
    /// replica when there are any ([`Db::attach_replicas`]) and the request is not inside
    /// [`reading_primary`]; from the primary otherwise, and when the replica does not answer.
    pub async fn acquire_read(&self) -> StoreResult<sqlx::pool::PoolConnection<sqlx::Any>> {
        let pools = &self.replicas.pools;
        if pools.is_empty() || READ_PRIMARY.try_with(|_| ()).is_ok() {
            return self.acquire().await;
        }
        let i = self
            .replicas
            .next
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            % pools.len();
        let (pool, shown) = &pools[i];
        match pool.acquire().await {
            Ok(conn) => Ok(conn),
            Err(e) => {
                tracing::warn!(replica = %shown, error = %e, "replica unavailable; reading from the primary");
                self.acquire().await
            }
        }
    }

    /// A connection for a long write transaction started with [`Db::begin_on`] (imports, the
    /// demo), from the writers' pool.
    pub async fn acquire_writer(&self) -> StoreResult<sqlx::pool::PoolConnection<sqlx::Any>> {
        Ok(self.writer.acquire().await?)
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    /// After rows were inserted with explicit ids, move PostgreSQL's identity sequences past
    /// them (SQLite needs nothing).
    pub async fn reset_sequences(&self, conn: &mut AnyConnection) -> StoreResult<()> {
        if self.backend == Backend::Postgres {
            for table in [
                "orgs",
                "firms",
                "members",
                "users",
                "campaigns",
                "audit_events",
            ] {
                let sql = format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&mut *conn)
                    .await?;
            }
        }
        Ok(())
    }

    /// Give this connection a large page cache for a bulk load (SQLite keeps a big
    /// transaction's dirty index pages in memory instead of re-reading them from the WAL), or
    /// put the default back with `false`. PostgreSQL needs nothing.
    pub async fn bulk_load_mode(&self, conn: &mut AnyConnection, on: bool) -> StoreResult<()> {
        if self.backend == Backend::Sqlite {
            // Statement journals (one per multi-row INSERT) go to memory, not to a temp file.
            // No automatic checkpoint at the commit: see `checkpoint_soon`.
            let pragmas = if on {
                [
                    "PRAGMA cache_size = -1000000",
                    "PRAGMA temp_store = MEMORY",
                    "PRAGMA wal_autocheckpoint = 0",
                ]
            } else {
                [
                    "PRAGMA cache_size = -2000",
                    "PRAGMA temp_store = DEFAULT",
                    "PRAGMA wal_autocheckpoint = 1000",
                ]
            };
            for pragma in pragmas {
                conn.execute(pragma).await?;
            }
        }
        Ok(())
    }

    /// After a bulk load on SQLite: copy the pages it left in the write-ahead log into the
    /// database in the background (a passive checkpoint never blocks readers or writers). If
    /// the process ends first, the next connection to the file does it.
    pub fn checkpoint_soon(&self) {
        if self.backend != Backend::Sqlite {
            return;
        }
        let db = self.clone();
        tokio::spawn(async move {
            if let Err(e) = db.checkpoint().await {
                tracing::warn!(error = %e, "checkpoint after bulk load failed");
            }
        });
    }

    /// Copy what the write-ahead log holds into the SQLite database file now (passive: readers
    /// and writers go on). Nothing to do on PostgreSQL.
    pub async fn checkpoint(&self) -> StoreResult<()> {
        if self.backend == Backend::Sqlite {
            let started = std::time::Instant::now();
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_all(&self.pool)
                .await?;
            tracing::debug!(elapsed = ?started.elapsed(), "checkpoint");
        }
        Ok(())
    }

    /// Refresh the planner's statistics after a bulk load (PostgreSQL; SQLite plans well
    /// without them here).
    pub async fn analyze(&self) -> StoreResult<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("ANALYZE orgs, firms, members, users, divisions")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// PostgreSQL: fresh planner statistics of the campaign's records after a bulk load (as
    /// autovacuum would gather a while later). Never on tables still empty: plans made for an
    /// empty table (cached in the tally triggers) turn a later bulk insert quadratic.
    pub async fn analyze_campaign_records(&self) -> StoreResult<()> {
        if self.backend == Backend::Postgres {
            sqlx::query(
                "ANALYZE registrations, registration_reviews, cases, samples, sample_items, \
                 sample_strata",
            )
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// A consistent copy of the live database. SQLite: `VACUUM INTO` the given file.
    pub async fn backup_sqlite(&self, dest: &str) -> StoreResult<()> {
        let mut conn = self.acquire().await?;
        sqlx::query("VACUUM INTO $1")
            .bind(dest.to_owned())
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    pub async fn ping(&self) -> StoreResult<()> {
        let mut conn = self.acquire().await?;
        conn.ping().await?;
        Ok(())
    }
}

/// Every SQLite connection's settings. The busy timeout is long enough to wait out the
/// longest write transaction (a 200,000-row import).
async fn sqlite_setup(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    conn.execute("PRAGMA busy_timeout = 60000").await?;
    conn.execute("PRAGMA foreign_keys = ON").await?;
    conn.execute("PRAGMA synchronous = NORMAL").await?;
    // Reads go through a shared memory map of the file (the operating system's page cache)
    // instead of each connection's own 2 MB page cache: sixteen readers of a national
    // database no longer re-read the same pages into sixteen caches (issue 20). Up to 4 GiB of
    // the file is mapped; beyond that SQLite reads as before.
    conn.execute("PRAGMA mmap_size = 4294967296").await?;
    Ok(())
}

/// Now, as unix seconds (one of the two places that read the clock; see clippy.toml).
#[allow(clippy::disallowed_methods)]
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(backend_of("sqlite://dengji.db").unwrap(), Backend::Sqlite);
        assert_eq!(backend_of("sqlite:dengji.db").unwrap(), Backend::Sqlite);
        assert_eq!(backend_of("postgres://a@b/c").unwrap(), Backend::Postgres);
        assert_eq!(backend_of("postgresql://a@b/c").unwrap(), Backend::Postgres);
        for bad in [
            "mysql://x",
            "dengji.db",
            "",
            "sqlite:",
            "postgres:x",
            "http://x",
        ] {
            assert!(
                matches!(backend_of(bad), Err(StoreError::UnknownScheme(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_lost_connection_is_not_a_database_error() {
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(matches!(
            StoreError::from(sqlx::Error::Io(reset)),
            StoreError::Lost
        ));
        assert!(matches!(
            StoreError::from(sqlx::Error::PoolClosed),
            StoreError::Lost
        ));
        assert!(matches!(
            StoreError::from(sqlx::Error::PoolTimedOut),
            StoreError::Busy
        ));
        assert!(matches!(
            StoreError::from(sqlx::Error::RowNotFound),
            StoreError::Database(_)
        ));
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact_url("postgres://app:secret@127.0.0.1/db"),
            "postgres://app:***@127.0.0.1/db"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
