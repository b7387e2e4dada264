//! Plain types and rules of the registration campaign: no I/O, no SQL, no HTTP.

pub mod accountability;
pub mod audit;
pub mod case;
pub mod change;
pub mod citizen_id;
pub mod credit_code;
pub mod eligibility;
pub mod ids;
pub mod licence;
pub mod org;
pub mod phone;
pub mod role;
pub mod sample;
pub mod workflow;

pub use accountability::{AccountKind, AccountSource, Handling};
pub use case::{CaseCategory, CaseOutcome, CaseState, CaseStep, ReportState};
pub use citizen_id::CitizenId;
pub use credit_code::CreditCode;
pub use ids::{
    AccountabilityId, CampaignId, CaseId, FirmId, MemberId, OrgId, SampleId, SampleItemId, UserId,
};
pub use licence::LicenceNo;
pub use org::{OrgKind, OrgLevel, TreePath};
pub use phone::Mobile;
pub use role::Role;
pub use sample::{Finding, SampleParams};
pub use workflow::{NoticeKind, PackageMove, PackageState, RegistrationMove, RegistrationState};

/// A validation failure on one field: which field, and why, in Chinese for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}：{reason}")]
pub struct FieldError {
    pub field: &'static str,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}
