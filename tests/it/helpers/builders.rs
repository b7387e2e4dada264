//! Building a test's own records the way a deployment does — files imported through the
//! services — in a line that reads like the product:
//! `app.firm_org(city).with_members(3).build().await` is a firm in the city's registry, its
//! 党支部 in the roster and three lawyers in its member list.

use std::sync::atomic::Ordering;

use dengji::domain::{FirmId, MemberId, OrgId};
use dengji::service::import::Mode;

use super::files::{Book, FIRM_HEAD, ORG_HEAD, code, row, strings, xlsx};
use super::{TestApp, issues, run};

/// A valid ID number of a built member: born 1932-02-01 in 110101, so no test's `fresh_id`
/// (born 1931) and no demo member has it.
fn built_id(seq: u32) -> String {
    let body = format!("11010119320201{seq:03}");
    format!(
        "{body}{}",
        dengji::domain::citizen_id::check_char(body.as_bytes())
    )
}

/// A firm organisation to build under a city-level node.
pub struct FirmOrgBuilder<'a> {
    app: &'a TestApp,
    city: OrgId,
    lawyers: u32,
}

/// What was built.
#[derive(Debug, Clone)]
pub struct FirmOrg {
    pub org: OrgId,
    pub firm: FirmId,
    /// The lawyers, in the order of the member list.
    pub members: Vec<MemberId>,
}

impl TestApp {
    /// A new firm and its 党支部 under `city` (see [`FirmOrgBuilder`]).
    pub fn firm_org(&self, city: OrgId) -> FirmOrgBuilder<'_> {
        FirmOrgBuilder {
            app: self,
            city,
            lawyers: 0,
        }
    }
}

impl FirmOrgBuilder<'_> {
    /// `n` 专职律师, 正式党员, each with a valid ID number and licence of their own.
    pub fn with_members(mut self, n: u32) -> Self {
        self.lawyers = n;
        self
    }

    /// Import the firm, its organisation and its members, each file all-or-nothing.
    pub async fn build(self) -> FirmOrg {
        let app = self.app;
        let n = app.built.fetch_add(1, Ordering::Relaxed);
        assert!(n < 100, "at most 100 built organisations per test");
        let seq = 9_000 + n;
        let credit_code = code(seq);
        let firm_name = format!("建造{n}律师事务所");
        let region = app
            .org(self.city)
            .await
            .region_code
            .expect("the city has a region");
        let firms = xlsx(
            &FIRM_HEAD,
            &[strings(&[
                &firm_name,
                &credit_code,
                &region,
                "合伙所",
                "8",
                "",
            ])],
        );
        let done = run(app, self.city, &firms, Mode::AllOrNothing).await;
        assert!(done.batch_id.is_some(), "firm: {}", issues(&done.report));
        let org_name = format!("中共{firm_name}支部委员会");
        let roster = xlsx(
            &ORG_HEAD,
            &[strings(&[
                &org_name,
                "党支部",
                "",
                "",
                &credit_code,
                "",
                "",
                "",
            ])],
        );
        let done = run(app, self.city, &roster, Mode::AllOrNothing).await;
        assert!(
            done.batch_id.is_some(),
            "organisation: {}",
            issues(&done.report)
        );
        let org = app
            .children_of(self.city)
            .await
            .last()
            .copied()
            .expect("the organisation built");
        assert_eq!(app.org(org).await.name, org_name);
        let firm = app.firm_of(org).await.id;
        let mut members = Vec::new();
        if self.lawyers > 0 {
            assert!(
                self.lawyers <= 10,
                "at most 10 members per built organisation"
            );
            let rows = (n * 10..n * 10 + self.lawyers)
                .map(|s| {
                    let mut r = row(&credit_code, s);
                    r[1] = format!("建{s}");
                    r[2] = built_id(s);
                    r[9] = format!("11101200611998{s:03}");
                    r
                })
                .collect();
            let done = run(app, self.city, &Book::new(rows).bytes(), Mode::AllOrNothing).await;
            assert_eq!(
                done.imported,
                self.lawyers as usize,
                "members: {}",
                issues(&done.report)
            );
            members = app.members_of(org).await;
        }
        FirmOrg { org, firm, members }
    }
}
