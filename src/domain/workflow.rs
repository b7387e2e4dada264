//! The workflow states of a member's form (附件1/附件2) and of a node's package submitted
//! upward, the moves allowed between them, and their Chinese labels — one place for each. The
//! store converts at its edge ([`RegistrationState::parse`], `code`); nothing else spells a
//! state as a string. The inbox's kinds of notice are here too.

/// Where a member's form stands in the campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegistrationState {
    /// 草稿: being filled (by the member or a clerk on their behalf).
    Draft,
    /// 已提交: confirmed and submitted, waiting for the firm organisation's review.
    Submitted,
    /// 已退回: returned with a reason, to be corrected and submitted again.
    Returned,
    /// 已审核通过: approved (审核盖章).
    Approved,
}

/// What is done to a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationMove {
    /// Saved without submitting: the state stays.
    Save,
    Submit,
    Approve,
    /// Returned by the reviewer, or from above (a package's single record).
    Return,
}

impl RegistrationState {
    pub const ALL: [Self; 4] = [Self::Draft, Self::Submitted, Self::Returned, Self::Approved];

    pub fn code(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Returned => "returned",
            Self::Approved => "approved",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "草稿（未提交）",
            Self::Submitted => "已提交，待审核",
            Self::Returned => "已退回，待修改",
            Self::Approved => "已审核通过",
        }
    }

    /// The short word of lists and filters: 草稿, 待审核, 已退回, 已通过 (未填报 is the absence
    /// of a form, see [`form_state_label`]).
    pub fn short_label(self) -> &'static str {
        match self {
            Self::Draft => "草稿",
            Self::Submitted => "待审核",
            Self::Returned => "已退回",
            Self::Approved => "已通过",
        }
    }

    /// The member (or a clerk) may still change the form.
    pub fn editable(self) -> bool {
        matches!(self, Self::Draft | Self::Returned)
    }

    /// The state a move leads to from here, or `None` when the move is not allowed: the one
    /// table of the form's workflow.
    pub fn after(self, m: RegistrationMove) -> Option<Self> {
        use RegistrationMove as M;
        match (self, m) {
            (Self::Draft | Self::Returned, M::Save) => Some(self),
            (Self::Draft | Self::Returned, M::Submit) => Some(Self::Submitted),
            (Self::Submitted, M::Approve) => Some(Self::Approved),
            (Self::Submitted | Self::Approved, M::Return) => Some(Self::Returned),
            _ => None,
        }
    }

    /// The states a move may start from.
    pub fn before(m: RegistrationMove) -> Vec<Self> {
        Self::ALL
            .into_iter()
            .filter(|s| s.after(m).is_some())
            .collect()
    }
}

/// The list word for a member's form state, `None` being 未填报 (no form yet).
pub fn form_state_label(state: Option<RegistrationState>) -> &'static str {
    state.map_or("未填报", RegistrationState::short_label)
}

/// Where a node's package to its parent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PackageState {
    /// 已报送: waiting for the parent's decision.
    Submitted,
    /// 已接收: accepted by the parent; the data below is locked until a return.
    Accepted,
    /// 被退回: returned by the parent with a reason; the node submits again.
    Returned,
}

/// What is done to a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageMove {
    /// Submitted (again, after a return).
    Submit,
    Accept,
    /// Returned by the parent, or reopened by a return from above.
    Return,
}

impl PackageState {
    pub const ALL: [Self; 3] = [Self::Submitted, Self::Accepted, Self::Returned];

    pub fn code(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Accepted => "accepted",
            Self::Returned => "returned",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Submitted => "已报送，待上级接收",
            Self::Accepted => "上级已接收",
            Self::Returned => "被上级退回",
        }
    }

    /// The short word of the parent's cockpit.
    pub fn short_label(self) -> &'static str {
        match self {
            Self::Submitted => "已报送",
            Self::Accepted => "已接收",
            Self::Returned => "被退回",
        }
    }

    /// Submitted or accepted: the node's data is with its parent.
    pub fn is_with_parent(self) -> bool {
        matches!(self, Self::Submitted | Self::Accepted)
    }

    /// Waiting for the parent's decision.
    pub fn awaits_decision(self) -> bool {
        self == Self::Submitted
    }

    pub fn is_returned(self) -> bool {
        self == Self::Returned
    }

    pub fn is_accepted(self) -> bool {
        self == Self::Accepted
    }

    /// The state a move leads to from here (`None` for no package yet: only a submission).
    pub fn after(from: Option<Self>, m: PackageMove) -> Option<Self> {
        use PackageMove as M;
        match (from, m) {
            (None | Some(Self::Returned), M::Submit) => Some(Self::Submitted),
            (Some(Self::Submitted), M::Accept) => Some(Self::Accepted),
            (Some(Self::Submitted | Self::Accepted), M::Return) => Some(Self::Returned),
            _ => None,
        }
    }

    /// The states a move may start from (a package on record).
    pub fn before(m: PackageMove) -> Vec<Self> {
        Self::ALL
            .into_iter()
            .filter(|s| Self::after(Some(*s), m).is_some())
            .collect()
    }
}

