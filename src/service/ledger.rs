//! Verifying the consent ledger: the chain recomputed from the stored rows (each entry's hash
//! from its canonical form, each `prev` the hash before), and the heads other offices hold of
//! it (received, signed, in our handover and withdrawal messages) compared with our entries.

use serde::Serialize;

use super::{Office, Result};
use crate::domain::OfficeId;
use crate::domain::ledger::{ChainBreak, LedgerHead, check_heads};

/// How many rows verification reads at a time.
const BATCH: u32 = 500;

/// The result of recomputing the chain.
#[derive(Debug, Clone, Serialize)]
pub struct ChainReport {
    /// Entries that verified, from the first.
    pub verified: u64,
    /// The last entry that verified (sequence 0 and 64 zeros if none did).
    pub head: LedgerHead,
    /// The first entry that does not match, and how.
    pub first_mismatch: Option<Mismatch>,
}

/// An entry that does not match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub seq: u64,
    pub problem: String,
}

impl From<ChainBreak> for Mismatch {
    fn from(b: ChainBreak) -> Self {
        Self { seq: b.seq(), problem: b.to_string() }
    }
}

/// What one other office holds of this ledger, compared.
#[derive(Debug, Clone, Serialize)]
pub struct PeerReport {
    pub office: OfficeId,
    /// How many heads of this ledger the office holds.
    pub heads: usize,
    /// The first held head that this ledger contradicts.
    pub mismatch: Option<Mismatch>,
    /// The office could not be asked (unreachable, refused): why.
    pub error: Option<String>,
}

impl Office {
    /// Recomputes the whole chain; stops at the first entry that does not match.
    pub async fn verify_ledger(&self, progress: &(dyn Fn(u64) + Sync)) -> Result<ChainReport> {
        let mut tx = self.storage.read().await?;
        let mut head = LedgerHead::empty();
        let mut verified = 0;
        loop {
            let rows = tx.ledger().rows(head.seq, BATCH).await?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                match row.verify(&head) {
                    Ok(entry) => {
                        head = entry.head();
                        verified += 1;
                    }
                    Err(b) => return Ok(ChainReport { verified, head, first_mismatch: Some(b.into()) }),
                }
            }
            progress(verified);
        }
        Ok(ChainReport { verified, head, first_mismatch: None })
    }

    /// The heads of `office`'s ledger this office received from it, for `office` to compare.
    pub async fn heads_held_of(&self, office: OfficeId) -> Result<Vec<LedgerHead>> {
        let mut tx = self.storage.read().await?;
        Ok(tx.ledger().peer_heads(office).await?)
    }

    /// Asks every other office in the directory which heads of this ledger it holds, and
    /// compares them with the entries here.
    pub async fn verify_against_peers(&self) -> Result<Vec<PeerReport>> {
        let mut reports = Vec::new();
        for office in self.directory.offices().filter(|o| *o != self.id) {
            let held = match self.client.ledger_heads(office).await {
                Ok(held) => held,
                Err(e) => {
                    reports.push(PeerReport { office, heads: 0, mismatch: None, error: Some(e.to_string()) });
                    continue;
                }
            };
            let mut tx = self.storage.read().await?;
            let mut ours = std::collections::BTreeMap::new();
            for head in &held {
                ours.insert(head.seq, tx.ledger().hash_at(head.seq).await?);
            }
            let mismatch = check_heads(&held, |seq| ours.get(&seq).cloned().flatten()).err().map(Mismatch::from);
            reports.push(PeerReport { office, heads: held.len(), mismatch, error: None });
        }
        Ok(reports)
    }
}
