//! The accountability register (追责): one record per false finding, missed deadline or
//! overdue case, naming the node and the people responsible as they were named at the time,
//! its evidence and the handling decided; the sources not yet recorded.

use sqlx::{AnyConnection, Row};

use super::orgs::{Page, push_path_scope};
use super::sql::{Arg, insert_rows};
use super::{Sql, StoreError, StoreResult, changed_one, now, state_of};
use crate::authz::Scope;
use crate::domain::{
    AccountKind, AccountSource, AccountabilityId, CaseId, Handling, OrgId, SampleItemId, TreePath,
    UserId,
};

/// A person named responsible: the role they held (书记, 组织委员, 审核人 …) and their name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Person {
    pub role: String,
    pub name: String,
}

/// A link to evidence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Evidence {
    pub label: String,
    pub link: String,
}

#[derive(Debug, Clone)]
pub struct Account {
    pub id: AccountabilityId,
    pub campaign_id: i64,
    pub org_id: OrgId,
    pub org_name: String,
    pub org_path: TreePath,
    pub kind: AccountKind,
    pub source: AccountSource,
    pub summary: String,
    pub people: Vec<Person>,
    pub evidence: Vec<Evidence>,
    pub decision: Option<Handling>,
    pub decision_note: Option<String>,
    pub decided_on: Option<String>,
    pub decider_name: Option<String>,
    pub recorded_at: i64,
    pub version: i64,
}

const SELECT: &str = "SELECT a.id, a.campaign_id, a.org_id, o.name AS org_name, a.org_path, \
     a.kind, a.source, a.summary, a.people, a.evidence, a.decision, a.decision_note, \
     a.decided_on, a.decider_name, a.recorded_at, a.version \
     FROM accountability a JOIN orgs o ON o.id = a.org_id";

fn json<T: serde::de::DeserializeOwned>(r: &sqlx::any::AnyRow, column: &str) -> StoreResult<T> {
    let text: String = r.try_get(column)?;
    serde_json::from_str(&text).map_err(|_| StoreError::Corrupt(format!("accountability.{column}")))
}

fn from_row(r: &sqlx::any::AnyRow) -> StoreResult<Account> {
    let kind: String = r.try_get("kind")?;
    let source: String = r.try_get("source")?;
    let decision: Option<String> = r.try_get("decision")?;
    let path: String = r.try_get("org_path")?;
    Ok(Account {
        id: AccountabilityId(r.try_get("id")?),
        campaign_id: r.try_get("campaign_id")?,
        org_id: OrgId(r.try_get("org_id")?),
        org_name: r.try_get("org_name")?,
        org_path: TreePath::parse(&path)
            .ok_or_else(|| StoreError::Corrupt("accountability.org_path".into()))?,
        kind: state_of(&kind, AccountKind::parse)?,
        source: state_of(&source, AccountSource::parse)?,
        summary: r.try_get("summary")?,
        people: json(r, "people")?,
        evidence: json(r, "evidence")?,
        decision: match decision {
            Some(d) => Some(state_of(&d, Handling::parse)?),
            None => None,
        },
        decision_note: r.try_get("decision_note")?,
        decided_on: r.try_get("decided_on")?,
        decider_name: r.try_get("decider_name")?,
        recorded_at: r.try_get("recorded_at")?,
        version: r.try_get("version")?,
    })
}

/// A record to add.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub campaign_id: i64,
    pub org_id: OrgId,
    pub org_path: String,
    pub source: AccountSource,
    pub sample_item_id: Option<SampleItemId>,
    pub overdue_mark_id: Option<i64>,
    pub case_id: Option<CaseId>,
    pub summary: String,
    pub people: Vec<Person>,
    pub evidence: Vec<Evidence>,
}

