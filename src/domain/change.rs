//! Change records of the living roster and the periods they are reported in (定期上报):
//! kinds, states, monthly or quarterly periods and their deadlines.

use time::{Date, Month};

use super::OrgLevel;

/// What a change did to the registered data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// 新增: a record that was not on the roster.
    Add,
    /// 变更: fields of a record (which ones is in the change).
    Edit,
    /// 转出: a member's 组织关系 left the node.
    Out,
    /// 转入: a member's 组织关系 arrived at the node.
    In,
    /// 注销 (a firm) or 撤销 (an organisation).
    Close,
    /// 停止登记: a member's registration ended (or, with the fields saying so, resumed).
    Stop,
}

impl ChangeKind {
    pub const ALL: [Self; 6] = [
        Self::Add,
        Self::Edit,
        Self::Out,
        Self::In,
        Self::Close,
        Self::Stop,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Edit => "edit",
            Self::Out => "out",
            Self::In => "in",
            Self::Close => "close",
            Self::Stop => "stop",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Add => "新增",
            Self::Edit => "变更",
            Self::Out => "转出",
            Self::In => "转入",
            Self::Close => "注销/撤销",
            Self::Stop => "停止登记",
        }
    }
}

/// Why a member's registration ended (停止登记).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// 组织关系转出律师行业: to a party organisation outside the lawyer industry (the
    /// destination is required).
    TransferredOut,
    /// 离开律师行业（注销执业证、调离等）.
    LeftProfession,
    /// 出党、除名或退党.
    LeftParty,
    /// 去世.
    Deceased,
    /// 其他 (the note says what).
    Other,
}

impl StopReason {
    pub const ALL: [Self; 5] = [
        Self::TransferredOut,
        Self::LeftProfession,
        Self::LeftParty,
        Self::Deceased,
        Self::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::TransferredOut => "transferred_out",
            Self::LeftProfession => "left_profession",
            Self::LeftParty => "left_party",
            Self::Deceased => "deceased",
            Self::Other => "other",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::TransferredOut => "组织关系转出律师行业",
            Self::LeftProfession => "离开律师行业（注销执业证、调离等）",
            Self::LeftParty => "出党、除名或退党",
            Self::Deceased => "去世",
            Self::Other => "其他",
        }
    }
}

/// Where a change stands on its way to the national roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeState {
    /// Recorded, on its way up (not yet accepted by the national level).
    Pending,
    /// Returned by a level above with a reason; the keeping node answers before resubmitting.
    Returned,
    /// Part of the official (accepted) roster.
    Accepted,
}

impl ChangeState {
    pub fn code(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Returned => "returned",
            Self::Accepted => "accepted",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Pending, Self::Returned, Self::Accepted]
            .into_iter()
            .find(|s| s.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "待上报/审核中",
            Self::Returned => "已退回",
            Self::Accepted => "已接收（正式）",
        }
    }
}

/// A change set's state at the parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetState {
    Submitted,
    Accepted,
    Returned,
}

impl SetState {
    pub fn code(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Accepted => "accepted",
            Self::Returned => "returned",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Submitted, Self::Accepted, Self::Returned]
            .into_iter()
            .find(|s| s.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Submitted => "已报送，待上级接收",
            Self::Accepted => "上级已接收",
            Self::Returned => "已退回，待重新报送",
        }
    }

    /// Submitted or accepted: the set is with the parent and its period is closed at the node.
    pub fn is_with_parent(self) -> bool {
        matches!(self, Self::Submitted | Self::Accepted)
    }
}

/// How often the nodes report their changes (the `change_period` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cadence {
    #[default]
    Monthly,
    Quarterly,
}

impl Cadence {
    pub fn code(self) -> &'static str {
        match self {
            Self::Monthly => "month",
            Self::Quarterly => "quarter",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code.trim() {
            "month" | "monthly" | "月" | "每月" => Some(Self::Monthly),
            "quarter" | "quarterly" | "季" | "每季度" => Some(Self::Quarterly),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Monthly => "每月",
            Self::Quarterly => "每季度",
        }
    }

    /// The period a day falls in: `2027-01`, or `2027-Q1`.
    pub fn period_of(self, d: Date) -> String {
        let m = u8::from(d.month());
        match self {
            Self::Monthly => format!("{:04}-{m:02}", d.year()),
            Self::Quarterly => format!("{:04}-Q{}", d.year(), (m - 1) / 3 + 1),
        }
    }
}

