//! 附件3 for every organisation: filled by the node itself, with member counts derived from
//! the records shown beside the reported number, and the organisation rules of the party
//! (forms.md §5.1) as warnings.

use std::collections::BTreeMap;

use super::{Caller, ServiceError, ServiceResult};
use crate::authz::Action;
use crate::domain::{OrgId, OrgKind};
use crate::forms::rules::parse_date;
use crate::forms::{Catalogue, Finding, Form, Severity, validate};
use crate::store::StoreError;
use crate::store::audit::{self, NewEvent};
use crate::store::org_registrations;
use crate::store::orgs::Org;

// The read types this area returns, re-exported: callers (web, cli) name them here, not in
// the store.
pub use crate::store::org_registrations::MemberCounts;

#[derive(Debug, Clone)]
pub struct OrgRegistrationView {
    pub org: Org,
    pub form: &'static Form,
    pub campaign_name: String,
    /// The date the time rules are judged at (the campaign's).
    pub judged_at: time::Date,
    pub values: BTreeMap<String, String>,
    pub version: i64,
    pub findings: Vec<Finding>,
    pub derived: MemberCounts,
    /// Firms covered directly, with their full members here.
    pub covered_firms: Vec<(String, i64)>,
    pub editable: bool,
    /// The node's package is with its parent: the form is read-only.
    pub lock: Option<super::package::Lock>,
}

fn warn(rule: &'static str, field: &str, message: String) -> Finding {
    Finding {
        rule,
        severity: Severity::Warning,
        field: field.to_owned(),
        message,
    }
}

/// The party's organisation rules, checked against the derived counts (and, while no member
/// of the organisation is on record yet, against the numbers the form reports).
pub fn org_rules(
    kind: OrgKind,
    values: &BTreeMap<String, String>,
    derived: &MemberCounts,
    covered: &[(String, i64)],
    today: time::Date,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let get = |k: &str| values.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let number = |k: &str| get(k).and_then(|v| v.parse::<i64>().ok());
    let branch_like = matches!(kind, OrgKind::Branch | OrgKind::JointBranch);
    let on_record = derived.total > 0;
    if let Some(reported) = number("reported_total")
        && on_record
        && reported != derived.total
    {
        out.push(warn(
            "ORG-COUNT-MISMATCH",
            "reported_total",
            format!(
                "党员总数（填报）：填报 {reported} 人，党员登记记录为 {} 人，请核对",
                derived.total
            ),
        ));
    }
    if let Some(full) = number("reported_full") {
        if number("reported_total").is_some_and(|total| full > total) {
            out.push(Finding {
                rule: "ORG-FULL-OVER-TOTAL",
                severity: Severity::Error,
                field: "reported_full".into(),
                message: format!("正式党员数（填报）：{full} 人，多于党员总数（填报）"),
            });
        } else if on_record && full != derived.full {
            out.push(warn(
                "ORG-COUNT-MISMATCH",
                "reported_full",
                format!(
                    "正式党员数（填报）：填报 {full} 人，党员登记记录为 {} 人，请核对",
                    derived.full
                ),
            ));
        }
    }
    // The party's rules count members whose 组织关系 is here; both numbers when they differ.
    // Before any member is on record (a roster just imported), the reported number counts.
    let counted = if on_record {
        (derived.full_here >= 7).then(|| {
            if derived.full_here == derived.full {
                format!("正式党员 {} 人", derived.full)
            } else {
                format!(
                    "组织关系在本组织的正式党员 {} 人（登记在本组织的正式党员 {} 人）",
                    derived.full_here, derived.full
                )
            }
        })
    } else {
        number("reported_full")
            .filter(|n| *n >= 7)
            .map(|n| format!("填报正式党员 {n} 人"))
    };
    if branch_like
        && get("has_committee") == Some("0")
        && let Some(counted) = counted
    {
        out.push(warn(
            "ORG-NEEDS-COMMITTEE",
            "has_committee",
            format!("是否设支部委员会：{counted}（7人以上），应设立支部委员会"),
        ));
    }
    if branch_like && derived.total > 50 {
        out.push(warn(
            "ORG-BRANCH-TOO-BIG",
            "org_kind",
            format!(
                "组织类别：党支部党员 {} 人，超过50人，应考虑设立党总支或拆分",
                derived.total
            ),
        ));
    }
    if kind == OrgKind::JointBranch && covered.len() > 5 {
        out.push(warn(
            "ORG-JOINT-TOO-MANY",
            "formation",
            format!(
                "组建方式：联合党支部覆盖 {} 家律所，一般不超过5家",
                covered.len()
            ),
        ));
    }
    if matches!(
        kind,
        OrgKind::JointBranch | OrgKind::IndustryCommittee | OrgKind::JudicialOrg
    ) {
        for (firm, full) in covered.iter().filter(|(_, n)| *n >= 3) {
            out.push(warn(
                "ORG-NEEDS-OWN",
                "org_kind",
                format!(
                    "{firm}：有正式党员 {full} 人（组织关系在本所，3人以上），应单独建立党组织"
                ),
            ));
        }
    }
    if let Some(end) = get("term_end").and_then(parse_date) {
        if end < today {
            out.push(warn(
                "ORG-TERM-ENDED",
                "term_end",
                format!("本届任期届满日期：已于 {end} 届满，应按期换届"),
            ));
        }
        if let Some(start) = get("term_start").and_then(parse_date)
            && end <= start
        {
            out.push(Finding {
                rule: "ORG-TERM-ORDER",
                severity: Severity::Error,
                field: "term_end".into(),
                message: "本届任期届满日期：应晚于任期起始日期".into(),
            });
        }
    }
    out
}

