//! Typed identifiers, so an organisation id can never be passed where a member id is meant.

macro_rules! typed_id {
    ($name:ident) => {
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            serde::Serialize,
            serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

typed_id!(OrgId);
typed_id!(FirmId);
typed_id!(MemberId);
typed_id!(UserId);
typed_id!(CampaignId);
typed_id!(CaseId);
typed_id!(SampleId);
typed_id!(SampleItemId);
typed_id!(AccountabilityId);
