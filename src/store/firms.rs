//! Law firms: the firm registry, each firm under a city-level node and covered by its own
//! organisation, a joint branch, or nothing.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::orgs::{Page, push_path_scope};
use super::sql::like_escape;
use super::{Sql, StoreError, StoreResult};
use crate::authz::Scope;
use crate::domain::{FirmId, OrgId, OrgKind, TreePath};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firm {
    pub id: FirmId,
    pub name: String,
    pub credit_code: String,
    pub region_code: String,
    pub region_name: Option<String>,
    pub city_org_id: OrgId,
    pub city_org_name: String,
    pub org_id: Option<OrgId>,
    pub org_name: Option<String>,
    pub org_kind: Option<OrgKind>,
    pub scope_path: TreePath,
    pub form: String,
    pub lawyer_count: i64,
}

/// How a firm is covered by party organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    Own,
    Joint,
    None,
}

impl Coverage {
    pub fn of(firm: &Firm) -> Self {
        match firm.org_kind {
            None => Self::None,
            Some(OrgKind::JointBranch) => Self::Joint,
            Some(_) => Self::Own,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Own => "own",
            Self::Joint => "joint",
            Self::None => "none",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        [Self::Own, Self::Joint, Self::None]
            .into_iter()
            .find(|c| c.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Own => "单独建立党组织",
            Self::Joint => "纳入联合党支部",
            Self::None => "未建立党组织",
        }
    }
}

/// 律所组织形式.
pub fn form_label(code: &str) -> &'static str {
    match code {
        "partnership" => "合伙所",
        "state" => "国资所",
        "sole" => "个人所",
        _ => "其他",
    }
}

const SELECT: &str = "SELECT f.id, f.name, f.credit_code, f.region_code, d.name AS region_name, \
     f.city_org_id, c.name AS city_org_name, f.org_id, o.name AS org_name, o.kind AS org_kind, \
     f.scope_path, f.form, f.lawyer_count \
     FROM firms f JOIN orgs c ON c.id = f.city_org_id \
     LEFT JOIN orgs o ON o.id = f.org_id \
     LEFT JOIN divisions d ON d.code = f.region_code";

fn from_row(r: &AnyRow) -> StoreResult<Firm> {
    let path: String = r.try_get("scope_path")?;
    let kind: Option<String> = r.try_get("org_kind")?;
    Ok(Firm {
        id: FirmId(r.try_get("id")?),
        name: r.try_get("name")?,
        credit_code: r.try_get("credit_code")?,
        region_code: r.try_get("region_code")?,
        region_name: r.try_get("region_name")?,
        city_org_id: OrgId(r.try_get("city_org_id")?),
        city_org_name: r.try_get("city_org_name")?,
        org_id: r.try_get::<Option<i64>, _>("org_id")?.map(OrgId),
        org_name: r.try_get("org_name")?,
        org_kind: kind.as_deref().and_then(OrgKind::from_code),
        scope_path: TreePath::parse(&path)
            .ok_or_else(|| StoreError::Corrupt(format!("firm scope path {path}")))?,
        form: r.try_get("form")?,
        lawyer_count: r.try_get("lawyer_count")?,
    })
}

pub async fn get(conn: &mut AnyConnection, id: FirmId) -> StoreResult<Option<Firm>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE f.id = ").int(id.0);
    match sql.query().fetch_optional(&mut *conn).await? {
        Some(r) => Ok(Some(from_row(&r)?)),
        None => Ok(None),
    }
}

#[derive(Debug, Clone, Default)]
pub struct FirmFilter {
    pub name: Option<String>,
    pub coverage: Option<Coverage>,
    /// Only the firms covered by this organisation.
    pub org: Option<OrgId>,
    pub sort: FirmSort,
    pub page: i64,
    pub per_page: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FirmSort {
    #[default]
    Name,
    Region,
    LawyersDesc,
}

pub async fn list(
    conn: &mut AnyConnection,
    scope: &Scope,
    f: &FirmFilter,
) -> StoreResult<Page<Firm>> {
    let path = match scope {
        Scope::Subtree(p) => p,
        Scope::OwnRecord(_) => return Ok(Page::from_rows(Vec::new(), 1, f.per_page)),
    };
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE 1 = 1");
    push_path_scope(&mut sql, "f.scope_path", path);
    if let Some(name) = f.name.as_deref().filter(|n| !n.is_empty()) {
        sql.push(" AND f.name LIKE ")
            .text(format!("%{}%", like_escape(name)))
            .push(" ESCAPE '\\'");
    }
    match f.coverage {
        Some(Coverage::None) => {
            sql.push(" AND f.org_id IS NULL");
        }
        Some(Coverage::Joint) => {
            sql.push(" AND o.kind = ").text(OrgKind::JointBranch.code());
        }
        Some(Coverage::Own) => {
            sql.push(" AND f.org_id IS NOT NULL AND o.kind <> ")
                .text(OrgKind::JointBranch.code());
        }
        None => {}
    }
    if let Some(org) = f.org {
        sql.push(" AND f.org_id = ").int(org.0);
    }
    sql.push(match f.sort {
        FirmSort::Name => " ORDER BY f.name, f.id",
        FirmSort::Region => " ORDER BY f.region_code, f.name, f.id",
        FirmSort::LawyersDesc => " ORDER BY f.lawyer_count DESC, f.id",
    });
    sql.push(" LIMIT ")
        .int(f.per_page + 1)
        .push(" OFFSET ")
        .int((f.page - 1) * f.per_page);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let items = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, f.page, f.per_page))
}
