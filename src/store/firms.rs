//! Law firms: the firm registry, each firm under a city-level node and covered by its own
//! organisation, a joint branch, or nothing; firms looked up by credit code, inserted and placed
//! by the imports (and the firm references an import reads), a firm batch's undo, and the
//! registry's export lines.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::imports::set_undone;
use super::orgs::{Page, push_path_scope};
use super::sql::{Arg, insert_rows, like_escape};
use super::{Sql, StoreError, StoreResult, now};
use crate::authz::Scope;
use crate::domain::{FirmId, OrgId, OrgKind, TreePath, UserId};

/// How many values go into one `IN (…)` list.
const IN_CHUNK: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firm {
    pub id: FirmId,
    pub name: String,
    pub credit_code: String,
    pub region_code: String,
    pub region_name: Option<String>,
    pub city_org_id: OrgId,
    pub city_org_name: String,
    pub org_id: Option<OrgId>,
    pub org_name: Option<String>,
    pub org_kind: Option<OrgKind>,
    pub scope_path: TreePath,
    pub form: String,
    pub lawyer_count: i64,
}

/// How a firm is covered by party organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    Own,
    Joint,
    None,
}

impl Coverage {
    pub fn of(firm: &Firm) -> Self {
        match firm.org_kind {
            None => Self::None,
            Some(OrgKind::JointBranch) => Self::Joint,
            Some(_) => Self::Own,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Own => "own",
            Self::Joint => "joint",
            Self::None => "none",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        [Self::Own, Self::Joint, Self::None]
            .into_iter()
            .find(|c| c.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Own => "单独建立党组织",
            Self::Joint => "纳入联合党支部",
            Self::None => "未建立党组织",
        }
    }
}

/// 律所组织形式.
pub fn form_label(code: &str) -> &'static str {
    match code {
        "partnership" => "合伙所",
        "state" => "国资所",
        "sole" => "个人所",
        _ => "其他",
    }
}

const SELECT: &str = "SELECT f.id, f.name, f.credit_code, f.region_code, d.name AS region_name, \
     f.city_org_id, c.name AS city_org_name, f.org_id, o.name AS org_name, o.kind AS org_kind, \
     f.scope_path, f.form, f.lawyer_count \
     FROM firms f JOIN orgs c ON c.id = f.city_org_id \
     LEFT JOIN orgs o ON o.id = f.org_id \
     LEFT JOIN divisions d ON d.code = f.region_code";

fn from_row(r: &AnyRow) -> StoreResult<Firm> {
    let path: String = r.try_get("scope_path")?;
    let kind: Option<String> = r.try_get("org_kind")?;
    Ok(Firm {
        id: FirmId(r.try_get("id")?),
        name: r.try_get("name")?,
        credit_code: r.try_get("credit_code")?,
        region_code: r.try_get("region_code")?,
        region_name: r.try_get("region_name")?,
        city_org_id: OrgId(r.try_get("city_org_id")?),
        city_org_name: r.try_get("city_org_name")?,
        org_id: r.try_get::<Option<i64>, _>("org_id")?.map(OrgId),
        org_name: r.try_get("org_name")?,
        org_kind: kind.as_deref().and_then(OrgKind::from_code),
        scope_path: TreePath::parse(&path)
            .ok_or_else(|| StoreError::Corrupt(format!("firm scope path {path}")))?,
        form: r.try_get("form")?,
        lawyer_count: r.try_get("lawyer_count")?,
    })
}

pub async fn get(conn: &mut AnyConnection, id: FirmId) -> StoreResult<Option<Firm>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE f.id = ").int(id.0);
    match sql.query().fetch_optional(&mut *conn).await? {
        Some(r) => Ok(Some(from_row(&r)?)),
        None => Ok(None),
    }
}

