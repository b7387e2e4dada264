//! 追责 (notice §四(二)): the kinds of accountability record, what each came from, and the
//! handling decisions a superior records — codes and Chinese labels in one place.

/// Why a node is held to account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountKind {
    /// 弄虚作假: a spot check found a record it passed up false.
    Falsified,
    /// 工作拖沓: a missed deadline or an overdue case.
    Delay,
}

impl AccountKind {
    pub const ALL: [Self; 2] = [Self::Falsified, Self::Delay];

    pub fn code(self) -> &'static str {
        match self {
            Self::Falsified => "falsified",
            Self::Delay => "delay",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Falsified => "弄虚作假",
            Self::Delay => "工作拖沓",
        }
    }
}

/// What an accountability record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountSource {
    /// A spot check's 不属实 finding.
    Finding,
    /// A node that missed its submission deadline.
    OverdueMark,
    /// A 分类处理 case past its due date.
    OverdueCase,
}

impl AccountSource {
    pub const ALL: [Self; 3] = [Self::Finding, Self::OverdueMark, Self::OverdueCase];

    pub fn code(self) -> &'static str {
        match self {
            Self::Finding => "finding",
            Self::OverdueMark => "overdue_mark",
            Self::OverdueCase => "overdue_case",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Finding => "抽查核验不属实",
            Self::OverdueMark => "逾期未报送",
            Self::OverdueCase => "分类处理逾期",
        }
    }

    pub fn kind(self) -> AccountKind {
        match self {
            Self::Finding => AccountKind::Falsified,
            Self::OverdueMark | Self::OverdueCase => AccountKind::Delay,
        }
    }
}

/// The handling decided on (free text goes with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Handling {
    Talk,
    Circulate,
    Educate,
    Refer,
    /// 不予追责: looked into, no one to blame (the note says why).
    NoAction,
    Other,
}

impl Handling {
    pub const ALL: [Self; 6] = [
        Self::Talk,
        Self::Circulate,
        Self::Educate,
        Self::Refer,
        Self::NoAction,
        Self::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Talk => "talk",
            Self::Circulate => "circulate",
            Self::Educate => "educate",
            Self::Refer => "refer",
            Self::NoAction => "none",
            Self::Other => "other",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Talk => "约谈",
            Self::Circulate => "通报",
            Self::Educate => "批评教育",
            Self::Refer => "移交有关部门",
            Self::NoAction => "不予追责",
            Self::Other => "其他",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_sources_say_their_kind() {
        for h in Handling::ALL {
            assert_eq!(Handling::parse(h.code()), Some(h));
        }
        for s in AccountSource::ALL {
            assert_eq!(AccountSource::parse(s.code()), Some(s));
        }
        assert_eq!(AccountSource::Finding.kind(), AccountKind::Falsified);
        assert_eq!(AccountSource::OverdueCase.kind().label(), "工作拖沓");
    }
}
