//! 组织关系转接: transfers of a member between organisations (pending, accepted, refused,
//! cancelled), and the move itself — the member, their forms and survey marks and the tallies,
//! in the caller's transaction.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::orgs::{Page, push_path_scope};
use super::{Sql, StoreError, StoreResult, now};
use crate::domain::{FirmId, MemberId, OrgId, TreePath};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferState {
    Pending,
    Accepted,
    Refused,
    Cancelled,
}

impl TransferState {
    pub fn code(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Refused => "refused",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Accepted,
            Self::Refused,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|t| t.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "待接收",
            Self::Accepted => "已转入",
            Self::Refused => "已拒收",
            Self::Cancelled => "已撤回",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub id: i64,
    pub member_id: MemberId,
    pub member_name: String,
    pub from_org_id: OrgId,
    pub from_org_name: String,
    pub from_firm_id: FirmId,
    pub from_firm_name: String,
    pub from_path: TreePath,
    pub to_org_id: OrgId,
    pub to_org_name: String,
    pub to_firm_id: FirmId,
    pub to_firm_name: String,
    pub to_path: TreePath,
    pub common_path: TreePath,
    pub reason: String,
    pub effective_on: String,
    pub state: TransferState,
    pub started_name: String,
    pub started_at: i64,
    pub decided_name: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_note: String,
}

const SELECT: &str = "SELECT t.id, t.member_id, t.member_name, t.from_org_id, a.name AS from_org_name, \
     t.from_firm_id, t.from_firm_name, t.from_path, t.to_org_id, b.name AS to_org_name, \
     t.to_firm_id, t.to_firm_name, t.to_path, t.common_path, t.reason, t.effective_on, t.state, \
     t.started_name, t.started_at, t.decided_name, t.decided_at, t.decision_note \
     FROM transfers t JOIN orgs a ON a.id = t.from_org_id JOIN orgs b ON b.id = t.to_org_id";

fn path_of(r: &AnyRow, col: &str) -> StoreResult<TreePath> {
    let p: String = r.try_get(col)?;
    TreePath::parse(&p).ok_or_else(|| StoreError::Corrupt(format!("transfer {col} {p}")))
}

fn from_row(r: &AnyRow) -> StoreResult<Transfer> {
    let state: String = r.try_get("state")?;
    Ok(Transfer {
        id: r.try_get("id")?,
        member_id: MemberId(r.try_get("member_id")?),
        member_name: r.try_get("member_name")?,
        from_org_id: OrgId(r.try_get("from_org_id")?),
        from_org_name: r.try_get("from_org_name")?,
        from_firm_id: FirmId(r.try_get("from_firm_id")?),
        from_firm_name: r.try_get("from_firm_name")?,
        from_path: path_of(r, "from_path")?,
        to_org_id: OrgId(r.try_get("to_org_id")?),
        to_org_name: r.try_get("to_org_name")?,
        to_firm_id: FirmId(r.try_get("to_firm_id")?),
        to_firm_name: r.try_get("to_firm_name")?,
        to_path: path_of(r, "to_path")?,
        common_path: path_of(r, "common_path")?,
        reason: r.try_get("reason")?,
        effective_on: r.try_get("effective_on")?,
        state: TransferState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("transfer state {state}")))?,
        started_name: r.try_get("started_name")?,
        started_at: r.try_get("started_at")?,
        decided_name: r.try_get("decided_name")?,
        decided_at: r.try_get("decided_at")?,
        decision_note: r.try_get("decision_note")?,
    })
}

/// A transfer to start.
#[derive(Debug, Clone)]
pub struct NewTransfer {
    pub member_id: MemberId,
    pub member_name: String,
    pub from: (OrgId, FirmId, String, TreePath),
    pub to: (OrgId, FirmId, String, TreePath),
    pub common_path: TreePath,
    pub reason: String,
    pub effective_on: String,
    pub started_name: String,
}

