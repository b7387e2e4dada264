//! Snapshots of the 全国律师综合管理系统's roster (migration 0031) and the reconciliation of a
//! subtree's registered lawyers and firms against the latest one, counted and listed in SQL.

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};

use super::sql::{Arg, Sql, backend_of, json_columns, json_rows_source};
use super::{Backend, StoreResult, now};
use crate::domain::{MemberId, TreePath, UserId};

/// A loaded snapshot.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub id: i64,
    pub as_of: String,
    pub source: String,
    pub digest: String,
    pub lawyers: i64,
    pub firms: i64,
    pub loaded_by: Option<String>,
    pub loaded_at: i64,
}

/// One lawyer of the roster, ready to store (the ID number already encrypted and indexed).
#[derive(Debug, Clone)]
pub struct LawyerRow {
    pub row_no: i64,
    pub licence_no: String,
    pub citizen_id_index: String,
    pub citizen_id_enc: Vec<u8>,
    pub citizen_id_masked: String,
    pub name: String,
    pub firm_code: String,
    pub firm_name: String,
    pub practice_type: String,
    pub status: String,
    pub status_on: Option<String>,
    pub firm_since: Option<String>,
    pub first_licensed_on: Option<String>,
    pub political: Option<String>,
    pub scope_path: String,
}

/// One firm of the roster.
#[derive(Debug, Clone)]
pub struct FirmRow {
    pub row_no: i64,
    pub credit_code: String,
    pub name: String,
    pub region_code: Option<String>,
    pub status: String,
    pub scope_path: String,
}

const SNAPSHOT_SELECT: &str = "SELECT s.id, s.as_of, s.source, s.digest, s.lawyers, s.firms, \
     u.display_name AS loaded_by, s.loaded_at FROM licence_snapshots s \
     LEFT JOIN users u ON u.id = s.loaded_by WHERE s.ready = 1";

fn snapshot_of(r: &sqlx::any::AnyRow) -> StoreResult<Snapshot> {
    Ok(Snapshot {
        id: r.try_get("id")?,
        as_of: r.try_get("as_of")?,
        source: r.try_get("source")?,
        digest: r.try_get("digest")?,
        lawyers: r.try_get("lawyers")?,
        firms: r.try_get("firms")?,
        loaded_by: r.try_get("loaded_by")?,
        loaded_at: r.try_get("loaded_at")?,
    })
}

