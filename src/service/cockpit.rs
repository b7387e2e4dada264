//! Each parent's view over its children: registration progress from the records, the
//! deadline of the children's level and the time left; overdue children stand out.

use super::package::NodeDeadline;
use super::{Caller, ServiceResult, beijing_today};
use crate::domain::{OrgId, OrgLevel, PackageState};
use crate::store::orgs::Org;
use crate::store::packages::{self, Package};
use crate::store::registrations::{self, ChildProgress};

/// Where a child stands, from its members' forms and its package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildStatus {
    /// 未开始: no member has a form yet.
    NotStarted,
    /// 填报中: forms being filled, none waiting for review.
    Filling,
    /// 待审核: forms waiting for the child's review.
    Pending,
    /// 有退回: forms returned and not yet submitted again.
    Returned,
    /// 待报送: every form approved, the package not yet submitted.
    Ready,
    /// 已报送: the package waits for this node's decision.
    Submitted,
    /// 已接收.
    Accepted,
    /// 被退回: this node returned the package.
    SentBack,
}

impl ChildStatus {
    pub const ALL: [Self; 8] = [
        Self::NotStarted,
        Self::Filling,
        Self::Pending,
        Self::Returned,
        Self::Ready,
        Self::Submitted,
        Self::Accepted,
        Self::SentBack,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::Filling => "filling",
            Self::Pending => "pending",
            Self::Returned => "returned",
            Self::Ready => "ready",
            Self::Submitted => "submitted",
            Self::Accepted => "accepted",
            Self::SentBack => "sent_back",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::NotStarted => "未开始",
            Self::Filling => "填报中",
            Self::Pending => "待审核",
            Self::Returned => "有退回",
            Self::Ready => "待报送",
            Self::Submitted => PackageState::Submitted.short_label(),
            Self::Accepted => PackageState::Accepted.short_label(),
            Self::SentBack => PackageState::Returned.short_label(),
        }
    }

    fn of(p: &ChildProgress, not_started: i64, package: Option<&Package>) -> Self {
        if let Some(k) = package {
            return match k.state {
                PackageState::Submitted => Self::Submitted,
                PackageState::Accepted => Self::Accepted,
                PackageState::Returned => Self::SentBack,
            };
        }
        if p.members > 0 && p.approved == p.members {
            Self::Ready
        } else if p.returned > 0 {
            Self::Returned
        } else if p.submitted > 0 {
            Self::Pending
        } else if p.draft > 0 || (not_started < p.members && p.members > 0) {
            Self::Filling
        } else {
            Self::NotStarted
        }
    }
}

/// Approved share in whole percent; `None` (shown —) when there is nobody to count.
pub fn completion(approved: i64, members: i64) -> Option<i64> {
    (members > 0).then(|| approved * 100 / members)
}

#[derive(Debug, Clone)]
pub struct ChildRow {
    pub progress: ChildProgress,
    /// The child's package, when it has submitted one.
    pub package: Option<Package>,
    /// The child's deadline (the level's, or an extension).
    pub deadline: NodeDeadline,
    /// Members without any registration yet.
    pub not_started: i64,
    /// Share approved, in whole percent (`None` without members).
    pub percent: Option<i64>,
    pub status: ChildStatus,
    /// Recorded overdue at least once in this campaign.
    pub overdue_recorded: bool,
    pub overdue: bool,
    /// Its package is with this node (submitted or accepted): nothing to remind.
    pub handed_in: bool,
}

/// The sums over every child (not only those a filter shows).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub children: usize,
    pub members: i64,
    pub not_started: i64,
    pub draft: i64,
    pub submitted: i64,
    pub returned: i64,
    pub approved: i64,
    pub handed_in: usize,
    pub overdue: usize,
    pub children_not_started: usize,
}

impl Totals {
    pub fn percent(&self) -> Option<i64> {
        completion(self.approved, self.members)
    }

    fn of(rows: &[ChildRow]) -> Self {
        let mut t = Self {
            children: rows.len(),
            ..Self::default()
        };
        for r in rows {
            t.members += r.progress.members;
            t.not_started += r.not_started;
            t.draft += r.progress.draft;
            t.submitted += r.progress.submitted;
            t.returned += r.progress.returned;
            t.approved += r.progress.approved;
            t.handed_in += usize::from(r.handed_in);
            t.overdue += usize::from(r.overdue);
            t.children_not_started += usize::from(r.status == ChildStatus::NotStarted);
        }
        t
    }
}

/// Which children the cockpit lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Show {
    #[default]
    All,
    Overdue,
    /// Not yet handed in (what 催办 reaches).
    Outstanding,
    Status(ChildStatus),
}

impl Show {
    pub fn parse(code: &str) -> Self {
        match code {
            "overdue" => Self::Overdue,
            "outstanding" => Self::Outstanding,
            other => ChildStatus::parse(other).map_or(Self::All, Self::Status),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::All => "",
            Self::Overdue => "overdue",
            Self::Outstanding => "outstanding",
            Self::Status(s) => s.code(),
        }
    }

