//! Reading the directory: the tree, organisations, firms, members and the audit log, always
//! through the caller's scope.

use super::{Caller, ServiceError, ServiceResult};
use crate::authz::{Action, Scope};
use crate::domain::{FirmId, MemberId, OrgId, TreePath};

use crate::store::{audit, firms, members, orgs};

// The read types this area returns, re-exported: callers (web, cli) name them here, not in
// the store.
pub use crate::store::audit::{AuditFilter, Event, EventKind};
pub use crate::store::firms::{Coverage, Firm, FirmFilter, FirmSort, form_label};
pub use crate::store::members::{FormFilter, ListedMember, Member, MemberFilter, MemberSort};
pub use crate::store::orgs::{Org, OrgFilter, OrgSort, Page, SubtreeCounts};

/// Most children shown under one node at once.
pub const MAX_CHILDREN: i64 = 500;

/// A node's page: the node, the way down to it from the caller's own node, its children and
/// the counts below it.
#[derive(Debug, Clone)]
pub struct OrgView {
    pub org: Org,
    pub breadcrumbs: Vec<Org>,
    pub children: Vec<Org>,
    pub counts: SubtreeCounts,
}

super::area!(DirectoryService);

impl DirectoryService<'_> {
    pub(crate) async fn root_path(&self) -> ServiceResult<TreePath> {
        Ok(super::setup::root_of_tree(&self.db).await?.1)
    }

    async fn scope_of(&self, caller: Caller<'_>) -> ServiceResult<Scope> {
        Ok(match caller {
            Caller::User(a) => Scope::of(a),
            Caller::Operator => Scope::Subtree(self.root_path().await?),
        })
    }

    /// The caller's scope, narrowed to the subtree of `under` when given (which must itself
    /// be inside the caller's scope). Returns the narrowing node too, for page headings.
    pub async fn narrowed_scope(
        &self,
        caller: Caller<'_>,
        under: Option<OrgId>,
    ) -> ServiceResult<(Scope, Option<Org>)> {
        caller.require(Action::ReadDirectory, None)?;
        match under {
            None => Ok((self.scope_of(caller).await?, None)),
            Some(id) => {
                let mut conn = self.db.acquire().await?;
                let org = orgs::get(&mut conn, id)
                    .await?
                    .ok_or(ServiceError::NotFound)?;
                caller.require(Action::ReadDirectory, Some(&org.path))?;
                Ok((Scope::Subtree(org.path.clone()), Some(org)))
            }
        }
    }

    /// Where the caller starts in the tree: their own node.
    pub async fn org(&self, caller: Caller<'_>, id: OrgId) -> ServiceResult<OrgView> {
        caller.require(Action::ReadDirectory, None)?;
        let mut conn = self.db.acquire().await?;
        let org = orgs::get(&mut conn, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ReadDirectory, Some(&org.path))?;
        let start_depth = match caller {
            Caller::User(a) => a.org_path.depth(),
            Caller::Operator => 0,
        };
        let ids: Vec<OrgId> = org
            .path
            .ids()
            .into_iter()
            .skip(start_depth as usize)
            .collect();
        let breadcrumbs = orgs::get_many(&mut conn, &ids[..ids.len().saturating_sub(1)]).await?;
        let children = orgs::children(&mut conn, org.id, MAX_CHILDREN).await?;
        let counts = orgs::subtree_counts(&mut conn, &org.path).await?;
        Ok(OrgView {
            org,
            breadcrumbs,
            children,
            counts,
        })
    }

    /// The children of a node, for lazily opening the tree one level at a time.
    pub async fn children(&self, caller: Caller<'_>, id: OrgId) -> ServiceResult<(Org, Vec<Org>)> {
        caller.require(Action::ReadDirectory, None)?;
        let mut conn = self.db.acquire_read().await?;
        let org = orgs::get(&mut conn, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ReadDirectory, Some(&org.path))?;
        let children = orgs::children(&mut conn, org.id, MAX_CHILDREN).await?;
        Ok((org, children))
    }

    pub async fn orgs(&self, caller: Caller<'_>, f: &OrgFilter) -> ServiceResult<Page<Org>> {
        self.orgs_under(caller, None, f).await.map(|(p, _)| p)
    }

    pub async fn orgs_under(
        &self,
        caller: Caller<'_>,
        under: Option<OrgId>,
        f: &OrgFilter,
    ) -> ServiceResult<(Page<Org>, Option<Org>)> {
        let (scope, node) = self.narrowed_scope(caller, under).await?;
        let mut conn = self.db.acquire_read().await?;
        Ok((orgs::list(&mut conn, &scope, f).await?, node))
    }

    pub async fn firm(&self, caller: Caller<'_>, id: FirmId) -> ServiceResult<Firm> {
        caller.require(Action::ReadDirectory, None)?;
        let mut conn = self.db.acquire().await?;
        let firm = firms::get(&mut conn, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ReadDirectory, Some(&firm.scope_path))?;
        Ok(firm)
    }

    pub async fn firms(
        &self,
        caller: Caller<'_>,
        under: Option<OrgId>,
        f: &FirmFilter,
    ) -> ServiceResult<(Page<Firm>, Option<Org>)> {
        let (scope, node) = self.narrowed_scope(caller, under).await?;
        let mut conn = self.db.acquire_read().await?;
        Ok((firms::list(&mut conn, &scope, f).await?, node))
    }

    pub async fn member(&self, caller: Caller<'_>, id: MemberId) -> ServiceResult<Member> {
        let mut conn = self.db.acquire().await?;
        let member = members::get(&mut conn, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::ReadMember(id), Some(&member.org_path))?;
        drop(conn);
        super::reads::record(
            self,
            caller,
            super::reads::Read {
                action: "read.member",
                target_kind: "member",
                target_id: id.to_string(),
                target_path: &member.org_path,
                subjects: vec![id.0],
                detail: serde_json::json!({}),
            },
        )
        .await?;
        Ok(member)
    }

    /// Members in the caller's scope; a 党员本人 gets only their own record.
    /// Members in the caller's scope (narrowed to `under`); a 党员本人 gets only their own
    /// record and may not narrow.
    pub async fn members(
        &self,
        caller: Caller<'_>,
        under: Option<OrgId>,
        f: &MemberFilter,
    ) -> ServiceResult<(Page<ListedMember>, Option<Org>)> {
        let (scope, node) = match caller {
            Caller::User(a) if a.role == crate::domain::Role::Member => {
                if under.is_some() {
                    return Err(ServiceError::NotFound);
                }
                (Scope::of(a), None)
            }
            _ => self.narrowed_scope(caller, under).await?,
        };
        let mut conn = self.db.acquire_read().await?;
        let campaign = crate::store::campaigns::latest(&mut conn).await?;
        let f = MemberFilter {
            campaign: campaign.map(|c| c.id),
            ..f.clone()
        };
        let page = members::list_with_forms(&mut conn, &scope, &f).await?;
        drop(conn);
        // One event per page shown, naming its rows.
        let (target_id, path) = match (&node, caller) {
            (Some(n), _) => (n.id.to_string(), n.path.clone()),
            (None, Caller::User(a)) => (a.org_id.to_string(), a.org_path.clone()),
            (None, Caller::Operator) => ("1".to_owned(), self.root_path().await?),
        };
        super::reads::record(
            self,
            caller,
            super::reads::Read {
                action: "read.members",
                target_kind: "org",
                target_id,
                target_path: &path,
                subjects: page.items.iter().map(|m| m.member.id.0).collect(),
                detail: serde_json::json!({"page": f.page, "name": f.name.as_deref().unwrap_or("")}),
            },
        )
        .await?;
        Ok((page, node))
    }

    /// The scope the audit log is read in: the caller's, narrowed to `under`.
    async fn audit_scope(&self, caller: Caller<'_>, under: Option<OrgId>) -> ServiceResult<Scope> {
        caller.require(Action::ReadAudit, None)?;
        Ok(match under {
            None => self.scope_of(caller).await?,
            Some(_) => self.narrowed_scope(caller, under).await?.0,
        })
    }

    /// The audit log within the caller's scope (narrowed to `under`), newest first.
    pub async fn audit(
        &self,
        caller: Caller<'_>,
        under: Option<OrgId>,
        f: &AuditFilter,
        page: i64,
        per_page: i64,
    ) -> ServiceResult<Page<Event>> {
        let scope = self.audit_scope(caller, under).await?;
        self.read_log.flush().await;
        let mut conn = self.db.acquire_read().await?;
        Ok(audit::list(&mut conn, &scope, f, page, per_page).await?)
    }

    /// The filtered audit log as an .xlsx sheet (at most [`AUDIT_EXPORT_ROWS`] events, newest
    /// first); the export is itself logged.
    pub async fn audit_xlsx(
        &self,
        caller: Caller<'_>,
        under: Option<OrgId>,
        f: &AuditFilter,
    ) -> ServiceResult<(String, Vec<u8>)> {
        self.read_log.flush().await;
        let Scope::Subtree(path) = self.audit_scope(caller, under).await? else {
            return Err(ServiceError::NotFound);
        };
        let page = {
            let mut conn = self.db.acquire().await?;
            let scope = Scope::Subtree(path.clone());
            audit::list(&mut conn, &scope, f, 1, AUDIT_EXPORT_ROWS).await?
        };
        let node = {
            let mut conn = self.db.acquire().await?;
            match path.ids().last() {
                Some(id) => orgs::get(&mut conn, *id).await?.map(|o| o.name),
                None => None,
            }
        };
        let mark = super::watermark(caller, node.as_deref().unwrap_or(""), None);
        let bytes = audit_workbook(&page.items, page.has_next, &mark)
            .map_err(|e| ServiceError::Failed(format!("无法生成 Excel 文件：{e}")))?;
        self.audit_export(
            caller,
            audit::NewEvent {
                action: "export.audit",
                target_kind: "org",
                target_id: path.ids().last().map_or(0, |o| o.0).to_string(),
                target_path: &path,
                detail: serde_json::json!({ "rows": page.items.len() }),
            },
            &[],
            &mark,
        )
        .await?;
        Ok(("审计日志.xlsx".to_owned(), bytes))
    }

    pub async fn subtree_counts(
        &self,
        caller: Caller<'_>,
        path: &TreePath,
    ) -> ServiceResult<SubtreeCounts> {
        caller.require(Action::ReadDirectory, Some(path))?;
        let mut conn = self.db.acquire_read().await?;
        Ok(orgs::subtree_counts(&mut conn, path).await?)
    }
}