/// Add records (each source at most once: the table's unique keys refuse a second).
pub async fn insert(conn: &mut AnyConnection, records: Vec<NewAccount>) -> StoreResult<()> {
    let at = now();
    let rows = records
        .into_iter()
        .map(|a| {
            vec![
                Arg::Int(a.campaign_id),
                Arg::Int(a.org_id.0),
                Arg::Text(a.org_path),
                Arg::Text(a.source.kind().code().into()),
                Arg::Text(a.source.code().into()),
                Arg::opt_int(a.sample_item_id.map(|i| i.0)),
                Arg::opt_int(a.overdue_mark_id),
                Arg::opt_int(a.case_id.map(|c| c.0)),
                Arg::Text(a.summary),
                Arg::Text(serde_json::to_string(&a.people).unwrap_or_else(|_| "[]".into())),
                Arg::Text(serde_json::to_string(&a.evidence).unwrap_or_else(|_| "[]".into())),
                Arg::Int(at),
                Arg::Int(0),
            ]
        })
        .collect();
    insert_rows(
        conn,
        "accountability",
        "campaign_id, org_id, org_path, kind, source, sample_item_id, overdue_mark_id, case_id, \
         summary, people, evidence, recorded_at, version",
        rows,
    )
    .await?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: AccountabilityId) -> StoreResult<Option<Account>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE a.id = $1")))
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The record opened by a finding, if any.
pub async fn of_item(conn: &mut AnyConnection, item: SampleItemId) -> StoreResult<Option<Account>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE a.sample_item_id = $1"
    )))
    .bind(item.0)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Which records the register shows.
#[derive(Debug, Clone, Default)]
pub struct AccountFilter {
    pub kind: Option<AccountKind>,
    /// `open` (no decision yet) or `decided`.
    pub state: Option<String>,
    pub page: i64,
    pub per_page: i64,
}

/// Records per kind within a scope: all, and those without a decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountCounts {
    pub falsified: i64,
    pub delay: i64,
    pub undecided: i64,
}

fn push_scope(sql: &mut Sql, scope: &Scope) {
    match scope {
        Scope::Subtree(path) => push_path_scope(sql, "a.org_path", path),
        // A member account sees no register.
        Scope::OwnRecord(_) => {
            sql.push(" AND 1 = 0");
        }
    }
}

/// One page of the register within the scope, newest first.
pub async fn list(
    conn: &mut AnyConnection,
    campaign_id: i64,
    scope: &Scope,
    f: &AccountFilter,
) -> StoreResult<Page<Account>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE a.campaign_id = ").int(campaign_id);
    push_scope(&mut sql, scope);
    if let Some(k) = f.kind {
        sql.push(" AND a.kind = ").text(k.code());
    }
    match f.state.as_deref() {
        Some("open") => {
            sql.push(" AND a.decision IS NULL");
        }
        Some("decided") => {
            sql.push(" AND a.decision IS NOT NULL");
        }
        _ => {}
    }
    sql.push(" ORDER BY a.id DESC LIMIT ")
        .int(f.per_page + 1)
        .push(" OFFSET ")
        .int((f.page - 1) * f.per_page);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let items = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, f.page, f.per_page))
}

pub async fn counts(
    conn: &mut AnyConnection,
    campaign_id: i64,
    scope: &Scope,
) -> StoreResult<AccountCounts> {
    let mut sql = Sql::new(
        "SELECT COALESCE(SUM(CASE WHEN a.kind = 'falsified' THEN 1 ELSE 0 END), 0) AS f, \
         COALESCE(SUM(CASE WHEN a.kind = 'delay' THEN 1 ELSE 0 END), 0) AS d, \
         COALESCE(SUM(CASE WHEN a.decision IS NULL THEN 1 ELSE 0 END), 0) AS u \
         FROM accountability a WHERE a.campaign_id = ",
    );
    sql.int(campaign_id);
    push_scope(&mut sql, scope);
    let r = sql.query().fetch_one(&mut *conn).await?;
    Ok(AccountCounts {
        falsified: r.try_get("f")?,
        delay: r.try_get("d")?,
        undecided: r.try_get("u")?,
    })
}

/// A handling decision to record.
#[derive(Debug, Clone, Copy)]
pub struct Decision<'a> {
    pub handling: Handling,
    pub note: &'a str,
    /// YYYY-MM-DD.
    pub on: &'a str,
    pub by: Option<UserId>,
    pub by_name: &'a str,
}

