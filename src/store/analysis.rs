//! 研判: the composition of a subtree's members by attribute (as of the campaign's cut-off), the
//! figures of each child from the tallies, the campaign's progress and the firms that should
//! have an organisation of their own — each count and the list behind it from one expression.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Row};

use super::orgs::{Page, push_path_scope};
use super::sql::Sql;
use super::{Backend, StoreError, StoreResult};
use crate::domain::{OrgId, TreePath};
use crate::store::members::Member;

/// The dates and years that split the bands, all as of the campaign's cut-off date: a member
/// born after `age[0]` is 30 or younger on that day, after `age[1]` 40 or younger, and so on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cuts {
    /// The cut-off less 31, 41, 51 and 61 years (`YYYY-MM-DD`).
    pub age: [String; 4],
    /// The cut-off less 5, 10, 20 and 30 years: 党龄 counted from 转正.
    pub party: [String; 4],
    /// The cut-off's year less 5, 10 and 20 (`YYYY`): 执业年限 from the first-licence year
    /// in the 执业证号 (digits 6–9).
    pub practice: [String; 3],
}

impl Cuts {
    /// The limits as of a cut-off date (`YYYY-MM-DD`); `None` when it is not a date. A year
    /// before a 29 February that lacks one is the 28th.
    pub fn at(cutoff: &str) -> Option<Self> {
        let d = crate::forms::rules::parse_date(cutoff)?;
        let day = |n: i32| {
            let y = d.year() - n;
            d.replace_year(y)
                .or_else(|_| time::Date::from_calendar_date(y, d.month(), 28))
                .unwrap_or(d)
                .to_string()
        };
        let year = |n: i32| format!("{:04}", d.year() - n);
        Some(Self {
            age: [day(31), day(41), day(51), day(61)],
            party: [day(5), day(10), day(20), day(30)],
            practice: [year(5), year(10), year(20)],
        })
    }
}

/// An attribute the members of a subtree are counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Facet {
    Sex,
    Age,
    Ethnicity,
    Education,
    PartyAge,
    Status,
    Category,
    Practice,
}

