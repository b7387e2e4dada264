//! Keeping the directory current after (and during) a campaign: a firm's particulars, its
//! closing (注销), moving a firm to another organisation (or its own new one), and an
//! organisation's particulars — each version it ends kept in the roster history.

use super::changes::{self, Record};
use super::{Caller, ServiceError, ServiceResult, refusal::Refusal};
use crate::authz::Action;
use crate::domain::change::ChangeKind;
use crate::domain::{FieldError, FirmId, MemberId, OrgId, OrgKind, OrgLevel, TreePath};
use crate::store::audit::{self, NewEvent};
use crate::store::firms::{self, FirmChange};
use crate::store::orgs::{self, OrgChange};
use crate::store::roster::{self, RecordKind};
use crate::store::transfers;

super::area!(UpkeepService);

/// A firm's particulars as typed on its edit page.
#[derive(Debug, Clone, Default)]
pub struct FirmInput {
    pub name: String,
    pub credit_code: String,
    pub region_code: String,
    pub form: String,
    pub lawyer_count: String,
    /// The day the change took effect (`YYYY-MM-DD`); empty: today.
    pub effective_on: String,
}

/// An organisation's particulars as typed on its edit page.
#[derive(Debug, Clone, Default)]
pub struct OrgInput {
    pub name: String,
    pub kind: String,
    pub secretary_name: String,
    pub contact_phone: String,
    pub formed_on: String,
    /// 组织委员.
    pub organiser_name: String,
    /// 本届任期: first day and 届满 day (`YYYY-MM-DD`, both or neither).
    pub term_start: String,
    pub term_end: String,
    pub effective_on: String,
}

/// Where a firm goes: directly under its city (no organisation), an organisation of its city,
/// or a new organisation of its own created for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cover {
    None,
    Org(OrgId),
    New { name: String, kind: OrgKind },
}

/// The 组织形式 codes a firm may have.
pub const FIRM_FORMS: [&str; 4] = ["partnership", "state", "sole", "other"];

/// The day a change takes effect: the date typed (not after today, not before the record's
/// current version began), or today when none was typed (or its version's start when that
/// lies ahead, as for a campaign whose cut-off is still to come).
pub(crate) fn effective_on(typed: &str, placed: Option<&str>) -> ServiceResult<String> {
    let today = super::beijing_today().to_string();
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(not_before(placed, &today));
    }
    if crate::forms::rules::parse_date(typed).is_none() {
        return Err(ServiceError::Invalid(vec![FieldError::new(
            "effective_on",
            "生效日期应为“年-月-日”，例如 2019-03-01",
        )]));
    }
    if typed > today.as_str() {
        return Err(ServiceError::Conflict(Refusal::EffectiveInFuture));
    }
    if let Some(p) = placed
        && typed < p
    {
        return Err(ServiceError::Conflict(Refusal::EffectiveTooEarly(
            p.to_owned(),
        )));
    }
    Ok(typed.to_owned())
}

/// The later of a record's current version start and `on`: a change never ends a version
/// before it began.
pub(crate) fn not_before(placed: Option<&str>, on: &str) -> String {
    match placed {
        Some(p) if p > on => p.to_owned(),
        _ => on.to_owned(),
    }
}

/// The fields whose value differs, as `{field: [before, after]}` for the audit detail.
fn changed_fields(pairs: &[(&str, String, String)]) -> serde_json::Map<String, serde_json::Value> {
    pairs
        .iter()
        .filter(|(_, old, new)| old != new)
        .map(|(f, old, new)| ((*f).to_owned(), serde_json::json!([old, new])))
        .collect()
}

/// Refuse ending an organisation while members, firms or live children remain under it.
async fn ensure_empty(conn: &mut sqlx::AnyConnection, id: OrgId) -> ServiceResult<()> {
    let (members, firms_n, children) = orgs::dependents(conn, id).await?;
    if members + firms_n + children > 0 {
        return Err(ServiceError::Conflict(Refusal::OrgNotEmpty {
            members,
            firms: firms_n,
            children,
        }));
    }
    Ok(())
}

/// What is wrong with a term typed on the edit page: dates, both or neither, the end after
/// the start, and no longer than five years and one (a term is three or five years; the
/// superior may extend it by up to one).
fn term_errors(start: Option<&str>, end: Option<&str>) -> Vec<FieldError> {
    use crate::forms::rules::parse_date;
    let mut errors = Vec::new();
    let (s, e) = (start.map(parse_date), end.map(parse_date));
    if matches!(s, Some(None)) {
        errors.push(FieldError::new(
            "term_start",
            "本届任期起始日期应为“年-月-日”",
        ));
    }
    if matches!(e, Some(None)) {
        errors.push(FieldError::new("term_end", "本届届满日期应为“年-月-日”"));
    }
    match (s.flatten(), e.flatten()) {
        (Some(s), Some(e)) if e <= s => {
            errors.push(FieldError::new(
                "term_end",
                "本届届满日期应晚于任期起始日期",
            ));
        }
        (Some(s), Some(e)) if (e - s).whole_days() > 6 * 366 => {
            errors.push(FieldError::new(
                "term_end",
                "每届任期为三年或五年（经批准最多延长一年），请核对届满日期",
            ));
        }
        (Some(_), None) if errors.is_empty() => {
            errors.push(FieldError::new(
                "term_end",
                "填写任期起始日期时请同时填写届满日期",
            ));
        }
        (None, Some(_)) if errors.is_empty() => {
            errors.push(FieldError::new(
                "term_start",
                "填写届满日期时请同时填写任期起始日期",
            ));
        }
        _ => {}
    }
    errors
}

