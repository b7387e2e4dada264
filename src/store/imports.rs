//! Import batches (who imported which file into which node, with what counts, and whether it
//! was undone), uploads waiting for the user's decision, and the lookups an import needs:
//! nationwide duplicates by ID index or licence number (the firm lookups are in `firms`).

use sqlx::{AnyConnection, Row};

use super::members::NewMember;
use super::{StoreResult, now};
use crate::authz::Scope;
use crate::domain::{OrgId, TreePath, UserId};

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

/// A member already on record with one of the looked-up keys.
#[derive(Debug, Clone)]
pub struct Existing {
    pub key: String,
    pub name: String,
    pub org_path: String,
    /// The organisation the member is registered in.
    pub org_name: String,
}

async fn existing_by(
    conn: &mut AnyConnection,
    column: &'static str,
    keys: &[String],
) -> StoreResult<Vec<Existing>> {
    let mut out = Vec::new();
    for chunk in keys.chunks(IN_CHUNK) {
        let mut sql = super::Sql::new(&format!(
            "SELECT m.{column} AS k, m.name, m.org_path, o.name AS org_name FROM members m \
             JOIN orgs o ON o.id = m.org_id WHERE m.{column} IN ("
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
                org_name: r.try_get("org_name")?,
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

/// A batch's counts, known once the whole file was checked: rows, imported, skipped, warnings.
pub async fn set_batch_counts(
    conn: &mut AnyConnection,
    batch: i64,
    [total, imported, skipped, warnings]: [i64; 4],
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE import_batches SET rows_total = $1, rows_imported = $2, rows_skipped = $3, \
         warnings = $4 WHERE id = $5",
    )
    .bind(total)
    .bind(imported)
    .bind(skipped)
    .bind(warnings)
    .bind(batch)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A JSON string literal.
fn push_json_str(out: &mut String, s: &str) {
    out.push_str(&serde_json::Value::from(s).to_string());
}

/// One imported member as a JSON array, for [`insert_members`]: the columns of
/// `members::INSERT_COLUMNS` up to `org_path`, the encrypted ID number in hex. Built by the
/// import's checker thread, off the path of the one writing connection.
pub fn member_row(m: &NewMember) -> String {
    let mut out = String::with_capacity(512);
    out.push('[');
    for (i, text) in [
        Some(m.name.as_str()),
        Some(m.sex.as_str()),
        Some(m.ethnicity.as_str()),
        Some(m.birth_date.as_str()),
        None,
        Some(m.citizen_id_index.as_str()),
        Some(m.citizen_id_masked.as_str()),
        Some(m.category.as_str()),
        m.practice_type.as_deref(),
        m.licence_no.as_deref(),
        Some(m.education.as_str()),
        Some(m.party_status.as_str()),
        Some(m.joined_on.as_str()),
        m.full_member_on.as_deref(),
        Some(m.mobile.as_str()),
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            out.push(',');
        }
        match (i, text) {
            (4, _) => {
                out.push('"');
                out.push_str(&hex::encode(&m.citizen_id_enc));
                out.push('"');
            }
            (_, Some(t)) => push_json_str(&mut out, t),
            (_, None) => out.push_str("null"),
        }
    }
    out.push_str(&format!(",{},{},", m.firm_id.0, m.org_id.0));
    push_json_str(&mut out, m.org_path.as_str());
    out.push(']');
    out
}

/// Insert imported members given as [`member_row`]s, in one statement: the new ids with
/// their ID blind indexes.
pub async fn insert_members(
    conn: &mut AnyConnection,
    rows: &[String],
    batch: i64,
) -> StoreResult<Vec<(i64, String)>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let placed_on = super::roster::placement_date(conn).await?;
    let backend = super::sql::backend_of(conn);
    let sql = format!(
        "INSERT INTO members ({}, import_batch_id) SELECT {}, 1, $2, $2, $4, $3 FROM {} \
         RETURNING id, citizen_id_index",
        super::members::INSERT_COLUMNS,
        super::sql::json_columns(backend, &"ttttbttttttttttiit".chars().collect::<Vec<_>>()),
        super::sql::json_rows_source(backend)
    );
    let mut json = String::with_capacity(rows.iter().map(|r| r.len() + 1).sum::<usize>() + 2);
    json.push('[');
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str(r);
    }
    json.push(']');
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(json)
        .bind(now())
        .bind(batch)
        .bind(placed_on)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("citizen_id_index")?)))
        .collect()
}

