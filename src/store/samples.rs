//! 抽查核验 samples: the registered records of a subtree read once as the population, the
//! sample with its strata (and each stratum's frozen population), the sampled records with
//! their assignment and check, and the per-stratum tallies of the sample report.

use futures_util::TryStreamExt;
use sqlx::{AnyConnection, Row};

use super::orgs::{Page, push_path_scope};
use super::{Sql, StoreError, StoreResult, changed_one, now, state_of};
use crate::authz::Scope;
use crate::domain::{Finding, MemberId, OrgId, OrgLevel, SampleId, SampleItemId, TreePath, UserId};

/// The approved forms of one organisation, as the population reads them: the
/// organisation's path and `member:risk:digest16` per form, joined by commas, in member id
/// order. `risk` is a bit set (1 a warnings note, 2 filed on the member's behalf, 4 returned
/// before); `digest16` is the first 16 hex digits of the content digest recorded when the form
/// was approved (empty when no approval is on record).
#[derive(Debug, Clone)]
pub struct RegisteredAt {
    pub org_path: String,
    pub units: String,
}

/// Every approved form of the campaign within `path`, one row per organisation, handed to
/// `each`. A million forms come as some fifty thousand rows: the driver's cost is per row, and
/// the digest of an approved form's content is the one its approval recorded
/// (`registrations.approved_digest`).
pub async fn each_registered(
    conn: &mut AnyConnection,
    campaign_id: i64,
    path: &TreePath,
    mut each: impl FnMut(RegisteredAt) -> StoreResult<()>,
) -> StoreResult<()> {
    let agg = match super::sql::backend_of(conn) {
        super::Backend::Sqlite => "group_concat",
        super::Backend::Postgres => "string_agg",
    };
    let mut sql = Sql::new(&format!(
        "SELECT r.org_path, {agg}(CAST(r.member_id AS TEXT) || ':' || CAST( \
           CASE WHEN r.warnings_note IS NULL OR r.warnings_note = '' THEN 0 ELSE 1 END \
           + CASE WHEN r.proxy_method IS NULL THEN 0 ELSE 2 END \
           + CASE WHEN r.id IN (SELECT v.registration_id FROM registration_reviews v \
                WHERE v.decision = 'return') THEN 4 ELSE 0 END AS TEXT) || ':' || \
           COALESCE(substr(r.approved_digest, 1, 16), ''), \
           ',' ORDER BY r.member_id) AS units \
         FROM registrations r WHERE r.campaign_id = "
    ));
    sql.int(campaign_id).push(" AND r.state = 'approved'");
    push_path_scope(&mut sql, "r.org_path", path);
    sql.push(" GROUP BY r.org_path");
    let mut rows = sql.query().fetch(&mut *conn);
    while let Some(r) = rows.try_next().await? {
        each(RegisteredAt {
            org_path: r.try_get(0)?,
            units: r.try_get(1)?,
        })?;
    }
    Ok(())
}

/// What a sampled form's content digest is taken over (`service::review::digest`).
#[derive(Debug, Clone)]
pub struct FormContent {
    pub member_id: MemberId,
    pub registration_id: i64,
    pub form_code: String,
    pub data: String,
    pub citizen_id_masked: Option<String>,
}

/// The forms of these members in the campaign, with what their digest is taken over.
pub async fn contents(
    conn: &mut AnyConnection,
    campaign_id: i64,
    members: &[MemberId],
) -> StoreResult<Vec<FormContent>> {
    let mut out = Vec::with_capacity(members.len());
    for chunk in members.chunks(500) {
        let mut sql = Sql::new(
            "SELECT member_id, id, form_code, data, citizen_id_masked FROM registrations \
             WHERE campaign_id = ",
        );
        sql.int(campaign_id).push(" AND member_id IN (");
        for (i, m) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.int(m.0);
        }
        sql.push(")");
        for r in sql.query().fetch_all(&mut *conn).await? {
            out.push(FormContent {
                member_id: MemberId(r.try_get(0)?),
                registration_id: r.try_get(1)?,
                form_code: r.try_get(2)?,
                data: r.try_get(3)?,
                citizen_id_masked: r.try_get(4)?,
            });
        }
    }
    Ok(out)
}