/// Start a transfer; `None` when the member has one pending already (the partial unique
/// index decides, so two starts at once cannot both succeed).
pub async fn insert(conn: &mut AnyConnection, t: &NewTransfer) -> StoreResult<Option<i64>> {
    let pending =
        sqlx::query("SELECT id FROM transfers WHERE member_id = $1 AND state = 'pending'")
            .bind(t.member_id.0)
            .fetch_optional(&mut *conn)
            .await?;
    if pending.is_some() {
        return Ok(None);
    }
    let id: i64 = sqlx::query(
        "INSERT INTO transfers (member_id, member_name, from_org_id, from_firm_id, \
         from_firm_name, from_path, to_org_id, to_firm_id, to_firm_name, to_path, common_path, \
         reason, effective_on, state, started_name, started_at, decision_note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'pending', $14, $15, '') \
         RETURNING id",
    )
    .bind(t.member_id.0)
    .bind(t.member_name.clone())
    .bind(t.from.0.0)
    .bind(t.from.1.0)
    .bind(t.from.2.clone())
    .bind(t.from.3.as_str().to_owned())
    .bind(t.to.0.0)
    .bind(t.to.1.0)
    .bind(t.to.2.clone())
    .bind(t.to.3.as_str().to_owned())
    .bind(t.common_path.as_str().to_owned())
    .bind(t.reason.clone())
    .bind(t.effective_on.clone())
    .bind(t.started_name.clone())
    .bind(now())
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?;
    Ok(Some(id))
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<Transfer>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE t.id = ").int(id);
    sql.query()
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| from_row(&r))
        .transpose()
}

/// Decide a pending transfer; false when it was no longer pending.
pub async fn decide(
    conn: &mut AnyConnection,
    id: i64,
    state: TransferState,
    by: &str,
    note: &str,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE transfers SET state = $1, decided_name = $2, decided_at = $3, decision_note = $4 \
         WHERE id = $5 AND state = 'pending'",
    )
    .bind(state.code())
    .bind(by.to_owned())
    .bind(now())
    .bind(note.to_owned())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Which transfers of a subtree to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Leaving the subtree's organisations (or moving within it).
    Out,
    /// Arriving in the subtree's organisations.
    In,
    /// Every transfer the subtree sees: out, in, or passing through it (its lowest common
    /// ancestor lies within).
    All,
}

/// Transfers the subtree at `path` sees, newest first.
pub async fn list(
    conn: &mut AnyConnection,
    path: &TreePath,
    direction: Direction,
    pending_only: bool,
    page: i64,
    per_page: i64,
) -> StoreResult<Page<Transfer>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE (1 = 0");
    if matches!(direction, Direction::Out | Direction::All) {
        sql.push(" OR (1 = 1");
        push_path_scope(&mut sql, "t.from_path", path);
        sql.push(")");
    }
    if matches!(direction, Direction::In | Direction::All) {
        sql.push(" OR (1 = 1");
        push_path_scope(&mut sql, "t.to_path", path);
        sql.push(")");
    }
    if direction == Direction::All {
        sql.push(" OR (1 = 1");
        push_path_scope(&mut sql, "t.common_path", path);
        sql.push(")");
    }
    sql.push(")");
    if pending_only {
        sql.push(" AND t.state = 'pending'");
    }
    sql.push(" ORDER BY t.id DESC LIMIT ")
        .int(per_page + 1)
        .push(" OFFSET ")
        .int((page - 1) * per_page);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let items = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, per_page))
}

/// Every transfer of one member, oldest first.
/// How many transfers still waiting start or end in the subtree at `path`.
pub async fn pending_touching(conn: &mut AnyConnection, path: &TreePath) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM transfers WHERE state = 'pending' AND \
         ((from_path >= $1 AND from_path < $2) OR (to_path >= $1 AND to_path < $2))",
    )
    .bind(path.as_str().to_owned())
    .bind(path.upper_bound())
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn of_member(conn: &mut AnyConnection, member: MemberId) -> StoreResult<Vec<Transfer>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE t.member_id = ")
        .int(member.0)
        .push(" ORDER BY t.id");
    let rows = sql.query().fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}

