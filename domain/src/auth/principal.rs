//! The authenticated caller and the permission check every operation starts with.

use serde::{Deserialize, Serialize};

use super::ApiScope;
use crate::{ApiKeyId, Error, OperatorId, TenantId};

/// An operator's role within their tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including granting the owner role.
    Owner,
    /// Everything except granting the owner role.
    Admin,
    /// Reads everything, changes nothing.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// Something a caller may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    ReadTenant,
    ReadListings,
    WriteListings,
    /// The listing schema, profile fields, match rules and mail templates.
    ReadSchema,
    WriteSchema,
    ReadMembers,
    WriteMembers,
    /// The outbox: deliveries with their content and why they were sent.
    ReadDeliveries,
    /// Creating and revoking API keys; never granted to an API key.
    ManageApiKeys,
    /// Adding operators; never granted to an API key.
    ManageOperators,
    /// Senders and their credentials, DKIM keys and the suppression list; never granted to an
    /// API key.
    ManageSending,
}

/// Who is calling. The tenant comes from here and from nowhere else.
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    Operator {
        tenant_id: TenantId,
        operator_id: OperatorId,
        role: Role,
    },
    ApiKey {
        tenant_id: TenantId,
        api_key_id: ApiKeyId,
        scopes: Vec<ApiScope>,
    },
}

impl Principal {
    pub fn tenant_id(&self) -> TenantId {
        match self {
            Principal::Operator { tenant_id, .. } | Principal::ApiKey { tenant_id, .. } => {
                *tenant_id
            }
        }
    }

    /// Returns the caller's tenant when the caller holds the permission, else `Forbidden`.
    pub fn require(&self, permission: Permission) -> Result<TenantId, Error> {
        if self.allows(permission) {
            Ok(self.tenant_id())
        } else {
            Err(Error::Forbidden)
        }
    }

    pub fn allows(&self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Principal::Operator {
                role: Role::Owner | Role::Admin,
                ..
            } => true,
            Principal::Operator {
                role: Role::Viewer, ..
            } => {
                matches!(
                    permission,
                    ReadTenant | ReadListings | ReadSchema | ReadMembers | ReadDeliveries
                )
            }
            Principal::ApiKey { scopes, .. } => match permission {
                ReadTenant => true,
                ReadListings => scopes.contains(&ApiScope::ListingsRead),
                WriteListings => scopes.contains(&ApiScope::ListingsWrite),
                ReadSchema => {
                    scopes.contains(&ApiScope::SchemaRead)
                        || scopes.contains(&ApiScope::SchemaWrite)
                }
                WriteSchema => scopes.contains(&ApiScope::SchemaWrite),
                ReadMembers => {
                    scopes.contains(&ApiScope::MembersRead)
                        || scopes.contains(&ApiScope::MembersWrite)
                }
                WriteMembers => scopes.contains(&ApiScope::MembersWrite),
                ReadDeliveries => scopes.contains(&ApiScope::DeliveriesRead),
                ManageApiKeys | ManageOperators | ManageSending => false,
            },
        }
    }

    /// The operator behind the request, if it is not an API key.
    pub fn operator_id(&self) -> Option<OperatorId> {
        match self {
            Principal::Operator { operator_id, .. } => Some(*operator_id),
            Principal::ApiKey { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operator(role: Role) -> Principal {
        Principal::Operator {
            tenant_id: TenantId::new(),
            operator_id: OperatorId::new(),
            role,
        }
    }

    #[test]
    fn viewer_reads_but_cannot_write() {
        let viewer = operator(Role::Viewer);
        assert!(viewer.allows(Permission::ReadListings));
        assert!(!viewer.allows(Permission::WriteListings));
        assert!(!viewer.allows(Permission::ManageApiKeys));
    }

    #[test]
    fn api_key_never_manages_keys_or_operators() {
        let key = Principal::ApiKey {
            tenant_id: TenantId::new(),
            api_key_id: ApiKeyId::new(),
            scopes: ApiScope::ALL.to_vec(),
        };
        assert!(key.allows(Permission::WriteListings));
        assert!(!key.allows(Permission::ManageApiKeys));
        assert!(!key.allows(Permission::ManageOperators));
    }

    #[test]
    fn api_key_is_limited_to_its_scopes() {
        let key = Principal::ApiKey {
            tenant_id: TenantId::new(),
            api_key_id: ApiKeyId::new(),
            scopes: vec![ApiScope::ListingsRead],
        };
        assert!(key.allows(Permission::ReadListings));
        assert!(!key.allows(Permission::WriteListings));
        assert!(!key.allows(Permission::WriteSchema));
    }
}
