//! Who may do what where: pure decisions over (actor, action, target), and the list scope of
//! an actor. The store filters every list by a `Scope`; services call `authorize` before reads
//! of single records and before every change.

use crate::domain::{MemberId, OrgId, Role, TreePath, UserId};

/// The signed-in user as the services see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub org_id: OrgId,
    pub org_name: String,
    pub org_path: TreePath,
    /// Set for the 党员本人 role: the member record this account belongs to.
    pub member_id: Option<MemberId>,
    /// The address the request came from (set by the web layer; none on the command line).
    pub source: Option<String>,
}

/// What a list query may return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Everything whose organisation path lies in this subtree.
    Subtree(TreePath),
    /// Only this one member record (and nothing of the directory).
    OwnRecord(MemberId),
}

impl Scope {
    pub fn of(actor: &Actor) -> Self {
        match (actor.role, actor.member_id) {
            (Role::Member, Some(m)) => Self::OwnRecord(m),
            // A member account without a record sees nothing: an empty subtree would be wrong,
            // so point it at a record id that never exists.
            (Role::Member, None) => Self::OwnRecord(MemberId(0)),
            _ => Self::Subtree(actor.org_path.clone()),
        }
    }
}

/// Things a user may try to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The tree, organisation, firm and member lists and pages.
    ReadDirectory,
    /// One member's record.
    ReadMember(MemberId),
    /// Create, disable, enable and reset passwords of accounts.
    ManageUsers,
    /// Read the audit log.
    ReadAudit,
    /// Fill and submit a member's registration form: the member themself, or a clerk,
    /// reviewer or administrator of the subtree on the member's behalf (代填).
    FileRegistration(MemberId),
    /// Add member records (and their accounts) to a node: clerks, reviewers and
    /// administrators of the subtree.
    ManageMembers,
    /// Approve (审核盖章) or return registrations, accept or return a child's package and
    /// grant a child more time: the 审核人 (书记 or 组织委员) only.
    Review,
    /// Submit the node's package to its parent: the node's 经办人 or 审核人.
    SubmitPackage,
    /// Draw a spot-check sample over the subtree and assign its checkers: the 审核人 or the
    /// administrator of a national or provincial node.
    DrawSample,
    /// Record the check of a sampled record assigned to one: 经办人 or 审核人.
    CheckSample,
    /// Record the handling of an accountability record of a node below: 审核人 or
    /// administrator.
    HoldToAccount,
    /// 催办: remind the members or the child nodes of the subtree that have not finished:
    /// 经办人, 审核人 or administrator.
    Remind,
    /// Edit the registry of firms and organisations (rename, particulars, coverage, 注销):
    /// clerks, reviewers and administrators of a city-level node or above, within their
    /// subtree — the level that keeps the firm registry.
    EditDirectory,
    /// Load a snapshot of the 全国律师综合管理系统's roster: clerks, reviewers and
    /// administrators of the national node.
    LoadLicensing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// The role may not do this at all.
    Forbidden,
    /// The target lies outside the actor's subtree: answered exactly like a record that does
    /// not exist, so nothing about other branches leaks.
    NotFound,
}

