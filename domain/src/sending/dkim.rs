//! DKIM keys per tenant and From domain: generated in the dashboard, stored encrypted, shown as
//! the DNS TXT record to publish, and used to sign every mail whose From address is at that
//! domain. Each domain has one key. Generating again replaces it with a key under a new
//! selector, so the old key's DNS record can stay until the new one is published.

use chrono::{DateTime, Utc};
use mail::dkim::{self, DnsRecord, KeyAlgorithm, Signer};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use super::{SendingConfig, senders::domain_of};
use crate::{
    TenantId,
    entities::dkim_key,
    error::{Error, Problem, Result, ValidationError},
};

/// A tenant's key for one domain, as the dashboard shows it.
#[derive(Debug, Clone)]
pub struct DkimKey {
    pub domain: String,
    pub selector: String,
    pub algorithm: KeyAlgorithm,
    pub record: DnsRecord,
    pub created_at: DateTime<Utc>,
}

pub async fn list(db: &impl ConnectionTrait, tenant_id: TenantId) -> Result<Vec<DkimKey>> {
    let rows = dkim_key::Entity::find()
        .filter(dkim_key::Column::TenantId.eq(tenant_id.0))
        .order_by_asc(dkim_key::Column::Domain)
        .all(db)
        .await?;
    Ok(rows.iter().map(view).collect())
}

/// Generates a key for `domain`, replacing any earlier key of the tenant for that domain.
pub async fn generate(
    db: &impl ConnectionTrait,
    config: &SendingConfig,
    tenant_id: TenantId,
    domain: &str,
    algorithm: KeyAlgorithm,
) -> Result<DkimKey> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    dkim::check_domain(&domain).map_err(|_| {
        ValidationError::new(
            "domain",
            Some(&domain),
            Problem::UnknownOption {
                allowed: vec![(
                    "example.jp".to_owned(),
                    "ドメイン名（例: example.jp）".to_owned(),
                    "a domain name such as example.jp".to_owned(),
                )],
            },
        )
    })?;
    let now = Utc::now();
    let selector = format!("tayori{}", now.format("%Y%m%d%H%M"));
    let key = tokio::task::spawn_blocking(move || dkim::generate(algorithm))
        .await
        .map_err(|error| Error::Internal(error.into()))?
        .map_err(|error| Error::Internal(error.into()))?;
    let sealed = config
        .secrets
        .seal(&context(tenant_id, &domain), &key.private_pkcs8_der);
    dkim_key::Entity::delete_many()
        .filter(dkim_key::Column::TenantId.eq(tenant_id.0))
        .filter(dkim_key::Column::Domain.eq(&domain))
        .exec(db)
        .await?;
    let stored = dkim_key::ActiveModel {
        tenant_id: Set(tenant_id.0),
        domain: Set(domain.clone()),
        selector: Set(selector),
        algorithm: Set(algorithm_name(algorithm).to_owned()),
        private_key: Set(sealed),
        public_key: Set(key.public_key_base64.clone()),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    tracing::info!(tenant.id = %tenant_id, domain = %domain, algorithm = %algorithm, "DKIM key generated");
    Ok(view(&stored))
}

pub async fn delete(db: &impl ConnectionTrait, tenant_id: TenantId, domain: &str) -> Result<bool> {
    let deleted = dkim_key::Entity::delete_many()
        .filter(dkim_key::Column::TenantId.eq(tenant_id.0))
        .filter(dkim_key::Column::Domain.eq(domain.trim().to_ascii_lowercase()))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected > 0)
}

/// Loads the signer for mail from `from_address`, if the tenant has a key for its domain.
pub async fn signer_for(
    db: &impl ConnectionTrait,
    config: &SendingConfig,
    tenant_id: TenantId,
    from_address: &str,
) -> Result<Option<Signer>> {
    let domain = domain_of(from_address);
    let Some(stored) = dkim_key::Entity::find()
        .filter(dkim_key::Column::TenantId.eq(tenant_id.0))
        .filter(dkim_key::Column::Domain.eq(&domain))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let private = config
        .secrets
        .open(&context(tenant_id, &domain), &stored.private_key)
        .map_err(|error| Error::Internal(error.into()))?;
    let signer = Signer::new(
        &domain,
        &stored.selector,
        parse_algorithm(&stored.algorithm),
        &private,
    )
    .map_err(|error| Error::Internal(error.into()))?;
    Ok(Some(signer))
}

/// Signs `raw` when the tenant has a key for the From domain; returns it unchanged otherwise.
pub async fn sign(
    db: &impl ConnectionTrait,
    config: &SendingConfig,
    tenant_id: TenantId,
    from_address: &str,
    raw: Vec<u8>,
) -> Result<Vec<u8>> {
    match signer_for(db, config, tenant_id, from_address).await? {
        Some(signer) => signer
            .sign(&raw)
            .map_err(|error| Error::Internal(error.into())),
        None => Ok(raw),
    }
}

fn context(tenant_id: TenantId, domain: &str) -> Vec<u8> {
    format!("dkim/{tenant_id}/{domain}").into_bytes()
}

pub fn algorithm_name(algorithm: KeyAlgorithm) -> &'static str {
    match algorithm {
        KeyAlgorithm::Rsa2048 => "rsa2048",
        KeyAlgorithm::Ed25519 => "ed25519",
    }
}

fn parse_algorithm(value: &str) -> KeyAlgorithm {
    match value {
        "ed25519" => KeyAlgorithm::Ed25519,
        _ => KeyAlgorithm::Rsa2048,
    }
}

fn view(row: &dkim_key::Model) -> DkimKey {
    let algorithm = parse_algorithm(&row.algorithm);
    DkimKey {
        domain: row.domain.clone(),
        selector: row.selector.clone(),
        algorithm,
        record: dkim::dns_record_for(&row.domain, &row.selector, algorithm, &row.public_key),
        created_at: row.created_at,
    }
}
