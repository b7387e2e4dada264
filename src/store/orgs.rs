//! The organisation tree: nodes, children, subtree lists and counts; organisations looked up by
//! name or level for the roster import, its batch's undo, and the roster's export lines.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::imports::set_undone;
use super::sql::like_escape;
use super::{Sql, StoreError, StoreResult, now};
use crate::authz::Scope;
use crate::domain::{OrgId, OrgKind, OrgLevel, TreePath, UserId};

/// How many values go into one `IN (…)` list.
const IN_CHUNK: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: OrgId,
    pub parent_id: Option<OrgId>,
    pub path: TreePath,
    pub level: OrgLevel,
    pub kind: OrgKind,
    pub name: String,
    pub region_code: Option<String>,
    pub region_name: Option<String>,
    pub secretary_name: Option<String>,
    pub contact_phone: Option<String>,
    pub formed_on: Option<String>,
    /// 组织委员.
    pub organiser_name: Option<String>,
    /// 本届任期: the first day and the day it ends (届满).
    pub term_start: Option<String>,
    pub term_end: Option<String>,
    /// Number of direct children.
    pub child_count: i64,
}

const SELECT: &str = "SELECT o.id, o.parent_id, o.path, o.level, o.kind, o.name, o.region_code, \
     d.name AS region_name, o.secretary_name, o.contact_phone, o.formed_on, \
     o.organiser_name, o.term_start, o.term_end, \
     (SELECT COUNT(*) FROM orgs c WHERE c.parent_id = o.id AND c.dissolved_on IS NULL) AS child_count \
     FROM orgs o LEFT JOIN divisions d ON d.code = o.region_code";

fn from_row(r: &AnyRow) -> StoreResult<Org> {
    let path: String = r.try_get("path")?;
    let level: String = r.try_get("level")?;
    let kind: String = r.try_get("kind")?;
    Ok(Org {
        id: OrgId(r.try_get("id")?),
        parent_id: r.try_get::<Option<i64>, _>("parent_id")?.map(OrgId),
        path: TreePath::parse(&path).ok_or_else(|| StoreError::Corrupt(format!("path {path}")))?,
        level: OrgLevel::from_code(&level)
            .ok_or_else(|| StoreError::Corrupt(format!("level {level}")))?,
        kind: OrgKind::from_code(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("kind {kind}")))?,
        name: r.try_get("name")?,
        region_code: r.try_get("region_code")?,
        region_name: r.try_get("region_name")?,
        secretary_name: r.try_get("secretary_name")?,
        contact_phone: r.try_get("contact_phone")?,
        formed_on: r.try_get("formed_on")?,
        organiser_name: r.try_get("organiser_name")?,
        term_start: r.try_get("term_start")?,
        term_end: r.try_get("term_end")?,
        child_count: r.try_get("child_count")?,
    })
}

pub async fn get(conn: &mut AnyConnection, id: OrgId) -> StoreResult<Option<Org>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE o.id = ").int(id.0);
    match sql.query().fetch_optional(&mut *conn).await? {
        Some(r) => Ok(Some(from_row(&r)?)),
        None => Ok(None),
    }
}

/// Nodes by id, in the order given (missing ids are skipped). Used for breadcrumbs.
pub async fn get_many(conn: &mut AnyConnection, ids: &[OrgId]) -> StoreResult<Vec<Org>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE o.id IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.int(id.0);
    }
    sql.push(")");
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let mut found = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
    found.sort_by_key(|o| ids.iter().position(|i| *i == o.id));
    Ok(found)
}

/// Direct children of a node, by name, at most `limit`.
pub async fn children(
    conn: &mut AnyConnection,
    parent: OrgId,
    limit: i64,
) -> StoreResult<Vec<Org>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE o.parent_id = ")
        .int(parent.0)
        .push(" AND o.dissolved_on IS NULL ORDER BY COALESCE(o.region_code, '999999'), o.name, o.id LIMIT ")
        .int(limit);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}

pub async fn count_all(conn: &mut AnyConnection) -> StoreResult<i64> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM orgs")
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?)
}