impl Facet {
    pub const ALL: [Facet; 8] = [
        Self::Category,
        Self::Status,
        Self::Sex,
        Self::Age,
        Self::Ethnicity,
        Self::Education,
        Self::PartyAge,
        Self::Practice,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Sex => "sex",
            Self::Age => "age",
            Self::Ethnicity => "ethnicity",
            Self::Education => "education",
            Self::PartyAge => "party_age",
            Self::Status => "status",
            Self::Category => "category",
            Self::Practice => "practice",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Sex => "性别",
            Self::Age => "年龄（截至统计截止日）",
            Self::Ethnicity => "民族",
            Self::Education => "学历",
            Self::PartyAge => "党龄（自转正之日起）",
            Self::Status => "正式党员与预备党员",
            Self::Category => "党员律师与工作人员党员",
            Self::Practice => "执业年限（按执业证号中的首次执业年份）",
        }
    }

    /// The buckets in display order: (code, label).
    pub fn buckets(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Sex => &[("1", "男"), ("2", "女")],
            Self::Age => &[
                ("le30", "30岁及以下"),
                ("31_40", "31–40岁"),
                ("41_50", "41–50岁"),
                ("51_60", "51–60岁"),
                ("gt60", "60岁以上"),
            ],
            Self::Ethnicity => &[("han", "汉族"), ("minority", "少数民族")],
            Self::Education => &[
                ("grad", "研究生"),
                ("bachelor", "大学本科"),
                ("below", "大专及以下"),
            ],
            Self::PartyAge => &[
                ("lt5", "不满5年"),
                ("5_10", "5–9年"),
                ("10_20", "10–19年"),
                ("20_30", "20–29年"),
                ("30plus", "30年及以上"),
                ("unknown", "正式党员未填转正日期"),
                ("probationary", "预备党员（不计党龄）"),
            ],
            Self::Status => &[("full", "正式党员"), ("probationary", "预备党员")],
            Self::Category => &[("lawyer", "党员律师"), ("staff", "工作人员党员")],
            Self::Practice => &[
                ("lt5", "不满5年"),
                ("5_10", "5–9年"),
                ("10_20", "10–19年"),
                ("20plus", "20年及以上"),
                ("unknown", "律师未填执业证号"),
                ("staff", "工作人员（不适用）"),
            ],
        }
    }

    pub fn bucket_label(self, code: &str) -> Option<&'static str> {
        self.buckets()
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, l)| *l)
    }

    /// Append the SQL expression whose value is the member's bucket (`m` is the member), the
    /// band limits bound from `cuts` or read from the `composition_cuts` row `c`.
    fn push_expr(self, sql: &mut Sql, limits: Limits<'_>) {
        let cut = |sql: &mut Sql, which: &str, i: usize| match limits {
            Limits::Bound(c) => {
                let v = match which {
                    "age" => &c.age[i],
                    "party" => &c.party[i],
                    _ => &c.practice[i],
                };
                sql.text(v.clone());
            }
            Limits::Table => {
                sql.push(&format!("c.{which}{}", i + 1));
            }
        };
        match self {
            Self::Sex => {
                sql.push("m.sex");
            }
            Self::Status => {
                sql.push("m.party_status");
            }
            Self::Category => {
                sql.push("m.category");
            }
            Self::Ethnicity => {
                sql.push("CASE WHEN m.ethnicity = '01' THEN 'han' ELSE 'minority' END");
            }
            Self::Education => {
                sql.push(
                    "CASE WHEN substr(m.education, 1, 1) = '1' THEN 'grad' \
                     WHEN substr(m.education, 1, 1) = '2' THEN 'bachelor' ELSE 'below' END",
                );
            }
            Self::Age => {
                sql.push("CASE");
                for (i, code) in ["le30", "31_40", "41_50", "51_60"].iter().enumerate() {
                    sql.push(" WHEN m.birth_date > ");
                    cut(sql, "age", i);
                    sql.push(&format!(" THEN '{code}'"));
                }
                sql.push(" ELSE 'gt60' END");
            }
            Self::PartyAge => {
                sql.push(
                    "CASE WHEN m.party_status <> 'full' THEN 'probationary' \
                     WHEN COALESCE(m.full_member_on, '') = '' THEN 'unknown'",
                );
                for (i, code) in ["lt5", "5_10", "10_20", "20_30"].iter().enumerate() {
                    sql.push(" WHEN m.full_member_on > ");
                    cut(sql, "party", i);
                    sql.push(&format!(" THEN '{code}'"));
                }
                sql.push(" ELSE '30plus' END");
            }
            Self::Practice => {
                sql.push(
                    "CASE WHEN m.category <> 'lawyer' THEN 'staff' \
                     WHEN COALESCE(m.licence_no, '') = '' THEN 'unknown'",
                );
                for (i, code) in ["lt5", "5_10", "10_20"].iter().enumerate() {
                    sql.push(" WHEN substr(m.licence_no, 6, 4) > ");
                    cut(sql, "practice", i);
                    sql.push(&format!(" THEN '{code}'"));
                }
                sql.push(" ELSE '20plus' END");
            }
        }
    }
}

