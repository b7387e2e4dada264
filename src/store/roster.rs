//! The living roster: the date each member, firm and organisation version began, the ended
//! versions (`roster_history`), and the four rosters (名册) of a subtree now or on a past date.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::orgs::{Page, push_path_scope};
use super::{Sql, StoreError, StoreResult, now};
use crate::domain::{FirmId, MemberId, OrgId, TreePath};

/// Today's date in Beijing as `YYYY-MM-DD` (the one place the store turns its clock into a
/// date).
pub fn today() -> String {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::from_unix_timestamp(now())
        .map(|t| t.to_offset(offset).date().to_string())
        .unwrap_or_default()
}

/// The date a record placed now begins on the roster: the open campaign's cut-off (what a
/// campaign registers is on its roster from its cut-off), today once campaigns exist but none
/// is open, and `None` before the first campaign (on record since the records began).
pub async fn placement_date(conn: &mut AnyConnection) -> StoreResult<Option<String>> {
    let rows = sqlx::query("SELECT cutoff_date, closed_at FROM campaigns ORDER BY id DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    match rows {
        None => Ok(None),
        Some(r) => match r.try_get::<Option<i64>, _>("closed_at")? {
            None => Ok(Some(r.try_get("cutoff_date")?)),
            Some(_) => Ok(Some(today())),
        },
    }
}

/// What a history row is the version of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Member,
    Firm,
    Org,
}

impl RecordKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Firm => "firm",
            Self::Org => "org",
        }
    }
}

/// One ended version, as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub kind: RecordKind,
    pub record_id: i64,
    pub path: TreePath,
    pub from_date: Option<String>,
    pub to_date: String,
    pub name: String,
    pub place: String,
    pub category: String,
    pub status: String,
    pub org_id: Option<OrgId>,
    pub firm_id: Option<FirmId>,
    /// The rest of the version, a JSON object.
    pub detail: serde_json::Value,
    /// What ended it: `transfer`, `edit`, `move`, `close`.
    pub reason: String,
    pub at: i64,
}

