//! The summary tables 附件4/5/6 of any node, computed from the records when they are viewed:
//! the header block, one page of rows in the official column set, and (附件6) the level
//! statistics block.

use std::collections::{BTreeMap, HashMap};

use super::{Caller, ServiceError, ServiceResult, beijing_today};
use crate::domain::{OrgId, TreePath};
use crate::forms::{Catalogue, Summary};
use crate::store::orgs::{self, Org};
use crate::store::packages;
use crate::store::roster::{self, CountBasis, RosterCounts};
use crate::store::summary::{self, Cursor, MemberRow, OrgRow, Stats};

/// 填报单位, 填报人, 联系电话, 填报日期, 合计.
#[derive(Debug, Clone)]
pub struct HeaderBlock {
    pub unit: String,
    pub filler: String,
    pub phone: String,
    pub date: String,
    pub total: i64,
}

#[derive(Debug, Clone)]
pub struct SummaryTable {
    pub org: Org,
    pub code: String,
    pub attachment: String,
    pub title: String,
    pub header: HeaderBlock,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub page: i64,
    pub has_next: bool,
    /// The level statistics block (附件6).
    pub stats: Option<Stats>,
}

/// Two states of the subtree's roster side by side: the previous campaign's (as of its
/// cut-off) and now, or the accepted (official) state and the current one.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub caption: String,
    /// The column heads of the two states.
    pub left: &'static str,
    pub right: &'static str,
    /// (label, left, right).
    pub rows: Vec<(&'static str, i64, i64)>,
}

impl Comparison {
    /// `+3`, `-2`, `0`.
    pub fn change(then: i64, now: i64) -> String {
        match now - then {
            d if d > 0 => format!("+{d}"),
            d => d.to_string(),
        }
    }

    fn rows(then: RosterCounts, now: RosterCounts) -> Vec<(&'static str, i64, i64)> {
        vec![
            ("党员律师", then.lawyers, now.lawyers),
            ("工作人员党员", then.staff, now.staff),
            ("正式党员", then.full_members, now.full_members),
            ("预备党员", then.probationary, now.probationary),
            ("律师事务所", then.firms, now.firms),
            ("律所党组织", then.firm_orgs, now.firm_orgs),
        ]
    }
}

/// The figures of the previous campaign (as of its cut-off) and now, from the living roster.
async fn year_on_year(
    conn: &mut sqlx::AnyConnection,
    campaign: &crate::store::campaigns::Campaign,
    path: &crate::domain::TreePath,
) -> ServiceResult<Option<Comparison>> {
    let all = crate::store::campaigns::all(conn).await?;
    let Some(prev) = all
        .iter()
        .filter(|c| c.id < campaign.id)
        .max_by_key(|c| c.id)
    else {
        return Ok(None);
    };
    let then = roster::counts(conn, path, CountBasis::AsOf(&prev.cutoff_date)).await?;
    let now = roster::counts(conn, path, CountBasis::Current).await?;
    Ok(Some(Comparison {
        caption: format!(
            "与上次登记核查相比（上次：{}，截至 {}；本次：当前名册）",
            prev.name, prev.cutoff_date
        ),
        left: "上次",
        right: "本次",
        rows: Comparison::rows(then, now),
    }))
}

pub const PAGE_SIZE: i64 = 50;

pub(crate) fn labelled(catalogue: &Catalogue, field: &str, value: &str) -> String {
    catalogue
        .field(field)
        .and_then(|f| f.list.as_deref())
        .and_then(|l| catalogue.list(l))
        .and_then(|l| l.label(value))
        .map_or_else(|| value.to_owned(), str::to_owned)
}

pub(crate) fn place(names: &HashMap<i64, String>, path: &str, depth: usize) -> String {
    TreePath::parse(path)
        .and_then(|p| p.ids().get(depth).copied())
        .and_then(|id| names.get(&id.0).cloned())
        .unwrap_or_default()
}