impl Facet {
    /// Append a condition true exactly for the members `m` in `bucket` (the bucket expression
    /// of [`Facet::push_expr`] written as ranges and equalities, which the planners can
    /// estimate: PostgreSQL took `CASE … = '31_40'` for ten rows of a million and sorted the
    /// nation instead of walking the name index). `bucket` is one of [`Facet::buckets`].
    fn push_condition(self, sql: &mut Sql, cuts: &Cuts, bucket: &str) {
        // The band between limits `i - 1` (inclusive) and `i` (exclusive) of `column`;
        // the first band is above limit 0, the last at or below the last limit.
        let band = |sql: &mut Sql, column: &str, limits: &[String], i: usize| {
            if i < limits.len() {
                sql.push(&format!(" AND {column} > "))
                    .text(limits[i].clone());
            }
            if i > 0 {
                sql.push(&format!(" AND {column} <= "))
                    .text(limits[i - 1].clone());
            }
        };
        let position = |codes: &[&str]| codes.iter().position(|c| *c == bucket).unwrap_or(0);
        match self {
            Self::Sex => {
                sql.push(" AND m.sex = ").text(bucket.to_owned());
            }
            Self::Status => {
                sql.push(" AND m.party_status = ").text(bucket.to_owned());
            }
            Self::Category => {
                sql.push(" AND m.category = ").text(bucket.to_owned());
            }
            Self::Ethnicity => {
                sql.push(if bucket == "han" {
                    " AND m.ethnicity = '01'"
                } else {
                    " AND m.ethnicity <> '01'"
                });
            }
            Self::Education => {
                sql.push(match bucket {
                    "grad" => " AND m.education >= '1' AND m.education < '2'",
                    "bachelor" => " AND m.education >= '2' AND m.education < '3'",
                    _ => " AND (m.education < '1' OR m.education >= '3')",
                });
            }
            Self::Age => {
                let i = position(&["le30", "31_40", "41_50", "51_60", "gt60"]);
                band(sql, "m.birth_date", &cuts.age, i);
            }
            Self::PartyAge => match bucket {
                "probationary" => {
                    sql.push(" AND m.party_status <> 'full'");
                }
                "unknown" => {
                    sql.push(
                        " AND m.party_status = 'full' AND COALESCE(m.full_member_on, '') = ''",
                    );
                }
                _ => {
                    sql.push(" AND m.party_status = 'full' AND m.full_member_on <> ''");
                    let i = position(&["lt5", "5_10", "10_20", "20_30", "30plus"]);
                    band(sql, "m.full_member_on", &cuts.party, i);
                }
            },
            Self::Practice => match bucket {
                "staff" => {
                    sql.push(" AND m.category <> 'lawyer'");
                }
                "unknown" => {
                    sql.push(" AND m.category = 'lawyer' AND COALESCE(m.licence_no, '') = ''");
                }
                _ => {
                    sql.push(" AND m.category = 'lawyer' AND m.licence_no <> ''");
                    let i = position(&["lt5", "5_10", "10_20", "20plus"]);
                    band(sql, "substr(m.licence_no, 6, 4)", &cuts.practice, i);
                }
            },
        }
    }
}

/// Where the band limits of a bucket expression come from.
#[derive(Debug, Clone, Copy)]
enum Limits<'a> {
    /// Bound as parameters.
    Bound(&'a Cuts),
    /// The columns of the `composition_cuts` row, joined as `c`.
    Table,
}

/// What a drill-down list selects: one bucket of a facet, or (民族) one nationality by code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    Bucket(Facet, String),
    Nationality(String),
    /// Age band and sex together (a bar of the population pyramid).
    AgeSex(String, String),
}

/// The members of a subtree counted by every facet, plus age × sex and the minorities by
/// nationality.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Composition {
    pub total: i64,
    /// Facet → bucket code → count.
    pub counts: BTreeMap<Facet, BTreeMap<String, i64>>,
    /// (age bucket, sex code) → count.
    pub age_sex: BTreeMap<(String, String), i64>,
    /// 民族 code → count, minorities only.
    pub nationalities: BTreeMap<String, i64>,
}

impl Composition {
    pub fn count(&self, facet: Facet, bucket: &str) -> i64 {
        self.counts
            .get(&facet)
            .and_then(|m| m.get(bucket))
            .copied()
            .unwrap_or(0)
    }
}

fn push_active(sql: &mut Sql, path: &TreePath) {
    sql.push(" WHERE m.stopped_on IS NULL");
    push_path_scope(sql, "m.org_path", path);
}

/// Count the members registered in the subtree at `path` (not those whose registration
/// stopped) by every facet as of the cut-off of `campaign_id`: from the composition tallies
/// for a national, provincial or city subtree while they are kept for that campaign, else in
/// one pass over the subtree's rows.
pub async fn composition(
    conn: &mut AnyConnection,
    path: &TreePath,
    campaign_id: i64,
    cuts: &Cuts,
) -> StoreResult<Composition> {
    if path.depth() <= SCOPE_DEPTH
        && let Some(c) = composition_from_tallies(conn, path, campaign_id).await?
    {
        return Ok(c);
    }
    count_composition(conn, path, cuts).await
}

