//! The client's consent: opened by an integration manager, given by the client on the consent page
//! (or recorded from a signed paper form), withdrawn by the client with the code of their receipt
//! or at an office, revoked by the office when recorded in error, expired. Each use case is one
//! unit of work that writes the consent, its ledger entry, the effect on handovers sent on it
//! (cancelled, withdrawn, the receiver told through the outbox) and the audit entry together.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::cases::{consent_of, load};
use super::{Office, Result, ServiceError};
use crate::consent_text::{self, Language, Parties, Statement};
use crate::domain::audit::{Access, AuditEntry};
use crate::domain::consent::{ConsentEnd, ConsentForm, ConsentMethod, WithdrawalCode};
use crate::domain::consent_request::{ConsentAsk, ConsentRequest};
use crate::domain::delivery::{ConsentEndEffect, MessageKind, OutboxMessage};
use crate::domain::ledger::{EntryKind, LedgerEntry, LedgerHead, WithdrawnVia};
use crate::domain::plan::Author;
use crate::domain::{ClientId, ConsentGrant, ConsentId, DataCategory, DomainError, OfficeId};
use crate::federation::protocol::{WireKind as _, WithdrawalMessage, WithdrawalType};
use crate::storage::UnitOfWork;

/// Appends the entry of `kind` to the ledger in this unit of work.
pub(crate) async fn append(tx: &mut Box<dyn UnitOfWork>, at: DateTime<Utc>, kind: EntryKind) -> Result<LedgerEntry> {
    let head = tx.ledger().head().await?;
    let entry = LedgerEntry::next(&head, at, kind);
    tx.ledger().append(&entry).await?;
    Ok(entry)
}

/// Restricts processing of a record (GDPR Art. 18) because the consent it was taken over on (or
/// the one it continues on here) ended: the record, and a handover of it not yet delivered is
/// cancelled (restricted data is not handed on). Returns whether the record was restricted now.
pub(crate) async fn restrict_record(
    tx: &mut Box<dyn UnitOfWork>,
    record: &mut crate::domain::case::ClientRecord,
    consent: ConsentId,
    from: OfficeId,
    now: DateTime<Utc>,
) -> Result<bool> {
    if !record.restrict(consent, from, now) {
        return Ok(false);
    }
    tx.clients().update(record).await?;
    if let Some(mut open) = tx.handovers().open_outgoing(record.id).await? {
        if open.cancel(now).is_ok() {
            tx.handovers().update_outgoing(&mut open).await?;
            if let Some(mut message) = tx.outbox().get(open.id).await? {
                if message.cancel(now, "client restricted") {
                    tx.outbox().update(&mut message).await?;
                }
            }
        }
    }
    Ok(true)
}

/// A consent page just opened: the link's secret token (shown once, never stored) and the page.
pub struct ConsentLink {
    pub token: String,
    pub request: ConsentRequest,
}

/// The consent page as the client sees it.
pub struct ConsentPage {
    pub language: &'static Language,
    pub statement: Statement,
}

/// A consent the client just gave on the page, with what their receipt shows.
pub struct GivenConsent {
    pub grant: ConsentGrant,
    pub entry: LedgerEntry,
    pub withdrawal_code: WithdrawalCode,
    /// The signed JSON consent receipt, a compact JWS.
    pub signed_receipt: String,
    pub language: &'static Language,
    pub office_name: String,
    pub recipient_name: String,
}

/// What a withdrawal code did.
pub enum CodeWithdrawal {
    Withdrawn {
        grant: ConsentGrant,
        recipient_name: String,
    },
    /// The consent had ended already.
    Already {
        grant: ConsentGrant,
    },
    Unknown,
}

/// A consent recorded from a signed paper form.
pub struct PaperConsent {
    pub recipient: OfficeId,
    /// The categories printed on the form (data concerning health asked separately).
    pub categories: BTreeSet<DataCategory>,
    pub language: String,
    pub signed_on: NaiveDate,
    /// The client's answer to the separate question on health data, where it was asked.
    pub health_granted: Option<bool>,
    /// The last day the consent holds, if the form said so.
    pub valid_until: Option<NaiveDate>,
}

