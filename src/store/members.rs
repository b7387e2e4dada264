//! Party member records: identity, party standing, firm and organisation. The citizen ID is
//! stored encrypted with a keyed index; lists only ever read its masked form.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::orgs::{Page, push_path_scope};
use super::sql::like_escape;
use super::{Sql, StoreError, StoreResult, now};
use crate::authz::Scope;
use crate::domain::{FirmId, MemberId, OrgId, RegistrationState, TreePath};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: MemberId,
    pub name: String,
    pub sex: String,
    pub ethnicity: String,
    pub birth_date: String,
    pub citizen_id_masked: String,
    pub category: String,
    pub practice_type: Option<String>,
    pub licence_no: Option<String>,
    pub education: String,
    pub party_status: String,
    pub joined_on: String,
    pub full_member_on: Option<String>,
    pub mobile: String,
    pub firm_id: FirmId,
    pub firm_name: String,
    pub org_id: OrgId,
    pub org_name: String,
    pub org_path: TreePath,
    pub version: i64,
    /// 停止登记: the day registration ended, why (a [`StopReason`](crate::domain::change::StopReason)
    /// code) and where the 组织关系 went.
    pub stopped_on: Option<String>,
    pub stop_reason: Option<String>,
    pub stop_destination: Option<String>,
}

impl Member {
    /// Mobile shown in lists: `138****8000`.
    pub fn mobile_masked(&self) -> String {
        if self.mobile.len() == 11 {
            format!("{}****{}", &self.mobile[..3], &self.mobile[7..])
        } else {
            "****".to_owned()
        }
    }
}

pub(crate) const SELECT: &str = "SELECT m.id, m.name, m.sex, m.ethnicity, m.birth_date, m.citizen_id_masked, \
     m.category, m.practice_type, m.licence_no, m.education, m.party_status, m.joined_on, \
     m.full_member_on, m.mobile, m.firm_id, f.name AS firm_name, m.org_id, o.name AS org_name, \
     m.org_path, m.version, m.stopped_on, m.stop_reason, m.stop_destination \
     FROM members m JOIN firms f ON f.id = m.firm_id JOIN orgs o ON o.id = m.org_id";

pub(crate) fn from_row(r: &AnyRow) -> StoreResult<Member> {
    let path: String = r.try_get("org_path")?;
    Ok(Member {
        id: MemberId(r.try_get("id")?),
        name: r.try_get("name")?,
        sex: r.try_get("sex")?,
        ethnicity: r.try_get("ethnicity")?,
        birth_date: r.try_get("birth_date")?,
        citizen_id_masked: r.try_get("citizen_id_masked")?,
        category: r.try_get("category")?,
        practice_type: r.try_get("practice_type")?,
        licence_no: r.try_get("licence_no")?,
        education: r.try_get("education")?,
        party_status: r.try_get("party_status")?,
        joined_on: r.try_get("joined_on")?,
        full_member_on: r.try_get("full_member_on")?,
        mobile: r.try_get("mobile")?,
        firm_id: FirmId(r.try_get("firm_id")?),
        firm_name: r.try_get("firm_name")?,
        org_id: OrgId(r.try_get("org_id")?),
        org_name: r.try_get("org_name")?,
        org_path: TreePath::parse(&path)
            .ok_or_else(|| StoreError::Corrupt(format!("member org path {path}")))?,
        version: r.try_get("version")?,
        stopped_on: r.try_get("stopped_on")?,
        stop_reason: r.try_get("stop_reason")?,
        stop_destination: r.try_get("stop_destination")?,
    })
}

/// End a member's registration from `on` (`Conflict` if it already ended).
pub async fn stop(
    conn: &mut AnyConnection,
    id: MemberId,
    on: &str,
    reason: &str,
    destination: Option<&str>,
) -> StoreResult<()> {
    let r = sqlx::query(
        "UPDATE members SET stopped_on = $1, stop_reason = $2, stop_destination = $3, \
         version = version + 1 WHERE id = $4 AND stopped_on IS NULL",
    )
    .bind(on.to_owned())
    .bind(reason.to_owned())
    .bind(destination.map(str::to_owned))
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    super::changed_one(&r)
}

