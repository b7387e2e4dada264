//! Registrations: a member's 附件1/附件2 in a campaign, with its state and version.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{StoreError, StoreResult, now, state_of};
use crate::domain::{MemberId, RegistrationState, TreePath, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub id: i64,
    pub campaign_id: i64,
    pub member_id: MemberId,
    pub form_code: String,
    pub data: String,
    pub citizen_id_enc: Option<Vec<u8>>,
    pub citizen_id_masked: Option<String>,
    pub state: RegistrationState,
    pub version: i64,
    pub confirmed_at: Option<i64>,
    pub proxy_method: Option<String>,
    pub warnings_note: Option<String>,
    pub return_reason: Option<String>,
    pub submitted_at: Option<i64>,
    pub updated_at: i64,
}

fn from_row(r: &AnyRow) -> StoreResult<Registration> {
    Ok(Registration {
        id: r.try_get("id")?,
        campaign_id: r.try_get("campaign_id")?,
        member_id: MemberId(r.try_get("member_id")?),
        form_code: r.try_get("form_code")?,
        data: r.try_get("data")?,
        citizen_id_enc: r.try_get("citizen_id_enc")?,
        citizen_id_masked: r.try_get("citizen_id_masked")?,
        state: state_of(&r.try_get::<String, _>("state")?, RegistrationState::parse)?,
        version: r.try_get("version")?,
        confirmed_at: r.try_get("confirmed_at")?,
        proxy_method: r.try_get("proxy_method")?,
        warnings_note: r.try_get("warnings_note")?,
        return_reason: r.try_get("return_reason")?,
        submitted_at: r.try_get("submitted_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const SELECT: &str = "SELECT id, campaign_id, member_id, form_code, data, citizen_id_enc, \
     citizen_id_masked, state, version, confirmed_at, proxy_method, warnings_note, \
     return_reason, submitted_at, updated_at FROM registrations";

pub async fn get(
    conn: &mut AnyConnection,
    campaign_id: i64,
    member_id: MemberId,
) -> StoreResult<Option<Registration>> {
    let sql = format!("{SELECT} WHERE campaign_id = $1 AND member_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(campaign_id)
        .bind(member_id.0)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// What a save writes.
#[derive(Debug, Clone)]
pub struct Write<'a> {
    pub campaign_id: i64,
    pub member_id: MemberId,
    pub org_path: &'a TreePath,
    pub form_code: &'a str,
    pub data: String,
    pub citizen_id_enc: Option<Vec<u8>>,
    pub citizen_id_masked: Option<String>,
    pub state: RegistrationState,
    pub confirmed_at: Option<i64>,
    pub proxy_method: Option<String>,
    pub warnings_note: Option<String>,
    pub submitted_at: Option<i64>,
    pub by: Option<UserId>,
}

/// Create the registration (version 1); a second one for the same member and campaign is a
/// `Duplicate` error.
pub async fn insert(conn: &mut AnyConnection, w: &Write<'_>) -> StoreResult<i64> {
    Ok(sqlx::query(
        "INSERT INTO registrations (campaign_id, member_id, org_path, form_code, data, \
         citizen_id_enc, citizen_id_masked, state, version, confirmed_at, proxy_method, \
         warnings_note, return_reason, submitted_at, updated_at, updated_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $11, NULL, $12, $13, $14) RETURNING id",
    )
    .bind(w.campaign_id)
    .bind(w.member_id.0)
    .bind(w.org_path.as_str().to_owned())
    .bind(w.form_code.to_owned())
    .bind(w.data.clone())
    .bind(w.citizen_id_enc.clone())
    .bind(w.citizen_id_masked.clone())
    .bind(w.state.code())
    .bind(w.confirmed_at)
    .bind(w.proxy_method.clone())
    .bind(w.warnings_note.clone())
    .bind(w.submitted_at)
    .bind(now())
    .bind(w.by.map(|u| u.0))
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

/// Overwrite the registration if it is still at `expected_version`; returns the new version,
/// or `Conflict` when somebody saved in between.
pub async fn update(
    conn: &mut AnyConnection,
    id: i64,
    expected_version: i64,
    w: &Write<'_>,
) -> StoreResult<i64> {
    let done = sqlx::query(
        "UPDATE registrations SET data = $1, citizen_id_enc = $2, citizen_id_masked = $3, \
         state = $4, version = version + 1, confirmed_at = $5, proxy_method = $6, \
         warnings_note = $7, submitted_at = $8, updated_at = $9, updated_by = $10, form_code = $11 \
         WHERE id = $12 AND version = $13",
    )
    .bind(w.data.clone())
    .bind(w.citizen_id_enc.clone())
    .bind(w.citizen_id_masked.clone())
    .bind(w.state.code())
    .bind(w.confirmed_at)
    .bind(w.proxy_method.clone())
    .bind(w.warnings_note.clone())
    .bind(w.submitted_at)
    .bind(now())
    .bind(w.by.map(|u| u.0))
    .bind(w.form_code.to_owned())
    .bind(id)
    .bind(expected_version)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict);
    }
    Ok(expected_version + 1)
}

/// A submitted registration waiting for review, for the review queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub member_id: MemberId,
    pub name: String,
    pub firm_name: String,
    pub form_code: String,
    pub submitted_at: Option<i64>,
}

/// Registrations of a campaign in a subtree that wait for review, oldest first.
pub async fn pending(
    conn: &mut AnyConnection,
    campaign_id: i64,
    path: &TreePath,
    limit: i64,
) -> StoreResult<Vec<Pending>> {
    let mut sql = super::Sql::new(
        "SELECT r.member_id, m.name, f.name AS firm_name, r.form_code, r.submitted_at \
         FROM registrations r JOIN members m ON m.id = r.member_id JOIN firms f ON f.id = m.firm_id \
         WHERE r.state = 'submitted' AND r.campaign_id = ",
    );
    sql.int(campaign_id);
    super::orgs::push_path_scope(&mut sql, "r.org_path", path);
    sql.push(" ORDER BY r.submitted_at, r.id LIMIT ").int(limit);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(Pending {
            member_id: MemberId(r.try_get("member_id")?),
            name: r.try_get("name")?,
            firm_name: r.try_get("firm_name")?,
            form_code: r.try_get("form_code")?,
            submitted_at: r.try_get("submitted_at")?,
        });
    }
    Ok(out)
}

/// Registration progress of one child node of the cockpit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildProgress {
    pub org_id: crate::domain::OrgId,
    pub name: String,
    pub level: String,
    pub members: i64,
    pub draft: i64,
    pub submitted: i64,
    pub returned: i64,
    pub approved: i64,
}

/// For every child of `parent`: members below it and their registrations by state, from the
/// per-organisation tallies (migration 0007). Two range reads — the children, then every
/// organisation below the parent with its tallies — and each organisation is added to the
/// child whose subtree holds it. (One SQL join over path ranges misleads PostgreSQL's row
/// estimates into hashing every tally of the country.) A city's children have no children,
/// so there one read of the children with their tallies is enough.
pub async fn progress_of_children(
    conn: &mut AnyConnection,
    campaign_id: i64,
    parent: crate::domain::OrgId,
) -> StoreResult<Vec<ChildProgress>> {
    let parent = sqlx::query("SELECT path, level FROM orgs WHERE id = $1")
        .bind(parent.0)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(parent_row) = parent else {
        return Ok(Vec::new());
    };
    let level: String = parent_row.try_get("level")?;
    let path: String = parent_row.try_get("path")?;
    let Some(parent_path) = TreePath::parse(&path) else {
        return Ok(Vec::new());
    };
    let parent_id = parent_path
        .ids()
        .last()
        .copied()
        .unwrap_or(crate::domain::OrgId(0));
    // A city's children are grassroots organisations, which have no children: their own
    // tallies are the whole count, read with the children in one query (issue 20: half the
    // rows of a 700-child cockpit).
    if level == "city" {
        let rows = sqlx::query(
            "SELECT c.id, c.name, c.level, COALESCE(t.lawyers + t.staff, 0) AS members, \
             COALESCE(k.drafts, 0) AS draft, COALESCE(k.submitted, 0) AS submitted, \
             COALESCE(k.returned, 0) AS returned, COALESCE(k.approved, 0) AS approved \
             FROM orgs c LEFT JOIN org_tallies t ON t.org_id = c.id \
             LEFT JOIN campaign_tallies k ON k.org_id = c.id AND k.campaign_id = $1 \
             WHERE c.parent_id = $2 AND c.dissolved_on IS NULL \
             ORDER BY COALESCE(c.region_code, '999999'), c.name, c.id",
        )
        .bind(campaign_id)
        .bind(parent_id.0)
        .fetch_all(&mut *conn)
        .await?;
        return rows
            .iter()
            .map(|r| {
                Ok(ChildProgress {
                    org_id: crate::domain::OrgId(r.try_get("id")?),
                    name: r.try_get("name")?,
                    level: r.try_get("level")?,
                    members: r.try_get("members")?,
                    draft: r.try_get("draft")?,
                    submitted: r.try_get("submitted")?,
                    returned: r.try_get("returned")?,
                    approved: r.try_get("approved")?,
                })
            })
            .collect();
    }
    let rows = sqlx::query(
        "SELECT c.id, c.name, c.level FROM orgs c WHERE c.parent_id = $1 \
         AND c.dissolved_on IS NULL ORDER BY COALESCE(c.region_code, '999999'), c.name, c.id",
    )
    .bind(parent_id.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    let mut index = std::collections::HashMap::with_capacity(rows.len());
    for r in &rows {
        let id = crate::domain::OrgId(r.try_get("id")?);
        index.insert(id, out.len());
        out.push(ChildProgress {
            org_id: id,
            name: r.try_get("name")?,
            level: r.try_get("level")?,
            members: 0,
            draft: 0,
            submitted: 0,
            returned: 0,
            approved: 0,
        });
    }
    let below = sqlx::query(
        "SELECT o.path, COALESCE(t.lawyers + t.staff, 0) AS members, \
         COALESCE(k.drafts, 0) AS draft, COALESCE(k.submitted, 0) AS submitted, \
         COALESCE(k.returned, 0) AS returned, COALESCE(k.approved, 0) AS approved \
         FROM orgs o LEFT JOIN org_tallies t ON t.org_id = o.id \
         LEFT JOIN campaign_tallies k ON k.org_id = o.id AND k.campaign_id = $1 \
         WHERE o.path > $2 AND o.path < $3",
    )
    .bind(campaign_id)
    .bind(parent_path.as_str().to_owned())
    .bind(parent_path.upper_bound())
    .fetch_all(&mut *conn)
    .await?;
    let depth = parent_path.ids().len();
    for r in &below {
        let path: String = r.try_get("path")?;
        let child = TreePath::parse(&path).and_then(|p| p.ids().get(depth).copied());
        let Some(&i) = child.as_ref().and_then(|c| index.get(c)) else {
            continue;
        };
        let p = &mut out[i];
        p.members += r.try_get::<i64, _>("members")?;
        p.draft += r.try_get::<i64, _>("draft")?;
        p.submitted += r.try_get::<i64, _>("submitted")?;
        p.returned += r.try_get::<i64, _>("returned")?;
        p.approved += r.try_get::<i64, _>("approved")?;
    }
    Ok(out)
}

/// Members of a node's whole subtree (the node included) and their forms by state, from the
/// tallies; `org_id` and `name` are left for the caller.
pub async fn progress_of_subtree(
    conn: &mut AnyConnection,
    campaign_id: i64,
    path: &TreePath,
) -> StoreResult<ChildProgress> {
    let r = sqlx::query(
        "SELECT CAST(COALESCE(SUM(t.lawyers + t.staff), 0) AS BIGINT) AS members, \
         CAST(COALESCE(SUM(k.drafts), 0) AS BIGINT) AS draft, \
         CAST(COALESCE(SUM(k.submitted), 0) AS BIGINT) AS submitted, \
         CAST(COALESCE(SUM(k.returned), 0) AS BIGINT) AS returned, \
         CAST(COALESCE(SUM(k.approved), 0) AS BIGINT) AS approved \
         FROM orgs o LEFT JOIN org_tallies t ON t.org_id = o.id \
         LEFT JOIN campaign_tallies k ON k.org_id = o.id AND k.campaign_id = $1 \
         WHERE o.path >= $2 AND o.path < $3",
    )
    .bind(campaign_id)
    .bind(path.as_str().to_owned())
    .bind(path.upper_bound())
    .fetch_one(&mut *conn)
    .await?;
    Ok(ChildProgress {
        org_id: path
            .ids()
            .last()
            .copied()
            .unwrap_or(crate::domain::OrgId(0)),
        name: String::new(),
        level: String::new(),
        members: r.try_get("members")?,
        draft: r.try_get("draft")?,
        submitted: r.try_get("submitted")?,
        returned: r.try_get("returned")?,
        approved: r.try_get("approved")?,
    })
}

/// Members of a subtree who have no form yet in the campaign (id, organisation path, name),
/// at most `limit`.
pub async fn members_without_form(
    conn: &mut AnyConnection,
    campaign_id: i64,
    path: &TreePath,
    limit: i64,
) -> StoreResult<Vec<(MemberId, TreePath, String)>> {
    let rows = sqlx::query(
        "SELECT m.id, m.org_path, m.name FROM members m \
         WHERE m.org_path >= $1 AND m.org_path < $2 AND m.category = 'lawyer' \
         AND NOT EXISTS (SELECT 1 FROM registrations r WHERE r.member_id = m.id AND r.campaign_id = $3) \
         ORDER BY m.org_path, m.name, m.id LIMIT $4",
    )
    .bind(path.as_str().to_owned())
    .bind(path.upper_bound())
    .bind(campaign_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let p: String = r.try_get("org_path")?;
        out.push((
            MemberId(r.try_get("id")?),
            TreePath::parse(&p).ok_or_else(|| StoreError::Corrupt(format!("member path {p}")))?,
            r.try_get("name")?,
        ));
    }
    Ok(out)
}

/// For `dengji bench` only: give every member of the campaign without a form an approved one
/// (a realistic body with the member's name; no review record), so that a national sample has
/// its population. Returns how many.
pub async fn fill_approved_for_bench(
    conn: &mut AnyConnection,
    campaign_id: i64,
) -> StoreResult<u64> {
    let done = sqlx::query(
        "INSERT INTO registrations (campaign_id, member_id, org_path, form_code, data, state, \
         version, confirmed_at, proxy_method, submitted_at, updated_at) \
         SELECT $1, m.id, m.org_path, CASE WHEN m.category = 'staff' THEN 'A2' ELSE 'A1' END, \
         '{\"name\":\"' || m.name || '\",\"mobile\":\"13912345678\",\"standing\":\"normal\",\
\"holder_type\":\"own_firm\",\"holder_region\":\"110101\",\"in_firm\":\"1\",\
\"transfer_status\":\"transferred\",\"dues_paid_until\":\"2018-07\",\"last_life_on\":\"2018-07-10\",\
\"education\":\"21\",\"party_status\":\"full\",\"joined_on\":\"2005-07-01\"}', \
         'approved', 1, $2, CASE WHEN m.id % 7 = 0 THEN 'phone' ELSE NULL END, $2, $2 \
         FROM members m WHERE NOT EXISTS (SELECT 1 FROM registrations r \
         WHERE r.member_id = m.id AND r.campaign_id = $1)",
    )
    .bind(campaign_id)
    .bind(super::now())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// For `dengji bench` only: up to `limit` approved forms of the campaign after id `after` that
/// have no approval on record: (id, organisation path, form code, data, masked ID).
#[allow(clippy::type_complexity)]
pub async fn unreviewed_approved_for_bench(
    conn: &mut AnyConnection,
    campaign_id: i64,
    after: i64,
    limit: i64,
) -> StoreResult<Vec<(i64, String, String, String, Option<String>)>> {
    let rows = sqlx::query(
        "SELECT r.id, r.org_path, r.form_code, r.data, r.citizen_id_masked FROM registrations r \
         WHERE r.campaign_id = $1 AND r.state = 'approved' AND r.id > $2 \
         AND NOT EXISTS (SELECT 1 FROM registration_reviews v WHERE v.registration_id = r.id) \
         ORDER BY r.id LIMIT $3",
    )
    .bind(campaign_id)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
                r.try_get(4)?,
            ))
        })
        .collect()
}

