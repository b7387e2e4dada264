//! 追责 (notice §四(二)): the register of nodes held to account — 弄虚作假 from a spot check's
//! 不属实 finding, 工作拖沓 from a missed deadline or an overdue case — with the people named
//! at the time and the evidence, read over each node's subtree, exported, and the handling a
//! superior decides.

use super::{Caller, ServiceError, ServiceResult, beijing_today};
use crate::authz::{Action, Scope};
use crate::domain::{AccountSource, AccountabilityId, CaseCategory, Handling, OrgId};
use crate::store::accountability::{self, NewAccount, Unrecorded};
use crate::store::audit::{self, NewEvent};
use crate::store::orgs;
use crate::store::packages::Package;
use crate::store::reviews::Review;
use crate::store::samples::{Item, Sample};

pub use crate::store::accountability::{Account, AccountCounts, AccountFilter, Evidence, Person};

super::area!(AccountabilityService);

/// Longest note of a decision.
const NOTE_CHARS: usize = 500;

/// A node's register.
#[derive(Debug, Clone)]
pub struct Register {
    pub org: orgs::Org,
    pub page: orgs::Page<Account>,
    pub counts: AccountCounts,
}

/// One record's page.
#[derive(Debug, Clone)]
pub struct AccountView {
    pub account: Account,
    /// The caller may record the handling (审核人 or administrator of a node above).
    pub can_decide: bool,
    /// Today in Beijing: the latest date a handling may be recorded on (the form's default).
    pub today: String,
}

fn person(role: &str, name: &str) -> Person {
    Person {
        role: role.into(),
        name: if name.trim().is_empty() {
            "（未填写）".into()
        } else {
            name.trim().into()
        },
    }
}

/// The record a 不属实 finding opens against the member's organisation: the 书记 and 组织委员
/// its package named, the reviewer who approved the record, and links to all three.
pub(super) fn finding_record(
    sample: &Sample,
    item: &Item,
    member: &crate::store::members::Member,
    package: Option<&Package>,
    approval: Option<Review>,
    why: &str,
) -> NewAccount {
    let mut people = Vec::new();
    let mut evidence = vec![Evidence {
        label: format!(
            "抽查核验记录（抽样 {} 第 {} 条）",
            sample.id.0, item.position
        ),
        link: format!("/samples/items/{}", item.id.0),
    }];
    match package {
        Some(p) => {
            people.push(person("第一责任人（书记，报送时填写）", &p.secretary_name));
            people.push(person(
                "直接责任人（组织委员，报送时填写）",
                &p.organiser_name,
            ));
            evidence.push(Evidence {
                label: format!("{}报送的材料", member.org_name),
                link: format!("/orgs/{}/package", member.org_id.0),
            });
        }
        None => people.push(person("报送情况", "该党组织尚未报送")),
    }
    if let Some(a) = approval {
        people.push(person(
            &format!("审核人（{} 审核通过）", super::beijing_time(a.at)),
            &format!("{}（{}）", a.reviewer_name, a.reviewer_role),
        ));
        evidence.push(Evidence {
            label: "审核记录".into(),
            link: format!("/members/{}/registration", member.id.0),
        });
    }
    NewAccount {
        campaign_id: sample.campaign_id,
        org_id: member.org_id,
        org_path: member.org_path.as_str().to_owned(),
        source: AccountSource::Finding,
        sample_item_id: Some(item.id),
        overdue_mark_id: None,
        case_id: None,
        summary: format!("党员{}的登记信息经抽查核验不属实。{why}", member.name),
        people,
        evidence,
    }
}

/// The people a missed deadline or an overdue case names: the node's package if it ever
/// submitted one, else the 书记 its 附件3 names.
fn named_people(u: &Unrecorded) -> Vec<Person> {
    if let (Some(s), Some(o)) = (&u.secretary, &u.organiser) {
        return vec![
            person("第一责任人（书记，报送时填写）", s),
            person("直接责任人（组织委员，报送时填写）", o),
        ];
    }
    let a3_secretary =
        u.a3.as_deref()
            .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
            .and_then(|v| v["secretary_name"].as_str().map(str::to_owned));
    match a3_secretary {
        Some(s) => vec![person("第一责任人（书记，附件3填写）", &s)],
        None => vec![person("第一责任人", "（尚未报送，附件3未填书记姓名）")],
    }
}