#[derive(Debug, Clone, Default)]
pub struct FirmFilter {
    pub name: Option<String>,
    pub coverage: Option<Coverage>,
    /// Only the firms covered by this organisation.
    pub org: Option<OrgId>,
    pub sort: FirmSort,
    pub page: i64,
    pub per_page: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FirmSort {
    #[default]
    Name,
    Region,
    LawyersDesc,
}

pub async fn list(
    conn: &mut AnyConnection,
    scope: &Scope,
    f: &FirmFilter,
) -> StoreResult<Page<Firm>> {
    let path = match scope {
        Scope::Subtree(p) => p,
        Scope::OwnRecord(_) => return Ok(Page::from_rows(Vec::new(), 1, f.per_page)),
    };
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE 1 = 1");
    push_path_scope(&mut sql, "f.scope_path", path);
    if let Some(name) = f.name.as_deref().filter(|n| !n.is_empty()) {
        sql.push(" AND f.name LIKE ")
            .text(format!("%{}%", like_escape(name)))
            .push(" ESCAPE '\\'");
    }
    match f.coverage {
        Some(Coverage::None) => {
            sql.push(" AND f.org_id IS NULL");
        }
        Some(Coverage::Joint) => {
            sql.push(" AND o.kind = ").text(OrgKind::JointBranch.code());
        }
        Some(Coverage::Own) => {
            sql.push(" AND f.org_id IS NOT NULL AND o.kind <> ")
                .text(OrgKind::JointBranch.code());
        }
        None => {}
    }
    if let Some(org) = f.org {
        sql.push(" AND f.org_id = ").int(org.0);
    }
    sql.push(match f.sort {
        FirmSort::Name => " ORDER BY f.name, f.id",
        FirmSort::Region => " ORDER BY f.region_code, f.name, f.id",
        FirmSort::LawyersDesc => " ORDER BY f.lawyer_count DESC, f.id",
    });
    sql.push(" LIMIT ")
        .int(f.per_page + 1)
        .push(" OFFSET ")
        .int((f.page - 1) * f.per_page);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let items = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, f.page, f.per_page))
}

/// A firm on record, as the registry import needs it (looked up nationwide by credit code).
#[derive(Debug, Clone)]
pub struct KnownFirm {
    pub id: FirmId,
    pub credit_code: String,
    pub name: String,
    pub city_org_id: OrgId,
    pub city_name: String,
    pub org_id: Option<OrgId>,
    pub org_name: Option<String>,
    pub scope_path: TreePath,
    pub member_count: i64,
}

/// The firms with these (upper-case) credit codes, wherever they are.
pub async fn firms_by_codes(
    conn: &mut AnyConnection,
    codes: &[String],
) -> StoreResult<Vec<KnownFirm>> {
    let mut out = Vec::new();
    for chunk in codes.chunks(IN_CHUNK) {
        let mut sql = Sql::new(
            "SELECT f.id, f.credit_code, f.name, f.city_org_id, c.name AS city_name, f.org_id, \
             o.name AS org_name, f.scope_path, f.member_count FROM firms f \
             JOIN orgs c ON c.id = f.city_org_id LEFT JOIN orgs o ON o.id = f.org_id \
             WHERE f.credit_code IN ",
        );
        sql.texts_in(chunk);
        for r in sql.query().fetch_all(&mut *conn).await? {
            let path: String = r.try_get("scope_path")?;
            out.push(KnownFirm {
                id: FirmId(r.try_get("id")?),
                credit_code: r.try_get("credit_code")?,
                name: r.try_get("name")?,
                city_org_id: OrgId(r.try_get("city_org_id")?),
                city_name: r.try_get("city_name")?,
                org_id: r.try_get::<Option<i64>, _>("org_id")?.map(OrgId),
                org_name: r.try_get("org_name")?,
                scope_path: TreePath::parse(&path)
                    .ok_or_else(|| StoreError::Corrupt(format!("firm scope path {path}")))?,
                member_count: r.try_get("member_count")?,
            });
        }
    }
    Ok(out)
}

