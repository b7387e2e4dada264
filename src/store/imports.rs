//! Import batches (who imported which file into which node, with what counts, and whether it
//! was undone), uploads waiting for the user's decision, and the lookups an import needs:
//! firms of a subtree and nationwide duplicates by ID index or licence number.

use sqlx::{AnyConnection, Row};

use super::sql::Arg;
use super::{StoreResult, now};
use crate::authz::Scope;
use crate::domain::{FirmId, OrgId, TreePath, UserId};

/// How many values go into one `IN (…)` list.
const IN_CHUNK: usize = 500;

#[derive(Debug, Clone)]
pub struct NewBatch<'a> {
    pub kind: &'a str,
    pub org_id: OrgId,
    pub org_path: &'a TreePath,
    pub file_name: &'a str,
    pub file_sha256: &'a str,
    pub mode: &'a str,
    pub rows_total: i64,
    pub rows_imported: i64,
    pub rows_skipped: i64,
    pub warnings: i64,
    pub by: Option<UserId>,
    pub by_name: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub id: i64,
    pub kind: String,
    pub org_id: OrgId,
    pub org_path: TreePath,
    pub file_name: String,
    pub mode: String,
    pub rows_total: i64,
    pub rows_imported: i64,
    pub rows_skipped: i64,
    pub warnings: i64,
    pub created_at: i64,
    pub created_by_name: String,
    pub undone_at: Option<i64>,
}

pub async fn insert_batch(conn: &mut AnyConnection, b: &NewBatch<'_>) -> StoreResult<i64> {
    Ok(sqlx::query(
        "INSERT INTO import_batches (kind, org_id, org_path, file_name, file_sha256, mode, \
         rows_total, rows_imported, rows_skipped, warnings, created_at, created_by, \
         created_by_name, undone_at, undone_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL, NULL) RETURNING id",
    )
    .bind(b.kind.to_owned())
    .bind(b.org_id.0)
    .bind(b.org_path.as_str().to_owned())
    .bind(b.file_name.to_owned())
    .bind(b.file_sha256.to_owned())
    .bind(b.mode.to_owned())
    .bind(b.rows_total)
    .bind(b.rows_imported)
    .bind(b.rows_skipped)
    .bind(b.warnings)
    .bind(now())
    .bind(b.by.map(|u| u.0))
    .bind(b.by_name.to_owned())
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

const BATCH_COLUMNS: &str = "id, kind, org_id, org_path, file_name, mode, rows_total, \
     rows_imported, rows_skipped, warnings, created_at, created_by_name, undone_at";

fn batch_from(r: &sqlx::any::AnyRow) -> StoreResult<Batch> {
    let path: String = r.try_get("org_path")?;
    Ok(Batch {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        org_id: OrgId(r.try_get("org_id")?),
        org_path: TreePath::parse(&path)
            .ok_or(super::StoreError::Corrupt("import_batches.org_path".into()))?,
        file_name: r.try_get("file_name")?,
        mode: r.try_get("mode")?,
        rows_total: r.try_get("rows_total")?,
        rows_imported: r.try_get("rows_imported")?,
        rows_skipped: r.try_get("rows_skipped")?,
        warnings: r.try_get("warnings")?,
        created_at: r.try_get("created_at")?,
        created_by_name: r.try_get("created_by_name")?,
        undone_at: r.try_get("undone_at")?,
    })
}

pub async fn get_batch(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<Batch>> {
    let sql = format!("SELECT {BATCH_COLUMNS} FROM import_batches WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(batch_from).transpose()
}

/// The latest batches imported into the scope, newest first.
pub async fn batches_under(
    conn: &mut AnyConnection,
    scope: &Scope,
    limit: i64,
) -> StoreResult<Vec<Batch>> {
    let Scope::Subtree(path) = scope else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT {BATCH_COLUMNS} FROM import_batches WHERE org_path >= $1 AND org_path < $2 \
         ORDER BY id DESC LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(path.as_str().to_owned())
        .bind(path.upper_bound())
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(batch_from).collect()
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

/// Every firm whose scope lies in the scope.
pub async fn firms_under(conn: &mut AnyConnection, scope: &Scope) -> StoreResult<Vec<FirmRef>> {
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
    rows.iter()
        .map(|r| {
            let p: String = r.try_get("scope_path")?;
            Ok(FirmRef {
                id: FirmId(r.try_get("id")?),
                credit_code: r.try_get("credit_code")?,
                org_id: r.try_get::<Option<i64>, _>("org_id")?.map(OrgId),
                city_org_id: OrgId(r.try_get("city_org_id")?),
                scope_path: TreePath::parse(&p)
                    .ok_or(super::StoreError::Corrupt("firms.scope_path".into()))?,
            })
        })
        .collect()
}

/// A member already on record with one of the looked-up keys.
#[derive(Debug, Clone)]
pub struct Existing {
    pub key: String,
    pub name: String,
    pub org_path: String,
}

async fn existing_by(
    conn: &mut AnyConnection,
    column: &'static str,
    keys: &[String],
) -> StoreResult<Vec<Existing>> {
    let mut out = Vec::new();
    for chunk in keys.chunks(IN_CHUNK) {
        let mut sql = super::Sql::new(&format!(
            "SELECT {column} AS k, name, org_path FROM members WHERE {column} IN ("
        ));
        sql.anonymous_on(conn);
        for (i, k) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.text(k.clone());
        }
        sql.push(")");
        for r in sql.query().fetch_all(&mut *conn).await? {
            out.push(Existing {
                key: r.try_get("k")?,
                name: r.try_get("name")?,
                org_path: r.try_get("org_path")?,
            });
        }
    }
    Ok(out)
}

/// Members anywhere in the country with one of these ID blind indexes.
pub async fn existing_ids(conn: &mut AnyConnection, keys: &[String]) -> StoreResult<Vec<Existing>> {
    existing_by(conn, "citizen_id_index", keys).await
}

/// Members anywhere in the country with one of these licence numbers.
pub async fn existing_licences(
    conn: &mut AnyConnection,
    keys: &[String],
) -> StoreResult<Vec<Existing>> {
    existing_by(conn, "licence_no", keys).await
}

/// The members a batch created: id and ID blind index.
pub async fn members_of_batch(
    conn: &mut AnyConnection,
    batch: i64,
) -> StoreResult<Vec<(i64, String)>> {
    let rows = sqlx::query("SELECT id, citizen_id_index FROM members WHERE import_batch_id = $1")
        .bind(batch)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("citizen_id_index")?)))
        .collect()
}

/// Registrations (drafts) for imported members: `(member_id, org_path, form_code, data)`.
pub async fn insert_drafts(
    conn: &mut AnyConnection,
    campaign_id: i64,
    by: Option<UserId>,
    rows: Vec<(i64, String, &'static str, String)>,
) -> StoreResult<()> {
    let t = now();
    let args = rows
        .into_iter()
        .map(|(member, path, form, data)| {
            vec![
                Arg::Int(campaign_id),
                Arg::Int(member),
                Arg::Text(path),
                Arg::Text(form.to_owned()),
                Arg::Text(data),
                Arg::Text("draft".to_owned()),
                Arg::Int(1),
                Arg::Int(t),
                Arg::opt_int(by.map(|u| u.0)),
            ]
        })
        .collect();
    super::sql::insert_rows_at_once(
        conn,
        "registrations",
        "campaign_id, member_id, org_path, form_code, data, state, version, updated_at, updated_by",
        args,
    )
    .await?;
    Ok(())
}

/// What depends on a batch's members, which forbids undoing it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dependents {
    /// Forms saved, submitted, reviewed or returned since the import.
    pub forms_changed: i64,
    /// Members given a login (activation code).
    pub accounts: i64,
    /// Members checked in the 摸底核查.
    pub surveyed: i64,
}

impl Dependents {
    pub fn any(&self) -> bool {
        self.forms_changed + self.accounts + self.surveyed > 0
    }
}

pub async fn dependents(conn: &mut AnyConnection, batch: i64) -> StoreResult<Dependents> {
    let r = sqlx::query(
        "SELECT \
         (SELECT COUNT(*) FROM registrations r JOIN members m ON m.id = r.member_id \
          WHERE m.import_batch_id = $1 AND (r.state <> 'draft' OR r.version <> 1)) AS forms, \
         (SELECT COUNT(*) FROM users u JOIN members m ON m.id = u.member_id \
          WHERE m.import_batch_id = $1) AS accounts, \
         (SELECT COUNT(*) FROM survey_checks s JOIN members m ON m.id = s.member_id \
          WHERE m.import_batch_id = $1) AS surveyed",
    )
    .bind(batch)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Dependents {
        forms_changed: r.try_get("forms")?,
        accounts: r.try_get("accounts")?,
        surveyed: r.try_get("surveyed")?,
    })
}

