//! 本人填报: a member (or a clerk on their behalf) fills 附件1/附件2, saves drafts, confirms
//! and submits. Submission is refused while the form has errors; warnings need a short note.

use std::collections::BTreeMap;

use super::{Caller, Refusal, ServiceError, ServiceResult, beijing_today};
use crate::authz::Action;
use crate::domain::eligibility::{self, Eligibility, Facts};
use crate::domain::{
    CitizenId, FieldError, MemberId, NoticeKind, RegistrationMove, RegistrationState, Role,
};
use crate::forms::{Catalogue, Finding, Form, Severity, validate};
use crate::store::audit::{self, NewEvent};
use crate::store::members::Member;
use crate::store::registrations::{self, Registration, Write};
use crate::store::{StoreError, campaigns, members};

/// Ways a member may confirm a form a clerk filled for them (2017 practice).
pub const PROXY_METHODS: [(&str, &str); 4] = [
    ("phone", "电话"),
    ("sms", "短信"),
    ("wechat", "微信"),
    ("paper", "纸质签字"),
];

/// Where a member's form is: the link of its notices.
pub fn form_link(member: MemberId) -> String {
    format!("/members/{}/registration", member.0)
}

/// What the form page shows.
#[derive(Debug, Clone)]
pub struct RegistrationView {
    pub member: Member,
    pub form: &'static Form,
    pub campaign_name: String,
    /// The date the time rules are judged at (the campaign's, never the clock).
    pub judged_at: time::Date,
    pub values: BTreeMap<String, String>,
    /// The ID number as shown (masked): a corrected one typed into the form, else the record's.
    pub citizen_id_masked: String,
    pub state: RegistrationState,
    /// 0 when nothing has been saved yet.
    pub version: i64,
    pub return_reason: Option<String>,
    pub proxy_method: Option<String>,
    pub warnings_note: String,
    pub findings: Vec<Finding>,
    pub eligibility: Eligibility,
    pub editable: bool,
    /// The form was approved once: its name and ID number change only through a
    /// four-eyes request (双人复核).
    pub identity_locked: bool,
    /// The member's organisation has handed in: the form is read-only.
    pub lock: Option<super::package::Lock>,
    /// The form approved in an earlier campaign (its name), this one started from it, and
    /// what differs from it now.
    pub previous: Option<(String, Vec<super::review::Change>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    SaveDraft,
    Submit,
}

/// What the form posts.
#[derive(Debug, Clone)]
pub struct RegistrationInput {
    pub values: BTreeMap<String, String>,
    /// A corrected ID number; empty keeps the one on record.
    pub citizen_id: String,
    pub version: i64,
    pub step: Step,
    /// 本人确认 (the member ticks it).
    pub confirmed: bool,
    /// How the member confirmed, when a clerk files for them.
    pub proxy_method: Option<String>,
    pub warnings_note: String,
}

/// The values a first draft starts from: what the record already knows.
fn prefill(m: &Member) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    let mut put = |k: &str, val: Option<&str>| {
        if let Some(val) = val {
            v.insert(k.to_owned(), val.to_owned());
        }
    };
    put("name", Some(&m.name));
    put("sex", Some(&m.sex));
    put("ethnicity", Some(&m.ethnicity));
    put("birth_date", Some(&m.birth_date));
    put("education", Some(&m.education));
    put("mobile", Some(&m.mobile));
    put("party_status", Some(&m.party_status));
    put("joined_on", Some(&m.joined_on));
    put("full_member_on", m.full_member_on.as_deref());
    put("licence_no", m.licence_no.as_deref());
    put("practice_type", m.practice_type.as_deref());
    // From the tree: the organisation the member is registered in holds their relationship,
    // collects their dues and runs their 组织生活 — until they say otherwise.
    for field in TREE_FIELDS {
        put(field, Some(&m.org_name));
    }
    v
}

/// The fields a form takes from the tree: the organisation the member is registered in.
const TREE_FIELDS: [&str; 3] = ["holder_name", "dues_org", "life_org"];

/// The member's 分类处理: the case the survey recorded and, once closed, how it ended.
#[derive(Debug, Clone, Default)]
pub(super) struct CaseFacts {
    pub category: Option<String>,
    pub outcome: Option<crate::domain::CaseOutcome>,
}

