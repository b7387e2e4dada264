//! 研判 (notice §四(四)): a node's picture of its subtree — composition, coverage, the children
//! side by side, the campaign's progress and the problems to act on — and the lists behind
//! each figure, read-only and scoped like the summary tables.

use super::{Caller, ServiceError, ServiceResult};
use crate::domain::OrgId;
use crate::store::analysis::{
    self, ChildFigures, Composition, Cuts, Facet, FirmShouldOrganise, Selection,
};
use crate::store::members::Member;
use crate::store::orgs::{Org, Page};
use crate::store::summary::{self, Stats};

/// Everything the 研判 page of one node shows.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub org: Org,
    pub campaign_name: String,
    /// 统计截止日: ages, 党龄 and 执业年限 are as of this day.
    pub cutoff: String,
    pub composition: Composition,
    /// The level statistics block (coverage, 组织关系, 分类处理), as 附件6 counts it.
    pub stats: Stats,
    /// This campaign's forms by state (from the tallies).
    pub progress: crate::store::registrations::ChildProgress,
    pub children: Vec<ChildFigures>,
    pub should_organise: Vec<FirmShouldOrganise>,
    /// 分类处理 cases of the subtree per category: open, overdue (past their due date today),
    /// closed.
    pub cases: crate::store::cases::CaseCounts,
}

/// One line of a section: what the figure is (`code`, as the drill-down links name it), its
/// label and its count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub code: String,
    pub label: String,
    pub count: i64,
}

impl Line {
    fn new(code: &str, label: impl Into<String>, count: i64) -> Self {
        Self {
            code: code.to_owned(),
            label: label.into(),
            count,
        }
    }
}

impl Analysis {
    /// One facet's buckets in display order (rows that cannot occur are left out when empty).
    pub fn facet_lines(&self, f: Facet) -> Vec<Line> {
        let c = &self.composition;
        f.buckets()
            .iter()
            .filter(|(code, _)| {
                !matches!((f, *code), (Facet::PartyAge | Facet::Practice, "unknown"))
                    || c.count(f, code) > 0
            })
            .map(|(code, label)| Line::new(code, *label, c.count(f, code)))
            .collect()
    }

    /// The minorities, the largest first (code: the 民族 code).
    pub fn minority_lines(&self) -> Vec<Line> {
        let mut v: Vec<Line> = self
            .composition
            .nationalities
            .iter()
            .map(|(code, n)| {
                Line::new(
                    code,
                    super::summary::labelled(crate::forms::Catalogue::get(), "ethnicity", code),
                    *n,
                )
            })
            .collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(&b.code)));
        v
    }

    /// The firms by coverage (code: `all`, `with`, `own`, `joint`, `uncovered`, `none`).
    pub fn coverage_lines(&self) -> Vec<Line> {
        let s = &self.stats;
        vec![
            Line::new("all", "律师事务所", s.firms),
            Line::new("with", "有党员的律所", s.firms_with_members),
            Line::new("own", "单独建立党组织的律所", s.firms_own_org),
            Line::new("joint", "纳入联合党支部的律所", s.firms_joint),
            Line::new(
                "uncovered",
                "有党员但未建立或纳入党组织的律所",
                self.firms_uncovered(),
            ),
            Line::new("none", "没有党员的律所", s.firms_without_members),
        ]
    }

    /// This campaign's forms by state (code: the member list's form filter).
    pub fn progress_lines(&self) -> Vec<Line> {
        let p = &self.progress;
        vec![
            Line::new("none", "未填报", self.not_started()),
            Line::new("draft", "草稿", p.draft),
            Line::new("submitted", "待审核", p.submitted),
            Line::new("returned", "已退回", p.returned),
            Line::new("approved", "已通过", p.approved),
        ]
    }

    /// 组织关系 (摸底核查 已转入) and the 分类处理 cases 1–5 (code: `in`, `case1` …).
    pub fn relation_lines(&self) -> Vec<Line> {
        let mut v = vec![Line::new(
            "in",
            "组织关系已转入（摸底核查）",
            self.stats.relation_in_industry,
        )];
        for (i, n) in self.stats.cases.iter().enumerate() {
            let code = (i + 1).to_string();
            v.push(Line::new(
                &format!("case{code}"),
                format!(
                    "第{code}类：{}",
                    super::summary::labelled(crate::forms::Catalogue::get(), "case", &code)
                ),
                *n,
            ));
        }
        v
    }

    /// The 分类处理 cases by category: (label, open, overdue, closed).
    pub fn case_lines(&self) -> Vec<(String, i64, i64, i64)> {
        (0..5)
            .map(|i| {
                let code = (i + 1).to_string();
                (
                    format!(
                        "第{code}类：{}",
                        super::summary::labelled(crate::forms::Catalogue::get(), "case", &code)
                    ),
                    self.cases.open[i],
                    self.cases.overdue[i],
                    self.cases.closed[i],
                )
            })
            .collect()
    }

    /// Members without a form in this campaign yet.
    pub fn not_started(&self) -> i64 {
        let p = &self.progress;
        (self.stats.members() - p.draft - p.submitted - p.returned - p.approved).max(0)
    }

    /// Firms with members but no organisation covering them (neither their own nor a
    /// 联合党支部).
    pub fn firms_uncovered(&self) -> i64 {
        (self.stats.firms_with_members - self.stats.firms_own_org - self.stats.firms_joint).max(0)
    }
}