/// [`composition`] counted from the members' rows.
pub async fn count_composition(
    conn: &mut AnyConnection,
    path: &TreePath,
    cuts: &Cuts,
) -> StoreResult<Composition> {
    let mut sql = Sql::new("SELECT m.ethnicity AS nationality");
    for f in Facet::ALL {
        sql.push(", ");
        f.push_expr(&mut sql, Limits::Bound(cuts));
        sql.push(&format!(" AS {}", f.code()));
    }
    sql.push(", COUNT(*) AS n FROM members m");
    push_active(&mut sql, path);
    sql.push(" GROUP BY 1");
    for i in 0..Facet::ALL.len() {
        sql.push(&format!(", {}", i + 2));
    }
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let mut c = Composition::default();
    for r in &rows {
        let n: i64 = r.try_get("n")?;
        c.total += n;
        for f in Facet::ALL {
            let b: String = r.try_get(f.code())?;
            *c.counts.entry(f).or_default().entry(b).or_default() += n;
        }
        let age: String = r.try_get("age")?;
        let sex: String = r.try_get("sex")?;
        *c.age_sex.entry((age, sex)).or_default() += n;
        let nationality: String = r.try_get("nationality")?;
        if nationality != "01" {
            *c.nationalities.entry(nationality).or_default() += n;
        }
    }
    Ok(c)
}

/// Members listed per page of a drill-down.
pub const PER_PAGE: i64 = 50;

/// One page of the members of the subtree in a selection, by name — the records behind a
/// count of [`composition`] (the same expressions).
pub async fn members(
    conn: &mut AnyConnection,
    path: &TreePath,
    cuts: &Cuts,
    selection: &Selection,
    page: i64,
) -> StoreResult<Page<Member>> {
    let page = page.max(1);
    let mut sql = Sql::new(super::members::SELECT);
    if path.depth() == 0 {
        // The nation: every member is in scope, and the bucket's condition alone lets the
        // planners walk the name index (PostgreSQL 18 ms for a quarter of a million).
        sql.push(" WHERE m.stopped_on IS NULL");
    } else {
        // A subtree: its range of the `(org_path, name)` index, then the top of the page (a
        // province of 38,000 members: 10 ms on PostgreSQL; walking the name index, 190 ms).
        push_active(&mut sql, path);
    }
    match selection {
        Selection::Bucket(f, code) => f.push_condition(&mut sql, cuts, code),
        Selection::Nationality(code) => {
            sql.push(" AND m.ethnicity = ").text(code.clone());
        }
        Selection::AgeSex(age, sex) => {
            Facet::Age.push_condition(&mut sql, cuts, age);
            Facet::Sex.push_condition(&mut sql, cuts, sex);
        }
    }
    sql.push(" ORDER BY m.name, m.id LIMIT ")
        .int(PER_PAGE + 1)
        .push(" OFFSET ")
        .int((page - 1) * PER_PAGE);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let items = rows
        .iter()
        .map(super::members::from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, PER_PAGE))
}

/// A child node's figures from the tallies (its whole subtree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildFigures {
    pub org_id: OrgId,
    pub name: String,
    pub level: String,
    pub lawyers: i64,
    pub staff: i64,
    pub full_members: i64,
    pub probationary: i64,
    pub firms: i64,
    pub firms_own: i64,
    pub firms_joint: i64,
    pub firms_with_members: i64,
    /// This campaign's forms.
    pub drafts: i64,
    pub submitted: i64,
    pub returned: i64,
    pub approved: i64,
}

impl ChildFigures {
    pub fn members(&self) -> i64 {
        self.lawyers + self.staff
    }
}