    fn keeps(self, r: &ChildRow) -> bool {
        match self {
            Self::All => true,
            Self::Overdue => r.overdue,
            Self::Outstanding => !r.handed_in,
            Self::Status(s) => r.status == s,
        }
    }
}

/// The cockpit's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// The tree's order (region code, then name).
    #[default]
    Tree,
    /// Least complete first (— before 0 %).
    Completion,
    /// Nearest deadline first (the most overdue on top), those handed in last.
    Deadline,
}

impl Order {
    pub fn parse(code: &str) -> Self {
        match code {
            "completion" => Self::Completion,
            "deadline" => Self::Deadline,
            _ => Self::Tree,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Tree => "",
            Self::Completion => "completion",
            Self::Deadline => "deadline",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Cockpit {
    pub org: Org,
    pub campaign_name: String,
    pub deadline: Option<String>,
    /// Days until the deadline (negative when past).
    pub days_left: Option<i64>,
    /// The children the filter keeps, in the order asked for.
    pub rows: Vec<ChildRow>,
    pub totals: Totals,
    /// 分类处理 cases of the subtree per category.
    pub cases: crate::store::cases::CaseCounts,
    /// The campaign is closed: no reminders.
    pub closed: bool,
}

super::area!(CockpitService);

impl CockpitService<'_> {
    pub async fn view(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
        show: Show,
        order: Order,
    ) -> ServiceResult<Cockpit> {
        let mut conn = self.db.acquire_read().await?;
        let org = super::readable_org(&mut conn, caller, org_id).await?;
        let campaign = super::current_campaign_of(&mut conn).await?;
        let deadline = org
            .level
            .child()
            .map(|level| super::package::base_deadline(&campaign, level).to_owned());
        let today = beijing_today();
        let days_left = deadline
            .as_deref()
            .and_then(crate::forms::rules::parse_date)
            .map(|d| (d - today).whole_days());
        let packages = packages::of_children(&mut conn, campaign.id, org.id).await?;
        let extensions = packages::extensions_of_children(&mut conn, campaign.id, org.id).await?;
        let recorded = packages::overdue_children(&mut conn, campaign.id, org.id).await?;
        let mut rows: Vec<ChildRow> =
            registrations::progress_of_children(&mut conn, campaign.id, org.id)
                .await?
                .into_iter()
                .map(|p| {
                    let started = p.draft + p.submitted + p.returned + p.approved;
                    let not_started = (p.members - started).max(0);
                    let package = packages.iter().find(|k| k.org_id == p.org_id).cloned();
                    let level = OrgLevel::from_code(&p.level).unwrap_or(OrgLevel::Firm);
                    let deadline = NodeDeadline::new(
                        &campaign,
                        level,
                        extensions.iter().find(|e| e.org_id == p.org_id).cloned(),
                    );
                    let status = ChildStatus::of(&p, not_started, package.as_ref());
                    let handed_in = package.as_ref().is_some_and(|k| k.state.is_with_parent());
                    let percent = completion(p.approved, p.members);
                    ChildRow {
                        handed_in,
                        overdue: deadline.passed() && !handed_in,
                        overdue_recorded: recorded.contains(&p.org_id),
                        package,
                        deadline,
                        not_started,
                        percent,
                        status,
                        progress: p,
                    }
                })
                .collect();
        let totals = Totals::of(&rows);
        rows.retain(|r| show.keeps(r));
        match order {
            Order::Tree => {}
            Order::Completion => {
                rows.sort_by_key(|r| (r.percent.unwrap_or(-1), r.progress.approved));
            }
            Order::Deadline => rows.sort_by_key(|r| (r.handed_in, r.deadline.days_left)),
        }
        let cases = crate::store::cases::counts(
            &mut conn,
            campaign.id,
            &crate::authz::Scope::Subtree(org.path.clone()),
            &today.to_string(),
        )
        .await?;
        Ok(Cockpit {
            closed: campaign.closed_at.is_some(),
            totals,
            cases,
            org,
            campaign_name: campaign.name,
            deadline,
            days_left,
            rows,
        })
    }
}

impl CockpitService<'_> {
    /// The cockpit as an .xlsx sheet: every child with its figures, then the totals; logged.
    pub async fn export_xlsx(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
    ) -> ServiceResult<(String, Vec<u8>)> {
        let c = self.view(caller, org_id, Show::All, Order::Tree).await?;
        let mark = super::watermark(caller, &c.org.name, None);
        let bytes = workbook(&c, &mark)
            .map_err(|e| super::ServiceError::Failed(format!("无法生成 Excel 文件：{e}")))?;
        self.audit_export(
            caller,
            crate::store::audit::NewEvent {
                action: "export.cockpit",
                target_kind: "org",
                target_id: c.org.id.to_string(),
                target_path: &c.org.path,
                detail: serde_json::json!({ "children": c.rows.len() }),
            },
            &[],
            &mark,
        )
        .await?;
        Ok((format!("下级填报进度-{}.xlsx", c.org.name), bytes))
    }
}

/// `37%`, or — without members.
pub fn percent_label(p: Option<i64>) -> String {
    p.map_or_else(|| "—".to_owned(), |p| format!("{p}%"))
}

fn workbook(
    c: &Cockpit,
    mark: &crate::watermark::Watermark,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use crate::workbook::{Cell, a4_landscape, write_table};
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    a4_landscape(ws, "下级填报进度", 2)?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    ws.write_string_with_format(0, 0, format!("下级填报进度（{}）", c.org.name), &bold)?;
    ws.write_string(
        1,
        0,
        format!(
            "{}；下级完成时限 {}",
            c.campaign_name,
            c.deadline.as_deref().unwrap_or("—")
        ),
    )?;
    let heads = [
        "下级组织",
        "状态",
        "截止日期",
        "剩余天数",
        "党员",
        "未填报",
        "草稿",
        "待审核",
        "已退回",
        "已通过",
        "完成率",
    ];
    ws.set_column_width(0, 30)?;
    ws.set_column_width(1, 12)?;
    ws.set_column_width(2, 12)?;
    let mut rows: Vec<Vec<Cell>> = c
        .rows
        .iter()
        .map(|r| {
            let status = if r.overdue {
                format!("{}（逾期）", r.status.label())
            } else {
                r.status.label().to_owned()
            };
            vec![
                Cell::from(r.progress.name.clone()),
                status.into(),
                r.deadline.effective.clone().into(),
                r.deadline.days_left.map_or(Cell::from("—"), Cell::from),
                r.progress.members.into(),
                r.not_started.into(),
                r.progress.draft.into(),
                r.progress.submitted.into(),
                r.progress.returned.into(),
                r.progress.approved.into(),
                percent_label(r.percent).into(),
            ]
        })
        .collect();
    let t = &c.totals;
    rows.push(vec![
        Cell::from(format!("合计（{} 个下级）", t.children)),
        format!("已报送 {}，逾期 {}", t.handed_in, t.overdue).into(),
        Cell::from(""),
        Cell::from(""),
        t.members.into(),
        t.not_started.into(),
        t.draft.into(),
        t.submitted.into(),
        t.returned.into(),
        t.approved.into(),
        percent_label(t.percent()).into(),
    ]);
    write_table(ws, 2, &heads, &rows)?;
    mark.apply(&mut wb);
    wb.save_to_buffer()
}

/// What a working account's home page lists: its node's own forms, package and deadline, and
/// (for a node with children) the children's progress.
#[derive(Debug, Clone)]
pub struct Tasks {
    pub org: Org,
    pub campaign_name: String,
    pub closed: bool,
    /// Forms of the whole subtree by state.
    pub forms: ChildProgress,
    pub not_started: i64,
    /// The node's own package to its parent (none for the national level).
    pub package: Option<Package>,
    /// The node's own deadline to hand in.
    pub deadline: NodeDeadline,
    /// The children's cockpit, when the node has children.
    pub children: Option<Cockpit>,
    /// Children whose package waits for this node's decision.
    pub awaiting_decision: usize,
    /// Children whose package this node returned, not yet submitted again.
    pub sent_back: usize,
}

impl Tasks {
    /// The node has handed in (its package is with the parent).
    pub fn handed_in(&self) -> bool {
        self.package
            .as_ref()
            .is_some_and(|p| p.state.is_with_parent())
    }

