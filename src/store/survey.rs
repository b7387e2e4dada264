//! 摸底核查 records: one per member and campaign.

use sqlx::{AnyConnection, Row};

use super::{StoreResult, now};
use crate::domain::{MemberId, OrgId, TreePath, UserId};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Check {
    pub basic_ok: bool,
    pub transfer_ok: bool,
    pub dues_ok: bool,
    pub life_ok: bool,
    /// `in` (已转入) or `not_in` (未转入).
    pub transferred: String,
    pub case_code: Option<String>,
    pub reason: Option<String>,
    /// Prefilled from a member list and not yet confirmed by the organisation.
    pub imported: bool,
}

/// A member directly under an organisation, with their check if recorded.
#[derive(Debug, Clone)]
pub struct RosterRow {
    pub member_id: MemberId,
    pub name: String,
    pub category: String,
    pub party_status: String,
    pub firm_name: String,
    pub check: Option<Check>,
}

/// The members whose organisation is `org`, by name, with this campaign's checks.
pub async fn roster(
    conn: &mut AnyConnection,
    campaign_id: i64,
    org: OrgId,
) -> StoreResult<Vec<RosterRow>> {
    let rows = sqlx::query(
        "SELECT m.id, m.name, m.category, m.party_status, f.name AS firm_name, s.id AS check_id, \
         s.basic_ok, s.transfer_ok, s.dues_ok, s.life_ok, s.transferred, s.case_code, s.reason, \
         s.import_batch_id \
         FROM members m JOIN firms f ON f.id = m.firm_id \
         LEFT JOIN survey_checks s ON s.member_id = m.id AND s.campaign_id = $1 \
         WHERE m.org_id = $2 ORDER BY m.name, m.id",
    )
    .bind(campaign_id)
    .bind(org.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let check = match r.try_get::<Option<i64>, _>("check_id")? {
            None => None,
            Some(_) => Some(check_from_row(r)?),
        };
        out.push(RosterRow {
            member_id: MemberId(r.try_get("id")?),
            name: r.try_get("name")?,
            category: r.try_get("category")?,
            party_status: r.try_get("party_status")?,
            firm_name: r.try_get("firm_name")?,
            check,
        });
    }
    Ok(out)
}

/// A survey mark a member list gives: `(member, org path, transferred, case, reason)`.
pub type ImportedMark = (i64, String, &'static str, Option<String>, Option<String>);

/// Marks prefilled from a member list for its new members, in one statement: the check points
/// unticked, marked with the batch until the organisation confirms them ([`upsert`]).
pub async fn insert_imported(
    conn: &mut AnyConnection,
    campaign_id: i64,
    by: Option<UserId>,
    batch: i64,
    rows: &[ImportedMark],
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let backend = super::sql::backend_of(conn);
    let sql = format!(
        "INSERT INTO survey_checks (member_id, org_path, transferred, case_code, reason, \
         campaign_id, basic_ok, transfer_ok, dues_ok, life_ok, updated_at, updated_by, \
         import_batch_id) SELECT {}, $2, 0, 0, 0, 0, $3, $4, $5 FROM {}",
        super::sql::json_columns(backend, &['i', 't', 't', 't', 't']),
        super::sql::json_rows_source(backend)
    );
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|(m, path, transferred, case, reason)| {
            serde_json::json!([m, path, transferred, case, reason])
        })
        .collect();
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(serde_json::Value::Array(rows).to_string())
        .bind(campaign_id)
        .bind(now())
        .bind(by.map(|u| u.0))
        .bind(batch)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Insert or replace the member's check for the campaign (a prefilled mark is confirmed).
pub async fn upsert(
    conn: &mut AnyConnection,
    campaign_id: i64,
    member: MemberId,
    org_path: &TreePath,
    c: &Check,
    by: Option<UserId>,
) -> StoreResult<()> {
    let flag = |b: bool| i64::from(b);
    sqlx::query(
        "INSERT INTO survey_checks (campaign_id, member_id, org_path, basic_ok, transfer_ok, \
         dues_ok, life_ok, transferred, case_code, reason, updated_at, updated_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (campaign_id, member_id) DO UPDATE SET org_path = excluded.org_path, \
         basic_ok = excluded.basic_ok, transfer_ok = excluded.transfer_ok, \
         dues_ok = excluded.dues_ok, life_ok = excluded.life_ok, \
         transferred = excluded.transferred, case_code = excluded.case_code, \
         reason = excluded.reason, updated_at = excluded.updated_at, updated_by = excluded.updated_by, \
         import_batch_id = NULL",
    )
    .bind(campaign_id)
    .bind(member.0)
    .bind(org_path.as_str().to_owned())
    .bind(flag(c.basic_ok))
    .bind(flag(c.transfer_ok))
    .bind(flag(c.dues_ok))
    .bind(flag(c.life_ok))
    .bind(c.transferred.clone())
    .bind(c.case_code.clone())
    .bind(c.reason.clone())
    .bind(now())
    .bind(by.map(|u| u.0))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The 分类处理 case recorded for a member in the campaign's survey, if any.
pub async fn case_of(
    conn: &mut AnyConnection,
    campaign_id: i64,
    member: MemberId,
) -> StoreResult<Option<String>> {
    let row = sqlx::query(
        "SELECT case_code FROM survey_checks WHERE campaign_id = $1 AND member_id = $2",
    )
    .bind(campaign_id)
    .bind(member.0)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some(r) => r.try_get("case_code")?,
        None => None,
    })
}

/// The member's survey mark in the campaign, if recorded.
pub async fn check_of(
    conn: &mut AnyConnection,
    campaign_id: i64,
    member: MemberId,
) -> StoreResult<Option<Check>> {
    let row = sqlx::query(
        "SELECT basic_ok, transfer_ok, dues_ok, life_ok, transferred, case_code, reason, \
         import_batch_id FROM survey_checks WHERE campaign_id = $1 AND member_id = $2",
    )
    .bind(campaign_id)
    .bind(member.0)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(check_from_row).transpose()
}

/// The check columns of a row (`basic_ok` … `import_batch_id`) as a [`Check`].
fn check_from_row(r: &sqlx::any::AnyRow) -> StoreResult<Check> {
    let flag =
        |c: &str| -> StoreResult<bool> { Ok(r.try_get::<Option<i64>, _>(c)?.unwrap_or(0) != 0) };
    Ok(Check {
        basic_ok: flag("basic_ok")?,
        transfer_ok: flag("transfer_ok")?,
        dues_ok: flag("dues_ok")?,
        life_ok: flag("life_ok")?,
        transferred: r
            .try_get::<Option<String>, _>("transferred")?
            .unwrap_or_default(),
        case_code: r.try_get("case_code")?,
        reason: r.try_get("reason")?,
        imported: r.try_get::<Option<i64>, _>("import_batch_id")?.is_some(),
    })
}