/// The figures of each child of `parent` (not dissolved), summed from the per-organisation
/// tallies over the child's subtree: one range join driven by the children, not a scan of
/// members. (Joining the campaign's tallies with an inner join let PostgreSQL start from them
/// and compare every organisation's path with every child's: 180 ms for a city.)
pub async fn children(
    conn: &mut AnyConnection,
    campaign_id: i64,
    parent: OrgId,
) -> StoreResult<Vec<ChildFigures>> {
    // The subtree of child c is the paths in [c.path, c.path with its last '/' made '0').
    let within = "o.path >= c.path AND o.path < substr(c.path, 1, length(c.path) - 1) || '0'";
    let sum = |t: &str, c: &str| format!("CAST(COALESCE(SUM({t}.{c}), 0) AS BIGINT) AS {c}");
    let org_cols = super::summary::ORG_TALLY_COLUMNS.map(|c| sum("t", c));
    let campaign_cols = ["drafts", "submitted", "returned", "approved"].map(|c| sum("k", c));
    let sql = format!(
        "SELECT c.id, c.name, c.level, {}, {} FROM orgs c JOIN orgs o ON {within} \
         LEFT JOIN org_tallies t ON t.org_id = o.id \
         LEFT JOIN campaign_tallies k ON k.org_id = o.id AND k.campaign_id = $2 \
         WHERE c.parent_id = $1 AND c.dissolved_on IS NULL \
         GROUP BY c.id, c.name, c.level, c.region_code \
         ORDER BY COALESCE(c.region_code, '999999'), c.name, c.id",
        org_cols.join(", "),
        campaign_cols.join(", ")
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(parent.0)
        .bind(campaign_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ChildFigures {
                org_id: OrgId(r.try_get("id")?),
                name: r.try_get("name")?,
                level: r.try_get("level")?,
                lawyers: r.try_get("lawyers")?,
                staff: r.try_get("staff")?,
                full_members: r.try_get("full_members")?,
                probationary: r.try_get("probationary")?,
                firms: r.try_get("firms")?,
                firms_own: r.try_get("firms_own")?,
                firms_joint: r.try_get("firms_joint")?,
                firms_with_members: r.try_get("firms_with_members")?,
                drafts: r.try_get("drafts")?,
                submitted: r.try_get("submitted")?,
                returned: r.try_get("returned")?,
                approved: r.try_get("approved")?,
            })
        })
        .collect()
}

/// A firm with three or more 正式党员 but no organisation of its own (none, or only a share
/// of a 联合党支部): the rules say it should form a 党支部.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmShouldOrganise {
    pub firm_id: i64,
    pub name: String,
    pub full_members: i64,
    /// Covered by a 联合党支部 (otherwise by no organisation).
    pub in_joint_branch: bool,
}

/// The firms of the subtree with ≥ 3 正式党员 and no organisation of their own, most
/// members first. The candidates first — firms with three records or more (`member_count`)
/// and no organisation or a 联合党支部 — then their 正式党员 counted by firm: a join of the
/// nation's members in one statement was planned by PostgreSQL as a hash over all of them
/// (450 ms).
pub async fn firms_should_organise(
    conn: &mut AnyConnection,
    path: &TreePath,
) -> StoreResult<Vec<FirmShouldOrganise>> {
    let rows = sqlx::query(
        "SELECT f.id, f.name, k.kind FROM firms f LEFT JOIN orgs k ON k.id = f.org_id \
         WHERE f.scope_path >= $1 AND f.scope_path < $2 AND f.member_count >= 3 \
         AND (f.org_id IS NULL OR k.kind = 'joint_branch')",
    )
    .bind(path.as_str().to_owned())
    .bind(path.upper_bound())
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for chunk in rows.chunks(500) {
        let mut sql = Sql::new(
            "SELECT firm_id, COUNT(*) AS n FROM members WHERE party_status = 'full' \
             AND stopped_on IS NULL AND firm_id IN (",
        );
        for (i, r) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.int(r.try_get("id")?);
        }
        sql.push(") GROUP BY firm_id HAVING COUNT(*) >= 3");
        let counts: std::collections::HashMap<i64, i64> = sql
            .query()
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("firm_id")?, r.try_get("n")?)))
            .collect::<Result<_, StoreError>>()?;
        for r in chunk {
            let id: i64 = r.try_get("id")?;
            if let Some(n) = counts.get(&id) {
                let kind: Option<String> = r.try_get("kind")?;
                out.push(FirmShouldOrganise {
                    firm_id: id,
                    name: r.try_get("name")?,
                    full_members: *n,
                    in_joint_branch: kind.as_deref() == Some("joint_branch"),
                });
            }
        }
    }
    out.sort_by(|a, b| {
        b.full_members
            .cmp(&a.full_members)
            .then_with(|| a.name.cmp(&b.name))
            .then(a.firm_id.cmp(&b.firm_id))
    });
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The composition tallies (migration 0029): per city-level scope, facet and bucket, the number of
// registered members, as of the latest campaign's cut-off (`composition_cuts`).

/// The depth of the scope a member is counted under: its organisation path cut at the city
/// level, so a national, provincial or city subtree is a range of scope keys.
pub const SCOPE_DEPTH: i64 = 2;