/// Put a member whose registration ended back on the roster from `on` (`Conflict` if it had
/// not ended).
pub async fn resume(conn: &mut AnyConnection, id: MemberId, on: &str) -> StoreResult<()> {
    let r = sqlx::query(
        "UPDATE members SET stopped_on = NULL, stop_reason = NULL, stop_destination = NULL, \
         placed_on = $1, version = version + 1 WHERE id = $2 AND stopped_on IS NOT NULL",
    )
    .bind(on.to_owned())
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    super::changed_one(&r)
}

pub async fn get(conn: &mut AnyConnection, id: MemberId) -> StoreResult<Option<Member>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE m.id = ").int(id.0);
    match sql.query().fetch_optional(&mut *conn).await? {
        Some(r) => Ok(Some(from_row(&r)?)),
        None => Ok(None),
    }
}

#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    pub name: Option<String>,
    pub category: Option<String>,
    pub party_status: Option<String>,
    pub firm: Option<FirmId>,
    pub org: Option<OrgId>,
    /// Join each member's form of this campaign (and filter on it with `form`).
    pub campaign: Option<i64>,
    pub form: Option<FormFilter>,
    pub sort: MemberSort,
    pub page: i64,
    pub per_page: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MemberSort {
    #[default]
    Name,
    BirthDate,
    JoinedOn,
}

/// Which members by the state of their form in the filter's campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormFilter {
    /// 未填报: no form at all yet.
    NotStarted,
    In(RegistrationState),
}

/// A listed member with the state of their form in the filter's campaign (`None`: not
/// started, or no campaign asked for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedMember {
    pub member: Member,
    pub form_state: Option<RegistrationState>,
}

/// One page of members (see [`list_with_forms`]).
pub async fn list(
    conn: &mut AnyConnection,
    scope: &Scope,
    f: &MemberFilter,
) -> StoreResult<Page<Member>> {
    let page = list_with_forms(conn, scope, f).await?;
    Ok(Page {
        items: page.items.into_iter().map(|l| l.member).collect(),
        page: page.page,
        per_page: page.per_page,
        has_next: page.has_next,
    })
}

/// What the name box of a member list asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Search {
    /// Four or more digits: licence numbers (执业证号) starting with them.
    Licence(String),
    /// A name pattern over a small subtree: the members of the range, checked one by one.
    Name(String),
    /// A name pattern over the nation or a province: the rows of one gram of the pattern
    /// ([`gram_of`]), checked whole on the member.
    Grams { gram: String, name: String },
}

impl Search {
    fn of(text: &str, scope: &Scope) -> Search {
        if text.len() >= 4 && text.bytes().all(|b| b.is_ascii_digit()) {
            return Search::Licence(text.to_owned());
        }
        match scope {
            Scope::Subtree(path) if path.depth() <= 1 => match gram_of(text) {
                Some(gram) => Search::Grams {
                    gram,
                    name: text.to_owned(),
                },
                None => Search::Name(text.to_owned()),
            },
            _ => Search::Name(text.to_owned()),
        }
    }
}

/// The gram a name search reads (migration 0027): the first pair of adjacent characters of the
/// pattern, else its first character, leaving out ASCII letters (grams keep letters as
/// written, while SQLite's `LIKE` ignores their case, so a search of letters alone reads the
/// range instead).
fn gram_of(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let plain = |c: &char| !c.is_ascii_alphabetic();
    chars
        .windows(2)
        .find(|w| w.iter().all(plain))
        .map(|w| w.iter().collect())
        .or_else(|| chars.iter().find(|c| plain(c)).map(char::to_string))
}

