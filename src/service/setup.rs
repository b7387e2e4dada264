//! First start: the fixed top of the tree (全国律师行业党委 and the 32 provincial committees).

use sqlx::AnyConnection;

use super::ServiceResult;
use crate::domain::{OrgId, OrgKind, OrgLevel, TreePath};
use crate::store::audit::{self, By, NewEvent};
use crate::store::{Db, orgs};

pub const NATIONAL_NAME: &str = "全国律师行业党委";

/// The provincial-level committees: 31 provinces by GB/T 2260 code, and 新疆生产建设兵团,
/// which has its own committee but no province code.
pub fn province_committees() -> Vec<(Option<String>, String)> {
    let mut out: Vec<(Option<String>, String)> = crate::forms::divisions::shipped()
        .into_iter()
        .filter(|d| d.level == 1)
        .map(|d| {
            let short = short_province(&d.name);
            (Some(d.code), format!("{short}律师行业党委"))
        })
        .collect();
    out.push((None, "新疆生产建设兵团律师行业党委".to_owned()));
    out
}

/// `广西壮族自治区` → `广西`, `北京市` → `北京`, `河北省` → `河北`.
pub fn short_province(name: &str) -> String {
    for suffix in [
        "壮族自治区",
        "回族自治区",
        "维吾尔自治区",
        "自治区",
        "省",
        "市",
    ] {
        if let Some(s) = name.strip_suffix(suffix) {
            return s.to_owned();
        }
    }
    name.to_owned()
}

/// Create the national root and the provincial committees if the tree is empty. Returns the
/// root's id and path.
pub async fn ensure_top_of_tree(db: &Db) -> ServiceResult<(OrgId, TreePath)> {
    let mut tx = db.begin().await?;
    let existing = orgs::count_all(&mut tx).await?;
    if existing > 0 {
        let root = root(&mut tx).await?;
        tx.commit().await?;
        return Ok(root);
    }
    let (root_id, root_path) = orgs::insert(
        &mut tx,
        &orgs::NewOrg::bare(
            None,
            OrgLevel::National,
            OrgKind::IndustryCommittee,
            NATIONAL_NAME.to_owned(),
            None,
        ),
    )
    .await?;
    for (region, name) in province_committees() {
        orgs::insert(
            &mut tx,
            &orgs::NewOrg::bare(
                Some((root_id, root_path.clone())),
                OrgLevel::Province,
                OrgKind::IndustryCommittee,
                name,
                region,
            ),
        )
        .await?;
    }
    audit::append(
        &mut tx,
        By::System("初始化"),
        NewEvent {
            action: "tree.init",
            target_kind: "org",
            target_id: root_id.to_string(),
            target_path: &root_path,
            detail: serde_json::json!({"provinces": 32}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((root_id, root_path))
}

async fn root(conn: &mut AnyConnection) -> ServiceResult<(OrgId, TreePath)> {
    orgs::root(conn)
        .await?
        .map(|o| (o.id, o.path))
        .ok_or_else(|| crate::store::StoreError::Corrupt("no root node".into()).into())
}

/// The national root's id and path, read without writing (the tree is created at the first
/// start; this creates it only when it is still missing).
pub async fn root_of_tree(db: &Db) -> ServiceResult<(OrgId, TreePath)> {
    let found = {
        let mut conn = db.acquire().await?;
        orgs::root(&mut conn).await?
    };
    match found {
        Some(root) => Ok((root.id, root.path)),
        None => ensure_top_of_tree(db).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provinces() {
        let p = province_committees();
        assert_eq!(p.len(), 32);
        assert!(p.iter().any(|(_, n)| n == "广西律师行业党委"));
        assert!(p.iter().any(|(_, n)| n == "新疆律师行业党委"));
        assert!(p.iter().any(|(_, n)| n == "北京律师行业党委"));
        assert!(p.iter().any(|(c, n)| c.is_none() && n.contains("兵团")));
    }
}