/// For `dengji bench` only: the approved forms with ids in `from..=to` carry the digest of
/// their latest approval (as `reviews::insert` keeps it for every approval made in the app).
pub async fn set_approved_digests_for_bench(
    conn: &mut AnyConnection,
    from: i64,
    to: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE registrations SET approved_digest = (SELECT v.digest FROM registration_reviews v \
         WHERE v.registration_id = registrations.id AND v.decision = 'approve' \
         ORDER BY v.id DESC LIMIT 1) WHERE state = 'approved' AND id >= $1 AND id <= $2",
    )
    .bind(from)
    .bind(to)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Set the name (inside the JSON data) and the corrected ID number of a registration at
/// `expected_version` (an approved four-eyes correction); `Conflict` if it moved on.
pub async fn set_identity(
    conn: &mut AnyConnection,
    id: i64,
    expected_version: i64,
    data: &str,
    (citizen_id_enc, citizen_id_masked): (Option<Vec<u8>>, Option<String>),
    by: Option<UserId>,
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE registrations SET data = $1, citizen_id_enc = $2, citizen_id_masked = $3, \
         version = version + 1, updated_at = $4, updated_by = $5 WHERE id = $6 AND version = $7",
    )
    .bind(data.to_owned())
    .bind(citizen_id_enc)
    .bind(citizen_id_masked)
    .bind(now())
    .bind(by.map(|u| u.0))
    .bind(id)
    .bind(expected_version)
    .execute(&mut *conn)
    .await?;
    super::changed_one(&done)
}

/// The member's form approved in the latest campaign before `campaign_id`: that campaign's
/// name and the form's values (a JSON object's text).
pub async fn last_approved_before(
    conn: &mut AnyConnection,
    member: MemberId,
    campaign_id: i64,
) -> StoreResult<Option<(String, String)>> {
    let row = sqlx::query(
        "SELECT c.name, r.data FROM registrations r JOIN campaigns c ON c.id = r.campaign_id \
         WHERE r.member_id = $1 AND r.campaign_id < $2 AND r.state = 'approved' \
         ORDER BY r.campaign_id DESC LIMIT 1",
    )
    .bind(member.0)
    .bind(campaign_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok((r.try_get("name")?, r.try_get("data")?)))
        .transpose()
}
