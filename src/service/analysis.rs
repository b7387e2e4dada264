//! 研判 (notice §四(四)): a node's picture of its subtree — composition, coverage, the children
//! side by side, the campaign's progress and the problems to act on — and the lists behind
//! each figure, read-only and scoped like the summary tables.

use super::{Caller, ServiceError, ServiceResult};
use crate::domain::OrgId;
use crate::store::analysis::{
    self, ChildFigures, Composition, Cuts, Facet, FirmShouldOrganise, Progress, Selection,
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
    pub progress: Progress,
    pub children: Vec<ChildFigures>,
    pub should_organise: Vec<FirmShouldOrganise>,
}

impl Analysis {
    /// Members without a form in this campaign yet.
    pub fn not_started(&self) -> i64 {
        let p = self.progress;
        (self.stats.members() - p.drafts - p.submitted - p.returned - p.approved).max(0)
    }

    /// Firms with members but no organisation covering them (neither their own nor a
    /// 联合党支部).
    pub fn firms_uncovered(&self) -> i64 {
        (self.stats.firms_with_members - self.stats.firms_own_org - self.stats.firms_joint).max(0)
    }
}

/// The band limits as of a cut-off date (`YYYY-MM-DD`); `None` when it is not a date.
pub fn cuts_at(cutoff: &str) -> Option<Cuts> {
    Cuts::at(cutoff)
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
        let cuts = cuts_at(&campaign.cutoff_date).ok_or_else(|| {
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
        let progress = analysis::progress(&mut conn, campaign.id, &org.path).await?;
        let children = analysis::children(&mut conn, campaign.id, org.id).await?;
        let should_organise = analysis::firms_should_organise(&mut conn, &org.path).await?;
        Ok(Analysis {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_are_whole_years_before_the_cut_off() {
        let c = cuts_at("2018-06-30").unwrap();
        assert_eq!(c.age[0], "1987-06-30");
        assert_eq!(c.age[3], "1957-06-30");
        assert_eq!(c.party[0], "2013-06-30");
        assert_eq!(
            c.practice,
            ["2013".to_owned(), "2008".into(), "1998".into()]
        );
        // 29 February less 31 years is 28 February.
        assert_eq!(cuts_at("2020-02-29").unwrap().age[0], "1989-02-28");
        assert!(cuts_at("2018-13-01").is_none());
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
