//! The per-organisation tallies of migration 0007: paused during a PostgreSQL bulk load (its
//! row triggers would run a function per inserted row) and rebuilt from the records afterwards
//! in the same transaction.

use sqlx::{AnyConnection, Executor};

use super::{Backend, StoreResult};

const TRIGGERS: [(&str, &str); 3] = [
    ("orgs", "orgs_tally_row"),
    ("firms", "firms_tally"),
    ("members", "members_tally"),
];

/// Recount every tally from the records (the same statements as the migration's backfill).
const REBUILD: [&str; 5] = [
    "DELETE FROM org_tallies",
    "DELETE FROM campaign_tallies",
    "UPDATE firms SET member_count = (SELECT COUNT(*) FROM members m WHERE m.firm_id = firms.id)",
    "INSERT INTO org_tallies \
     SELECT o.id, COALESCE(m.l, 0), COALESCE(m.s, 0), COALESCE(m.f, 0), COALESCE(m.p, 0), \
         COALESCE(x.n, 0), COALESCE(x.own, 0), COALESCE(x.j, 0), COALESCE(x.w, 0) \
     FROM orgs o \
     LEFT JOIN (SELECT org_id, COUNT(CASE WHEN category = 'lawyer' THEN 1 END) AS l, \
             COUNT(CASE WHEN category = 'staff' THEN 1 END) AS s, \
             COUNT(CASE WHEN party_status = 'full' THEN 1 END) AS f, \
             COUNT(CASE WHEN party_status = 'probationary' THEN 1 END) AS p \
         FROM members GROUP BY org_id) m ON m.org_id = o.id \
     LEFT JOIN (SELECT COALESCE(f.org_id, f.city_org_id) AS org_id, COUNT(*) AS n, \
             COUNT(CASE WHEN k.kind <> 'joint_branch' THEN 1 END) AS own, \
             COUNT(CASE WHEN k.kind = 'joint_branch' THEN 1 END) AS j, \
             COUNT(CASE WHEN f.member_count > 0 THEN 1 END) AS w \
         FROM firms f LEFT JOIN orgs k ON k.id = f.org_id \
         GROUP BY COALESCE(f.org_id, f.city_org_id)) x ON x.org_id = o.id",
    "INSERT INTO campaign_tallies \
     SELECT g.org_id, g.campaign_id, SUM(g.d), SUM(g.s), SUM(g.r), SUM(g.a), SUM(g.t), \
         SUM(g.c1), SUM(g.c2), SUM(g.c3), SUM(g.c4), SUM(g.c5) \
     FROM ( \
         SELECT m.org_id, r.campaign_id, \
             CASE WHEN r.state = 'draft' THEN 1 ELSE 0 END AS d, \
             CASE WHEN r.state = 'submitted' THEN 1 ELSE 0 END AS s, \
             CASE WHEN r.state = 'returned' THEN 1 ELSE 0 END AS r, \
             CASE WHEN r.state = 'approved' THEN 1 ELSE 0 END AS a, \
             0 AS t, 0 AS c1, 0 AS c2, 0 AS c3, 0 AS c4, 0 AS c5 \
         FROM registrations r JOIN members m ON m.id = r.member_id \
         UNION ALL \
         SELECT m.org_id, s.campaign_id, 0, 0, 0, 0, \
             CASE WHEN s.transferred = 'in' THEN 1 ELSE 0 END, \
             CASE WHEN s.case_code = '1' THEN 1 ELSE 0 END, \
             CASE WHEN s.case_code = '2' THEN 1 ELSE 0 END, \
             CASE WHEN s.case_code = '3' THEN 1 ELSE 0 END, \
             CASE WHEN s.case_code = '4' THEN 1 ELSE 0 END, \
             CASE WHEN s.case_code = '5' THEN 1 ELSE 0 END \
         FROM survey_checks s JOIN members m ON m.id = s.member_id \
     ) g \
     GROUP BY g.org_id, g.campaign_id",
];

/// Stop the tally triggers of the bulk-loaded tables for the rest of the transaction on
/// PostgreSQL (SQLite's triggers are cheap statements and stay on).
pub async fn pause(conn: &mut AnyConnection, backend: Backend) -> StoreResult<()> {
    if backend == Backend::Postgres {
        for (table, trigger) in TRIGGERS {
            conn.execute(sqlx::AssertSqlSafe(format!(
                "ALTER TABLE {table} DISABLE TRIGGER {trigger}"
            )))
            .await?;
        }
    }
    Ok(())
}

/// Recount the tallies from the records and switch the triggers back on (PostgreSQL).
pub async fn rebuild_and_resume(conn: &mut AnyConnection, backend: Backend) -> StoreResult<()> {
    if backend == Backend::Postgres {
        for sql in REBUILD {
            conn.execute(sql).await?;
        }
        for (table, trigger) in TRIGGERS {
            conn.execute(sqlx::AssertSqlSafe(format!(
                "ALTER TABLE {table} ENABLE TRIGGER {trigger}"
            )))
            .await?;
        }
    }
    Ok(())
}
