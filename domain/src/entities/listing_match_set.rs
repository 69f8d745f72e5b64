//! The `listing_match_sets` table: the members one matching run matched to a listing, packed
//! into one row (see migration `m20261205_000009_pack_matches`).

use sea_orm::entity::prelude::*;

/// Bytes per entry of [`Model::entries`]: a member id, then a rule id.
pub const ENTRY_BYTES: usize = 32;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "listing_match_sets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub listing_id: Uuid,
    /// 0 for the listing's first run, then one more for each later run that matched members.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i32,
    pub entries: Vec<u8>,
}

impl Model {
    /// The (member, rule) pairs of the set.
    pub fn matches(&self) -> impl Iterator<Item = (Uuid, Uuid)> + '_ {
        unpack(&self.entries)
    }
}

/// Packs (member, rule) pairs into the bytes of [`Model::entries`].
pub fn pack(matches: impl IntoIterator<Item = (Uuid, Uuid)>) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (member_id, rule_id) in matches {
        bytes.extend_from_slice(member_id.as_bytes());
        bytes.extend_from_slice(rule_id.as_bytes());
    }
    bytes
}

/// Reads (member, rule) pairs packed by [`pack`]; a truncated last entry is ignored.
pub fn unpack(bytes: &[u8]) -> impl Iterator<Item = (Uuid, Uuid)> + '_ {
    bytes.chunks_exact(ENTRY_BYTES).map(|entry| {
        let (member, rule) = entry.split_at(16);
        (uuid_of(member), uuid_of(rule))
    })
}

fn uuid_of(bytes: &[u8]) -> Uuid {
    let mut raw = [0u8; 16];
    raw.copy_from_slice(bytes);
    Uuid::from_bytes(raw)
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_matches_read_back_in_order() {
        let pairs: Vec<(Uuid, Uuid)> = (0..3).map(|_| (Uuid::now_v7(), Uuid::new_v4())).collect();
        let bytes = pack(pairs.iter().copied());
        assert_eq!(bytes.len(), 3 * ENTRY_BYTES);
        assert_eq!(unpack(&bytes).collect::<Vec<_>>(), pairs);
    }

    #[test]
    fn a_truncated_entry_is_skipped() {
        let pair = (Uuid::now_v7(), Uuid::new_v4());
        let mut bytes = pack([pair]);
        bytes.extend_from_slice(&[7; 20]);
        assert_eq!(unpack(&bytes).collect::<Vec<_>>(), vec![pair]);
    }
}
