//! The delivery worker beside the API: sends queued signed messages (handovers, decisions) to
//! their offices, records receipts, and retries transient failures with capped exponential
//! backoff. A message refused by its receiver (4xx) is marked failed and not retried. What an
//! attempt brought is recorded in one unit of work: the message and, for a handover, the
//! handover's transition, as the domain decides it.

use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

use super::Office;
use crate::domain::delivery::{MessageKind, OutboxMessage};
use crate::federation::outbound::{Delivery, OutboundError};
use crate::storage::StorageError;

/// The wait before attempt `attempts + 1`: 1 s doubled per attempt, capped, with up to 25 % less
/// (derived from the message id, so replicas do not retry in lockstep).
pub fn backoff(attempts: u32, message_id: uuid::Uuid, cap: Duration) -> Duration {
    let base = Duration::from_secs(1).saturating_mul(1u32 << attempts.min(20));
    let capped = base.min(cap);
    let spread = u64::from(message_id.as_bytes()[attempts as usize % 16]) * 25 / 255; // 0..=25 %
    capped - capped.mul_f64(spread as f64 / 100.0)
}

/// What an attempt brought.
enum Outcome {
    Delivered {
        receipt: String,
    },
    /// Refused for good, or given up (`attempted`: whether an attempt was made).
    Failed {
        error: String,
        attempted: bool,
    },
    Retry {
        error: String,
        wait: Duration,
    },
}

impl Office {
    /// Delivers every message that is due now; returns how many were attempted.
    pub async fn deliver_due(&self) -> Result<usize, StorageError> {
        let due = self.storage.read().await?.outbox().due(self.now(), 32).await?;
        let count = due.len();
        for message in due {
            self.deliver(message).await?;
        }
        Ok(count)
    }