/// A drill-down request as the page links it: `facet` and `value` (see [`Facet::buckets`];
/// `nationality` takes a 民族 code, `age_sex` an age band and a sex code joined by `:`).
pub fn selection(facet: &str, value: &str) -> Option<Selection> {
    match facet {
        "nationality" => {
            let ok = value.len() == 2
                && value.bytes().all(|b| b.is_ascii_digit())
                && value != "01"
                && crate::forms::Catalogue::get()
                    .list("ethnicity")
                    .and_then(|l| l.label(value))
                    .is_some();
            ok.then(|| Selection::Nationality(value.to_owned()))
        }
        "age_sex" => {
            let (age, sex) = value.split_once(':')?;
            (Facet::Age.bucket_label(age).is_some() && Facet::Sex.bucket_label(sex).is_some())
                .then(|| Selection::AgeSex(age.to_owned(), sex.to_owned()))
        }
        _ => {
            let f = Facet::parse(facet)?;
            f.bucket_label(value)
                .map(|_| Selection::Bucket(f, value.to_owned()))
        }
    }
}

/// What a drill-down list is of, in words: 「年龄（截至统计截止日）：31–40岁」.
pub fn selection_label(s: &Selection) -> String {
    match s {
        Selection::Bucket(f, code) => {
            format!("{}：{}", f.label(), f.bucket_label(code).unwrap_or(code))
        }
        Selection::Nationality(code) => format!(
            "民族：{}",
            super::summary::labelled(crate::forms::Catalogue::get(), "ethnicity", code)
        ),
        Selection::AgeSex(age, sex) => format!(
            "{}，{}",
            Facet::Age.bucket_label(age).unwrap_or(age),
            Facet::Sex.bucket_label(sex).unwrap_or(sex)
        ),
    }
}

/// The members behind one figure of the page.
#[derive(Debug, Clone)]
pub struct Behind {
    pub org: Org,
    pub cutoff: String,
    pub label: String,
    pub page: Page<Member>,
}

super::area!(AnalysisService);

