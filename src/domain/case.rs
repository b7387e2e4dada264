//! 分类处理 (notice §三(四)): the five cases of a member whose 组织关系 is not in, what may be
//! done about each, the outcomes each may end with, and the written report cases 4 and 5 owe
//! the superior organisation. Codes, Chinese labels and the allowed outcomes live here only.

/// The five cases (mission.md §5), stored as `1`–`5` like the survey's 问题类别.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CaseCategory {
    /// 组织关系仍存放在原工作单位、社区（村）、人才（劳动）服务机构、学校等.
    HeldElsewhere,
    /// 因上级党组织隶属关系不明确未能转入.
    UnclearAffiliation,
    /// 组织关系介绍信过期或丢失.
    LetterLost,
    /// 离开执业所在律师事务所六个月以上.
    LeftFirm,
    /// 本人拒不转入且不参加组织生活.
    Refuses,
}

impl CaseCategory {
    pub const ALL: [Self; 5] = [
        Self::HeldElsewhere,
        Self::UnclearAffiliation,
        Self::LetterLost,
        Self::LeftFirm,
        Self::Refuses,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::HeldElsewhere => "1",
            Self::UnclearAffiliation => "2",
            Self::LetterLost => "3",
            Self::LeftFirm => "4",
            Self::Refuses => "5",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code.trim())
    }

    /// 0 for case 1 … 4 for case 5 (for counts kept in arrays).
    pub fn index(self) -> usize {
        Self::ALL.iter().position(|c| *c == self).unwrap_or(0)
    }

    /// 第N类 and the situation in a few words.
    pub fn label(self) -> &'static str {
        match self {
            Self::HeldElsewhere => "第1类：组织关系存放在原单位、社区、人才服务机构或学校等",
            Self::UnclearAffiliation => "第2类：上级党组织隶属关系不明确未能转入",
            Self::LetterLost => "第3类：组织关系介绍信过期或丢失",
            Self::LeftFirm => "第4类：离开执业所在律师事务所六个月以上",
            Self::Refuses => "第5类：本人拒不转入且不参加组织生活",
        }
    }

    /// What the notice prescribes.
    pub fn handling(self) -> &'static str {
        match self {
            Self::HeldElsewhere => {
                "由本人联系原组织关系所在党组织转接；暂时无法转接的，纳入当地律师行业党组织或司法行政机关党组织管理并登记"
            }
            Self::UnclearAffiliation => {
                "由当地律师行业党组织和司法行政机关党组织协调组织部门解决；仍未解决的，由当地律师行业或司法行政机关党组织接收并登记"
            }
            Self::LetterLost => {
                "由本人联系原组织关系所在党组织补开或重开介绍信，律所、行业党委和司法行政机关党组织协助；暂时无法转接的，纳入当地管理并登记"
            }
            Self::LeftFirm => {
                "由当地律师行业党组织或司法行政机关党组织联系本人转出组织关系，不再登记，并书面报告上级党组织"
            }
            Self::Refuses => {
                "进行批评教育；经教育仍拒不转入的，依照党章和党内有关规定处理，不再登记，并书面报告上级党组织"
            }
        }
    }

    /// The outcomes a case of this category may end with (the notice's table).
    pub fn outcomes(self) -> &'static [CaseOutcome] {
        match self {
            Self::HeldElsewhere | Self::LetterLost => {
                &[CaseOutcome::TransferredIn, CaseOutcome::LocalManagement]
            }
            Self::UnclearAffiliation => {
                &[CaseOutcome::TransferredIn, CaseOutcome::IndustryReceived]
            }
            Self::LeftFirm => &[CaseOutcome::TransferredOut],
            Self::Refuses => &[CaseOutcome::HandledByRules],
        }
    }

    /// Cases 4 and 5 end with a written report to the superior organisation, acknowledged
    /// before the case may close.
    pub fn needs_report(self) -> bool {
        matches!(self, Self::LeftFirm | Self::Refuses)
    }
}

/// How a case ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseOutcome {
    /// 已转入并登记: the relationship came in; registered under the firm.
    TransferredIn,
    /// 纳入当地管理并登记: registered under the local committee's management.
    LocalManagement,
    /// 由行业党组织接收并登记: received and registered by the local industry organisation.
    IndustryReceived,
    /// 已转出、不再登记.
    TransferredOut,
    /// 依规处理、不再登记.
    HandledByRules,
}

