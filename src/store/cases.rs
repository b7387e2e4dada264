//! 分类处理 cases: the case of a member in a campaign, its timeline of steps, its outcome, and
//! the written report of cases 4 and 5; lists and counts over a subtree.

use sqlx::{AnyConnection, Row};

use super::orgs::{Page, push_path_scope};
use super::{Sql, StoreError, StoreResult, now, state_of};
use crate::authz::Scope;
use crate::domain::{
    CaseCategory, CaseId, CaseOutcome, CaseState, MemberId, OrgId, ReportState, TreePath, UserId,
};

/// A case with the names a page shows.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: CaseId,
    pub campaign_id: i64,
    pub member_id: MemberId,
    pub member_name: String,
    pub member_category: String,
    pub org_id: OrgId,
    pub org_name: String,
    pub org_path: TreePath,
    pub owner_org_id: OrgId,
    pub owner_name: String,
    pub owner_path: TreePath,
    pub category: CaseCategory,
    pub state: CaseState,
    pub outcome: Option<CaseOutcome>,
    pub due_on: String,
    pub source: String,
    pub opened_at: i64,
    pub opener_name: String,
    pub closed_at: Option<i64>,
    pub closer_name: Option<String>,
    pub version: i64,
}

impl Case {
    /// Still open after its due date, on `today` (YYYY-MM-DD).
    pub fn overdue_on(&self, today: &str) -> bool {
        self.state == CaseState::Open && self.due_on.as_str() < today
    }
}

const SELECT: &str = "SELECT c.id, c.campaign_id, c.member_id, m.name AS member_name, \
     m.category AS member_category, c.org_id, o.name AS org_name, c.org_path, c.owner_org_id, \
     w.name AS owner_name, c.owner_path, c.category, c.state, c.outcome, c.due_on, c.source, \
     c.opened_at, c.opener_name, c.closed_at, c.closer_name, c.version \
     FROM cases c JOIN members m ON m.id = c.member_id JOIN orgs o ON o.id = c.org_id \
     JOIN orgs w ON w.id = c.owner_org_id";

fn path_of(r: &sqlx::any::AnyRow, column: &str) -> StoreResult<TreePath> {
    let p: String = r.try_get(column)?;
    TreePath::parse(&p).ok_or_else(|| StoreError::Corrupt(format!("cases.{column}")))
}

fn from_row(r: &sqlx::any::AnyRow) -> StoreResult<Case> {
    let category: String = r.try_get("category")?;
    let state: String = r.try_get("state")?;
    let outcome: Option<String> = r.try_get("outcome")?;
    Ok(Case {
        id: CaseId(r.try_get("id")?),
        campaign_id: r.try_get("campaign_id")?,
        member_id: MemberId(r.try_get("member_id")?),
        member_name: r.try_get("member_name")?,
        member_category: r.try_get("member_category")?,
        org_id: OrgId(r.try_get("org_id")?),
        org_name: r.try_get("org_name")?,
        org_path: path_of(r, "org_path")?,
        owner_org_id: OrgId(r.try_get("owner_org_id")?),
        owner_name: r.try_get("owner_name")?,
        owner_path: path_of(r, "owner_path")?,
        category: state_of(&category, CaseCategory::parse)?,
        state: state_of(&state, CaseState::parse)?,
        outcome: match outcome {
            Some(o) => Some(state_of(&o, CaseOutcome::parse)?),
            None => None,
        },
        due_on: r.try_get("due_on")?,
        source: r.try_get("source")?,
        opened_at: r.try_get("opened_at")?,
        opener_name: r.try_get("opener_name")?,
        closed_at: r.try_get("closed_at")?,
        closer_name: r.try_get("closer_name")?,
        version: r.try_get("version")?,
    })
}

pub async fn get(conn: &mut AnyConnection, id: CaseId) -> StoreResult<Option<Case>> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE c.id = $1")))
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?;
    r.as_ref().map(from_row).transpose()
}

/// The member's case in the campaign, if one was opened.
pub async fn of_member(
    conn: &mut AnyConnection,
    campaign_id: i64,
    member: MemberId,
) -> StoreResult<Option<Case>> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE c.campaign_id = $1 AND c.member_id = $2"
    )))
    .bind(campaign_id)
    .bind(member.0)
    .fetch_optional(&mut *conn)
    .await?;
    r.as_ref().map(from_row).transpose()
}