/// Draft registrations for imported members, `(member_id, org_path, data)` with `data` a JSON
/// object's text (never holding the ID number), in one statement.
pub async fn insert_drafts(
    conn: &mut AnyConnection,
    campaign_id: i64,
    form: &str,
    by: Option<UserId>,
    rows: Vec<(i64, String, String)>,
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let backend = super::sql::backend_of(conn);
    let sql = format!(
        "INSERT INTO registrations (member_id, org_path, data, campaign_id, form_code, state, \
         version, updated_at, updated_by) SELECT {}, $2, $3, 'draft', 1, $4, $5 FROM {}",
        super::sql::json_columns(backend, &['i', 't', 'j']),
        super::sql::json_rows_source(backend)
    );
    let mut json = String::with_capacity(rows.iter().map(|r| r.2.len() + 64).sum::<usize>());
    json.push('[');
    for (i, (member, path, data)) in rows.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str(&format!("[{member},"));
        push_json_str(&mut json, path);
        json.push(',');
        // Already JSON: goes in as it is, not as an escaped string.
        json.push_str(data);
        json.push(']');
    }
    json.push(']');
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(json)
        .bind(campaign_id)
        .bind(form.to_owned())
        .bind(now())
        .bind(by.map(|u| u.0))
        .execute(&mut *conn)
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
    /// Members checked in the 摸底核查 (a mark the batch prefilled counts once confirmed).
    pub surveyed: i64,
    /// Members with a transfer (组织关系转接), a 分类处理 case or a stopped registration: their
    /// history refers to the record.
    pub casework: i64,
}

impl Dependents {
    pub fn any(&self) -> bool {
        self.forms_changed + self.accounts + self.surveyed + self.casework > 0
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
          WHERE m.import_batch_id = $1 AND COALESCE(s.import_batch_id, 0) <> $1) AS surveyed, \
         (SELECT COUNT(*) FROM members m WHERE m.import_batch_id = $1 \
          AND (m.stopped_on IS NOT NULL \
           OR EXISTS (SELECT 1 FROM transfers t WHERE t.member_id = m.id) \
           OR EXISTS (SELECT 1 FROM cases c WHERE c.member_id = m.id))) AS casework",
    )
    .bind(batch)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Dependents {
        forms_changed: r.try_get("forms")?,
        accounts: r.try_get("accounts")?,
        surveyed: r.try_get("surveyed")?,
        casework: r.try_get("casework")?,
    })
}

/// Remove members of a batch again, with their drafts, inside the import's own transaction
/// (rows found wrong only later in the file); returns how many went.
pub async fn retract(conn: &mut AnyConnection, batch: i64, indexes: &[String]) -> StoreResult<u64> {
    let mut gone = 0;
    for index in indexes {
        for table in ["registrations", "survey_checks"] {
            let sql = format!(
                "DELETE FROM {table} WHERE member_id IN \
                 (SELECT id FROM members WHERE import_batch_id = $1 AND citizen_id_index = $2)"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(batch)
                .bind(index.clone())
                .execute(&mut *conn)
                .await?;
        }
        gone +=
            sqlx::query("DELETE FROM members WHERE import_batch_id = $1 AND citizen_id_index = $2")
                .bind(batch)
                .bind(index.clone())
                .execute(&mut *conn)
                .await?
                .rows_affected();
    }
    Ok(gone)
}

/// Remove a batch's members and their draft forms and mark the batch undone; returns how many
/// members went. The caller checks [`dependents`] first, in the same transaction.
pub async fn undo(conn: &mut AnyConnection, batch: i64, by: Option<UserId>) -> StoreResult<u64> {
    // The batch is counted out of the tallies with grouped statements, not row by row.
    super::tallies::pause_rows(conn, batch).await?;
    super::tallies::count_out_batch(conn, batch).await?;
    super::tallies::remove_grams(conn, batch).await?;
    super::analysis::remove_batch(conn, batch).await?;
    // The marks the batch prefilled (its survey tally triggers count them out; the check
    // leaves no other mark on the batch's members).
    sqlx::query("DELETE FROM survey_checks WHERE import_batch_id = $1")
        .bind(batch)
        .execute(&mut *conn)
        .await?;
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
    super::tallies::resume_rows(conn, batch).await?;
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
    /// The kind the dry run found (a code of `ImportKind`), or empty.
    pub kind: String,
    pub content_enc: Vec<u8>,
    pub report_enc: Option<Vec<u8>>,
    pub expires_at: i64,
}

/// An upload to keep: the file and its dry run's report, both sealed with the data key.
#[derive(Debug)]
pub struct NewUpload<'a> {
    pub user: Option<UserId>,
    pub org: OrgId,
    pub file_name: &'a str,
    pub kind: &'a str,
    pub file_sha256: &'a str,
    pub content_enc: Vec<u8>,
    pub report_enc: Vec<u8>,
    pub expires_at: i64,
}