/// Keep an ended version; its id.
pub async fn keep(conn: &mut AnyConnection, v: &Version) -> StoreResult<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO roster_history (kind, record_id, path, from_date, to_date, name, place, \
         category, status, org_id, firm_id, detail, reason, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(v.kind.code())
    .bind(v.record_id)
    .bind(v.path.as_str().to_owned())
    .bind(v.from_date.clone())
    .bind(v.to_date.clone())
    .bind(v.name.clone())
    .bind(v.place.clone())
    .bind(v.category.clone())
    .bind(v.status.clone())
    .bind(v.org_id.map(|o| o.0))
    .bind(v.firm_id.map(|f| f.0))
    .bind(v.detail.to_string())
    .bind(v.reason.clone())
    .bind(v.at)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

fn version_of(r: &AnyRow) -> StoreResult<Version> {
    let kind: String = r.try_get("kind")?;
    let path: String = r.try_get("path")?;
    let detail: String = r.try_get("detail")?;
    Ok(Version {
        kind: match kind.as_str() {
            "member" => RecordKind::Member,
            "firm" => RecordKind::Firm,
            _ => RecordKind::Org,
        },
        record_id: r.try_get("record_id")?,
        path: TreePath::parse(&path)
            .ok_or_else(|| StoreError::Corrupt(format!("history path {path}")))?,
        from_date: r.try_get("from_date")?,
        to_date: r.try_get("to_date")?,
        name: r.try_get("name")?,
        place: r.try_get("place")?,
        category: r.try_get("category")?,
        status: r.try_get("status")?,
        org_id: r.try_get::<Option<i64>, _>("org_id")?.map(OrgId),
        firm_id: r.try_get::<Option<i64>, _>("firm_id")?.map(FirmId),
        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
        reason: r.try_get("reason")?,
        at: r.try_get("at")?,
    })
}

/// Every ended version of one record, oldest first.
pub async fn versions(
    conn: &mut AnyConnection,
    kind: RecordKind,
    record_id: i64,
) -> StoreResult<Vec<Version>> {
    let rows = sqlx::query(
        "SELECT kind, record_id, path, from_date, to_date, name, place, category, status, \
         org_id, firm_id, detail, reason, at FROM roster_history \
         WHERE kind = $1 AND record_id = $2 ORDER BY id",
    )
    .bind(kind.code())
    .bind(record_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(version_of).collect()
}

/// The date the current version of a record began (`None`: since the records began).
pub async fn placed_on(
    conn: &mut AnyConnection,
    kind: RecordKind,
    record_id: i64,
) -> StoreResult<Option<String>> {
    let table = match kind {
        RecordKind::Member => "SELECT placed_on FROM members WHERE id = $1",
        RecordKind::Firm => "SELECT placed_on FROM firms WHERE id = $1",
        RecordKind::Org => "SELECT placed_on FROM orgs WHERE id = $1",
    };
    Ok(sqlx::query(table)
        .bind(record_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get::<Option<String>, _>("placed_on"))
        .transpose()?
        .flatten())
}

/// The four rosters a node keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roster {
    /// 律师党员名册
    Lawyers,
    /// 工作人员党员名册
    Staff,
    /// 党组织名册
    Orgs,
    /// 律师事务所名册
    Firms,
}

impl Roster {
    pub const ALL: [Self; 4] = [Self::Lawyers, Self::Staff, Self::Orgs, Self::Firms];

    pub fn code(self) -> &'static str {
        match self {
            Self::Lawyers => "lawyers",
            Self::Staff => "staff",
            Self::Orgs => "orgs",
            Self::Firms => "firms",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Lawyers => "律师党员名册",
            Self::Staff => "工作人员党员名册",
            Self::Orgs => "党组织名册",
            Self::Firms => "律师事务所名册",
        }
    }
}

/// What to list: a roster, the day it is read on (`None`: as it is now), one category
/// (正式/预备 for members, the organisation kind, the firm's coverage) and a name.
#[derive(Debug, Clone)]
pub struct RosterFilter {
    pub roster: Roster,
    pub as_of: Option<String>,
    pub category: Option<String>,
    pub name: Option<String>,
    /// The accepted (official) roster: each record as its last change accepted by the
    /// national level left it (records with changes on their way up show the version before
    /// them; records added and not yet accepted are left out). Only for today's roster.
    pub accepted: bool,
    pub page: i64,
    pub per_page: i64,
}

/// One line of a roster. Members: `category` 正式/预备 status, `place` the firm, `org` the
/// organisation; firms: `category` the coverage, `place` the covering organisation;
/// organisations: `category` the kind, `place` the parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub id: i64,
    pub name: String,
    pub path: TreePath,
    pub from_date: Option<String>,
    /// Set on a version that ended after the day asked for (the record has changed since).
    pub to_date: Option<String>,
    pub category: String,
    pub place: String,
    pub org: String,
    /// Members: sex, birth date, masked ID number, joined on, full member on, licence.
    /// Firms: credit code, region, form, lawyers, members. Organisations: level, region,
    /// secretary, phone, formed on.
    pub cells: Vec<String>,
}

const MEMBER_NOW: &str = "SELECT m.id, m.name, m.org_path AS path, m.placed_on AS from_date, \
     CAST(NULL AS TEXT) AS to_date, m.party_status AS category, f.name AS place, o.name AS org, \
     m.sex, m.birth_date, m.citizen_id_masked, m.joined_on, m.full_member_on, m.licence_no \
     FROM members m JOIN firms f ON f.id = m.firm_id JOIN orgs o ON o.id = m.org_id \
     WHERE m.stopped_on IS NULL";