/// Eligibility from the form's values and the member's 分类处理.
fn eligibility_of(
    form: &Form,
    values: &BTreeMap<String, String>,
    case: &CaseFacts,
    cutoff: time::Date,
) -> Eligibility {
    let get = |k: &str| values.get(k).map(String::as_str).filter(|v| !v.is_empty());
    eligibility::decide(
        Facts {
            category: &form.category,
            practice_type: get("practice_type"),
            staff_post: get("staff_post"),
            started_on: get("hired_on").and_then(crate::forms::rules::parse_date),
            case: case.category.as_deref(),
            outcome: case.outcome,
        },
        cutoff,
    )
}

fn finding(rule: &'static str, field: &str, message: impl Into<String>) -> Finding {
    Finding {
        rule,
        severity: Severity::Error,
        field: field.to_owned(),
        message: message.into(),
    }
}

/// A member's form, and its values as saved (or prefilled from the record when nothing is
/// saved yet); never the ID number.
pub(super) fn form_and_values(
    member: &Member,
    reg: Option<&Registration>,
    previous: Option<&str>,
) -> ServiceResult<(&'static Form, BTreeMap<String, String>)> {
    let form = Catalogue::get()
        .form_for_category(&member.category)
        .ok_or_else(|| {
            ServiceError::Failed(format!("人员类别 {} 没有对应的登记表", member.category))
        })?;
    let values = match reg {
        // A draft (an imported one, say) still takes the tree's names where it has none.
        Some(r) if r.state == RegistrationState::Draft => {
            let mut v: BTreeMap<String, String> = serde_json::from_str(&r.data).unwrap_or_default();
            for (k, known) in prefill(member) {
                if TREE_FIELDS.contains(&k.as_str()) && v.get(&k).is_none_or(|x| x.is_empty()) {
                    v.insert(k, known);
                }
            }
            v
        }
        Some(r) => serde_json::from_str(&r.data).unwrap_or_default(),
        // A later campaign starts from the form approved last time; what the record knows now
        // (a transfer, a corrected name) wins over it.
        None => match previous {
            Some(data) => {
                let mut v: BTreeMap<String, String> =
                    serde_json::from_str(data).unwrap_or_default();
                v.extend(prefill(member));
                v
            }
            None => prefill(member),
        },
    };
    Ok((form, values))
}

super::area!(RegistrationService);

