//! 附件3 records (one per organisation and campaign) and the counts derived for them.

use sqlx::{AnyConnection, Row};

use super::orgs::push_path_scope;
use super::{Sql, StoreError, StoreResult, now};
use crate::domain::{OrgId, TreePath, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgRegistration {
    pub id: i64,
    pub data: String,
    pub version: i64,
}

pub async fn get(
    conn: &mut AnyConnection,
    campaign_id: i64,
    org: OrgId,
) -> StoreResult<Option<OrgRegistration>> {
    let row = sqlx::query(
        "SELECT id, data, version FROM org_registrations WHERE campaign_id = $1 AND org_id = $2",
    )
    .bind(campaign_id)
    .bind(org.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(OrgRegistration {
        id: r.try_get("id")?,
        data: r.try_get("data")?,
        version: r.try_get("version")?,
    }))
}

/// A 附件3 draft filled from an organisation roster (version 1, marked with the batch so the
/// batch's undo takes it away while nobody has saved it since).
pub async fn insert_imported(
    conn: &mut AnyConnection,
    campaign_id: i64,
    org: OrgId,
    data: &str,
    by: Option<UserId>,
    batch: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO org_registrations (campaign_id, org_id, data, version, updated_at, updated_by, \
         import_batch_id) VALUES ($1, $2, $3, 1, $4, $5, $6)",
    )
    .bind(campaign_id)
    .bind(org.0)
    .bind(data.to_owned())
    .bind(now())
    .bind(by.map(|u| u.0))
    .bind(batch)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Create (when `existing` is `None`) or overwrite at the expected version; returns the new
/// version, or `Conflict` when somebody saved in between.
pub async fn save(
    conn: &mut AnyConnection,
    campaign_id: i64,
    org: OrgId,
    existing: Option<(i64, i64)>,
    data: &str,
    by: Option<UserId>,
) -> StoreResult<i64> {
    match existing {
        None => {
            sqlx::query(
                "INSERT INTO org_registrations (campaign_id, org_id, data, version, updated_at, updated_by) \
                 VALUES ($1, $2, $3, 1, $4, $5)",
            )
            .bind(campaign_id)
            .bind(org.0)
            .bind(data.to_owned())
            .bind(now())
            .bind(by.map(|u| u.0))
            .execute(&mut *conn)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Duplicate(_) => StoreError::Conflict,
                other => other,
            })?;
            Ok(1)
        }
        Some((id, version)) => {
            let done = sqlx::query(
                "UPDATE org_registrations SET data = $1, version = version + 1, updated_at = $2, \
                 updated_by = $3 WHERE id = $4 AND version = $5",
            )
            .bind(data.to_owned())
            .bind(now())
            .bind(by.map(|u| u.0))
            .bind(id)
            .bind(version)
            .execute(&mut *conn)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Conflict);
            }
            Ok(version + 1)
        }
    }
}

/// Member counts below (and at) a node, from the member records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberCounts {
    pub total: i64,
    pub full: i64,
    /// 正式党员 whose 组织关系 is in the organisation: all but those the campaign's 摸底核查
    /// marked 未转入 (what the party's organisation rules count).
    pub full_here: i64,
    pub probationary: i64,
    pub lawyers: i64,
    pub staff: i64,
}

pub async fn member_counts(
    conn: &mut AnyConnection,
    campaign: i64,
    path: &TreePath,
) -> StoreResult<MemberCounts> {
    let mut sql = Sql::new(
        "SELECT COUNT(*) AS total, \
         COUNT(CASE WHEN m.party_status = 'full' THEN 1 END) AS full_members, \
         COUNT(CASE WHEN m.party_status = 'full' AND (s.transferred IS NULL \
               OR s.transferred <> 'not_in') THEN 1 END) AS full_here, \
         COUNT(CASE WHEN m.party_status = 'probationary' THEN 1 END) AS probationary, \
         COUNT(CASE WHEN m.category = 'lawyer' THEN 1 END) AS lawyers, \
         COUNT(CASE WHEN m.category = 'staff' THEN 1 END) AS staff \
         FROM members m LEFT JOIN survey_checks s ON s.member_id = m.id AND s.campaign_id = ",
    );
    sql.int(campaign).push(" WHERE 1 = 1");
    push_path_scope(&mut sql, "m.org_path", path);
    let r = sql.query().fetch_one(&mut *conn).await?;
    Ok(MemberCounts {
        total: r.try_get("total")?,
        full: r.try_get("full_members")?,
        full_here: r.try_get("full_here")?,
        probationary: r.try_get("probationary")?,
        lawyers: r.try_get("lawyers")?,
        staff: r.try_get("staff")?,
    })
}

/// Firms this node covers directly (its own firms, or a city's firms without organisation),
/// with their full members whose membership sits with this node.
pub async fn covered_firms(
    conn: &mut AnyConnection,
    campaign: i64,
    org: OrgId,
) -> StoreResult<Vec<(String, i64)>> {
    // 正式党员 whose 组织关系 is in the firm: all but those marked 未转入.
    let rows = sqlx::query(
        "SELECT f.name, COUNT(CASE WHEN m.party_status = 'full' AND m.org_id = $1 \
         AND (s.transferred IS NULL OR s.transferred <> 'not_in') THEN 1 END) AS full_members \
         FROM firms f LEFT JOIN members m ON m.firm_id = f.id \
         LEFT JOIN survey_checks s ON s.member_id = m.id AND s.campaign_id = $4 \
         WHERE f.org_id = $2 OR (f.org_id IS NULL AND f.city_org_id = $3) \
         GROUP BY f.id, f.name ORDER BY f.name",
    )
    .bind(org.0)
    .bind(org.0)
    .bind(org.0)
    .bind(campaign)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push((r.try_get("name")?, r.try_get("full_members")?));
    }
    Ok(out)
}
