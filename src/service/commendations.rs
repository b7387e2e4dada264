//! 宣传 (notice §四(五)): 先进党组织, 优秀党员 and 优秀党务工作者 nominated by a level with a
//! citation (事迹) for its own award or one of a level above, forwarded up the chain by each
//! level's 审核人 until the awarding level approves (or a level declines, with its reason);
//! what would embarrass the award is shown before the nomination is made and kept with it.

use std::collections::BTreeMap;

use super::{Caller, ServiceError, ServiceResult};
use crate::authz::Action;
use crate::domain::{FieldError, MemberId, OrgId};
use crate::forms::Catalogue;
use crate::store::audit::{self, NewEvent};
use crate::store::commendations::{self as store, Commendation, Filter, Kind, State, Step};
use crate::store::orgs::{self, Org};

/// A nomination as the form sends it.
#[derive(Debug, Clone, Default)]
pub struct NominationForm {
    pub kind: String,
    pub member: Option<MemberId>,
    pub org: Option<OrgId>,
    pub post: String,
    pub citation: String,
    pub year: String,
    pub awarding: Option<OrgId>,
    /// 表彰日期, for an award of the nominating level itself.
    pub awarded_on: String,
    /// The nominator has seen the warnings and nominates all the same.
    pub confirmed: bool,
}

/// What became of a nomination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nominated {
    /// Nothing stored: these would embarrass the award; nominate again with `confirmed`.
    Warnings(Vec<String>),
    /// Stored (waiting at the next level, or — the nominating level's own award — approved).
    Done(i64),
}

/// A level's decision on a commendation it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// 审核同意并转报上级 (a level below the awarding one).
    Forward,
    /// 批准表彰 (the awarding level).
    Approve,
    /// 不予同意, with a reason.
    Decline,
}

impl Decision {
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "forward" => Some(Self::Forward),
            "approve" => Some(Self::Approve),
            "decline" => Some(Self::Decline),
            _ => None,
        }
    }
}

/// A commendation with its history, and what the viewer may do with it.
#[derive(Debug, Clone)]
pub struct Shown {
    pub c: Commendation,
    pub steps: Vec<Step>,
    /// The viewer is the 审核人 of the level holding it.
    pub can_decide: bool,
    /// The holding level is the awarding one (approve), or below it (forward).
    pub at_awarding_level: bool,
}

/// The subject's name, organisation path, and what to warn about.
struct Subject {
    name: String,
    path: crate::domain::TreePath,
    warnings: Vec<String>,
}

/// The form's 党费 and 组织生活 findings on the member's latest form, as of the campaign's
/// judging day.
async fn form_concerns(
    conn: &mut sqlx::AnyConnection,
    member: MemberId,
) -> ServiceResult<Vec<String>> {
    let Some(campaign) = crate::store::campaigns::latest(conn).await? else {
        return Ok(Vec::new());
    };
    let Some(reg) = crate::store::registrations::get(conn, campaign.id, member).await? else {
        return Ok(Vec::new());
    };
    let catalogue = Catalogue::get();
    let (Some(form), Some(day)) = (
        catalogue.form(&reg.form_code),
        crate::forms::rules::parse_date(campaign.judged_at()),
    ) else {
        return Ok(Vec::new());
    };
    let values: BTreeMap<String, String> = serde_json::from_str(&reg.data).unwrap_or_default();
    Ok(crate::forms::rules::validate(catalogue, form, &values, day)
        .into_iter()
        .filter(|f| matches!(f.rule, "DUES-ARREARS" | "LIFE-GAP"))
        .map(|f| format!("登记表：{}", f.message))
        .collect())
}

