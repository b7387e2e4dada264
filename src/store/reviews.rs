//! Review decisions on registrations, and the state changes they make.

use sqlx::{AnyConnection, Row};

use super::{StoreError, StoreResult, now};
use crate::domain::{RegistrationState, TreePath, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub decision: String,
    pub reason_code: Option<String>,
    pub note: Option<String>,
    pub reviewer_name: String,
    pub reviewer_role: String,
    pub digest: String,
    pub snapshot: String,
    pub at: i64,
}

pub struct NewReview<'a> {
    pub registration_id: i64,
    pub org_path: &'a TreePath,
    pub decision: &'a str,
    pub reason_code: Option<String>,
    pub note: Option<String>,
    pub reviewer_id: Option<UserId>,
    pub reviewer_name: String,
    pub reviewer_role: String,
    pub digest: String,
    pub snapshot: String,
}

pub async fn insert(conn: &mut AnyConnection, r: &NewReview<'_>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO registration_reviews (registration_id, org_path, decision, reason_code, note, \
         reviewer_id, reviewer_name, reviewer_role, digest, snapshot, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(r.registration_id)
    .bind(r.org_path.as_str().to_owned())
    .bind(r.decision.to_owned())
    .bind(r.reason_code.clone())
    .bind(r.note.clone())
    .bind(r.reviewer_id.map(|u| u.0))
    .bind(r.reviewer_name.clone())
    .bind(r.reviewer_role.clone())
    .bind(r.digest.clone())
    .bind(r.snapshot.clone())
    .bind(now())
    .execute(&mut *conn)
    .await?;
    // The form carries the digest of the approval it stands on (none after a return).
    sqlx::query(
        "UPDATE registrations SET approved_digest = CASE WHEN $1 = 'approve' THEN $2 ELSE NULL END \
         WHERE id = $3",
    )
    .bind(r.decision.to_owned())
    .bind(r.digest.clone())
    .bind(r.registration_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn review_from_row(r: &sqlx::any::AnyRow) -> StoreResult<Review> {
    Ok(Review {
        decision: r.try_get("decision")?,
        reason_code: r.try_get("reason_code")?,
        note: r.try_get("note")?,
        reviewer_name: r.try_get("reviewer_name")?,
        reviewer_role: r.try_get("reviewer_role")?,
        digest: r.try_get("digest")?,
        snapshot: r.try_get("snapshot")?,
        at: r.try_get("at")?,
    })
}

/// The most recent decision on a registration.
pub async fn latest(conn: &mut AnyConnection, registration_id: i64) -> StoreResult<Option<Review>> {
    let row = sqlx::query(
        "SELECT decision, reason_code, note, reviewer_name, reviewer_role, digest, snapshot, at \
         FROM registration_reviews WHERE registration_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(registration_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(review_from_row).transpose()
}

/// The latest approval of a registration (who passed it), if any.
pub async fn latest_approval(
    conn: &mut AnyConnection,
    registration_id: i64,
) -> StoreResult<Option<Review>> {
    let row = sqlx::query(
        "SELECT decision, reason_code, note, reviewer_name, reviewer_role, digest, snapshot, at \
         FROM registration_reviews WHERE registration_id = $1 AND decision = 'approve' \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(registration_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(review_from_row).transpose()
}

/// Move a registration from `from` to `to` at `version`; `Conflict` when it is no longer there
/// (somebody else acted, or the member changed it).
pub async fn transition(
    conn: &mut AnyConnection,
    registration_id: i64,
    version: i64,
    from: RegistrationState,
    to: RegistrationState,
    return_reason: Option<String>,
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE registrations SET state = $1, return_reason = $2, version = version + 1, \
         updated_at = $3 WHERE id = $4 AND version = $5 AND state = $6",
    )
    .bind(to.code())
    .bind(return_reason)
    .bind(now())
    .bind(registration_id)
    .bind(version)
    .bind(from.code())
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

/// Every decision on every form of a member (all campaigns), oldest first, with the
/// campaign's id.
pub async fn of_member(
    conn: &mut AnyConnection,
    member: crate::domain::MemberId,
) -> StoreResult<Vec<(i64, Review)>> {
    let rows = sqlx::query(
        "SELECT r.campaign_id, v.decision, v.reason_code, v.note, v.reviewer_name, \
         v.reviewer_role, v.digest, v.snapshot, v.at FROM registration_reviews v \
         JOIN registrations r ON r.id = v.registration_id WHERE r.member_id = $1 ORDER BY v.id",
    )
    .bind(member.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("campaign_id")?, review_from_row(r)?)))
        .collect()
}