/// A firm to insert under a city-level node (not yet covered by any organisation).
#[derive(Debug, Clone)]
pub struct NewFirm {
    pub name: String,
    pub credit_code: String,
    pub region_code: String,
    pub city_org_id: OrgId,
    pub city_path: TreePath,
    pub form: String,
    pub lawyer_count: i64,
}

/// Insert firms with multi-row statements (the tally triggers count each in).
pub async fn insert_firms(
    conn: &mut AnyConnection,
    firms: &[NewFirm],
    batch: i64,
) -> StoreResult<()> {
    let at = now();
    let placed_on = super::roster::placement_date(conn).await?;
    let rows = firms
        .iter()
        .map(|f| {
            vec![
                Arg::Text(f.name.clone()),
                Arg::Text(f.credit_code.clone()),
                Arg::Text(f.region_code.clone()),
                Arg::Int(f.city_org_id.0),
                Arg::NullInt,
                Arg::Text(f.city_path.as_str().to_owned()),
                Arg::Text(f.form.clone()),
                Arg::Int(f.lawyer_count),
                Arg::Int(at),
                Arg::Int(batch),
                Arg::opt_text(placed_on.clone()),
            ]
        })
        .collect();
    insert_rows(
        conn,
        "firms",
        "name, credit_code, region_code, city_org_id, org_id, scope_path, form, lawyer_count, \
         created_at, import_batch_id, placed_on",
        rows,
    )
    .await?;
    Ok(())
}

/// Place firms under their new organisation (recorded against the batch, to put them back),
/// only while they still have no organisation and no members; returns how many were placed.
pub async fn place_firms(
    conn: &mut AnyConnection,
    firms: &[FirmId],
    org: (OrgId, &TreePath),
    batch: i64,
) -> StoreResult<u64> {
    let mut placed = 0;
    for chunk in firms.chunks(IN_CHUNK) {
        let mut sql = Sql::new("UPDATE firms SET org_id = ");
        sql.int(org.0.0)
            .push(", scope_path = ")
            .text(org.1.as_str())
            .push(", org_batch_id = ")
            .int(batch)
            .push(" WHERE org_id IS NULL AND member_count = 0 AND id IN (");
        for (i, f) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.int(f.0);
        }
        sql.push(")");
        placed += sql.query().execute(&mut *conn).await?.rows_affected();
    }
    Ok(placed)
}

/// Remove a firm batch's firms (the tally triggers count them out) and mark it undone; returns
/// how many went. The caller checks [`super::imports::registry_dependents`] first, in the same transaction.
pub async fn undo_firms(
    conn: &mut AnyConnection,
    batch: i64,
    by: Option<UserId>,
) -> StoreResult<u64> {
    let gone = sqlx::query("DELETE FROM firms WHERE import_batch_id = $1")
        .bind(batch)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    set_undone(conn, batch, by).await?;
    Ok(gone)
}

/// A firm as the exported registry shows it.
#[derive(Debug, Clone)]
pub struct FirmLine {
    pub name: String,
    pub credit_code: String,
    pub region_code: String,
    pub form: String,
    pub lawyer_count: i64,
    pub city_name: String,
    pub org_name: Option<String>,
    pub org_kind: Option<String>,
    pub member_count: i64,
}

/// Every firm within the scope, by city (tree order) then name.
pub async fn firm_lines(conn: &mut AnyConnection, scope: &Scope) -> StoreResult<Vec<FirmLine>> {
    let Scope::Subtree(path) = scope else {
        return Ok(Vec::new());
    };
    let mut sql = Sql::new(
        "SELECT f.name, f.credit_code, f.region_code, f.form, f.lawyer_count, c.name AS city_name, \
         o.name AS org_name, o.kind AS org_kind, f.member_count FROM firms f \
         JOIN orgs c ON c.id = f.city_org_id LEFT JOIN orgs o ON o.id = f.org_id WHERE 1 = 1",
    );
    push_path_scope(&mut sql, "f.scope_path", path);
    sql.push(" ORDER BY c.path, f.name, f.id");
    sql.query()
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(FirmLine {
                name: r.try_get("name")?,
                credit_code: r.try_get("credit_code")?,
                region_code: r.try_get("region_code")?,
                form: r.try_get("form")?,
                lawyer_count: r.try_get("lawyer_count")?,
                city_name: r.try_get("city_name")?,
                org_name: r.try_get("org_name")?,
                org_kind: r.try_get("org_kind")?,
                member_count: r.try_get("member_count")?,
            })
        })
        .collect()
}