/// A node to create under `parent` (or a root when `parent` is `None`).
#[derive(Debug, Clone)]
pub struct NewOrg {
    pub parent: Option<(OrgId, TreePath)>,
    pub level: OrgLevel,
    pub kind: OrgKind,
    pub name: String,
    pub region_code: Option<String>,
    pub secretary_name: Option<String>,
    pub contact_phone: Option<String>,
    pub formed_on: Option<String>,
    /// The import batch that brought it in.
    pub import_batch_id: Option<i64>,
}

impl NewOrg {
    /// A node with only its place, kind and name (the particulars come later, on its 附件3).
    pub fn bare(
        parent: Option<(OrgId, TreePath)>,
        level: OrgLevel,
        kind: OrgKind,
        name: String,
        region_code: Option<String>,
    ) -> Self {
        Self {
            parent,
            level,
            kind,
            name,
            region_code,
            secretary_name: None,
            contact_phone: None,
            formed_on: None,
            import_batch_id: None,
        }
    }
}

pub async fn insert(conn: &mut AnyConnection, new: &NewOrg) -> StoreResult<(OrgId, TreePath)> {
    // The path needs the id; insert under a unique placeholder, then set it.
    let placeholder = format!("#{}", crate::crypto::random_token());
    let id: i64 = sqlx::query(
        "INSERT INTO orgs (parent_id, path, depth, level, kind, name, region_code, \
         secretary_name, contact_phone, formed_on, created_at, import_batch_id, placed_on) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(new.parent.as_ref().map(|p| p.0.0))
    .bind(placeholder)
    .bind(new.level.depth())
    .bind(new.level.code())
    .bind(new.kind.code())
    .bind(new.name.clone())
    .bind(new.region_code.clone())
    .bind(new.secretary_name.clone())
    .bind(new.contact_phone.clone())
    .bind(new.formed_on.clone())
    .bind(now())
    .bind(new.import_batch_id)
    .bind(super::roster::placement_date(conn).await?)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?;
    let path = match &new.parent {
        Some((_, p)) => p.child(OrgId(id)),
        None => TreePath::root(OrgId(id)),
    };
    sqlx::query("UPDATE orgs SET path = $1 WHERE id = $2")
        .bind(path.as_str().to_owned())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok((OrgId(id), path))
}

/// Filters of the organisation list.
#[derive(Debug, Clone, Default)]
pub struct OrgFilter {
    pub name: Option<String>,
    pub level: Option<OrgLevel>,
    pub kind: Option<OrgKind>,
    pub sort: OrgSort,
    pub page: i64,
    pub per_page: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OrgSort {
    #[default]
    Name,
    Level,
    Region,
}

/// One page of results and whether another follows.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: i64,
    pub per_page: i64,
    pub has_next: bool,
}

impl<T> Page<T> {
    pub(crate) fn from_rows(mut items: Vec<T>, page: i64, per_page: i64) -> Self {
        let has_next = items.len() as i64 > per_page;
        items.truncate(per_page as usize);
        Self {
            items,
            page,
            per_page,
            has_next,
        }
    }
}

/// Append `AND <column> in scope` for a path column.
pub(crate) fn push_path_scope(sql: &mut Sql, column: &str, path: &TreePath) {
    sql.push(" AND ")
        .push(column)
        .push(" >= ")
        .text(path.as_str())
        .push(" AND ")
        .push(column)
        .push(" < ")
        .text(path.upper_bound());
}

/// The nodes within a scope that a filter the caller appends selects (after `WHERE` and the
/// scope; it may end with `ORDER BY`), in that order.
pub(crate) async fn select_in(
    conn: &mut AnyConnection,
    scope: &Scope,
    filter: impl FnOnce(&mut Sql),
) -> StoreResult<Vec<Org>> {
    let Scope::Subtree(path) = scope else {
        return Ok(Vec::new());
    };
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE o.dissolved_on IS NULL");
    push_path_scope(&mut sql, "o.path", path);
    filter(&mut sql);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}

pub async fn list(
    conn: &mut AnyConnection,
    scope: &Scope,
    f: &OrgFilter,
) -> StoreResult<Page<Org>> {
    let path = match scope {
        Scope::Subtree(p) => p,
        Scope::OwnRecord(_) => return Ok(Page::from_rows(Vec::new(), 1, f.per_page)),
    };
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE o.dissolved_on IS NULL");
    push_path_scope(&mut sql, "o.path", path);
    if let Some(name) = f.name.as_deref().filter(|n| !n.is_empty()) {
        sql.push(" AND o.name LIKE ")
            .text(format!("%{}%", like_escape(name)))
            .push(" ESCAPE '\\'");
    }
    if let Some(level) = f.level {
        sql.push(" AND o.level = ").text(level.code());
    }
    if let Some(kind) = f.kind {
        sql.push(" AND o.kind = ").text(kind.code());
    }
    sql.push(match f.sort {
        OrgSort::Name => " ORDER BY o.name, o.id",
        OrgSort::Level => " ORDER BY o.depth, o.name, o.id",
        OrgSort::Region => " ORDER BY o.region_code, o.name, o.id",
    });
    sql.push(" LIMIT ")
        .int(f.per_page + 1)
        .push(" OFFSET ")
        .int((f.page - 1) * f.per_page);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let items = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, f.page, f.per_page))
}

