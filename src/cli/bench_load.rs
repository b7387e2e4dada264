//! `dengji bench --load-accounts N`: accounts of every role for the load scenario
//! (`scripts/load/locustfile.py`), so its simulated users sign in as many distinct people: N
//! members, firm clerks and firm reviewers at N firm organisations, and one clerk for each of up
//! to N of their cities and provinces; created through the accounts service (audited), with one
//! password, and listed by role in a JSON file for the scenario. Run again, it creates only
//! the accounts still missing.

use std::collections::BTreeMap;
use std::path::Path;

use super::CliResult;
use crate::domain::{OrgId, Role, TreePath};
use crate::service::users::NewAccount;
use crate::service::{Caller, Services};

/// The load accounts' password (the accounts service refuses the demo's as too common).
pub const LOAD_PASSWORD: &str = "Yace-Zhanghao-2018";

pub async fn run(services: &Services, n: usize, out: &Path) -> CliResult {
    let places = {
        let mut conn = services.db.acquire().await?;
        crate::store::bulk::load_places(&mut conn, i64::try_from(n * 4).unwrap_or(i64::MAX)).await?
    };
    let mut wanted: Vec<(&str, String, Role, OrgId, Option<crate::domain::MemberId>)> = Vec::new();
    let (mut cities, mut provinces): (Vec<OrgId>, Vec<OrgId>) = (Vec::new(), Vec::new());
    for (i, (org, path, member)) in places
        .into_iter()
        .filter_map(|(o, p, m)| m.map(|m| (o, p, m)))
        .take(n)
        .enumerate()
    {
        let ids = TreePath::parse(&path).map(|p| p.ids()).unwrap_or_default();
        if let (Some(province), Some(city)) = (ids.get(1), ids.get(2)) {
            if !provinces.contains(province) {
                provinces.push(*province);
            }
            if !cities.contains(city) {
                cities.push(*city);
            }
        }
        wanted.push((
            "member",
            format!("load_dy_{i}"),
            Role::Member,
            org,
            Some(member),
        ));
        wanted.push((
            "firm_clerk",
            format!("load_suo_{i}"),
            Role::Clerk,
            org,
            None,
        ));
        wanted.push((
            "firm_reviewer",
            format!("load_shenhe_{i}"),
            Role::Reviewer,
            org,
            None,
        ));
    }
    if wanted.is_empty() {
        return Err("压力测试账号需要演示数据（dengji demo）".into());
    }
    for (i, city) in cities.iter().enumerate() {
        wanted.push((
            "city_clerk",
            format!("load_shi_{i}"),
            Role::Clerk,
            *city,
            None,
        ));
    }
    for (i, province) in provinces.iter().enumerate() {
        wanted.push((
            "province_clerk",
            format!("load_sheng_{i}"),
            Role::Clerk,
            *province,
            None,
        ));
    }
    let mut by_role: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut created = 0;
    for (role_key, username, role, org_id, member_id) in wanted {
        let exists = {
            let mut conn = services.db.acquire().await?;
            crate::store::users::get_by_username(&mut conn, &username)
                .await?
                .is_some()
        };
        if !exists {
            services
                .users()
                .create(
                    Caller::Operator,
                    NewAccount {
                        username: username.clone(),
                        display_name: "压力测试".into(),
                        password: LOAD_PASSWORD.into(),
                        role,
                        org_id,
                        member_id,
                        must_change_password: false,
                    },
                )
                .await?;
            created += 1;
        }
        by_role.entry(role_key).or_default().push(username);
    }
    let json = serde_json::json!({ "password": LOAD_PASSWORD, "accounts": by_role });
    std::fs::write(
        out,
        serde_json::to_vec_pretty(&json).map_err(|e| e.to_string())?,
    )?;
    println!(
        "压力测试账号：新建 {created} 个，共 {} 个（{}），清单已写入 {}",
        by_role.values().map(Vec::len).sum::<usize>(),
        by_role
            .iter()
            .map(|(k, v)| format!("{k} {}", v.len()))
            .collect::<Vec<_>>()
            .join("、"),
        out.display()
    );
    Ok(())
}