/// A case to open.
#[derive(Debug, Clone)]
pub struct NewCase<'a> {
    pub campaign_id: i64,
    pub member_id: MemberId,
    pub org_id: OrgId,
    pub org_path: &'a TreePath,
    pub owner_org_id: OrgId,
    pub owner_path: &'a TreePath,
    pub category: CaseCategory,
    pub due_on: &'a str,
    /// `survey` or `hand`.
    pub source: &'a str,
    pub by: Option<UserId>,
    pub by_name: &'a str,
}

pub async fn insert(conn: &mut AnyConnection, c: &NewCase<'_>) -> StoreResult<CaseId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO cases (campaign_id, member_id, org_id, org_path, owner_org_id, owner_path, \
         category, state, due_on, source, opened_at, opened_by, opener_name, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, $10, $11, $12, 0) RETURNING id",
    )
    .bind(c.campaign_id)
    .bind(c.member_id.0)
    .bind(c.org_id.0)
    .bind(c.org_path.as_str().to_owned())
    .bind(c.owner_org_id.0)
    .bind(c.owner_path.as_str().to_owned())
    .bind(c.category.code())
    .bind(c.due_on.to_owned())
    .bind(c.source.to_owned())
    .bind(now())
    .bind(c.by.map(|u| u.0))
    .bind(c.by_name.to_owned())
    .fetch_one(&mut *conn)
    .await?;
    Ok(CaseId(id))
}

/// Move an open case to another category (the survey said so), with its new due date.
pub async fn set_category(
    conn: &mut AnyConnection,
    id: CaseId,
    category: CaseCategory,
    due_on: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE cases SET category = $1, due_on = $2, overdue_noticed_at = NULL, \
         version = version + 1 WHERE id = $3 AND state = 'open'",
    )
    .bind(category.code())
    .bind(due_on.to_owned())
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Close an open case with its outcome, if it is still at `version`; `Conflict` otherwise.
pub async fn close(
    conn: &mut AnyConnection,
    id: CaseId,
    outcome: CaseOutcome,
    version: i64,
    by: Option<UserId>,
    by_name: &str,
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE cases SET state = 'closed', outcome = $1, closed_at = $2, closed_by = $3, \
         closer_name = $4, version = version + 1 \
         WHERE id = $5 AND state = 'open' AND version = $6",
    )
    .bind(outcome.code())
    .bind(now())
    .bind(by.map(|u| u.0))
    .bind(by_name.to_owned())
    .bind(id.0)
    .bind(version)
    .execute(&mut *conn)
    .await?;
    super::changed_one(&done)
}

/// Open a closed case again (its outcome cleared).
pub async fn reopen(conn: &mut AnyConnection, id: CaseId, version: i64) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE cases SET state = 'open', outcome = NULL, closed_at = NULL, closed_by = NULL, \
         closer_name = NULL, version = version + 1 \
         WHERE id = $1 AND state = 'closed' AND version = $2",
    )
    .bind(id.0)
    .bind(version)
    .execute(&mut *conn)
    .await?;
    super::changed_one(&done)
}

/// One step of a case's timeline.
#[derive(Debug, Clone)]
pub struct Step {
    pub kind: String,
    pub note: String,
    pub at: i64,
    pub by_name: String,
}

pub async fn add_step(
    conn: &mut AnyConnection,
    case: CaseId,
    kind: &str,
    note: &str,
    by: Option<UserId>,
    by_name: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO case_steps (case_id, kind, note, at, by_user, by_name) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(case.0)
    .bind(kind.to_owned())
    .bind(note.to_owned())
    .bind(now())
    .bind(by.map(|u| u.0))
    .bind(by_name.to_owned())
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE cases SET version = version + 1 WHERE id = $1")
        .bind(case.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A case's steps in time order.
pub async fn steps(conn: &mut AnyConnection, case: CaseId) -> StoreResult<Vec<Step>> {
    let rows = sqlx::query(
        "SELECT kind, note, at, by_name FROM case_steps WHERE case_id = $1 ORDER BY id",
    )
    .bind(case.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Step {
                kind: r.try_get("kind")?,
                note: r.try_get("note")?,
                at: r.try_get("at")?,
                by_name: r.try_get("by_name")?,
            })
        })
        .collect()
}

