//! The demo nation put in motion: a campaign in progress, done through the same services as
//! users' work — forms filed, returned and approved, packages submitted and accepted, one
//! province nearly done, the firms' deadline just passed so some children are overdue — so a
//! first look at the cockpit and the summaries shows what the system does.

use std::collections::BTreeMap;

use super::demo::{DemoRng, DemoService};
use super::package::SubmitInput;
use super::registration::{RegistrationInput, Step};
use super::{Caller, ServiceError, ServiceResult};
use crate::domain::{MemberId, OrgId};
use crate::store::orgs::Org;

const OP: Caller<'static> = Caller::Operator;

/// What the demo's campaign holds once in motion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InMotion {
    pub submitted: u64,
    pub approved: u64,
    pub returned: u64,
    pub drafts: u64,
    pub packages_submitted: u64,
    pub packages_accepted: u64,
}

/// A member's form values the prefill does not know, filled correctly for a record judged at
/// `today` (the demo campaign's reference date): field code and value.
pub fn completion_values(today: time::Date) -> Vec<(&'static str, String)> {
    let last_life = today - time::Duration::days(20);
    vec![
        ("standing", "normal".to_owned()),
        ("holder_type", "own_firm".to_owned()),
        ("holder_region", "110101".to_owned()),
        ("in_firm", "1".to_owned()),
        ("transfer_status", "transferred".to_owned()),
        (
            "dues_paid_until",
            format!("{:04}-{:02}", today.year(), u8::from(today.month())),
        ),
        ("last_life_on", last_life.to_string()),
        ("lost_contact", "0".to_owned()),
        ("mobile_member", "0".to_owned()),
    ]
}

