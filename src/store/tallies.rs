//! The per-organisation tallies of migration 0007 and the name grams of migration 0027:
//! paused during a bulk load (row triggers would do per row what one grouped statement does
//! for the batch) and rebuilt or written for the batch in the same transaction.

use std::collections::HashMap;

use sqlx::{AnyConnection, Executor};

use super::{Backend, StoreResult};

const TRIGGERS: [(&str, &str); 4] = [
    ("orgs", "orgs_tally_row"),
    ("firms", "firms_tally"),
    ("members", "members_tally"),
    ("members", "members_composition"),
];

/// The name grams of the members a `WHERE` clause keeps (migration 0027), as rows
/// `(gram, name, id, org_path)`: single characters, then adjacent pairs, joined by `$union`.
macro_rules! gram_select {
    ($union:literal, $where:literal) => {
        concat!(
            "SELECT substr(m.name, p.k, 1) AS gram, m.name, m.id, m.org_path \
             FROM members m JOIN gram_positions p ON p.k <= length(m.name) ",
            $where,
            " ",
            $union,
            " SELECT substr(m.name, p.k, 2), m.name, m.id, m.org_path \
             FROM members m JOIN gram_positions p ON p.k < length(m.name) ",
            $where
        )
    };
}
pub(crate) use gram_select;

/// Every gram, each once (`UNION`): what `dengji check` recounts.
macro_rules! grams_of {
    ($where:literal) => {
        $crate::store::tallies::gram_select!("UNION", $where)
    };
}
pub(crate) use grams_of;

/// The same rows with a name's repeated character or pair repeated (`UNION ALL`): the writes
/// skip the repeats, which costs less than the `UNION`'s temporary B-tree (2.2 s for a
/// 100,000-member batch on SQLite).
macro_rules! gram_rows_of {
    ($where:literal) => {
        gram_select!("UNION ALL", $where)
    };
}

/// Insert the grams of the members a `WHERE` clause keeps, in key order (an ordered insert
/// touches each page of the B-tree once), skipping a name's repeats.
macro_rules! insert_grams {
    (Sqlite, $where:literal) => {
        concat!(
            "INSERT OR IGNORE INTO member_grams (gram, name, member_id, org_path) SELECT * FROM (",
            gram_rows_of!($where),
            ") ORDER BY 1, 2, 3"
        )
    };
    (Postgres, $where:literal) => {
        concat!(
            "INSERT INTO member_grams (gram, name, member_id, org_path) SELECT * FROM (",
            gram_rows_of!($where),
            ") g ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING"
        )
    };
}

/// Write every member's grams into the emptied `member_grams` (part of the rebuild).
async fn fill_grams(conn: &mut AnyConnection, backend: Backend) -> StoreResult<()> {
    conn.execute(match backend {
        Backend::Sqlite => insert_grams!(Sqlite, "WHERE 1 = 1"),
        Backend::Postgres => insert_grams!(Postgres, "WHERE 1 = 1"),
    })
    .await?;
    Ok(())
}