async fn subject_of(
    conn: &mut sqlx::AnyConnection,
    caller: Caller<'_>,
    node: &Org,
    kind: Kind,
    member: Option<MemberId>,
    org: Option<OrgId>,
) -> ServiceResult<Subject> {
    match kind {
        Kind::Member | Kind::Worker => {
            let id = member.ok_or_else(|| ServiceError::invalid("党员", "请选择被推荐的党员"))?;
            let m = crate::store::members::get(conn, id)
                .await?
                .ok_or(ServiceError::NotFound)?;
            caller.require(Action::ReadMember(id), Some(&m.org_path))?;
            if !node.path.contains(&m.org_path) {
                return Err(ServiceError::NotFound);
            }
            if let Some(on) = m.stopped_on {
                return Err(ServiceError::Conflict(super::Refusal::MemberStopped(on)));
            }
            let mut warnings = store::member_concerns(conn, id).await?;
            warnings.extend(form_concerns(conn, id).await?);
            Ok(Subject {
                name: m.name,
                path: m.org_path,
                warnings,
            })
        }
        Kind::Org => {
            let id = org.ok_or_else(|| ServiceError::invalid("党组织", "请选择被推荐的党组织"))?;
            let o = orgs::get(conn, id).await?.ok_or(ServiceError::NotFound)?;
            caller.require(Action::ReadDirectory, Some(&o.path))?;
            if !node.path.contains(&o.path) {
                return Err(ServiceError::NotFound);
            }
            if store::dissolved(conn, id).await? {
                return Err(ServiceError::invalid("党组织", "该党组织已撤销"));
            }
            Ok(Subject {
                name: o.name,
                path: o.path,
                warnings: store::org_concerns(conn, id).await?,
            })
        }
    }
}

super::area!(CommendationsService);