/// 附件3 values the prefill does not know, for an organisation named `name`.
pub fn a3_values(name: &str) -> BTreeMap<String, String> {
    [
        ("org_full_name", name),
        ("formed_on", "2015-03-01"),
        ("org_region", "110101"),
        ("secretary_name", "王强"),
        ("secretary_is_lawyer", "1"),
        ("secretary_is_head", "1"),
        ("has_committee", "1"),
        ("term_start", "2024-03-01"),
        ("term_end", "2027-03-01"),
        ("contact_name", "李明"),
        ("contact_phone", "010-12345678"),
        ("approval_no", "律党发〔2015〕12号"),
        ("approved_by", "中共测试市律师行业委员会"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The people named on a demo submission.
pub fn submit_input() -> SubmitInput {
    SubmitInput {
        secretary_name: "王强".into(),
        organiser_name: "李明".into(),
        contact_phone: "010-12345678".into(),
        missing_note: String::new(),
    }
}

/// File a member's form completely as the operator (代填, confirmed by phone): the prefill,
/// [`completion_values`] judged today, a staff member's post, and `mobile` if given. False
/// when the member is not one the campaign registers (nothing is saved then).
pub async fn file_complete(
    s: &super::Services,
    member: MemberId,
    step: Step,
    mobile: Option<&str>,
) -> ServiceResult<bool> {
    let view = s.registration().view(OP, member).await?;
    if !view.eligibility.registered {
        return Ok(false);
    }
    let mut values = view.values.clone();
    for (k, v) in completion_values(super::beijing_today()) {
        values.insert(k.to_owned(), v);
    }
    if view.member.category == "staff" {
        values.entry("staff_post".into()).or_insert("admin".into());
        values
            .entry("hired_on".into())
            .or_insert("2015-01-01".into());
    }
    if let Some(m) = mobile {
        values.insert("mobile".into(), m.into());
    }
    s.registration()
        .save(
            OP,
            member,
            RegistrationInput {
                values,
                citizen_id: String::new(),
                version: view.version,
                step,
                confirmed: false,
                proxy_method: Some("phone".into()),
                warnings_note: "已电话核实".into(),
            },
        )
        .await?;
    Ok(true)
}

/// How far one firm-level node has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    NotStarted,
    /// A few drafts.
    Drafts,
    /// Forms at every state.
    Mixed,
    /// Everything approved, not yet submitted.
    Ready,
    Submitted,
    Accepted,
}

impl DemoService<'_> {
    /// Put the demo campaign in motion (after [`DemoService::generate`]): deterministic for a
    /// seed. The demo member (`dangyuan`) keeps an untouched form to try filing.
    pub async fn set_in_motion(&self, seed: u64) -> ServiceResult<InMotion> {
        let mut rng = DemoRng::new(seed ^ 0x5eed);
        let today = super::beijing_today();
        let day = |n: i64| (today + time::Duration::days(n)).to_string();
        let (demo_member, demo_firm, demo_city, demo_province) = {
            let mut conn = self.db.acquire().await?;
            let mut org_of = async |name: &str| -> ServiceResult<crate::store::users::User> {
                crate::store::users::get_by_username(&mut conn, name)
                    .await?
                    .ok_or_else(|| ServiceError::Failed(format!("演示账号 {name} 不存在")))
            };
            let member = org_of("dangyuan").await?.member_id;
            (
                member,
                org_of("suo").await?.org_id,
                org_of("shi").await?.org_id,
                org_of("sheng").await?.org_id,
            )
        };
        let campaign_id = {
            let mut conn = self.db.acquire().await?;
            super::current_campaign_of(&mut conn).await?.id
        };
        let mut m = Motion {
            s: self,
            campaign_id,
            keep: demo_member,
            done: InMotion::default(),
        };
        let province = self.directory().org(OP, demo_province).await?.org;
        let root = province.parent_id.ok_or(ServiceError::NotFound)?;
        let (_, provinces) = self.directory().children(OP, root).await?;
        // One province nearly done: every city in and accepted but its last.
        let nearly = match provinces
            .iter()
            .find(|p| p.id != demo_province && p.child_count > 1)
        {
            Some(p) => {
                let (_, cities) = self.directory().children(OP, p.id).await?;
                let last = cities.len().saturating_sub(1);
                for (i, city) in cities.iter().enumerate() {
                    if i < last {
                        m.finish_subtree(city).await?;
                        m.accept(city.id).await?;
                    } else {
                        m.city_in_progress(city, &mut rng, None).await?;
                    }
                }
                Some(p.id)
            }
            None => None,
        };
        // The demo province: its cities at different stages, the demo city most varied.
        let (_, cities) = self.directory().children(OP, demo_province).await?;
        for city in &cities {
            if city.id == demo_city {
                m.city_in_progress(city, &mut rng, Some(demo_firm)).await?;
            } else if rng.chance(0.3) {
                m.finish_subtree(city).await?;
            } else if rng.chance(0.5) {
                m.city_in_progress(city, &mut rng, None).await?;
            }
        }
        // Elsewhere a little has begun: a few drafts in the first city of every third
        // province.
        for (i, p) in provinces.iter().enumerate() {
            if Some(p.id) == nearly || p.id == demo_province || i % 3 != 0 {
                continue;
            }
            let (_, cities) = self.directory().children(OP, p.id).await?;
            if let Some(city) = cities.first() {
                let (_, firms) = self.directory().children(OP, city.id).await?;
                if let Some(f) = firms.first() {
                    m.stage(f, Stage::Drafts, &mut rng).await?;
                }
            }
        }
        // Then the firms' deadline passed three days ago: firms not yet in are overdue.
        self.campaign()
            .set_deadlines(
                OP,
                &super::campaign::Deadlines {
                    firm: day(-3),
                    city: day(27),
                    province: day(57),
                    national: day(87),
                },
            )
            .await?;
        // The demo firm's city gave it a week more: shown as 已延期.
        self.package()
            .extend(
                OP,
                demo_firm,
                &day(7),
                "律所党组织书记外出学习，申请延期一周",
            )
            .await?;
        // Record who is overdue, as the hourly sweep does.
        self.package().sweep_deadlines().await?;
        Ok(m.done)
    }
}

/// The demo's work in progress, counted as it goes.
struct Motion<'a, 'b> {
    s: &'a DemoService<'b>,
    campaign_id: i64,
    /// The demo member, whose form stays untouched.
    keep: Option<MemberId>,
    done: InMotion,
}

impl Motion<'_, '_> {
    /// The registrable members filed at `org` itself.
    async fn members_at(&self, org: OrgId) -> ServiceResult<Vec<MemberId>> {
        let f = crate::store::members::MemberFilter {
            org: Some(org),
            page: 1,
            per_page: 100_000,
            ..Default::default()
        };
        let (page, _) = self.s.directory().members(OP, Some(org), &f).await?;
        Ok(page
            .items
            .into_iter()
            .map(|l| l.member.id)
            .filter(|id| Some(*id) != self.keep)
            .collect())
    }

    /// Fill a member's form completely; submit it, or keep it a draft. False when the member
    /// is not one the campaign registers, or the form is no longer theirs to change.
    async fn file(&mut self, member: MemberId, submit: bool) -> ServiceResult<bool> {
        if !self.s.registration().view(OP, member).await?.editable {
            return Ok(false);
        }
        let step = if submit {
            Step::Submit
        } else {
            Step::SaveDraft
        };
        let filed = file_complete(self.s, member, step, None).await?;
        if filed && submit {
            self.done.submitted += 1;
        } else if filed {
            self.done.drafts += 1;
        }
        Ok(filed)
    }

    async fn approve(&mut self, ids: &[MemberId]) -> ServiceResult<()> {
        if !ids.is_empty() {
            self.s.review().approve(OP, ids).await?;
            self.done.approved += ids.len() as u64;
        }
        Ok(())
    }

    /// Everything of a node's own approved and its 附件3 filed.
    async fn finish_own(&mut self, org: &Org) -> ServiceResult<()> {
        let mut filed = Vec::new();
        for id in self.members_at(org.id).await? {
            if self.file(id, true).await? {
                filed.push(id);
            }
        }
        self.approve(&filed).await?;
        let view = self.s.org_registration().view(OP, org.id).await?;
        let mut values = view.values.clone();
        for (k, v) in a3_values(&org.name) {
            values.entry(k).or_insert(v);
        }
        values
            .entry("reported_total".into())
            .or_insert(view.derived.total.to_string());
        self.s
            .org_registration()
            .save(OP, org.id, values, view.version)
            .await?;
        Ok(())
    }

    async fn submit(&mut self, org: OrgId) -> ServiceResult<()> {
        self.s.package().submit(OP, org, &submit_input()).await?;
        self.done.packages_submitted += 1;
        Ok(())
    }

    async fn accept(&mut self, org: OrgId) -> ServiceResult<()> {
        let v = {
            let mut conn = self.s.db.acquire().await?;
            crate::store::packages::get(&mut conn, self.campaign_id, org)
                .await?
                .ok_or(ServiceError::NotFound)?
                .version
        };
        self.s.package().accept(OP, org, v).await?;
        self.done.packages_accepted += 1;
        Ok(())
    }

    /// A whole subtree done bottom-up and the node submitted (accepting it is its parent's).
    async fn finish_subtree(&mut self, org: &Org) -> ServiceResult<()> {
        let (_, children) = self.s.directory().children(OP, org.id).await?;
        for child in &children {
            Box::pin(self.finish_subtree(child)).await?;
            self.accept(child.id).await?;
        }
        self.finish_own(org).await?;
        self.submit(org.id).await
    }

    /// A city with its firms spread over the stages; its own members half filed. `demo_firm`
    /// gets forms at every state (and some waiting for its reviewer).
    async fn city_in_progress(
        &mut self,
        city: &Org,
        rng: &mut DemoRng,
        demo_firm: Option<OrgId>,
    ) -> ServiceResult<()> {
        // In this order, so a city with few firms still has one waiting for its decision.
        const STAGES: [Stage; 6] = [
            Stage::Submitted,
            Stage::Accepted,
            Stage::NotStarted,
            Stage::Mixed,
            Stage::Ready,
            Stage::Drafts,
        ];
        let (_, firms) = self.s.directory().children(OP, city.id).await?;
        let mut next = STAGES.iter().cycle();
        for firm in &firms {
            let stage = if Some(firm.id) == demo_firm {
                Stage::Mixed
            } else {
                *next.next().unwrap_or(&Stage::NotStarted)
            };
            self.stage(firm, stage, rng).await?;
        }
        for id in self.members_at(city.id).await? {
            if rng.chance(0.5) {
                self.file(id, rng.chance(0.5)).await?;
            }
        }
        Ok(())
    }

    /// Bring one firm-level node (and anything below it) to `stage`.
    async fn stage(&mut self, firm: &Org, stage: Stage, rng: &mut DemoRng) -> ServiceResult<()> {
        match stage {
            Stage::NotStarted => {}
            Stage::Ready => {
                let (_, below) = self.s.directory().children(OP, firm.id).await?;
                for b in &below {
                    Box::pin(self.finish_subtree(b)).await?;
                    self.accept(b.id).await?;
                }
                self.finish_own(firm).await?;
            }
            Stage::Submitted => self.finish_subtree(firm).await?,
            Stage::Accepted => {
                self.finish_subtree(firm).await?;
                self.accept(firm.id).await?;
            }
            Stage::Drafts => {
                for id in self.members_at(firm.id).await?.into_iter().take(2) {
                    self.file(id, false).await?;
                }
            }
            Stage::Mixed => {
                let ids = self.members_at(firm.id).await?;
                let mut submitted = Vec::new();
                for (i, id) in ids.iter().enumerate() {
                    // Roughly: a fifth untouched, a fifth drafts, the rest submitted.
                    match i % 5 {
                        0 if i > 0 => {}
                        1 => {
                            self.file(*id, false).await?;
                        }
                        _ => {
                            if self.file(*id, true).await? {
                                submitted.push(*id);
                            }
                        }
                    }
                }
                // Half the submitted approved, one returned, the rest waiting for review.
                let half = submitted.len() / 2;
                let (approve, rest) = submitted.split_at(half);
                self.approve(approve).await?;
                if let Some(back) = rest.first() {
                    let note = *rng.pick(&[
                        "入党日期与档案记载不一致，请核对后更正",
                        "手机号码有误，请更正",
                        "党费交纳情况与支部记录不符，请核对",
                    ]);
                    self.s
                        .review()
                        .send_back(OP, *back, "incorrect", note)
                        .await?;
                    self.done.returned += 1;
                }
            }
        }
        Ok(())
    }
}
