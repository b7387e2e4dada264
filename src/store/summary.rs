//! The raw material of the summary tables 附件4/5/6 and of the level statistics block, read
//! live from the records of a subtree (no precomputed totals).

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};

use super::{StoreError, StoreResult};
use crate::domain::{OrgId, TreePath};

/// The statistics block of forms.md §3.6 for one subtree.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    pub firms: i64,
    pub firms_with_members: i64,
    pub firms_own_org: i64,
    pub firms_joint: i64,
    pub firms_without_members: i64,
    pub committees: i64,
    pub general_branches: i64,
    pub branches: i64,
    pub joint_branches: i64,
    pub lawyers: i64,
    pub staff: i64,
    pub full_members: i64,
    pub probationary: i64,
    /// Members whose organisation relation is in the firm or the industry (摸底核查 已转入).
    pub relation_in_industry: i64,
    /// Members by 问题类别 1–5.
    pub cases: [i64; 5],
    /// Registrations approved.
    pub approved: i64,
}

impl Stats {
    pub fn members(&self) -> i64 {
        self.lawyers + self.staff
    }

    /// 覆盖率 = (单独 + 联合覆盖律所) / 有党员律所, in tenths of a percent.
    pub fn coverage_permille(&self) -> i64 {
        if self.firms_with_members == 0 {
            return 1000;
        }
        ((self.firms_own_org + self.firms_joint) * 1000 / self.firms_with_members).min(1000)
    }
}

fn range(path: &TreePath) -> (String, String) {
    (path.as_str().to_owned(), path.upper_bound())
}

/// The columns of `org_tallies` (migration 0007).
pub(crate) const ORG_TALLY_COLUMNS: [&str; 8] = [
    "lawyers",
    "staff",
    "full_members",
    "probationary",
    "firms",
    "firms_own",
    "firms_joint",
    "firms_with_members",
];