/// Recount every tally from the records (the same statements as the migrations' backfills);
/// [`rebuild`] adds the name grams.
const REBUILD: [&str; 8] = [
    "DELETE FROM org_tallies",
    "DELETE FROM campaign_tallies",
    "DELETE FROM member_grams",
    "UPDATE firms SET member_count = (SELECT COUNT(*) FROM members m WHERE m.firm_id = firms.id)",
    // A row per organisation, then the member and firm counts joined in by key: SQLite plans
    // an INSERT … SELECT with LEFT JOINs to grouped subqueries as nested scans (174 s for the
    // national demo), an UPDATE … FROM as one pass over the groups.
    "INSERT INTO org_tallies (org_id, lawyers, staff, full_members, probationary, firms, \
         firms_own, firms_joint, firms_with_members) \
     SELECT o.id, 0, 0, 0, 0, 0, 0, 0, 0 FROM orgs o",
    "UPDATE org_tallies SET lawyers = m.l, staff = m.s, full_members = m.f, probationary = m.p \
     FROM (SELECT org_id, COUNT(CASE WHEN category = 'lawyer' THEN 1 END) AS l, \
             COUNT(CASE WHEN category = 'staff' THEN 1 END) AS s, \
             COUNT(CASE WHEN party_status = 'full' THEN 1 END) AS f, \
             COUNT(CASE WHEN party_status = 'probationary' THEN 1 END) AS p \
         FROM members WHERE stopped_on IS NULL GROUP BY org_id) m \
     WHERE org_tallies.org_id = m.org_id",
    "UPDATE org_tallies SET firms = x.n, firms_own = x.own, firms_joint = x.j, \
         firms_with_members = x.w \
     FROM (SELECT COALESCE(f.org_id, f.city_org_id) AS org_id, COUNT(*) AS n, \
             COUNT(CASE WHEN k.kind <> 'joint_branch' THEN 1 END) AS own, \
             COUNT(CASE WHEN k.kind = 'joint_branch' THEN 1 END) AS j, \
             COUNT(CASE WHEN f.member_count > 0 THEN 1 END) AS w \
         FROM firms f LEFT JOIN orgs k ON k.id = f.org_id \
         GROUP BY COALESCE(f.org_id, f.city_org_id)) x \
     WHERE org_tallies.org_id = x.org_id",
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

/// The `tally_pause` row of a whole-database load (import batches use their own ids).
const LOAD_PAUSE: i64 = 0;

/// Stop the tally and gram triggers of the bulk-loaded tables for the rest of the transaction:
/// a `tally_pause` row on both databases, and on PostgreSQL the tally triggers of orgs, firms
/// and members disabled. [`rebuild_and_resume`] recounts everything before the commit.
pub async fn pause(conn: &mut AnyConnection, backend: Backend) -> StoreResult<()> {
    pause_rows(conn, LOAD_PAUSE).await?;
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

/// Recount every tally, every name gram and the composition tallies from the records.
pub(crate) async fn rebuild(conn: &mut AnyConnection, backend: Backend) -> StoreResult<()> {
    for sql in REBUILD {
        conn.execute(sql).await?;
    }
    fill_grams(conn, backend).await?;
    super::analysis::rebuild_composition(conn, backend).await
}

/// Recount the tallies and grams from the records and switch the triggers back on.
pub async fn rebuild_and_resume(conn: &mut AnyConnection, backend: Backend) -> StoreResult<()> {
    rebuild(conn, backend).await?;
    resume_rows(conn, LOAD_PAUSE).await?;
    if backend == Backend::Postgres {
        for (table, trigger) in TRIGGERS {
            conn.execute(sqlx::AssertSqlSafe(format!(
                "ALTER TABLE {table} ENABLE TRIGGER {trigger}"
            )))
            .await?;
        }
    }
    Ok(())
}

/// Take an import batch's members (and their forms) out of the tallies with grouped
/// statements, before they are deleted while the row triggers are paused by [`pause_rows`].
const COUNT_OUT: [&str; 3] = [
    "UPDATE org_tallies SET lawyers = lawyers - d.l, staff = staff - d.s, \
         full_members = full_members - d.f, probationary = probationary - d.p \
     FROM (SELECT org_id, COUNT(CASE WHEN category = 'lawyer' THEN 1 END) AS l, \
             COUNT(CASE WHEN category = 'staff' THEN 1 END) AS s, \
             COUNT(CASE WHEN party_status = 'full' THEN 1 END) AS f, \
             COUNT(CASE WHEN party_status = 'probationary' THEN 1 END) AS p \
         FROM members WHERE import_batch_id = $1 AND stopped_on IS NULL GROUP BY org_id) d \
     WHERE org_tallies.org_id = d.org_id",
    // Fires the firms' own triggers once per firm (firms with members).
    "UPDATE firms SET member_count = member_count - d.n \
     FROM (SELECT firm_id, COUNT(*) AS n FROM members WHERE import_batch_id = $1 \
         GROUP BY firm_id) d \
     WHERE firms.id = d.firm_id",
    "UPDATE campaign_tallies SET drafts = drafts - d.d, submitted = submitted - d.s, \
         returned = returned - d.r, approved = approved - d.a \
     FROM (SELECT m.org_id, r.campaign_id, \
             COUNT(CASE WHEN r.state = 'draft' THEN 1 END) AS d, \
             COUNT(CASE WHEN r.state = 'submitted' THEN 1 END) AS s, \
             COUNT(CASE WHEN r.state = 'returned' THEN 1 END) AS r, \
             COUNT(CASE WHEN r.state = 'approved' THEN 1 END) AS a \
         FROM registrations r JOIN members m ON m.id = r.member_id \
         WHERE m.import_batch_id = $1 GROUP BY m.org_id, r.campaign_id) d \
     WHERE campaign_tallies.org_id = d.org_id AND campaign_tallies.campaign_id = d.campaign_id",
];

/// Pause the insert and delete row triggers of members and registrations for the rest of this
/// transaction (both databases; migration 0009). Must be followed by [`resume_rows`] in the
/// same transaction, after the batch was counted ([`apply`] or [`count_out_batch`]).
pub async fn pause_rows(conn: &mut AnyConnection, batch: i64) -> StoreResult<()> {
    sqlx::query("INSERT INTO tally_pause (id) VALUES ($1)")
        .bind(batch)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Switch the row triggers paused by [`pause_rows`] back on.
pub async fn resume_rows(conn: &mut AnyConnection, batch: i64) -> StoreResult<()> {
    sqlx::query("DELETE FROM tally_pause WHERE id = $1")
        .bind(batch)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Write the name grams of an import batch's members (while [`pause_rows`] holds the
/// triggers, before [`resume_rows`]).
pub async fn add_grams(conn: &mut AnyConnection, batch: i64) -> StoreResult<()> {
    let sql = match super::sql::backend_of(conn) {
        Backend::Sqlite => insert_grams!(Sqlite, "WHERE m.import_batch_id = $1"),
        Backend::Postgres => insert_grams!(Postgres, "WHERE m.import_batch_id = $1"),
    };
    sqlx::query(sql).bind(batch).execute(&mut *conn).await?;
    Ok(())
}

/// Remove the name grams of an import batch's members, before the members are deleted while
/// [`pause_rows`] holds the triggers. SQLite plans `(…) IN (SELECT … UNION ALL …)` as a scan
/// of all grams (6.8 s for a 100,000-member batch on the national demo); from a temporary
/// table of the batch's keys it looks each one up (1.8 s).
pub async fn remove_grams(conn: &mut AnyConnection, batch: i64) -> StoreResult<()> {
    match super::sql::backend_of(conn) {
        Backend::Sqlite => {
            sqlx::query(concat!(
                "CREATE TEMP TABLE doomed_grams AS SELECT gram, name, id FROM (",
                gram_rows_of!("WHERE m.import_batch_id = $1"),
                ")"
            ))
            .bind(batch)
            .execute(&mut *conn)
            .await?;
            conn.execute(
                "DELETE FROM member_grams WHERE (gram, name, member_id) IN \
                 (SELECT gram, name, id FROM doomed_grams)",
            )
            .await?;
            conn.execute("DROP TABLE doomed_grams").await?;
        }
        Backend::Postgres => {
            sqlx::query(concat!(
                "DELETE FROM member_grams WHERE (gram, name, member_id) IN (SELECT gram, name, id \
                 FROM (",
                gram_rows_of!("WHERE m.import_batch_id = $1"),
                ") g)"
            ))
            .bind(batch)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Take an import batch out of the tallies (see [`COUNT_OUT`]).
pub async fn count_out_batch(conn: &mut AnyConnection, batch: i64) -> StoreResult<()> {
    for sql in COUNT_OUT {
        sqlx::query(sql).bind(batch).execute(&mut *conn).await?;
    }
    Ok(())
}

/// What a bulk load adds to the tallies, counted while its rows are written and applied with
/// one statement per table at the end (while [`pause_rows`] holds the row triggers).
#[derive(Debug, Default)]
pub struct Deltas {
    /// Per organisation: lawyers, staff, full members, probationary members.
    orgs: HashMap<i64, [i64; 4]>,
    /// Per firm: members.
    firms: HashMap<i64, i64>,
    /// Per organisation and campaign: draft forms.
    drafts: HashMap<(i64, i64), i64>,
}

impl Deltas {
    pub fn member(&mut self, org: i64, firm: i64, category: &str, party_status: &str) {
        let o = self.orgs.entry(org).or_default();
        o[0] += i64::from(category == "lawyer");
        o[1] += i64::from(category == "staff");
        o[2] += i64::from(party_status == "full");
        o[3] += i64::from(party_status == "probationary");
        *self.firms.entry(firm).or_default() += 1;
    }

    pub fn draft(&mut self, org: i64, campaign: i64) {
        *self.drafts.entry((org, campaign)).or_default() += 1;
    }

    /// Take back a member counted by [`Deltas::member`] (removed again in the same load).
    pub fn remove_member(&mut self, org: i64, firm: i64, category: &str, party_status: &str) {
        let o = self.orgs.entry(org).or_default();
        o[0] -= i64::from(category == "lawyer");
        o[1] -= i64::from(category == "staff");
        o[2] -= i64::from(party_status == "full");
        o[3] -= i64::from(party_status == "probationary");
        *self.firms.entry(firm).or_default() -= 1;
    }

    pub fn remove_draft(&mut self, org: i64, campaign: i64) {
        *self.drafts.entry((org, campaign)).or_default() -= 1;
    }
}

fn json_rows<const N: usize>(rows: impl Iterator<Item = [i64; N]>) -> String {
    let rows: Vec<String> = rows
        .map(|r| {
            let cells: Vec<String> = r.iter().map(i64::to_string).collect();
            format!("[{}]", cells.join(","))
        })
        .collect();
    format!("[{}]", rows.join(","))
}

/// Add the deltas of a bulk load to the tallies (both databases).
pub async fn apply(conn: &mut AnyConnection, d: &Deltas) -> StoreResult<()> {
    use super::sql::{backend_of, json_column, json_rows_source};
    let backend = backend_of(conn);
    let src = json_rows_source(backend);
    let cols = |names: &[&str]| {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{} AS {n}", json_column(backend, 'i', i)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let statements = [
        (
            format!(
                "UPDATE org_tallies SET lawyers = lawyers + d.l, staff = staff + d.s, \
                 full_members = full_members + d.f, probationary = probationary + d.p \
                 FROM (SELECT {} FROM {src}) AS d WHERE org_tallies.org_id = d.org_id",
                cols(&["org_id", "l", "s", "f", "p"])
            ),
            json_rows(d.orgs.iter().map(|(o, v)| [*o, v[0], v[1], v[2], v[3]])),
        ),
        // Fires the firms' own triggers once per firm.
        (
            format!(
                "UPDATE firms SET member_count = member_count + d.n \
                 FROM (SELECT {} FROM {src}) AS d WHERE firms.id = d.id",
                cols(&["id", "n"])
            ),
            json_rows(d.firms.iter().map(|(f, n)| [*f, *n])),
        ),
        (
            format!(
                "INSERT INTO campaign_tallies SELECT {}, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 \
                 FROM {src} WHERE true ON CONFLICT (org_id, campaign_id) DO NOTHING",
                cols(&["org_id", "campaign_id"])
            ),
            json_rows(d.drafts.keys().map(|(o, c)| [*o, *c])),
        ),
        (
            format!(
                "UPDATE campaign_tallies SET drafts = drafts + d.n \
                 FROM (SELECT {} FROM {src}) AS d WHERE campaign_tallies.org_id = d.org_id \
                 AND campaign_tallies.campaign_id = d.campaign_id",
                cols(&["org_id", "campaign_id", "n"])
            ),
            json_rows(d.drafts.iter().map(|((o, c), n)| [*o, *c, *n])),
        ),
    ];
    for (sql, rows) in statements {
        if rows == "[]" {
            continue;
        }
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(rows)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
