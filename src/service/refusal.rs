//! Why the service refused a change, as named cases the web and the command line render to the
//! same Chinese message (`Display`) and tests match by variant.

use crate::domain::{PackageState, RegistrationState, ReportState};

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
    /// No snapshot of the licensing roster has been loaded.
    #[error("尚未载入全国律师综合管理系统的名册，暂不能核对；请全国律师行业党委先载入名册")]
    NoLicensingSnapshot,
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
    /// An import batch undone already.
    #[error("该批次已经撤销过了")]
    AlreadyUndone,
    /// An upload left longer than its waiting time.
    #[error("上传的文件已过期（超过24小时未处理），请重新上传")]
    UploadExpired,
    /// A form to review that its member (named) has not submitted.
    #[error("{0}：尚未提交登记表，不能审核")]
    NotSubmitted(String),
    /// A package to decide on that the child (named) has not submitted.
    #[error("{0} 尚未报送材料")]
    NoPackage(String),
    /// A package decided on over an older version of it.
    #[error("该材料在您打开页面之后已发生变化（重新报送或已被处理），请刷新页面后再操作")]
    StalePackage,
    /// A package returned and not submitted again yet.
    #[error("该材料已被退回，正在等待重新报送")]
    AwaitingResubmission,
    /// Forms of the node still waiting for review (how many) before it may submit.
    #[error("本组织还有 {0} 份登记表待审核，请审核后再报送")]
    ReviewsWaiting(i64),
    /// Submitting another node's package.
    #[error("只能由本组织的经办人或审核人报送本组织的材料")]
    NotOwnNode,
    /// The national committee has nobody to submit to.
    #[error("全国律师行业党委是最高一级，无需向上报送")]
    TopOfTree,
    /// Deciding on a package of a node that is not one's direct child.
    #[error("只能由直接上级党组织的审核人接收、退回或批准延期")]
    NotDirectParent,
    /// A second campaign while one (named) is still open.
    #[error("“{0}”尚未结束：一次只能进行一项登记核查工作，请先结束它")]
    CampaignOpen(String),
    /// Closing a campaign closed already.
    #[error("该登记核查工作已经结束")]
    AlreadyClosed,
    /// Changing a form after its campaign (named) ended.
    #[error("“{0}”已经结束，登记表不能再修改")]
    FormsClosed(String),
    /// An administrator disabling their own account.
    #[error("不能停用自己的账号")]
    OwnAccount,
    /// A risky action tried by one person alone (双人复核).
    #[error("此操作需要双人复核：请填写理由提交申请，由另一位有权限的人员复核同意后生效")]
    NeedsSecondPerson,
    /// Deciding one's own four-eyes request.
    #[error("不能复核自己提出的申请，请由另一位有权限的人员复核")]
    OwnRequest,
    /// A four-eyes request already decided (or withdrawn).
    #[error("该申请已经处理，不能再次处理")]
    NotPending,
    /// The same action on the same target is waiting already.
    #[error("同一事项已有待复核的申请，请等待复核结果")]
    AlreadyRequested,
    /// An approval refused because the target changed after the request (why).
    #[error("申请提出之后，相关记录已有变化，本申请已失效：{0}。如仍需办理，请重新提出申请")]
    TargetChanged(String),
    /// An activation code for a member whose account is active.
    #[error("该党员已激活账号，不能再发激活码；如忘记密码，请联系系统管理员重置")]
    AlreadyActivated,
    /// The cities assistant on a node that is no province with a region.
    #[error("只有带行政区划的省级党组织可以按行政区划建立地市级党组织")]
    NoProvinceRegion,
    /// Demo data into a database that holds data (how many firms and members).
    #[error("数据库中已有 {firms} 家律所、{members} 名党员；演示数据只能生成到空数据库中")]
    NotEmpty { firms: i64, members: i64 },
    /// A file the reader gave up on.
    #[error("{0}")]
    Unreadable(String),
    /// A change to a 分类处理 case that is closed (with the outcome it ended with).
    #[error("该党员的分类处理已办结（{0}）；如需更改，请由负责的党组织重新打开")]
    CaseClosed(&'static str),
    /// A second case for a member in the campaign (the id of the one there is).
    #[error("该党员在本次登记核查中已有分类处理案件（编号 {0}）")]
    CaseExists(i64),
    /// Closing a case 4 or 5 before the superior organisation acknowledged its report.
    #[error("第4类、第5类须书面报告上级党组织，上级阅知（已阅）后方可办结")]
    ReportNotAcknowledged,
    /// A report for a case 1–3.
    #[error("只有第4类、第5类需要书面报告上级党组织")]
    NoReportNeeded,
    /// A report submitted again while the superior organisation has it or has read it.
    #[error("书面报告{}，不能重复报送", .0.label())]
    ReportSubmitted(ReportState),
    /// A decision on a report never submitted.
    #[error("该案件尚未报送书面报告")]
    NoReport,
    /// A sample drawn where no record is registered yet.
    #[error("抽样范围内还没有审核通过的登记表，无可抽查")]
    NothingToSample,
    /// A sample drawn by a node that is neither national nor provincial.
    #[error("只有全国或省级党组织可以抽查核验")]
    NotADrawingLevel,
    /// A second check of a sampled record (who checked it first).
    #[error("该记录已由{0}核验，不能重复核验")]
    AlreadyChecked(String),
    /// An effective date before the record's current version began (that date).
    #[error("生效日期不能早于该记录现有信息的起始日期（{0}）")]
    EffectiveTooEarly(String),
    /// An effective date after today.
    #[error("生效日期不能晚于今天")]
    EffectiveInFuture,
    /// Closing a firm that still has members (how many).
    #[error("该律师事务所还有 {0} 名党员，不能注销；请先办理这些党员的组织关系转接")]
    FirmHasMembers(i64),
    /// A credit code another firm has (where is not said).
    #[error("该统一社会信用代码已有律师事务所登记，请核对")]
    CreditCodeTaken,
    /// A sibling organisation with the same name.
    #[error("同一上级党组织下已有同名党组织")]
    OrgNameTaken,
    /// An organisation kind its level does not take (the kind's label).
    #[error("该层级的党组织不能设为“{0}”")]
    KindNotAllowed(&'static str),
    /// A firm moved to the organisation it is already under.
    #[error("该律师事务所已在该党组织之下")]
    SamePlace,
    /// A transfer to the firm and organisation the member is in.
    #[error("该党员的组织关系已在该律师事务所党组织，无需转接")]
    TransferToSelf,
    /// A second transfer of a member while one is pending.
    #[error("该党员已有一项待接收的组织关系转接，请等待接收方处理或先撤回")]
    TransferPending,
    /// A transfer decided already (its state, in words).
    #[error("该组织关系转接{0}，不能再次处理")]
    TransferDecided(&'static str),
    /// A member with an open 分类处理 case.
    #[error("该党员的分类处理尚未办结，办结后才能转接组织关系")]
    CaseOpen,
    /// The member moved since the transfer was started.
    #[error("该党员发起转接后所在组织已有变化，本转接已失效，请撤回后重新发起")]
    TransferStale,
    /// Dissolving an organisation that still has members, firms or children (how many).
    #[error(
        "该党组织还有 {members} 名党员、{firms} 家律师事务所、{children} 个下级组织，不能撤销；请先办理党员的组织关系转接，并将律师事务所调整到其他党组织（或合并到其他党组织）"
    )]
    OrgNotEmpty {
        members: i64,
        firms: i64,
        children: i64,
    },
    /// Dissolving or merging an organisation that is no firm-level one.
    #[error("只能撤销或合并律师事务所党组织（基层党组织）")]
    NotFirmLevel,
    /// Merging an organisation into itself or one of another city.
    #[error("只能合并到同一地市级党组织下的另一个律师事务所党组织")]
    MergeTarget,
    /// The member's registration has ended (停止登记, on the date named).
    #[error("该党员已于 {0} 停止登记，不再填报、转接；如属误操作，请由所在党组织“恢复登记”")]
    MemberStopped(String),
    /// Resuming a member whose registration has not ended.
    #[error("该党员仍在册，无需恢复登记")]
    MemberNotStopped,
    /// Re-parenting to something that is not a live city-level organisation of the caller's
    /// subtree.
    #[error("只能调整到本级管辖范围内的其他地市级党组织之下")]
    ReparentTarget,
    /// Re-parenting an organisation that has a package in the open campaign.
    #[error("登记核查进行中且本组织已报送材料，不能调整隶属关系；请在登记核查结束后调整")]
    ReparentPackaged,
    /// Re-parenting while a 组织关系转接 into or out of the subtree is waiting.
    #[error("本组织还有 {0} 件组织关系转接待处理，请先处理后再调整隶属关系")]
    ReparentTransfers(i64),
    /// A change set with nothing in it.
    #[error("本期（{0}）本组织及下级没有变更记录，无需报送")]
    NothingToReport(String),
    /// The node's change set of the period is already with the parent.
    #[error("本期变更已报送上级（{}），请等待上级处理；如需修改，须由上级退回", .0.label())]
    ChangeSetWithParent(crate::domain::change::SetState),
    /// A change of the set (whose record is named) was returned and not answered yet.
    #[error("变更记录“{0}”已被上级退回，请先更正并填写处理说明，再报送本期变更")]
    ChangeReturned(String),
    /// Children (named) whose changes of the period have not been accepted yet.
    #[error("下级组织的本期变更尚未全部接收：{0}")]
    ChildChangesWaiting(String),
    /// A decision on a change set that is not waiting for one.
    #[error("该组织本期变更当前不在“已报送”状态，不能接收")]
    SetNotSubmitted,
    /// Returning a change that is not on its way (already returned, or official).
    #[error("该变更记录当前为“{}”，不能退回", .0.label())]
    ChangeNotReturnable(crate::domain::change::ChangeState),
    /// Answering a change that was not returned.
    #[error("该变更记录没有被退回，无需处理")]
    ChangeNotReturned,
    /// A check by an account the record is not assigned to.
    #[error("该记录已分配给{0}核验")]
    AssignedToAnother(String),
    /// Deciding a commendation that no longer waits for this node.
    #[error("该表彰推荐{0}，本组织不能审批")]
    CommendationNotHere(String),
    /// Approving at a level below the awarding one (it must be forwarded).
    #[error("该表彰由{0}批准，本级只能审核同意后转报上级，或不予同意")]
    NotTheAwardingLevel(String),
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
        insta::assert_snapshot!(Refusal::AlreadyChecked("王核查".into()), @"该记录已由王核查核验，不能重复核验");
        insta::assert_snapshot!(Refusal::CampaignClosed("2018年登记核查".into()), @"“2018年登记核查”已经结束，不能再填报、审核或报送；如需更正请联系全国律师行业党委");
        insta::assert_snapshot!(Refusal::DeadlinePassed("2018-08-31".into()), @"已超过报送截止日期（2018-08-31），不能报送；请向上级党组织申请延期");
        insta::assert_snapshot!(Refusal::TargetChanged("版本已变".into()), @"申请提出之后，相关记录已有变化，本申请已失效：版本已变。如仍需办理，请重新提出申请");
        insta::assert_snapshot!(Refusal::NoCampaign, @"尚未建立登记核查工作，暂不能填报或核查");
        insta::assert_snapshot!(Refusal::OwnForm, @"不能审核本人的登记表，请由本组织其他审核人或上级党组织审核");
        insta::assert_snapshot!(Refusal::ReviewsWaiting(3), @"本组织还有 3 份登记表待审核，请审核后再报送");
        insta::assert_snapshot!(Refusal::NotSubmitted("张一".into()), @"张一：尚未提交登记表，不能审核");
        insta::assert_snapshot!(Refusal::CampaignOpen("2018年登记核查".into()), @"“2018年登记核查”尚未结束：一次只能进行一项登记核查工作，请先结束它");
        insta::assert_snapshot!(Refusal::NotEmpty { firms: 2, members: 30 }, @"数据库中已有 2 家律所、30 名党员；演示数据只能生成到空数据库中");
    }
}
