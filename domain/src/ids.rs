//! Newtype ids, so that a tenant id can never be passed where an operator id is expected.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// Creates a new time-ordered (UUID v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(value: Uuid) -> Self {
                Self(value)
            }
        }
    };
}

id_type!(
    /// Identifies a tenant (a business using Tayori).
    TenantId
);
id_type!(
    /// Identifies an operator of a tenant.
    OperatorId
);
id_type!(
    /// Identifies an API key.
    ApiKeyId
);
id_type!(
    /// Identifies a stored listing (not the tenant's external id).
    ListingId
);
id_type!(
    /// Identifies a CSV import of listings.
    ListingImportId
);
id_type!(
    /// Identifies a member of a tenant.
    MemberId
);
id_type!(
    /// Identifies a match rule.
    MatchRuleId
);
id_type!(
    /// Identifies one mail to one recipient.
    DeliveryId
);
