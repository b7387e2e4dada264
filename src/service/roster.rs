//! 名册 and 档案: the four rosters of a node's subtree, now or as they stood on a past date,
//! and the archive of a member or an organisation — its whole story in time order.

use super::{Caller, ServiceError, ServiceResult};
use crate::authz::Action;
use crate::domain::{FieldError, MemberId, OrgId, TreePath};
use crate::store::orgs::{self, Org, Page};
use crate::store::roster::{self as store, RecordKind};

pub use crate::store::roster::{Line, Roster, RosterFilter};

/// Most lines on a printed roster (beyond: export).
pub const PRINT_LINES: i64 = 5_000;

super::area!(RosterService);

/// Check the day a roster is asked for: `YYYY-MM-DD`, not after today.
fn checked_as_of(f: &RosterFilter) -> ServiceResult<()> {
    if let Some(d) = &f.as_of {
        if crate::forms::rules::parse_date(d).is_none() {
            return Err(ServiceError::Invalid(vec![FieldError::new(
                "as_of",
                "截至日期应为“年-月-日”，例如 2018-12-31",
            )]));
        }
        if d.as_str() > super::beijing_today().to_string().as_str() {
            return Err(ServiceError::Invalid(vec![FieldError::new(
                "as_of",
                "截至日期不能晚于今天",
            )]));
        }
    }
    Ok(())
}

/// One moment of an archive: when, what, who, the details, and the fields a new version of
/// a form changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Unix seconds, for the order.
    pub at: i64,
    pub when: String,
    pub what: String,
    pub who: String,
    pub detail: String,
    pub changes: Vec<super::review::Change>,
}

/// The change records (定期上报) of one record as archive entries.
async fn reported_entries(
    conn: &mut sqlx::AnyConnection,
    kind: RecordKind,
    id: i64,
) -> ServiceResult<Vec<Entry>> {
    Ok(crate::store::changes::of_subject(conn, kind, id)
        .await?
        .into_iter()
        .map(|c| {
            let fields: Vec<String> = c
                .fields
                .iter()
                .map(|(k, a, b)| format!("{k}：{a} → {b}"))
                .collect();
            Entry::new(
                c.recorded_at,
                format!("定期上报变更（{}，{}）", c.kind.label(), c.state.label()),
                c.recorder_name.clone(),
                format!(
                    "{}；{}报送期间 {}，由{}登记",
                    fields.join("；"),
                    if c.effective_on.is_empty() {
                        String::new()
                    } else {
                        format!("生效日期 {}；", c.effective_on)
                    },
                    crate::domain::change::period_label(&c.period),
                    c.org_name
                ),
            )
        })
        .collect())
}

impl Entry {
    fn new(at: i64, what: impl Into<String>, who: impl Into<String>, detail: String) -> Self {
        Self {
            at,
            when: super::beijing_time(at),
            what: what.into(),
            who: who.into(),
            detail,
            changes: Vec::new(),
        }
    }
}

/// A member's or an organisation's archive.
#[derive(Debug, Clone)]
pub struct Archive {
    pub title: String,
    /// The path of the record now (for the breadcrumbs).
    pub path: TreePath,
    /// Where the record sits now, in words.
    pub place: String,
    pub entries: Vec<Entry>,
    /// Placement versions: (from, to, where, category).
    pub versions: Vec<(String, String, String, String)>,
}

fn version_line(v: &store::Version) -> (String, String, String, String) {
    (
        v.from_date.clone().unwrap_or_else(|| "（建档）".into()),
        v.to_date.clone(),
        v.place.clone(),
        v.category.clone(),
    )
}

fn reason_label(r: &str) -> &'static str {
    match r {
        "transfer" => "组织关系转接",
        "move" => "律所调整所属党组织",
        "close" => "注销",
        "dissolve" => "撤销",
        "merge" => "合并",
        "stop" => "停止登记",
        "reparent" => "调整隶属关系",
        _ => "信息变更",
    }
}

