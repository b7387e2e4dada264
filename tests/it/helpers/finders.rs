//! Finding a test's targets the way a user would: through the directory, the forms and the
//! packages of the services (as the operator, who sees the whole tree), not with SQL.

use dengji::domain::{FirmId, MemberId, OrgId, OrgLevel, PackageState, RegistrationState};
use dengji::service::Caller;
use dengji::service::directory::{Event, Firm, FirmFilter, Member, MemberFilter, Org, OrgFilter};
use dengji::service::package::Package;
use dengji::service::users::{User, UserFilter};

use super::TestApp;

const OP: Caller<'static> = Caller::Operator;

/// More than any test's tree holds on one page.
const ALL: i64 = 100_000;

impl TestApp {
    /// The node.
    pub async fn org(&self, id: OrgId) -> Org {
        self.services
            .directory()
            .org(OP, id)
            .await
            .unwrap_or_else(|e| panic!("org {id:?}: {e:?}"))
            .org
    }

    /// The top of the tree (the national committee).
    pub async fn root(&self) -> OrgId {
        let f = OrgFilter {
            level: Some(OrgLevel::National),
            page: 1,
            per_page: 1,
            ..OrgFilter::default()
        };
        let page = self.services.directory().orgs(OP, &f).await.unwrap();
        page.items.first().expect("the top of the tree").id
    }

    /// The nodes directly below `org`, in id order.
    pub async fn children_of(&self, org: OrgId) -> Vec<OrgId> {
        let (_, children) = self.services.directory().children(OP, org).await.unwrap();
        let mut ids: Vec<OrgId> = children.into_iter().map(|o| o.id).collect();
        ids.sort_by_key(|o| o.0);
        ids
    }

    /// The members filed at `org` itself (not below it), in id order.
    pub async fn members_of(&self, org: OrgId) -> Vec<MemberId> {
        let mut ids: Vec<MemberId> = self
            .members_at(org)
            .await
            .into_iter()
            .map(|m| m.id)
            .collect();
        ids.sort_by_key(|m| m.0);
        ids
    }

    /// The member records filed at `org` itself, as the directory lists them.
    pub async fn members_at(&self, org: OrgId) -> Vec<Member> {
        self.list_members(org, Some(org)).await
    }

    /// The directory's member list under `under`, only those filed at `at` if given.
    pub async fn list_members(&self, under: OrgId, at: Option<OrgId>) -> Vec<Member> {
        let f = MemberFilter {
            org: at,
            page: 1,
            per_page: ALL,
            ..MemberFilter::default()
        };
        let (page, _) = self
            .services
            .directory()
            .members(OP, Some(under), &f)
            .await
            .unwrap();
        page.items.into_iter().map(|l| l.member).collect()
    }

    /// The 专职律师 filed at `org` itself (those the campaign registers), in id order.
    pub async fn registrable_lawyers_at(&self, org: OrgId) -> Vec<MemberId> {
        let mut ids: Vec<MemberId> = self
            .members_at(org)
            .await
            .into_iter()
            .filter(|m| m.category == "lawyer" && m.practice_type.as_deref() == Some("1"))
            .map(|m| m.id)
            .collect();
        ids.sort_by_key(|m| m.0);
        ids
    }

    /// A member's record.
    pub async fn member(&self, id: MemberId) -> Member {
        self.services.directory().member(OP, id).await.unwrap()
    }

    /// The firms under `org` (its subtree), as the directory lists them.
    pub async fn firms_under(&self, org: OrgId) -> Vec<Firm> {
        let f = FirmFilter {
            page: 1,
            per_page: ALL,
            ..FirmFilter::default()
        };
        let (page, _) = self
            .services
            .directory()
            .firms(OP, Some(org), &f)
            .await
            .unwrap();
        page.items
    }

    /// The firm covered by organisation `org` (the first by id when it covers several).
    pub async fn firm_of(&self, org: OrgId) -> Firm {
        let mut firms: Vec<Firm> = self
            .firms_under(org)
            .await
            .into_iter()
            .filter(|f| f.org_id == Some(org))
            .collect();
        firms.sort_by_key(|f| f.id.0);
        firms
            .into_iter()
            .next()
            .expect("a firm covered by the organisation")
    }

    /// A firm.
    pub async fn firm(&self, id: FirmId) -> Firm {
        self.services.directory().firm(OP, id).await.unwrap()
    }

    /// The state of a member's form in the campaign (草稿 when none is saved yet).
    pub async fn form_state(&self, member: MemberId) -> RegistrationState {
        self.services
            .registration()
            .view(OP, member)
            .await
            .unwrap()
            .state
    }

    /// The node's package, if it has submitted one.
    pub async fn package(&self, org: OrgId) -> Option<Package> {
        self.services.package().view(OP, org).await.unwrap().package
    }

    /// The state of the node's package, if it has submitted one.
    pub async fn package_state(&self, org: OrgId) -> Option<PackageState> {
        self.package(org).await.map(|p| p.state)
    }

    /// The account called `username`.
    pub async fn user(&self, username: &str) -> User {
        let f = UserFilter {
            q: Some(username.to_owned()),
            page: 1,
            per_page: ALL,
            ..UserFilter::default()
        };
        let page = self.services.users().list(OP, &f).await.unwrap();
        page.items
            .into_iter()
            .find(|u| u.username == username)
            .unwrap_or_else(|| panic!("no account {username}"))
    }

    /// The audit log's events of `action`, newest first, as an auditor reads them.
    pub async fn audit(&self, action: &str) -> Vec<Event> {
        self.services
            .directory()
            .audit(
                OP,
                None,
                &dengji::service::directory::AuditFilter {
                    action: Some(action.to_owned()),
                    ..Default::default()
                },
                1,
                ALL,
            )
            .await
            .unwrap()
            .items
    }

    /// Every member record in the tree, as the national directory lists them.
    pub async fn all_members(&self) -> Vec<Member> {
        let root = self.root().await;
        self.list_members(root, None).await
    }

    /// The member whose licence is `licence`.
    pub async fn member_licensed(&self, licence: &str) -> Member {
        self.all_members()
            .await
            .into_iter()
            .find(|m| m.licence_no.as_deref() == Some(licence))
            .unwrap_or_else(|| panic!("no member licensed {licence}"))
    }

    /// The member called `name` (the first by id when several are).
    pub async fn member_named(&self, name: &str) -> Member {
        let mut found: Vec<Member> = self
            .all_members()
            .await
            .into_iter()
            .filter(|m| m.name == name)
            .collect();
        found.sort_by_key(|m| m.id.0);
        found
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no member called {name}"))
    }

    /// The firm whose 统一社会信用代码 is `code`.
    pub async fn firm_coded(&self, code: &str) -> Firm {
        let root = self.root().await;
        self.firms_under(root)
            .await
            .into_iter()
            .find(|f| f.credit_code == code)
            .unwrap_or_else(|| panic!("no firm {code}"))
    }

    /// The firm of `city` (its own firms, not those below a firm organisation's node) that
    /// comes first by id.
    pub async fn first_firm_of_city(&self, city: OrgId) -> Firm {
        let mut firms: Vec<Firm> = self
            .firms_under(city)
            .await
            .into_iter()
            .filter(|f| f.city_org_id == city)
            .collect();
        firms.sort_by_key(|f| f.id.0);
        firms.into_iter().next().expect("a firm in the city")
    }
}
