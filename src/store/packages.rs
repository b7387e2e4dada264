//! Packages submitted upward (one per node and campaign), deadline extensions, overdue marks.

use sqlx::{AnyConnection, Row};

use super::{StoreError, StoreResult, now, state_of};
use crate::domain::{OrgId, PackageState, TreePath, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub id: i64,
    pub org_id: OrgId,
    pub org_path: String,
    pub state: PackageState,
    pub version: i64,
    pub submitted_at: i64,
    pub submitter_name: String,
    pub secretary_name: String,
    pub organiser_name: String,
    pub contact_phone: String,
    pub missing: String,
    pub missing_note: Option<String>,
    pub summary: String,
    pub late_days: i64,
    pub decided_at: Option<i64>,
    pub decider_name: Option<String>,
    pub return_reason: Option<String>,
    pub first_accepted_at: Option<i64>,
    pub changes_after_accept: i64,
}

const COLUMNS: &str = "p.id, p.org_id, p.org_path, p.state, p.version, p.submitted_at, \
    p.submitter_name, p.secretary_name, p.organiser_name, p.contact_phone, p.missing, \
    p.missing_note, p.summary, p.late_days, p.decided_at, p.decider_name, p.return_reason, \
    p.first_accepted_at, p.changes_after_accept";

fn from_row(r: &sqlx::any::AnyRow) -> StoreResult<Package> {
    Ok(Package {
        id: r.try_get("id")?,
        org_id: OrgId(r.try_get("org_id")?),
        org_path: r.try_get("org_path")?,
        state: state_of(&r.try_get::<String, _>("state")?, PackageState::parse)?,
        version: r.try_get("version")?,
        submitted_at: r.try_get("submitted_at")?,
        submitter_name: r.try_get("submitter_name")?,
        secretary_name: r.try_get("secretary_name")?,
        organiser_name: r.try_get("organiser_name")?,
        contact_phone: r.try_get("contact_phone")?,
        missing: r.try_get("missing")?,
        missing_note: r.try_get("missing_note")?,
        summary: r.try_get("summary")?,
        late_days: r.try_get("late_days")?,
        decided_at: r.try_get("decided_at")?,
        decider_name: r.try_get("decider_name")?,
        return_reason: r.try_get("return_reason")?,
        first_accepted_at: r.try_get("first_accepted_at")?,
        changes_after_accept: r.try_get("changes_after_accept")?,
    })
}