pub(crate) fn prefill(org: &Org) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    v.insert("org_full_name".into(), org.name.clone());
    v.insert("org_kind".into(), org.kind.code().to_owned());
    v.insert(
        "formation".into(),
        if org.kind == OrgKind::JointBranch {
            "joint"
        } else {
            "single"
        }
        .to_owned(),
    );
    if let Some(r) = &org.region_code {
        v.insert("org_region".into(), r.clone());
    }
    if let Some(s) = &org.secretary_name {
        v.insert("secretary_name".into(), s.clone());
    }
    if let Some(d) = &org.formed_on {
        v.insert("formed_on".into(), d.clone());
    }
    if let Some(p) = &org.contact_phone {
        v.insert("contact_phone".into(), p.clone());
    }
    v
}

super::area!(OrgRegistrationService);

impl OrgRegistrationService<'_> {
    pub async fn view(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
    ) -> ServiceResult<OrgRegistrationView> {
        let mut conn = self.db.acquire().await?;
        let org = super::readable_org(&mut conn, caller, org_id).await?;
        let campaign = super::current_campaign_of(&mut conn).await?;
        let reg = org_registrations::get(&mut conn, campaign.id, org.id).await?;
        let values = match &reg {
            Some(r) => serde_json::from_str(&r.data).unwrap_or_default(),
            None => {
                let mut v = prefill(&org);
                // 批准成立的上级党组织: the node above, by default.
                if let Some(parent) = match org.parent_id {
                    Some(id) => crate::store::orgs::get(&mut conn, id).await?,
                    None => None,
                } {
                    v.insert("approved_by".into(), parent.name);
                }
                v
            }
        };
        let derived = org_registrations::member_counts(&mut conn, campaign.id, &org.path).await?;
        let covered = org_registrations::covered_firms(&mut conn, campaign.id, org.id).await?;
        let catalogue = Catalogue::get();
        let form = catalogue.form("A3").ok_or(ServiceError::NotFound)?;
        let today = super::rules_date(Some(&campaign));
        let mut findings = validate(catalogue, form, &values, today);
        findings.extend(org_rules(org.kind, &values, &derived, &covered, today));
        findings.sort_by_key(|f| f.severity);
        let lock = super::package::lock_of(&mut conn, campaign.id, &org).await?;
        Ok(OrgRegistrationView {
            editable: lock.is_none()
                && campaign.closed_at.is_none()
                && caller
                    .require(Action::ManageMembers, Some(&org.path))
                    .is_ok(),
            lock,
            form,
            campaign_name: campaign.name,
            judged_at: today,
            values,
            version: reg.map_or(0, |r| r.version),
            findings,
            derived,
            covered_firms: covered,
            org,
        })
    }

    /// Save 附件3. Stored even with warnings; refused (nothing stored) while it has errors.
    pub async fn save(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
        values: BTreeMap<String, String>,
        version: i64,
    ) -> ServiceResult<i64> {
        caller.require(Action::ManageMembers, None)?;
        let view = self.view(caller, org_id).await?;
        caller.require(Action::ManageMembers, Some(&view.org.path))?;
        let catalogue = Catalogue::get();
        let values: BTreeMap<String, String> = values
            .into_iter()
            .filter(|(k, _)| catalogue.fields_of(view.form).any(|f| &f.code == k))
            .map(|(k, v)| (k, v.trim().to_owned()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let today = view.judged_at;
        let mut findings = validate(catalogue, view.form, &values, today);
        findings.extend(org_rules(
            view.org.kind,
            &values,
            &view.derived,
            &view.covered_firms,
            today,
        ));
        if findings.iter().any(|f| f.severity == Severity::Error) {
            findings.sort_by_key(|f| f.severity);
            return Err(ServiceError::Rejected(findings));
        }
        if version != view.version {
            return Err(super::stale_form());
        }
        let mut tx = self.db.begin().await?;
        let campaign = super::open_campaign_of(&mut tx).await?;
        super::package::ensure_unlocked(&mut tx, campaign.id, org_id).await?;
        let existing = org_registrations::get(&mut tx, campaign.id, org_id).await?;
        let by = caller.user_id();
        let data = serde_json::to_string(&values).unwrap_or_else(|_| "{}".into());
        let new_version = org_registrations::save(
            &mut tx,
            campaign.id,
            org_id,
            existing.map(|e| (e.id, version)),
            &data,
            by,
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict => super::stale_form(),
            other => other.into(),
        })?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "org_registration.save",
                target_kind: "org",
                target_id: org_id.to_string(),
                target_path: &view.org.path,
                detail: serde_json::json!({"version": new_version, "fields": values.keys().collect::<Vec<_>>()}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(new_version)
    }
}