/// Which cases a list shows.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub category: Option<CaseCategory>,
    /// `open`, `overdue` (open and past due on `today`) or `closed`.
    pub state: Option<String>,
    pub owner: Option<OrgId>,
    /// The member's organisation (a firm organisation, or a city node for its own members).
    pub org: Option<OrgId>,
    pub page: i64,
    pub per_page: i64,
}

/// The scope on a case: the members' subtree, or the member's own case.
fn push_case_scope(sql: &mut Sql, scope: &Scope) {
    match scope {
        Scope::Subtree(path) => push_path_scope(sql, "c.org_path", path),
        Scope::OwnRecord(id) => {
            sql.push(" AND c.member_id = ").int(id.0);
        }
    }
}

/// One page of the cases within the scope, by due date.
pub async fn list(
    conn: &mut AnyConnection,
    campaign_id: i64,
    scope: &Scope,
    f: &CaseFilter,
    today: &str,
) -> StoreResult<Page<Case>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE c.campaign_id = ").int(campaign_id);
    push_case_scope(&mut sql, scope);
    if let Some(c) = f.category {
        sql.push(" AND c.category = ").text(c.code());
    }
    match f.state.as_deref() {
        Some("open") => {
            sql.push(" AND c.state = 'open'");
        }
        Some("overdue") => {
            sql.push(" AND c.state = 'open' AND c.due_on < ")
                .text(today);
        }
        Some("closed") => {
            sql.push(" AND c.state = 'closed'");
        }
        _ => {}
    }
    if let Some(o) = f.owner {
        sql.push(" AND c.owner_org_id = ").int(o.0);
    }
    if let Some(o) = f.org {
        sql.push(" AND c.org_id = ").int(o.0);
    }
    sql.push(" ORDER BY c.state DESC, c.due_on, c.id LIMIT ")
        .int(f.per_page + 1)
        .push(" OFFSET ")
        .int((f.page - 1) * f.per_page);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let items = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, f.page, f.per_page))
}

/// Cases within a subtree per category: open, of those overdue on `today`, and closed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaseCounts {
    pub open: [i64; 5],
    pub overdue: [i64; 5],
    pub closed: [i64; 5],
}

impl CaseCounts {
    pub fn total_open(&self) -> i64 {
        self.open.iter().sum()
    }
    pub fn total_overdue(&self) -> i64 {
        self.overdue.iter().sum()
    }
    pub fn total_closed(&self) -> i64 {
        self.closed.iter().sum()
    }
}

pub async fn counts(
    conn: &mut AnyConnection,
    campaign_id: i64,
    scope: &Scope,
    today: &str,
) -> StoreResult<CaseCounts> {
    let mut sql = Sql::new(
        "SELECT c.category, \
         COUNT(CASE WHEN c.state = 'open' THEN 1 END) AS open, \
         COUNT(CASE WHEN c.state = 'open' AND c.due_on < ",
    );
    sql.text(today)
        .push(
            " THEN 1 END) AS overdue, COUNT(CASE WHEN c.state = 'closed' THEN 1 END) AS closed \
             FROM cases c WHERE c.campaign_id = ",
        )
        .int(campaign_id);
    push_case_scope(&mut sql, scope);
    sql.push(" GROUP BY c.category");
    let mut out = CaseCounts::default();
    for r in sql.query().fetch_all(&mut *conn).await? {
        let code: String = r.try_get("category")?;
        let i = state_of(&code, CaseCategory::parse)?.index();
        out.open[i] = r.try_get("open")?;
        out.overdue[i] = r.try_get("overdue")?;
        out.closed[i] = r.try_get("closed")?;
    }
    Ok(out)
}