    pub fn overdue(&self) -> bool {
        self.deadline.passed() && !self.handed_in() && self.org.level != OrgLevel::National
    }
}

impl CockpitService<'_> {
    /// The home page's work list of the caller's own node; `None` before any campaign.
    pub async fn tasks(&self, caller: Caller<'_>, org_id: OrgId) -> ServiceResult<Option<Tasks>> {
        let mut conn = self.db.acquire_read().await?;
        let org = super::readable_org(&mut conn, caller, org_id).await?;
        let Some(campaign) = crate::store::campaigns::latest(&mut conn).await? else {
            return Ok(None);
        };
        let forms = registrations::progress_of_subtree(&mut conn, campaign.id, &org.path).await?;
        let started = forms.draft + forms.submitted + forms.returned + forms.approved;
        let package = packages::get(&mut conn, campaign.id, org.id).await?;
        let extension = packages::extension_of(&mut conn, campaign.id, org.id).await?;
        let deadline = NodeDeadline::new(&campaign, org.level, extension);
        drop(conn);
        let children = if org.child_count > 0 {
            Some(self.view(caller, org.id, Show::All, Order::Tree).await?)
        } else {
            None
        };
        let count = |s: ChildStatus| {
            children
                .as_ref()
                .map_or(0, |c| c.rows.iter().filter(|r| r.status == s).count())
        };
        Ok(Some(Tasks {
            awaiting_decision: count(ChildStatus::Submitted),
            sent_back: count(ChildStatus::SentBack),
            not_started: (forms.members - started).max(0),
            org,
            campaign_name: campaign.name,
            closed: campaign.closed_at.is_some(),
            forms,
            package,
            deadline,
            children,
        }))
    }
}