impl AccountabilityService<'_> {
    /// The register over the node's subtree, with counts by kind.
    pub async fn register(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
        f: &AccountFilter,
    ) -> ServiceResult<Register> {
        let mut conn = self.db.acquire().await?;
        let org = super::readable_org(&mut conn, caller, org_id).await?;
        let campaign = super::current_campaign_of(&mut conn).await?;
        let f = AccountFilter {
            page: f.page.max(1),
            per_page: f.per_page.clamp(1, 200),
            ..f.clone()
        };
        let scope = Scope::Subtree(org.path.clone());
        let page = accountability::list(&mut conn, campaign.id, &scope, &f).await?;
        let counts = accountability::counts(&mut conn, campaign.id, &scope).await?;
        Ok(Register { org, page, counts })
    }

    async fn readable(
        &self,
        conn: &mut sqlx::AnyConnection,
        caller: Caller<'_>,
        id: AccountabilityId,
    ) -> ServiceResult<Account> {
        caller.require(Action::ReadDirectory, None)?;
        let a = accountability::get(conn, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ReadDirectory, Some(&a.org_path))?;
        Ok(a)
    }

    /// A superior of the node (not the node itself) with the right role.
    fn may_decide(caller: Caller<'_>, a: &Account) -> bool {
        caller
            .require(Action::HoldToAccount, Some(&a.org_path))
            .is_ok()
            && match caller {
                Caller::Operator => true,
                Caller::User(u) => u.org_path != a.org_path,
            }
    }

    pub async fn view(
        &self,
        caller: Caller<'_>,
        id: AccountabilityId,
    ) -> ServiceResult<AccountView> {
        let mut conn = self.db.acquire().await?;
        let account = self.readable(&mut conn, caller, id).await?;
        Ok(AccountView {
            can_decide: Self::may_decide(caller, &account),
            today: beijing_today().to_string(),
            account,
        })
    }

    /// Record (or revise) how a record was handled: the decision, a note and its date (not
    /// after today).
    pub async fn decide(
        &self,
        caller: Caller<'_>,
        id: AccountabilityId,
        version: i64,
        handling: &str,
        note: &str,
        on: &str,
    ) -> ServiceResult<()> {
        caller.require(Action::HoldToAccount, None)?;
        let handling = Handling::parse(handling.trim())
            .ok_or_else(|| ServiceError::invalid("处理方式", "请选择处理方式"))?;
        let note = note.trim();
        if note.is_empty() || note.chars().count() > NOTE_CHARS {
            return Err(ServiceError::invalid(
                "处理情况",
                "请写明处理情况（500字以内）",
            ));
        }
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = time::Date::parse(on.trim(), &format)
            .map_err(|_| ServiceError::invalid("处理日期", "请按 2018-12-01 的格式填写日期"))?;
        if date > beijing_today() {
            return Err(ServiceError::invalid("处理日期", "处理日期不能晚于今天"));
        }
        let mut tx = self.db.begin().await?;
        let a = self.readable(&mut tx, caller, id).await?;
        if !Self::may_decide(caller, &a) {
            return Err(ServiceError::Forbidden);
        }
        let (on, by_name) = (date.to_string(), caller.display_name());
        accountability::decide(
            &mut tx,
            id,
            version,
            &accountability::Decision {
                handling,
                note,
                on: &on,
                by: caller.user_id(),
                by_name: &by_name,
            },
        )
        .await
        .map_err(|e| super::on_race(e, "该追责记录刚刚被他人处理，请刷新后重试"))?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "accountability.decide",
                target_kind: "accountability",
                target_id: id.to_string(),
                target_path: &a.org_path,
                detail: serde_json::json!({
                    "decision": handling.code(),
                    "on": date.to_string(),
                    "before": a.decision.map(Handling::code),
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Record every missed deadline and overdue case that has no record yet (run hourly with
    /// the deadline sweep). Returns how many were added.
    pub async fn sweep(&self) -> ServiceResult<u64> {
        const CHUNK: i64 = 5_000;
        let today = beijing_today().to_string();
        let mut added = 0;
        loop {
            let mut tx = self.db.begin().await?;
            let marks = accountability::unrecorded_marks(&mut tx, CHUNK).await?;
            let cases = accountability::unrecorded_cases(&mut tx, &today, CHUNK).await?;
            if marks.is_empty() && cases.is_empty() {
                break;
            }
            let mut records = Vec::with_capacity(marks.len() + cases.len());
            for m in &marks {
                records.push(NewAccount {
                    campaign_id: m.campaign_id,
                    org_id: m.org_id,
                    org_path: m.org_path.clone(),
                    source: AccountSource::OverdueMark,
                    sample_item_id: None,
                    overdue_mark_id: Some(m.source_id),
                    case_id: None,
                    summary: format!("{}未在截止日期（{}）前报送材料", m.org_name, m.due),
                    people: named_people(m),
                    evidence: vec![Evidence {
                        label: "报送情况".into(),
                        link: format!("/orgs/{}/package", m.org_id.0),
                    }],
                });
            }
            for c in &cases {
                let category = c
                    .category
                    .as_deref()
                    .and_then(CaseCategory::parse)
                    .map_or("", CaseCategory::label);
                records.push(NewAccount {
                    campaign_id: c.campaign_id,
                    org_id: c.org_id,
                    org_path: c.org_path.clone(),
                    source: AccountSource::OverdueCase,
                    sample_item_id: None,
                    overdue_mark_id: None,
                    case_id: Some(crate::domain::CaseId(c.source_id)),
                    summary: format!(
                        "{}负责的党员{}分类处理（{category}）超过办理期限（{}）未办结",
                        c.org_name,
                        c.member_name.as_deref().unwrap_or(""),
                        c.due
                    ),
                    people: named_people(c),
                    evidence: vec![Evidence {
                        label: "分类处理案件".into(),
                        link: format!("/cases/{}", c.source_id),
                    }],
                });
            }
            added += records.len() as u64;
            accountability::insert(&mut tx, records).await?;
            tx.commit().await?;
        }
        Ok(added)
    }

    /// The register over the node's subtree as an .xlsx (file name, bytes). Audited.
    pub async fn register_xlsx(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
    ) -> ServiceResult<(String, Vec<u8>)> {
        let mut all = Vec::new();
        let mut page = 1;
        let org = loop {
            let r = self
                .register(
                    caller,
                    org_id,
                    &AccountFilter {
                        page,
                        per_page: 200,
                        ..AccountFilter::default()
                    },
                )
                .await?;
            all.extend(r.page.items);
            if !r.page.has_next {
                break r.org;
            }
            page += 1;
        };
        let mark = super::watermark(caller, &org.name, None);
        let bytes = register_workbook(&all, &mark)
            .map_err(|e| ServiceError::Failed(format!("无法生成 Excel 文件：{e}")))?;
        self.audit_export(
            caller,
            NewEvent {
                action: "export.accountability",
                target_kind: "org",
                target_id: org.id.to_string(),
                target_path: &org.path,
                detail: serde_json::json!({ "records": all.len() }),
            },
            &[],
            &mark,
        )
        .await?;
        Ok((format!("追责登记-{}.xlsx", org.name), bytes))
    }
}

fn register_workbook(
    all: &[Account],
    mark: &crate::watermark::Watermark,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use crate::workbook::{Cell, a4_landscape, write_table};
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    a4_landscape(ws, "追责登记", 0)?;
    let cols = [
        "编号",
        "党组织",
        "类别",
        "来源",
        "情况",
        "责任人",
        "处理方式",
        "处理情况",
        "处理日期",
        "处理人",
    ];
    ws.set_column_width(1, 24)?;
    ws.set_column_width(4, 40)?;
    ws.set_column_width(5, 36)?;
    let rows: Vec<Vec<Cell>> = all
        .iter()
        .map(|a| {
            let people: Vec<String> = a
                .people
                .iter()
                .map(|p| format!("{}：{}", p.role, p.name))
                .collect();
            vec![
                Cell::from(a.id.0.to_string()),
                a.org_name.clone().into(),
                a.kind.label().into(),
                a.source.label().into(),
                a.summary.clone().into(),
                people.join("\n").into(),
                a.decision.map_or("待处理", Handling::label).into(),
                a.decision_note.clone().unwrap_or_default().into(),
                a.decided_on.clone().unwrap_or_default().into(),
                a.decider_name.clone().unwrap_or_default().into(),
            ]
        })
        .collect();
    write_table(ws, 0, &cols, &rows)?;
    mark.apply(&mut wb);
    wb.save_to_buffer()
}