const MEMBER_THEN: &str = "SELECT m.id, m.name, h.path, h.from_date, h.to_date, \
     h.status AS category, h.place, COALESCE(o.name, '') AS org, m.sex, m.birth_date, \
     m.citizen_id_masked, m.joined_on, m.full_member_on, m.licence_no \
     FROM roster_history h JOIN members m ON m.id = h.record_id \
     LEFT JOIN orgs o ON o.id = h.org_id WHERE h.kind = 'member'";
const FIRM_NOW: &str = "SELECT f.id, f.name, f.scope_path AS path, f.placed_on AS from_date, \
     CAST(NULL AS TEXT) AS to_date, \
     CASE WHEN o.id IS NULL THEN 'none' WHEN o.kind = 'joint_branch' THEN 'joint' ELSE 'own' END \
     AS category, COALESCE(o.name, '') AS place, c.name AS org, f.credit_code, f.region_code, \
     f.form, f.lawyer_count, f.member_count, CAST(NULL AS TEXT) AS detail \
     FROM firms f JOIN orgs c ON c.id = f.city_org_id LEFT JOIN orgs o ON o.id = f.org_id \
     WHERE 1 = 1";
const FIRM_THEN: &str = "SELECT h.record_id AS id, h.name, h.path, h.from_date, h.to_date, \
     h.category, h.place, '' AS org, '' AS credit_code, '' AS region_code, h.status AS form, \
     0 AS lawyer_count, -1 AS member_count, h.detail \
     FROM roster_history h WHERE h.kind = 'firm'";
const ORG_NOW: &str = "SELECT o.id, o.name, o.path, o.placed_on AS from_date, \
     CAST(NULL AS TEXT) AS to_date, o.kind AS category, COALESCE(p.name, '') AS place, \
     o.level AS org, COALESCE(o.region_code, '') AS region_code, \
     COALESCE(o.secretary_name, '') AS secretary_name, \
     COALESCE(o.contact_phone, '') AS contact_phone, COALESCE(o.formed_on, '') AS formed_on, \
     COALESCE(o.organiser_name, '') AS organiser_name, COALESCE(o.term_end, '') AS term_end, \
     CAST(NULL AS TEXT) AS detail \
     FROM orgs o LEFT JOIN orgs p ON p.id = o.parent_id WHERE o.dissolved_on IS NULL";
const ORG_THEN: &str = "SELECT h.record_id AS id, h.name, h.path, h.from_date, h.to_date, \
     h.category, h.place, h.status AS org, '' AS region_code, '' AS secretary_name, \
     '' AS contact_phone, '' AS formed_on, '' AS organiser_name, '' AS term_end, h.detail \
     FROM roster_history h WHERE h.kind = 'org'";

/// The filters of one branch (the current rows or the history), with its column names.
fn branch(
    sql: &mut Sql,
    f: &RosterFilter,
    path: &TreePath,
    history: bool,
    (path_col, name_col, category_col, placed_col): (&str, &str, &str, &str),
) {
    push_path_scope(sql, path_col, path);
    if let Some(d) = &f.as_of {
        if history {
            sql.push(" AND h.to_date > ").text(d.clone());
            sql.push(" AND (h.from_date IS NULL OR h.from_date <= ")
                .text(d.clone())
                .push(")");
        } else {
            sql.push(" AND (")
                .push(placed_col)
                .push(" IS NULL OR ")
                .push(placed_col)
                .push(" <= ")
                .text(d.clone())
                .push(")");
        }
    }
    match f.roster {
        Roster::Lawyers if history => {
            sql.push(" AND h.category = 'lawyer'");
        }
        Roster::Staff if history => {
            sql.push(" AND h.category = 'staff'");
        }
        Roster::Lawyers => {
            sql.push(" AND m.category = 'lawyer'");
        }
        Roster::Staff => {
            sql.push(" AND m.category = 'staff'");
        }
        Roster::Orgs | Roster::Firms => {}
    }
    if let Some(c) = f.category.as_deref().filter(|c| !c.is_empty()) {
        sql.push(" AND ")
            .push(category_col)
            .push(" = ")
            .text(c.to_owned());
    }
    if let Some(n) = f.name.as_deref().filter(|n| !n.is_empty()) {
        sql.push(" AND ")
            .push(name_col)
            .push(" LIKE ")
            .text(format!("%{}%", super::sql::like_escape(n)))
            .push(" ESCAPE '\\'");
    }
}