/// Compute the statistics block of the subtree at `path`: sums of the per-organisation tallies
/// (kept exact by triggers, see migration 0007) over the organisations of the subtree.
pub async fn stats(
    conn: &mut AnyConnection,
    campaign_id: i64,
    path: &TreePath,
) -> StoreResult<Stats> {
    let (lo, hi) = range(path);
    let mut s = Stats::default();
    let sum = |c: &str| format!("CAST(COALESCE(SUM(t.{c}), 0) AS BIGINT) AS {c}");
    let org_cols = ORG_TALLY_COLUMNS;
    let sql = format!(
        "SELECT {} FROM orgs o JOIN org_tallies t ON t.org_id = o.id \
         WHERE o.path >= $1 AND o.path < $2",
        org_cols
            .iter()
            .map(|c| sum(c))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let r = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(lo.clone())
        .bind(hi.clone())
        .fetch_one(&mut *conn)
        .await?;
    s.lawyers = r.try_get("lawyers")?;
    s.staff = r.try_get("staff")?;
    s.full_members = r.try_get("full_members")?;
    s.probationary = r.try_get("probationary")?;
    s.firms = r.try_get("firms")?;
    s.firms_own_org = r.try_get("firms_own")?;
    s.firms_joint = r.try_get("firms_joint")?;
    s.firms_with_members = r.try_get("firms_with_members")?;
    s.firms_without_members = s.firms - s.firms_with_members;

    let campaign_cols = [
        "approved",
        "transferred_in",
        "case1",
        "case2",
        "case3",
        "case4",
        "case5",
    ];
    let sql = format!(
        "SELECT {} FROM orgs o JOIN campaign_tallies t ON t.org_id = o.id AND t.campaign_id = $3 \
         WHERE o.path >= $1 AND o.path < $2",
        campaign_cols
            .iter()
            .map(|c| sum(c))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let r = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(lo.clone())
        .bind(hi.clone())
        .bind(campaign_id)
        .fetch_one(&mut *conn)
        .await?;
    s.approved = r.try_get("approved")?;
    s.relation_in_industry = r.try_get("transferred_in")?;
    for (i, c) in ["case1", "case2", "case3", "case4", "case5"]
        .iter()
        .enumerate()
    {
        s.cases[i] = r.try_get(*c)?;
    }

    let rows = sqlx::query(
        "SELECT kind, COUNT(*) AS n FROM orgs WHERE path >= $1 AND path < $2 AND level = 'firm' \
         AND dissolved_on IS NULL GROUP BY kind",
    )
    .bind(lo)
    .bind(hi)
    .fetch_all(&mut *conn)
    .await?;
    for r in &rows {
        let kind: String = r.try_get("kind")?;
        let n: i64 = r.try_get("n")?;
        match kind.as_str() {
            "committee" => s.committees += n,
            "general_branch" => s.general_branches += n,
            "branch" => s.branches += n,
            "joint_branch" => s.joint_branches += n,
            _ => {}
        }
    }
    Ok(s)
}

/// One member row of 附件4/附件5 with what the columns need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    pub id: i64,
    pub org_path: String,
    pub org_name: String,
    pub firm_name: String,
    pub firm_credit_code: String,
    pub name: String,
    pub sex: String,
    pub ethnicity: String,
    pub birth_date: String,
    pub citizen_id_masked: String,
    pub education: String,
    pub party_status: String,
    pub joined_on: String,
    pub full_member_on: Option<String>,
    pub licence_no: Option<String>,
    pub practice_type: Option<String>,
    pub mobile: String,
    /// The registration's field values (JSON), when one exists.
    pub data: Option<String>,
    pub state: Option<crate::domain::RegistrationState>,
    pub case_code: Option<String>,
    /// The ID number on record and a corrected one typed into the form (both encrypted).
    pub citizen_id_enc: Vec<u8>,
    pub form_citizen_id_enc: Option<Vec<u8>>,
}

/// Where a listing continues: a page offset (screens) or after a row (streaming exports).
#[derive(Debug, Clone)]
pub enum Cursor {
    Offset(i64),
    /// After the member `(org_path, name, id)`.
    AfterMember(String, String, i64),
    /// After the organisation path.
    AfterPath(String),
}

/// How many members of `category` lie in the subtree.
pub async fn member_count(
    conn: &mut AnyConnection,
    path: &TreePath,
    category: &str,
) -> StoreResult<i64> {
    let (lo, hi) = range(path);
    let r = sqlx::query(
        "SELECT COUNT(*) AS n FROM members WHERE org_path >= $1 AND org_path < $2 AND category = $3 \
         AND stopped_on IS NULL",
    )
    .bind(lo)
    .bind(hi)
    .bind(category.to_owned())
    .fetch_one(&mut *conn)
    .await?;
    Ok(r.try_get("n")?)
}

/// Members of `category` in the subtree, by organisation then name; `limit` rows from the
/// cursor.
pub async fn member_rows(
    conn: &mut AnyConnection,
    campaign_id: i64,
    path: &TreePath,
    category: &str,
    cursor: &Cursor,
    limit: i64,
) -> StoreResult<Vec<MemberRow>> {
    let (lo, hi) = range(path);
    let (after, offset) = match cursor {
        Cursor::AfterMember(p, n, id) => (Some((p.clone(), n.clone(), *id)), 0),
        Cursor::Offset(o) => (None, *o),
        Cursor::AfterPath(_) => (None, 0),
    };
    let (ap, an, aid) = after.clone().unwrap_or_default();
    // Start the index range at the last row's organisation (SQLite seeks on the plain bound,
    // not on the row value, and would otherwise re-read the subtree from its start).
    let lo = if after.is_some() && ap > lo {
        ap.clone()
    } else {
        lo
    };
    // Two texts rather than `$flag = 0 OR …`, so the keyset bound can seek in the index.
    let keyset = if after.is_some() {
        "AND (m.org_path, m.name, m.id) > ($7, $8, $9)"
    } else {
        "AND $7 = $7 AND $8 = $8 AND $9 = $9"
    };
    let sql = format!(
        "SELECT m.id, m.org_path, o.name AS org_name, f.name AS firm_name, \
         f.credit_code AS firm_credit_code, m.name, m.sex, \
         m.ethnicity, m.birth_date, m.citizen_id_masked, m.education, m.party_status, m.joined_on, \
         m.full_member_on, m.licence_no, m.practice_type, m.mobile, r.data, r.state, s.case_code, m.citizen_id_enc, \
         r.citizen_id_enc AS form_citizen_id_enc \
         FROM members m JOIN orgs o ON o.id = m.org_id JOIN firms f ON f.id = m.firm_id \
         LEFT JOIN registrations r ON r.member_id = m.id AND r.campaign_id = $1 \
         LEFT JOIN survey_checks s ON s.member_id = m.id AND s.campaign_id = $1 \
         WHERE m.org_path >= $2 AND m.org_path < $3 AND m.category = $4 \
         AND m.stopped_on IS NULL {keyset} \
         ORDER BY m.org_path, m.name, m.id LIMIT $5 OFFSET $6"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(campaign_id)
        .bind(lo)
        .bind(hi)
        .bind(category.to_owned())
        .bind(limit)
        .bind(offset)
        .bind(ap)
        .bind(an)
        .bind(aid)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(MemberRow {
                id: r.try_get("id")?,
                org_path: r.try_get("org_path")?,
                org_name: r.try_get("org_name")?,
                firm_name: r.try_get("firm_name")?,
                firm_credit_code: r.try_get("firm_credit_code")?,
                name: r.try_get("name")?,
                sex: r.try_get("sex")?,
                ethnicity: r.try_get("ethnicity")?,
                birth_date: r.try_get("birth_date")?,
                citizen_id_masked: r.try_get("citizen_id_masked")?,
                education: r.try_get("education")?,
                party_status: r.try_get("party_status")?,
                joined_on: r.try_get("joined_on")?,
                full_member_on: r.try_get("full_member_on")?,
                licence_no: r.try_get("licence_no")?,
                practice_type: r.try_get("practice_type")?,
                mobile: r.try_get("mobile")?,
                data: r.try_get("data")?,
                state: r
                    .try_get::<Option<String>, _>("state")?
                    .map(|c| super::state_of(&c, crate::domain::RegistrationState::parse))
                    .transpose()?,
                case_code: r.try_get("case_code")?,
                citizen_id_enc: r.try_get("citizen_id_enc")?,
                form_citizen_id_enc: r.try_get("form_citizen_id_enc")?,
            })
        })
        .collect()
}

