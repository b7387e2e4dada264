//! 宣传: commendations (先进党组织, 优秀党员, 优秀党务工作者) and the steps each took up the chain
//! (migration 0030).

use sqlx::{AnyConnection, Row, any::AnyRow};

use super::orgs::push_path_scope;
use super::sql::Sql;
use super::{StoreResult, now};
use crate::authz::Scope;
use crate::domain::{MemberId, OrgId, TreePath, UserId};

/// What is commended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 先进党组织.
    Org,
    /// 优秀党员.
    Member,
    /// 优秀党务工作者 (书记, 组织委员, or a clerk doing party work).
    Worker,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Self::Org, Self::Member, Self::Worker];

    pub fn code(self) -> &'static str {
        match self {
            Self::Org => "org",
            Self::Member => "member",
            Self::Worker => "worker",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Org => "先进党组织",
            Self::Member => "优秀党员",
            Self::Worker => "优秀党务工作者",
        }
    }
}

/// Where a commendation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for a level's 审核人.
    Pending,
    Approved,
    Declined,
}

impl State {
    pub fn code(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Declined => "declined",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Declined]
            .into_iter()
            .find(|s| s.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "待审批",
            Self::Approved => "已表彰",
            Self::Declined => "未予表彰",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Commendation {
    pub id: i64,
    pub kind: Kind,
    pub member_id: Option<MemberId>,
    pub org_id: Option<OrgId>,
    pub subject_name: String,
    pub subject_path: TreePath,
    pub post: Option<String>,
    pub citation: String,
    pub year: i64,
    pub nominator_org_id: OrgId,
    pub nominator_name: String,
    pub awarding_org_id: OrgId,
    pub awarding_name: String,
    pub awarding_path: TreePath,
    pub holder_org_id: Option<OrgId>,
    pub holder_name: Option<String>,
    pub state: State,
    pub awarded_on: Option<String>,
    pub warnings: Vec<String>,
    pub created_at: i64,
}

const SELECT: &str = "SELECT c.id, c.kind, c.member_id, c.org_id, c.subject_name, c.subject_path, \
     c.post, c.citation, c.year, c.nominator_org_id, n.name AS nominator_name, \
     c.awarding_org_id, a.name AS awarding_name, c.awarding_path, c.holder_org_id, \
     h.name AS holder_name, c.state, c.awarded_on, c.warnings, c.created_at \
     FROM commendations c JOIN orgs n ON n.id = c.nominator_org_id \
     JOIN orgs a ON a.id = c.awarding_org_id LEFT JOIN orgs h ON h.id = c.holder_org_id";

fn corrupt(what: &str) -> super::StoreError {
    super::StoreError::Corrupt(what.to_owned())
}

fn from_row(r: &AnyRow) -> StoreResult<Commendation> {
    let kind: String = r.try_get("kind")?;
    let state: String = r.try_get("state")?;
    let path = |c: &str| -> StoreResult<TreePath> {
        let s: String = r.try_get(c)?;
        TreePath::parse(&s).ok_or_else(|| corrupt(&format!("commendation path {s}")))
    };
    let warnings: String = r.try_get("warnings")?;
    Ok(Commendation {
        id: r.try_get("id")?,
        kind: Kind::parse(&kind).ok_or_else(|| corrupt(&format!("commendation kind {kind}")))?,
        member_id: r.try_get::<Option<i64>, _>("member_id")?.map(MemberId),
        org_id: r.try_get::<Option<i64>, _>("org_id")?.map(OrgId),
        subject_name: r.try_get("subject_name")?,
        subject_path: path("subject_path")?,
        post: r.try_get("post")?,
        citation: r.try_get("citation")?,
        year: r.try_get("year")?,
        nominator_org_id: OrgId(r.try_get("nominator_org_id")?),
        nominator_name: r.try_get("nominator_name")?,
        awarding_org_id: OrgId(r.try_get("awarding_org_id")?),
        awarding_name: r.try_get("awarding_name")?,
        awarding_path: path("awarding_path")?,
        holder_org_id: r.try_get::<Option<i64>, _>("holder_org_id")?.map(OrgId),
        holder_name: r.try_get("holder_name")?,
        state: State::parse(&state)
            .ok_or_else(|| corrupt(&format!("commendation state {state}")))?,
        awarded_on: r.try_get("awarded_on")?,
        warnings: serde_json::from_str(&warnings).map_err(|_| corrupt("commendation warnings"))?,
        created_at: r.try_get("created_at")?,
    })
}

/// A nomination ready to store.
#[derive(Debug, Clone)]
pub struct NewCommendation<'a> {
    pub kind: Kind,
    pub member_id: Option<MemberId>,
    pub org_id: Option<OrgId>,
    pub subject_name: &'a str,
    pub subject_path: &'a TreePath,
    pub post: Option<&'a str>,
    pub citation: &'a str,
    pub year: i64,
    pub nominator_org_id: OrgId,
    pub awarding_org_id: OrgId,
    pub awarding_path: &'a TreePath,
    /// Where it waits; `None` with `awarded_on` for an award of the nominating node itself.
    pub holder_org_id: Option<OrgId>,
    pub awarded_on: Option<&'a str>,
    pub warnings: &'a [String],
    pub created_by: Option<UserId>,
}

pub async fn insert(conn: &mut AnyConnection, c: &NewCommendation<'_>) -> StoreResult<i64> {
    let state = if c.holder_org_id.is_some() {
        State::Pending
    } else {
        State::Approved
    };
    let id: i64 = sqlx::query(
        "INSERT INTO commendations (kind, member_id, org_id, subject_name, subject_path, post, \
         citation, year, nominator_org_id, awarding_org_id, awarding_path, holder_org_id, state, \
         awarded_on, warnings, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
         RETURNING id",
    )
    .bind(c.kind.code())
    .bind(c.member_id.map(|m| m.0))
    .bind(c.org_id.map(|o| o.0))
    .bind(c.subject_name.to_owned())
    .bind(c.subject_path.as_str().to_owned())
    .bind(c.post.map(str::to_owned))
    .bind(c.citation.to_owned())
    .bind(c.year)
    .bind(c.nominator_org_id.0)
    .bind(c.awarding_org_id.0)
    .bind(c.awarding_path.as_str().to_owned())
    .bind(c.holder_org_id.map(|o| o.0))
    .bind(state.code())
    .bind(c.awarded_on.map(str::to_owned))
    .bind(serde_json::to_string(c.warnings).unwrap_or_else(|_| "[]".into()))
    .bind(c.created_by.map(|u| u.0))
    .bind(now())
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?;
    Ok(id)
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<Commendation>> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE c.id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    r.as_ref().map(from_row).transpose()
}

/// Move a pending commendation to the next holder, or decide it (no holder, a state and for
/// an approval its date). Only a commendation still held by `holder` changes: false otherwise.
pub async fn advance(
    conn: &mut AnyConnection,
    id: i64,
    holder: OrgId,
    next_holder: Option<OrgId>,
    state: State,
    awarded_on: Option<&str>,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE commendations SET holder_org_id = $1, state = $2, awarded_on = $3 \
         WHERE id = $4 AND holder_org_id = $5 AND state = 'pending'",
    )
    .bind(next_holder.map(|o| o.0))
    .bind(state.code())
    .bind(awarded_on.map(str::to_owned))
    .bind(id)
    .bind(holder.0)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One step in a commendation's history.
#[derive(Debug, Clone)]
pub struct Step {
    pub org_name: String,
    pub action: String,
    pub note: Option<String>,
    pub user_name: String,
    pub at: i64,
}

impl Step {
    pub fn action_label(&self) -> &'static str {
        match self.action.as_str() {
            "nominated" => "推荐",
            "forwarded" => "审核同意并转报上级",
            "approved" => "批准表彰",
            _ => "未予同意",
        }
    }
}