/// Record (or change) the handling decision of a record still at `version`.
pub async fn decide(
    conn: &mut AnyConnection,
    id: AccountabilityId,
    version: i64,
    d: &Decision<'_>,
) -> StoreResult<()> {
    let Decision {
        handling,
        note,
        on,
        by,
        by_name,
    } = *d;
    let done = sqlx::query(
        "UPDATE accountability SET decision = $1, decision_note = $2, decided_on = $3, \
         decided_at = $4, decided_by = $5, decider_name = $6, version = version + 1 \
         WHERE id = $7 AND version = $8",
    )
    .bind(handling.code())
    .bind(note.to_owned())
    .bind(on.to_owned())
    .bind(now())
    .bind(by.map(|u| u.0))
    .bind(by_name.to_owned())
    .bind(id.0)
    .bind(version)
    .execute(&mut *conn)
    .await?;
    changed_one(&done)
}

/// A missed deadline or an overdue case with no record yet, with what names the people.
#[derive(Debug, Clone)]
pub struct Unrecorded {
    pub campaign_id: i64,
    pub org_id: OrgId,
    pub org_name: String,
    pub org_path: String,
    /// The overdue mark or the case.
    pub source_id: i64,
    /// The deadline missed, or the case's due date.
    pub due: String,
    /// For a case: the member and the category's code.
    pub member_name: Option<String>,
    pub category: Option<String>,
    /// The node's package, if it ever submitted one: the people it named.
    pub secretary: Option<String>,
    pub organiser: Option<String>,
    /// The node's 附件3 as filed (JSON), for the 书记 it names.
    pub a3: Option<String>,
}

fn unrecorded_from_row(r: &sqlx::any::AnyRow) -> StoreResult<Unrecorded> {
    Ok(Unrecorded {
        campaign_id: r.try_get("campaign_id")?,
        org_id: OrgId(r.try_get("org_id")?),
        org_name: r.try_get("org_name")?,
        org_path: r.try_get("org_path")?,
        source_id: r.try_get("source_id")?,
        due: r.try_get("due")?,
        member_name: r.try_get("member_name")?,
        category: r.try_get("category")?,
        secretary: r.try_get("secretary")?,
        organiser: r.try_get("organiser")?,
        a3: r.try_get("a3")?,
    })
}

const PEOPLE: &str = "(SELECT p.secretary_name FROM packages p WHERE p.campaign_id = x.campaign_id \
       AND p.org_id = o.id) AS secretary, \
     (SELECT p.organiser_name FROM packages p WHERE p.campaign_id = x.campaign_id \
       AND p.org_id = o.id) AS organiser, \
     (SELECT g.data FROM org_registrations g WHERE g.campaign_id = x.campaign_id \
       AND g.org_id = o.id) AS a3";

/// Overdue marks with no record yet (at most `limit`).
pub async fn unrecorded_marks(
    conn: &mut AnyConnection,
    limit: i64,
) -> StoreResult<Vec<Unrecorded>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT x.campaign_id, o.id AS org_id, o.name AS org_name, o.path AS org_path, \
         x.id AS source_id, x.deadline AS due, CAST(NULL AS TEXT) AS member_name, \
         CAST(NULL AS TEXT) AS category, {PEOPLE} \
         FROM overdue_marks x JOIN orgs o ON o.id = x.org_id \
         WHERE NOT EXISTS (SELECT 1 FROM accountability a WHERE a.overdue_mark_id = x.id) \
         ORDER BY x.id LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(unrecorded_from_row).collect()
}

/// Open cases past their due date on `today` with no record yet (at most `limit`), held
/// against their owner node.
pub async fn unrecorded_cases(
    conn: &mut AnyConnection,
    today: &str,
    limit: i64,
) -> StoreResult<Vec<Unrecorded>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT x.campaign_id, o.id AS org_id, o.name AS org_name, o.path AS org_path, \
         x.id AS source_id, x.due_on AS due, m.name AS member_name, x.category, {PEOPLE} \
         FROM cases x JOIN orgs o ON o.id = x.owner_org_id JOIN members m ON m.id = x.member_id \
         WHERE x.state = 'open' AND x.due_on < $1 \
         AND NOT EXISTS (SELECT 1 FROM accountability a WHERE a.case_id = x.id) \
         ORDER BY x.id LIMIT $2"
    )))
    .bind(today.to_owned())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(unrecorded_from_row).collect()
}
