//! The in-app inbox: notices addressed to user accounts, read or unread.

use sqlx::{AnyConnection, Row};

use super::{StoreResult, now};
use crate::domain::{MemberId, NoticeKind, OrgId, TreePath, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: i64,
    pub kind: NoticeKind,
    pub title: String,
    pub link: String,
    pub created_at: i64,
    pub read: bool,
}

/// Who a notice goes to.
#[derive(Debug, Clone, Copy)]
pub enum To<'a> {
    /// The working accounts (经办人, 审核人, 管理员) of an organisation.
    Staff(OrgId),
    /// The 党员本人 account(s) of a member.
    Member(MemberId),
    /// The administrators of every node on the path down to (and including) this one.
    AdminsOver(&'a TreePath),
}

/// Send a notice; with `dedupe_key`, a user who already has a notice with that key gets no
/// second one. Returns how many users were addressed.
pub async fn send(
    conn: &mut AnyConnection,
    to: To<'_>,
    kind: NoticeKind,
    title: &str,
    link: &str,
    dedupe_key: Option<&str>,
) -> StoreResult<u64> {
    let filter = match to {
        To::Staff(_) => "u.org_id = $1 AND u.role IN ('clerk', 'reviewer', 'admin')",
        To::Member(_) => "u.member_id = $1 AND u.role = 'member'",
        To::AdminsOver(_) => {
            "u.role = 'admin' AND EXISTS (SELECT 1 FROM orgs o WHERE o.id = u.org_id \
             AND substr($1, 1, length(o.path)) = o.path)"
        }
    };
    let sql = format!(
        "INSERT INTO notifications (user_id, kind, title, link, dedupe_key, created_at) \
         SELECT u.id, $2, $3, $4, $5, $6 FROM users u WHERE {filter} AND u.disabled = 0 \
         AND ($5 IS NULL OR NOT EXISTS (SELECT 1 FROM notifications n \
              WHERE n.user_id = u.id AND n.dedupe_key = $5))"
    );
    let query = sqlx::query(sqlx::AssertSqlSafe(sql));
    let query = match to {
        To::Staff(org) => query.bind(org.0),
        To::Member(m) => query.bind(m.0),
        To::AdminsOver(path) => query.bind(path.as_str().to_owned()),
    };
    let done = query
        .bind(kind.code())
        .bind(title.to_owned())
        .bind(link.to_owned())
        .bind(dedupe_key.map(str::to_owned))
        .bind(now())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

pub async fn unread_count(conn: &mut AnyConnection, user: UserId) -> StoreResult<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM notifications WHERE user_id = $1 AND read_at IS NULL",
    )
    .bind(user.0)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("n")?)
}

/// The newest notices of a user.
pub async fn list(
    conn: &mut AnyConnection,
    user: UserId,
    limit: i64,
) -> StoreResult<Vec<Notification>> {
    let rows = sqlx::query(
        "SELECT id, kind, title, link, created_at, read_at FROM notifications \
         WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(user.0)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let read_at: Option<i64> = r.try_get("read_at")?;
            Ok(Notification {
                id: r.try_get("id")?,
                kind: NoticeKind::parse(&r.try_get::<String, _>("kind")?),
                title: r.try_get("title")?,
                link: r.try_get("link")?,
                created_at: r.try_get("created_at")?,
                read: read_at.is_some(),
            })
        })
        .collect()
}

/// Mark one notice (or, with `None`, all) of a user as read.
pub async fn mark_read(
    conn: &mut AnyConnection,
    user: UserId,
    id: Option<i64>,
) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL \
         AND ($3 IS NULL OR id = $3)",
    )
    .bind(now())
    .bind(user.0)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Members of a subtree whose form of the campaign is not in (未填报, 草稿 or 已退回): how
/// many, and how many of them have an active 党员本人 account a reminder can reach.
pub async fn unsubmitted_members(
    conn: &mut AnyConnection,
    campaign_id: i64,
    path: &TreePath,
) -> StoreResult<(i64, i64)> {
    let row = sqlx::query(
        "SELECT COUNT(DISTINCT m.id) AS n, COUNT(DISTINCT u.member_id) AS reachable \
         FROM members m \
         LEFT JOIN registrations r ON r.member_id = m.id AND r.campaign_id = $1 \
         LEFT JOIN users u ON u.member_id = m.id AND u.role = 'member' AND u.disabled = 0 \
         WHERE m.org_path >= $2 AND m.org_path < $3 \
         AND (r.id IS NULL OR r.state IN ('draft', 'returned'))",
    )
    .bind(campaign_id)
    .bind(path.as_str().to_owned())
    .bind(path.upper_bound())
    .fetch_one(&mut *conn)
    .await?;
    Ok((row.try_get("n")?, row.try_get("reachable")?))
}

/// Send a notice to the 党员本人 accounts of every member of a subtree whose form of the
/// campaign is not in (see [`unsubmitted_members`]); an account that already holds a notice
/// with `dedupe_key` gets no second one. Returns how many accounts were addressed.
pub async fn send_to_unsubmitted(
    conn: &mut AnyConnection,
    campaign_id: i64,
    path: &TreePath,
    notice: (NoticeKind, &str, &str),
    dedupe_key: &str,
) -> StoreResult<u64> {
    let done = sqlx::query(
        "INSERT INTO notifications (user_id, kind, title, link, dedupe_key, created_at) \
         SELECT u.id, $1, $2, $3, $4, $5 FROM users u JOIN members m ON m.id = u.member_id \
         LEFT JOIN registrations r ON r.member_id = m.id AND r.campaign_id = $6 \
         WHERE u.role = 'member' AND u.disabled = 0 \
         AND m.org_path >= $7 AND m.org_path < $8 \
         AND (r.id IS NULL OR r.state IN ('draft', 'returned')) \
         AND NOT EXISTS (SELECT 1 FROM notifications n \
              WHERE n.user_id = u.id AND n.dedupe_key = $4)",
    )
    .bind(notice.0.code())
    .bind(notice.1.to_owned())
    .bind(notice.2.to_owned())
    .bind(dedupe_key.to_owned())
    .bind(now())
    .bind(campaign_id)
    .bind(path.as_str().to_owned())
    .bind(path.upper_bound())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Whether an organisation has any active working account (经办人, 审核人, 管理员).
pub async fn staff_exists(conn: &mut AnyConnection, org: OrgId) -> StoreResult<bool> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM users WHERE org_id = $1 \
         AND role IN ('clerk', 'reviewer', 'admin') AND disabled = 0",
    )
    .bind(org.0)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// Mark read, for everybody, the unread notices of `kind` pointing at `link`: the work they
/// announced is done (a form's 待审核 notice once it is approved or returned).
pub async fn resolve(conn: &mut AnyConnection, kind: NoticeKind, link: &str) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE notifications SET read_at = $1 WHERE link = $2 AND kind = $3 AND read_at IS NULL",
    )
    .bind(now())
    .bind(link.to_owned())
    .bind(kind.code())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}
