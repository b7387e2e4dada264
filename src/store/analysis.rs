//! 研判: the composition of a subtree's members by attribute (as of the campaign's cut-off), the
//! figures of each child from the tallies, the campaign's progress and the firms that should
//! have an organisation of their own — each count and the list behind it from one expression.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Row};

use super::orgs::{Page, push_path_scope};
use super::sql::Sql;
use super::{StoreError, StoreResult};
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

    /// Append the SQL expression whose value is the member's bucket (`m` is the member).
    fn push_expr(self, sql: &mut Sql, cuts: &Cuts) {
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
                for (cut, code) in cuts.age.iter().zip(["le30", "31_40", "41_50", "51_60"]) {
                    sql.push(" WHEN m.birth_date > ")
                        .text(cut.clone())
                        .push(&format!(" THEN '{code}'"));
                }
                sql.push(" ELSE 'gt60' END");
            }
            Self::PartyAge => {
                sql.push(
                    "CASE WHEN m.party_status <> 'full' THEN 'probationary' \
                     WHEN COALESCE(m.full_member_on, '') = '' THEN 'unknown'",
                );
                for (cut, code) in cuts.party.iter().zip(["lt5", "5_10", "10_20", "20_30"]) {
                    sql.push(" WHEN m.full_member_on > ")
                        .text(cut.clone())
                        .push(&format!(" THEN '{code}'"));
                }
                sql.push(" ELSE '30plus' END");
            }
            Self::Practice => {
                sql.push(
                    "CASE WHEN m.category <> 'lawyer' THEN 'staff' \
                     WHEN COALESCE(m.licence_no, '') = '' THEN 'unknown'",
                );
                for (cut, code) in cuts.practice.iter().zip(["lt5", "5_10", "10_20"]) {
                    sql.push(" WHEN substr(m.licence_no, 6, 4) > ")
                        .text(cut.clone())
                        .push(&format!(" THEN '{code}'"));
                }
                sql.push(" ELSE '20plus' END");
            }
        }
    }
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
/// stopped) by every facet, in one pass over the subtree's rows.
pub async fn composition(
    conn: &mut AnyConnection,
    path: &TreePath,
    cuts: &Cuts,
) -> StoreResult<Composition> {
    let mut sql = Sql::new("SELECT m.ethnicity AS nationality");
    for f in Facet::ALL {
        sql.push(", ");
        f.push_expr(&mut sql, cuts);
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
    push_active(&mut sql, path);
    let bucket = |sql: &mut Sql, facet: Facet, code: &str| {
        sql.push(" AND ");
        facet.push_expr(sql, cuts);
        sql.push(" = ").text(code.to_owned());
    };
    match selection {
        Selection::Bucket(f, code) => bucket(&mut sql, *f, code),
        Selection::Nationality(code) => {
            sql.push(" AND m.ethnicity = ").text(code.clone());
        }
        Selection::AgeSex(age, sex) => {
            bucket(&mut sql, Facet::Age, age);
            bucket(&mut sql, Facet::Sex, sex);
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
/// tallies over the child's subtree: one range join, not a scan of members.
pub async fn children(
    conn: &mut AnyConnection,
    campaign_id: i64,
    parent: OrgId,
) -> StoreResult<Vec<ChildFigures>> {
    // The subtree of child c is the paths in [c.path, c.path with its last '/' made '0').
    let within = "o.path >= c.path AND o.path < substr(c.path, 1, length(c.path) - 1) || '0'";
    let sum = |c: &str| format!("CAST(COALESCE(SUM(t.{c}), 0) AS BIGINT) AS {c}");
    let org_cols = [
        "lawyers",
        "staff",
        "full_members",
        "probationary",
        "firms",
        "firms_own",
        "firms_joint",
        "firms_with_members",
    ];
    let sql = format!(
        "SELECT c.id, c.name, c.level, {} FROM orgs c JOIN orgs o ON {within} \
         LEFT JOIN org_tallies t ON t.org_id = o.id \
         WHERE c.parent_id = $1 AND c.dissolved_on IS NULL \
         GROUP BY c.id, c.name, c.level, c.region_code \
         ORDER BY COALESCE(c.region_code, '999999'), c.name, c.id",
        org_cols.map(sum).join(", ")
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(parent.0)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(ChildFigures {
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
            drafts: 0,
            submitted: 0,
            returned: 0,
            approved: 0,
        });
    }
    let campaign_cols = ["drafts", "submitted", "returned", "approved"];
    let sql = format!(
        "SELECT c.id, {} FROM orgs c JOIN orgs o ON {within} \
         JOIN campaign_tallies t ON t.org_id = o.id AND t.campaign_id = $2 \
         WHERE c.parent_id = $1 AND c.dissolved_on IS NULL GROUP BY c.id",
        campaign_cols.map(sum).join(", ")
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(parent.0)
        .bind(campaign_id)
        .fetch_all(&mut *conn)
        .await?;
    for r in &rows {
        let id = OrgId(r.try_get("id")?);
        let Some(c) = out.iter_mut().find(|c| c.org_id == id) else {
            continue;
        };
        c.drafts = r.try_get("drafts")?;
        c.submitted = r.try_get("submitted")?;
        c.returned = r.try_get("returned")?;
        c.approved = r.try_get("approved")?;
    }
    Ok(out)
}

/// This campaign's forms of the subtree by state, from the tallies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub drafts: i64,
    pub submitted: i64,
    pub returned: i64,
    pub approved: i64,
}

pub async fn progress(
    conn: &mut AnyConnection,
    campaign_id: i64,
    path: &TreePath,
) -> StoreResult<Progress> {
    let r = sqlx::query(
        "SELECT CAST(COALESCE(SUM(t.drafts), 0) AS BIGINT) AS d, \
         CAST(COALESCE(SUM(t.submitted), 0) AS BIGINT) AS s, \
         CAST(COALESCE(SUM(t.returned), 0) AS BIGINT) AS r, \
         CAST(COALESCE(SUM(t.approved), 0) AS BIGINT) AS a \
         FROM orgs o JOIN campaign_tallies t ON t.org_id = o.id AND t.campaign_id = $1 \
         WHERE o.path >= $2 AND o.path < $3",
    )
    .bind(campaign_id)
    .bind(path.as_str().to_owned())
    .bind(path.upper_bound())
    .fetch_one(&mut *conn)
    .await?;
    Ok(Progress {
        drafts: r.try_get("d")?,
        submitted: r.try_get("s")?,
        returned: r.try_get("r")?,
        approved: r.try_get("a")?,
    })
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
/// members first. Only firms with three members or more are looked at (`member_count`).
pub async fn firms_should_organise(
    conn: &mut AnyConnection,
    path: &TreePath,
) -> StoreResult<Vec<FirmShouldOrganise>> {
    let rows = sqlx::query(
        "SELECT f.id, f.name, k.kind, COUNT(*) AS n FROM firms f \
         LEFT JOIN orgs k ON k.id = f.org_id \
         JOIN members m ON m.firm_id = f.id \
         WHERE f.scope_path >= $1 AND f.scope_path < $2 AND f.member_count >= 3 \
         AND (f.org_id IS NULL OR k.kind = 'joint_branch') \
         AND m.party_status = 'full' AND m.stopped_on IS NULL \
         GROUP BY f.id, f.name, k.kind HAVING COUNT(*) >= 3 \
         ORDER BY COUNT(*) DESC, f.name, f.id",
    )
    .bind(path.as_str().to_owned())
    .bind(path.upper_bound())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let kind: Option<String> = r.try_get("kind")?;
            Ok(FirmShouldOrganise {
                firm_id: r.try_get("id")?,
                name: r.try_get("name")?,
                full_members: r.try_get("n")?,
                in_joint_branch: kind.as_deref() == Some("joint_branch"),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()
}
