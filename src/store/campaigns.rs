//! Campaigns: a name, the cut-off date of eligibility, the date the time rules are judged at,
//! a deadline per level, and whether the campaign is closed.

use sqlx::{AnyConnection, Row};

use super::{StoreResult, now};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub cutoff_date: String,
    /// The date every rule about time is judged at; none: the cut-off date.
    pub reference_date: Option<String>,
    pub deadline_firm: String,
    pub deadline_city: String,
    pub deadline_province: String,
    pub deadline_national: String,
    pub closes_on: String,
    pub created_at: i64,
    pub closed_at: Option<i64>,
    /// Days from opening to a 分类处理 case's due date, per category 1–5.
    pub case_due_days: [i64; 5],
}

impl Campaign {
    /// The date the time rules are judged at (ISO text).
    pub fn judged_at(&self) -> &str {
        self.reference_date.as_deref().unwrap_or(&self.cutoff_date)
    }
}

/// A campaign to create.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub name: String,
    pub cutoff_date: String,
    pub reference_date: Option<String>,
    pub deadline_firm: String,
    pub deadline_city: String,
    pub deadline_province: String,
    pub deadline_national: String,
    pub closes_on: String,
}

const SELECT: &str = "SELECT id, name, cutoff_date, reference_date, deadline_firm, \
     deadline_city, deadline_province, deadline_national, closes_on, created_at, closed_at, case_due_days \
     FROM campaigns";

fn from_row(r: &sqlx::any::AnyRow) -> StoreResult<Campaign> {
    Ok(Campaign {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        cutoff_date: r.try_get("cutoff_date")?,
        reference_date: r.try_get("reference_date")?,
        deadline_firm: r.try_get("deadline_firm")?,
        deadline_city: r.try_get("deadline_city")?,
        deadline_province: r.try_get("deadline_province")?,
        deadline_national: r.try_get("deadline_national")?,
        closes_on: r.try_get("closes_on")?,
        created_at: r.try_get("created_at")?,
        closed_at: r.try_get("closed_at")?,
        case_due_days: parse_due_days(&r.try_get::<String, _>("case_due_days")?)
            .ok_or_else(|| super::StoreError::Corrupt("campaigns.case_due_days".into()))?,
    })
}

/// The most recently created campaign.
pub async fn latest(conn: &mut AnyConnection) -> StoreResult<Option<Campaign>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} ORDER BY id DESC LIMIT 1"
    )))
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every campaign, the newest first.
pub async fn all(conn: &mut AnyConnection) -> StoreResult<Vec<Campaign>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} ORDER BY id DESC")))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn insert(conn: &mut AnyConnection, c: &NewCampaign) -> StoreResult<i64> {
    Ok(sqlx::query(
        "INSERT INTO campaigns (name, cutoff_date, reference_date, deadline_firm, deadline_city, \
         deadline_province, deadline_national, closes_on, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(c.name.clone())
    .bind(c.cutoff_date.clone())
    .bind(c.reference_date.clone())
    .bind(c.deadline_firm.clone())
    .bind(c.deadline_city.clone())
    .bind(c.deadline_province.clone())
    .bind(c.deadline_national.clone())
    .bind(c.closes_on.clone())
    .bind(now())
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

/// Close a campaign (filing and review end); false when it was closed already.
pub async fn close(conn: &mut AnyConnection, id: i64) -> StoreResult<bool> {
    Ok(
        sqlx::query("UPDATE campaigns SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL")
            .bind(now())
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
            == 1,
    )
}

/// Set the per-level deadlines of a campaign.
pub async fn set_deadlines(
    conn: &mut AnyConnection,
    id: i64,
    firm: &str,
    city: &str,
    province: &str,
    national: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE campaigns SET deadline_firm = $1, deadline_city = $2, deadline_province = $3, \
         deadline_national = $4 WHERE id = $5",
    )
    .bind(firm.to_owned())
    .bind(city.to_owned())
    .bind(province.to_owned())
    .bind(national.to_owned())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `30,60,30,30,30` as five day counts.
pub fn parse_due_days(s: &str) -> Option<[i64; 5]> {
    let v: Vec<i64> = s
        .split(',')
        .map(|d| d.trim().parse().ok())
        .collect::<Option<_>>()?;
    v.try_into().ok()
}

/// Set the days to a case's due date per category.
pub async fn set_case_due_days(
    conn: &mut AnyConnection,
    campaign_id: i64,
    days: [i64; 5],
) -> StoreResult<()> {
    let text = days.map(|d| d.to_string()).join(",");
    sqlx::query("UPDATE campaigns SET case_due_days = $1 WHERE id = $2")
        .bind(text)
        .bind(campaign_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