impl RegistrationService<'_> {
    pub(super) async fn registration_context(
        &self,
        caller: Caller<'_>,
        member_id: MemberId,
        action: Action,
    ) -> ServiceResult<(Member, campaigns::Campaign, Option<Registration>, CaseFacts)> {
        let mut conn = self.db.acquire().await?;
        let member = members::get(&mut conn, member_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(action, Some(&member.org_path))?;
        let campaign = super::current_campaign_of(&mut conn).await?;
        let reg = registrations::get(&mut conn, campaign.id, member_id).await?;
        let case = CaseFacts {
            category: crate::store::survey::case_of(&mut conn, campaign.id, member_id).await?,
            outcome: crate::store::cases::of_member(&mut conn, campaign.id, member_id)
                .await?
                .and_then(|c| c.outcome),
        };
        Ok((member, campaign, reg, case))
    }

    /// The record's ID number, or a corrected one from the registration, decrypted.
    pub(super) async fn current_citizen_id(
        &self,
        member: &Member,
        reg: Option<&Registration>,
    ) -> ServiceResult<String> {
        if let Some(enc) = reg.and_then(|r| r.citizen_id_enc.as_deref()) {
            return Ok(self.keys.decrypt_id(enc)?);
        }
        let mut conn = self.db.acquire().await?;
        let enc = members::encrypted_id(&mut conn, member.id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(self.keys.decrypt_id(&enc)?)
    }

    /// The form of a member, as it stands, with its findings.
    pub async fn view(
        &self,
        caller: Caller<'_>,
        member_id: MemberId,
    ) -> ServiceResult<RegistrationView> {
        let (member, campaign, reg, case) = self
            .registration_context(caller, member_id, Action::ReadMember(member_id))
            .await?;
        let catalogue = Catalogue::get();
        let previous = {
            let mut conn = self.db.acquire().await?;
            registrations::last_approved_before(&mut conn, member_id, campaign.id).await?
        };
        let (form, values) = form_and_values(
            &member,
            reg.as_ref(),
            previous.as_ref().map(|p| p.1.as_str()),
        )?;
        let previous = previous.map(|(name, data)| {
            let now = serde_json::to_string(&values).unwrap_or_default();
            (name, super::review::changes(&data, &now))
        });
        let id = self.current_citizen_id(&member, reg.as_ref()).await?;
        let mut checked = values.clone();
        checked.insert("citizen_id".into(), id);
        let findings = validate(
            catalogue,
            form,
            &checked,
            super::rules_date(Some(&campaign)),
        );
        let cutoff =
            crate::forms::rules::parse_date(&campaign.cutoff_date).unwrap_or_else(beijing_today);
        let state = reg.as_ref().map_or(RegistrationState::Draft, |r| r.state);
        let lock = {
            let mut conn = self.db.acquire().await?;
            match crate::store::orgs::get(&mut conn, member.org_id).await? {
                Some(org) => super::package::lock_of(&mut conn, campaign.id, &org).await?,
                None => None,
            }
        };
        let editable = state.editable()
            && lock.is_none()
            && campaign.closed_at.is_none()
            && caller
                .require(Action::FileRegistration(member_id), Some(&member.org_path))
                .is_ok();
        let identity_locked = match &reg {
            Some(r) => {
                let mut conn = self.db.acquire().await?;
                crate::store::reviews::latest_approval(&mut conn, r.id)
                    .await?
                    .is_some()
            }
            None => false,
        };
        super::reads::record(
            self,
            caller,
            super::reads::Read {
                action: "read.registration",
                target_kind: "member",
                target_id: member_id.to_string(),
                target_path: &member.org_path,
                subjects: vec![member_id.0],
                detail: serde_json::json!({}),
            },
        )
        .await?;
        Ok(RegistrationView {
            citizen_id_masked: reg
                .as_ref()
                .and_then(|r| r.citizen_id_masked.clone())
                .unwrap_or_else(|| member.citizen_id_masked.clone()),
            eligibility: eligibility_of(form, &values, &case, cutoff),
            form,
            judged_at: super::rules_date(Some(&campaign)),
            campaign_name: campaign.name,
            values,
            state,
            version: reg.as_ref().map_or(0, |r| r.version),
            return_reason: reg
                .as_ref()
                .filter(|r| r.state == RegistrationState::Returned)
                .and_then(|r| r.return_reason.clone()),
            proxy_method: reg.as_ref().and_then(|r| r.proxy_method.clone()),
            warnings_note: reg
                .as_ref()
                .and_then(|r| r.warnings_note.clone())
                .unwrap_or_default(),
            findings,
            member,
            editable,
            identity_locked,
            previous,
            lock,
        })
    }

    /// Ask to correct the name and/or ID number of a form approved once (双人复核): the form
    /// must be open for changes (returned); a reviewer of the member's organisation approves.
    pub async fn request_identity(
        &self,
        actor: &crate::authz::Actor,
        member_id: MemberId,
        (name, citizen_id, reason): (&str, &str, &str),
    ) -> ServiceResult<i64> {
        let caller = Caller::User(actor);
        let (member, campaign, reg, _) = self
            .registration_context(caller, member_id, Action::ManageMembers)
            .await?;
        let reg = reg.ok_or(ServiceError::Conflict(Refusal::NotEditable(
            RegistrationState::Draft,
        )))?;
        if !reg.state.editable() {
            return Err(ServiceError::Conflict(Refusal::NotEditable(reg.state)));
        }
        let stored: BTreeMap<String, String> = serde_json::from_str(&reg.data).unwrap_or_default();
        let old_name = stored.get("name").cloned().unwrap_or_default();
        let name = name.trim();
        let typed = citizen_id.trim().to_uppercase();
        let mut errors = Vec::new();
        if name.chars().count() > 50 {
            errors.push(FieldError::new("姓名", "不超过50个字"));
        }
        let today = super::rules_date(Some(&campaign));
        let id = if typed.is_empty() {
            None
        } else {
            match CitizenId::parse(&typed, today) {
                Ok(id) => Some(id),
                Err(e) => {
                    errors.push(FieldError::new("公民身份号码", e.to_string()));
                    None
                }
            }
        };
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let new_name = (!name.is_empty() && name != old_name).then(|| name.to_owned());
        let current = self.current_citizen_id(&member, Some(&reg)).await?;
        let id = id.filter(|id| id.as_str() != current);
        if new_name.is_none() && id.is_none() {
            return Err(ServiceError::invalid(
                "姓名",
                "填写的姓名和公民身份号码与登记表中的相同，无需更正",
            ));
        }
        let risky = super::four_eyes::Risky::CorrectIdentity {
            member: member_id.0,
            version: reg.version,
            name: new_name,
            id_enc: id.as_ref().map(|id| hex::encode(self.keys.encrypt_id(id))),
            id_masked: id.as_ref().map(CitizenId::masked),
        };
        let mut tx = self.db.begin().await?;
        let request = super::four_eyes::request_in(&mut tx, actor, &risky, reason).await?;
        tx.commit().await?;
        Ok(request)
    }

    /// Carry out an approved correction of the name and/or ID number: refused if the form
    /// changed since the request or is no longer open for changes.
    pub(crate) async fn correct_identity_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        caller: Caller<'_>,
        member_id: MemberId,
        (version, name, id_enc, id_masked): (i64, Option<&str>, Option<&str>, Option<&str>),
    ) -> ServiceResult<()> {
        let member = members::get(&mut *tx, member_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::Review, Some(&member.org_path))?;
        let campaign = super::open_campaign_of(&mut *tx).await?;
        let reg = registrations::get(&mut *tx, campaign.id, member_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if reg.version != version {
            return Err(ServiceError::Conflict(Refusal::TargetChanged(
                "登记表在申请之后已被修改".into(),
            )));
        }
        if !reg.state.editable() {
            return Err(ServiceError::Conflict(Refusal::NotEditable(reg.state)));
        }
        super::package::ensure_unlocked(&mut *tx, campaign.id, member.org_id).await?;
        let mut data: BTreeMap<String, String> =
            serde_json::from_str(&reg.data).unwrap_or_default();
        let old_name = data.get("name").cloned().unwrap_or_default();
        if let Some(n) = name {
            data.insert("name".into(), n.to_owned());
        }
        let enc = match id_enc {
            Some(h) => Some(
                hex::decode(h)
                    .map_err(|e| ServiceError::Failed(format!("申请内容无法读取：{e}")))?,
            ),
            None => reg.citizen_id_enc.clone(),
        };
        // What was sealed must open: a payload not written by this server is refused.
        if let Some(e) = &enc {
            self.keys.decrypt_id(e)?;
        }
        registrations::set_identity(
            &mut *tx,
            reg.id,
            reg.version,
            &serde_json::to_string(&data).unwrap_or_else(|_| "{}".into()),
            (
                enc,
                id_masked
                    .map(str::to_owned)
                    .or(reg.citizen_id_masked.clone()),
            ),
            caller.user_id(),
        )
        .await
        .map_err(|e| super::on_race(e, "登记表刚刚被修改，请刷新后重试"))?;
        audit::append(
            &mut *tx,
            caller.by(),
            NewEvent {
                action: "registration.identity",
                target_kind: "member",
                target_id: member_id.to_string(),
                target_path: &member.org_path,
                detail: serde_json::json!({
                    "name_was": name.map(|_| old_name),
                    "name": name,
                    "citizen_id": id_masked,
                }),
            },
        )
        .await?;
        Ok(())
    }

    /// Save a draft, or confirm and submit. On refusal nothing is stored and the findings say
    /// why (`ServiceError::Rejected`); a save over somebody else's newer save is a conflict.
    pub async fn save(
        &self,
        caller: Caller<'_>,
        member_id: MemberId,
        input: RegistrationInput,
    ) -> ServiceResult<i64> {
        let (member, campaign, reg, case) = self
            .registration_context(caller, member_id, Action::FileRegistration(member_id))
            .await?;
        if let Some(on) = &member.stopped_on {
            return Err(ServiceError::Conflict(Refusal::MemberStopped(on.clone())));
        }
        let catalogue = Catalogue::get();
        let form = catalogue
            .form_for_category(&member.category)
            .ok_or(ServiceError::NotFound)?;
        if let Some(r) = &reg
            && !r.state.editable()
        {
            return Err(ServiceError::Conflict(Refusal::NotEditable(r.state)));
        }
        let current_version = reg.as_ref().map_or(0, |r| r.version);
        if input.version != current_version {
            return Err(super::stale_form());
        }
        // Keep only the form's own fields that this caller may change (the others keep their
        // stored values); the ID number never goes into the JSON.
        let role = match caller {
            Caller::User(a) => a.role,
            Caller::Operator => Role::Admin,
        };
        let stored: BTreeMap<String, String> = reg
            .as_ref()
            .and_then(|r| serde_json::from_str(&r.data).ok())
            .unwrap_or_default();
        let mut values: BTreeMap<String, String> = catalogue
            .fields_of(form)
            .filter(|f| f.code != "citizen_id")
            .filter_map(|f| {
                let v = if f.editable_by(role) {
                    input.values.get(&f.code).cloned()
                } else {
                    stored.get(&f.code).cloned()
                };
                v.map(|v| (f.code.clone(), v.trim().to_owned()))
            })
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let typed_id = input.citizen_id.trim().to_uppercase();
        let today = super::rules_date(Some(&campaign));
        let id_for_check = if typed_id.is_empty() {
            self.current_citizen_id(&member, reg.as_ref()).await?
        } else {
            typed_id.clone()
        };
        values.insert("citizen_id".into(), id_for_check);
        let mut findings = validate(catalogue, form, &values, today);
        values.remove("citizen_id");
        // Once approved, the name and the ID number change only with a second person.
        if let (Some(r), Caller::User(_)) = (&reg, caller) {
            let approved_once = {
                let mut conn = self.db.acquire().await?;
                crate::store::reviews::latest_approval(&mut conn, r.id)
                    .await?
                    .is_some()
            };
            if approved_once {
                let name_changed =
                    values.get("name").map(|v| v.trim()) != stored.get("name").map(|v| v.trim());
                let id_changed = !typed_id.is_empty()
                    && typed_id != self.current_citizen_id(&member, reg.as_ref()).await?;
                if name_changed || id_changed {
                    return Err(ServiceError::Rejected(vec![finding(
                        "IDENTITY-FOUR-EYES",
                        if id_changed { "citizen_id" } else { "name" },
                        "登记表审核通过后，姓名和公民身份号码只能经双人复核更正：请保持原值保存，\
                         并在本页下方“申请更正姓名或公民身份号码”中提出申请",
                    )]));
                }
            }
        }
        // A corrected ID number is kept (encrypted) only when it is valid.
        let (id_enc, id_masked) = match CitizenId::parse(&typed_id, today) {
            Ok(id) => (Some(self.keys.encrypt_id(&id)), Some(id.masked())),
            Err(_) => (
                reg.as_ref().and_then(|r| r.citizen_id_enc.clone()),
                reg.as_ref().and_then(|r| r.citizen_id_masked.clone()),
            ),
        };
        // Anyone but the member themself (a clerk, or the operator at the command line) files on
        // their behalf.
        let by_clerk = !matches!(caller, Caller::User(a) if a.role == Role::Member);
        let warnings_note = input
            .warnings_note
            .trim()
            .chars()
            .take(500)
            .collect::<String>();
        let proxy_method = input
            .proxy_method
            .filter(|p| PROXY_METHODS.iter().any(|(c, _)| c == p));
        let submit = input.step == Step::Submit;
        if submit {
            let cutoff = crate::forms::rules::parse_date(&campaign.cutoff_date).unwrap_or(today);
            let e = eligibility_of(form, &values, &case, cutoff);
            if !e.registered {
                findings.insert(0, finding("NOT-ELIGIBLE", "practice_type", e.reason));
            }
            let warnings = findings
                .iter()
                .filter(|f| f.severity == Severity::Warning)
                .count();
            if warnings > 0 && warnings_note.is_empty() {
                findings.push(finding(
                    "WARNING-NOTE",
                    "warnings_note",
                    format!("提示说明：表中有 {warnings} 项提示，请简要说明情况后再提交"),
                ));
            }
            if by_clerk && proxy_method.is_none() {
                findings.push(finding(
                    "PROXY-METHOD",
                    "proxy_method",
                    "代填确认方式：经办人代填时，须选择党员本人的确认方式",
                ));
            }
            if !by_clerk && !input.confirmed {
                findings.push(finding(
                    "CONFIRM",
                    "confirm",
                    "本人确认：请确认表中信息真实准确后勾选“本人确认”",
                ));
            }
            if findings.iter().any(|f| f.severity == Severity::Error) {
                return Err(ServiceError::Rejected(findings));
            }
        } else if !typed_id.is_empty() && id_enc.is_none() {
            // A draft may hold mistakes, but an invalid ID number is never stored.
            return Err(ServiceError::Rejected(
                findings
                    .into_iter()
                    .filter(|f| f.field == "citizen_id")
                    .collect(),
            ));
        }
        let now = crate::store::now();
        let write = Write {
            campaign_id: campaign.id,
            member_id,
            org_path: &member.org_path,
            form_code: &form.code,
            data: serde_json::to_string(&values).unwrap_or_else(|_| "{}".into()),
            citizen_id_enc: id_enc,
            citizen_id_masked: id_masked,
            state: {
                let from = reg.as_ref().map_or(RegistrationState::Draft, |r| r.state);
                let m = if submit {
                    RegistrationMove::Submit
                } else {
                    RegistrationMove::Save
                };
                from.after(m).unwrap_or(from)
            },
            confirmed_at: (submit && !by_clerk).then_some(now),
            proxy_method: if by_clerk { proxy_method } else { None },
            warnings_note: (!warnings_note.is_empty()).then_some(warnings_note),
            submitted_at: submit.then_some(now),
            by: caller.user_id(),
        };
        let old: BTreeMap<String, String> = reg
            .as_ref()
            .and_then(|r| serde_json::from_str(&r.data).ok())
            .unwrap_or_default();
        let changed: Vec<&String> = values
            .keys()
            .chain(old.keys())
            .filter(|k| values.get(*k) != old.get(*k))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if campaign.closed_at.is_some() {
            return Err(ServiceError::Conflict(Refusal::FormsClosed(
                campaign.name.clone(),
            )));
        }
        let mut tx = self.db.begin().await?;
        // The member's organisation has handed in: its data changes only after a return.
        super::package::ensure_unlocked(&mut tx, campaign.id, member.org_id).await?;
        let version = match &reg {
            None => registrations::insert(&mut tx, &write).await.map(|_| 1),
            Some(r) => registrations::update(&mut tx, r.id, r.version, &write).await,
        }
        .map_err(|e| match e {
            StoreError::Conflict | StoreError::Duplicate(_) => super::stale_form(),
            other => other.into(),
        })?;
        if submit {
            // The member's 已退回 notice is done with once the form is in again.
            crate::store::notifications::resolve(
                &mut tx,
                NoticeKind::Returned,
                &form_link(member.id),
            )
            .await?;
            crate::store::notifications::send(
                &mut tx,
                crate::store::notifications::To::Staff(member.org_id),
                NoticeKind::Submitted,
                &format!("{} 提交了登记表，待审核", member.name),
                &form_link(member.id),
                None,
            )
            .await?;
        }
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: if submit {
                    "registration.submit"
                } else {
                    "registration.save"
                },
                target_kind: "member",
                target_id: member_id.to_string(),
                target_path: &member.org_path,
                detail: serde_json::json!({
                    "form": form.code,
                    "version": version,
                    "changed_fields": changed,
                    "citizen_id_corrected": write.citizen_id_enc.is_some() && !typed_id.is_empty(),
                    "proxy_method": write.proxy_method,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(version)
    }
}

/// Where a member's own form stands, for their home page.
#[derive(Debug, Clone)]
pub struct FormStatus {
    pub member: Member,
    pub campaign_name: String,
    /// `None`: nothing saved yet (未填写).
    pub state: Option<RegistrationState>,
    pub return_reason: Option<String>,
    /// Who approved it and when (Beijing time), once approved.
    pub approved_by: Option<(String, String)>,
    /// Fields still missing or wrong (errors the form would refuse on submit).
    pub problems: Vec<Finding>,
    /// The date the firm's organisation has to finish its review by (an extension included).
    pub deadline: String,
    /// The campaign is closed: nothing more to do.
    pub closed: bool,
}

impl RegistrationService<'_> {
    /// The state of a member's form in the current campaign, what is still missing and the
    /// deadline: what their home page says.
    pub async fn status(
        &self,
        caller: Caller<'_>,
        member_id: MemberId,
    ) -> ServiceResult<FormStatus> {
        let view = self.view(caller, member_id).await?;
        let mut conn = self.db.acquire().await?;
        let campaign = super::current_campaign_of(&mut conn).await?;
        let reg = registrations::get(&mut conn, campaign.id, member_id).await?;
        let approved_by = match reg.as_ref() {
            Some(r) if r.state == RegistrationState::Approved => {
                crate::store::reviews::latest_approval(&mut conn, r.id)
                    .await?
                    .map(|a| (a.reviewer_name, super::beijing_time(a.at)))
            }
            _ => None,
        };
        let extension =
            crate::store::packages::extension_of(&mut conn, campaign.id, view.member.org_id)
                .await?;
        let deadline =
            super::package::NodeDeadline::new(&campaign, crate::domain::OrgLevel::Firm, extension)
                .effective;
        Ok(FormStatus {
            state: reg.as_ref().map(|r| r.state),
            return_reason: view.return_reason,
            approved_by,
            problems: view
                .findings
                .into_iter()
                .filter(|f| f.severity == Severity::Error)
                .collect(),
            deadline,
            closed: campaign.closed_at.is_some(),
            campaign_name: view.campaign_name,
            member: view.member,
        })
    }
}