/// The cells of one member row; `citizen_id` is what the 公民身份号码 column shows (masked on
/// screen, the full number in an export).
pub(crate) fn member_cells(
    table: &Summary,
    catalogue: &Catalogue,
    names: &HashMap<i64, String>,
    row_no: i64,
    m: &MemberRow,
    citizen_id: &str,
) -> Vec<String> {
    let data: BTreeMap<String, String> = m
        .data
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_default();
    let own = |code: &str| -> Option<String> {
        match code {
            "name" => Some(m.name.clone()),
            "sex" => Some(m.sex.clone()),
            "ethnicity" => Some(m.ethnicity.clone()),
            "birth_date" => Some(m.birth_date.clone()),
            "citizen_id" => Some(citizen_id.to_owned()),
            "education" => Some(m.education.clone()),
            "party_status" => Some(m.party_status.clone()),
            "joined_on" => Some(m.joined_on.clone()),
            "full_member_on" => m.full_member_on.clone(),
            "licence_no" => m.licence_no.clone(),
            "practice_type" => m.practice_type.clone(),
            "mobile" => Some(m.mobile.clone()).filter(|v| !v.is_empty()),
            _ => None,
        }
    };
    table
        .columns
        .iter()
        .map(|c| match (&c.field, c.derived.as_deref()) {
            (Some(f), _) => {
                let v = if f == "citizen_id" {
                    own(f)
                } else {
                    data.get(f)
                        .filter(|v| !v.is_empty())
                        .cloned()
                        .or_else(|| own(f))
                };
                v.map(|v| labelled(catalogue, f, &v)).unwrap_or_default()
            }
            (None, Some("row_no")) => row_no.to_string(),
            (None, Some("province")) => place(names, &m.org_path, 1),
            (None, Some("city")) => place(names, &m.org_path, 2),
            (None, Some("firm_name")) => m.firm_name.clone(),
            (None, Some("firm_credit_code")) => m.firm_credit_code.clone(),
            (None, Some("org_name")) => m.org_name.clone(),
            (None, Some("case")) => m
                .case_code
                .as_deref()
                .map(|c| format!("第{c}类"))
                .unwrap_or_default(),
            (None, Some("review_state")) => m
                .state
                .map_or("未填报", crate::domain::RegistrationState::label)
                .to_owned(),
            _ => String::new(),
        })
        .collect()
}

pub(crate) fn org_cells(
    table: &Summary,
    catalogue: &Catalogue,
    names: &HashMap<i64, String>,
    row_no: i64,
    o: &OrgRow,
) -> Vec<String> {
    let data: BTreeMap<String, String> =
        o.a3.as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or_default();
    let own = |code: &str| -> Option<String> {
        match code {
            "org_full_name" => Some(o.name.clone()),
            "org_kind" => Some(o.kind.clone()),
            "secretary_name" => o.secretary_name.clone(),
            "formed_on" => o.formed_on.clone(),
            "formation" => Some(
                if o.kind == "joint_branch" {
                    "joint"
                } else {
                    "single"
                }
                .to_owned(),
            ),
            _ => None,
        }
    };
    let get = |code: &str| {
        data.get(code)
            .filter(|v| !v.is_empty())
            .cloned()
            .or_else(|| own(code))
    };
    table
        .columns
        .iter()
        .map(|c| match (&c.field, c.derived.as_deref()) {
            (Some(f), _) => get(f)
                .map(|v| labelled(catalogue, f, &v))
                .unwrap_or_default(),
            (None, Some("row_no")) => row_no.to_string(),
            (None, Some("province")) => place(names, &o.path, 1),
            (None, Some("city")) => place(names, &o.path, 2),
            (None, Some("covered_firms")) => {
                format!("{}：{}", o.covered_firms.len(), o.covered_firms.join("、"))
            }
            (None, Some("member_counts")) => format!(
                "{}/{}/{}/{}",
                o.counts[0], o.counts[1], o.counts[2], o.counts[3]
            ),
            (None, Some("parent_org")) => o.parent_name.clone().unwrap_or_default(),
            (None, Some("contact")) => {
                let name = data.get("contact_name").cloned().unwrap_or_default();
                let phone = data
                    .get("contact_phone")
                    .cloned()
                    .or_else(|| o.contact_phone.clone())
                    .unwrap_or_default();
                match (name.is_empty(), phone.is_empty()) {
                    (false, false) => format!("{name}/{phone}"),
                    (true, _) => phone,
                    (false, true) => name,
                }
            }
            _ => String::new(),
        })
        .collect()
}

/// The header block of a node's tables: the submission's people when its package went up,
/// otherwise the person looking and the organisation's own telephone.
pub(crate) async fn header_block(
    conn: &mut sqlx::AnyConnection,
    caller: Caller<'_>,
    campaign_id: i64,
    org: &Org,
    total: i64,
) -> ServiceResult<HeaderBlock> {
    let pkg = packages::get(conn, campaign_id, org.id).await?;
    Ok(HeaderBlock {
        unit: org.name.clone(),
        filler: pkg.as_ref().map_or_else(
            || match caller {
                Caller::User(a) => a.display_name.clone(),
                Caller::Operator => String::new(),
            },
            |p| p.submitter_name.clone(),
        ),
        phone: pkg.as_ref().map_or_else(
            || org.contact_phone.clone().unwrap_or_default(),
            |p| p.contact_phone.clone(),
        ),
        date: pkg.as_ref().map_or_else(
            || beijing_today().to_string(),
            |p| {
                super::beijing_time(p.submitted_at)
                    .get(..10)
                    .map(str::to_owned)
                    .unwrap_or_default()
            },
        ),
        total,
    })
}

super::area!(SummaryService);