/// The facets the tallies keep: the eight of [`Facet`], 民族 by code (`nationality`, minorities
/// only) and age band × sex (`age_sex`, `le30:2`).
pub const TALLY_FACETS: [&str; 10] = [
    "sex",
    "age",
    "ethnicity",
    "education",
    "party_age",
    "status",
    "category",
    "practice",
    "nationality",
    "age_sex",
];

/// The member's scope key: `m.org_path` cut after its third id (shorter paths whole).
fn scope_expr(backend: Backend) -> String {
    match backend {
        Backend::Postgres => {
            "substring(m.org_path from '^/[0-9]+/(?:[0-9]+/(?:[0-9]+/)?)?')".into()
        }
        Backend::Sqlite => {
            // i1..i3: the lengths (with their '/') of the first three ids.
            let i1 = "instr(substr(m.org_path, 2), '/')".to_owned();
            let i2 = format!("instr(substr(m.org_path, {i1} + 2), '/')");
            let i3 = format!("instr(substr(m.org_path, {i1} + {i2} + 2), '/')");
            format!(
                "CASE WHEN {i3} = 0 THEN m.org_path \
                 ELSE substr(m.org_path, 1, 1 + {i1} + {i2} + {i3}) END"
            )
        }
    }
}

/// One row `(scope, facet, bucket)` per registered member of the members `m` a clause keeps
/// (`filter` starts with `AND`) and per tally facet, the limits from `composition_cuts`.
fn tally_rows(backend: Backend, filter: &str) -> String {
    let mut sql = Sql::new("SELECT ");
    sql.push(&scope_expr(backend))
        .push(" AS scope, f.facet AS facet, CASE f.facet");
    for f in Facet::ALL {
        sql.push(&format!(" WHEN '{}' THEN ", f.code()));
        f.push_expr(&mut sql, Limits::Table);
    }
    sql.push(" WHEN 'nationality' THEN m.ethnicity ELSE ");
    Facet::Age.push_expr(&mut sql, Limits::Table);
    sql.push(
        " || ':' || m.sex END AS bucket \
         FROM members m CROSS JOIN composition_cuts c CROSS JOIN composition_facets f \
         WHERE m.stopped_on IS NULL AND (f.facet <> 'nationality' OR m.ethnicity <> '01') ",
    )
    .push(filter);
    sql.as_str().to_owned()
}

/// The counts of [`tally_rows`], grouped: the members first by scope and every bucket at once
/// (a few hundred thousand groups for a million members), then those groups by facet — a
/// tenth of the rows a grouping of [`tally_rows`] itself would sort.
fn grouped(backend: Backend, filter: &str) -> String {
    let mut inner = Sql::new("SELECT ");
    inner
        .push(&scope_expr(backend))
        .push(" AS scope, m.ethnicity AS nationality");
    for f in Facet::ALL {
        inner.push(", ");
        f.push_expr(&mut inner, Limits::Table);
        inner.push(&format!(" AS {}", f.code()));
    }
    inner
        .push(
            ", COUNT(*) AS n FROM members m CROSS JOIN composition_cuts c \
             WHERE m.stopped_on IS NULL ",
        )
        .push(filter)
        .push(" GROUP BY 1, 2");
    for i in 0..Facet::ALL.len() {
        inner.push(&format!(", {}", i + 3));
    }
    let mut bucket = String::from("CASE f.facet");
    for f in Facet::ALL {
        bucket.push_str(&format!(" WHEN '{0}' THEN g.{0}", f.code()));
    }
    bucket.push_str(" WHEN 'nationality' THEN g.nationality ELSE g.age || ':' || g.sex END");
    format!(
        "SELECT g.scope AS scope, f.facet AS facet, {bucket} AS bucket, \
         CAST(SUM(g.n) AS BIGINT) AS n FROM ({}) g CROSS JOIN composition_facets f \
         WHERE f.facet <> 'nationality' OR g.nationality <> '01' GROUP BY 1, 2, 3",
        inner.as_str()
    )
}