/// The official basis, current rows: only records of `kind` (id column `id_col`) with no
/// change on its way up.
fn without_unaccepted_change(sql: &mut Sql, kind: &str, id_col: &str) {
    sql.push(" AND NOT EXISTS (SELECT 1 FROM changes c WHERE c.subject_kind = '")
        .push(kind)
        .push("' AND c.subject_id = ")
        .push(id_col)
        .push(" AND c.state <> 'accepted')");
}

/// The official basis, history rows: the version of `kind` that each record's first
/// unaccepted change ended.
fn ended_by_first_unaccepted_change(sql: &mut Sql, kind: &str) {
    sql.push(" AND h.id IN (SELECT c.history_id FROM changes c WHERE c.subject_kind = '")
        .push(kind)
        .push(
            "' AND c.state <> 'accepted' AND c.history_id IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM changes e WHERE e.subject_kind = c.subject_kind \
             AND e.subject_id = c.subject_id AND e.state <> 'accepted' AND e.id < c.id))",
        );
}

/// The SQL of a roster: the current rows (placed by the day asked for) and, on a past day,
/// the ended versions that held on it; in path and name order. `None` limit: every line.
fn roster_sql(f: &RosterFilter, path: &TreePath, limit: Option<(i64, i64)>) -> Sql {
    let (now_sql, then_sql, now_cols, then_cols) = match f.roster {
        Roster::Lawyers | Roster::Staff => (
            MEMBER_NOW,
            MEMBER_THEN,
            ("m.org_path", "m.name", "m.party_status", "m.placed_on"),
            ("h.path", "m.name", "h.status", ""),
        ),
        Roster::Firms => (
            FIRM_NOW,
            FIRM_THEN,
            (
                "f.scope_path",
                "f.name",
                "CASE WHEN o.id IS NULL THEN 'none' WHEN o.kind = 'joint_branch' THEN 'joint' \
                 ELSE 'own' END",
                "f.placed_on",
            ),
            ("h.path", "h.name", "h.category", ""),
        ),
        Roster::Orgs => (
            ORG_NOW,
            ORG_THEN,
            ("o.path", "o.name", "o.kind", "o.placed_on"),
            ("h.path", "h.name", "h.category", ""),
        ),
    };
    let (kind, id_col) = match f.roster {
        Roster::Lawyers | Roster::Staff => ("member", "m.id"),
        Roster::Firms => ("firm", "f.id"),
        Roster::Orgs => ("org", "o.id"),
    };
    let accepted = f.accepted && f.as_of.is_none();
    let mut sql = Sql::new("SELECT * FROM (");
    sql.push(now_sql);
    branch(&mut sql, f, path, false, now_cols);
    if accepted {
        without_unaccepted_change(&mut sql, kind, id_col);
    }
    if f.as_of.is_some() {
        sql.push(" UNION ALL ").push(then_sql);
        branch(&mut sql, f, path, true, then_cols);
    } else if accepted {
        // The version each record's first unaccepted change ended.
        sql.push(" UNION ALL ").push(then_sql);
        branch(&mut sql, f, path, true, then_cols);
        ended_by_first_unaccepted_change(&mut sql, kind);
    }
    sql.push(") x ORDER BY x.path, x.name, x.id");
    if let Some((page, per_page)) = limit {
        sql.push(" LIMIT ")
            .int(per_page + 1)
            .push(" OFFSET ")
            .int((page - 1) * per_page);
    }
    sql
}