/// A firm as the import needs it.
#[derive(Debug, Clone)]
pub struct FirmRef {
    pub id: FirmId,
    pub credit_code: String,
    pub org_id: Option<OrgId>,
    pub city_org_id: OrgId,
    pub scope_path: TreePath,
}

fn firm_ref(r: &sqlx::any::AnyRow) -> StoreResult<FirmRef> {
    let p: String = r.try_get("scope_path")?;
    Ok(FirmRef {
        id: FirmId(r.try_get("id")?),
        credit_code: r.try_get("credit_code")?,
        org_id: r.try_get::<Option<i64>, _>("org_id")?.map(OrgId),
        city_org_id: OrgId(r.try_get("city_org_id")?),
        scope_path: TreePath::parse(&p)
            .ok_or(super::StoreError::Corrupt("firms.scope_path".into()))?,
    })
}

/// Every firm within a subtree.
pub async fn refs_under(conn: &mut AnyConnection, scope: &Scope) -> StoreResult<Vec<FirmRef>> {
    let Scope::Subtree(path) = scope else {
        return Ok(Vec::new());
    };
    let rows = sqlx::query(
        "SELECT id, credit_code, org_id, city_org_id, scope_path FROM firms \
         WHERE scope_path >= $1 AND scope_path < $2",
    )
    .bind(path.as_str().to_owned())
    .bind(path.upper_bound())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(firm_ref).collect()
}

/// The firms with these credit codes within a subtree (upper-case codes).
pub async fn refs_by_codes(
    conn: &mut AnyConnection,
    codes: &[String],
    scope: &Scope,
) -> StoreResult<Vec<FirmRef>> {
    let Scope::Subtree(path) = scope else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for chunk in codes.chunks(IN_CHUNK) {
        let mut sql = super::Sql::new(
            "SELECT id, credit_code, org_id, city_org_id, scope_path FROM firms WHERE scope_path >= ",
        );
        sql.anonymous_on(conn);
        sql.text(path.as_str().to_owned())
            .push(" AND scope_path < ")
            .text(path.upper_bound())
            .push(" AND credit_code IN ")
            .texts_in(chunk);
        for r in sql.query().fetch_all(&mut *conn).await? {
            out.push(firm_ref(&r)?);
        }
    }
    Ok(out)
}

/// The firms whose own party organisation is `org` (a firm importing into itself).
pub async fn refs_of_org(conn: &mut AnyConnection, org: OrgId) -> StoreResult<Vec<FirmRef>> {
    let rows = sqlx::query(
        "SELECT id, credit_code, org_id, city_org_id, scope_path FROM firms WHERE org_id = $1",
    )
    .bind(org.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(firm_ref).collect()
}

/// Put the firms an organisation batch placed back under their city-level node (its undo).
pub async fn release_from_org_batch(conn: &mut AnyConnection, batch: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE firms SET org_id = NULL, org_batch_id = NULL, \
         scope_path = (SELECT c.path FROM orgs c WHERE c.id = firms.city_org_id) \
         WHERE org_batch_id = $1",
    )
    .bind(batch)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The credit codes of the covered firms within `path`, by the id of the organisation that
/// covers them, each list in code order.
pub async fn codes_by_org(
    conn: &mut AnyConnection,
    path: &TreePath,
) -> StoreResult<std::collections::HashMap<i64, Vec<String>>> {
    let mut codes: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
    let mut sql =
        Sql::new("SELECT f.org_id, f.credit_code FROM firms f WHERE f.org_id IS NOT NULL");
    push_path_scope(&mut sql, "f.scope_path", path);
    sql.push(" ORDER BY f.credit_code");
    for r in sql.query().fetch_all(&mut *conn).await? {
        codes
            .entry(r.try_get("org_id")?)
            .or_default()
            .push(r.try_get("credit_code")?);
    }
    Ok(codes)
}

/// A firm's particulars as edited in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmChange {
    pub name: String,
    pub credit_code: String,
    pub region_code: String,
    pub form: String,
    pub lawyer_count: i64,
}