/// A sample as drawn.
#[derive(Debug, Clone)]
pub struct Sample {
    pub id: SampleId,
    pub campaign_id: i64,
    pub org_id: OrgId,
    pub org_name: String,
    pub org_path: TreePath,
    pub by: OrgLevel,
    pub rate_ppm: u64,
    pub min: u64,
    pub max: u64,
    pub weighted: bool,
    pub seed: u64,
    pub population: i64,
    pub size: i64,
    pub population_digest: String,
    pub rules_date: String,
    pub note: String,
    pub drawn_at: i64,
    pub drawer_name: String,
    /// Sampled records checked so far, and found false.
    pub checked: i64,
    pub false_count: i64,
}

const SELECT: &str = "SELECT s.id, s.campaign_id, s.org_id, o.name AS org_name, s.org_path, \
     s.stratum_level, s.rate_ppm, s.min_per, s.max_per, s.weighted, s.seed, s.population, \
     s.size, s.population_digest, s.rules_date, s.note, s.drawn_at, s.drawer_name, \
     (SELECT COUNT(*) FROM sample_items i WHERE i.sample_id = s.id AND i.result IS NOT NULL) \
       AS checked, \
     (SELECT COUNT(*) FROM sample_items i WHERE i.sample_id = s.id AND i.result = 'false') \
       AS false_count \
     FROM samples s JOIN orgs o ON o.id = s.org_id";

fn path_of(r: &sqlx::any::AnyRow, column: &str) -> StoreResult<TreePath> {
    let p: String = r.try_get(column)?;
    TreePath::parse(&p).ok_or_else(|| StoreError::Corrupt(format!("samples.{column}")))
}

fn count(r: &sqlx::any::AnyRow, column: &str) -> StoreResult<u64> {
    let v: i64 = r.try_get(column)?;
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("samples.{column}")))
}

fn from_row(r: &sqlx::any::AnyRow) -> StoreResult<Sample> {
    let level: String = r.try_get("stratum_level")?;
    let seed: String = r.try_get("seed")?;
    Ok(Sample {
        id: SampleId(r.try_get("id")?),
        campaign_id: r.try_get("campaign_id")?,
        org_id: OrgId(r.try_get("org_id")?),
        org_name: r.try_get("org_name")?,
        org_path: path_of(r, "org_path")?,
        by: state_of(&level, OrgLevel::from_code)?,
        rate_ppm: count(r, "rate_ppm")?,
        min: count(r, "min_per")?,
        max: count(r, "max_per")?,
        weighted: r.try_get::<i64, _>("weighted")? == 1,
        seed: seed
            .parse()
            .map_err(|_| StoreError::Corrupt("samples.seed".into()))?,
        population: r.try_get("population")?,
        size: r.try_get("size")?,
        population_digest: r.try_get("population_digest")?,
        rules_date: r.try_get("rules_date")?,
        note: r.try_get("note")?,
        drawn_at: r.try_get("drawn_at")?,
        drawer_name: r.try_get("drawer_name")?,
        checked: r.try_get("checked")?,
        false_count: r.try_get("false_count")?,
    })
}

pub async fn get(conn: &mut AnyConnection, id: SampleId) -> StoreResult<Option<Sample>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE s.id = $1")))
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The samples drawn by nodes within the scope, newest first (none for a member's own record).
pub async fn list(conn: &mut AnyConnection, scope: &Scope) -> StoreResult<Vec<Sample>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE 1 = 1");
    match scope {
        Scope::Subtree(path) => push_path_scope(&mut sql, "s.org_path", path),
        Scope::OwnRecord(_) => {
            sql.push(" AND 1 = 0");
        }
    }
    sql.push(" ORDER BY s.id DESC LIMIT 200");
    let rows = sql.query().fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}

/// A sample to store.
#[derive(Debug, Clone)]
pub struct NewSample<'a> {
    pub campaign_id: i64,
    pub org_id: OrgId,
    pub org_path: &'a TreePath,
    pub by: OrgLevel,
    pub rate_ppm: u64,
    pub min: u64,
    pub max: u64,
    pub weighted: bool,
    pub seed: u64,
    pub population: i64,
    pub size: i64,
    pub population_digest: String,
    pub rules_date: String,
    pub note: String,
    pub drawn_by: Option<UserId>,
    pub drawer_name: String,
}

