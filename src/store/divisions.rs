//! GB/T 2260 administrative divisions in the database: the shipped list
//! ([`crate::forms::divisions`]) loaded on migration.

use sqlx::{AnyConnection, Row};

use super::{Sql, StoreResult};
use crate::forms::divisions::{REVISION, shipped};

/// Load the divisions if the table is empty, and record the revision.
pub async fn seed(conn: &mut AnyConnection) -> StoreResult<()> {
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM divisions")
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    if n > 0 {
        return Ok(());
    }
    let all = shipped();
    for chunk in all.chunks(super::sql::MAX_PARAMETERS / 4) {
        let mut sql = Sql::new("INSERT INTO divisions (code, name, level, parent_code) VALUES ");
        for (i, d) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .text(&d.code)
                .push(", ")
                .text(&d.name)
                .push(", ")
                .int(d.level);
            match &d.parent_code {
                Some(p) => sql.push(", ").text(p).push(")"),
                None => sql.push(", NULL)"),
            };
        }
        sql.query().execute(&mut *conn).await?;
    }
    sqlx::query("INSERT INTO settings (key, value) VALUES ('division_revision', $1)")
        .bind(REVISION)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