/// A period code read back: its first and last day.
pub fn period_bounds(period: &str) -> Option<(Date, Date)> {
    let (y, rest) = period.split_once('-')?;
    let year: i32 = y.parse().ok().filter(|y| (1900..=9999).contains(y))?;
    let (first, last) = if let Some(q) = rest.strip_prefix('Q') {
        let q: u8 = q.parse().ok().filter(|q| (1..=4).contains(q))?;
        (q * 3 - 2, q * 3)
    } else {
        let m: u8 = rest.parse().ok().filter(|m| (1..=12).contains(m))?;
        if rest.len() != 2 {
            return None;
        }
        (m, m)
    };
    let start = Date::from_calendar_date(year, Month::try_from(first).ok()?, 1).ok()?;
    let last_month = Month::try_from(last).ok()?;
    let end = Date::from_calendar_date(year, last_month, last_month.length(year)).ok()?;
    Some((start, end))
}

/// The period after `period` (of the same cadence).
pub fn next_period(period: &str) -> Option<String> {
    let (_, end) = period_bounds(period)?;
    let cadence = if period.contains('Q') {
        Cadence::Quarterly
    } else {
        Cadence::Monthly
    };
    Some(cadence.period_of(end.next_day()?))
}

/// The period in words: `2027年1月`, `2027年第一季度`.
pub fn period_label(period: &str) -> String {
    match period.split_once('-') {
        Some((y, q)) if q.starts_with('Q') => {
            let n = match q {
                "Q1" => "一",
                "Q2" => "二",
                "Q3" => "三",
                _ => "四",
            };
            format!("{y}年第{n}季度")
        }
        Some((y, m)) => format!("{y}年{}月", m.trim_start_matches('0')),
        None => period.to_owned(),
    }
}

/// Days after a period's last day by which a node of `level` submits its change set: the
/// firm-level organisations first, each level above five days later (the national level
/// submits to nobody).
pub fn due_days(level: OrgLevel) -> i64 {
    match level {
        OrgLevel::Firm => 5,
        OrgLevel::City => 10,
        OrgLevel::Province => 15,
        OrgLevel::National => 20,
    }
}

/// The deadline of a node's change set for a period.
pub fn deadline(period: &str, level: OrgLevel) -> Option<Date> {
    let (_, end) = period_bounds(period)?;
    end.checked_add(time::Duration::days(due_days(level)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn periods_and_bounds() {
        assert_eq!(Cadence::Monthly.period_of(date!(2027 - 01 - 31)), "2027-01");
        assert_eq!(
            Cadence::Quarterly.period_of(date!(2027 - 05 - 02)),
            "2027-Q2"
        );
        assert_eq!(
            Cadence::Quarterly.period_of(date!(2027 - 12 - 31)),
            "2027-Q4"
        );
        assert_eq!(
            period_bounds("2028-02"),
            Some((date!(2028 - 02 - 01), date!(2028 - 02 - 29)))
        );
        assert_eq!(
            period_bounds("2027-Q4"),
            Some((date!(2027 - 10 - 01), date!(2027 - 12 - 31)))
        );
        for bad in [
            "", "2027", "2027-13", "2027-1", "2027-Q5", "x-01", "2027-Q0",
        ] {
            assert_eq!(period_bounds(bad), None, "{bad}");
        }
        assert_eq!(next_period("2026-12").as_deref(), Some("2027-01"));
        assert_eq!(next_period("2026-Q4").as_deref(), Some("2027-Q1"));
        assert_eq!(period_label("2027-01"), "2027年1月");
        assert_eq!(period_label("2027-Q3"), "2027年第三季度");
    }

    #[test]
    fn deadlines_step_up_the_levels() {
        assert_eq!(
            deadline("2027-01", OrgLevel::Firm),
            Some(date!(2027 - 02 - 05))
        );
        assert_eq!(
            deadline("2027-01", OrgLevel::Province),
            Some(date!(2027 - 02 - 15))
        );
        assert_eq!(Cadence::from_code("每季度"), Some(Cadence::Quarterly));
        assert_eq!(Cadence::from_code("weekly"), None);
    }
}