/// One stratum to store, with its frozen population text.
#[derive(Debug, Clone)]
pub struct NewStratum {
    pub org_id: OrgId,
    pub org_path: String,
    pub population: i64,
    pub size: i64,
    pub frozen: String,
}

/// One sampled record to store.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub stratum_org_id: OrgId,
    pub member_id: MemberId,
    pub registration_id: i64,
    pub org_path: String,
    pub weight: u32,
    pub digest: String,
}

fn big(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Store a drawn sample: the sample, its strata and its records in drawing order.
pub async fn insert(
    conn: &mut AnyConnection,
    s: &NewSample<'_>,
    strata: &[NewStratum],
    items: Vec<NewItem>,
) -> StoreResult<SampleId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO samples (campaign_id, org_id, org_path, stratum_level, rate_ppm, min_per, \
         max_per, weighted, seed, population, size, population_digest, rules_date, note, \
         drawn_at, drawn_by, drawer_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
         $12, $13, $14, $15, $16, $17) RETURNING id",
    )
    .bind(s.campaign_id)
    .bind(s.org_id.0)
    .bind(s.org_path.as_str().to_owned())
    .bind(s.by.code())
    .bind(big(s.rate_ppm))
    .bind(big(s.min))
    .bind(big(s.max))
    .bind(i64::from(s.weighted))
    .bind(s.seed.to_string())
    .bind(s.population)
    .bind(s.size)
    .bind(s.population_digest.clone())
    .bind(s.rules_date.clone())
    .bind(s.note.clone())
    .bind(now())
    .bind(s.drawn_by.map(|u| u.0))
    .bind(s.drawer_name.clone())
    .fetch_one(&mut *conn)
    .await?;
    for st in strata {
        sqlx::query(
            "INSERT INTO sample_strata (sample_id, org_id, org_path, population, size, frozen) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(st.org_id.0)
        .bind(st.org_path.clone())
        .bind(st.population)
        .bind(st.size)
        .bind(st.frozen.clone())
        .execute(&mut *conn)
        .await?;
    }
    let rows = items
        .into_iter()
        .enumerate()
        .map(|(i, it)| {
            use super::sql::Arg;
            vec![
                Arg::Int(id),
                Arg::Int(i as i64 + 1),
                Arg::Int(it.stratum_org_id.0),
                Arg::Int(it.member_id.0),
                Arg::Int(it.registration_id),
                Arg::Text(it.org_path),
                Arg::Int(i64::from(it.weight)),
                Arg::Text(it.digest),
                Arg::Int(0),
            ]
        })
        .collect();
    super::sql::insert_rows(
        conn,
        "sample_items",
        "sample_id, position, stratum_org_id, member_id, registration_id, org_path, weight, \
         digest, version",
        rows,
    )
    .await?;
    Ok(SampleId(id))
}

/// One stratum of a sample with how its check stands.
#[derive(Debug, Clone)]
pub struct Stratum {
    pub org_id: OrgId,
    pub org_name: String,
    pub org_path: TreePath,
    pub population: u64,
    pub size: u64,
    pub assigned: u64,
    pub checked: u64,
    pub false_count: u64,
    /// The accounts the stratum's records are assigned to, comma-separated.
    pub checkers: String,
}