fn text(r: &AnyRow, col: &str) -> StoreResult<String> {
    Ok(r.try_get::<Option<String>, _>(col)?.unwrap_or_default())
}

fn line_of(roster: Roster, r: &AnyRow) -> StoreResult<Line> {
    let path: String = r.try_get("path")?;
    let detail: Option<String> = match roster {
        Roster::Lawyers | Roster::Staff => None,
        _ => r.try_get("detail")?,
    };
    let detail: serde_json::Value = detail
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(serde_json::Value::Null);
    let from_detail = |key: &str, column: String| -> String {
        match detail.get(key) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => column,
        }
    };
    let cells = match roster {
        Roster::Lawyers | Roster::Staff => vec![
            text(r, "sex")?,
            text(r, "birth_date")?,
            text(r, "citizen_id_masked")?,
            text(r, "joined_on")?,
            text(r, "full_member_on")?,
            text(r, "licence_no")?,
        ],
        Roster::Firms => {
            let members: i64 = r.try_get("member_count")?;
            let lawyers: i64 = r.try_get("lawyer_count")?;
            vec![
                from_detail("credit_code", text(r, "credit_code")?),
                from_detail("region_code", text(r, "region_code")?),
                text(r, "form")?,
                from_detail("lawyer_count", lawyers.to_string()),
                if members < 0 {
                    String::new()
                } else {
                    members.to_string()
                },
            ]
        }
        Roster::Orgs => vec![
            text(r, "org")?,
            from_detail("region_code", text(r, "region_code")?),
            from_detail("secretary_name", text(r, "secretary_name")?),
            from_detail("contact_phone", text(r, "contact_phone")?),
            from_detail("formed_on", text(r, "formed_on")?),
            from_detail("organiser_name", text(r, "organiser_name")?),
            from_detail("term_end", text(r, "term_end")?),
        ],
    };
    Ok(Line {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        path: TreePath::parse(&path)
            .ok_or_else(|| StoreError::Corrupt(format!("roster path {path}")))?,
        from_date: r.try_get("from_date")?,
        to_date: r.try_get("to_date")?,
        category: text(r, "category")?,
        place: text(r, "place")?,
        org: match roster {
            Roster::Orgs => String::new(),
            Roster::Firms => from_detail("city", text(r, "org")?),
            _ => text(r, "org")?,
        },
        cells,
    })
}

/// One page of a roster of the subtree at `path`.
pub async fn page(
    conn: &mut AnyConnection,
    path: &TreePath,
    f: &RosterFilter,
) -> StoreResult<Page<Line>> {
    let sql = roster_sql(f, path, Some((f.page, f.per_page)));
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let items = rows
        .iter()
        .map(|r| line_of(f.roster, r))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, f.page, f.per_page))
}

/// Every line of a roster of the subtree at `path` (for an export or a print), at most
/// `limit` (one more tells the caller there were more).
pub async fn all(
    conn: &mut AnyConnection,
    path: &TreePath,
    f: &RosterFilter,
    limit: i64,
) -> StoreResult<Vec<Line>> {
    let sql = roster_sql(f, path, Some((1, limit)));
    let rows = sql.query().fetch_all(&mut *conn).await?;
    rows.iter().map(|r| line_of(f.roster, r)).collect()
}

