//! Invariants of the stored data, checked by `dengji check`: each is a query counting the rows
//! that break it, so the check scales to the national database.

use sqlx::{AnyConnection, Row};

use super::StoreResult;

/// One invariant: a description and the SQL counting its violations (`AS n`).
pub struct Invariant {
    pub name: &'static str,
    pub sql: &'static str,
}

pub const INVARIANTS: &[Invariant] = &[
    Invariant {
        name: "根节点的路径应为 /id/，深度为0",
        sql: "SELECT COUNT(*) AS n FROM orgs WHERE parent_id IS NULL \
              AND (path <> '/' || CAST(id AS TEXT) || '/' OR depth <> 0)",
    },
    Invariant {
        name: "组织路径应为上级路径加本级编号",
        sql: "SELECT COUNT(*) AS n FROM orgs c JOIN orgs p ON p.id = c.parent_id \
              WHERE c.path <> p.path || CAST(c.id AS TEXT) || '/' OR c.depth <> p.depth + 1",
    },
    Invariant {
        name: "组织层级应与深度一致（全国0、省级1、地市级2、律所3）",
        sql: "SELECT COUNT(*) AS n FROM orgs WHERE NOT ( \
              (level = 'national' AND depth = 0) OR (level = 'province' AND depth = 1) OR \
              (level = 'city' AND depth = 2) OR (level = 'firm' AND depth = 3))",
    },
    Invariant {
        name: "组织类别应与层级相符",
        sql: "SELECT COUNT(*) AS n FROM orgs WHERE NOT ( \
              (level IN ('national', 'province') AND kind = 'industry_committee') OR \
              (level = 'city' AND kind IN ('industry_committee', 'judicial_org')) OR \
              (level = 'firm' AND kind IN ('committee', 'general_branch', 'branch', 'joint_branch')))",
    },
    Invariant {
        name: "只能有一个全国节点",
        sql: "SELECT CASE WHEN COUNT(*) > 1 THEN COUNT(*) ELSE 0 END AS n FROM orgs \
              WHERE parent_id IS NULL",
    },
    Invariant {
        name: "律所所属地市级节点应为地市级",
        sql: "SELECT COUNT(*) AS n FROM firms f JOIN orgs c ON c.id = f.city_org_id \
              WHERE c.level <> 'city'",
    },
    Invariant {
        name: "覆盖律所的党组织应为该地市级节点下的律所党组织",
        sql: "SELECT COUNT(*) AS n FROM firms f JOIN orgs o ON o.id = f.org_id \
              WHERE o.level <> 'firm' OR o.parent_id <> f.city_org_id",
    },
    Invariant {
        name: "律所范围路径应为其党组织（无党组织时为地市级节点）的路径",
        sql: "SELECT COUNT(*) AS n FROM firms f JOIN orgs o \
              ON o.id = COALESCE(f.org_id, f.city_org_id) WHERE f.scope_path <> o.path",
    },
    Invariant {
        name: "党员的组织路径应与其所在党组织一致",
        sql: "SELECT COUNT(*) AS n FROM members m JOIN orgs o ON o.id = m.org_id \
              WHERE m.org_path <> o.path",
    },
    Invariant {
        name: "党员所在党组织应为其律所的党组织或律所所属地市级节点",
        sql: "SELECT COUNT(*) AS n FROM members m JOIN firms f ON f.id = m.firm_id \
              WHERE m.org_id <> f.city_org_id AND (f.org_id IS NULL OR m.org_id <> f.org_id)",
    },
    Invariant {
        name: "党员本人账号应关联一名党员，且该党员在账号节点之下",
        sql: "SELECT COUNT(*) AS n FROM users u JOIN orgs o ON o.id = u.org_id \
              LEFT JOIN members m ON m.id = u.member_id \
              WHERE u.role = 'member' AND (m.id IS NULL OR NOT \
              (m.org_path >= o.path AND m.org_path < SUBSTR(o.path, 1, LENGTH(o.path) - 1) || '0'))",
    },
    Invariant {
        name: "正式党员应有转正日期，预备党员不应有",
        sql: "SELECT COUNT(*) AS n FROM members WHERE \
              (party_status = 'full' AND full_member_on IS NULL) OR \
              (party_status = 'probationary' AND full_member_on IS NOT NULL)",
    },
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub name: &'static str,
    pub violations: i64,
}

/// Run every invariant; returns one finding per invariant.
pub async fn run(conn: &mut AnyConnection) -> StoreResult<Vec<Finding>> {
    let mut out = Vec::with_capacity(INVARIANTS.len());
    for inv in INVARIANTS {
        let n: i64 = sqlx::query(inv.sql)
            .fetch_one(&mut *conn)
            .await?
            .try_get("n")?;
        out.push(Finding {
            name: inv.name,
            violations: n,
        });
    }
    Ok(out)
}

/// Row counts of the main tables, for the report.
pub async fn table_counts(conn: &mut AnyConnection) -> StoreResult<Vec<(&'static str, i64)>> {
    let mut out = Vec::new();
    for (label, sql) in [
        ("行政区划", "SELECT COUNT(*) AS n FROM divisions"),
        ("组织", "SELECT COUNT(*) AS n FROM orgs"),
        ("律所", "SELECT COUNT(*) AS n FROM firms"),
        ("党员", "SELECT COUNT(*) AS n FROM members"),
        ("账号", "SELECT COUNT(*) AS n FROM users"),
        ("审计事件", "SELECT COUNT(*) AS n FROM audit_events"),
    ] {
        let n: i64 = sqlx::query(sql).fetch_one(&mut *conn).await?.try_get("n")?;
        out.push((label, n));
    }
    Ok(out)
}