/// Which campaign's cut-off the tallies are kept for (`None`: none yet).
async fn tallied_campaign(conn: &mut AnyConnection) -> StoreResult<Option<i64>> {
    Ok(
        sqlx::query_scalar::<_, i64>("SELECT campaign_id FROM composition_cuts WHERE id = 1")
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// The latest campaign (the one pages show) and its cut-off.
async fn latest_campaign(conn: &mut AnyConnection) -> StoreResult<Option<(i64, String)>> {
    let row = sqlx::query("SELECT id, cutoff_date FROM campaigns ORDER BY id DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("cutoff_date")?)))
        .transpose()
}

/// Recount the composition tallies from the records, as of the latest campaign's cut-off
/// (none without a campaign). Part of every tally rebuild, and run when a campaign starts.
pub async fn rebuild_composition(conn: &mut AnyConnection, backend: Backend) -> StoreResult<()> {
    sqlx::query("DELETE FROM composition_tallies")
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM composition_cuts")
        .execute(&mut *conn)
        .await?;
    let Some((campaign, cutoff)) = latest_campaign(conn).await? else {
        return Ok(());
    };
    let cuts =
        Cuts::at(&cutoff).ok_or_else(|| StoreError::Corrupt(format!("cut-off date {cutoff}")))?;
    let mut sql = Sql::new(
        "INSERT INTO composition_cuts (id, campaign_id, cutoff, age1, age2, age3, age4, \
         party1, party2, party3, party4, practice1, practice2, practice3) VALUES (1, ",
    );
    sql.int(campaign).push(", ").text(cutoff);
    for v in cuts.age.iter().chain(&cuts.party).chain(&cuts.practice) {
        sql.push(", ").text(v.clone());
    }
    sql.push(")");
    sql.query().execute(&mut *conn).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO composition_tallies (scope, facet, bucket, n) {}",
        grouped(backend, "")
    )))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Recount the tallies unless they are kept for the latest campaign already (after a
/// migration, or a database restored from an older version).
pub async fn ensure_composition(conn: &mut AnyConnection, backend: Backend) -> StoreResult<bool> {
    let latest = latest_campaign(conn).await?.map(|(id, _)| id);
    if latest.is_none() || tallied_campaign(conn).await? == latest {
        return Ok(false);
    }
    rebuild_composition(conn, backend).await?;
    Ok(true)
}

/// Add an import batch's members to the tallies (while `tally_pause` holds the row triggers).
pub async fn add_batch(conn: &mut AnyConnection, batch: i64) -> StoreResult<()> {
    let backend = super::sql::backend_of(conn);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO composition_tallies (scope, facet, bucket, n) {} \
         ON CONFLICT (scope, facet, bucket) DO UPDATE SET n = composition_tallies.n + excluded.n",
        grouped(backend, "AND m.import_batch_id = $1")
    )))
    .bind(batch)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Take an import batch's members out of the tallies, before they are deleted while
/// `tally_pause` holds the row triggers.
pub async fn remove_batch(conn: &mut AnyConnection, batch: i64) -> StoreResult<()> {
    let backend = super::sql::backend_of(conn);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE composition_tallies SET n = composition_tallies.n - d.n FROM ({}) d \
         WHERE composition_tallies.scope = d.scope AND composition_tallies.facet = d.facet \
         AND composition_tallies.bucket = d.bucket",
        grouped(backend, "AND m.import_batch_id = $1")
    )))
    .bind(batch)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM composition_tallies WHERE n = 0")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// [`composition`] from the tallies, when they are kept for `campaign_id`.
async fn composition_from_tallies(
    conn: &mut AnyConnection,
    path: &TreePath,
    campaign_id: i64,
) -> StoreResult<Option<Composition>> {
    if tallied_campaign(conn).await? != Some(campaign_id) {
        return Ok(None);
    }
    let rows = sqlx::query(
        "SELECT facet, bucket, CAST(SUM(n) AS BIGINT) AS n FROM composition_tallies \
         WHERE scope >= $1 AND scope < $2 GROUP BY facet, bucket",
    )
    .bind(path.as_str().to_owned())
    .bind(path.upper_bound())
    .fetch_all(&mut *conn)
    .await?;
    let mut c = Composition::default();
    for r in &rows {
        let facet: String = r.try_get("facet")?;
        let bucket: String = r.try_get("bucket")?;
        let n: i64 = r.try_get("n")?;
        if n == 0 {
            continue;
        }
        match facet.as_str() {
            "nationality" => {
                c.nationalities.insert(bucket, n);
            }
            "age_sex" => {
                let (age, sex) = bucket.split_once(':').unwrap_or((&bucket, ""));
                c.age_sex.insert((age.to_owned(), sex.to_owned()), n);
            }
            code => {
                let Some(f) = Facet::parse(code) else {
                    continue;
                };
                if f == Facet::Status {
                    c.total += n;
                }
                c.counts.entry(f).or_default().insert(bucket, n);
            }
        }
    }
    Ok(Some(c))
}