pub async fn get(
    conn: &mut AnyConnection,
    campaign_id: i64,
    org_id: OrgId,
) -> StoreResult<Option<Package>> {
    let sql =
        format!("SELECT {COLUMNS} FROM packages p WHERE p.campaign_id = $1 AND p.org_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(campaign_id)
        .bind(org_id.0)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The packages of the children of `parent`.
pub async fn of_children(
    conn: &mut AnyConnection,
    campaign_id: i64,
    parent: OrgId,
) -> StoreResult<Vec<Package>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM packages p JOIN orgs c ON c.id = p.org_id \
         WHERE p.campaign_id = $1 AND c.parent_id = $2"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(campaign_id)
        .bind(parent.0)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// The packages of the nodes on `path` (the node and its ancestors).
pub async fn on_path(
    conn: &mut AnyConnection,
    campaign_id: i64,
    path: &TreePath,
) -> StoreResult<Vec<Package>> {
    let ids: Vec<String> = path.ids().iter().map(|i| i.0.to_string()).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM packages p WHERE p.campaign_id = $1 AND p.org_id IN ({})",
        ids.join(", ")
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(campaign_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

pub struct NewPackage<'a> {
    pub campaign_id: i64,
    pub org_id: OrgId,
    pub org_path: &'a TreePath,
    pub submitted_by: Option<UserId>,
    pub submitter_name: String,
    pub secretary_name: String,
    pub organiser_name: String,
    pub contact_phone: String,
    pub missing: String,
    pub missing_note: Option<String>,
    pub summary: String,
    pub late_days: i64,
}

/// Submit a package: a new row, or a returned package submitted again. `Conflict` when the
/// package is already submitted or accepted (or changed since `expected_version`).
pub async fn submit(
    conn: &mut AnyConnection,
    p: &NewPackage<'_>,
    expected: Option<&Package>,
) -> StoreResult<()> {
    let done = match expected {
        None => {
            sqlx::query(
                "INSERT INTO packages (campaign_id, org_id, org_path, state, version, submitted_at, \
                 submitted_by, submitter_name, secretary_name, organiser_name, contact_phone, \
                 missing, missing_note, summary, late_days, changes_after_accept) \
                 SELECT $1, $2, $3, 'submitted', 1, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0 \
                 WHERE NOT EXISTS (SELECT 1 FROM packages WHERE campaign_id = $1 AND org_id = $2)",
            )
            .bind(p.campaign_id)
            .bind(p.org_id.0)
            .bind(p.org_path.as_str().to_owned())
            .bind(now())
            .bind(p.submitted_by.map(|u| u.0))
            .bind(p.submitter_name.clone())
            .bind(p.secretary_name.clone())
            .bind(p.organiser_name.clone())
            .bind(p.contact_phone.clone())
            .bind(p.missing.clone())
            .bind(p.missing_note.clone())
            .bind(p.summary.clone())
            .bind(p.late_days)
            .execute(&mut *conn)
            .await?
        }
        Some(old) => {
            sqlx::query(
                "UPDATE packages SET state = 'submitted', version = version + 1, submitted_at = $1, \
                 submitted_by = $2, submitter_name = $3, secretary_name = $4, organiser_name = $5, \
                 contact_phone = $6, missing = $7, missing_note = $8, summary = $9, late_days = $10 \
                 WHERE id = $11 AND version = $12 AND state = 'returned'",
            )
            .bind(now())
            .bind(p.submitted_by.map(|u| u.0))
            .bind(p.submitter_name.clone())
            .bind(p.secretary_name.clone())
            .bind(p.organiser_name.clone())
            .bind(p.contact_phone.clone())
            .bind(p.missing.clone())
            .bind(p.missing_note.clone())
            .bind(p.summary.clone())
            .bind(p.late_days)
            .bind(old.id)
            .bind(old.version)
            .execute(&mut *conn)
            .await?
        }
    };
    super::changed_one(&done)
}

/// Record the parent's decision on a package in `from` state at `version`.
pub async fn decide(
    conn: &mut AnyConnection,
    pkg: &Package,
    from: &[PackageState],
    to: PackageState,
    by: Option<UserId>,
    by_name: &str,
    reason: Option<String>,
) -> StoreResult<()> {
    let states: Vec<String> = from.iter().map(|s| format!("'{}'", s.code())).collect();
    let sql = format!(
        "UPDATE packages SET state = $1, version = version + 1, decided_at = $2, decided_by = $3, \
         decider_name = $4, return_reason = $5, \
         first_accepted_at = CASE WHEN $1 = 'accepted' AND first_accepted_at IS NULL THEN $2 \
         ELSE first_accepted_at END \
         WHERE id = $6 AND version = $7 AND state IN ({})",
        states.join(", ")
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(to.code())
        .bind(now())
        .bind(by.map(|u| u.0))
        .bind(by_name.to_owned())
        .bind(reason)
        .bind(pkg.id)
        .bind(pkg.version)
        .execute(&mut *conn)
        .await?;
    super::changed_one(&done)
}

/// Count `n` changes against every package among `org_ids` that has been accepted before.
pub async fn count_change(
    conn: &mut AnyConnection,
    campaign_id: i64,
    org_ids: &[OrgId],
    n: i64,
) -> StoreResult<()> {
    if org_ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = org_ids.iter().map(|i| i.0.to_string()).collect();
    let sql = format!(
        "UPDATE packages SET changes_after_accept = changes_after_accept + $2 \
         WHERE campaign_id = $1 AND first_accepted_at IS NOT NULL AND org_id IN ({})",
        ids.join(", ")
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(campaign_id)
        .bind(n)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    pub org_id: OrgId,
    pub until: String,
    pub reason: String,
    pub granter_name: String,
    pub granted_at: i64,
}

pub async fn grant_extension(
    conn: &mut AnyConnection,
    campaign_id: i64,
    org_id: OrgId,
    until: &str,
    reason: &str,
    by: Option<UserId>,
    by_name: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO deadline_extensions (campaign_id, org_id, until, reason, granted_by, \
         granter_name, granted_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(campaign_id)
    .bind(org_id.0)
    .bind(until.to_owned())
    .bind(reason.to_owned())
    .bind(by.map(|u| u.0))
    .bind(by_name.to_owned())
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn extension_from_row(r: &sqlx::any::AnyRow) -> StoreResult<Extension> {
    Ok(Extension {
        org_id: OrgId(r.try_get("org_id")?),
        until: r.try_get("until")?,
        reason: r.try_get("reason")?,
        granter_name: r.try_get("granter_name")?,
        granted_at: r.try_get("granted_at")?,
    })
}

/// The latest extension granted to a node, if any.
pub async fn extension_of(
    conn: &mut AnyConnection,
    campaign_id: i64,
    org_id: OrgId,
) -> StoreResult<Option<Extension>> {
    let row = sqlx::query(
        "SELECT org_id, until, reason, granter_name, granted_at FROM deadline_extensions \
         WHERE org_id = $1 AND campaign_id = $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(org_id.0)
    .bind(campaign_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(extension_from_row).transpose()
}

/// The latest extension of each child of `parent` (children without one are left out).
pub async fn extensions_of_children(
    conn: &mut AnyConnection,
    campaign_id: i64,
    parent: OrgId,
) -> StoreResult<Vec<Extension>> {
    let rows = sqlx::query(
        "SELECT e.org_id, e.until, e.reason, e.granter_name, e.granted_at \
         FROM deadline_extensions e JOIN orgs c ON c.id = e.org_id \
         WHERE e.campaign_id = $1 AND c.parent_id = $2 ORDER BY e.id",
    )
    .bind(campaign_id)
    .bind(parent.0)
    .fetch_all(&mut *conn)
    .await?;
    // Later rows replace earlier ones.
    let mut latest: Vec<Extension> = Vec::new();
    for r in &rows {
        let e = extension_from_row(r)?;
        latest.retain(|x| x.org_id != e.org_id);
        latest.push(e);
    }
    Ok(latest)
}

/// Record overdue against every node of `level` whose deadline (`deadline`, or a later
/// extension) has passed by `today` without a package submitted or accepted. Returns how many
/// marks were new. Runs as one statement, so a national sweep stays cheap.
pub async fn record_overdue(
    conn: &mut AnyConnection,
    campaign_id: i64,
    level: &str,
    deadline: &str,
    today: &str,
) -> StoreResult<u64> {
    let done = sqlx::query(
        "INSERT INTO overdue_marks (campaign_id, org_id, deadline, recorded_at) \
         SELECT $1, o.id, COALESCE((SELECT e.until FROM deadline_extensions e \
                WHERE e.org_id = o.id AND e.campaign_id = $1 ORDER BY e.id DESC LIMIT 1), $3), $5 \
         FROM orgs o WHERE o.level = $2 AND o.dissolved_on IS NULL \
         AND COALESCE((SELECT e.until FROM deadline_extensions e \
                WHERE e.org_id = o.id AND e.campaign_id = $1 ORDER BY e.id DESC LIMIT 1), $3) < $4 \
         AND NOT EXISTS (SELECT 1 FROM packages p WHERE p.campaign_id = $1 AND p.org_id = o.id \
                AND p.state IN ('submitted', 'accepted')) \
         AND NOT EXISTS (SELECT 1 FROM overdue_marks m WHERE m.campaign_id = $1 AND m.org_id = o.id \
                AND m.deadline = COALESCE((SELECT e.until FROM deadline_extensions e \
                WHERE e.org_id = o.id AND e.campaign_id = $1 ORDER BY e.id DESC LIMIT 1), $3))",
    )
    .bind(campaign_id)
    .bind(level.to_owned())
    .bind(deadline.to_owned())
    .bind(today.to_owned())
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// The deadlines a node was recorded overdue against.
pub async fn overdue_marks(
    conn: &mut AnyConnection,
    campaign_id: i64,
    org_id: OrgId,
) -> StoreResult<Vec<String>> {
    let rows = sqlx::query(
        "SELECT deadline FROM overdue_marks WHERE org_id = $1 AND campaign_id = $2 ORDER BY id",
    )
    .bind(org_id.0)
    .bind(campaign_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| r.try_get("deadline").map_err(StoreError::from))
        .collect()
}

/// Children of `parent` with an overdue mark in this campaign.
pub async fn overdue_children(
    conn: &mut AnyConnection,
    campaign_id: i64,
    parent: OrgId,
) -> StoreResult<Vec<OrgId>> {
    let rows = sqlx::query(
        "SELECT DISTINCT m.org_id FROM overdue_marks m JOIN orgs c ON c.id = m.org_id \
         WHERE m.campaign_id = $1 AND c.parent_id = $2",
    )
    .bind(campaign_id)
    .bind(parent.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok(OrgId(r.try_get("org_id")?)))
        .collect()
}

/// Where a node's own members stand (members whose organisation is the node itself).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OwnProgress {
    pub members: i64,
    pub approved: i64,
    /// Submitted and waiting for this node's review.
    pub waiting: i64,
    /// To be registered but not yet approved (not started, draft or returned).
    pub unfinished: i64,
    /// Not to be registered (分类处理 4/5 or not a 专职 lawyer) and not approved.
    pub not_registered: i64,
}

pub async fn own_progress(
    conn: &mut AnyConnection,
    campaign_id: i64,
    org_id: OrgId,
) -> StoreResult<OwnProgress> {
    let r = sqlx::query(
        "SELECT COUNT(m.id) AS members, \
         COUNT(CASE WHEN r.state = 'approved' THEN 1 END) AS approved, \
         COUNT(CASE WHEN r.state = 'submitted' THEN 1 END) AS waiting, \
         COUNT(CASE WHEN (r.state IS NULL OR r.state IN ('draft', 'returned')) \
               AND NOT (COALESCE(s.case_code, '') IN ('4', '5') OR m.stopped_on IS NOT NULL \
                    OR (m.category = 'lawyer' AND COALESCE(m.practice_type, '1') <> '1')) \
               THEN 1 END) AS unfinished, \
         COUNT(CASE WHEN (r.state IS NULL OR r.state IN ('draft', 'returned')) \
               AND (COALESCE(s.case_code, '') IN ('4', '5') OR m.stopped_on IS NOT NULL \
                    OR (m.category = 'lawyer' AND COALESCE(m.practice_type, '1') <> '1')) \
               THEN 1 END) AS not_registered \
         FROM members m \
         LEFT JOIN registrations r ON r.member_id = m.id AND r.campaign_id = $1 \
         LEFT JOIN survey_checks s ON s.member_id = m.id AND s.campaign_id = $1 \
         WHERE m.org_id = $2",
    )
    .bind(campaign_id)
    .bind(org_id.0)
    .fetch_one(&mut *conn)
    .await?;
    Ok(OwnProgress {
        members: r.try_get("members")?,
        approved: r.try_get("approved")?,
        waiting: r.try_get("waiting")?,
        unfinished: r.try_get("unfinished")?,
        not_registered: r.try_get("not_registered")?,
    })
}

/// Notify the working accounts of every node of `level` that has not submitted and whose
/// effective deadline (`deadline` or its latest extension) lies in `[from, to]`; once per
/// user, node and deadline (`kind` distinguishes reminders from overdue notices).
#[allow(clippy::too_many_arguments)]
pub async fn remind_level(
    conn: &mut AnyConnection,
    campaign_id: i64,
    level: &str,
    deadline: &str,
    from: &str,
    to: &str,
    kind: crate::domain::NoticeKind,
    title: &str,
) -> StoreResult<u64> {
    let effective = "COALESCE((SELECT e.until FROM deadline_extensions e \
         WHERE e.org_id = o.id AND e.campaign_id = $1 ORDER BY e.id DESC LIMIT 1), $3)";
    let sql = format!(
        "INSERT INTO notifications (user_id, kind, title, link, dedupe_key, created_at) \
         SELECT u.id, $6, $7, '/orgs/' || o.id || '/package', \
                $6 || ':' || $1 || ':' || o.id || ':' || {effective}, $8 \
         FROM users u JOIN orgs o ON o.id = u.org_id \
         WHERE o.level = $2 AND u.role IN ('clerk', 'reviewer', 'admin') AND u.disabled = 0 \
         AND {effective} >= $4 AND {effective} <= $5 \
         AND NOT EXISTS (SELECT 1 FROM packages p WHERE p.campaign_id = $1 AND p.org_id = o.id \
                AND p.state IN ('submitted', 'accepted')) \
         AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.user_id = u.id \
                AND n.dedupe_key = $6 || ':' || $1 || ':' || o.id || ':' || {effective})"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(campaign_id)
        .bind(level.to_owned())
        .bind(deadline.to_owned())
        .bind(from.to_owned())
        .bind(to.to_owned())
        .bind(kind.code())
        .bind(title.to_owned())
        .bind(now())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
