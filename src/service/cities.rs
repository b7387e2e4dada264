//! The cities assistant: for a province, one city-level node per prefecture-level division
//! (per district or county of a municipality), proposed with a default name, created in one
//! go — as 律师行业党委 or, where the judicial administration stands in, 司法行政机关党组织.

use super::{Caller, Refusal, ServiceError, ServiceResult};
use crate::authz::Action;
use crate::domain::{OrgId, OrgKind, OrgLevel};
use crate::forms::divisions;
use crate::store::audit::{self, NewEvent};
use crate::store::orgs;

/// One proposed city-level node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedCity {
    pub region_code: String,
    pub region_name: String,
    /// The default name: 南京市律师行业党委.
    pub name: String,
    /// The node already on record for this region, if any (it is not proposed again).
    pub existing: Option<String>,
}

/// A city-level node to create, as the user confirmed it.
#[derive(Debug, Clone)]
pub struct NewCity {
    pub region_code: String,
    pub name: String,
    /// 司法行政机关党组织 standing in for a 律师行业党委.
    pub judicial: bool,
}

super::area!(CitiesService);

impl CitiesService<'_> {
    /// The city-level nodes a province would have, from the shipped GB/T 2260 divisions.
    pub async fn propose(
        &self,
        caller: Caller<'_>,
        province: OrgId,
    ) -> ServiceResult<(orgs::Org, Vec<ProposedCity>)> {
        let mut conn = self.db.acquire().await?;
        let org = super::managed_org(&mut conn, caller, province).await?;
        let Some(code) = org
            .region_code
            .clone()
            .filter(|_| org.level == OrgLevel::Province)
        else {
            return Err(ServiceError::Conflict(Refusal::NoProvinceRegion));
        };
        let children = orgs::children(&mut conn, org.id, 10_000).await?;
        let all = divisions::shipped();
        let proposed = divisions::city_seats(&all, &code[..2])
            .into_iter()
            .map(|d| ProposedCity {
                region_code: d.code.clone(),
                region_name: d.name.clone(),
                name: format!("{}律师行业党委", d.name),
                existing: children
                    .iter()
                    .find(|c| c.region_code.as_deref() == Some(d.code.as_str()))
                    .map(|c| c.name.clone()),
            })
            .collect();
        Ok((org, proposed))
    }

    /// Create the confirmed city-level nodes under a province in one transaction; each must
    /// be one of the province's proposals, not yet on record, with a name. Returns how many.
    pub async fn create(
        &self,
        caller: Caller<'_>,
        province: OrgId,
        cities: &[NewCity],
    ) -> ServiceResult<usize> {
        caller.require(Action::ManageMembers, None)?;
        let (org, proposed) = self.propose(caller, province).await?;
        if cities.is_empty() {
            return Err(ServiceError::invalid("地市级党组织", "请至少选择一个"));
        }
        let mut errors = Vec::new();
        for c in cities {
            let name = c.name.trim();
            match proposed.iter().find(|p| p.region_code == c.region_code) {
                None => errors.push(crate::domain::FieldError::new(
                    "行政区划",
                    format!("{} 不是{}的地市级行政区划", c.region_code, org.name),
                )),
                Some(p) if p.existing.is_some() => errors.push(crate::domain::FieldError::new(
                    "行政区划",
                    format!(
                        "{}已有地市级党组织“{}”",
                        p.region_name,
                        p.existing.as_deref().unwrap_or_default()
                    ),
                )),
                Some(p) if name.is_empty() || name.chars().count() > 60 => {
                    errors.push(crate::domain::FieldError::new(
                        "名称",
                        format!("{}：请填写名称（不超过60字）", p.region_name),
                    ));
                }
                Some(_) => {}
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let mut tx = self.db.begin().await?;
        for c in cities {
            orgs::insert(
                &mut tx,
                &orgs::NewOrg::bare(
                    Some((org.id, org.path.clone())),
                    OrgLevel::City,
                    if c.judicial {
                        OrgKind::JudicialOrg
                    } else {
                        OrgKind::IndustryCommittee
                    },
                    c.name.trim().to_owned(),
                    Some(c.region_code.clone()),
                ),
            )
            .await?;
        }
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "tree.cities",
                target_kind: "org",
                target_id: org.id.to_string(),
                target_path: &org.path,
                detail: serde_json::json!({
                    "created": cities.iter().map(|c| serde_json::json!({
                        "region": c.region_code, "name": c.name.trim(), "judicial": c.judicial,
                    })).collect::<Vec<_>>(),
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(cities.len())
    }
}