impl CommendationsService<'_> {
    /// The nominating node and the levels an award can be of (the node and each level above
    /// it, nearest first), for the nomination form.
    pub async fn levels(&self, caller: Caller<'_>, node: OrgId) -> ServiceResult<(Org, Vec<Org>)> {
        caller.require(Action::ManageMembers, None)?;
        let mut conn = self.db.acquire().await?;
        let org = orgs::get(&mut conn, node)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ManageMembers, Some(&org.path))?;
        let mut levels = Vec::new();
        for id in org.path.ids().into_iter().rev() {
            if let Some(o) = orgs::get(&mut conn, id).await? {
                levels.push(o);
            }
        }
        Ok((org, levels))
    }

    /// The subject's name and the warnings a nomination of it would carry (the form shows
    /// them before anything is stored).
    pub async fn preview(
        &self,
        caller: Caller<'_>,
        node: OrgId,
        kind: Kind,
        member: Option<MemberId>,
        org: Option<OrgId>,
    ) -> ServiceResult<(String, Vec<String>)> {
        caller.require(Action::ManageMembers, None)?;
        let mut conn = self.db.acquire().await?;
        let node = orgs::get(&mut conn, node)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ManageMembers, Some(&node.path))?;
        let s = subject_of(&mut conn, caller, &node, kind, member, org).await?;
        Ok((s.name, s.warnings))
    }

    /// Nominate from `node` (its clerks, reviewers and administrators). Bad fields are named;
    /// with warnings and without `confirmed` nothing is stored.
    pub async fn nominate(
        &self,
        caller: Caller<'_>,
        node: OrgId,
        f: &NominationForm,
    ) -> ServiceResult<Nominated> {
        caller.require(Action::ManageMembers, None)?;
        let mut errors = Vec::new();
        let kind = Kind::parse(f.kind.trim());
        if kind.is_none() {
            errors.push(FieldError::new("表彰类别", "请选择表彰类别"));
        }
        let citation = f.citation.trim();
        let n = citation.chars().count();
        if n < 10 {
            errors.push(FieldError::new(
                "主要事迹",
                "请填写主要事迹（不少于10个字）",
            ));
        } else if n > 3000 {
            errors.push(FieldError::new("主要事迹", "主要事迹不超过3000个字"));
        }
        let post = f.post.trim();
        if kind == Some(Kind::Worker) && post.is_empty() {
            errors.push(FieldError::new(
                "党内职务",
                "请填写党内职务或所做党务工作（如党支部书记、组织委员、党务工作经办人）",
            ));
        } else if post.chars().count() > 50 {
            errors.push(FieldError::new("党内职务", "不超过50个字"));
        }
        let year = f
            .year
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|y| (2000..=2100).contains(y));
        if year.is_none() {
            errors.push(FieldError::new(
                "表彰年度",
                "请填写四位数的表彰年度，如 2018",
            ));
        }
        let mut tx = self.db.begin().await?;
        let node = orgs::get(&mut tx, node)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ManageMembers, Some(&node.path))?;
        let awarding = match f.awarding {
            Some(a) if node.path.ids().contains(&a) => orgs::get(&mut tx, a).await?,
            _ => None,
        };
        if awarding.is_none() {
            errors.push(FieldError::new(
                "表彰单位",
                "请选择本组织或上级党组织作为表彰单位",
            ));
        }
        let own_award = awarding.as_ref().is_some_and(|a| a.id == node.id);
        let awarded_on = f.awarded_on.trim();
        if own_award && crate::forms::rules::parse_date(awarded_on).is_none() {
            errors.push(FieldError::new(
                "表彰日期",
                "本级表彰请填写表彰日期（年-月-日，如 2018-07-01）",
            ));
        }
        let (Some(kind), Some(year), Some(awarding)) = (kind, year, awarding) else {
            return Err(ServiceError::Invalid(errors));
        };
        let subject = match subject_of(&mut tx, caller, &node, kind, f.member, f.org).await {
            Ok(s) => s,
            Err(ServiceError::Invalid(more)) => {
                errors.extend(more);
                return Err(ServiceError::Invalid(errors));
            }
            Err(e) => return Err(e),
        };
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        if !subject.warnings.is_empty() && !f.confirmed {
            return Ok(Nominated::Warnings(subject.warnings));
        }
        let holder = if own_award { None } else { node.parent_id };
        let id = store::insert(
            &mut tx,
            &store::NewCommendation {
                kind,
                member_id: (kind != Kind::Org).then_some(f.member).flatten(),
                org_id: (kind == Kind::Org).then_some(f.org).flatten(),
                subject_name: &subject.name,
                subject_path: &subject.path,
                post: (kind == Kind::Worker).then_some(post),
                citation,
                year,
                nominator_org_id: node.id,
                awarding_org_id: awarding.id,
                awarding_path: &awarding.path,
                holder_org_id: holder,
                awarded_on: own_award.then_some(awarded_on),
                warnings: &subject.warnings,
                created_by: caller.user_id(),
            },
        )
        .await?;
        let name = caller.display_name();
        store::add_step(
            &mut tx,
            id,
            node.id,
            "nominated",
            None,
            caller.user_id(),
            &name,
        )
        .await?;
        if own_award {
            store::add_step(
                &mut tx,
                id,
                node.id,
                "approved",
                None,
                caller.user_id(),
                &name,
            )
            .await?;
        }
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "commendation.nominate",
                target_kind: "commendation",
                target_id: id.to_string(),
                target_path: &subject.path,
                detail: serde_json::json!({
                    "kind": kind.code(),
                    "subject": subject.name,
                    "year": year,
                    "awarding": awarding.id.0,
                    "warnings": subject.warnings,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Nominated::Done(id))
    }

    /// Decide a commendation held by the caller's level (its 审核人 only).
    pub async fn decide(
        &self,
        caller: Caller<'_>,
        id: i64,
        decision: Decision,
        note: &str,
        awarded_on: &str,
    ) -> ServiceResult<()> {
        caller.require(Action::Review, None)?;
        let note = note.trim();
        if decision == Decision::Decline && note.is_empty() {
            return Err(ServiceError::invalid("理由", "请填写不予同意的理由"));
        }
        if note.chars().count() > 500 {
            return Err(ServiceError::invalid("理由", "不超过500个字"));
        }
        let mut tx = self.db.begin().await?;
        let c = store::get(&mut tx, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ReadDirectory, Some(&c.subject_path))?;
        let Some(holder_id) = c.holder_org_id else {
            return Err(ServiceError::Conflict(super::Refusal::CommendationNotHere(
                format!("当前为“{}”", c.state.label()),
            )));
        };
        let holder = orgs::get(&mut tx, holder_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::Review, Some(&holder.path))?;
        if let Caller::User(a) = caller
            && a.org_id != holder.id
        {
            return Err(ServiceError::Conflict(super::Refusal::CommendationNotHere(
                format!("正在{}审批", holder.name),
            )));
        }
        let at_awarding = holder.id == c.awarding_org_id;
        let (next, state, date, step) = match decision {
            Decision::Approve if !at_awarding => {
                return Err(ServiceError::Conflict(super::Refusal::NotTheAwardingLevel(
                    c.awarding_name.clone(),
                )));
            }
            Decision::Approve => {
                if crate::forms::rules::parse_date(awarded_on.trim()).is_none() {
                    return Err(ServiceError::invalid(
                        "表彰日期",
                        "请填写表彰日期（年-月-日，如 2018-07-01）",
                    ));
                }
                (None, State::Approved, Some(awarded_on.trim()), "approved")
            }
            Decision::Forward if at_awarding => {
                return Err(ServiceError::invalid(
                    "审批意见",
                    "本级即为表彰单位，请批准表彰或不予同意",
                ));
            }
            Decision::Forward => (holder.parent_id, State::Pending, None, "forwarded"),
            Decision::Decline => (None, State::Declined, None, "declined"),
        };
        if !store::advance(&mut tx, id, holder.id, next, state, date).await? {
            return Err(ServiceError::Conflict(super::Refusal::CommendationNotHere(
                "已由他人处理".into(),
            )));
        }
        store::add_step(
            &mut tx,
            id,
            holder.id,
            step,
            (!note.is_empty()).then_some(note),
            caller.user_id(),
            &caller.display_name(),
        )
        .await?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: match decision {
                    Decision::Forward => "commendation.forward",
                    Decision::Approve => "commendation.approve",
                    Decision::Decline => "commendation.decline",
                },
                target_kind: "commendation",
                target_id: id.to_string(),
                target_path: &c.subject_path,
                detail: serde_json::json!({ "at": holder.id.0, "note": note, "awarded_on": date }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One commendation the caller may read (its subject in their subtree, or waiting at or
    /// awarded by their level), with its history.
    pub async fn show(&self, caller: Caller<'_>, id: i64) -> ServiceResult<Shown> {
        caller.require(Action::ReadDirectory, None)?;
        let mut conn = self.db.acquire().await?;
        let c = store::get(&mut conn, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ReadDirectory, Some(&c.subject_path))?;
        let steps = store::steps(&mut conn, id).await?;
        let can_decide = match (caller, c.holder_org_id) {
            (Caller::User(a), Some(h)) => a.org_id == h && a.role == crate::domain::Role::Reviewer,
            (Caller::Operator, Some(_)) => true,
            _ => false,
        };
        Ok(Shown {
            at_awarding_level: c.holder_org_id == Some(c.awarding_org_id),
            c,
            steps,
            can_decide,
        })
    }

    /// The commendations of a node's subtree by the filter, and those waiting for its
    /// decision.
    pub async fn list(
        &self,
        caller: Caller<'_>,
        node: OrgId,
        filter: &Filter,
    ) -> ServiceResult<(Org, Vec<Commendation>, Vec<Commendation>)> {
        let mut conn = self.db.acquire_read().await?;
        let org = super::readable_org(&mut conn, caller, node).await?;
        let subtree = crate::authz::Scope::Subtree(org.path.clone());
        let all = store::list(&mut conn, &subtree, filter).await?;
        let waiting = store::list(
            &mut conn,
            &subtree,
            &Filter {
                held_by: Some(org.id),
                ..Filter::default()
            },
        )
        .await?;
        Ok((org, all, waiting))
    }

    /// The commendations of one member or organisation (for its page).
    pub async fn of_subject(
        &self,
        caller: Caller<'_>,
        member: Option<MemberId>,
        org: Option<OrgId>,
    ) -> ServiceResult<Vec<Commendation>> {
        caller.require(Action::ReadDirectory, None)?;
        let mut conn = self.db.acquire().await?;
        let all = store::of_subject(&mut conn, member, org).await?;
        Ok(all
            .into_iter()
            .filter(|c| {
                caller
                    .require(Action::ReadDirectory, Some(&c.subject_path))
                    .is_ok()
            })
            .collect())
    }

    /// 表彰名单: the awards a node made in a year (approved), by kind and name; the year shown
    /// (the one asked for, else the latest with awards).
    pub async fn roll(
        &self,
        caller: Caller<'_>,
        node: OrgId,
        year: Option<i64>,
    ) -> ServiceResult<(Org, Option<i64>, Vec<Commendation>)> {
        let mut conn = self.db.acquire_read().await?;
        let org = super::readable_org(&mut conn, caller, node).await?;
        let subtree = crate::authz::Scope::Subtree(org.path.clone());
        let filter = Filter {
            state: Some(State::Approved),
            awarded_by: Some(org.id),
            ..Filter::default()
        };
        let year = match year {
            Some(y) => Some(y),
            None => store::list(&mut conn, &subtree, &filter)
                .await?
                .first()
                .map(|c| c.year),
        };
        let rows = match year {
            Some(y) => {
                store::list(
                    &mut conn,
                    &subtree,
                    &Filter {
                        year: Some(y),
                        ..filter
                    },
                )
                .await?
            }
            None => Vec::new(),
        };
        Ok((org, year, rows))
    }

    /// The 表彰名单 as .xlsx (watermarked, audited); the file name.
    pub async fn roll_xlsx(
        &self,
        caller: Caller<'_>,
        node: OrgId,
        year: Option<i64>,
    ) -> ServiceResult<(String, Vec<u8>)> {
        let (org, year, rows) = self.roll(caller, node, year).await?;
        let title = roll_title(&org, year);
        let mark = super::watermark(caller, &org.name, None);
        let bytes = roll_workbook(&title, &rows, &mark)
            .map_err(|e| ServiceError::Failed(format!("无法生成 Excel 文件：{e}")))?;
        self.audit_export(
            caller,
            NewEvent {
                action: "export.commendations",
                target_kind: "org",
                target_id: org.id.to_string(),
                target_path: &org.path,
                detail: serde_json::json!({ "year": year, "rows": rows.len() }),
            },
            &[],
            &mark,
        )
        .await?;
        Ok((format!("{title}.xlsx"), bytes))
    }
}

/// 「成都市律师行业党委 2018年度表彰名单」.
pub fn roll_title(org: &Org, year: Option<i64>) -> String {
    match year {
        Some(y) => format!("{} {y}年度表彰名单", org.name),
        None => format!("{} 表彰名单", org.name),
    }
}

fn roll_workbook(
    title: &str,
    rows: &[Commendation],
    mark: &crate::watermark::Watermark,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use crate::workbook::{Cell, a4_landscape, write_table};
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    a4_landscape(ws, "表彰名单", 1)?;
    ws.write_string_with_format(0, 0, title, &rust_xlsxwriter::Format::new().set_bold())?;
    ws.set_column_width(1, 36)?;
    ws.set_column_width(4, 60)?;
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|c| {
            vec![
                Cell::from(c.kind.label()),
                Cell::from(c.subject_name.clone()),
                Cell::from(c.post.clone().unwrap_or_default()),
                Cell::from(c.awarded_on.clone().unwrap_or_default()),
                Cell::from(c.citation.clone()),
                Cell::from(c.nominator_name.clone()),
            ]
        })
        .collect();
    write_table(
        ws,
        1,
        &[
            "表彰类别",
            "名称或姓名",
            "党内职务",
            "表彰日期",
            "主要事迹",
            "推荐单位",
        ],
        &cells,
    )?;
    mark.apply(&mut wb);
    wb.save_to_buffer()
}