/// The newest ready snapshot.
pub async fn latest(conn: &mut AnyConnection) -> StoreResult<Option<Snapshot>> {
    let sql = format!("{SNAPSHOT_SELECT} ORDER BY s.id DESC LIMIT 1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(snapshot_of)
        .transpose()
}

/// Every ready snapshot, newest first.
pub async fn list(conn: &mut AnyConnection) -> StoreResult<Vec<Snapshot>> {
    let sql = format!("{SNAPSHOT_SELECT} ORDER BY s.id DESC");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(snapshot_of)
        .collect()
}

/// Start a snapshot, invisible until [`finish`].
pub async fn begin(conn: &mut AnyConnection, as_of: &str, by: Option<UserId>) -> StoreResult<i64> {
    let r = sqlx::query(
        "INSERT INTO licence_snapshots (as_of, source, digest, lawyers, firms, ready, loaded_by, \
         loaded_at) VALUES ($1, '', '', 0, 0, 0, $2, $3) RETURNING id",
    )
    .bind(as_of)
    .bind(by.map(|u| u.0))
    .bind(now())
    .fetch_one(&mut *conn)
    .await?;
    Ok(r.try_get("id")?)
}

/// Make a snapshot visible with its counts and the files it came from.
pub async fn finish(
    conn: &mut AnyConnection,
    id: i64,
    source: &str,
    digest: &str,
) -> StoreResult<(i64, i64)> {
    let count =
        |table: &'static str| format!("(SELECT COUNT(*) FROM {table} WHERE snapshot_id = $1)");
    let sql = format!(
        "UPDATE licence_snapshots SET ready = 1, source = $2, digest = $3, lawyers = {}, \
         firms = {} WHERE id = $1 AND ready = 0 RETURNING lawyers, firms",
        count("licence_lawyers"),
        count("licence_firms")
    );
    let r = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(source)
        .bind(digest)
        .fetch_one(&mut *conn)
        .await?;
    Ok((r.try_get("lawyers")?, r.try_get("firms")?))
}

/// Remove a snapshot that did not finish, a chunk of its rows per call; true once it is gone.
pub async fn discard_some(conn: &mut AnyConnection, id: i64) -> StoreResult<bool> {
    for table in ["licence_lawyers", "licence_firms"] {
        let sql = format!(
            "DELETE FROM {table} WHERE snapshot_id = $1 AND row_no IN \
             (SELECT row_no FROM {table} WHERE snapshot_id = $1 LIMIT 50000)"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .execute(&mut *conn)
            .await?;
        if done.rows_affected() > 0 {
            return Ok(false);
        }
    }
    sqlx::query("DELETE FROM licence_snapshots WHERE id = $1 AND ready = 0")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

/// Snapshots left unfinished (a load that failed or was cut off).
pub async fn unfinished(conn: &mut AnyConnection) -> StoreResult<Vec<i64>> {
    let rows = sqlx::query("SELECT id FROM licence_snapshots WHERE ready = 0 ORDER BY id")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
}

/// Insert rows given as JSON arrays into a snapshot's table in one statement; `kinds` as for
/// [`json_columns`].
async fn insert_json(
    conn: &mut AnyConnection,
    snapshot: i64,
    table_and_columns: &str,
    kinds: &str,
    rows: Vec<serde_json::Value>,
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let backend = backend_of(conn);
    let sql = format!(
        "INSERT INTO {table_and_columns} SELECT $2, {} FROM {}",
        json_columns(backend, &kinds.chars().collect::<Vec<_>>()),
        json_rows_source(backend)
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(serde_json::Value::Array(rows).to_string())
        .bind(snapshot)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn insert_lawyers(
    conn: &mut AnyConnection,
    snapshot: i64,
    rows: &[LawyerRow],
) -> StoreResult<()> {
    let json = rows
        .iter()
        .map(|l| {
            serde_json::json!([
                l.row_no,
                l.licence_no,
                l.citizen_id_index,
                hex::encode(&l.citizen_id_enc),
                l.citizen_id_masked,
                l.name,
                l.firm_code,
                l.firm_name,
                l.practice_type,
                l.status,
                l.status_on,
                l.firm_since,
                l.first_licensed_on,
                l.political,
                l.scope_path
            ])
        })
        .collect();
    insert_json(
        conn,
        snapshot,
        "licence_lawyers (snapshot_id, row_no, licence_no, citizen_id_index, citizen_id_enc, \
         citizen_id_masked, name, firm_code, firm_name, practice_type, status, status_on, \
         firm_since, first_licensed_on, political, scope_path)",
        "ittbttttttttttt",
        json,
    )
    .await
}

pub async fn insert_firms(
    conn: &mut AnyConnection,
    snapshot: i64,
    rows: &[FirmRow],
) -> StoreResult<()> {
    let json = rows
        .iter()
        .map(|f| {
            serde_json::json!([
                f.row_no,
                f.credit_code,
                f.name,
                f.region_code,
                f.status,
                f.scope_path
            ])
        })
        .collect();
    insert_json(
        conn,
        snapshot,
        "licence_firms (snapshot_id, row_no, credit_code, name, region_code, status, scope_path)",
        "ittttt",
        json,
    )
    .await
}

/// Where roster rows belong in the tree: the registry's firms by credit code, and the
/// organisations by 行政区划 (city-level first, then provincial), with the root.
#[derive(Debug, Clone, Default)]
pub struct Places {
    pub firms: HashMap<String, String>,
    pub cities: HashMap<String, String>,
    pub provinces: HashMap<String, String>,
    pub root: String,
}

impl Places {
    /// The node a firm of this credit code (and 行政区划, if the roster gives one) belongs to.
    pub fn of(&self, credit_code: &str, region: Option<&str>) -> String {
        if let Some(p) = self.firms.get(credit_code) {
            return p.clone();
        }
        // Characters 3–8 of a 统一社会信用代码 are the registering authority's 行政区划.
        let region = region
            .filter(|r| r.len() == 6)
            .or_else(|| credit_code.get(2..8))
            .unwrap_or("");
        if region.len() == 6 && region.is_ascii() {
            for key in [region.to_owned(), format!("{}00", &region[..4])] {
                if let Some(p) = self.cities.get(&key) {
                    return p.clone();
                }
            }
            if let Some(p) = self.provinces.get(&format!("{}0000", &region[..2])) {
                return p.clone();
            }
        }
        self.root.clone()
    }
}

pub async fn places(conn: &mut AnyConnection) -> StoreResult<Places> {
    let mut p = Places::default();
    for r in sqlx::query("SELECT credit_code, scope_path FROM firms")
        .fetch_all(&mut *conn)
        .await?
    {
        p.firms
            .insert(r.try_get("credit_code")?, r.try_get("scope_path")?);
    }
    for r in sqlx::query(
        "SELECT level, region_code, path FROM orgs WHERE region_code IS NOT NULL \
         AND dissolved_on IS NULL AND level IN ('city', 'province') ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        let level: String = r.try_get("level")?;
        let map = if level == "city" {
            &mut p.cities
        } else {
            &mut p.provinces
        };
        map.entry(r.try_get("region_code")?)
            .or_insert(r.try_get("path")?);
    }
    p.root = sqlx::query("SELECT path FROM orgs WHERE parent_id IS NULL ORDER BY id LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get::<String, _>("path"))
        .transpose()?
        .unwrap_or_else(|| "/".into());
    Ok(p)
}

/// What a reconciliation line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Same person and licence, some fields differ.
    Mismatch,
    /// 政治面貌 中共党员/预备党员 in the roster, 专职, practising in a firm of the subtree,
    /// not registered.
    Unregistered,
    /// Registered, but no such licence, the licence revoked or cancelled, or at another firm.
    Unlicensed,
    /// Registered, but the roster's 执业类别 is not 专职.
    Ineligible,
    /// A firm of the roster missing from our registry.
    FirmMissing,
    /// A firm of our registry missing from the roster (or cancelled there).
    FirmUnlisted,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Self::Unregistered,
        Self::Unlicensed,
        Self::Ineligible,
        Self::Mismatch,
        Self::FirmMissing,
        Self::FirmUnlisted,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Mismatch => "mismatch",
            Self::Unregistered => "unregistered",
            Self::Unlicensed => "unlicensed",
            Self::Ineligible => "ineligible",
            Self::FirmMissing => "firm_missing",
            Self::FirmUnlisted => "firm_unlisted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Mismatch => "信息不一致",
            Self::Unregistered => "申报为党员但未登记",
            Self::Unlicensed => "已登记但无执业信息",
            Self::Ineligible => "已登记但不属于专职律师",
            Self::FirmMissing => "律所未在本系统名册",
            Self::FirmUnlisted => "律所不在执业系统名册",
        }
    }

    pub fn is_member_side(self) -> bool {
        matches!(self, Self::Mismatch | Self::Unlicensed | Self::Ineligible)
    }
}

/// The child of `node` a path lies in (the node itself for paths equal to it), as SQL over
/// `column`.
fn child_expr(backend: Backend, column: &str, node: &TreePath) -> String {
    let len = node.as_str().len();
    let find = match backend {
        Backend::Sqlite => format!("instr(substr({column}, {}), '/')", len + 1),
        Backend::Postgres => format!("strpos(substr({column}, {}), '/')", len + 1),
    };
    format!("substr({column}, 1, {len} + {find})")
}

/// The registered lawyers of the subtree beside the roster: every column a line needs and its
/// category (`cat`, `matched` when nothing is wrong) and subject.
fn member_side(backend: Backend, snapshot: i64, reach: &Reach<'_>) -> Sql {
    let node = reach.node();
    let mut sql = Sql::new("");
    sql.preset(Arg::Int(snapshot));
    sql.push(&format!(
        "SELECT m.id AS member_id, m.name, m.licence_no, m.practice_type AS m_type, \
         m.citizen_id_masked AS masked, m.org_path AS path, {child} AS child, \
         f.credit_code AS our_code, f.name AS our_firm, \
         COALESCE(l.licence_no, k.licence_no) AS l_licence, COALESCE(l.name, k.name) AS l_name, \
         COALESCE(l.firm_code, k.firm_code) AS l_firm_code, \
         COALESCE(l.firm_name, k.firm_name) AS l_firm_name, \
         COALESCE(l.practice_type, k.practice_type) AS l_type, \
         COALESCE(l.status, k.status) AS l_status, COALESCE(l.status_on, k.status_on) AS l_status_on, \
         COALESCE(l.firm_since, k.firm_since) AS l_firm_since, \
         COALESCE(l.first_licensed_on, k.first_licensed_on) AS l_first, \
         CASE WHEN l.licence_no IS NULL AND k.licence_no IS NOT NULL THEN 1 ELSE 0 END AS other_id, \
         CAST(m.id AS TEXT) AS subject, \
         CASE \
          WHEN l.licence_no IS NULL AND k.licence_no IS NULL THEN 'unlicensed' \
          WHEN l.licence_no IS NULL THEN 'mismatch' \
          WHEN l.status IN ('cancelled', 'revoked') OR l.firm_code <> f.credit_code THEN 'unlicensed' \
          WHEN l.practice_type <> '1' THEN 'ineligible' \
          WHEN l.name <> m.name OR l.licence_no <> COALESCE(m.licence_no, '') \
           OR l.practice_type <> COALESCE(m.practice_type, '') OR l.status <> 'practising' \
           OR (l.first_licensed_on IS NOT NULL AND m.licence_no IS NOT NULL \
               AND substr(l.first_licensed_on, 1, 4) <> substr(m.licence_no, 6, 4)) \
           THEN 'mismatch' \
          ELSE 'matched' END AS cat \
         FROM members m JOIN firms f ON f.id = m.firm_id \
         LEFT JOIN licence_lawyers l ON l.snapshot_id = $1 AND l.citizen_id_index = m.citizen_id_index \
         LEFT JOIN licence_lawyers k ON l.licence_no IS NULL AND k.snapshot_id = $1 \
          AND k.licence_no = m.licence_no \
         WHERE m.category = 'lawyer' AND m.stopped_on IS NULL",
        child = child_expr(backend, "m.org_path", node)
    ));
    reach.push(&mut sql, "m.org_path", "m.id");
    sql
}

fn unregistered_side(backend: Backend, snapshot: i64, reach: &Reach<'_>) -> Sql {
    let node = reach.node();
    let mut sql = Sql::new("");
    sql.preset(Arg::Int(snapshot));
    sql.push(&format!(
        "SELECT l.licence_no, l.name, l.citizen_id_masked AS masked, l.firm_code, l.firm_name, \
         l.political, l.scope_path AS path, {child} AS child, l.licence_no AS subject, \
         'unregistered' AS cat \
         FROM licence_lawyers l WHERE l.snapshot_id = $1 AND l.political IN ('01', '02') \
         AND l.practice_type = '1' AND l.status = 'practising' \
         AND NOT EXISTS (SELECT 1 FROM members m WHERE m.citizen_id_index = l.citizen_id_index \
          AND m.stopped_on IS NULL)",
        child = child_expr(backend, "l.scope_path", node)
    ));
    reach.push(&mut sql, "l.scope_path", "l.licence_no");
    sql
}

fn firm_missing_side(backend: Backend, snapshot: i64, reach: &Reach<'_>) -> Sql {
    let node = reach.node();
    let mut sql = Sql::new("");
    sql.preset(Arg::Int(snapshot));
    sql.push(&format!(
        "SELECT lf.credit_code, lf.name, lf.region_code, lf.scope_path AS path, {child} AS child, \
         lf.credit_code AS subject, 'firm_missing' AS cat \
         FROM licence_firms lf WHERE lf.snapshot_id = $1 AND lf.status <> 'cancelled' \
         AND NOT EXISTS (SELECT 1 FROM firms f WHERE f.credit_code = lf.credit_code)",
        child = child_expr(backend, "lf.scope_path", node)
    ));
    reach.push(&mut sql, "lf.scope_path", "lf.credit_code");
    sql
}

fn firm_unlisted_side(backend: Backend, snapshot: i64, reach: &Reach<'_>) -> Sql {
    let node = reach.node();
    let mut sql = Sql::new("");
    sql.preset(Arg::Int(snapshot));
    sql.push(&format!(
        "SELECT f.id AS firm_id, f.credit_code, f.name, lf.status AS l_status, \
         f.scope_path AS path, {child} AS child, f.credit_code AS subject, 'firm_unlisted' AS cat \
         FROM firms f LEFT JOIN licence_firms lf ON lf.snapshot_id = $1 \
          AND lf.credit_code = f.credit_code \
         WHERE (lf.credit_code IS NULL OR lf.status = 'cancelled') \
         AND EXISTS (SELECT 1 FROM licence_firms x WHERE x.snapshot_id = $1)",
        child = child_expr(backend, "f.scope_path", node)
    ));
    reach.push(&mut sql, "f.scope_path", "f.credit_code");
    sql
}

fn side(backend: Backend, snapshot: i64, reach: &Reach<'_>, c: Category) -> Sql {
    match c {
        Category::Mismatch | Category::Unlicensed | Category::Ineligible => {
            member_side(backend, snapshot, reach)
        }
        Category::Unregistered => unregistered_side(backend, snapshot, reach),
        Category::FirmMissing => firm_missing_side(backend, snapshot, reach),
        Category::FirmUnlisted => firm_unlisted_side(backend, snapshot, reach),
    }
}

/// Counts of one child (or of the node itself, for lines directly at it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChildCounts {
    pub child: String,
    /// Lines by category: (all, explained).
    pub counts: HashMap<Category, (i64, i64)>,
    /// Registered lawyers matched without a difference.
    pub matched: i64,
}

/// Which part of the tree a statement covers.
#[derive(Debug, Clone, Copy)]
pub enum Reach<'a> {
    /// The node and everything under it.
    Subtree(&'a TreePath),
    /// Lines at the node itself only (the root's own, after its children were refreshed).
    Only(&'a TreePath),
    /// These subjects within the subtree (a page's details).
    Subjects(&'a TreePath, &'a [String]),
}

impl Reach<'_> {
    fn node(&self) -> &TreePath {
        match self {
            Self::Subtree(p) | Self::Only(p) | Self::Subjects(p, _) => p,
        }
    }

    fn push(&self, sql: &mut Sql, column: &str, subject: &str) {
        match self {
            Self::Subtree(p) => super::orgs::push_path_scope(sql, column, p),
            Self::Only(p) => {
                sql.push(&format!(" AND {column} = ")).text(p.as_str());
            }
            Self::Subjects(p, subjects) => {
                super::orgs::push_path_scope(sql, column, p);
                sql.push(&format!(" AND {subject} IN "));
                if subject == "m.id" {
                    let ids: Vec<String> = subjects
                        .iter()
                        .filter_map(|s| s.parse::<i64>().ok())
                        .map(|i| i.to_string())
                        .collect();
                    if ids.is_empty() {
                        sql.push("(0)");
                    } else {
                        sql.push(&format!("({})", ids.join(", ")));
                    }
                } else if subjects.is_empty() {
                    sql.push("('')");
                } else {
                    sql.texts_in(subjects);
                }
            }
        }
    }
}

/// Classify the reach's lines against the snapshot again: its stored lines and matched
/// counts replaced in the caller's transaction, and the time kept.
pub async fn refresh(conn: &mut AnyConnection, snapshot: i64, reach: Reach<'_>) -> StoreResult<()> {
    let backend = backend_of(conn);
    for table in ["reconciliation_lines", "reconciliation_matched"] {
        let mut sql = Sql::new("");
        sql.preset(Arg::Int(snapshot));
        sql.push(&format!("DELETE FROM {table} WHERE snapshot_id = $1"));
        reach.push(&mut sql, "path", "subject");
        sql.query().execute(&mut *conn).await?;
    }
    let sides = [
        member_side(backend, snapshot, &reach),
        unregistered_side(backend, snapshot, &reach),
        firm_missing_side(backend, snapshot, &reach),
        firm_unlisted_side(backend, snapshot, &reach),
    ];
    for (i, inner) in sides.iter().enumerate() {
        inner
            .wrap(
                "INSERT INTO reconciliation_lines (snapshot_id, category, subject, path, name) \
                 SELECT $1, t.cat, t.subject, t.path, t.name FROM (",
                ") t WHERE t.cat <> 'matched'",
            )
            .query()
            .execute(&mut *conn)
            .await?;
        if i == 0 {
            inner
                .wrap(
                    "INSERT INTO reconciliation_matched (snapshot_id, path, n) \
                     SELECT $1, t.path, COUNT(*) FROM (",
                    ") t WHERE t.cat = 'matched' GROUP BY t.path",
                )
                .query()
                .execute(&mut *conn)
                .await?;
        }
    }
    let path = reach.node().as_str();
    sqlx::query("DELETE FROM reconciliation_refreshes WHERE snapshot_id = $1 AND path = $2")
        .bind(snapshot)
        .bind(path)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO reconciliation_refreshes (snapshot_id, path, at) VALUES ($1, $2, $3)")
        .bind(snapshot)
        .bind(path)
        .bind(now())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// When the node's lines were last classified: the newest refresh of the node or a node
/// above it (refreshes further down only make parts fresher).
pub async fn refreshed_at(
    conn: &mut AnyConnection,
    snapshot: i64,
    node: &TreePath,
) -> StoreResult<Option<i64>> {
    let ancestors: Vec<String> = node
        .ids()
        .iter()
        .scan(String::from("/"), |p, id| {
            p.push_str(&format!("{}/", id.0));
            Some(p.clone())
        })
        .collect();
    let mut sql =
        Sql::new("SELECT MAX(at) AS at FROM reconciliation_refreshes WHERE snapshot_id = ");
    sql.int(snapshot).push(" AND path IN ").texts_in(&ancestors);
    Ok(sql.query().fetch_one(&mut *conn).await?.try_get("at")?)
}

const EXPLAINED: &str = "CASE WHEN EXISTS (SELECT 1 FROM reconciliation_notes n \
     WHERE n.category = r.category AND n.subject = r.subject) THEN 1 ELSE 0 END";

/// The reconciliation's counts over the subtree, by child, from the stored lines.
pub async fn counts(
    conn: &mut AnyConnection,
    snapshot: i64,
    node: &TreePath,
) -> StoreResult<Vec<ChildCounts>> {
    let backend = backend_of(conn);
    let mut by_child: HashMap<String, ChildCounts> = HashMap::new();
    let mut lines = Sql::new(&format!(
        "SELECT {} AS child, r.category AS cat, COUNT(*) AS n, \
         CAST(SUM({EXPLAINED}) AS BIGINT) AS explained \
         FROM reconciliation_lines r WHERE r.snapshot_id = ",
        child_expr(backend, "r.path", node)
    ));
    lines.int(snapshot);
    super::orgs::push_path_scope(&mut lines, "r.path", node);
    lines.push(" GROUP BY 1, r.category");
    let mut matched = Sql::new(&format!(
        "SELECT {} AS child, 'matched' AS cat, CAST(SUM(r.n) AS BIGINT) AS n, \
         CAST(0 AS BIGINT) AS explained \
         FROM reconciliation_matched r WHERE r.snapshot_id = ",
        child_expr(backend, "r.path", node)
    ));
    matched.int(snapshot);
    super::orgs::push_path_scope(&mut matched, "r.path", node);
    matched.push(" GROUP BY 1");
    for q in [lines, matched] {
        for r in q.query().fetch_all(&mut *conn).await? {
            let child: String = r.try_get("child")?;
            let cat: String = r.try_get("cat")?;
            let n: i64 = r.try_get("n")?;
            let explained: i64 = r.try_get::<Option<i64>, _>("explained")?.unwrap_or(0);
            let entry = by_child
                .entry(child.clone())
                .or_insert_with(|| ChildCounts {
                    child,
                    ..ChildCounts::default()
                });
            match Category::parse(&cat) {
                Some(c) => {
                    let e = entry.counts.entry(c).or_default();
                    e.0 += n;
                    e.1 += explained;
                }
                None => entry.matched += n,
            }
        }
    }
    let mut out: Vec<ChildCounts> = by_child.into_values().collect();
    out.sort_by(|a, b| a.child.cmp(&b.child));
    Ok(out)
}

/// One line of a category's list, with the newest note explaining it.
#[derive(Debug, Clone, Default)]
pub struct Line {
    pub subject: String,
    pub path: String,
    pub member: Option<MemberId>,
    pub name: String,
    pub masked: String,
    pub licence_no: Option<String>,
    pub firm_code: Option<String>,
    pub firm_name: Option<String>,
    /// The roster's side, by field (member-side lines).
    pub roster: HashMap<&'static str, String>,
    /// Ours, by field.
    pub ours: HashMap<&'static str, String>,
    pub other_id: bool,
    pub note: Option<(String, String, i64)>,
    /// The category the records give now (empty: the line's subject is gone); another than
    /// the stored line's means the records changed since the last refresh.
    pub cat: String,
}

/// A page of a category's stored lines in the subtree, by path and name, with the details
/// of each as the records and the snapshot give them now.
pub async fn lines(
    conn: &mut AnyConnection,
    snapshot: i64,
    node: &TreePath,
    category: Category,
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<Line>, i64)> {
    let backend = backend_of(conn);
    let stored = |select: &str| {
        let mut q = Sql::new(&format!(
            "SELECT {select} FROM reconciliation_lines r WHERE r.snapshot_id = "
        ));
        q.int(snapshot)
            .push(" AND r.category = ")
            .text(category.code());
        super::orgs::push_path_scope(&mut q, "r.path", node);
        q
    };
    let total: i64 = stored("COUNT(*) AS n")
        .query()
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    let mut page = stored("r.subject, r.path, r.name");
    page.push(&format!(
        " ORDER BY r.path, r.name, r.subject LIMIT {limit} OFFSET {offset}"
    ));
    let rows = page.query().fetch_all(&mut *conn).await?;
    let mut keys = Vec::with_capacity(rows.len());
    for r in &rows {
        keys.push((
            r.try_get::<String, _>("subject")?,
            r.try_get::<String, _>("path")?,
            r.try_get::<String, _>("name")?,
        ));
    }
    let subjects: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
    let code = category.code();
    let note = |col: &str| {
        format!(
            "(SELECT {col} FROM reconciliation_notes n LEFT JOIN users u ON u.id = n.created_by \
             WHERE n.category = '{code}' AND n.subject = t.subject ORDER BY n.id DESC LIMIT 1)"
        )
    };
    let details = side(
        backend,
        snapshot,
        &Reach::Subjects(node, &subjects),
        category,
    )
    .wrap(
        &format!(
            "SELECT t.*, {} AS note, {} AS note_by, {} AS note_at FROM (",
            note("n.note"),
            note("u.display_name"),
            note("n.created_at")
        ),
        ") t",
    );
    let mut live: HashMap<String, Line> = HashMap::new();
    for r in details.query().fetch_all(&mut *conn).await? {
        let line = line_of(&r, category)?;
        live.insert(line.subject.clone(), line);
    }
    let out = keys
        .into_iter()
        .map(|(subject, path, name)| {
            live.remove(&subject).unwrap_or(Line {
                subject,
                path,
                name,
                ..Line::default()
            })
        })
        .collect();
    Ok((out, total))
}

/// A line from a row of a side's statement (with the note columns).
fn line_of(r: &sqlx::any::AnyRow, category: Category) -> StoreResult<Line> {
    let opt = |r: &sqlx::any::AnyRow, c: &str| -> Option<String> {
        r.try_get::<Option<String>, _>(c).ok().flatten()
    };
    let mut line = Line {
        subject: r.try_get("subject")?,
        path: r.try_get("path")?,
        name: r.try_get("name")?,
        ..Line::default()
    };
    if let (Some(note), Some(at)) = (opt(r, "note"), r.try_get::<Option<i64>, _>("note_at")?) {
        line.note = Some((note, opt(r, "note_by").unwrap_or_default(), at));
    }
    match category {
        Category::Mismatch | Category::Unlicensed | Category::Ineligible => {
            line.member = Some(MemberId(r.try_get("member_id")?));
            line.masked = r.try_get("masked")?;
            line.licence_no = opt(r, "licence_no");
            line.firm_code = opt(r, "our_code");
            line.firm_name = opt(r, "our_firm");
            line.other_id = r.try_get::<i64, _>("other_id")? == 1;
            for (key, col) in [
                ("licence_no", "l_licence"),
                ("name", "l_name"),
                ("firm_code", "l_firm_code"),
                ("firm_name", "l_firm_name"),
                ("practice_type", "l_type"),
                ("status", "l_status"),
                ("status_on", "l_status_on"),
                ("firm_since", "l_firm_since"),
                ("first_licensed_on", "l_first"),
            ] {
                if let Some(v) = opt(r, col) {
                    line.roster.insert(key, v);
                }
            }
            for (key, col) in [
                ("licence_no", "licence_no"),
                ("name", "name"),
                ("firm_code", "our_code"),
                ("firm_name", "our_firm"),
                ("practice_type", "m_type"),
            ] {
                if let Some(v) = opt(r, col) {
                    line.ours.insert(key, v);
                }
            }
        }
        Category::Unregistered => {
            line.masked = r.try_get("masked")?;
            line.licence_no = opt(r, "licence_no");
            line.firm_code = opt(r, "firm_code");
            line.firm_name = opt(r, "firm_name");
            if let Some(p) = opt(r, "political") {
                line.roster.insert("political", p);
            }
        }
        Category::FirmMissing => {
            line.firm_code = opt(r, "credit_code");
            line.firm_name = Some(line.name.clone());
            if let Some(p) = opt(r, "region_code") {
                line.roster.insert("region_code", p);
            }
        }
        Category::FirmUnlisted => {
            line.firm_code = opt(r, "credit_code");
            line.firm_name = Some(line.name.clone());
            if let Some(s) = opt(r, "l_status") {
                line.roster.insert("status", s);
            }
        }
    }
    line.cat = r.try_get("cat")?;
    Ok(line)
}

/// Whether a stored line of this category and subject lies in the subtree: its path, if so.
pub async fn line_path(
    conn: &mut AnyConnection,
    snapshot: i64,
    node: &TreePath,
    category: Category,
    subject: &str,
) -> StoreResult<Option<String>> {
    let mut q = Sql::new("SELECT r.path FROM reconciliation_lines r WHERE r.snapshot_id = ");
    q.int(snapshot)
        .push(" AND r.category = ")
        .text(category.code())
        .push(" AND r.subject = ")
        .text(subject);
    super::orgs::push_path_scope(&mut q, "r.path", node);
    let r = q.query().fetch_optional(&mut *conn).await?;
    r.map(|r| r.try_get::<String, _>("path"))
        .transpose()
        .map_err(Into::into)
}

/// A lawyer of a snapshot, with our registry's firm of the same credit code.
#[derive(Debug, Clone)]
pub struct RosterLawyer {
    pub licence_no: String,
    pub name: String,
    pub citizen_id_enc: Vec<u8>,
    pub practice_type: String,
    pub political: Option<String>,
    pub firm_id: Option<crate::domain::FirmId>,
}

pub async fn lawyer(
    conn: &mut AnyConnection,
    snapshot: i64,
    licence: &str,
) -> StoreResult<Option<RosterLawyer>> {
    let r = sqlx::query(
        "SELECT l.licence_no, l.name, l.citizen_id_enc, l.practice_type, l.political, \
         f.id AS firm_id FROM licence_lawyers l LEFT JOIN firms f ON f.credit_code = l.firm_code \
         WHERE l.snapshot_id = $1 AND l.licence_no = $2",
    )
    .bind(snapshot)
    .bind(licence)
    .fetch_optional(&mut *conn)
    .await?;
    r.map(|r| {
        Ok(RosterLawyer {
            licence_no: r.try_get("licence_no")?,
            name: r.try_get("name")?,
            citizen_id_enc: r.try_get("citizen_id_enc")?,
            practice_type: r.try_get("practice_type")?,
            political: r.try_get("political")?,
            firm_id: r
                .try_get::<Option<i64>, _>("firm_id")?
                .map(crate::domain::FirmId),
        })
    })
    .transpose()
}

/// Keep a note explaining a line.
pub async fn add_note(
    conn: &mut AnyConnection,
    snapshot: i64,
    category: Category,
    subject: &str,
    scope_path: &str,
    note: &str,
    by: Option<UserId>,
) -> StoreResult<i64> {
    let r = sqlx::query(
        "INSERT INTO reconciliation_notes (category, subject, scope_path, note, snapshot_id, \
         created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(category.code())
    .bind(subject)
    .bind(scope_path)
    .bind(note)
    .bind(snapshot)
    .bind(by.map(|u| u.0))
    .bind(now())
    .fetch_one(&mut *conn)
    .await?;
    Ok(r.try_get("id")?)
}