/// A member's current placement as a version (to keep when it ends on `to_date`).
pub async fn member_version(
    conn: &mut AnyConnection,
    id: MemberId,
    to_date: &str,
    reason: &str,
) -> StoreResult<Option<Version>> {
    let row = sqlx::query(
        "SELECT m.id, m.name, m.org_path, m.placed_on, m.category, m.party_status, m.org_id, \
         m.firm_id, f.name AS firm_name, o.name AS org_name FROM members m \
         JOIN firms f ON f.id = m.firm_id JOIN orgs o ON o.id = m.org_id WHERE m.id = $1",
    )
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let path: String = r.try_get("org_path")?;
    Ok(Some(Version {
        kind: RecordKind::Member,
        record_id: id.0,
        path: TreePath::parse(&path)
            .ok_or_else(|| StoreError::Corrupt(format!("member path {path}")))?,
        from_date: r.try_get("placed_on")?,
        to_date: to_date.to_owned(),
        name: r.try_get("name")?,
        place: r.try_get("firm_name")?,
        category: r.try_get("category")?,
        status: r.try_get("party_status")?,
        org_id: Some(OrgId(r.try_get("org_id")?)),
        firm_id: Some(FirmId(r.try_get("firm_id")?)),
        detail: serde_json::json!({ "org": r.try_get::<String, _>("org_name")? }),
        reason: reason.to_owned(),
        at: now(),
    }))
}

/// A firm as a version (to keep when it ends on `to_date`).
pub fn firm_version(
    f: &super::firms::Firm,
    placed_on: Option<String>,
    to_date: &str,
    reason: &str,
) -> Version {
    Version {
        kind: RecordKind::Firm,
        record_id: f.id.0,
        path: f.scope_path.clone(),
        from_date: placed_on,
        to_date: to_date.to_owned(),
        name: f.name.clone(),
        place: f.org_name.clone().unwrap_or_default(),
        category: super::firms::Coverage::of(f).code().to_owned(),
        status: f.form.clone(),
        org_id: f.org_id,
        firm_id: Some(f.id),
        detail: serde_json::json!({
            "credit_code": f.credit_code,
            "region_code": f.region_code,
            "lawyer_count": f.lawyer_count,
            "city": f.city_org_name,
        }),
        reason: reason.to_owned(),
        at: now(),
    }
}

/// An organisation as a version (to keep when it ends on `to_date`).
pub fn org_version(
    o: &super::orgs::Org,
    parent_name: &str,
    placed_on: Option<String>,
    to_date: &str,
    reason: &str,
) -> Version {
    Version {
        kind: RecordKind::Org,
        record_id: o.id.0,
        path: o.path.clone(),
        from_date: placed_on,
        to_date: to_date.to_owned(),
        name: o.name.clone(),
        place: parent_name.to_owned(),
        category: o.kind.code().to_owned(),
        status: o.level.code().to_owned(),
        org_id: o.parent_id,
        firm_id: None,
        detail: serde_json::json!({
            "region_code": o.region_code.clone().unwrap_or_default(),
            "secretary_name": o.secretary_name.clone().unwrap_or_default(),
            "contact_phone": o.contact_phone.clone().unwrap_or_default(),
            "formed_on": o.formed_on.clone().unwrap_or_default(),
            "organiser_name": o.organiser_name.clone().unwrap_or_default(),
            "term_start": o.term_start.clone().unwrap_or_default(),
            "term_end": o.term_end.clone().unwrap_or_default(),
        }),
        reason: reason.to_owned(),
        at: now(),
    }
}

/// The ended versions of firms that sat under the organisation at `path`, oldest first.
pub async fn firm_versions_under(
    conn: &mut AnyConnection,
    path: &TreePath,
) -> StoreResult<Vec<Version>> {
    let rows = sqlx::query(
        "SELECT kind, record_id, path, from_date, to_date, name, place, category, status, \
         org_id, firm_id, detail, reason, at FROM roster_history \
         WHERE kind = 'firm' AND path = $1 ORDER BY id",
    )
    .bind(path.as_str().to_owned())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(version_of).collect()
}