/// Decide whether `actor` may do `action` on something that sits at `target` in the tree
/// (`None` for actions that are not about one place, such as opening a list).
pub fn authorize(actor: &Actor, action: Action, target: Option<&TreePath>) -> Decision {
    let role_may = match action {
        Action::ReadDirectory => actor.role != Role::Member,
        Action::ReadMember(id) => actor.role != Role::Member || actor.member_id == Some(id),
        Action::ManageUsers => actor.role == Role::Admin,
        Action::ReadAudit => matches!(actor.role, Role::Admin | Role::Auditor),
        Action::FileRegistration(_) => actor.role != Role::Auditor,
        Action::ManageMembers | Action::Remind => {
            matches!(actor.role, Role::Clerk | Role::Reviewer | Role::Admin)
        }
        Action::Review => actor.role == Role::Reviewer,
        Action::SubmitPackage | Action::CheckSample => {
            matches!(actor.role, Role::Clerk | Role::Reviewer)
        }
        Action::DrawSample | Action::HoldToAccount => {
            matches!(actor.role, Role::Reviewer | Role::Admin)
        }
        Action::LoadLicensing => {
            matches!(actor.role, Role::Clerk | Role::Reviewer | Role::Admin)
                && actor.org_path.depth() == 0
        }
        Action::EditDirectory => {
            matches!(actor.role, Role::Clerk | Role::Reviewer | Role::Admin)
                && actor.org_path.depth() <= 2
        }
    };
    if let (Role::Member, Action::ReadMember(id) | Action::FileRegistration(id)) =
        (actor.role, action)
    {
        // A member asking for somebody else's record is told it does not exist.
        return if actor.member_id == Some(id) {
            Decision::Allow
        } else {
            Decision::NotFound
        };
    }
    if !role_may {
        return Decision::Forbidden;
    }
    match target {
        Some(path) if !actor.org_path.contains(path) => Decision::NotFound,
        _ => Decision::Allow,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, path: &str, member: Option<i64>) -> Actor {
        let path = TreePath::parse(path).unwrap();
        Actor {
            user_id: UserId(1),
            username: "u".into(),
            display_name: "u".into(),
            role,
            org_id: *path.ids().last().unwrap(),
            org_name: "x".into(),
            org_path: path,
            member_id: member.map(MemberId),
            source: None,
        }
    }

    #[test]
    fn matrix() {
        use Decision::*;
        let inside = TreePath::parse("/1/2/3/").unwrap();
        let outside = TreePath::parse("/1/9/").unwrap();
        // (role, action, target, expected)
        let cases: Vec<(Role, Action, Option<&TreePath>, Decision)> = vec![
            (Role::Clerk, Action::ReadDirectory, Some(&inside), Allow),
            (Role::Clerk, Action::ReadDirectory, Some(&outside), NotFound),
            (Role::Clerk, Action::ReadDirectory, None, Allow),
            (
                Role::Reviewer,
                Action::ReadMember(MemberId(5)),
                Some(&inside),
                Allow,
            ),
            (
                Role::Reviewer,
                Action::ReadMember(MemberId(5)),
                Some(&outside),
                NotFound,
            ),
            (Role::Auditor, Action::ReadAudit, None, Allow),
            (Role::Auditor, Action::ManageUsers, Some(&inside), Forbidden),
            (Role::Admin, Action::ManageUsers, Some(&inside), Allow),
            (Role::Admin, Action::ManageUsers, Some(&outside), NotFound),
            (Role::Clerk, Action::ManageUsers, Some(&inside), Forbidden),
            (Role::Reviewer, Action::ReadAudit, None, Forbidden),
            (
                Role::Member,
                Action::ReadDirectory,
                Some(&inside),
                Forbidden,
            ),
            (
                Role::Member,
                Action::ReadMember(MemberId(5)),
                Some(&inside),
                Allow,
            ),
            (
                Role::Member,
                Action::ReadMember(MemberId(6)),
                Some(&inside),
                NotFound,
            ),
            (Role::Member, Action::ReadAudit, None, Forbidden),
            (
                Role::Member,
                Action::FileRegistration(MemberId(5)),
                Some(&inside),
                Allow,
            ),
            (
                Role::Member,
                Action::FileRegistration(MemberId(6)),
                Some(&inside),
                NotFound,
            ),
            (
                Role::Clerk,
                Action::FileRegistration(MemberId(6)),
                Some(&inside),
                Allow,
            ),
            (
                Role::Clerk,
                Action::FileRegistration(MemberId(6)),
                Some(&outside),
                NotFound,
            ),
            (
                Role::Auditor,
                Action::FileRegistration(MemberId(6)),
                Some(&inside),
                Forbidden,
            ),
        ];
        for (role, action, target, want) in cases {
            let a = actor(role, "/1/2/", Some(5));
            assert_eq!(
                authorize(&a, action, target),
                want,
                "{role:?} {action:?} {target:?}"
            );
        }
    }

    #[test]
    fn scopes() {
        assert_eq!(
            Scope::of(&actor(Role::Member, "/1/2/", Some(5))),
            Scope::OwnRecord(MemberId(5))
        );
        assert_eq!(
            Scope::of(&actor(Role::Clerk, "/1/2/", None)),
            Scope::Subtree(TreePath::parse("/1/2/").unwrap())
        );
    }
}