pub async fn add_step(
    conn: &mut AnyConnection,
    commendation: i64,
    org: OrgId,
    action: &str,
    note: Option<&str>,
    user: Option<UserId>,
    user_name: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO commendation_steps (commendation_id, org_id, action, note, user_id, \
         user_name, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(commendation)
    .bind(org.0)
    .bind(action.to_owned())
    .bind(note.map(str::to_owned))
    .bind(user.map(|u| u.0))
    .bind(user_name.to_owned())
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn steps(conn: &mut AnyConnection, commendation: i64) -> StoreResult<Vec<Step>> {
    let rows = sqlx::query(
        "SELECT o.name AS org_name, s.action, s.note, s.user_name, s.at \
         FROM commendation_steps s JOIN orgs o ON o.id = s.org_id \
         WHERE s.commendation_id = $1 ORDER BY s.id",
    )
    .bind(commendation)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Step {
                org_name: r.try_get("org_name")?,
                action: r.try_get("action")?,
                note: r.try_get("note")?,
                user_name: r.try_get("user_name")?,
                at: r.try_get("at")?,
            })
        })
        .collect()
}

/// Which commendations a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub year: Option<i64>,
    pub state: Option<State>,
    pub kind: Option<Kind>,
    /// Only the awards of this node (a 表彰名单), instead of every subject in the subtree.
    pub awarded_by: Option<OrgId>,
    /// Only those waiting for this node's decision.
    pub held_by: Option<OrgId>,
}