/// The strata of a sample in path order, with their tallies.
pub async fn strata(conn: &mut AnyConnection, id: SampleId) -> StoreResult<Vec<Stratum>> {
    let rows = sqlx::query(
        "SELECT t.org_id, o.name, t.org_path, t.population, t.size \
         FROM sample_strata t JOIN orgs o ON o.id = t.org_id WHERE t.sample_id = $1 \
         ORDER BY t.org_path",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    // The progress of every stratum in one pass over the sample's records.
    let tallies = sqlx::query(
        "SELECT stratum_org_id, COUNT(checker_id) AS assigned, COUNT(result) AS checked, \
         COALESCE(SUM(CASE WHEN result = 'false' THEN 1 ELSE 0 END), 0) AS false_count \
         FROM sample_items WHERE sample_id = $1 GROUP BY stratum_org_id",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut progress: std::collections::HashMap<i64, (u64, u64, u64)> = Default::default();
    for r in &tallies {
        progress.insert(
            r.try_get("stratum_org_id")?,
            (
                count(r, "assigned")?,
                count(r, "checked")?,
                count(r, "false_count")?,
            ),
        );
    }
    let names = sqlx::query(
        "SELECT DISTINCT stratum_org_id, checker_name FROM sample_items \
         WHERE sample_id = $1 AND checker_name IS NOT NULL ORDER BY stratum_org_id, checker_name",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut checkers: std::collections::HashMap<i64, Vec<String>> = Default::default();
    for r in &names {
        checkers
            .entry(r.try_get("stratum_org_id")?)
            .or_default()
            .push(r.try_get("checker_name")?);
    }
    rows.iter()
        .map(|r| {
            let org_id: i64 = r.try_get("org_id")?;
            let (assigned, checked, false_count) =
                progress.get(&org_id).copied().unwrap_or_default();
            Ok(Stratum {
                org_id: OrgId(org_id),
                org_name: r.try_get("name")?,
                org_path: path_of(r, "org_path")?,
                population: count(r, "population")?,
                size: count(r, "size")?,
                assigned,
                checked,
                false_count,
                checkers: checkers.remove(&org_id).unwrap_or_default().join("、"),
            })
        })
        .collect()
}

/// The frozen population of each stratum, in path order: (stratum node, frozen text).
pub async fn frozen(conn: &mut AnyConnection, id: SampleId) -> StoreResult<Vec<(OrgId, String)>> {
    let rows = sqlx::query(
        "SELECT org_id, frozen FROM sample_strata WHERE sample_id = $1 ORDER BY org_path",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((OrgId(r.try_get("org_id")?), r.try_get("frozen")?)))
        .collect()
}

/// A sampled record with the names its row shows.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: SampleItemId,
    pub sample_id: SampleId,
    pub position: i64,
    pub stratum_org_id: OrgId,
    pub stratum_name: String,
    pub member_id: MemberId,
    pub member_name: String,
    pub member_category: String,
    pub org_name: String,
    pub org_path: TreePath,
    pub registration_id: i64,
    pub weight: i64,
    pub digest: String,
    pub checker_id: Option<UserId>,
    pub checker_name: Option<String>,
    pub result: Option<Finding>,
    pub false_fields: Vec<String>,
    pub note: Option<String>,
    pub checked_digest: Option<String>,
    pub checked_at: Option<i64>,
    pub checked_name: Option<String>,
    pub version: i64,
}

const ITEM: &str = "SELECT i.id, i.sample_id, i.position, i.stratum_org_id, t.name AS stratum_name, \
     i.member_id, m.name AS member_name, m.category AS member_category, o.name AS org_name, \
     i.org_path, i.registration_id, i.weight, i.digest, i.checker_id, i.checker_name, i.result, \
     i.false_fields, i.note, i.checked_digest, i.checked_at, i.checked_name, i.version \
     FROM sample_items i JOIN members m ON m.id = i.member_id JOIN orgs o ON o.id = m.org_id \
     JOIN orgs t ON t.id = i.stratum_org_id";

fn item_from_row(r: &sqlx::any::AnyRow) -> StoreResult<Item> {
    let result: Option<String> = r.try_get("result")?;
    let fields: Option<String> = r.try_get("false_fields")?;
    Ok(Item {
        id: SampleItemId(r.try_get("id")?),
        sample_id: SampleId(r.try_get("sample_id")?),
        position: r.try_get("position")?,
        stratum_org_id: OrgId(r.try_get("stratum_org_id")?),
        stratum_name: r.try_get("stratum_name")?,
        member_id: MemberId(r.try_get("member_id")?),
        member_name: r.try_get("member_name")?,
        member_category: r.try_get("member_category")?,
        org_name: r.try_get("org_name")?,
        org_path: path_of(r, "org_path")?,
        registration_id: r.try_get("registration_id")?,
        weight: r.try_get("weight")?,
        digest: r.try_get("digest")?,
        checker_id: r.try_get::<Option<i64>, _>("checker_id")?.map(UserId),
        checker_name: r.try_get("checker_name")?,
        result: match result {
            Some(c) => Some(state_of(&c, Finding::parse)?),
            None => None,
        },
        false_fields: match fields {
            Some(j) => serde_json::from_str(&j)
                .map_err(|_| StoreError::Corrupt("sample_items.false_fields".into()))?,
            None => Vec::new(),
        },
        note: r.try_get("note")?,
        checked_digest: r.try_get("checked_digest")?,
        checked_at: r.try_get("checked_at")?,
        checked_name: r.try_get("checked_name")?,
        version: r.try_get("version")?,
    })
}

pub async fn item(conn: &mut AnyConnection, id: SampleItemId) -> StoreResult<Option<Item>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{ITEM} WHERE i.id = $1")))
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(item_from_row).transpose()
}

/// Which sampled records a list shows.
#[derive(Debug, Clone, Default)]
pub struct ItemFilter {
    pub stratum: Option<OrgId>,
    /// `todo` (not yet checked), `true`, `false`.
    pub result: Option<String>,
    /// Only those assigned to this account.
    pub checker: Option<UserId>,
    pub page: i64,
    pub per_page: i64,
}

/// One page of a sample's records within the scope, in drawing order.
pub async fn items(
    conn: &mut AnyConnection,
    id: SampleId,
    scope: &Scope,
    f: &ItemFilter,
) -> StoreResult<Page<Item>> {
    let mut sql = Sql::new(ITEM);
    sql.push(" WHERE i.sample_id = ").int(id.0);
    match scope {
        Scope::Subtree(path) => push_path_scope(&mut sql, "i.org_path", path),
        Scope::OwnRecord(id) => {
            sql.push(" AND i.member_id = ").int(id.0);
        }
    }
    if let Some(s) = f.stratum {
        sql.push(" AND i.stratum_org_id = ").int(s.0);
    }
    match f.result.as_deref() {
        Some("todo") => {
            sql.push(" AND i.result IS NULL");
        }
        Some(code) if Finding::parse(code).is_some() => {
            sql.push(" AND i.result = ").text(code);
        }
        _ => {}
    }
    if let Some(u) = f.checker {
        sql.push(" AND i.checker_id = ").int(u.0);
    }
    sql.push(" ORDER BY i.position LIMIT ")
        .int(f.per_page + 1)
        .push(" OFFSET ")
        .int((f.page - 1) * f.per_page);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let items = rows
        .iter()
        .map(item_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, f.page, f.per_page))
}