/// Open cases past their due date on `today` whose owner was not told yet.
pub async fn overdue_untold(conn: &mut AnyConnection, today: &str) -> StoreResult<Vec<Case>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE c.state = 'open' AND c.due_on < $1 AND c.overdue_noticed_at IS NULL \
         ORDER BY c.id"
    )))
    .bind(today.to_owned())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn mark_overdue_told(conn: &mut AnyConnection, id: CaseId) -> StoreResult<()> {
    sqlx::query("UPDATE cases SET overdue_noticed_at = $1 WHERE id = $2")
        .bind(now())
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A case's written report.
#[derive(Debug, Clone)]
pub struct Report {
    pub id: i64,
    pub case_id: CaseId,
    pub to_org_id: OrgId,
    pub state: ReportState,
    pub body: String,
    pub version: i64,
    pub submitted_at: i64,
    pub submitter_name: String,
    pub decided_at: Option<i64>,
    pub decider_name: Option<String>,
    pub return_reason: Option<String>,
}

pub async fn report_of(conn: &mut AnyConnection, case: CaseId) -> StoreResult<Option<Report>> {
    let r = sqlx::query(
        "SELECT id, case_id, to_org_id, state, body, version, submitted_at, submitter_name, \
         decided_at, decider_name, return_reason FROM case_reports WHERE case_id = $1",
    )
    .bind(case.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = r else { return Ok(None) };
    let state: String = r.try_get("state")?;
    Ok(Some(Report {
        id: r.try_get("id")?,
        case_id: CaseId(r.try_get("case_id")?),
        to_org_id: OrgId(r.try_get("to_org_id")?),
        state: state_of(&state, ReportState::parse)?,
        body: r.try_get("body")?,
        version: r.try_get("version")?,
        submitted_at: r.try_get("submitted_at")?,
        submitter_name: r.try_get("submitter_name")?,
        decided_at: r.try_get("decided_at")?,
        decider_name: r.try_get("decider_name")?,
        return_reason: r.try_get("return_reason")?,
    }))
}

/// Submit the report (again, after a return): its body replaces the earlier one.
pub async fn submit_report(
    conn: &mut AnyConnection,
    case: CaseId,
    to_org: OrgId,
    body: &str,
    by: Option<UserId>,
    by_name: &str,
) -> StoreResult<()> {
    let t = now();
    let done = sqlx::query(
        "UPDATE case_reports SET state = 'submitted', body = $1, version = version + 1, \
         submitted_at = $2, submitted_by = $3, submitter_name = $4, decided_at = NULL, \
         decided_by = NULL, decider_name = NULL, return_reason = NULL, to_org_id = $5 \
         WHERE case_id = $6 AND state = 'returned'",
    )
    .bind(body.to_owned())
    .bind(t)
    .bind(by.map(|u| u.0))
    .bind(by_name.to_owned())
    .bind(to_org.0)
    .bind(case.0)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO case_reports (case_id, to_org_id, state, body, version, submitted_at, \
             submitted_by, submitter_name) VALUES ($1, $2, 'submitted', $3, 0, $4, $5, $6)",
        )
        .bind(case.0)
        .bind(to_org.0)
        .bind(body.to_owned())
        .bind(t)
        .bind(by.map(|u| u.0))
        .bind(by_name.to_owned())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The superior organisation's decision on a submitted report at `version`: acknowledged or
/// returned with a reason; `Conflict` when it is no longer that submission.
pub async fn decide_report(
    conn: &mut AnyConnection,
    case: CaseId,
    state: ReportState,
    reason: Option<&str>,
    version: i64,
    by: Option<UserId>,
    by_name: &str,
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE case_reports SET state = $1, return_reason = $2, decided_at = $3, \
         decided_by = $4, decider_name = $5, version = version + 1 \
         WHERE case_id = $6 AND state = 'submitted' AND version = $7",
    )
    .bind(state.code())
    .bind(reason.map(str::to_owned))
    .bind(now())
    .bind(by.map(|u| u.0))
    .bind(by_name.to_owned())
    .bind(case.0)
    .bind(version)
    .execute(&mut *conn)
    .await?;
    super::changed_one(&done)
}

/// Reports submitted to `org` and waiting for its decision.
pub async fn reports_waiting(conn: &mut AnyConnection, org: OrgId) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM case_reports WHERE to_org_id = $1 AND state = 'submitted'",
    )
    .bind(org.0)
    .fetch_one(&mut *conn)
    .await?)
}

/// For `dengji bench` only: members of a subtree with no case in the campaign, at most `limit`.
pub async fn members_without_case_for_bench(
    conn: &mut AnyConnection,
    campaign_id: i64,
    path: &TreePath,
    limit: i64,
) -> StoreResult<Vec<MemberId>> {
    let rows = sqlx::query(
        "SELECT m.id FROM members m WHERE m.org_path >= $1 AND m.org_path < $2 \
         AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.member_id = m.id AND c.campaign_id = $3) \
         ORDER BY m.id LIMIT $4",
    )
    .bind(path.as_str().to_owned())
    .bind(path.upper_bound())
    .bind(campaign_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok(MemberId(r.try_get("id")?)))
        .collect()
}