/// Commendations whose subject lies in the scope (narrowed to those a node awards or holds),
/// newest year first, by kind and name. Bounded: a level registers tens or hundreds a year.
pub async fn list(
    conn: &mut AnyConnection,
    scope: &Scope,
    f: &Filter,
) -> StoreResult<Vec<Commendation>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE 1 = 1");
    match scope {
        Scope::Subtree(path) => push_path_scope(&mut sql, "c.subject_path", path),
        // A member's own record is no list of commendations.
        Scope::OwnRecord(_) => {
            sql.push(" AND 1 = 0");
        }
    }
    if let Some(y) = f.year {
        sql.push(" AND c.year = ").int(y);
    }
    if let Some(s) = f.state {
        sql.push(" AND c.state = ").text(s.code());
    }
    if let Some(k) = f.kind {
        sql.push(" AND c.kind = ").text(k.code());
    }
    if let Some(o) = f.awarded_by {
        sql.push(" AND c.awarding_org_id = ").int(o.0);
    }
    if let Some(o) = f.held_by {
        sql.push(" AND c.holder_org_id = ").int(o.0);
    }
    sql.push(" ORDER BY c.year DESC, c.kind, c.subject_name, c.id LIMIT 5000");
    let rows = sql.query().fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}

/// The commendations of one member or one organisation, newest first.
pub async fn of_subject(
    conn: &mut AnyConnection,
    member: Option<MemberId>,
    org: Option<OrgId>,
) -> StoreResult<Vec<Commendation>> {
    let (col, id) = match (member, org) {
        (Some(m), _) => ("c.member_id", m.0),
        (None, Some(o)) => ("c.org_id", o.0),
        (None, None) => return Ok(Vec::new()),
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE {col} = $1 ORDER BY c.year DESC, c.id DESC"
    )))
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// What a nomination of a member should warn about: an open 分类处理 case, a form returned and
/// not filed again, a record found false in a spot check (the caller adds the form's dues and
/// 组织生活 findings).
pub async fn member_concerns(
    conn: &mut AnyConnection,
    member: MemberId,
) -> StoreResult<Vec<String>> {
    let mut out = Vec::new();
    let open: Vec<String> = sqlx::query_scalar(
        "SELECT category FROM cases WHERE member_id = $1 AND state = 'open' ORDER BY id",
    )
    .bind(member.0)
    .fetch_all(&mut *conn)
    .await?;
    for c in open {
        out.push(format!("该党员有正在办理的分类处理案件（第{c}类）"));
    }
    let returned: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM registrations WHERE member_id = $1 AND state = 'returned'",
    )
    .bind(member.0)
    .fetch_one(&mut *conn)
    .await?;
    if returned > 0 {
        out.push("该党员的登记表被退回，尚未更正后重新提交".to_owned());
    }
    let false_found: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sample_items WHERE member_id = $1 AND result = 'false'",
    )
    .bind(member.0)
    .fetch_one(&mut *conn)
    .await?;
    if false_found > 0 {
        out.push("该党员的登记信息在抽查核验中被认定为不属实".to_owned());
    }
    Ok(out)
}

/// What a nomination of an organisation should warn about: recorded overdue in a campaign,
/// members of it with open cases.
pub async fn org_concerns(conn: &mut AnyConnection, org: OrgId) -> StoreResult<Vec<String>> {
    let mut out = Vec::new();
    let overdue: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT c.name FROM overdue_marks m JOIN campaigns c ON c.id = m.campaign_id \
         WHERE m.org_id = $1 ORDER BY c.name",
    )
    .bind(org.0)
    .fetch_all(&mut *conn)
    .await?;
    for name in overdue {
        out.push(format!("该党组织在“{name}”中逾期未报送"));
    }
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM cases k JOIN members m ON m.id = k.member_id \
         WHERE m.org_id = $1 AND k.state = 'open'",
    )
    .bind(org.0)
    .fetch_one(&mut *conn)
    .await?;
    if open > 0 {
        out.push(format!("该党组织有 {open} 名党员的分类处理案件正在办理"));
    }
    Ok(out)
}

/// Whether an organisation has been dissolved (撤销).
pub async fn dissolved(conn: &mut AnyConnection, org: OrgId) -> StoreResult<bool> {
    let on: Option<Option<String>> =
        sqlx::query_scalar("SELECT dissolved_on FROM orgs WHERE id = $1")
            .bind(org.0)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(on.flatten().is_some())
}