/// Counts below (and including) a node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubtreeCounts {
    pub orgs: i64,
    pub firms: i64,
    pub members: i64,
}

pub async fn subtree_counts(
    conn: &mut AnyConnection,
    path: &TreePath,
) -> StoreResult<SubtreeCounts> {
    // From the tallies (migration 0007), not by counting a million member rows: members who
    // still count, plus those whose registration stopped (the lists show them too).
    let mut sql = Sql::new(
        "SELECT COUNT(CASE WHEN o.dissolved_on IS NULL THEN 1 END) AS orgs, \
         CAST(COALESCE(SUM(t.firms), 0) AS BIGINT) AS firms, \
         CAST(COALESCE(SUM(t.lawyers + t.staff), 0) AS BIGINT) AS active, \
         (SELECT COUNT(*) FROM members m WHERE m.stopped_on IS NOT NULL",
    );
    push_path_scope(&mut sql, "m.org_path", path);
    sql.push(") AS stopped FROM orgs o LEFT JOIN org_tallies t ON t.org_id = o.id WHERE 1 = 1");
    push_path_scope(&mut sql, "o.path", path);
    let r = sql.query().fetch_one(&mut *conn).await?;
    let active: i64 = r.try_get("active")?;
    let stopped: i64 = r.try_get("stopped")?;
    Ok(SubtreeCounts {
        orgs: r.try_get("orgs")?,
        firms: r.try_get("firms")?,
        members: active + stopped,
    })
}

/// The national node (the one organisation without a parent).
pub async fn root(conn: &mut AnyConnection) -> StoreResult<Option<Org>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE o.parent_id IS NULL ORDER BY o.id LIMIT 1");
    let row = sql.query().fetch_optional(&mut *conn).await?;
    row.as_ref().map(from_row).transpose()
}

/// The organisations within the scope whose name is one of `names`.
pub async fn orgs_named(
    conn: &mut AnyConnection,
    scope: &Scope,
    names: &[String],
) -> StoreResult<Vec<Org>> {
    let mut out = Vec::new();
    for chunk in names.chunks(IN_CHUNK) {
        out.extend(
            select_in(conn, scope, |sql| {
                sql.push(" AND o.name IN ").texts_in(chunk);
            })
            .await?,
        );
    }
    Ok(out)
}

/// The nodes at `level` within the scope (the city-level nodes a province may import firms
/// into).
pub async fn orgs_at_level(
    conn: &mut AnyConnection,
    scope: &Scope,
    level: OrgLevel,
) -> StoreResult<Vec<Org>> {
    select_in(conn, scope, |sql| {
        sql.push(" AND o.level = ").text(level.code());
    })
    .await
}