/// One organisation row of 附件6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgRow {
    pub id: OrgId,
    pub path: String,
    pub name: String,
    pub kind: String,
    pub secretary_name: Option<String>,
    pub contact_phone: Option<String>,
    pub formed_on: Option<String>,
    pub parent_name: Option<String>,
    /// The organisation's 附件3 field values (JSON), when filed.
    pub a3: Option<String>,
    pub covered_firms: Vec<String>,
    /// 正式, 预备, 律师, 工作人员.
    pub counts: [i64; 4],
}

/// How many grassroots organisations (firm level) lie in the subtree.
pub async fn org_count(conn: &mut AnyConnection, path: &TreePath) -> StoreResult<i64> {
    let (lo, hi) = range(path);
    let r = sqlx::query(
        "SELECT COUNT(*) AS n FROM orgs WHERE path >= $1 AND path < $2 AND level = 'firm' \
         AND dissolved_on IS NULL",
    )
    .bind(lo)
    .bind(hi)
    .fetch_one(&mut *conn)
    .await?;
    Ok(r.try_get("n")?)
}

/// Grassroots organisations of the subtree in tree order; `limit` rows from the cursor.
pub async fn org_rows(
    conn: &mut AnyConnection,
    campaign_id: i64,
    path: &TreePath,
    cursor: &Cursor,
    limit: i64,
) -> StoreResult<Vec<OrgRow>> {
    let (lo, hi) = range(path);
    let (lo, offset) = match cursor {
        // Paths of the subtree sort after its root, so "after p" is "from p + one byte".
        Cursor::AfterPath(p) => (format!("{p}\u{1}"), 0),
        Cursor::Offset(o) => (lo, *o),
        Cursor::AfterMember(..) => (lo, 0),
    };
    let rows = sqlx::query(
        "SELECT o.id, o.path, o.name, o.kind, o.secretary_name, o.contact_phone, o.formed_on, \
         p.name AS parent_name, a.data AS a3 \
         FROM orgs o LEFT JOIN orgs p ON p.id = o.parent_id \
         LEFT JOIN org_registrations a ON a.org_id = o.id AND a.campaign_id = $1 \
         WHERE o.path >= $2 AND o.path < $3 AND o.level = 'firm' AND o.dissolved_on IS NULL \
         ORDER BY o.path LIMIT $4 OFFSET $5",
    )
    .bind(campaign_id)
    .bind(lo)
    .bind(hi)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(OrgRow {
            id: OrgId(r.try_get("id")?),
            path: r.try_get("path")?,
            name: r.try_get("name")?,
            kind: r.try_get("kind")?,
            secretary_name: r.try_get("secretary_name")?,
            contact_phone: r.try_get("contact_phone")?,
            formed_on: r.try_get("formed_on")?,
            parent_name: r.try_get("parent_name")?,
            a3: r.try_get("a3")?,
            covered_firms: Vec::new(),
            counts: [0; 4],
        });
    }
    if out.is_empty() {
        return Ok(out);
    }
    let ids: Vec<String> = out.iter().map(|o| o.id.0.to_string()).collect();
    let list = ids.join(", ");
    let mut index: HashMap<i64, usize> = HashMap::new();
    for (i, o) in out.iter().enumerate() {
        index.insert(o.id.0, i);
    }
    let counts = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT org_id, COUNT(CASE WHEN party_status = 'full' THEN 1 END) AS full_members, \
         COUNT(CASE WHEN party_status = 'probationary' THEN 1 END) AS probationary, \
         COUNT(CASE WHEN category = 'lawyer' THEN 1 END) AS lawyers, \
         COUNT(CASE WHEN category = 'staff' THEN 1 END) AS staff \
         FROM members WHERE org_id IN ({list}) GROUP BY org_id"
    )))
    .fetch_all(&mut *conn)
    .await?;
    for r in &counts {
        let id: i64 = r.try_get("org_id")?;
        if let Some(&i) = index.get(&id) {
            out[i].counts = [
                r.try_get("full_members")?,
                r.try_get("probationary")?,
                r.try_get("lawyers")?,
                r.try_get("staff")?,
            ];
        }
    }
    let firms = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT org_id, name FROM firms WHERE org_id IN ({list}) ORDER BY name, id"
    )))
    .fetch_all(&mut *conn)
    .await?;
    for r in &firms {
        let id: i64 = r.try_get("org_id")?;
        if let Some(&i) = index.get(&id) {
            out[i].covered_firms.push(r.try_get("name")?);
        }
    }
    Ok(out)
}

/// Names of the national, provincial and city nodes (the 省 and 地市 columns of an export).
pub async fn upper_names(conn: &mut AnyConnection) -> StoreResult<HashMap<i64, String>> {
    let rows = sqlx::query("SELECT id, name FROM orgs WHERE depth <= 2")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
        .collect::<Result<HashMap<i64, String>, StoreError>>()
}