    async fn attempt(&self, m: &OutboxMessage) -> Outcome {
        use crate::metrics::AttemptResult;
        let kind = m.kind.as_str();
        if self.now() >= m.expires_at {
            tracing::warn!("expired before delivery; given up");
            self.metrics.delivery_attempt(kind, m.destination, AttemptResult::GivenUp, None);
            return Outcome::Failed { error: "expired before delivery".into(), attempted: false };
        }
        let started = std::time::Instant::now();
        let sent = self.client.send(m.destination, m.kind, m.message_id, &m.jws).await;
        let round_trip = Some(started.elapsed());
        let (result, outcome) = match sent {
            Ok(Delivery::Delivered { receipt_jws }) => {
                tracing::info!("delivered, receipt checked");
                let waited = (self.now() - m.created_at).to_std().unwrap_or_default();
                self.metrics.delivered_after(kind, waited);
                (AttemptResult::Delivered, Outcome::Delivered { receipt: receipt_jws })
            }
            Ok(Delivery::Rejected { status, problem_type }) => {
                let error = format!("refused by receiver: HTTP {status} {}", problem_type.as_deref().unwrap_or("-"));
                tracing::warn!(%error, "delivery refused for good");
                (AttemptResult::Refused, Outcome::Failed { error, attempted: true })
            }
            Err(e @ OutboundError::UnknownOffice(_)) => {
                tracing::warn!(error = %e, "destination left the directory; given up");
                self.metrics.delivery_attempt(kind, m.destination, AttemptResult::GivenUp, None);
                return Outcome::Failed { error: e.to_string(), attempted: false };
            }
            Err(e) => {
                let wait = backoff(m.attempts, m.message_id, self.settings.max_backoff);
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "delivery failed, will retry");
                (AttemptResult::Retry, Outcome::Retry { error: e.to_string(), wait })
            }
        };
        self.metrics.delivery_attempt(kind, m.destination, result, round_trip);
        outcome
    }

    /// Before a handover is sent: does its consent still hold? One whose expiry passed is
    /// recorded as expired now, which cancels the handover and stops its message.
    async fn basis_gone(&self, m: &OutboxMessage) -> Result<bool, StorageError> {
        let mut tx = self.storage.read().await?;
        let Some(handover) = tx.handovers().outgoing(m.message_id).await? else { return Ok(false) };
        let Some(grant) = tx.consents().get(handover.consent_id).await? else { return Ok(false) };
        drop(tx);
        if grant.is_active() && grant.check_valid(self.now()).is_err() {
            tracing::info!(consent = %grant.id, "the consent expired before sending; the handover is cancelled");
            self.expire_if_due(grant.id).await.map_err(|e| match e {
                super::ServiceError::Storage(s) => s,
                other => StorageError::Corrupt(other.to_string()),
            })?;
            return Ok(true);
        }
        Ok(false)
    }

    async fn deliver(&self, m: OutboxMessage) -> Result<(), StorageError> {
        let span = tracing::info_span!("deliver", message = %m.message_id, kind = m.kind.as_str(), to = %m.destination, attempt = m.attempts + 1);
        async {
            if m.kind == MessageKind::Handover && self.basis_gone(&m).await? {
                return Ok(());
            }
            let started = self.now();
            let outcome = self.attempt(&m).await;
            let delivered = matches!(outcome, Outcome::Delivered { .. });
            let now = self.now();
            let mut tx = self.storage.begin().await?;
            // The message as it is now: cancelled meanwhile, say.
            let Some(mut message) = tx.outbox().get(m.message_id).await? else { return Ok(()) };
            let mut handover = match message.kind {
                MessageKind::Handover => tx.handovers().outgoing(message.message_id).await?,
                _ => None,
            };
            let recorded = match outcome {
                Outcome::Delivered { receipt } => message
                    .delivered(receipt, now)
                    .and_then(|()| handover.as_mut().map_or(Ok(()), |h| h.delivered(now))),
                Outcome::Failed { error, attempted } => message
                    .failed(now, error, attempted)
                    .and_then(|()| handover.as_mut().map_or(Ok(()), |h| h.rejected(now))),
                Outcome::Retry { error, wait } => {
                    let next = started + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
                    message.retry_at(next, error)
                }
            };
            if let Err(e) = recorded {
                // Cancelled or decided meanwhile: what happened stays as it is.
                tracing::info!(error = %e, "the attempt's outcome is not recorded");
                // A handover cancelled with its consent while it was on its way reached the
                // receiver all the same: the receiver is told of the end of the consent.
                if let (true, Some(h)) = (delivered, handover.as_ref()) {
                    let grant = tx.consents().get(h.consent_id).await?;
                    if let Some(grant) = grant.filter(|g| !g.is_active()) {
                        let head = tx.ledger().head().await?;
                        let at = grant.withdrawn_at.unwrap_or(now);
                        let w = self.withdrawal(h.receiver, grant.id, at, vec![h.id], head, now);
                        tx.outbox().insert(&w).await?;
                        tx.commit().await?;
                        self.wake_delivery.notify_one();
                        tracing::warn!("a handover reached its receiver after its consent ended; the receiver is told");
                    }
                }
                return Ok(());
            }
            tx.outbox().update(&mut message).await?;
            if let Some(h) = handover.as_mut() {
                tx.handovers().update_outgoing(h).await?;
            }
            tx.commit().await
        }
        .instrument(span)
        .await
    }

    /// Runs until `shutdown` resolves: delivers due messages whenever woken (a new message was
    /// queued) or every poll interval.
    pub async fn run_delivery(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            match self.deliver_due().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "delivery worker: storage error"),
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = self.wake_delivery.notified() => {}
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
            }
        }
        tracing::info!("delivery worker stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let id = uuid::Uuid::nil();
        let cap = Duration::from_secs(3600);
        assert_eq!(backoff(0, id, cap), Duration::from_secs(1));
        assert_eq!(backoff(3, id, cap), Duration::from_secs(8));
        assert_eq!(backoff(30, id, cap), cap);
        let jittered = backoff(5, uuid::Uuid::from_bytes([255; 16]), cap);
        assert_eq!(jittered, Duration::from_secs(24));
    }
}