fn firm_change(input: &FirmInput) -> ServiceResult<FirmChange> {
    let mut errors = Vec::new();
    let name = input.name.trim().to_owned();
    if name.is_empty() {
        errors.push(FieldError::new("name", "请填写律师事务所名称"));
    }
    let credit_code = match crate::domain::CreditCode::parse_law_firm(&input.credit_code) {
        Ok(c) => c.as_str().to_owned(),
        Err(e) => {
            errors.push(FieldError::new("credit_code", e.to_string()));
            String::new()
        }
    };
    let region_code = input.region_code.trim().to_owned();
    if !crate::forms::divisions::codes().contains(&region_code) {
        errors.push(FieldError::new(
            "region_code",
            "行政区划代码应为6位国家标准代码（GB/T 2260），例如 110105",
        ));
    }
    let form = input.form.trim().to_owned();
    if !FIRM_FORMS.contains(&form.as_str()) {
        errors.push(FieldError::new("form", "请选择组织形式"));
    }
    let lawyer_count = match input.lawyer_count.trim().parse::<i64>() {
        Ok(n) if (0..=100_000).contains(&n) => n,
        _ => {
            errors.push(FieldError::new("lawyer_count", "律师人数应为不小于0的整数"));
            0
        }
    };
    if !errors.is_empty() {
        return Err(ServiceError::Invalid(errors));
    }
    Ok(FirmChange {
        name,
        credit_code,
        region_code,
        form,
        lawyer_count,
    })
}

/// What moving a firm ended: the firm's version kept, and each member carried along with
/// theirs.
struct Carried {
    firm_history: i64,
    members: Vec<(MemberId, Option<i64>)>,
}

/// Put a firm under `to` (an organisation of its city, or none) from `on`, keeping its
/// version, and carry along the members whose 组织关系 sat with its old organisation (or
/// its city, when it had none).
async fn carry_firm(
    tx: &mut sqlx::AnyConnection,
    firm: &firms::Firm,
    city: &orgs::Org,
    to: (Option<OrgId>, &TreePath),
    placed: Option<String>,
    on: &str,
) -> ServiceResult<Carried> {
    let firm_history = roster::keep(tx, &roster::firm_version(firm, placed, on, "move")).await?;
    firms::set_org(tx, firm.id, to.0, to.1, on).await?;
    let old_home = firm.org_id.unwrap_or(city.id);
    let new_home = to.0.unwrap_or(city.id);
    let moving = crate::store::members::in_firm_at(tx, firm.id, old_home).await?;
    let mut members = Vec::with_capacity(moving.len());
    for m in &moving {
        let placed_m = roster::placed_on(tx, RecordKind::Member, m.0).await?;
        let on_m = not_before(placed_m.as_deref(), on);
        let mut history = None;
        if let Some(v) = roster::member_version(tx, *m, &on_m, "move").await? {
            history = Some(roster::keep(tx, &v).await?);
        }
        transfers::move_member(tx, *m, (new_home, firm.id, to.1), &on_m).await?;
        members.push((*m, history));
    }
    Ok(Carried {
        firm_history,
        members,
    })
}

/// Report a firm's move as changes: the firm's (kept by its city) and each member's carried
/// along (kept by the organisation they arrive at).
#[allow(clippy::too_many_arguments)]
async fn report_move(
    tx: &mut sqlx::AnyConnection,
    caller: Caller<'_>,
    firm: &firms::Firm,
    city: &orgs::Org,
    (to_id, to_path, to_name): (OrgId, &TreePath, &str),
    carried: &Carried,
    on: &str,
    note: &str,
) -> ServiceResult<()> {
    let from = firm
        .org_name
        .clone()
        .unwrap_or_else(|| "未建立党组织".into());
    let mut fields = serde_json::Map::new();
    fields.insert("所属党组织".into(), serde_json::json!([from, to_name]));
    changes::record(
        tx,
        caller,
        (city.id, &city.path),
        Record {
            kind: ChangeKind::Edit,
            subject: RecordKind::Firm,
            subject_id: firm.id.0,
            subject_name: &firm.name,
            fields: fields.clone(),
            history_id: Some(carried.firm_history),
            note,
            effective_on: on,
        },
    )
    .await?;
    let mut member_fields = serde_json::Map::new();
    member_fields.insert(
        "组织关系所在党组织".into(),
        serde_json::json!([from, to_name]),
    );
    for (m, history) in &carried.members {
        let name = crate::store::members::get(tx, *m)
            .await?
            .map(|m| m.name)
            .unwrap_or_default();
        changes::record(
            tx,
            caller,
            (to_id, to_path),
            Record {
                kind: ChangeKind::Edit,
                subject: RecordKind::Member,
                subject_id: m.0,
                subject_name: &name,
                fields: member_fields.clone(),
                history_id: *history,
                note,
                effective_on: on,
            },
        )
        .await?;
    }
    Ok(())
}

