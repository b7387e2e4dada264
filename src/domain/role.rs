//! The roles a user account holds at its organisation node.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// 党员本人: sees and (later) files only their own form.
    Member,
    /// 经办人: does the clerical work of a node.
    Clerk,
    /// 审核人: the 书记 or 组织委员 whose name goes on approvals.
    Reviewer,
    /// 管理员: manages accounts within the subtree.
    Admin,
    /// 只读审计: reads everything in the subtree, including the audit log; changes nothing.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Self::Member,
        Self::Clerk,
        Self::Reviewer,
        Self::Admin,
        Self::Auditor,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Clerk => "clerk",
            Self::Reviewer => "reviewer",
            Self::Admin => "admin",
            Self::Auditor => "auditor",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Member => "党员本人",
            Self::Clerk => "经办人",
            Self::Reviewer => "审核人",
            Self::Admin => "管理员",
            Self::Auditor => "只读审计",
        }
    }
}