/// One page of members. The page's ids are chosen first from the members table alone (for
/// the common name order that is a scan of the `(org_path, name)` index, no table rows), and
/// only those rows are then joined to their firm and organisation.
pub async fn list_with_forms(
    conn: &mut AnyConnection,
    scope: &Scope,
    f: &MemberFilter,
) -> StoreResult<Page<ListedMember>> {
    let order = match f.sort {
        MemberSort::Name => " ORDER BY m.name, m.id",
        MemberSort::BirthDate => " ORDER BY m.birth_date, m.id",
        MemberSort::JoinedOn => " ORDER BY m.joined_on, m.id",
    };
    let search = f
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| Search::of(n, scope));
    // The page's ids: from the gram rows of the searched name (national and province scopes,
    // see migration 0027), otherwise from the members table alone.
    let mut inner = String::from(" JOIN (SELECT m.id FROM ");
    let inner_order = match (&search, f.sort) {
        (Some(Search::Grams { .. }), MemberSort::Name) => {
            " ORDER BY g.name, g.member_id".to_owned()
        }
        _ => order.to_owned(),
    };
    match &search {
        // CROSS JOIN: SQLite then walks the gram's rows in name order and looks each member up,
        // instead of reading every member of the range (PostgreSQL plans it as an inner join).
        Some(Search::Grams { .. }) => inner.push_str("member_grams g CROSS JOIN members m"),
        _ => inner.push_str("members m"),
    }
    let mut sql = match f.campaign {
        Some(_) => Sql::new(&format!(
            "SELECT r.state AS form_state, {}",
            &SELECT["SELECT ".len()..]
        )),
        None => Sql::new(SELECT),
    };
    if let Some(c) = f.campaign {
        sql.push(" LEFT JOIN registrations r ON r.member_id = m.id AND r.campaign_id = ")
            .int(c);
    }
    sql.push(&inner);
    if let (Some(c), Some(_)) = (f.campaign, f.form) {
        sql.push(" LEFT JOIN registrations r ON r.member_id = m.id AND r.campaign_id = ")
            .int(c);
    }
    sql.push(" WHERE 1 = 1");
    match (f.campaign, f.form) {
        (Some(_), Some(FormFilter::NotStarted)) => {
            sql.push(" AND r.id IS NULL");
        }
        (Some(_), Some(FormFilter::In(state))) => {
            sql.push(" AND r.state = ").text(state.code().to_owned());
        }
        _ => {}
    }
    match (&search, scope) {
        (Some(Search::Grams { gram, .. }), Scope::Subtree(path)) => {
            sql.push(" AND m.id = g.member_id AND g.gram = ")
                .text(gram.clone());
            push_path_scope(&mut sql, "g.org_path", path);
        }
        // A broad subtree listed by name with no narrowing filter: the first page is the
        // first names of the `(name, id, org_path)` index that lie in the subtree, so the scope
        // is written as an expression the `(org_path, name)` index cannot take (both
        // databases then walk the name index and stop after one page, instead of sorting a
        // province's 30,000 rows for each page).
        (None, Scope::Subtree(path))
            if path.depth() <= 1
                && f.sort == MemberSort::Name
                && f.form.is_none()
                && f.firm.is_none()
                && f.org.is_none() =>
        {
            // The length as a literal: PostgreSQL's substr takes an integer, not a bigint.
            sql.push(&format!(
                " AND substr(m.org_path, 1, {}) = ",
                path.as_str().len()
            ))
            .text(path.as_str().to_owned());
        }
        (_, Scope::Subtree(path)) => push_path_scope(&mut sql, "m.org_path", path),
        (_, Scope::OwnRecord(id)) => {
            sql.push(" AND m.id = ").int(id.0);
        }
    }
    match &search {
        Some(Search::Licence(prefix)) => {
            // A prefix range over the unique licence index (digits sort before ':').
            sql.push(" AND m.licence_no >= ")
                .text(prefix.clone())
                .push(" AND m.licence_no < ")
                .text(format!("{prefix}:"));
        }
        Some(Search::Name(name) | Search::Grams { name, .. }) => {
            sql.push(" AND m.name LIKE ")
                .text(format!("%{}%", like_escape(name)))
                .push(" ESCAPE '\\'");
        }
        None => {}
    }
    if let Some(c) = &f.category {
        sql.push(" AND m.category = ").text(c.clone());
    }
    if let Some(s) = &f.party_status {
        sql.push(" AND m.party_status = ").text(s.clone());
    }
    if let Some(firm) = f.firm {
        sql.push(" AND m.firm_id = ").int(firm.0);
    }
    if let Some(org) = f.org {
        sql.push(" AND m.org_id = ").int(org.0);
    }
    sql.push(&inner_order)
        .push(" LIMIT ")
        .int(f.per_page + 1)
        .push(" OFFSET ")
        .int((f.page - 1) * f.per_page)
        .push(") page ON page.id = m.id")
        .push(order);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let items = rows
        .iter()
        .map(|r| {
            let form_state = match f.campaign {
                Some(_) => r
                    .try_get::<Option<String>, _>("form_state")?
                    .map(|code| {
                        RegistrationState::parse(&code)
                            .ok_or_else(|| StoreError::Corrupt(format!("form state {code}")))
                    })
                    .transpose()?,
                None => None,
            };
            Ok(ListedMember {
                member: from_row(r)?,
                form_state,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, f.page, f.per_page))
}

/// A member record ready to store: the ID number already encrypted and indexed.
#[derive(Debug, Clone)]
pub struct NewMember {
    pub name: String,
    pub sex: String,
    pub ethnicity: String,
    pub birth_date: String,
    pub citizen_id_enc: Vec<u8>,
    pub citizen_id_index: String,
    pub citizen_id_masked: String,
    pub category: String,
    pub practice_type: Option<String>,
    pub licence_no: Option<String>,
    pub education: String,
    pub party_status: String,
    pub joined_on: String,
    pub full_member_on: Option<String>,
    pub mobile: String,
    pub firm_id: FirmId,
    pub org_id: OrgId,
    pub org_path: TreePath,
}

pub const INSERT_COLUMNS: &str = "name, sex, ethnicity, birth_date, citizen_id_enc, \
     citizen_id_index, citizen_id_masked, category, practice_type, licence_no, education, \
     party_status, joined_on, full_member_on, mobile, firm_id, org_id, org_path, version, \
     created_at, updated_at, placed_on";

pub async fn insert(conn: &mut AnyConnection, m: &NewMember) -> StoreResult<MemberId> {
    let sql = format!(
        "INSERT INTO members ({INSERT_COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 1, $19, $19, $20) \
         RETURNING id"
    );
    let t = now();
    let placed_on = super::roster::placement_date(conn).await?;
    let id: i64 = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(m.name.clone())
        .bind(m.sex.clone())
        .bind(m.ethnicity.clone())
        .bind(m.birth_date.clone())
        .bind(m.citizen_id_enc.clone())
        .bind(m.citizen_id_index.clone())
        .bind(m.citizen_id_masked.clone())
        .bind(m.category.clone())
        .bind(m.practice_type.clone())
        .bind(m.licence_no.clone())
        .bind(m.education.clone())
        .bind(m.party_status.clone())
        .bind(m.joined_on.clone())
        .bind(m.full_member_on.clone())
        .bind(m.mobile.clone())
        .bind(m.firm_id.0)
        .bind(m.org_id.0)
        .bind(m.org_path.as_str().to_owned())
        .bind(t)
        .bind(placed_on)
        .fetch_one(&mut *conn)
        .await?
        .try_get("id")?;
    Ok(MemberId(id))
}

/// The member with this citizen-ID index anywhere in the country, if any (for duplicates).
pub async fn find_by_id_index(
    conn: &mut AnyConnection,
    index: &str,
) -> StoreResult<Option<MemberId>> {
    let row = sqlx::query("SELECT id FROM members WHERE citizen_id_index = $1")
        .bind(index.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => Some(MemberId(r.try_get("id")?)),
        None => None,
    })
}

pub async fn encrypted_id(conn: &mut AnyConnection, id: MemberId) -> StoreResult<Option<Vec<u8>>> {
    let row = sqlx::query("SELECT citizen_id_enc FROM members WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("citizen_id_enc")?),
        None => None,
    })
}

/// How many members are registered in a firm.
pub async fn count_in_firm(conn: &mut AnyConnection, firm: FirmId) -> StoreResult<i64> {
    Ok(
        sqlx::query("SELECT COUNT(*) AS n FROM members WHERE firm_id = $1")
            .bind(firm.0)
            .fetch_one(&mut *conn)
            .await?
            .try_get("n")?,
    )
}

/// The members of a firm whose 组织关系 sits with the organisation `org`.
pub async fn in_firm_at(
    conn: &mut AnyConnection,
    firm: FirmId,
    org: OrgId,
) -> StoreResult<Vec<MemberId>> {
    let rows = sqlx::query("SELECT id FROM members WHERE firm_id = $1 AND org_id = $2 ORDER BY id")
        .bind(firm.0)
        .bind(org.0)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok(MemberId(r.try_get("id")?)))
        .collect()
}