/// When a member record was created (unix seconds).
pub async fn member_created_at(conn: &mut AnyConnection, id: MemberId) -> StoreResult<Option<i64>> {
    Ok(sqlx::query("SELECT created_at FROM members WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("created_at"))
        .transpose()?)
}

/// Which state of the roster to count: as it stood on a day, as it is now, or the accepted
/// (official) state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountBasis<'a> {
    AsOf(&'a str),
    Current,
    /// Each record as its last accepted change left it (see [`RosterFilter::accepted`]).
    Accepted,
}

/// The size of a subtree's rosters — members by category and status, firms, firm-level
/// organisations — on a basis: the current rows (placed by the day, or with no change on its
/// way up) and the history versions that held on the day (or that the first unaccepted
/// change ended).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RosterCounts {
    pub lawyers: i64,
    pub staff: i64,
    pub full_members: i64,
    pub probationary: i64,
    pub firms: i64,
    pub firm_orgs: i64,
}

pub async fn counts(
    conn: &mut AnyConnection,
    path: &TreePath,
    basis: CountBasis<'_>,
) -> StoreResult<RosterCounts> {
    // Narrows the current rows of `kind` (id column `id`, placed-on column `placed`).
    let now = |sql: &mut Sql, kind: &str, id: &str, placed: &str| match basis {
        CountBasis::AsOf(d) => {
            sql.push(" AND (")
                .push(placed)
                .push(" IS NULL OR ")
                .push(placed)
                .push(" <= ")
                .text(d.to_owned())
                .push(")");
        }
        CountBasis::Current => {}
        CountBasis::Accepted => without_unaccepted_change(sql, kind, id),
    };
    // The history versions of `kind` that count.
    let held = |sql: &mut Sql, kind: &str| {
        if basis == CountBasis::Current {
            return;
        }
        sql.push(
            " UNION ALL SELECT h.category AS a, h.status AS b FROM roster_history h \
             WHERE h.kind = '",
        )
        .push(kind)
        .push("'");
        push_path_scope(sql, "h.path", path);
        match basis {
            CountBasis::AsOf(d) => {
                sql.push(" AND h.to_date > ").text(d.to_owned());
                sql.push(" AND (h.from_date IS NULL OR h.from_date <= ")
                    .text(d.to_owned())
                    .push(")");
            }
            _ => ended_by_first_unaccepted_change(sql, kind),
        }
    };
    let mut out = RosterCounts::default();
    let mut sql = Sql::new(
        "SELECT x.a, x.b, COUNT(*) AS n FROM (SELECT m.category AS a, m.party_status AS b \
         FROM members m WHERE m.stopped_on IS NULL",
    );
    push_path_scope(&mut sql, "m.org_path", path);
    now(&mut sql, "member", "m.id", "m.placed_on");
    held(&mut sql, "member");
    sql.push(") x GROUP BY x.a, x.b");
    for r in sql.query().fetch_all(&mut *conn).await? {
        let (a, b, n): (String, String, i64) = (r.try_get("a")?, r.try_get("b")?, r.try_get("n")?);
        match a.as_str() {
            "lawyer" => out.lawyers += n,
            _ => out.staff += n,
        }
        match b.as_str() {
            "full" => out.full_members += n,
            _ => out.probationary += n,
        }
    }
    let mut sql =
        Sql::new("SELECT COUNT(*) AS n FROM (SELECT '' AS a, '' AS b FROM firms f WHERE 1 = 1");
    push_path_scope(&mut sql, "f.scope_path", path);
    now(&mut sql, "firm", "f.id", "f.placed_on");
    held(&mut sql, "firm");
    sql.push(") x");
    out.firms = sql.query().fetch_one(&mut *conn).await?.try_get("n")?;
    let mut sql = Sql::new(
        "SELECT COUNT(*) AS n FROM (SELECT o.kind AS a, o.level AS b FROM orgs o \
         WHERE o.level = 'firm' AND o.dissolved_on IS NULL",
    );
    push_path_scope(&mut sql, "o.path", path);
    now(&mut sql, "org", "o.id", "o.placed_on");
    held(&mut sql, "org");
    sql.push(") x WHERE x.b = 'firm'");
    out.firm_orgs = sql.query().fetch_one(&mut *conn).await?.try_get("n")?;
    Ok(out)
}