/// A random 10-byte value from the operating system's random source (two v4 UUIDs' random
/// bytes).
fn random_10() -> [u8; 10] {
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let mut out = [0u8; 10];
    out[..5].copy_from_slice(&a.as_bytes()[..5]);
    out[5..].copy_from_slice(&b.as_bytes()[10..15]);
    out
}

fn language(code: &str) -> Result<&'static Language> {
    consent_text::language(code).ok_or(ServiceError::Invalid("there are no consent texts in this language"))
}

/// The last day a consent holds, from the instant it expires.
fn last_day(expires_at: Option<DateTime<Utc>>) -> Option<NaiveDate> {
    expires_at.map(|e| crate::domain::time::german_date(e - chrono::Duration::milliseconds(1)))
}

impl Office {
    /// The name a client reads for an office: this office's own, or the directory's.
    pub fn office_name(&self, id: OfficeId) -> String {
        if id == self.id {
            return self.name.clone();
        }
        self.directory.office(id).map_or_else(|| id.to_string(), |e| e.name.clone())
    }

    fn parties(&self, recipient: OfficeId) -> (String, String) {
        (self.name.clone(), self.office_name(recipient))
    }

    /// The statement for consenting to `ask`, as the client reads it.
    fn statement(&self, language: &Language, ask: &ConsentAsk) -> Statement {
        let (office, recipient) = self.parties(ask.recipient);
        language.statement(
            Parties { office: &office, recipient: &recipient },
            &ask.categories,
            last_day(ask.consent_expires_at),
        )
    }

    fn check_recipient(&self, recipient: OfficeId) -> Result<()> {
        // This office itself: the client consents to counselling going on here with data taken
        // over on a basis that was withdrawn (it lifts the restriction).
        if recipient != self.id && self.directory.office(recipient).is_none() {
            return Err(ServiceError::UnknownOffice(recipient));
        }
        Ok(())
    }

    /// An integration manager opens a consent page for a client: a one-time link, valid for a
    /// short time, in the client's language.
    pub async fn open_consent(&self, author: &Author, ask: ConsentAsk) -> Result<ConsentLink> {
        let now = self.now();
        language(&ask.language)?;
        self.check_recipient(ask.recipient)?;
        let token = super::accounts::random_token();
        let request = ConsentRequest::open(
            ask,
            crate::digest::token_digest(&token),
            &author.account,
            now,
            self.settings.consent_link_validity,
        )?;
        let mut tx = self.begin().await?;
        let record = load(&mut tx, request.ask.client).await?;
        if request.ask.recipient == self.id {
            if record.restricted.is_none() {
                return Err(ServiceError::State(
                    "a consent to this office is asked only while processing is restricted",
                ));
            }
        } else {
            record.ensure_active()?;
        }
        tx.consents().insert_request(&request).await?;
        tx.audit().append(&[self.entry(author, Access::Write, "consent-page", Some(record.id))]).await?;
        tx.commit().await?;
        Ok(ConsentLink { token, request })
    }

    /// The consent page behind a link, while it can still be used.
    pub async fn consent_page(&self, token: &str) -> Result<ConsentPage> {
        let now = self.now();
        let mut tx = self.storage.read().await?;
        let request = tx
            .consents()
            .request(&crate::digest::token_digest(token))
            .await?
            .ok_or(ServiceError::Domain(DomainError::ConsentLinkExpired))?;
        request.ensure_open(now)?;
        let language = language(&request.ask.language)?;
        Ok(ConsentPage { language, statement: self.statement(language, &request.ask) })
    }

