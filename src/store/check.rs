//! Invariants of the stored data, checked by `dengji check`: each is a query counting the rows
//! that break it, so the check scales to the national database.

use sqlx::{AnyConnection, Row};

use super::StoreResult;
use super::tallies::grams_of;

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
    Invariant {
        name: "已撤销的党组织不应再有党员、律所或下级组织",
        sql: "SELECT COUNT(*) AS n FROM orgs o WHERE o.dissolved_on IS NOT NULL AND ( \
              EXISTS (SELECT 1 FROM members m WHERE m.org_id = o.id) OR \
              EXISTS (SELECT 1 FROM firms f WHERE f.org_id = o.id) OR \
              EXISTS (SELECT 1 FROM orgs c WHERE c.parent_id = o.id AND c.dissolved_on IS NULL))",
    },
    Invariant {
        name: "变更记录的组织路径应与其登记组织一致",
        sql: "SELECT COUNT(*) AS n FROM changes c JOIN orgs o ON o.id = c.org_id \
              WHERE c.org_path <> o.path",
    },
    Invariant {
        name: "已被全国接收的省级变更，其中的变更记录都应为正式",
        sql: "SELECT COUNT(*) AS n FROM changes c JOIN change_sets s ON s.period = c.period \
              AND s.state = 'accepted' JOIN orgs p ON p.id = s.org_id AND p.depth = 1 \
              WHERE c.state = 'pending' AND c.org_path >= p.path \
              AND c.org_path < p.path || '~'",
    },
    Invariant {
        name: "每个党组织都应有统计计数行",
        sql: "SELECT COUNT(*) AS n FROM orgs o WHERE NOT EXISTS \
              (SELECT 1 FROM org_tallies t WHERE t.org_id = o.id)",
    },
    Invariant {
        name: "律所党员人数计数应与党员记录一致",
        sql: "SELECT COUNT(*) AS n FROM firms f \
              WHERE f.member_count <> (SELECT COUNT(*) FROM members m WHERE m.firm_id = f.id)",
    },
    Invariant {
        name: "各党组织党员统计计数应与党员记录一致",
        sql: "SELECT COUNT(*) AS n FROM org_tallies t LEFT JOIN \
              (SELECT org_id, COUNT(CASE WHEN category = 'lawyer' THEN 1 END) AS l, \
                      COUNT(CASE WHEN category = 'staff' THEN 1 END) AS s, \
                      COUNT(CASE WHEN party_status = 'full' THEN 1 END) AS f, \
                      COUNT(CASE WHEN party_status = 'probationary' THEN 1 END) AS p \
               FROM members WHERE stopped_on IS NULL GROUP BY org_id) m ON m.org_id = t.org_id \
              WHERE t.lawyers <> COALESCE(m.l, 0) OR t.staff <> COALESCE(m.s, 0) \
                 OR t.full_members <> COALESCE(m.f, 0) OR t.probationary <> COALESCE(m.p, 0)",
    },
    Invariant {
        name: "各党组织律所统计计数应与律所记录一致",
        sql: "SELECT COUNT(*) AS n FROM org_tallies t LEFT JOIN \
              (SELECT COALESCE(f.org_id, f.city_org_id) AS org_id, COUNT(*) AS n, \
                      COUNT(CASE WHEN f.member_count > 0 THEN 1 END) AS w, \
                      COUNT(CASE WHEN o.kind = 'joint_branch' THEN 1 END) AS j, \
                      COUNT(CASE WHEN o.kind <> 'joint_branch' THEN 1 END) AS own \
               FROM firms f LEFT JOIN orgs o ON o.id = f.org_id \
               GROUP BY COALESCE(f.org_id, f.city_org_id)) x ON x.org_id = t.org_id \
              WHERE t.firms <> COALESCE(x.n, 0) OR t.firms_with_members <> COALESCE(x.w, 0) \
                 OR t.firms_joint <> COALESCE(x.j, 0) OR t.firms_own <> COALESCE(x.own, 0)",
    },
    Invariant {
        name: "各党组织登记表状态统计应与登记表一致",
        sql: "SELECT COUNT(*) AS n FROM \
              (SELECT m.org_id, r.campaign_id, \
                      COUNT(CASE WHEN r.state = 'draft' THEN 1 END) AS d, \
                      COUNT(CASE WHEN r.state = 'submitted' THEN 1 END) AS s, \
                      COUNT(CASE WHEN r.state = 'returned' THEN 1 END) AS r, \
                      COUNT(CASE WHEN r.state = 'approved' THEN 1 END) AS a \
               FROM registrations r JOIN members m ON m.id = r.member_id \
               GROUP BY m.org_id, r.campaign_id) x \
              LEFT JOIN campaign_tallies t ON t.org_id = x.org_id AND t.campaign_id = x.campaign_id \
              WHERE COALESCE(t.drafts, -1) <> x.d OR COALESCE(t.submitted, -1) <> x.s \
                 OR COALESCE(t.returned, -1) <> x.r OR COALESCE(t.approved, -1) <> x.a",
    },
    Invariant {
        name: "已审核通过的登记表应带有最近一次审核通过时的内容摘要",
        sql: "SELECT COUNT(*) AS n FROM registrations r WHERE r.state = 'approved' \
              AND EXISTS (SELECT 1 FROM registration_reviews v WHERE v.registration_id = r.id \
                          AND v.decision = 'approve') \
              AND COALESCE(r.approved_digest, '') <> (SELECT v.digest FROM registration_reviews v \
                  WHERE v.registration_id = r.id AND v.decision = 'approve' \
                  ORDER BY v.id DESC LIMIT 1)",
    },
    Invariant {
        name: "抽查记录的党员、分层应与其登记表相符",
        sql: "SELECT COUNT(*) AS n FROM sample_items i \
              JOIN registrations r ON r.id = i.registration_id \
              JOIN samples s ON s.id = i.sample_id \
              LEFT JOIN orgs t ON t.id = i.stratum_org_id \
              WHERE r.member_id <> i.member_id OR t.id IS NULL \
                 OR NOT (i.org_path >= t.path AND i.org_path < t.path || '~') \
                 OR NOT (i.org_path >= s.org_path AND i.org_path < s.org_path || '~')",
    },
    Invariant {
        name: "姓名检索索引应包含每名党员姓名的每个字和相邻两字",
        sql: concat!(
            "SELECT COUNT(*) AS n FROM (",
            grams_of!("WHERE 1 = 1"),
            ") e WHERE NOT EXISTS (SELECT 1 FROM member_grams g WHERE g.gram = e.gram \
             AND g.name = e.name AND g.member_id = e.id AND g.org_path = e.org_path)"
        ),
    },
    Invariant {
        name: "姓名检索索引不应有多余的行",
        // Every expected row is present (above), so equal counts mean no row more.
        sql: concat!(
            "SELECT ABS((SELECT COUNT(*) FROM member_grams) - (SELECT COUNT(*) FROM (",
            grams_of!("WHERE 1 = 1"),
            ") e)) AS n"
        ),
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
    let backend = super::sql::backend_of(conn);
    out.push(Finding {
        name: "研判构成统计计数应与党员记录一致（按本次登记核查的统计截止日）",
        violations: super::analysis::composition_violations(conn, backend).await?,
    });
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
