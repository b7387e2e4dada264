//! The campaign's work done as the operator through the services — filing forms, approving,
//! filing 附件3, submitting and accepting whole subtrees, transferring a member — and the
//! values such work types in.

use dengji::domain::{FirmId, MemberId, OrgId};
use dengji::service::Caller;
use dengji::service::package::SubmitInput;
use dengji::service::registration::Step;

use super::{TestApp, demo_places};

const OP: Caller<'static> = Caller::Operator;

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>>;

pub use dengji::service::demo_motion::a3_values;

/// The people named on a submission.
pub fn input() -> SubmitInput {
    dengji::service::demo_motion::submit_input()
}

/// Everything the prefill does not know, correctly filled (as posted: `f_` field names).
pub fn completion() -> Vec<(String, String)> {
    dengji::service::demo_motion::completion_values(dengji::service::beijing_today())
        .into_iter()
        .map(|(k, v)| (format!("f_{k}"), v))
        .collect()
}

/// The form's current inputs (prefilled values), as posted back.
pub fn inputs_of(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for part in html.split("name=\"f_").skip(1) {
        let name = part.split('"').next().unwrap_or_default().to_owned();
        let value = part
            .split("value=\"")
            .nth(1)
            .and_then(|v| v.split('"').next())
            .filter(|_| part.find("value=\"") < part.find('>'))
            .unwrap_or_default()
            .to_owned();
        out.push((format!("f_{name}"), value));
    }
    // Selected options of selects.
    for part in html.split("<select id=\"f-").skip(1) {
        let name = part.split('"').next().unwrap_or_default();
        let end = part.find("</select>").unwrap_or(part.len());
        if let Some(sel) = part[..end]
            .split("<option value=\"")
            .find(|o| o.contains("\" selected>"))
        {
            let value = sel.split('"').next().unwrap_or_default();
            out.retain(|(k, _)| k != &format!("f_{name}"));
            out.push((format!("f_{name}"), value.to_owned()));
        }
    }
    out
}

pub fn member_form(org: i64, firm: i64, id: &str) -> Vec<(String, String)> {
    [
        ("org", org.to_string()),
        ("name", "林新".to_owned()),
        ("citizen_id", id.to_owned()),
        ("category", "lawyer".to_owned()),
        ("firm", firm.to_string()),
        ("mobile", "13912345678".to_owned()),
        ("ethnicity", "01".to_owned()),
        ("education", "21".to_owned()),
        ("party_status", "full".to_owned()),
        ("joined_on", "2000-07-01".to_owned()),
        ("full_member_on", "2001-07-01".to_owned()),
        ("licence_no", "11101200511999001".to_owned()),
        ("practice_type", "1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

impl TestApp {
    /// Transfer a member to `to` (组织关系转接), started and accepted by the operator.
    pub async fn transfer(&self, member: MemberId, to: FirmId) {
        let t = self
            .services
            .transfer()
            .start(
                OP,
                member,
                &dengji::service::transfer::TransferInput {
                    to_firm: Some(to),
                    reason: "调入该所执业".into(),
                    effective_on: String::new(),
                },
            )
            .await
            .unwrap();
        self.services.transfer().accept(OP, t, "").await.unwrap();
    }

    /// File the node's 附件3 (prefilled values completed).
    pub async fn file_a3(&self, org: OrgId) {
        let view = self
            .services
            .org_registration()
            .view(OP, org)
            .await
            .unwrap();
        let mut values = view.values.clone();
        for (k, v) in a3_values(&view.org.name) {
            values.entry(k).or_insert(v);
        }
        values
            .entry("reported_total".into())
            .or_insert(view.derived.total.to_string());
        self.services
            .org_registration()
            .save(OP, org, values, view.version)
            .await
            .unwrap_or_else(|e| panic!("a3 of {}: {e:?}", view.org.name));
    }

    /// File (and submit) a member's form as the operator; false when the member is not to be
    /// registered (the form refuses submission).
    pub async fn file_member(&self, member: MemberId, mobile: Option<&str>) -> bool {
        dengji::service::demo_motion::file_complete(&self.services, member, Step::Submit, mobile)
            .await
            .unwrap_or_else(|e| panic!("member {member:?}: {e:?}"))
    }

    /// File, approve and submit everything of a node's own (members and 附件3), as the operator.
    pub async fn finish_own(&self, org: OrgId) {
        let mut filed = Vec::new();
        for m in self.members_of(org).await {
            if self.file_member(m, None).await {
                filed.push(m);
            }
        }
        if !filed.is_empty() {
            self.services.review().approve(OP, &filed).await.unwrap();
        }
        self.file_a3(org).await;
    }

    /// Submit a node's package as the operator.
    pub async fn submit_package(&self, org: OrgId) {
        self.services
            .package()
            .submit(OP, org, &input())
            .await
            .unwrap_or_else(|e| panic!("submit {org:?}: {e:?}"));
    }

    pub async fn package_version(&self, org: OrgId) -> i64 {
        self.package(org).await.expect("package").version
    }

    /// Complete a whole subtree bottom-up as the operator: every child finished and accepted,
    /// then the node's own work, then its submission (not accepted: that is the parent's act).
    pub fn finish_subtree(&self, org: OrgId) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            for child in self.children_of(org).await {
                self.finish_subtree(child).await;
                let v = self.package_version(child).await;
                self.services.package().accept(OP, child, v).await.unwrap();
            }
            self.finish_own(org).await;
            self.services
                .package()
                .submit(OP, org, &input())
                .await
                .unwrap_or_else(|e| panic!("submit {org:?}: {e:?}"));
        })
    }

    /// The demo firm with every form approved and its 附件3 filed, ready to submit.
    pub async fn ready_firm(&self) -> (OrgId, Vec<MemberId>) {
        let p = demo_places(self).await;
        let mut filed = Vec::new();
        for m in self.members_of(p.firm_org).await {
            if self.file_member(m, None).await {
                filed.push(m);
            }
        }
        self.services.review().approve(OP, &filed).await.unwrap();
        self.file_a3(p.firm_org).await;
        (p.firm_org, filed)
    }
}