/// Every path a record has had: its versions' and its current one, each once.
fn paths_of(versions: &[store::Version], now: &TreePath) -> Vec<TreePath> {
    let mut paths: Vec<TreePath> = versions.iter().map(|v| v.path.clone()).collect();
    paths.push(now.clone());
    paths.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    paths.dedup();
    paths
}

fn event_entry(e: &crate::store::audit::Event) -> Entry {
    use crate::domain::audit::{action_label, detail_text};
    let who = match (&e.actor_name, &e.actor_org) {
        (Some(n), Some(o)) => format!("{n}（{o}）"),
        (Some(n), None) => n.clone(),
        _ => e.actor_username.clone(),
    };
    Entry::new(e.at, action_label(&e.action), who, detail_text(&e.detail))
}

impl RosterService<'_> {
    async fn node(
        &self,
        conn: &mut sqlx::AnyConnection,
        caller: Caller<'_>,
        id: OrgId,
    ) -> ServiceResult<Org> {
        caller.require(Action::ReadDirectory, None)?;
        let org = orgs::get(conn, id).await?.ok_or(ServiceError::NotFound)?;
        caller.require(Action::ReadDirectory, Some(&org.path))?;
        Ok(org)
    }

    /// One page of a roster of the node's subtree; a member roster's page is a read of
    /// personal data, audited with the members shown.
    pub async fn page(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
        f: &RosterFilter,
    ) -> ServiceResult<(Org, Page<Line>)> {
        checked_as_of(f)?;
        let mut conn = self.db.acquire().await?;
        let org = self.node(&mut conn, caller, org_id).await?;
        let page = store::page(&mut conn, &org.path, f).await?;
        drop(conn);
        if matches!(f.roster, Roster::Lawyers | Roster::Staff) {
            self.audit_read(caller, &org, f, page.items.iter().map(|l| l.id).collect())
                .await?;
        }
        Ok((org, page))
    }

    /// The lines of a roster to print (at most [`PRINT_LINES`]; `true` when cut).
    pub async fn print(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
        f: &RosterFilter,
    ) -> ServiceResult<(Org, Vec<Line>, bool)> {
        checked_as_of(f)?;
        let mut conn = self.db.acquire().await?;
        let org = self.node(&mut conn, caller, org_id).await?;
        let mut lines = store::all(&mut conn, &org.path, f, PRINT_LINES).await?;
        drop(conn);
        let cut = lines.len() as i64 > PRINT_LINES;
        lines.truncate(PRINT_LINES as usize);
        if matches!(f.roster, Roster::Lawyers | Roster::Staff) {
            self.audit_read(caller, &org, f, lines.iter().map(|l| l.id).collect())
                .await?;
        }
        Ok((org, lines, cut))
    }

    async fn audit_read(
        &self,
        caller: Caller<'_>,
        org: &Org,
        f: &RosterFilter,
        subjects: Vec<i64>,
    ) -> ServiceResult<()> {
        super::reads::record(
            self,
            caller,
            super::reads::Read {
                action: "read.roster",
                target_kind: "org",
                target_id: org.id.to_string(),
                target_path: &org.path,
                subjects,
                detail: serde_json::json!({
                    "roster": f.roster.label(),
                    "as_of": f.as_of.clone().unwrap_or_default(),
                    "page": f.page,
                }),
            },
        )
        .await
    }

    /// A member's archive: the record, every version of their placement, every form version
    /// decided on (with what changed), every change recorded, transfers, cases, and the
    /// packages of their organisations.
    pub async fn member_archive(&self, caller: Caller<'_>, id: MemberId) -> ServiceResult<Archive> {
        let mut conn = self.db.acquire().await?;
        let member = crate::store::members::get(&mut conn, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ReadDirectory, None)?;
        caller.require(Action::ReadMember(id), Some(&member.org_path))?;
        let versions = store::versions(&mut conn, RecordKind::Member, id.0).await?;
        let placed = store::placed_on(&mut conn, RecordKind::Member, id.0).await?;
        let mut entries = Vec::new();
        if let Some(at) = store::member_created_at(&mut conn, id).await? {
            entries.push(Entry::new(at, "建立党员记录", "", String::new()));
        }
        for v in &versions {
            entries.push(Entry::new(
                v.at,
                format!("{}：此前所在", reason_label(&v.reason)),
                "",
                format!(
                    "{} 至 {}：{}（{}）",
                    v.from_date.as_deref().unwrap_or("建档"),
                    v.to_date,
                    v.place,
                    v.detail.get("org").and_then(|o| o.as_str()).unwrap_or("")
                ),
            ));
        }
        // Every decision on a form, and what changed since the version decided before.
        let campaigns = crate::store::campaigns::all(&mut conn).await?;
        let campaign_name = |cid: i64| {
            campaigns
                .iter()
                .find(|c| c.id == cid)
                .map_or_else(String::new, |c| c.name.clone())
        };
        let mut previous: Option<String> = None;
        for (cid, r) in crate::store::reviews::of_member(&mut conn, id).await? {
            let what = if r.decision == "approve" {
                "登记表审核通过"
            } else {
                "登记表退回"
            };
            let mut e = Entry::new(
                r.at,
                what,
                format!("{}（{}）", r.reviewer_name, r.reviewer_role),
                format!(
                    "{}；{}内容摘要 {}…",
                    campaign_name(cid),
                    r.note
                        .as_deref()
                        .map(|n| format!("说明：{n}；"))
                        .unwrap_or_default(),
                    &r.digest[..r.digest.len().min(16)]
                ),
            );
            if let Some(before) = &previous {
                e.changes = super::review::changes(before, &r.snapshot);
            }
            previous = Some(r.snapshot);
            entries.push(e);
        }
        let paths = paths_of(&versions, &member.org_path);
        for e in crate::store::audit::changes_of(&mut conn, "member", id.0, &paths, 2_000).await? {
            // Decisions are listed above with their content.
            if e.action == "registration.approve" || e.action == "registration.return" {
                continue;
            }
            entries.push(event_entry(&e));
        }
        entries.extend(reported_entries(&mut conn, RecordKind::Member, id.0).await?);
        for t in crate::store::transfers::of_member(&mut conn, id).await? {
            entries.push(Entry::new(
                t.decided_at.unwrap_or(t.started_at),
                format!("组织关系转接（{}）", t.state.label()),
                t.decided_name
                    .clone()
                    .unwrap_or_else(|| t.started_name.clone()),
                format!(
                    "自 {} 转至 {}（{}），生效日期 {}；原因：{}",
                    t.from_firm_name, t.to_firm_name, t.to_org_name, t.effective_on, t.reason
                ),
            ));
        }
        for c in &campaigns {
            if let Some(k) = crate::store::cases::of_member(&mut conn, c.id, id).await? {
                entries.push(Entry::new(
                    k.opened_at,
                    format!("分类处理立案（{}）", k.category.label()),
                    k.opener_name.clone(),
                    format!("{}；负责：{}", c.name, k.owner_name),
                ));
                if let Some(at) = k.closed_at {
                    entries.push(Entry::new(
                        at,
                        "分类处理办结",
                        k.closer_name.clone().unwrap_or_default(),
                        k.outcome.map(|o| o.label().to_owned()).unwrap_or_default(),
                    ));
                }
            }
            // The packages the member's forms travelled in: their organisations' up the path.
            for node in member.org_path.ids() {
                if let Some(p) = crate::store::packages::get(&mut conn, c.id, node).await? {
                    let name = orgs::get(&mut conn, node)
                        .await?
                        .map(|o| o.name)
                        .unwrap_or_default();
                    entries.push(Entry::new(
                        p.submitted_at,
                        "所在组织报送上级",
                        p.submitter_name.clone(),
                        format!("{}：{}（{}）", c.name, name, p.state.label()),
                    ));
                    if let (Some(at), Some(by)) = (p.first_accepted_at, &p.decider_name) {
                        entries.push(Entry::new(
                            at,
                            "上级接收所在组织的报送",
                            by.clone(),
                            format!("{}：{}", c.name, name),
                        ));
                    }
                }
            }
        }
        entries.sort_by_key(|e| e.at);
        let mut lines: Vec<(String, String, String, String)> =
            versions.iter().map(version_line).collect();
        lines.push((
            placed.unwrap_or_else(|| "（建档）".into()),
            "至今".into(),
            member.firm_name.clone(),
            member.party_status.clone(),
        ));
        drop(conn);
        super::reads::record(
            self,
            caller,
            super::reads::Read {
                action: "read.archive",
                target_kind: "member",
                target_id: id.to_string(),
                target_path: &member.org_path,
                subjects: vec![id.0],
                detail: serde_json::json!({}),
            },
        )
        .await?;
        Ok(Archive {
            title: format!("{} 的档案", member.name),
            path: member.org_path.clone(),
            place: format!("{}（{}）", member.firm_name, member.org_name),
            entries,
            versions: lines,
        })
    }

    /// An organisation's archive: its versions, every change recorded against it (附件3
    /// saves, packages, edits), the firms it covered over time.
    pub async fn org_archive(&self, caller: Caller<'_>, id: OrgId) -> ServiceResult<Archive> {
        let mut conn = self.db.acquire().await?;
        let org = self.node(&mut conn, caller, id).await?;
        let versions = store::versions(&mut conn, RecordKind::Org, id.0).await?;
        let placed = store::placed_on(&mut conn, RecordKind::Org, id.0).await?;
        let mut entries = Vec::new();
        for v in &versions {
            let detail = |k: &str| {
                v.detail
                    .get(k)
                    .and_then(|s| s.as_str())
                    .filter(|s| !s.is_empty())
                    .unwrap_or("—")
                    .to_owned()
            };
            entries.push(Entry::new(
                v.at,
                format!("{}：此前信息", reason_label(&v.reason)),
                "",
                format!(
                    "{} 至 {}：{}（{}），书记 {}，组织委员 {}，本届任期 {} 至 {}",
                    v.from_date.as_deref().unwrap_or("建档"),
                    v.to_date,
                    v.name,
                    crate::domain::OrgKind::from_code(&v.category).map_or("", |k| k.label()),
                    detail("secretary_name"),
                    detail("organiser_name"),
                    detail("term_start"),
                    detail("term_end"),
                ),
            ));
        }
        let paths = paths_of(&versions, &org.path);
        for e in crate::store::audit::changes_of(&mut conn, "org", id.0, &paths, 2_000).await? {
            entries.push(event_entry(&e));
        }
        entries.extend(reported_entries(&mut conn, RecordKind::Org, id.0).await?);
        for v in store::firm_versions_under(&mut conn, &org.path).await? {
            entries.push(Entry::new(
                v.at,
                format!("所覆盖律所{}", reason_label(&v.reason)),
                "",
                format!(
                    "{}：{} 至 {}",
                    v.name,
                    v.from_date.as_deref().unwrap_or("建档"),
                    v.to_date
                ),
            ));
        }
        entries.sort_by_key(|e| e.at);
        let mut lines: Vec<(String, String, String, String)> =
            versions.iter().map(version_line).collect();
        lines.push((
            placed.unwrap_or_else(|| "（建档）".into()),
            "至今".into(),
            org.name.clone(),
            org.kind.code().to_owned(),
        ));
        Ok(Archive {
            title: format!("{} 的档案", org.name),
            path: org.path.clone(),
            place: org.kind.label().to_owned(),
            entries,
            versions: lines,
        })
    }
}