/// The kinds of notice in a user's inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    /// A form submitted, to review.
    Submitted,
    /// A form or a package returned.
    Returned,
    /// A package accepted.
    Accepted,
    /// A deadline coming.
    Deadline,
    /// A deadline passed.
    Overdue,
    /// A deadline extended.
    Extension,
    /// A user reached the daily limit of nationwide lookups (to the administrators over them).
    LookupLimit,
    /// A 分类处理 case past its due date (to its owner node and the node above).
    CaseOverdue,
    /// A case's written report submitted, acknowledged or returned.
    CaseReport,
    /// 催办: a reminder from the level above (or the firm's clerk) to get on with it.
    Reminder,
    /// Anything else.
    Other,
}

impl NoticeKind {
    pub const ALL: [Self; 11] = [
        Self::Submitted,
        Self::Returned,
        Self::Accepted,
        Self::Deadline,
        Self::Overdue,
        Self::Extension,
        Self::LookupLimit,
        Self::CaseOverdue,
        Self::CaseReport,
        Self::Reminder,
        Self::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Returned => "returned",
            Self::Accepted => "accepted",
            Self::Deadline => "deadline",
            Self::Overdue => "overdue",
            Self::Extension => "extension",
            Self::LookupLimit => "lookup_limit",
            Self::CaseOverdue => "case_overdue",
            Self::CaseReport => "case_report",
            Self::Reminder => "reminder",
            Self::Other => "notice",
        }
    }

    /// Unknown codes (older notices) read as [`NoticeKind::Other`].
    pub fn parse(code: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|k| k.code() == code)
            .unwrap_or(Self::Other)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Submitted => "待审核",
            Self::Returned => "退回",
            Self::Accepted => "已接收",
            Self::Deadline => "截止提醒",
            Self::Overdue => "逾期",
            Self::Extension => "延期",
            Self::LookupLimit => "查重上限",
            Self::CaseOverdue => "分类处理逾期",
            Self::CaseReport => "书面报告",
            Self::Reminder => "催办",
            Self::Other => "通知",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_and_labels_are_chinese() {
        for s in RegistrationState::ALL {
            assert_eq!(RegistrationState::parse(s.code()), Some(s));
        }
        for s in PackageState::ALL {
            assert_eq!(PackageState::parse(s.code()), Some(s));
        }
        for k in NoticeKind::ALL {
            assert_eq!(NoticeKind::parse(k.code()), k);
        }
        assert_eq!(RegistrationState::parse("Draft"), None);
        assert_eq!(NoticeKind::parse("something_old"), NoticeKind::Other);
    }

    #[test]
    fn a_form_moves_only_along_its_workflow() {
        use RegistrationMove as M;
        use RegistrationState as S;
        assert_eq!(S::Draft.after(M::Submit), Some(S::Submitted));
        assert_eq!(S::Returned.after(M::Submit), Some(S::Submitted));
        assert_eq!(S::Submitted.after(M::Approve), Some(S::Approved));
        assert_eq!(S::Approved.after(M::Return), Some(S::Returned));
        assert_eq!(S::Draft.after(M::Approve), None);
        assert_eq!(S::Approved.after(M::Save), None);
        assert_eq!(S::Submitted.after(M::Submit), None);
        assert_eq!(S::before(M::Return), vec![S::Submitted, S::Approved]);
        assert_eq!(S::before(M::Approve), vec![S::Submitted]);
    }

    #[test]
    fn a_package_moves_only_along_its_workflow() {
        use PackageMove as M;
        use PackageState as S;
        assert_eq!(S::after(None, M::Submit), Some(S::Submitted));
        assert_eq!(S::after(Some(S::Returned), M::Submit), Some(S::Submitted));
        assert_eq!(S::after(Some(S::Accepted), M::Submit), None);
        assert_eq!(S::after(Some(S::Submitted), M::Accept), Some(S::Accepted));
        assert_eq!(S::after(Some(S::Returned), M::Accept), None);
        assert_eq!(S::before(M::Return), vec![S::Submitted, S::Accepted]);
        assert_eq!(S::before(M::Accept), vec![S::Submitted]);
    }
}
