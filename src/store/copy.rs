//! The whole database as content: a digest that is the same on SQLite and PostgreSQL for the
//! same records, and a copy of every table into an empty database (`migrate-data`, `restore`).

use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use super::sql::{Arg, insert_rows};
use super::{Backend, StoreResult};

/// Tables left out of the digest and the copy: sign-in state that only lives for hours
/// (sessions, two-step tickets, throttling counters) and the bulk-load switch. Users sign in
/// again after a copy.
pub const EPHEMERAL: [&str; 4] = ["sessions", "login_tickets", "login_throttle", "tally_pause"];

/// Tables derived from the records (migrations 0007, 0027 and 0029): not copied but rebuilt
/// from the copied records by [`super::tallies::rebuild`], so the digest of a copy proves the
/// recount equal.
const DERIVED: [&str; 5] = [
    "org_tallies",
    "campaign_tallies",
    "member_grams",
    "composition_tallies",
    "composition_cuts",
];

/// How a column's values are read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Text,
    Bytes,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
}

/// Every table of the schema but the migration bookkeeping and [`EPHEMERAL`], by name.
pub async fn tables(conn: &mut AnyConnection, backend: Backend) -> StoreResult<Vec<String>> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        }
    };
    let mut out = Vec::new();
    for r in sqlx::query(sql).fetch_all(&mut *conn).await? {
        let name: String = r.try_get("name")?;
        if name != "_sqlx_migrations" && !EPHEMERAL.contains(&name.as_str()) {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

/// The columns of `table`, by name.
pub async fn columns(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &str,
) -> StoreResult<Vec<Column>> {
    let sql = match backend {
        Backend::Sqlite => "SELECT name, type AS kind FROM pragma_table_info($1)",
        Backend::Postgres => {
            "SELECT column_name::text AS name, data_type::text AS kind \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1"
        }
    };
    let mut out = Vec::new();
    for r in sqlx::query(sql)
        .bind(table.to_owned())
        .fetch_all(&mut *conn)
        .await?
    {
        let kind: String = r.try_get("kind")?;
        let kind = kind.to_ascii_lowercase();
        out.push(Column {
            name: r.try_get("name")?,
            kind: if kind.contains("int") {
                Kind::Int
            } else if kind.contains("blob") || kind.contains("bytea") {
                Kind::Bytes
            } else {
                Kind::Text
            },
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn select_all(table: &str, cols: &[Column]) -> String {
    let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
    format!("SELECT {} FROM {table}", names.join(", "))
}

fn value(r: &sqlx::any::AnyRow, i: usize, kind: Kind) -> StoreResult<Arg> {
    Ok(match kind {
        Kind::Int => match r.try_get::<Option<i64>, _>(i) {
            Ok(v) => Arg::opt_int(v),
            Err(_) => Arg::opt_int(r.try_get::<Option<i32>, _>(i)?.map(i64::from)),
        },
        Kind::Text => Arg::opt_text(r.try_get(i)?),
        Kind::Bytes => r
            .try_get::<Option<Vec<u8>>, _>(i)?
            .map_or(Arg::NullBlob, Arg::Blob),
    })
}

/// One table's part of the digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDigest {
    pub table: String,
    pub rows: i64,
    /// Hex of the sum of the rows' SHA-256 (order does not matter: databases return rows in
    /// their own order and sort text by their own collation).
    pub sum: String,
}

/// The content digest of every table that matters: per table the row count and the sum
/// (mod 2^256) of each row's SHA-256 over its column names and values; overall the SHA-256
/// of those lines. A value is hashed as its kind and its bytes (integers in decimal), so
/// equal records give equal digests on SQLite and PostgreSQL.
pub async fn digest(
    conn: &mut AnyConnection,
    backend: Backend,
) -> StoreResult<(String, Vec<TableDigest>)> {
    let mut per_table = Vec::new();
    for table in tables(conn, backend).await? {
        let cols = columns(conn, backend, &table).await?;
        let sql = select_all(&table, &cols);
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *conn);
        let mut sum = [0u64; 4];
        let mut n = 0i64;
        while let Some(r) = rows.try_next().await? {
            let mut h = Sha256::new();
            for (i, c) in cols.iter().enumerate() {
                h.update(c.name.as_bytes());
                h.update([0]);
                match value(&r, i, c.kind)? {
                    Arg::Int(v) => {
                        h.update([1]);
                        h.update(v.to_string().as_bytes());
                    }
                    Arg::Text(v) => {
                        h.update([2]);
                        h.update(v.as_bytes());
                    }
                    Arg::Blob(v) => {
                        h.update([3]);
                        h.update(&v);
                    }
                    Arg::NullInt | Arg::NullText | Arg::NullBlob => h.update([0]),
                }
                h.update([0xff]);
            }
            let d: [u8; 32] = h.finalize().into();
            add(&mut sum, &d);
            n += 1;
        }
        drop(rows);
        let mut bytes = Vec::with_capacity(32);
        for lane in sum.iter().rev() {
            bytes.extend_from_slice(&lane.to_be_bytes());
        }
        per_table.push(TableDigest {
            table,
            rows: n,
            sum: hex::encode(bytes),
        });
    }
    let mut all = Sha256::new();
    for t in &per_table {
        all.update(format!("{} {} {}\n", t.table, t.rows, t.sum).as_bytes());
    }
    Ok((hex::encode(all.finalize()), per_table))
}

/// Add a big-endian 256-bit number to a little-endian array of lanes, mod 2^256.
fn add(sum: &mut [u64; 4], d: &[u8; 32]) {
    let mut carry = 0u128;
    for (i, lane) in sum.iter_mut().enumerate() {
        let start = 32 - (i + 1) * 8;
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[start..start + 8]);
        let s = u128::from(*lane) + u128::from(u64::from_be_bytes(b)) + carry;
        *lane = s as u64;
        carry = s >> 64;
    }
}

/// What stands in the target of a copy: records that would be overwritten.
pub async fn occupied(conn: &mut AnyConnection) -> StoreResult<Vec<(&'static str, i64)>> {
    // The counts `dengji check` prints, less what a fresh installation sets up itself.
    Ok(super::check::table_counts(conn)
        .await?
        .into_iter()
        .filter(|(label, n)| *n > 0 && matches!(*label, "账号" | "党员" | "律所" | "审计事件"))
        .collect())
}

/// Rows read and written per statement batch.
const BATCH: usize = 5_000;

/// Copy every table of `from` into `to`, inside the caller's transaction on `to`, whose
/// schema is migrated and which holds no records of [`occupied`]: the rows the target's own
/// set-up wrote (divisions, the top of the tree, settings) are deleted first; foreign keys
/// are checked at commit (SQLite `defer_foreign_keys`; PostgreSQL deferrable constraints,
/// migration 0026), the derived tallies are rebuilt from the copied records and PostgreSQL's
/// identity sequences moved past the copied ids. `progress` hears (table, rows so far).
pub async fn copy_all(
    from: &mut AnyConnection,
    from_backend: Backend,
    to: &mut AnyConnection,
    to_backend: Backend,
    mut progress: impl FnMut(&str, u64),
) -> StoreResult<u64> {
    use sqlx::Executor;
    match to_backend {
        Backend::Sqlite => to.execute("PRAGMA defer_foreign_keys = ON").await?,
        Backend::Postgres => to.execute("SET CONSTRAINTS ALL DEFERRED").await?,
    };
    let source_tables = tables(from, from_backend).await?;
    let target_tables = tables(to, to_backend).await?;
    if source_tables != target_tables {
        let missing: Vec<&String> = source_tables
            .iter()
            .filter(|t| !target_tables.contains(t))
            .chain(target_tables.iter().filter(|t| !source_tables.contains(t)))
            .collect();
        return Err(super::StoreError::Corrupt(format!(
            "源库与目标库的表不同（{}）：请先用同一版本的 dengji 对两个数据库执行 migrate",
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("、")
        )));
    }
    for table in &target_tables {
        to.execute(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .await?;
    }
    let mut total = 0u64;
    for table in &source_tables {
        if DERIVED.contains(&table.as_str()) {
            continue;
        }
        let cols = columns(from, from_backend, table).await?;
        let target_cols = columns(to, to_backend, table).await?;
        if cols
            .iter()
            .map(|c| &c.name)
            .ne(target_cols.iter().map(|c| &c.name))
        {
            return Err(super::StoreError::Corrupt(format!(
                "源库与目标库的表 {table} 列不同：请先用同一版本的 dengji 对两个数据库执行 migrate"
            )));
        }
        let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        let names = names.join(", ");
        let sql = select_all(table, &cols);
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *from);
        let mut batch: Vec<Vec<Arg>> = Vec::with_capacity(BATCH);
        let mut n = 0u64;
        while let Some(r) = rows.try_next().await? {
            let mut row = Vec::with_capacity(cols.len());
            for (i, c) in cols.iter().enumerate() {
                // The target's kind wins for NULLs (PostgreSQL wants them typed).
                row.push(match (value(&r, i, c.kind)?, target_cols[i].kind) {
                    (Arg::NullInt | Arg::NullText | Arg::NullBlob, Kind::Int) => Arg::NullInt,
                    (Arg::NullInt | Arg::NullText | Arg::NullBlob, Kind::Text) => Arg::NullText,
                    (Arg::NullInt | Arg::NullText | Arg::NullBlob, Kind::Bytes) => Arg::NullBlob,
                    (v, _) => v,
                });
            }
            batch.push(row);
            if batch.len() == BATCH {
                insert_rows(to, table, &names, std::mem::take(&mut batch)).await?;
                n += BATCH as u64;
                progress(table, n);
            }
        }
        drop(rows);
        n += batch.len() as u64;
        if !batch.is_empty() {
            insert_rows(to, table, &names, batch).await?;
        }
        progress(table, n);
        total += n;
    }
    super::tallies::rebuild(to, to_backend).await?;
    if to_backend == Backend::Postgres {
        let identity: Vec<String> = sqlx::query(
            "SELECT table_name::text AS t FROM information_schema.columns \
             WHERE table_schema = current_schema() AND column_name = 'id' \
             AND is_identity = 'YES'",
        )
        .fetch_all(&mut *to)
        .await?
        .iter()
        .map(|r| r.try_get("t"))
        .collect::<Result<_, _>>()?;
        for t in identity {
            to.execute(sqlx::AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{t}', 'id'), \
                 COALESCE((SELECT MAX(id) FROM {t}), 0) + 1, false)"
            )))
            .await?;
        }
    }
    Ok(total)
}