/// `dengji check`: the composition tallies against a recount (rows missing, wrong or left
/// over), and the limits against the latest campaign's cut-off; 0 when all agree.
pub async fn composition_violations(
    conn: &mut AnyConnection,
    backend: Backend,
) -> StoreResult<i64> {
    let latest = latest_campaign(conn).await?;
    let Some((campaign, cutoff)) = latest else {
        return Ok(
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM composition_tallies")
                .fetch_one(&mut *conn)
                .await?,
        );
    };
    if tallied_campaign(conn).await? != Some(campaign) {
        return Ok(1);
    }
    let stored: Vec<String> = {
        let r = sqlx::query(
            "SELECT age1, age2, age3, age4, party1, party2, party3, party4, practice1, \
             practice2, practice3 FROM composition_cuts WHERE id = 1",
        )
        .fetch_one(&mut *conn)
        .await?;
        (0..11)
            .map(|i| r.try_get::<String, _>(i))
            .collect::<Result<_, _>>()?
    };
    let want: Vec<String> = Cuts::at(&cutoff)
        .map(|c| c.age.into_iter().chain(c.party).chain(c.practice).collect())
        .unwrap_or_default();
    let mut bad = i64::from(stored != want);
    // The recount counts each member row by row, as the row triggers do, so that neither the
    // triggers nor the grouped statements of the batches and the rebuild check themselves.
    let e = format!(
        "SELECT scope, facet, bucket, COUNT(*) AS n FROM ({}) x WHERE true \
         GROUP BY scope, facet, bucket",
        tally_rows(backend, "")
    );
    bad += sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM ({e}) e LEFT JOIN composition_tallies t ON t.scope = e.scope \
         AND t.facet = e.facet AND t.bucket = e.bucket WHERE t.n IS NULL OR t.n <> e.n"
    )))
    .fetch_one(&mut *conn)
    .await?;
    bad += sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
        "SELECT ABS((SELECT COUNT(*) FROM composition_tallies) - (SELECT COUNT(*) FROM ({e}) e))"
    )))
    .fetch_one(&mut *conn)
    .await?;
    Ok(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The row triggers of migration 0029 count a member as the rebuild does: their bodies
    /// are [`tally_rows`] of the trigger's row (SQLite `NEW`/`OLD`, PostgreSQL the record).
    #[test]
    fn the_migration_triggers_use_the_rebuild_rows() {
        let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let sqlite = flat(include_str!(
            "../../migrations/sqlite/0029_composition_tallies.sql"
        ));
        let postgres = flat(include_str!(
            "../../migrations/postgres/0029_composition_tallies.sql"
        ));
        let rows = flat(&tally_rows(Backend::Sqlite, ""));
        let of = |row: &str| {
            rows.replace("FROM members m CROSS JOIN", "FROM")
                .replace("m.", &format!("{row}."))
        };
        let pg = flat(&tally_rows(Backend::Postgres, ""))
            .replace("FROM members m", "FROM (SELECT rec.*) m");
        // `PRINT_TRIGGERS=1 cargo test --lib the_migration_triggers -- --nocapture` prints them.
        if std::env::var_os("PRINT_TRIGGERS").is_some() {
            println!("NEW: {}\nOLD: {}\nPG: {pg}", of("NEW"), of("OLD"));
        }
        assert!(sqlite.contains(&of("NEW")), "SQLite trigger of NEW");
        assert!(sqlite.contains(&of("OLD")), "SQLite trigger of OLD");
        assert!(postgres.contains(&pg), "PostgreSQL trigger");
    }

    #[test]
    fn scope_keys_stop_at_the_city() {
        // The SQLite expression, evaluated by hand on the shapes of path.
        let cut = |p: &str| -> String {
            let ids: Vec<&str> = p.trim_matches('/').split('/').collect();
            format!("/{}/", ids[..ids.len().min(3)].join("/"))
        };
        assert_eq!(cut("/1/"), "/1/");
        assert_eq!(cut("/1/7/42/108/"), "/1/7/42/");
    }
}