    /// The client confirmed on the consent page (`health`: also to data concerning health). The
    /// consent, its withdrawal code's digest, its ledger entry, the used link and the audit
    /// entry are written together; where the consent is to this office, a restriction ends.
    pub async fn give_consent(&self, token: &str, health: bool) -> Result<GivenConsent> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let mut request = tx
            .consents()
            .request(&crate::digest::token_digest(token))
            .await?
            .ok_or(ServiceError::Domain(DomainError::ConsentLinkExpired))?;
        request.ensure_open(now)?;
        let mut record = load(&mut tx, request.ask.client).await?;
        if request.ask.recipient != self.id {
            // Moved out or restricted since the page was opened: no consent to hand it on.
            record.ensure_active()?;
        }
        let language = language(&request.ask.language)?;
        let statement = self.statement(language, &request.ask);
        let form = ConsentForm {
            text: statement.text,
            method: ConsentMethod::OnScreen,
            expires_at: request.ask.consent_expires_at,
        };
        let categories = request.ask.granted(health && request.ask.asks_health());
        let mut grant =
            ConsentGrant::record(record.id, request.ask.recipient, categories, now, request.created_by.clone(), form)?;
        let code = WithdrawalCode::from_random(random_10());
        grant.withdrawal_code = Some(code.digest());
        request.confirm(grant.id, now)?;
        tx.consents().insert(&grant).await?;
        tx.consents().update_request(&mut request).await?;
        let entry = append(&mut tx, now, grant.given_entry()).await?;
        if record.lift_restriction(&grant, self.id, now) {
            tx.clients().update(&mut record).await?;
        }
        let mut audit = AuditEntry::new(now, "client:consent-page", Access::Write, "consent", Some(record.id));
        audit.subjects = vec![grant.id.as_uuid()];
        tx.audit().append(&[audit]).await?;
        let (office_name, recipient_name) = self.parties(grant.recipient);
        let signed_receipt = self.consent_receipt(&grant, &entry, &office_name, &recipient_name);
        tx.commit().await?;
        tracing::info!(consent = %grant.id, seq = entry.seq, "consent given on the consent page");
        Ok(GivenConsent { grant, entry, withdrawal_code: code, signed_receipt, language, office_name, recipient_name })
    }

    /// The signed JSON consent receipt, after the Kantara Initiative's Consent Receipt
    /// Specification v1.1 fields, with Staffel's own under `staffel` (`schemas/README.md`
    /// section 15). A compact JWS with `typ` `staffel.consent-receipt.v1`.
    fn consent_receipt(&self, g: &ConsentGrant, entry: &LedgerEntry, office: &str, recipient: &str) -> String {
        let health = g.categories.contains(&DataCategory::Health);
        let receipt = serde_json::json!({
            "version": "KI-CR-v1.1.0",
            "jurisdiction": "DE-BW",
            "consentTimestamp": g.given_at.timestamp(),
            "collectionMethod": match g.method {
                ConsentMethod::OnScreen => "on-screen at the office",
                ConsentMethod::PaperForm { .. } => "signed paper form",
            },
            "consentReceiptID": g.id,
            "language": g.text.language,
            "piiPrincipalId": g.client,
            "piiControllers": [{ "piiController": office, "staffelOffice": self.id }],
            "policyUrl": format!("urn:staffel:consent-text:{}:{}:{}", g.text.id, g.text.version, g.text.language),
            "services": [{
                "service": "Integrationsmanagement",
                "purposes": [{
                    "purpose": format!("continue counselling at {recipient}"),
                    "purposeCategory": ["continue-counselling"],
                    "consentType": "EXPLICIT",
                    "piiCategory": g.categories.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "primaryPurpose": true,
                    "termination": match g.expires_at {
                        Some(e) => format!("until withdrawn, at the latest {}", crate::domain::time::format_ts(e)),
                        None => "until withdrawn".to_owned(),
                    },
                    "thirdPartyDisclosure": true,
                    "thirdPartyName": recipient,
                }],
            }],
            "sensitive": health,
            "spiCat": if health { vec!["health"] } else { Vec::new() },
            "staffel": {
                "type": "staffel.consent-receipt.v1",
                "consent_id": g.id,
                "recipient": g.recipient,
                "categories": g.categories,
                "legal_bases": g.legal_bases,
                "given_at": crate::domain::time::format_ts(g.given_at),
                "text": g.text,
                "ledger": { "seq": entry.seq, "hash": entry.hash },
            },
        });
        self.signer.sign(&serde_json::to_vec(&receipt).expect("receipts serialise"), "staffel.consent-receipt.v1")
    }

    /// The printed form for a paper consent: the same statement the page would show.
    pub async fn paper_form(&self, author: &Author, ask: ConsentAsk) -> Result<String> {
        let lang = language(&ask.language)?;
        self.check_recipient(ask.recipient)?;
        ask.check(self.now())?;
        let (tx, _) = self.read_client_for(author, ask.client, "consent-form").await?;
        let statement = self.statement(lang, &ask);
        let (office, recipient) = self.parties(ask.recipient);
        tx.commit().await?;
        Ok(lang.paper_form(&statement, Parties { office: &office, recipient: &recipient }))
    }

    /// Loads a client with a read audit entry.
    async fn read_client_for(
        &self,
        author: &Author,
        id: ClientId,
        what: &str,
    ) -> Result<(Box<dyn UnitOfWork>, crate::domain::case::ClientRecord)> {
        let mut tx = self.begin().await?;
        let record = load(&mut tx, id).await?;
        tx.audit().append(&[self.entry(author, Access::Read, what, Some(id))]).await?;
        Ok((tx, record))
    }

    /// Records a consent the client gave on a signed paper form, recorded by `author`: the text
    /// hashed is the statement the form printed.
    pub async fn record_paper_consent(
        &self,
        author: &Author,
        client: ClientId,
        paper: PaperConsent,
    ) -> Result<ConsentGrant> {
        let now = self.now();
        let lang = language(&paper.language)?;
        self.check_recipient(paper.recipient)?;
        let ask = ConsentAsk {
            client,
            recipient: paper.recipient,
            categories: paper.categories,
            language: paper.language,
            consent_expires_at: paper.valid_until.map(crate::domain::time::german_day_end),
        };
        ask.check(now)?;
        let health = match (ask.asks_health(), paper.health_granted) {
            (true, Some(answer)) => answer,
            (true, None) => {
                return Err(ServiceError::Invalid("the form asked about health data: health_granted is required"));
            }
            (false, Some(_)) => return Err(ServiceError::Invalid("health_granted only where health data was asked")),
            (false, None) => false,
        };
        let statement = self.statement(lang, &ask);
        let mut tx = self.begin().await?;
        let mut record = load(&mut tx, client).await?;
        if ask.recipient == self.id {
            if record.restricted.is_none() {
                return Err(ServiceError::State(
                    "a consent to this office is recorded only while processing is restricted",
                ));
            }
        } else {
            record.ensure_active()?;
        }
        let form = ConsentForm {
            text: statement.text,
            method: ConsentMethod::PaperForm { signed_on: paper.signed_on },
            expires_at: ask.consent_expires_at,
        };
        let grant =
            ConsentGrant::record(client, ask.recipient, ask.granted(health), now, author.account.clone(), form)?;
        tx.consents().insert(&grant).await?;
        append(&mut tx, now, grant.given_entry()).await?;
        if record.lift_restriction(&grant, self.id, now) {
            tx.clients().update(&mut record).await?;
        }
        tx.audit().append(&[self.entry(author, Access::Write, "consent", Some(client))]).await?;
        tx.commit().await?;
        Ok(grant)
    }

    /// The client withdrew at this office; an integration manager records it.
    pub async fn withdraw_consent(&self, author: &Author, client: ClientId, id: ConsentId) -> Result<ConsentGrant> {
        let via = WithdrawnVia::Office { recorded_by: author.account.clone() };
        self.end_consent(
            client,
            id,
            |g, now| g.withdraw(now, via),
            self.entry(author, Access::Write, "consent-withdrawal", Some(client)),
        )
        .await
    }

    /// The office revokes a consent it recorded in error.
    pub async fn revoke_consent(&self, author: &Author, client: ClientId, id: ConsentId) -> Result<ConsentGrant> {
        let by = author.account.clone();
        self.end_consent(
            client,
            id,
            |g, now| g.revoke(now, &by),
            self.entry(author, Access::Write, "consent-revocation", Some(client)),
        )
        .await
    }

    async fn end_consent(
        &self,
        client: ClientId,
        id: ConsentId,
        end: impl FnOnce(&mut ConsentGrant, DateTime<Utc>) -> bool,
        audit: AuditEntry,
    ) -> Result<ConsentGrant> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let mut grant = consent_of(&mut tx, client, id).await?;
        if end(&mut grant, now) {
            self.consent_ended(&mut tx, &mut grant, now, None).await?;
        }
        tx.audit().append(&[audit]).await?;
        tx.commit().await?;
        self.wake_delivery.notify_one();
        Ok(grant)
    }

    /// The client withdraws with the code of their receipt, without an account.
    pub async fn withdraw_with_code(&self, typed: &str) -> Result<CodeWithdrawal> {
        let Some(code) = WithdrawalCode::parse(typed) else { return Ok(CodeWithdrawal::Unknown) };
        // An unknown code costs a read, never the writer's lock.
        if self.storage.read().await?.consents().by_withdrawal_code(&code.digest()).await?.is_none() {
            return Ok(CodeWithdrawal::Unknown);
        }
        let now = self.now();
        let mut tx = self.begin().await?;
        let Some(mut grant) = tx.consents().by_withdrawal_code(&code.digest()).await? else {
            return Ok(CodeWithdrawal::Unknown);
        };
        if !grant.withdraw(now, WithdrawnVia::WithdrawalCode) {
            return Ok(CodeWithdrawal::Already { grant });
        }
        self.consent_ended(&mut tx, &mut grant, now, None).await?;
        let mut audit =
            AuditEntry::new(now, "client:withdrawal-page", Access::Write, "consent-withdrawal", Some(grant.client));
        audit.subjects = vec![grant.id.as_uuid()];
        tx.audit().append(&[audit]).await?;
        tx.commit().await?;
        self.wake_delivery.notify_one();
        tracing::info!(consent = %grant.id, "consent withdrawn with the receipt's code");
        let recipient_name = self.office_name(grant.recipient);
        Ok(CodeWithdrawal::Withdrawn { grant, recipient_name })
    }

    /// What follows from a consent having just ended (the grant changed, not yet written): the
    /// grant and its ledger entry are written; handovers sent on it are cancelled (their queued
    /// messages stopped) or withdrawn; the receiver, if it holds data sent on the consent, is
    /// told with a signed withdrawal message through the outbox, unless it is `told_by` (the
    /// office that told us). Returns the ledger entry.
    pub(crate) async fn consent_ended(
        &self,
        tx: &mut Box<dyn UnitOfWork>,
        grant: &mut ConsentGrant,
        now: DateTime<Utc>,
        told_by: Option<OfficeId>,
    ) -> Result<LedgerEntry> {
        tx.consents().update(grant).await?;
        let entry = append(tx, now, grant.end_entry().expect("the consent has ended")).await?;
        let why = match grant.end {
            Some(ConsentEnd::Revoked { .. }) => "consent revoked",
            Some(ConsentEnd::Expired) => "consent expired",
            _ => "consent withdrawn",
        };
        let mut reached = Vec::new();
        for mut handover in tx.handovers().outgoing_on_consent(grant.id).await? {
            let before = handover.state;
            match handover.consent_ended(now) {
                ConsentEndEffect::Stopped => {
                    if let Some(mut message) = tx.outbox().get(handover.id).await? {
                        if message.cancel(now, why) {
                            tx.outbox().update(&mut message).await?;
                        }
                    }
                }
                ConsentEndEffect::TellReceiver => reached.push(handover.id),
                ConsentEndEffect::None => {}
            }
            if handover.state != before {
                tx.handovers().update_outgoing(&mut handover).await?;
            }
        }
        // A consent to counselling going on here (it lifted a restriction) ended: restricted again.
        if grant.recipient == self.id {
            if let Some(mut record) = tx.clients().get(grant.client).await? {
                restrict_record(tx, &mut record, grant.id, self.id, now).await?;
            }
        }
        if !reached.is_empty() && told_by != Some(grant.recipient) {
            let withdrawn_at = grant.withdrawn_at.unwrap_or(now);
            let message = self.withdrawal(grant.recipient, grant.id, withdrawn_at, reached, entry.head(), now);
            tx.outbox().insert(&message).await?;
        }
        Ok(entry)
    }

    /// The signed withdrawal message for the outbox.
    pub(crate) fn withdrawal(
        &self,
        to: OfficeId,
        consent_id: ConsentId,
        withdrawn_at: DateTime<Utc>,
        handover_ids: Vec<Uuid>,
        head: LedgerHead,
        now: DateTime<Utc>,
    ) -> OutboxMessage {
        let message = WithdrawalMessage {
            message_type: WithdrawalType::V1,
            message_id: Uuid::new_v4(),
            sender: self.id,
            receiver: to,
            issued_at: now,
            // As long as any receiver accepts: a withdrawal must not be given up early.
            expires_at: now + super::inbound::MAX_LIFETIME,
            consent_id,
            withdrawn_at,
            handover_ids,
            ledger_head: head,
        };
        let payload = serde_json::to_vec(&message).expect("messages serialise");
        let jws = self.signer.sign(&payload, MessageKind::Withdrawal.type_name());
        OutboxMessage::new(message.message_id, MessageKind::Withdrawal, to, jws, now, message.expires_at)
    }

    /// The client withdrew, at this office, the consent a received handover came on (given at
    /// the sending office): recorded in the ledger here, the handover can no longer be accepted
    /// (or, taken over already, its record is restricted), and the sending office is told.
    pub async fn withdraw_received_consent(&self, author: &Author, incoming: Uuid) -> Result<()> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let handover = tx.handovers().incoming(incoming).await?.ok_or(ServiceError::NotFound("handover"))?;
        let consent_id = handover.handover.case.consent.consent_id;
        let from = handover.handover.sender;
        // The ledger's lock first (PostgreSQL): two recordings of the same withdrawal are serial.
        tx.ledger().head().await?;
        let known = tx.ledger().of_consent(consent_id).await?;
        if known.iter().any(|row| row.kind == "basis-withdrawn" || row.kind == "withdrawal-received") {
            return Err(ServiceError::Domain(DomainError::ConsentWithdrawn));
        }
        let mut on_consent = Vec::new();
        let mut client_id = None;
        for mut h in tx.handovers().incoming_on_consent(consent_id).await? {
            if h.handover.sender != from {
                continue;
            }
            on_consent.push(h.id());
            if h.withdrawn().is_ok() {
                tx.handovers().update_incoming(&mut h).await?;
            } else if let Some(id) = h.client_id {
                client_id = Some(id);
                let mut record = load(&mut tx, id).await?;
                restrict_record(&mut tx, &mut record, consent_id, from, now).await?;
            }
        }
        let kind = EntryKind::BasisWithdrawn {
            consent_id,
            given_at_office: from,
            client_id,
            recorded_by: author.account.clone(),
        };
        let entry = append(&mut tx, now, kind).await?;
        let message = self.withdrawal(from, consent_id, now, on_consent, entry.head(), now);
        tx.outbox().insert(&message).await?;
        let mut audit = self.entry(author, Access::Write, "consent-withdrawal", client_id);
        audit.subjects = vec![incoming];
        tx.audit().append(&[audit]).await?;
        tx.commit().await?;
        self.wake_delivery.notify_one();
        tracing::info!(consent = %consent_id, to = %from, "withdrawal of a received basis recorded; sender told");
        Ok(())
    }

    /// Records the expiry of a consent whose expiry has passed (with what follows from it), in
    /// its own unit of work. Returns whether it expired just now.
    pub(crate) async fn expire_if_due(&self, id: ConsentId) -> Result<bool> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let Some(mut grant) = tx.consents().get(id).await? else { return Ok(false) };
        if !grant.expire(now) {
            return Ok(false);
        }
        self.consent_ended(&mut tx, &mut grant, now, None).await?;
        tx.audit()
            .append(&[AuditEntry::new(now, "system", Access::Write, "consent-expiry", Some(grant.client))])
            .await?;
        tx.commit().await?;
        self.wake_delivery.notify_one();
        tracing::info!(consent = %id, "consent expired");
        Ok(true)
    }
}