impl AnalysisService<'_> {
    async fn cuts(
        conn: &mut sqlx::AnyConnection,
    ) -> ServiceResult<(crate::store::campaigns::Campaign, Cuts)> {
        let campaign = super::current_campaign_of(conn).await?;
        let cuts = Cuts::at(&campaign.cutoff_date).ok_or_else(|| {
            ServiceError::Failed(format!("统计截止日不是日期：{}", campaign.cutoff_date))
        })?;
        Ok((campaign, cuts))
    }

    /// The 研判 figures of a node the caller may read.
    pub async fn view(&self, caller: Caller<'_>, org_id: OrgId) -> ServiceResult<Analysis> {
        let mut conn = self.db.acquire_read().await?;
        let org = super::readable_org(&mut conn, caller, org_id).await?;
        let (campaign, cuts) = Self::cuts(&mut conn).await?;
        let composition = analysis::composition(&mut conn, &org.path, campaign.id, &cuts).await?;
        let stats = summary::stats(&mut conn, campaign.id, &org.path).await?;
        let progress =
            crate::store::registrations::progress_of_subtree(&mut conn, campaign.id, &org.path)
                .await?;
        let children = analysis::children(&mut conn, campaign.id, org.id).await?;
        let should_organise = analysis::firms_should_organise(&mut conn, &org.path).await?;
        let cases = crate::store::cases::counts(
            &mut conn,
            campaign.id,
            &crate::authz::Scope::Subtree(org.path.clone()),
            &super::beijing_today().to_string(),
        )
        .await?;
        Ok(Analysis {
            cases,
            org,
            campaign_name: campaign.name,
            cutoff: campaign.cutoff_date,
            composition,
            stats,
            progress,
            children,
            should_organise,
        })
    }

    /// The page's figures as a workbook, one sheet per section (watermarked and audited like
    /// every export); the file name.
    pub async fn export_xlsx(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
    ) -> ServiceResult<(String, Vec<u8>)> {
        let a = self.view(caller, org_id).await?;
        let mark = super::watermark(caller, &a.org.name, None);
        let bytes = workbook(&a, &mark)
            .map_err(|e| ServiceError::Failed(format!("无法生成 Excel 文件：{e}")))?;
        self.audit_export(
            caller,
            crate::store::audit::NewEvent {
                action: "export.analysis",
                target_kind: "org",
                target_id: a.org.id.to_string(),
                target_path: &a.org.path,
                detail: serde_json::json!({ "members": a.composition.total }),
            },
            &[],
            &mark,
        )
        .await?;
        Ok((format!("研判-{}.xlsx", a.org.name), bytes))
    }

    /// One page of the members of the node's subtree behind a figure; an unknown facet or
    /// value is `NotFound` (the link was not one the page makes).
    pub async fn members(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
        facet: &str,
        value: &str,
        page: i64,
    ) -> ServiceResult<Behind> {
        let selection = selection(facet, value).ok_or(ServiceError::NotFound)?;
        let mut conn = self.db.acquire_read().await?;
        let org = super::readable_org(&mut conn, caller, org_id).await?;
        let (campaign, cuts) = Self::cuts(&mut conn).await?;
        let page = analysis::members(&mut conn, &org.path, &cuts, &selection, page).await?;
        Ok(Behind {
            org,
            cutoff: campaign.cutoff_date,
            label: selection_label(&selection),
            page,
        })
    }
}

/// `12.5%` of `total`, rounded to a tenth; `—` when there is no total (never NaN). The page's
/// charts and tables and the workbook all write shares with it.
pub fn share(n: i64, total: i64) -> String {
    if total <= 0 {
        return "—".into();
    }
    let pm = (n * 1000 + total / 2) / total;
    format!("{}.{}%", pm / 10, pm % 10)
}