impl SummaryService<'_> {
    /// One page of summary table `code` (`A4`, `A5` or `A6`) of the node `org_id`.
    /// The subtree's roster now beside the roster at the previous campaign's cut-off
    /// (`None` before a second campaign). Reads the whole subtree's roster twice, so the
    /// 附件6 page asks for it on demand.
    pub async fn year_on_year(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
    ) -> ServiceResult<Option<Comparison>> {
        let mut conn = self.db.acquire_read().await?;
        let org = super::readable_org(&mut conn, caller, org_id).await?;
        let campaign = super::current_campaign_of(&mut conn).await?;
        year_on_year(&mut conn, &campaign, &org.path).await
    }

    /// The subtree's roster in the accepted (official) state beside the current one, which
    /// includes the changes still on their way up (定期上报).
    pub async fn official_basis(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
    ) -> ServiceResult<Comparison> {
        let mut conn = self.db.acquire_read().await?;
        let org = super::readable_org(&mut conn, caller, org_id).await?;
        let official = roster::counts(&mut conn, &org.path, CountBasis::Accepted).await?;
        let current = roster::counts(&mut conn, &org.path, CountBasis::Current).await?;
        let waiting = crate::store::changes::unaccepted_in(&mut conn, &org.path).await?;
        Ok(Comparison {
            caption: format!(
                "正式口径与当前口径（正式：已被全国接收的名册；当前：含 {waiting} 项尚未被全国接收的变更）"
            ),
            left: "正式",
            right: "当前",
            rows: Comparison::rows(official, current),
        })
    }

    pub async fn table(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
        code: &str,
        page: i64,
    ) -> ServiceResult<SummaryTable> {
        let catalogue = Catalogue::get();
        let table = catalogue
            .summaries
            .iter()
            .find(|t| t.code.eq_ignore_ascii_case(code))
            .ok_or(ServiceError::NotFound)?;
        let page = page.max(1);
        let offset = (page - 1) * PAGE_SIZE;
        let mut conn = self.db.acquire_read().await?;
        let org = super::readable_org(&mut conn, caller, org_id).await?;
        let campaign = super::current_campaign_of(&mut conn).await?;

        let (total, mut rows, stats, paths) = if table.rows == "organisation" {
            let total = summary::org_count(&mut conn, &org.path).await?;
            let list = summary::org_rows(
                &mut conn,
                campaign.id,
                &org.path,
                &Cursor::Offset(offset),
                PAGE_SIZE + 1,
            )
            .await?;
            let stats = if table.stats {
                Some(summary::stats(&mut conn, campaign.id, &org.path).await?)
            } else {
                None
            };
            let paths: Vec<String> = list.iter().map(|o| o.path.clone()).collect();
            (total, Rows::Orgs(list), stats, paths)
        } else {
            let total = summary::member_count(&mut conn, &org.path, &table.rows).await?;
            let list = summary::member_rows(
                &mut conn,
                campaign.id,
                &org.path,
                &table.rows,
                &Cursor::Offset(offset),
                PAGE_SIZE + 1,
            )
            .await?;
            let paths: Vec<String> = list.iter().map(|m| m.org_path.clone()).collect();
            (total, Rows::Members(list), None, paths)
        };
        let has_next = rows.len() > PAGE_SIZE as usize;
        rows.truncate(PAGE_SIZE as usize);

        // 省 and 地市 come from the paths: read those names once.
        let mut ids: Vec<OrgId> = paths
            .iter()
            .filter_map(|p| TreePath::parse(p))
            .flat_map(|p| p.ids().into_iter().skip(1).take(2))
            .collect();
        ids.sort_by_key(|i| i.0);
        ids.dedup();
        let names: HashMap<i64, String> = orgs::get_many(&mut conn, &ids)
            .await?
            .into_iter()
            .map(|o| (o.id.0, o.name))
            .collect();
        let cells: Vec<Vec<String>> = match &rows {
            Rows::Orgs(list) => list
                .iter()
                .enumerate()
                .map(|(i, o)| org_cells(table, catalogue, &names, offset + i as i64 + 1, o))
                .collect(),
            Rows::Members(list) => list
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    member_cells(
                        table,
                        catalogue,
                        &names,
                        offset + i as i64 + 1,
                        m,
                        &m.citizen_id_masked,
                    )
                })
                .collect(),
        };

        let header = header_block(&mut conn, caller, campaign.id, &org, total).await?;
        drop(conn);
        if let Rows::Members(list) = &rows {
            super::reads::record(
                self,
                caller,
                super::reads::Read {
                    action: "read.summary",
                    target_kind: "org",
                    target_id: org.id.to_string(),
                    target_path: &org.path,
                    subjects: list.iter().map(|m| m.id).collect(),
                    detail: serde_json::json!({"table": table.code, "page": page}),
                },
            )
            .await?;
        }
        Ok(SummaryTable {
            org,
            code: table.code.clone(),
            attachment: table.attachment.clone(),
            title: table.title.clone(),
            header,
            columns: table.columns.iter().map(|c| c.label.clone()).collect(),
            rows: cells,
            page,
            has_next,
            stats,
        })
    }
}

enum Rows {
    Orgs(Vec<OrgRow>),
    Members(Vec<MemberRow>),
}

impl Rows {
    fn len(&self) -> usize {
        match self {
            Self::Orgs(v) => v.len(),
            Self::Members(v) => v.len(),
        }
    }

    fn truncate(&mut self, n: usize) {
        match self {
            Self::Orgs(v) => v.truncate(n),
            Self::Members(v) => v.truncate(n),
        }
    }
}