/// Every record of a sample in drawing order (the report file, the reproducibility check).
pub async fn all_items(conn: &mut AnyConnection, id: SampleId) -> StoreResult<Vec<Item>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{ITEM} WHERE i.sample_id = $1 ORDER BY i.position"
    )))
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(item_from_row).collect()
}

/// Assign the unchecked records of a sample (of one stratum, or all) to an account; returns
/// how many.
pub async fn assign(
    conn: &mut AnyConnection,
    id: SampleId,
    stratum: Option<OrgId>,
    checker: UserId,
    checker_name: &str,
) -> StoreResult<u64> {
    let mut sql = Sql::new("UPDATE sample_items SET checker_id = ");
    sql.int(checker.0)
        .push(", checker_name = ")
        .text(checker_name)
        .push(", version = version + 1 WHERE sample_id = ")
        .int(id.0)
        .push(" AND result IS NULL");
    if let Some(s) = stratum {
        sql.push(" AND stratum_org_id = ").int(s.0);
    }
    Ok(sql.query().execute(&mut *conn).await?.rows_affected())
}

/// A check to record.
#[derive(Debug, Clone)]
pub struct NewCheck<'a> {
    pub result: Finding,
    pub false_fields: &'a [String],
    pub note: &'a str,
    pub checked_digest: &'a str,
    pub by: Option<UserId>,
    pub by_name: &'a str,
}

/// Record the check of a record not yet checked and still at `version`; `Conflict` when
/// another check came first.
pub async fn record(
    conn: &mut AnyConnection,
    id: SampleItemId,
    version: i64,
    c: &NewCheck<'_>,
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE sample_items SET result = $1, false_fields = $2, note = $3, checked_digest = $4, \
         checked_at = $5, checked_by = $6, checked_name = $7, version = version + 1 \
         WHERE id = $8 AND version = $9 AND result IS NULL",
    )
    .bind(c.result.code())
    .bind(serde_json::to_string(c.false_fields).unwrap_or_else(|_| "[]".into()))
    .bind(c.note.to_owned())
    .bind(c.checked_digest.to_owned())
    .bind(now())
    .bind(c.by.map(|u| u.0))
    .bind(c.by_name.to_owned())
    .bind(id.0)
    .bind(version)
    .execute(&mut *conn)
    .await?;
    changed_one(&done)
}