/// The sheets of the 研判 workbook: 总体与构成 (one block per attribute), 少数民族, 组织覆盖
/// (with the firms that should organise), 进度与组织关系, 下级对比.
fn workbook(
    a: &Analysis,
    mark: &crate::watermark::Watermark,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use crate::workbook::{Cell, a4_landscape, write_table};
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let heading = format!(
        "{} · {}（统计截止日 {}）",
        a.org.name, a.campaign_name, a.cutoff
    );
    let lines_rows = |lines: &[Line], total: i64| -> Vec<Vec<Cell>> {
        lines
            .iter()
            .map(|l| {
                vec![
                    Cell::from(l.label.clone()),
                    l.count.into(),
                    share(l.count, total).into(),
                ]
            })
            .collect()
    };
    let total = a.composition.total;
    {
        let ws = wb.add_worksheet();
        a4_landscape(ws, "队伍构成", 2)?;
        ws.set_column_width(0, 36)?;
        ws.write_string_with_format(0, 0, format!("党员队伍构成 · {heading}"), &bold)?;
        ws.write_string(1, 0, format!("党员 {total} 名（不含已停止登记的人员）"))?;
        let mut row = 2;
        for f in Facet::ALL {
            row = write_table(
                ws,
                row,
                &[f.label(), "人数", "占比"],
                &lines_rows(&a.facet_lines(f), total),
            )? + 1;
        }
    }
    {
        let ws = wb.add_worksheet();
        a4_landscape(ws, "少数民族", 2)?;
        ws.set_column_width(0, 20)?;
        ws.write_string_with_format(0, 0, format!("少数民族党员 · {heading}"), &bold)?;
        write_table(
            ws,
            2,
            &["民族", "人数", "占党员"],
            &lines_rows(&a.minority_lines(), total),
        )?;
    }
    {
        let ws = wb.add_worksheet();
        a4_landscape(ws, "组织覆盖", 2)?;
        ws.set_column_width(0, 40)?;
        ws.write_string_with_format(0, 0, format!("党的组织覆盖 · {heading}"), &bold)?;
        let s = &a.stats;
        let mut rows = lines_rows(&a.coverage_lines(), s.firms);
        rows.push(vec![
            Cell::from("党组织覆盖率（已建立或纳入党组织 / 有党员的律所）"),
            Cell::from(""),
            share(s.firms_own_org + s.firms_joint, s.firms_with_members).into(),
        ]);
        let next = write_table(ws, 2, &["项目", "数量", "占律所"], &rows)? + 1;
        ws.write_string_with_format(next, 0, "正式党员3名以上但未单独建立党组织的律所", &bold)?;
        let firms: Vec<Vec<Cell>> = a
            .should_organise
            .iter()
            .map(|f| {
                vec![
                    Cell::from(f.name.clone()),
                    f.full_members.into(),
                    Cell::from(if f.in_joint_branch {
                        "纳入联合党支部"
                    } else {
                        "未建立党组织"
                    }),
                ]
            })
            .collect();
        write_table(ws, next + 1, &["律师事务所", "正式党员", "现状"], &firms)?;
    }
    {
        let ws = wb.add_worksheet();
        a4_landscape(ws, "进度与组织关系", 2)?;
        ws.set_column_width(0, 48)?;
        ws.write_string_with_format(0, 0, format!("登记核查进度与组织关系 · {heading}"), &bold)?;
        let next = write_table(
            ws,
            2,
            &["登记表", "人数", "占比"],
            &lines_rows(&a.progress_lines(), total),
        )? + 1;
        let next = write_table(
            ws,
            next,
            &["组织关系与分类处理", "人数", "占党员"],
            &lines_rows(&a.relation_lines(), total),
        )? + 1;
        let cases: Vec<Vec<Cell>> = a
            .case_lines()
            .into_iter()
            .map(|(label, open, overdue, closed)| {
                vec![
                    Cell::from(label),
                    open.into(),
                    overdue.into(),
                    closed.into(),
                ]
            })
            .collect();
        write_table(
            ws,
            next,
            &["分类处理案件", "办理中", "其中逾期", "已办结"],
            &cases,
        )?;
    }
    {
        let ws = wb.add_worksheet();
        a4_landscape(ws, "下级对比", 2)?;
        ws.set_column_width(0, 30)?;
        ws.write_string_with_format(0, 0, format!("各下级对比 · {heading}"), &bold)?;
        let rows: Vec<Vec<Cell>> = a
            .children
            .iter()
            .map(|k| {
                let covered = k.firms_own + k.firms_joint;
                vec![
                    Cell::from(k.name.clone()),
                    k.members().into(),
                    k.lawyers.into(),
                    k.staff.into(),
                    k.full_members.into(),
                    k.probationary.into(),
                    k.firms.into(),
                    k.firms_with_members.into(),
                    covered.into(),
                    share(covered, k.firms_with_members).into(),
                    k.approved.into(),
                    share(k.approved, k.members()).into(),
                ]
            })
            .collect();
        write_table(
            ws,
            2,
            &[
                "下级组织",
                "党员",
                "律师",
                "工作人员",
                "正式",
                "预备",
                "律所",
                "有党员律所",
                "已覆盖",
                "党组织覆盖率",
                "已通过",
                "登记表通过率",
            ],
            &rows,
        )?;
    }
    mark.apply(&mut wb);
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_are_whole_years_before_the_cut_off() {
        let c = Cuts::at("2018-06-30").unwrap();
        assert_eq!(c.age[0], "1987-06-30");
        assert_eq!(c.age[3], "1957-06-30");
        assert_eq!(c.party[0], "2013-06-30");
        assert_eq!(
            c.practice,
            ["2013".to_owned(), "2008".into(), "1998".into()]
        );
        // 29 February less 31 years is 28 February.
        assert_eq!(Cuts::at("2020-02-29").unwrap().age[0], "1989-02-28");
        assert!(Cuts::at("2018-13-01").is_none());
    }

    #[test]
    fn only_links_the_page_makes_select_anything() {
        assert_eq!(
            selection("age", "31_40"),
            Some(Selection::Bucket(Facet::Age, "31_40".into()))
        );
        assert!(selection("age", "31-40").is_none());
        assert!(selection("nationality", "05").is_some());
        assert!(selection("nationality", "01").is_none());
        assert!(selection("nationality", "99").is_none());
        assert!(selection("age_sex", "le30:2").is_some());
        assert!(selection("age_sex", "le30").is_none());
        assert!(selection("name", "x").is_none());
    }
}
