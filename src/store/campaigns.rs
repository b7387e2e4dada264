//! Campaigns: a name, the cut-off date of eligibility and a deadline per level.

use sqlx::{AnyConnection, Row};

use super::StoreResult;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub cutoff_date: String,
    pub deadline_firm: String,
    pub deadline_city: String,
    pub deadline_province: String,
    pub deadline_national: String,
    pub closes_on: String,
}

/// The most recently created campaign.
pub async fn latest(conn: &mut AnyConnection) -> StoreResult<Option<Campaign>> {
    let row = sqlx::query(
        "SELECT id, name, cutoff_date, deadline_firm, deadline_city, deadline_province, \
         deadline_national, closes_on FROM campaigns ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(Campaign {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        cutoff_date: r.try_get("cutoff_date")?,
        deadline_firm: r.try_get("deadline_firm")?,
        deadline_city: r.try_get("deadline_city")?,
        deadline_province: r.try_get("deadline_province")?,
        deadline_national: r.try_get("deadline_national")?,
        closes_on: r.try_get("closes_on")?,
    }))
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