/// Put the firms an organisation batch placed back under their city-level node, remove its
/// organisations (deepest first) with their tally rows, and mark it undone; returns how many
/// organisations went. The caller checks [`super::imports::registry_dependents`] first, in the same transaction.
pub async fn undo_orgs(
    conn: &mut AnyConnection,
    batch: i64,
    by: Option<UserId>,
) -> StoreResult<u64> {
    super::firms::release_from_org_batch(conn, batch).await?;
    // The 附件3 drafts the batch filled (the check leaves no other), batches into them that
    // were undone (their records are gone; the audit log keeps them) and uploads waiting there.
    for table in [
        "org_registrations",
        "org_tallies",
        "campaign_tallies",
        "import_uploads",
        "import_batches",
    ] {
        let sql = format!(
            "DELETE FROM {table} WHERE org_id IN (SELECT id FROM orgs WHERE import_batch_id = $1)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(batch)
            .execute(&mut *conn)
            .await?;
    }
    let depths: Vec<i64> = sqlx::query(
        "SELECT DISTINCT depth FROM orgs WHERE import_batch_id = $1 ORDER BY depth DESC",
    )
    .bind(batch)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| r.try_get("depth"))
    .collect::<Result<_, _>>()?;
    let mut gone = 0;
    for depth in depths {
        gone += sqlx::query("DELETE FROM orgs WHERE import_batch_id = $1 AND depth = $2")
            .bind(batch)
            .bind(depth)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    set_undone(conn, batch, by).await?;
    Ok(gone)
}

/// An organisation as the exported roster shows it, with the credit codes of its firms.
#[derive(Debug, Clone)]
pub struct OrgLine {
    pub org: Org,
    pub parent_name: String,
    pub firm_codes: Vec<String>,
}

/// Every organisation of the scope below its top node, in tree order (a parent before its
/// children, so the roster imports again).
pub async fn org_lines(conn: &mut AnyConnection, scope: &Scope) -> StoreResult<Vec<OrgLine>> {
    let Scope::Subtree(path) = scope else {
        return Ok(Vec::new());
    };
    let all = select_in(conn, scope, |sql| {
        sql.push(" ORDER BY o.path");
    })
    .await?;
    let names: std::collections::HashMap<OrgId, String> =
        all.iter().map(|o| (o.id, o.name.clone())).collect();
    let mut codes = super::firms::codes_by_org(conn, path).await?;
    Ok(all
        .into_iter()
        .filter(|o| o.path != *path)
        .map(|org| OrgLine {
            firm_codes: codes.remove(&org.id.0).unwrap_or_default(),
            parent_name: org
                .parent_id
                .and_then(|p| names.get(&p).cloned())
                .unwrap_or_default(),
            org,
        })
        .collect())
}

/// An organisation's particulars as edited in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgChange {
    pub name: String,
    pub kind: OrgKind,
    pub secretary_name: Option<String>,
    pub contact_phone: Option<String>,
    pub formed_on: Option<String>,
    pub organiser_name: Option<String>,
    pub term_start: Option<String>,
    pub term_end: Option<String>,
}

/// Write an organisation's new particulars, its new version beginning `on`; a change of
/// kind recounts its firms as own or joint (the tally triggers watch the firms, not the
/// organisation's kind).
pub async fn update(
    conn: &mut AnyConnection,
    id: OrgId,
    c: &OrgChange,
    on: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE orgs SET name = $1, kind = $2, secretary_name = $3, contact_phone = $4, \
         formed_on = $5, placed_on = $6, organiser_name = $7, term_start = $8, term_end = $9 \
         WHERE id = $10",
    )
    .bind(c.name.clone())
    .bind(c.kind.code())
    .bind(c.secretary_name.clone())
    .bind(c.contact_phone.clone())
    .bind(c.formed_on.clone())
    .bind(on.to_owned())
    .bind(c.organiser_name.clone())
    .bind(c.term_start.clone())
    .bind(c.term_end.clone())
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE org_tallies SET \
         firms_own = (SELECT COUNT(*) FROM firms f JOIN orgs o ON o.id = f.org_id \
                      WHERE f.org_id = $1 AND o.kind <> 'joint_branch'), \
         firms_joint = (SELECT COUNT(*) FROM firms f JOIN orgs o ON o.id = f.org_id \
                        WHERE f.org_id = $1 AND o.kind = 'joint_branch') \
         WHERE org_id = $1",
    )
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether an organisation other than `except` under `parent` already has this name.
pub async fn name_taken(
    conn: &mut AnyConnection,
    parent: OrgId,
    name: &str,
    except: Option<OrgId>,
) -> StoreResult<bool> {
    Ok(sqlx::query(
        "SELECT id FROM orgs WHERE parent_id = $1 AND name = $2 AND id <> $3 \
             AND dissolved_on IS NULL",
    )
    .bind(parent.0)
    .bind(name.to_owned())
    .bind(except.map_or(0, |o| o.0))
    .fetch_optional(&mut *conn)
    .await?
    .is_some())
}

