//! Bulk loading with explicit ids, for the demo generator and (later) imports: multi-row
//! inserts inside the caller's transaction.

use sqlx::{AnyConnection, Row};

use super::sql::{Arg, insert_rows};
use super::{StoreResult, now};
use crate::domain::{FirmId, MemberId, OrgId, OrgKind, OrgLevel, TreePath};

pub struct OrgRow {
    pub id: OrgId,
    pub parent_id: OrgId,
    pub path: TreePath,
    pub level: OrgLevel,
    pub kind: OrgKind,
    pub name: String,
    pub region_code: Option<String>,
    pub secretary_name: Option<String>,
    pub contact_phone: Option<String>,
    pub formed_on: Option<String>,
}

pub struct FirmRow {
    pub id: FirmId,
    pub name: String,
    pub credit_code: String,
    pub region_code: String,
    pub city_org_id: OrgId,
    pub org_id: Option<OrgId>,
    pub scope_path: TreePath,
    pub form: &'static str,
    pub lawyer_count: i64,
}

/// The largest id in use in a table (0 when empty); `table` is one of ours, never user input.
pub async fn max_id(conn: &mut AnyConnection, table: &'static str) -> StoreResult<i64> {
    let sql = format!("SELECT COALESCE(MAX(id), 0) AS n FROM {table}");
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?)
}

pub async fn insert_orgs(conn: &mut AnyConnection, rows: Vec<OrgRow>) -> StoreResult<()> {
    let t = now();
    let placed_on = super::roster::placement_date(conn).await?;
    let args = rows
        .into_iter()
        .map(|o| {
            vec![
                Arg::Int(o.id.0),
                Arg::Int(o.parent_id.0),
                Arg::Int(o.path.depth()),
                Arg::Text(o.path.as_str().to_owned()),
                Arg::Text(o.level.code().to_owned()),
                Arg::Text(o.kind.code().to_owned()),
                Arg::Text(o.name),
                Arg::opt_text(o.region_code),
                Arg::opt_text(o.secretary_name),
                Arg::opt_text(o.contact_phone),
                Arg::opt_text(o.formed_on),
                Arg::Int(t),
                Arg::opt_text(placed_on.clone()),
            ]
        })
        .collect();
    insert_rows(
        conn,
        "orgs",
        "id, parent_id, depth, path, level, kind, name, region_code, secretary_name, \
         contact_phone, formed_on, created_at, placed_on",
        args,
    )
    .await?;
    Ok(())
}

pub async fn insert_firms(conn: &mut AnyConnection, rows: Vec<FirmRow>) -> StoreResult<()> {
    let t = now();
    let placed_on = super::roster::placement_date(conn).await?;
    let args = rows
        .into_iter()
        .map(|f| {
            vec![
                Arg::Int(f.id.0),
                Arg::Text(f.name),
                Arg::Text(f.credit_code),
                Arg::Text(f.region_code),
                Arg::Int(f.city_org_id.0),
                Arg::opt_int(f.org_id.map(|o| o.0)),
                Arg::Text(f.scope_path.as_str().to_owned()),
                Arg::Text(f.form.to_owned()),
                Arg::Int(f.lawyer_count),
                Arg::Int(t),
                Arg::opt_text(placed_on.clone()),
            ]
        })
        .collect();
    insert_rows(
        conn,
        "firms",
        "id, name, credit_code, region_code, city_org_id, org_id, scope_path, form, \
         lawyer_count, created_at, placed_on",
        args,
    )
    .await?;
    Ok(())
}

/// Members without explicit ids (the database numbers them). Imports use
/// `imports::insert_members` instead.
pub async fn insert_members(
    conn: &mut AnyConnection,
    rows: Vec<super::members::NewMember>,
) -> StoreResult<()> {
    let t = now();
    let placed_on = super::roster::placement_date(conn).await?;
    let args = rows
        .into_iter()
        .map(|m| {
            vec![
                Arg::Text(m.name),
                Arg::Text(m.sex),
                Arg::Text(m.ethnicity),
                Arg::Text(m.birth_date),
                Arg::Blob(m.citizen_id_enc),
                Arg::Text(m.citizen_id_index),
                Arg::Text(m.citizen_id_masked),
                Arg::Text(m.category),
                Arg::opt_text(m.practice_type),
                Arg::opt_text(m.licence_no),
                Arg::Text(m.education),
                Arg::Text(m.party_status),
                Arg::Text(m.joined_on),
                Arg::opt_text(m.full_member_on),
                Arg::Text(m.mobile),
                Arg::Int(m.firm_id.0),
                Arg::Int(m.org_id.0),
                Arg::Text(m.org_path.as_str().to_owned()),
                Arg::Int(1),
                Arg::Int(t),
                Arg::Int(t),
                Arg::opt_text(placed_on.clone()),
            ]
        })
        .collect();
    insert_rows(conn, "members", super::members::INSERT_COLUMNS, args).await?;
    Ok(())
}

/// Rows of firms and members already present (the demo refuses to mix with real data).
pub async fn firm_and_member_counts(conn: &mut AnyConnection) -> StoreResult<(i64, i64)> {
    let r = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM firms) AS firms, (SELECT COUNT(*) FROM members) AS members",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok((r.try_get("firms")?, r.try_get("members")?))
}

/// Pick a member of an organisation (the demo's 党员本人 login).
/// Up to `n` firm-level organisations (not joint branches) in id order, each with its path and
/// its first registered member that has no account yet (if any): places for the load
/// scenario's accounts (`dengji bench --load-accounts`).
pub async fn load_places(
    conn: &mut AnyConnection,
    n: i64,
) -> StoreResult<Vec<(OrgId, String, Option<MemberId>)>> {
    let rows = sqlx::query(
        "SELECT o.id, o.path, (SELECT MIN(m.id) FROM members m WHERE m.org_id = o.id \
             AND m.stopped_on IS NULL \
             AND NOT EXISTS (SELECT 1 FROM users u WHERE u.member_id = m.id)) AS member \
         FROM orgs o WHERE o.level = 'firm' AND o.kind <> 'joint_branch' \
             AND o.dissolved_on IS NULL \
         ORDER BY o.id LIMIT $1",
    )
    .bind(n)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                OrgId(r.try_get("id")?),
                r.try_get::<String, _>("path")?,
                r.try_get::<Option<i64>, _>("member")?.map(MemberId),
            ))
        })
        .collect()
}

pub async fn first_member_of(conn: &mut AnyConnection, org: OrgId) -> StoreResult<Option<i64>> {
    let row = sqlx::query("SELECT MIN(id) AS id FROM members WHERE org_id = $1")
        .bind(org.0)
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get::<Option<i64>, _>("id")?)
}