/// Move a member to another organisation and firm from `on`: the member row (the tally
/// triggers move their counts in `org_tallies` and the firms'), their member account, the
/// path every form and survey mark of theirs carries, and their form and survey counts in
/// `campaign_tallies` (which the triggers key by the member's organisation at the time of
/// each change, so a move carries them over here).
pub async fn move_member(
    conn: &mut AnyConnection,
    member: MemberId,
    to: (OrgId, FirmId, &TreePath),
    on: &str,
) -> StoreResult<()> {
    let row = sqlx::query("SELECT org_id FROM members WHERE id = $1")
        .bind(member.0)
        .fetch_one(&mut *conn)
        .await?;
    let from = OrgId(row.try_get("org_id")?);
    // The member's counts per campaign, out of the old organisation and into the new one.
    let counts = sqlx::query(
        "SELECT g.campaign_id, SUM(g.d) AS d, SUM(g.s) AS s, SUM(g.r) AS r, SUM(g.a) AS a, \
         SUM(g.t) AS t, SUM(g.c1) AS c1, SUM(g.c2) AS c2, SUM(g.c3) AS c3, SUM(g.c4) AS c4, \
         SUM(g.c5) AS c5 FROM ( \
           SELECT campaign_id, \
             CASE WHEN state = 'draft' THEN 1 ELSE 0 END AS d, \
             CASE WHEN state = 'submitted' THEN 1 ELSE 0 END AS s, \
             CASE WHEN state = 'returned' THEN 1 ELSE 0 END AS r, \
             CASE WHEN state = 'approved' THEN 1 ELSE 0 END AS a, \
             0 AS t, 0 AS c1, 0 AS c2, 0 AS c3, 0 AS c4, 0 AS c5 \
           FROM registrations WHERE member_id = $1 \
           UNION ALL \
           SELECT campaign_id, 0, 0, 0, 0, \
             CASE WHEN transferred = 'in' THEN 1 ELSE 0 END, \
             CASE WHEN case_code = '1' THEN 1 ELSE 0 END, \
             CASE WHEN case_code = '2' THEN 1 ELSE 0 END, \
             CASE WHEN case_code = '3' THEN 1 ELSE 0 END, \
             CASE WHEN case_code = '4' THEN 1 ELSE 0 END, \
             CASE WHEN case_code = '5' THEN 1 ELSE 0 END \
           FROM survey_checks WHERE member_id = $1) g GROUP BY g.campaign_id",
    )
    .bind(member.0)
    .fetch_all(&mut *conn)
    .await?;
    for c in &counts {
        let campaign: i64 = c.try_get("campaign_id")?;
        let n: Vec<i64> = ["d", "s", "r", "a", "t", "c1", "c2", "c3", "c4", "c5"]
            .iter()
            .map(|k| c.try_get::<i64, _>(*k))
            .collect::<Result<_, _>>()?;
        sqlx::query(
            "INSERT INTO campaign_tallies VALUES ($1, $2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) \
             ON CONFLICT (org_id, campaign_id) DO NOTHING",
        )
        .bind(to.0.0)
        .bind(campaign)
        .execute(&mut *conn)
        .await?;
        for (org, sign) in [(from, -1_i64), (to.0, 1)] {
            let mut q = sqlx::query(
                "UPDATE campaign_tallies SET drafts = drafts + $1, submitted = submitted + $2, \
                 returned = returned + $3, approved = approved + $4, \
                 transferred_in = transferred_in + $5, case1 = case1 + $6, case2 = case2 + $7, \
                 case3 = case3 + $8, case4 = case4 + $9, case5 = case5 + $10 \
                 WHERE org_id = $11 AND campaign_id = $12",
            );
            for v in &n {
                q = q.bind(sign * v);
            }
            q.bind(org.0).bind(campaign).execute(&mut *conn).await?;
        }
    }
    sqlx::query(
        "UPDATE members SET org_id = $1, firm_id = $2, org_path = $3, placed_on = $4, \
         version = version + 1, updated_at = $5 WHERE id = $6",
    )
    .bind(to.0.0)
    .bind(to.1.0)
    .bind(to.2.as_str().to_owned())
    .bind(on.to_owned())
    .bind(now())
    .bind(member.0)
    .execute(&mut *conn)
    .await?;
    for table in [
        "UPDATE registrations SET org_path = $1 WHERE member_id = $2",
        "UPDATE survey_checks SET org_path = $1 WHERE member_id = $2",
    ] {
        sqlx::query(table)
            .bind(to.2.as_str().to_owned())
            .bind(member.0)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("UPDATE users SET org_id = $1 WHERE member_id = $2 AND role = 'member'")
        .bind(to.0.0)
        .bind(member.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