/// Remove a batch's members and their draft forms and mark the batch undone; returns how many
/// members went. The caller checks [`dependents`] first, in the same transaction.
pub async fn undo(conn: &mut AnyConnection, batch: i64, by: Option<UserId>) -> StoreResult<u64> {
    sqlx::query(
        "DELETE FROM registrations WHERE member_id IN \
         (SELECT id FROM members WHERE import_batch_id = $1)",
    )
    .bind(batch)
    .execute(&mut *conn)
    .await?;
    let gone = sqlx::query("DELETE FROM members WHERE import_batch_id = $1")
        .bind(batch)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    sqlx::query("UPDATE import_batches SET undone_at = $1, undone_by = $2 WHERE id = $3")
        .bind(now())
        .bind(by.map(|u| u.0))
        .bind(batch)
        .execute(&mut *conn)
        .await?;
    Ok(gone)
}

/// An upload waiting for the user's decision after the dry run.
#[derive(Debug, Clone)]
pub struct Upload {
    pub id: i64,
    pub user_id: Option<UserId>,
    pub org_id: OrgId,
    pub file_name: String,
    pub content_enc: Vec<u8>,
    pub expires_at: i64,
}

pub async fn insert_upload(
    conn: &mut AnyConnection,
    user: Option<UserId>,
    org: OrgId,
    file_name: &str,
    content_enc: Vec<u8>,
    expires_at: i64,
) -> StoreResult<i64> {
    Ok(sqlx::query(
        "INSERT INTO import_uploads (user_id, org_id, file_name, content_enc, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(user.map(|u| u.0))
    .bind(org.0)
    .bind(file_name.to_owned())
    .bind(content_enc)
    .bind(now())
    .bind(expires_at)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

pub async fn get_upload(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<Upload>> {
    let row = sqlx::query(
        "SELECT id, user_id, org_id, file_name, content_enc, expires_at FROM import_uploads \
         WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(Upload {
            id: r.try_get("id")?,
            user_id: r.try_get::<Option<i64>, _>("user_id")?.map(UserId),
            org_id: OrgId(r.try_get("org_id")?),
            file_name: r.try_get("file_name")?,
            content_enc: r.try_get("content_enc")?,
            expires_at: r.try_get("expires_at")?,
        })
    })
    .transpose()
}

/// Forget an upload, and every upload past its expiry.
pub async fn delete_upload(conn: &mut AnyConnection, id: i64) -> StoreResult<()> {
    sqlx::query("DELETE FROM import_uploads WHERE id = $1 OR expires_at < $2")
        .bind(id)
        .bind(now())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