pub async fn insert_upload(conn: &mut AnyConnection, u: &NewUpload<'_>) -> StoreResult<i64> {
    Ok(sqlx::query(
        "INSERT INTO import_uploads (user_id, org_id, file_name, kind, file_sha256, content_enc, \
         report_enc, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         RETURNING id",
    )
    .bind(u.user.map(|u| u.0))
    .bind(u.org.0)
    .bind(u.file_name.to_owned())
    .bind(u.kind.to_owned())
    .bind(u.file_sha256.to_owned())
    .bind(u.content_enc.clone())
    .bind(u.report_enc.clone())
    .bind(now())
    .bind(u.expires_at)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

/// Keep only a user's `keep` latest waiting uploads (the operator's: none are kept long,
/// every command decides at once).
pub async fn keep_latest_uploads(
    conn: &mut AnyConnection,
    user: Option<UserId>,
    keep: i64,
) -> StoreResult<u64> {
    let Some(user) = user else {
        return Ok(0);
    };
    Ok(sqlx::query(
        "DELETE FROM import_uploads WHERE user_id = $1 AND id NOT IN \
         (SELECT id FROM import_uploads WHERE user_id = $1 ORDER BY id DESC LIMIT $2)",
    )
    .bind(user.0)
    .bind(keep)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

pub async fn get_upload(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<Upload>> {
    let row = sqlx::query(
        "SELECT id, user_id, org_id, file_name, kind, content_enc, report_enc, expires_at \
         FROM import_uploads WHERE id = $1",
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
            kind: r.try_get("kind")?,
            content_enc: r.try_get("content_enc")?,
            report_enc: r.try_get("report_enc")?,
            expires_at: r.try_get("expires_at")?,
        })
    })
    .transpose()
}

/// Numbers a user looked up nationwide on `day` (Beijing date).
pub async fn lookups_used(conn: &mut AnyConnection, user: UserId, day: &str) -> StoreResult<i64> {
    let row =
        sqlx::query("SELECT rows_looked_up FROM lookup_usage WHERE user_id = $1 AND day = $2")
            .bind(user.0)
            .bind(day.to_owned())
            .fetch_optional(&mut *conn)
            .await?;
    Ok(match row {
        Some(r) => r.try_get("rows_looked_up")?,
        None => 0,
    })
}

/// Count `n` more nationwide lookups for a user on `day`.
pub async fn add_lookups(
    conn: &mut AnyConnection,
    user: UserId,
    day: &str,
    n: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO lookup_usage (user_id, day, rows_looked_up) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, day) DO UPDATE SET \
         rows_looked_up = lookup_usage.rows_looked_up + $3",
    )
    .bind(user.0)
    .bind(day.to_owned())
    .bind(n)
    .execute(&mut *conn)
    .await?;
    Ok(())
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

/// What hangs under a registry batch, which forbids undoing it: each a count and what it is.
pub async fn registry_dependents(
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

pub(super) async fn set_undone(
    conn: &mut AnyConnection,
    batch: i64,
    by: Option<UserId>,
) -> StoreResult<()> {
    let (at, by) = mark_undone(by);
    sqlx::query("UPDATE import_batches SET undone_at = $1, undone_by = $2 WHERE id = $3")
        .bind(at)
        .bind(by)
        .bind(batch)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