/// Whether another firm already has this credit code.
pub async fn credit_code_taken(
    conn: &mut AnyConnection,
    code: &str,
    except: FirmId,
) -> StoreResult<bool> {
    Ok(
        sqlx::query("SELECT id FROM firms WHERE credit_code = $1 AND id <> $2")
            .bind(code.to_owned())
            .bind(except.0)
            .fetch_optional(&mut *conn)
            .await?
            .is_some(),
    )
}

/// Write a firm's new particulars, its new version beginning `on`.
pub async fn update(
    conn: &mut AnyConnection,
    id: FirmId,
    c: &FirmChange,
    on: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE firms SET name = $1, credit_code = $2, region_code = $3, form = $4, \
         lawyer_count = $5, placed_on = $6 WHERE id = $7",
    )
    .bind(c.name.clone())
    .bind(c.credit_code.clone())
    .bind(c.region_code.clone())
    .bind(c.form.clone())
    .bind(c.lawyer_count)
    .bind(on.to_owned())
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Put a firm under another organisation (`None`: none, directly under its city), its new
/// version beginning `on` (the tally triggers move its counts).
pub async fn set_org(
    conn: &mut AnyConnection,
    id: FirmId,
    org: Option<OrgId>,
    scope_path: &TreePath,
    on: &str,
) -> StoreResult<()> {
    sqlx::query("UPDATE firms SET org_id = $1, scope_path = $2, placed_on = $3 WHERE id = $4")
        .bind(org.map(|o| o.0))
        .bind(scope_path.as_str().to_owned())
        .bind(on.to_owned())
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Remove a closed firm (注销) that has no members left; false when it still has some (the
/// caller keeps its last version in the roster history first).
pub async fn delete_empty(conn: &mut AnyConnection, id: FirmId) -> StoreResult<bool> {
    let gone = sqlx::query(
        "DELETE FROM firms WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM members m WHERE m.firm_id = $1)",
    )
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    Ok(gone.rows_affected() == 1)
}

/// A firm found nationwide by its exact credit code or a part of its name, with only what a
/// transfer's sender may know of it: its name and the organisation that would receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundFirm {
    pub id: FirmId,
    pub name: String,
    /// The covering organisation, or the city-level node when it has none.
    pub org_id: OrgId,
    pub org_name: String,
}

pub async fn find_nationwide(
    conn: &mut AnyConnection,
    query: &str,
    limit: i64,
) -> StoreResult<Vec<FoundFirm>> {
    let mut sql = Sql::new(
        "SELECT f.id, f.name, o.id AS org_id, o.name AS org_name FROM firms f \
         JOIN orgs o ON o.id = COALESCE(f.org_id, f.city_org_id) WHERE f.credit_code = ",
    );
    sql.text(query.to_owned())
        .push(" OR f.name LIKE ")
        .text(format!("%{}%", like_escape(query)))
        .push(" ESCAPE '\\' ORDER BY f.name, f.id LIMIT ")
        .int(limit);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            Ok(FoundFirm {
                id: FirmId(r.try_get("id")?),
                name: r.try_get("name")?,
                org_id: OrgId(r.try_get("org_id")?),
                org_name: r.try_get("org_name")?,
            })
        })
        .collect()
}