/// Report a change of a firm's or an organisation's own record, kept by `keeper`.
#[allow(clippy::too_many_arguments)]
async fn report_one(
    tx: &mut sqlx::AnyConnection,
    caller: Caller<'_>,
    keeper: (OrgId, &TreePath),
    kind: ChangeKind,
    (subject, id, name): (RecordKind, i64, &str),
    fields: serde_json::Map<String, serde_json::Value>,
    history: i64,
    (on, note): (&str, &str),
) -> ServiceResult<()> {
    changes::record(
        tx,
        caller,
        keeper,
        Record {
            kind,
            subject,
            subject_id: id,
            subject_name: name,
            fields,
            history_id: Some(history),
            note,
            effective_on: on,
        },
    )
    .await?;
    Ok(())
}

/// The node that keeps an organisation's record and reports its changes: its parent (the
/// national organisation keeps its own).
async fn keeper_of(conn: &mut sqlx::AnyConnection, org: &orgs::Org) -> ServiceResult<orgs::Org> {
    match org.parent_id {
        Some(p) => orgs::get(conn, p).await?.ok_or(ServiceError::NotFound),
        None => Ok(org.clone()),
    }
}

impl UpkeepService<'_> {
    /// A firm to edit, found in the caller's subtree.
    async fn editable_firm(
        &self,
        conn: &mut sqlx::AnyConnection,
        caller: Caller<'_>,
        id: FirmId,
    ) -> ServiceResult<firms::Firm> {
        caller.require(Action::EditDirectory, None)?;
        let firm = firms::get(conn, id).await?.ok_or(ServiceError::NotFound)?;
        caller.require(Action::EditDirectory, Some(&firm.scope_path))?;
        Ok(firm)
    }

    /// Change a firm's particulars (name, credit code, region, 组织形式, lawyers).
    pub async fn edit_firm(
        &self,
        caller: Caller<'_>,
        id: FirmId,
        input: &FirmInput,
    ) -> ServiceResult<()> {
        let change = firm_change(input)?;
        let mut tx = self.db.begin().await?;
        let firm = self.editable_firm(&mut tx, caller, id).await?;
        let before = FirmChange {
            name: firm.name.clone(),
            credit_code: firm.credit_code.clone(),
            region_code: firm.region_code.clone(),
            form: firm.form.clone(),
            lawyer_count: firm.lawyer_count,
        };
        if before == change {
            return Ok(());
        }
        let nodes: Vec<OrgId> = std::iter::once(firm.city_org_id)
            .chain(firm.org_id)
            .collect();
        let reported = changes::reported(&mut tx, &nodes).await?;
        if change.credit_code != firm.credit_code
            && firms::credit_code_taken(&mut tx, &change.credit_code, id).await?
        {
            return Err(ServiceError::Conflict(Refusal::CreditCodeTaken));
        }
        let placed = roster::placed_on(&mut tx, RecordKind::Firm, id.0).await?;
        let on = effective_on(&input.effective_on, placed.as_deref())?;
        let history =
            roster::keep(&mut tx, &roster::firm_version(&firm, placed, &on, "edit")).await?;
        firms::update(&mut tx, id, &change, &on).await?;
        let changed = changed_fields(&[
            ("律师事务所名称", before.name.clone(), change.name.clone()),
            (
                "统一社会信用代码",
                before.credit_code.clone(),
                change.credit_code.clone(),
            ),
            (
                "行政区划代码",
                before.region_code.clone(),
                change.region_code.clone(),
            ),
            (
                "组织形式",
                firms::form_label(&before.form).to_owned(),
                firms::form_label(&change.form).to_owned(),
            ),
            (
                "律师人数",
                before.lawyer_count.to_string(),
                change.lawyer_count.to_string(),
            ),
        ]);
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "firm.edit",
                target_kind: "firm",
                target_id: id.to_string(),
                target_path: &firm.scope_path,
                detail: serde_json::json!({ "name": change.name, "effective_on": on, "changed": changed }),
            },
        )
        .await?;
        if reported {
            let city = orgs::get(&mut tx, firm.city_org_id)
                .await?
                .ok_or(ServiceError::NotFound)?;
            report_one(
                &mut tx,
                caller,
                (city.id, &city.path),
                ChangeKind::Edit,
                (RecordKind::Firm, id.0, &change.name),
                changed,
                history,
                (&on, ""),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Close a firm (注销) from a date: refused while members are still registered in it; its
    /// last version stays in the roster history, so past rosters still list it.
    pub async fn close_firm(
        &self,
        caller: Caller<'_>,
        id: FirmId,
        effective: &str,
        note: &str,
    ) -> ServiceResult<()> {
        let mut tx = self.db.begin().await?;
        let firm = self.editable_firm(&mut tx, caller, id).await?;
        let members = crate::store::members::count_in_firm(&mut tx, id).await?;
        if members > 0 {
            return Err(ServiceError::Conflict(Refusal::FirmHasMembers(members)));
        }
        let nodes: Vec<OrgId> = std::iter::once(firm.city_org_id)
            .chain(firm.org_id)
            .collect();
        let reported = changes::reported(&mut tx, &nodes).await?;
        let placed = roster::placed_on(&mut tx, RecordKind::Firm, id.0).await?;
        let on = effective_on(effective, placed.as_deref())?;
        let mut version = roster::firm_version(&firm, placed, &on, "close");
        version.detail["note"] = note.trim().into();
        let history = roster::keep(&mut tx, &version).await?;
        if reported {
            let city = orgs::get(&mut tx, firm.city_org_id)
                .await?
                .ok_or(ServiceError::NotFound)?;
            let mut fields = serde_json::Map::new();
            fields.insert("状态".into(), serde_json::json!(["存续", "注销"]));
            report_one(
                &mut tx,
                caller,
                (city.id, &city.path),
                ChangeKind::Close,
                (RecordKind::Firm, id.0, &firm.name),
                fields,
                history,
                (&on, note),
            )
            .await?;
        }
        if !firms::delete_empty(&mut tx, id).await? {
            return Err(ServiceError::Conflict(Refusal::Raced(
                "该律师事务所刚刚有党员转入，未能注销，请刷新后再试".into(),
            )));
        }
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "firm.close",
                target_kind: "firm",
                target_id: id.to_string(),
                target_path: &firm.scope_path,
                detail: serde_json::json!({
                    "name": firm.name, "credit_code": firm.credit_code, "effective_on": on,
                    "note": note.trim(),
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Put a firm under another organisation of its city, a new organisation of its own, or
    /// none; the members whose 组织关系 sat with its old organisation move with it.
    pub async fn move_firm(
        &self,
        caller: Caller<'_>,
        id: FirmId,
        to: &Cover,
        effective: &str,
    ) -> ServiceResult<()> {
        let mut tx = self.db.begin().await?;
        let firm = self.editable_firm(&mut tx, caller, id).await?;
        let city = orgs::get(&mut tx, firm.city_org_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let placed = roster::placed_on(&mut tx, RecordKind::Firm, id.0).await?;
        let on = effective_on(effective, placed.as_deref())?;
        let target: Option<(OrgId, crate::domain::TreePath, String)> = match to {
            Cover::None => None,
            Cover::Org(o) => {
                let org = orgs::get(&mut tx, *o)
                    .await?
                    .ok_or(ServiceError::NotFound)?;
                if org.parent_id != Some(city.id)
                    || org.level != OrgLevel::Firm
                    || orgs::is_dissolved(&mut tx, org.id).await?
                {
                    return Err(ServiceError::Invalid(vec![FieldError::new(
                        "org",
                        "只能划入本律所所属地市级党组织下的律师事务所党组织",
                    )]));
                }
                Some((org.id, org.path, org.name))
            }
            Cover::New { name, kind } => {
                let name = name.trim();
                if name.is_empty() {
                    return Err(ServiceError::Invalid(vec![FieldError::new(
                        "new_name",
                        "请填写新建党组织的名称",
                    )]));
                }
                if !kind.allowed_at(OrgLevel::Firm) {
                    return Err(ServiceError::Conflict(Refusal::KindNotAllowed(
                        kind.label(),
                    )));
                }
                if orgs::name_taken(&mut tx, city.id, name, None).await? {
                    return Err(ServiceError::Conflict(Refusal::OrgNameTaken));
                }
                let (oid, path) = orgs::insert(
                    &mut tx,
                    &orgs::NewOrg::bare(
                        Some((city.id, city.path.clone())),
                        OrgLevel::Firm,
                        *kind,
                        name.to_owned(),
                        Some(firm.region_code.clone()),
                    ),
                )
                .await?;
                sqlx::query("UPDATE orgs SET placed_on = $1 WHERE id = $2")
                    .bind(on.clone())
                    .bind(oid.0)
                    .execute(&mut *tx)
                    .await?;
                Some((oid, path, name.to_owned()))
            }
        };
        if target.as_ref().map(|t| t.0) == firm.org_id {
            return Err(ServiceError::Conflict(Refusal::SamePlace));
        }
        let mut nodes = vec![city.id];
        nodes.extend(firm.org_id);
        nodes.extend(target.as_ref().map(|t| t.0));
        let reported = changes::reported(&mut tx, &nodes).await?;
        let (new_org, new_path) = match &target {
            Some((o, p, _)) => (Some(*o), p.clone()),
            None => (None, city.path.clone()),
        };
        let carried = carry_firm(&mut tx, &firm, &city, (new_org, &new_path), placed, &on).await?;
        let moving = carried.members.len();
        if reported {
            let to_name = target
                .as_ref()
                .map_or("未建立党组织".to_owned(), |t| t.2.clone());
            report_move(
                &mut tx,
                caller,
                &firm,
                &city,
                (new_org.unwrap_or(city.id), &new_path, &to_name),
                &carried,
                &on,
                "",
            )
            .await?;
        }
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "firm.move",
                target_kind: "firm",
                target_id: id.to_string(),
                target_path: &city.path,
                detail: serde_json::json!({
                    "name": firm.name,
                    "from": firm.org_name.clone().unwrap_or_else(|| "未建立党组织".into()),
                    "to": target.as_ref().map_or("未建立党组织".to_owned(), |t| t.2.clone()),
                    "created": matches!(to, Cover::New { .. }),
                    "members": moving,
                    "effective_on": on,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Change an organisation's particulars: name, kind (a 支部 becoming a 总支), 书记, phone,
    /// date formed.
    pub async fn edit_org(
        &self,
        caller: Caller<'_>,
        id: OrgId,
        input: &OrgInput,
    ) -> ServiceResult<()> {
        caller.require(Action::EditDirectory, None)?;
        let mut tx = self.db.begin().await?;
        let org = orgs::get(&mut tx, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::EditDirectory, Some(&org.path))?;
        let mut errors = Vec::new();
        let name = input.name.trim().to_owned();
        if name.is_empty() {
            errors.push(FieldError::new("name", "请填写党组织名称"));
        }
        let kind = OrgKind::from_code(input.kind.trim());
        if kind.is_none() {
            errors.push(FieldError::new("kind", "请选择党组织类别"));
        }
        let formed_on = Some(input.formed_on.trim().to_owned()).filter(|s| !s.is_empty());
        if let Some(f) = &formed_on
            && crate::forms::rules::parse_date(f).is_none()
        {
            errors.push(FieldError::new("formed_on", "成立时间应为“年-月-日”"));
        }
        let phone = Some(input.contact_phone.trim().to_owned()).filter(|s| !s.is_empty());
        if let Some(p) = &phone
            && (p.chars().count() > 20
                || !p.chars().all(|c| c.is_ascii_digit() || "-+() ".contains(c)))
        {
            errors.push(FieldError::new("contact_phone", "联系电话只能含数字和“-”"));
        }
        let term_start = Some(input.term_start.trim().to_owned()).filter(|s| !s.is_empty());
        let term_end = Some(input.term_end.trim().to_owned()).filter(|s| !s.is_empty());
        errors.extend(term_errors(term_start.as_deref(), term_end.as_deref()));
        let organiser_name = Some(input.organiser_name.trim().to_owned()).filter(|s| !s.is_empty());
        if organiser_name
            .as_ref()
            .is_some_and(|n| n.chars().count() > 30)
        {
            errors.push(FieldError::new(
                "organiser_name",
                "组织委员姓名请在30字以内",
            ));
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let Some(kind) = kind else {
            return Err(ServiceError::Invalid(Vec::new()));
        };
        if !kind.allowed_at(org.level) {
            return Err(ServiceError::Conflict(Refusal::KindNotAllowed(
                kind.label(),
            )));
        }
        let change = OrgChange {
            name,
            kind,
            secretary_name: Some(input.secretary_name.trim().to_owned()).filter(|s| !s.is_empty()),
            contact_phone: phone,
            formed_on,
            organiser_name,
            term_start,
            term_end,
        };
        let before = OrgChange {
            name: org.name.clone(),
            kind: org.kind,
            secretary_name: org.secretary_name.clone(),
            contact_phone: org.contact_phone.clone(),
            formed_on: org.formed_on.clone(),
            organiser_name: org.organiser_name.clone(),
            term_start: org.term_start.clone(),
            term_end: org.term_end.clone(),
        };
        if before == change {
            return Ok(());
        }
        if let Some(parent) = org.parent_id
            && change.name != org.name
            && orgs::name_taken(&mut tx, parent, &change.name, Some(id)).await?
        {
            return Err(ServiceError::Conflict(Refusal::OrgNameTaken));
        }
        let reported = changes::reported(&mut tx, &[id]).await?;
        let placed = roster::placed_on(&mut tx, RecordKind::Org, id.0).await?;
        let on = effective_on(&input.effective_on, placed.as_deref())?;
        let parent_name = match org.parent_id {
            Some(p) => orgs::get(&mut tx, p)
                .await?
                .map(|o| o.name)
                .unwrap_or_default(),
            None => String::new(),
        };
        let history = roster::keep(
            &mut tx,
            &roster::org_version(&org, &parent_name, placed, &on, "edit"),
        )
        .await?;
        orgs::update(&mut tx, id, &change, &on).await?;
        let opt = |o: &Option<String>| o.clone().unwrap_or_default();
        let changed = changed_fields(&[
            ("名称", before.name.clone(), change.name.clone()),
            (
                "类别",
                before.kind.label().to_owned(),
                change.kind.label().to_owned(),
            ),
            (
                "书记",
                opt(&before.secretary_name),
                opt(&change.secretary_name),
            ),
            (
                "联系电话",
                opt(&before.contact_phone),
                opt(&change.contact_phone),
            ),
            ("成立时间", opt(&before.formed_on), opt(&change.formed_on)),
            (
                "组织委员",
                opt(&before.organiser_name),
                opt(&change.organiser_name),
            ),
            (
                "本届任期起始日期",
                opt(&before.term_start),
                opt(&change.term_start),
            ),
            ("本届届满日期", opt(&before.term_end), opt(&change.term_end)),
        ]);
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "org.edit",
                target_kind: "org",
                target_id: id.to_string(),
                target_path: &org.path,
                detail: serde_json::json!({ "name": change.name, "effective_on": on, "changed": changed }),
            },
        )
        .await?;
        if reported {
            let keeper = keeper_of(&mut tx, &org).await?;
            report_one(
                &mut tx,
                caller,
                (keeper.id, &keeper.path),
                ChangeKind::Edit,
                (RecordKind::Org, id.0, &change.name),
                changed,
                history,
                (&on, ""),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Dissolve (撤销) a firm-level organisation from a date: refused while members, firms or
    /// children remain (they must go somewhere first); its accounts are disabled, its last
    /// version stays in the roster history.
    pub async fn dissolve_org(
        &self,
        caller: Caller<'_>,
        id: OrgId,
        effective: &str,
        note: &str,
    ) -> ServiceResult<()> {
        let mut tx = self.db.begin().await?;
        let org = self.dissolvable(&mut tx, caller, id).await?;
        ensure_empty(&mut tx, id).await?;
        let on = self
            .end_org(&mut tx, caller, &org, (effective, note), "dissolve")
            .await?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "org.dissolve",
                target_kind: "org",
                target_id: id.to_string(),
                target_path: &org.path,
                detail: serde_json::json!({
                    "name": org.name, "effective_on": on, "note": note.trim(),
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Merge a firm-level organisation into another of the same city: every firm it covers
    /// (with the members whose 组织关系 sat with it) goes to `into`, then it is dissolved.
    pub async fn merge_org(
        &self,
        caller: Caller<'_>,
        id: OrgId,
        into: OrgId,
        effective: &str,
    ) -> ServiceResult<()> {
        let mut tx = self.db.begin().await?;
        let org = self.dissolvable(&mut tx, caller, id).await?;
        let target = orgs::get(&mut tx, into)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::EditDirectory, Some(&target.path))?;
        if into == id
            || target.parent_id != org.parent_id
            || target.level != OrgLevel::Firm
            || orgs::is_dissolved(&mut tx, into).await?
        {
            return Err(ServiceError::Conflict(Refusal::MergeTarget));
        }
        let city = match org.parent_id {
            Some(p) => orgs::get(&mut tx, p).await?.ok_or(ServiceError::NotFound)?,
            None => return Err(ServiceError::Conflict(Refusal::NotFirmLevel)),
        };
        let reported = changes::reported(&mut tx, &[city.id, id, into]).await?;
        let placed = roster::placed_on(&mut tx, RecordKind::Org, id.0).await?;
        let on = effective_on(effective, placed.as_deref())?;
        let mut moved = 0;
        let covered = firms::list(
            &mut tx,
            &crate::authz::Scope::Subtree(org.path.clone()),
            &firms::FirmFilter {
                org: Some(id),
                page: 1,
                per_page: 100_000,
                ..Default::default()
            },
        )
        .await?
        .items;
        for f in &covered {
            let placed_f = roster::placed_on(&mut tx, RecordKind::Firm, f.id.0).await?;
            let on_f = not_before(placed_f.as_deref(), &on);
            let carried = carry_firm(
                &mut tx,
                f,
                &city,
                (Some(into), &target.path),
                placed_f,
                &on_f,
            )
            .await?;
            moved += carried.members.len();
            if reported {
                report_move(
                    &mut tx,
                    caller,
                    f,
                    &city,
                    (into, &target.path, &target.name),
                    &carried,
                    &on_f,
                    &format!("{}合并入{}", org.name, target.name),
                )
                .await?;
            }
        }
        // Anyone left (a member filed at the organisation outside its firms) blocks it.
        ensure_empty(&mut tx, id).await?;
        let merged = format!("合并入{}", target.name);
        let on = self
            .end_org(&mut tx, caller, &org, (&on, &merged), "merge")
            .await?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "org.merge",
                target_kind: "org",
                target_id: id.to_string(),
                target_path: &org.path,
                detail: serde_json::json!({
                    "name": org.name, "to": target.name, "firms": covered.len(),
                    "members": moved, "effective_on": on,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Put a firm-level organisation (with the firms it covers and its members) under another
    /// city-level organisation of the caller's subtree (a firm moving city): every record
    /// moved keeps the version it ends; refused while the open campaign has its package or
    /// a transfer into or out of it waits.
    pub async fn reparent_org(
        &self,
        caller: Caller<'_>,
        id: OrgId,
        to: OrgId,
        effective: &str,
    ) -> ServiceResult<()> {
        let mut tx = self.db.begin().await?;
        let org = self.dissolvable(&mut tx, caller, id).await?;
        let target = orgs::get(&mut tx, to)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::EditDirectory, Some(&target.path))?;
        if target.level != OrgLevel::City || orgs::is_dissolved(&mut tx, to).await? {
            return Err(ServiceError::Conflict(Refusal::ReparentTarget));
        }
        if org.parent_id == Some(to) {
            return Err(ServiceError::Conflict(Refusal::SamePlace));
        }
        if orgs::name_taken(&mut tx, to, &org.name, Some(id)).await? {
            return Err(ServiceError::Conflict(Refusal::OrgNameTaken));
        }
        if let Some(c) = crate::store::campaigns::latest(&mut tx).await?
            && c.closed_at.is_none()
            && crate::store::packages::get(&mut tx, c.id, id)
                .await?
                .is_some()
        {
            return Err(ServiceError::Conflict(Refusal::ReparentPackaged));
        }
        let waiting = transfers::pending_touching(&mut tx, &org.path).await?;
        if waiting > 0 {
            return Err(ServiceError::Conflict(Refusal::ReparentTransfers(waiting)));
        }
        let old_parent = keeper_of(&mut tx, &org).await?;
        let reported = changes::reported(&mut tx, &[old_parent.id, id, to]).await?;
        let placed = roster::placed_on(&mut tx, RecordKind::Org, id.0).await?;
        let on = effective_on(effective, placed.as_deref())?;
        // Keep what ends, before the paths change.
        let org_history = roster::keep(
            &mut tx,
            &roster::org_version(&org, &old_parent.name, placed, &on, "reparent"),
        )
        .await?;
        let scope = crate::authz::Scope::Subtree(org.path.clone());
        let covered = firms::list(
            &mut tx,
            &scope,
            &firms::FirmFilter {
                page: 1,
                per_page: 100_000,
                ..Default::default()
            },
        )
        .await?
        .items;
        let mut firm_history = Vec::with_capacity(covered.len());
        for f in &covered {
            let placed_f = roster::placed_on(&mut tx, RecordKind::Firm, f.id.0).await?;
            let on_f = not_before(placed_f.as_deref(), &on);
            let h = roster::keep(
                &mut tx,
                &roster::firm_version(f, placed_f, &on_f, "reparent"),
            )
            .await?;
            firm_history.push((f, h, on_f));
        }
        let moving = crate::store::members::list(
            &mut tx,
            &scope,
            &crate::store::members::MemberFilter {
                page: 1,
                per_page: 100_000,
                ..Default::default()
            },
        )
        .await?
        .items;
        let mut member_history = Vec::with_capacity(moving.len());
        for m in &moving {
            let placed_m = roster::placed_on(&mut tx, RecordKind::Member, m.id.0).await?;
            let on_m = not_before(placed_m.as_deref(), &on);
            let h = match roster::member_version(&mut tx, m.id, &on_m, "reparent").await? {
                Some(v) => Some(roster::keep(&mut tx, &v).await?),
                None => None,
            };
            member_history.push((m, h, on_m));
        }
        let new_path = target.path.child(id);
        orgs::reparent(&mut tx, id, (&org.path, &new_path), to, to, &on).await?;
        if reported {
            let mut fields = serde_json::Map::new();
            fields.insert(
                "上级党组织".into(),
                serde_json::json!([old_parent.name, target.name]),
            );
            report_one(
                &mut tx,
                caller,
                (target.id, &target.path),
                ChangeKind::Edit,
                (RecordKind::Org, id.0, &org.name),
                fields.clone(),
                org_history,
                (&on, ""),
            )
            .await?;
            let mut firm_fields = serde_json::Map::new();
            firm_fields.insert(
                "所属地市级党组织".into(),
                serde_json::json!([old_parent.name, target.name]),
            );
            for (f, h, on_f) in &firm_history {
                report_one(
                    &mut tx,
                    caller,
                    (target.id, &target.path),
                    ChangeKind::Edit,
                    (RecordKind::Firm, f.id.0, &f.name),
                    firm_fields.clone(),
                    *h,
                    (on_f, ""),
                )
                .await?;
            }
            for (m, h, on_m) in &member_history {
                changes::record(
                    &mut tx,
                    caller,
                    (m.org_id, &new_path.clone()),
                    Record {
                        kind: ChangeKind::Edit,
                        subject: RecordKind::Member,
                        subject_id: m.id.0,
                        subject_name: &m.name,
                        fields: firm_fields.clone(),
                        history_id: *h,
                        note: "",
                        effective_on: on_m,
                    },
                )
                .await?;
            }
        }
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "org.reparent",
                target_kind: "org",
                target_id: id.to_string(),
                target_path: &new_path,
                detail: serde_json::json!({
                    "name": org.name, "from": old_parent.name, "to": target.name,
                    "firms": covered.len(), "members": moving.len(), "effective_on": on,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The city-level organisations of the caller's subtree a firm-level organisation may be
    /// moved under (for the edit page).
    pub async fn cities_for(&self, caller: Caller<'_>, id: OrgId) -> ServiceResult<Vec<orgs::Org>> {
        let org = self.editable_org(caller, id).await?;
        if org.level != OrgLevel::Firm {
            return Ok(Vec::new());
        }
        let mut conn = self.db.acquire().await?;
        let scope = match caller {
            Caller::User(a) => a.org_path.clone(),
            Caller::Operator => {
                orgs::root(&mut conn)
                    .await?
                    .ok_or(ServiceError::NotFound)?
                    .path
            }
        };
        Ok(orgs::list(
            &mut conn,
            &crate::authz::Scope::Subtree(scope),
            &orgs::OrgFilter {
                level: Some(OrgLevel::City),
                page: 1,
                per_page: 2_000,
                ..Default::default()
            },
        )
        .await?
        .items
        .into_iter()
        .filter(|c| Some(c.id) != org.parent_id)
        .collect())
    }

    /// A firm-level organisation the caller may dissolve or merge.
    async fn dissolvable(
        &self,
        conn: &mut sqlx::AnyConnection,
        caller: Caller<'_>,
        id: OrgId,
    ) -> ServiceResult<orgs::Org> {
        caller.require(Action::EditDirectory, None)?;
        let org = orgs::get(conn, id).await?.ok_or(ServiceError::NotFound)?;
        caller.require(Action::EditDirectory, Some(&org.path))?;
        if orgs::is_dissolved(conn, id).await? {
            return Err(ServiceError::NotFound);
        }
        if org.level != OrgLevel::Firm {
            return Err(ServiceError::Conflict(Refusal::NotFirmLevel));
        }
        Ok(org)
    }

    /// End an organisation from the day given: its version kept, the row marked dissolved,
    /// its accounts disabled; the day it ended.
    async fn end_org(
        &self,
        tx: &mut sqlx::AnyConnection,
        caller: Caller<'_>,
        org: &orgs::Org,
        (effective, note): (&str, &str),
        reason: &str,
    ) -> ServiceResult<String> {
        let reported = changes::reported(tx, &[org.id]).await?;
        let placed = roster::placed_on(tx, RecordKind::Org, org.id.0).await?;
        let on = effective_on(effective, placed.as_deref())?;
        let parent_name = match org.parent_id {
            Some(p) => orgs::get(tx, p).await?.map(|o| o.name).unwrap_or_default(),
            None => String::new(),
        };
        let history = roster::keep(
            tx,
            &roster::org_version(org, &parent_name, placed, &on, reason),
        )
        .await?;
        orgs::dissolve(tx, org.id, &on).await?;
        if reported {
            let keeper = keeper_of(tx, org).await?;
            let mut fields = serde_json::Map::new();
            fields.insert("状态".into(), serde_json::json!(["存续", "撤销"]));
            report_one(
                tx,
                caller,
                (keeper.id, &keeper.path),
                ChangeKind::Close,
                (RecordKind::Org, org.id.0, &org.name),
                fields,
                history,
                (&on, note),
            )
            .await?;
        }
        crate::store::users::disable_at_org(tx, org.id).await?;
        Ok(on)
    }

    /// An organisation the caller may edit (for its edit page).
    pub async fn editable_org(&self, caller: Caller<'_>, id: OrgId) -> ServiceResult<orgs::Org> {
        caller.require(Action::EditDirectory, None)?;
        let mut conn = self.db.acquire().await?;
        let org = orgs::get(&mut conn, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::EditDirectory, Some(&org.path))?;
        Ok(org)
    }

    /// The organisations a firm of `city` may be put under (for the move form).
    pub async fn covers_of_city(
        &self,
        caller: Caller<'_>,
        firm: FirmId,
    ) -> ServiceResult<(firms::Firm, Vec<orgs::Org>)> {
        let mut conn = self.db.acquire().await?;
        let firm = self.editable_firm(&mut conn, caller, firm).await?;
        let kids =
            orgs::children(&mut conn, firm.city_org_id, super::directory::MAX_CHILDREN).await?;
        Ok((firm, kids))
    }
}