impl CaseOutcome {
    pub const ALL: [Self; 5] = [
        Self::TransferredIn,
        Self::LocalManagement,
        Self::IndustryReceived,
        Self::TransferredOut,
        Self::HandledByRules,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::TransferredIn => "transferred_in",
            Self::LocalManagement => "local_management",
            Self::IndustryReceived => "industry_received",
            Self::TransferredOut => "transferred_out",
            Self::HandledByRules => "handled_by_rules",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::TransferredIn => "已转入并登记",
            Self::LocalManagement => "纳入当地管理并登记",
            Self::IndustryReceived => "由行业党组织接收并登记",
            Self::TransferredOut => "已转出、不再登记",
            Self::HandledByRules => "依规处理、不再登记",
        }
    }

    /// Whether the member ends registered.
    pub fn registered(self) -> bool {
        !matches!(self, Self::TransferredOut | Self::HandledByRules)
    }
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseState {
    /// 进行中 (逾期 when past its due date: shown, not stored).
    Open,
    /// 已办结.
    Closed,
}

impl CaseState {
    pub const ALL: [Self; 2] = [Self::Open, Self::Closed];

    pub fn code(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// What was done on a case (a step of its timeline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseStep {
    ContactOrigin,
    CoordinateDepartment,
    ReissueLetter,
    Educate,
    Talk,
    ContactMember,
    Other,
}

impl CaseStep {
    pub const ALL: [Self; 7] = [
        Self::ContactOrigin,
        Self::CoordinateDepartment,
        Self::ReissueLetter,
        Self::Educate,
        Self::Talk,
        Self::ContactMember,
        Self::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::ContactOrigin => "contact_origin",
            Self::CoordinateDepartment => "coordinate",
            Self::ReissueLetter => "letter",
            Self::Educate => "educate",
            Self::Talk => "talk",
            Self::ContactMember => "contact_member",
            Self::Other => "other",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::ContactOrigin => "联系原组织关系所在党组织",
            Self::CoordinateDepartment => "协调组织部门",
            Self::ReissueLetter => "补开/重开介绍信",
            Self::Educate => "批评教育",
            Self::Talk => "谈话",
            Self::ContactMember => "联系本人",
            Self::Other => "其他",
        }
    }
}

/// The written report of a case 4 or 5 (书面报告), submitted to the superior organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportState {
    /// 已报送，待上级阅知.
    Submitted,
    /// 上级已阅.
    Acknowledged,
    /// 被退回: to be corrected and submitted again.
    Returned,
}

impl ReportState {
    pub const ALL: [Self; 3] = [Self::Submitted, Self::Acknowledged, Self::Returned];

    pub fn code(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Acknowledged => "acknowledged",
            Self::Returned => "returned",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Submitted => "已报送，待上级阅知",
            Self::Acknowledged => "上级已阅",
            Self::Returned => "被上级退回",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in CaseCategory::ALL {
            assert_eq!(CaseCategory::parse(c.code()), Some(c));
        }
        for o in CaseOutcome::ALL {
            assert_eq!(CaseOutcome::parse(o.code()), Some(o));
        }
        for s in CaseStep::ALL {
            assert_eq!(CaseStep::parse(s.code()), Some(s));
        }
        for s in ReportState::ALL {
            assert_eq!(ReportState::parse(s.code()), Some(s));
        }
        assert_eq!(CaseCategory::parse("6"), None);
    }

    #[test]
    fn cases_four_and_five_end_not_registered_and_need_a_report() {
        for c in CaseCategory::ALL {
            let ends_registered = c.outcomes().iter().all(|o| o.registered());
            let ends_not = c.outcomes().iter().all(|o| !o.registered());
            assert!(ends_registered ^ ends_not, "{c:?} has mixed outcomes");
            assert_eq!(c.needs_report(), ends_not, "{c:?}");
        }
        assert!(
            !CaseCategory::HeldElsewhere
                .outcomes()
                .contains(&CaseOutcome::TransferredOut)
        );
    }
}
