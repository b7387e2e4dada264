//! Why the service refused a change, as named cases the web and the command line render to the
//! same Chinese message (`Display`) and tests match by variant. A refusal not named yet is
//! `Other`, with its message.

use crate::domain::{PackageState, RegistrationState};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A form saved over a newer version somebody else saved.
    #[error(
        "该登记表在您打开之后已被他人修改并保存，您的修改尚未保存。请记下您的修改，刷新页面查看最新内容后再填写。"
    )]
    StaleForm,
    /// Something changed between reading and writing (another user acted meanwhile).
    #[error("{0}")]
    Raced(String),
    /// No campaign exists yet.
    #[error("尚未建立登记核查工作，暂不能填报或核查")]
    NoCampaign,
    /// The campaign (named) is closed: nothing changes any more.
    #[error("“{0}”已经结束，不能再填报、审核或报送；如需更正请联系全国律师行业党委")]
    CampaignClosed(String),
    /// The node's package is with its parent: its data is locked until a return.
    #[error("本组织的材料已报送上级（{}），数据已锁定；如需修改，须由上级退回", .0.label())]
    Locked(PackageState),
    /// A form (whose member is named) is not in a state the move starts from.
    #[error("{member}：登记表当前状态为“{}”，{why}", state.label())]
    WrongState {
        member: String,
        state: RegistrationState,
        why: &'static str,
    },
    /// A form that can no longer be changed by its member.
    #[error("登记表{}，不能修改；如需更正，请联系所在党组织退回", .0.label())]
    NotEditable(RegistrationState),
    /// A reviewer reviewing their own form.
    #[error("不能审核本人的登记表，请由本组织其他审核人或上级党组织审核")]
    OwnForm,
    /// A package submitted again while it is with the parent.
    #[error("本组织的材料已经报送（{}），不能重复报送", .0.label())]
    AlreadySubmitted(PackageState),
    /// The node's deadline (the date) has passed without an extension.
    #[error("已超过报送截止日期（{0}），不能报送；请向上级党组织申请延期")]
    DeadlinePassed(String),
    /// An import batch with work depending on it (what, in words).
    #[error("{0}")]
    UndoBlocked(String),
    /// Not named yet.
    #[error("{0}")]
    Other(String),
}

impl From<String> for Refusal {
    fn from(m: String) -> Self {
        Self::Other(m)
    }
}

impl From<&str> for Refusal {
    fn from(m: &str) -> Self {
        Self::Other(m.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words users read for each named refusal (a change here is a change of wording).
    #[test]
    fn each_refusal_reads_as_users_are_told() {
        insta::assert_snapshot!(Refusal::Locked(PackageState::Accepted), @"本组织的材料已报送上级（上级已接收），数据已锁定；如需修改，须由上级退回");
        insta::assert_snapshot!(Refusal::AlreadySubmitted(PackageState::Submitted), @"本组织的材料已经报送（已报送，待上级接收），不能重复报送");
        insta::assert_snapshot!(Refusal::NotEditable(RegistrationState::Approved), @"登记表已审核通过，不能修改；如需更正，请联系所在党组织退回");
        insta::assert_snapshot!(
            Refusal::WrongState {
                member: "张一".into(),
                state: RegistrationState::Returned,
                why: "只有已提交的登记表才能审核",
            },
            @"张一：登记表当前状态为“已退回，待修改”，只有已提交的登记表才能审核"
        );
        insta::assert_snapshot!(Refusal::CampaignClosed("2018年登记核查".into()), @"“2018年登记核查”已经结束，不能再填报、审核或报送；如需更正请联系全国律师行业党委");
        insta::assert_snapshot!(Refusal::DeadlinePassed("2018-08-31".into()), @"已超过报送截止日期（2018-08-31），不能报送；请向上级党组织申请延期");
        insta::assert_snapshot!(Refusal::NoCampaign, @"尚未建立登记核查工作，暂不能填报或核查");
        insta::assert_snapshot!(Refusal::OwnForm, @"不能审核本人的登记表，请由本组织其他审核人或上级党组织审核");
    }
}