impl DirectoryService<'_> {
    /// A one-line description of the current campaign for the home page.
    pub async fn current_campaign(&self) -> ServiceResult<Option<String>> {
        let mut conn = self.db.acquire().await?;
        Ok(crate::store::campaigns::latest(&mut conn).await?.map(|c| {
            format!(
                "{}（登记截止 {}；律所 {}、地市 {}、省级 {}、全国 {} 前完成）",
                c.name,
                c.cutoff_date,
                c.deadline_firm,
                c.deadline_city,
                c.deadline_province,
                c.deadline_national
            )
        }))
    }
}

/// Most events in one export of the audit log.
pub const AUDIT_EXPORT_ROWS: i64 = 50_000;

fn audit_workbook(
    events: &[Event],
    cut: bool,
    mark: &crate::watermark::Watermark,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use crate::domain::audit::{action_label, detail_text, target_label};
    use crate::workbook::{Cell, a4_landscape, write_table};
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    a4_landscape(ws, "审计日志", 1)?;
    ws.write_string(
        0,
        0,
        if cut {
            format!("审计日志（仅含最近 {AUDIT_EXPORT_ROWS} 条，请缩小筛选范围）")
        } else {
            format!("审计日志（{} 条）", events.len())
        },
    )?;
    ws.set_column_width(0, 17)?;
    ws.set_column_width(1, 16)?;
    ws.set_column_width(2, 24)?;
    ws.set_column_width(4, 18)?;
    ws.set_column_width(6, 50)?;
    let rows: Vec<Vec<Cell>> = events
        .iter()
        .map(|e| {
            vec![
                Cell::from(super::beijing_time(e.at)),
                e.actor_name
                    .clone()
                    .unwrap_or_else(|| e.actor_username.clone())
                    .into(),
                e.actor_org.clone().unwrap_or_default().into(),
                crate::domain::Role::from_code(&e.actor_role)
                    .map_or("系统", crate::domain::Role::label)
                    .into(),
                action_label(&e.action).into(),
                format!("{} {}", target_label(&e.target_kind), e.target_id).into(),
                detail_text(&e.detail).into(),
            ]
        })
        .collect();
    write_table(
        ws,
        1,
        &["时间", "操作人", "所在组织", "角色", "操作", "对象", "内容"],
        &rows,
    )?;
    mark.apply(&mut wb);
    wb.save_to_buffer()
}
