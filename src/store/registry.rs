//! Storage for the firm registry and organisation imports: lookups by credit code and by name,
//! inserting imported firms and organisations under a batch, placing firms under a new
//! organisation, and undoing such a batch.

use sqlx::{AnyConnection, Row};

use super::orgs::{self, Org};
use super::sql::{Arg, insert_rows};
use super::{Sql, StoreError, StoreResult, now};
use crate::authz::Scope;
use crate::domain::{FirmId, OrgId, OrgLevel, TreePath, UserId};

/// How many values go into one `IN (…)` list.
const IN_CHUNK: usize = 500;

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

/// The organisations within the scope whose name is one of `names`.
pub async fn orgs_named(
    conn: &mut AnyConnection,
    scope: &Scope,
    names: &[String],
) -> StoreResult<Vec<Org>> {
    let mut out = Vec::new();
    for chunk in names.chunks(IN_CHUNK) {
        out.extend(
            orgs::select_in(conn, scope, |sql| {
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
    orgs::select_in(conn, scope, |sql| {
        sql.push(" AND o.level = ").text(level.code());
    })
    .await
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
            ]
        })
        .collect();
    insert_rows(
        conn,
        "firms",
        "name, credit_code, region_code, city_org_id, org_id, scope_path, form, lawyer_count, \
         created_at, import_batch_id",
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

/// What hangs under a registry batch, which forbids undoing it: each a count and what it is.
pub async fn dependents(
    conn: &mut AnyConnection,
    batch: i64,
    orgs_batch: bool,
) -> StoreResult<Vec<(i64, &'static str)>> {
    let checks: &[(&str, &'static str)] = if orgs_batch {
        &[
            (
                "SELECT COUNT(*) AS n FROM orgs c JOIN orgs p ON p.id = c.parent_id \
                 WHERE p.import_batch_id = $1 AND (c.import_batch_id IS NULL OR c.import_batch_id <> $1)",
                "个下级党组织已在其下建立",
            ),
            (
                "SELECT COUNT(*) AS n FROM members m JOIN orgs o ON o.id = m.org_id \
                 WHERE o.import_batch_id = $1",
                "名党员已登记在这些党组织",
            ),
            (
                "SELECT COUNT(*) AS n FROM users u JOIN orgs o ON o.id = u.org_id \
                 WHERE o.import_batch_id = $1",
                "个工作账号已开设在这些党组织",
            ),
            (
                "SELECT COUNT(*) AS n FROM firms f JOIN orgs o ON o.id = f.city_org_id \
                 WHERE o.import_batch_id = $1",
                "个律师事务所已登记在这些党组织之下",
            ),
            (
                "SELECT COUNT(*) AS n FROM firms f JOIN orgs o ON o.id = f.org_id \
                 WHERE o.import_batch_id = $1 AND (f.org_batch_id IS NULL OR f.org_batch_id <> $1)",
                "个律师事务所已另行纳入这些党组织",
            ),
            (
                "SELECT COUNT(*) AS n FROM org_registrations r JOIN orgs o ON o.id = r.org_id \
                 WHERE o.import_batch_id = $1 \
                 AND NOT (COALESCE(r.import_batch_id, 0) = $1 AND r.version = 1)",
                "份党组织基本信息登记表（附件3）已填写",
            ),
            (
                "SELECT COUNT(*) AS n FROM packages p JOIN orgs o ON o.id = p.org_id \
                 WHERE o.import_batch_id = $1",
                "份报送材料已形成",
            ),
            (
                "SELECT (SELECT COUNT(*) FROM deadline_extensions d JOIN orgs o ON o.id = d.org_id \
                 WHERE o.import_batch_id = $1) + (SELECT COUNT(*) FROM overdue_marks d \
                 JOIN orgs o ON o.id = d.org_id WHERE o.import_batch_id = $1) AS n",
                "条延期或逾期记录已产生",
            ),
            (
                "SELECT (SELECT COUNT(*) FROM import_batches b JOIN orgs o ON o.id = b.org_id \
                 WHERE o.import_batch_id = $1 AND b.undone_at IS NULL) AS n",
                "批导入已进入这些党组织（请先撤销那些批次）",
            ),
        ]
    } else {
        &[
            (
                "SELECT COUNT(*) AS n FROM members m JOIN firms f ON f.id = m.firm_id \
                 WHERE f.import_batch_id = $1",
                "名党员已登记在这些律师事务所",
            ),
            (
                "SELECT COUNT(*) AS n FROM firms WHERE import_batch_id = $1 AND org_id IS NOT NULL",
                "个律师事务所已纳入党组织",
            ),
        ]
    };
    let mut out = Vec::new();
    for (sql, what) in checks {
        let n: i64 = sqlx::query(sqlx::AssertSqlSafe(*sql))
            .bind(batch)
            .fetch_one(&mut *conn)
            .await?
            .try_get("n")?;
        if n > 0 {
            out.push((n, *what));
        }
    }
    Ok(out)
}

fn mark_undone(by: Option<UserId>) -> (i64, Option<i64>) {
    (now(), by.map(|u| u.0))
}

/// Remove a firm batch's firms (the tally triggers count them out) and mark it undone; returns
/// how many went. The caller checks [`dependents`] first, in the same transaction.
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

/// Put the firms an organisation batch placed back under their city-level node, remove its
/// organisations (deepest first) with their tally rows, and mark it undone; returns how many
/// organisations went. The caller checks [`dependents`] first, in the same transaction.
pub async fn undo_orgs(
    conn: &mut AnyConnection,
    batch: i64,
    by: Option<UserId>,
) -> StoreResult<u64> {
    sqlx::query(
        "UPDATE firms SET org_id = NULL, org_batch_id = NULL, \
         scope_path = (SELECT c.path FROM orgs c WHERE c.id = firms.city_org_id) \
         WHERE org_batch_id = $1",
    )
    .bind(batch)
    .execute(&mut *conn)
    .await?;
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

async fn set_undone(conn: &mut AnyConnection, batch: i64, by: Option<UserId>) -> StoreResult<()> {
    let (at, by) = mark_undone(by);
    sqlx::query("UPDATE import_batches SET undone_at = $1, undone_by = $2 WHERE id = $3")
        .bind(at)
        .bind(by)
        .bind(batch)
        .execute(&mut *conn)
        .await?;
    Ok(())
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
    orgs::push_path_scope(&mut sql, "f.scope_path", path);
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
    let all = orgs::select_in(conn, scope, |sql| {
        sql.push(" ORDER BY o.path");
    })
    .await?;
    let names: std::collections::HashMap<OrgId, String> =
        all.iter().map(|o| (o.id, o.name.clone())).collect();
    let mut codes: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
    let mut sql =
        Sql::new("SELECT f.org_id, f.credit_code FROM firms f WHERE f.org_id IS NOT NULL");
    orgs::push_path_scope(&mut sql, "f.scope_path", path);
    sql.push(" ORDER BY f.credit_code");
    for r in sql.query().fetch_all(&mut *conn).await? {
        codes
            .entry(r.try_get("org_id")?)
            .or_default()
            .push(r.try_get("credit_code")?);
    }
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