/// Mark an organisation dissolved from `on` (it keeps its row for the records naming it).
pub async fn dissolve(conn: &mut AnyConnection, id: OrgId, on: &str) -> StoreResult<()> {
    sqlx::query("UPDATE orgs SET dissolved_on = $1 WHERE id = $2")
        .bind(on.to_owned())
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// What still hangs under an organisation: its members, the firms it covers, its live
/// children.
pub async fn dependents(conn: &mut AnyConnection, id: OrgId) -> StoreResult<(i64, i64, i64)> {
    let r = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM members WHERE org_id = $1) AS m, \
         (SELECT COUNT(*) FROM firms WHERE org_id = $1) AS f, \
         (SELECT COUNT(*) FROM orgs WHERE parent_id = $1 AND dissolved_on IS NULL) AS c",
    )
    .bind(id.0)
    .fetch_one(&mut *conn)
    .await?;
    Ok((r.try_get("m")?, r.try_get("f")?, r.try_get("c")?))
}

/// Whether an organisation is dissolved.
pub async fn is_dissolved(conn: &mut AnyConnection, id: OrgId) -> StoreResult<bool> {
    Ok(sqlx::query("SELECT dissolved_on FROM orgs WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get::<Option<String>, _>("dissolved_on"))
        .transpose()?
        .flatten()
        .is_some())
}

/// Put the organisation `id` (at `old`) under `new_parent`, its subtree's paths becoming
/// `new`: the organisation rows, the firms it covers (and their city), its members, their
/// forms, survey marks and reviews, its packages, cases and change records. What recorded
/// where things were — the audit log, the roster history, samples, imports, transfers
/// decided — keeps the old paths.
pub async fn reparent(
    conn: &mut AnyConnection,
    id: OrgId,
    (old, new): (&TreePath, &TreePath),
    new_parent: OrgId,
    city: OrgId,
    on: &str,
) -> StoreResult<()> {
    sqlx::query("UPDATE orgs SET parent_id = $1 WHERE id = $2")
        .bind(new_parent.0)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    let cut = old.as_str().chars().count() as i64 + 1;
    for (table, col) in [
        ("orgs", "path"),
        ("firms", "scope_path"),
        ("members", "org_path"),
        ("registrations", "org_path"),
        ("survey_checks", "org_path"),
        ("registration_reviews", "org_path"),
        ("packages", "org_path"),
        ("cases", "org_path"),
        ("cases", "owner_path"),
        ("changes", "org_path"),
    ] {
        let sql = format!(
            "UPDATE {table} SET {col} = $1 || substr({col}, CAST($2 AS INTEGER)) \
             WHERE {col} >= $3 AND {col} < $4"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(new.as_str().to_owned())
            .bind(cut)
            .bind(old.as_str().to_owned())
            .bind(old.upper_bound())
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("UPDATE firms SET city_org_id = $1 WHERE scope_path >= $2 AND scope_path < $3")
        .bind(city.0)
        .bind(new.as_str().to_owned())
        .bind(new.upper_bound())
        .execute(&mut *conn)
        .await?;
    // Every record moved begins its new version `on` (never before its current one began).
    for (table, col) in [
        ("orgs", "path"),
        ("firms", "scope_path"),
        ("members", "org_path"),
    ] {
        let sql = format!(
            "UPDATE {table} SET placed_on = $1 WHERE {col} >= $2 AND {col} < $3 \
             AND (placed_on IS NULL OR placed_on < $1)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(on.to_owned())
            .bind(new.as_str().to_owned())
            .bind(new.upper_bound())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
