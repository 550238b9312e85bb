//! Clients, their eligibility, windows, sessions, plans and consents. Every read and write of a
//! client's data by an integration manager is written to the audit log first.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};

use super::{Office, Result, ServiceError};
use crate::domain::client::HouseholdId;
use crate::domain::eligibility::{self, Benefits, DiscretionaryDecision, Eligibility, TargetGroup};
use crate::domain::participation::{self, CounsellingSession, ExitReason};
use crate::domain::plan::{Author, GoalDraft, GoalPatch, ReviewNote};
use crate::domain::staff::{self, Role};
use crate::domain::time::german_date;
use crate::domain::window::ExtensionRequest;
use crate::domain::{
    ClientId, ClientIdentity, ConsentGrant, ConsentId, CounsellingWindow, DataCategory, DomainError, ExtensionGrounds,
    Goal, GoalId, IntegrationPlan, OfficeId, Text,
};
use crate::storage::{AuditEntry, ClientQuery, ClientRecord, ClientStatus};

/// A client entering counselling at this office, with the date of the first session.
pub struct NewClient {
    pub identity: ClientIdentity,
    pub first_session: NaiveDate,
    pub target_group: TargetGroup,
    pub benefits: Benefits,
    /// Why counselling goes on without benefits (required when `benefits` is none).
    pub discretion_reason: Option<Text>,
    /// An adult joining the household of a client here (family reunification): linked, with a
    /// window of their own.
    pub household_of: Option<ClientId>,
}

/// What became of an extension.
pub enum ExtensionOutcome {
    Granted(ClientRecord),
    /// Waiting for a team lead's approval (four eyes); the request's id.
    Pending(ClientRecord, uuid::Uuid),
}

/// What an audit entry says was done.
#[derive(Debug, Clone, Copy)]
pub enum Access {
    Read,
    Write,
}

impl Office {
    /// Writes an audit entry; the access it records happens only if this succeeds.
    pub(crate) async fn audit(
        &self,
        author: &Author,
        action: &str,
        access: Access,
        client: Option<ClientId>,
    ) -> Result<()> {
        self.audit_each(author, action, access, [client]).await
    }

    /// One audit entry per client, written together (one disk sync): for lists.
    pub(crate) async fn audit_each(
        &self,
        author: &Author,
        action: &str,
        access: Access,
        clients: impl IntoIterator<Item = Option<ClientId>>,
    ) -> Result<()> {
        let kind = match access {
            Access::Read => "read",
            Access::Write => "write",
        };
        let at = self.now();
        let entries: Vec<AuditEntry> = clients
            .into_iter()
            .map(|client_id| AuditEntry {
                at,
                account: author.account.clone(),
                action: format!("{kind}:{action}"),
                client_id,
            })
            .collect();
        if !entries.is_empty() {
            self.storage.audit_all(&entries).await?;
        }
        Ok(())
    }

    fn eligibility(
        author: &Author,
        target_group: TargetGroup,
        benefits: Benefits,
        reason: Option<Text>,
        today: NaiveDate,
    ) -> Result<Eligibility> {
        let discretion = reason.map(|reason| DiscretionaryDecision {
            decided_by: author.account.clone(),
            decided_on: today,
            reason,
        });
        Ok(Eligibility::new(target_group, benefits, discretion)?)
    }

    pub async fn create_client(&self, author: &Author, new: NewClient) -> Result<ClientRecord> {
        let now = self.now();
        let today = german_date(now);
        eligibility::ensure_adult(new.identity.date_of_birth, new.first_session)?;
        let window = CounsellingWindow::open(new.first_session, today)?;
        let mut record = ClientRecord::new(new.identity, window, IntegrationPlan::default(), now);
        record.eligibility =
            Some(Self::eligibility(author, new.target_group, new.benefits, new.discretion_reason, today)?);
        if let Some(other) = new.household_of {
            let mut other = self.client(other).await?;
            match other.household {
                Some(h) => record.household = Some(h),
                None => {
                    let h = HouseholdId::new();
                    record.household = Some(h);
                    other.household = Some(h);
                    self.audit(author, "household", Access::Write, Some(other.id)).await?;
                    self.save(other, now).await?;
                }
            }
        }
        self.audit(author, "client", Access::Write, Some(record.id)).await?;
        self.storage.insert_client(&record).await?;
        Ok(record)
    }

    /// A client record, without audit: for the office's own processing.
    pub(crate) async fn client(&self, id: ClientId) -> Result<ClientRecord> {
        self.storage.client(id).await?.ok_or(ServiceError::NotFound("client"))
    }

    /// A client record as an integration manager reads it.
    pub async fn read_client(&self, author: &Author, id: ClientId) -> Result<ClientRecord> {
        let record = self.client(id).await?;
        self.audit(author, "client", Access::Read, Some(id)).await?;
        Ok(record)
    }

    /// A page of clients, each listed one audited as read.
    pub async fn list_clients(&self, author: &Author, query: &ClientQuery) -> Result<(Vec<ClientRecord>, u64)> {
        let (clients, total) = self.storage.list_clients(query).await?;
        self.audit_each(author, "client-list", Access::Read, clients.iter().map(|c| Some(c.id))).await?;
        Ok((clients, total))
    }

    /// Clients taking part whose window ends within `days` days from today, soonest first.
    pub async fn windows_ending(&self, author: &Author, days: u32, limit: u32) -> Result<Vec<ClientRecord>> {
        let today = german_date(self.now());
        let until = today + chrono::Duration::days(i64::from(days));
        let clients = self.storage.windows_ending(today, until, limit).await?;
        self.audit_each(author, "worklist", Access::Read, clients.iter().map(|c| Some(c.id))).await?;
        Ok(clients)
    }

    pub async fn household(&self, author: &Author, id: ClientId) -> Result<Vec<ClientRecord>> {
        let record = self.read_client(author, id).await?;
        let Some(h) = record.household else { return Ok(vec![record]) };
        let members = self.storage.household_members(h).await?;
        let others = members.iter().filter(|m| m.id != id).map(|m| Some(m.id));
        self.audit_each(author, "household", Access::Read, others).await?;
        Ok(members)
    }

    /// Loads a client whose record is open for changes: not moved out, window running.
    async fn active_client(&self, id: ClientId, now: DateTime<Utc>) -> Result<ClientRecord> {
        let client = self.client(id).await?;
        if client.status != ClientStatus::Active {
            return Err(DomainError::ClientMovedOut.into());
        }
        client.window.ensure_running(german_date(now))?;
        Ok(client)
    }

    async fn save(&self, mut client: ClientRecord, now: DateTime<Utc>) -> Result<ClientRecord> {
        client.updated_at = now;
        self.storage.update_client(&client).await?;
        client.version += 1;
        Ok(client)
    }

    /// Records a change of benefits (or target group); without benefits a reason is required.
    pub async fn set_eligibility(
        &self,
        author: &Author,
        id: ClientId,
        target_group: TargetGroup,
        benefits: Benefits,
        discretion_reason: Option<Text>,
    ) -> Result<ClientRecord> {
        let now = self.now();
        let mut record = self.active_client(id, now).await?;
        record.eligibility =
            Some(Self::eligibility(author, target_group, benefits, discretion_reason, german_date(now))?);
        self.audit(author, "eligibility", Access::Write, Some(id)).await?;
        self.save(record, now).await
    }

    pub async fn record_session(
        &self,
        author: &Author,
        id: ClientId,
        date: NaiveDate,
        note: Text,
    ) -> Result<CounsellingSession> {
        let now = self.now();
        let record = self.client(id).await?;
        if record.status != ClientStatus::Active {
            return Err(DomainError::ClientMovedOut.into());
        }
        participation::check_session(&record.window, &record.participation, date, german_date(now))?;
        let session = CounsellingSession {
            id: uuid::Uuid::new_v4(),
            date,
            note,
            recorded_by: author.account.clone(),
            recorded_at: now,
        };
        self.audit(author, "session", Access::Write, Some(id)).await?;
        self.storage.insert_session(id, &session).await?;
        Ok(session)
    }

    pub async fn sessions(&self, author: &Author, id: ClientId) -> Result<Vec<CounsellingSession>> {
        self.client(id).await?;
        self.audit(author, "sessions", Access::Read, Some(id)).await?;
        Ok(self.storage.sessions(id).await?)
    }

    /// Counselling ends early, with a reason. The window keeps running.
    pub async fn exit(
        &self,
        author: &Author,
        id: ClientId,
        on: NaiveDate,
        reason: ExitReason,
        note: Option<Text>,
    ) -> Result<ClientRecord> {
        let now = self.now();
        let mut record = self.client(id).await?;
        if record.status != ClientStatus::Active {
            return Err(DomainError::ClientMovedOut.into());
        }
        let window = record.window.clone();
        record.participation.exit(&window, on, reason, note, author.account.clone(), german_date(now))?;
        self.audit(author, "exit", Access::Write, Some(id)).await?;
        self.save(record, now).await
    }

    /// The client comes back, at the latest on the window's last day, which stays as it was.
    pub async fn re_enter(&self, author: &Author, id: ClientId, on: NaiveDate) -> Result<ClientRecord> {
        let now = self.now();
        let mut record = self.client(id).await?;
        if record.status != ClientStatus::Active {
            return Err(DomainError::ClientMovedOut.into());
        }
        let window = record.window.clone();
        record.participation.re_enter(&window, on, author.account.clone(), german_date(now))?;
        self.audit(author, "re-entry", Access::Write, Some(id)).await?;
        self.save(record, now).await
    }

    pub async fn add_goal(&self, author: &Author, client: ClientId, draft: GoalDraft) -> Result<Goal> {
        let now = self.now();
        let mut record = self.active_client(client, now).await?;
        let goal = record.plan.add_goal(draft, author, now).clone();
        self.audit(author, "plan", Access::Write, Some(client)).await?;
        self.save(record, now).await?;
        Ok(goal)
    }

    pub async fn update_goal(&self, author: &Author, client: ClientId, goal: GoalId, patch: GoalPatch) -> Result<Goal> {
        let now = self.now();
        let mut record = self.active_client(client, now).await?;
        let goal = record.plan.update_goal(goal, patch, author, now)?.clone();
        self.audit(author, "plan", Access::Write, Some(client)).await?;
        self.save(record, now).await?;
        Ok(goal)
    }

    /// Adds a dated review note to a goal.
    pub async fn review_goal(
        &self,
        author: &Author,
        client: ClientId,
        goal: GoalId,
        on: NaiveDate,
        note: Text,
    ) -> Result<Goal> {
        let now = self.now();
        let today = german_date(now);
        if on > today {
            return Err(DomainError::DateInFuture { date: on, today }.into());
        }
        let mut record = self.active_client(client, now).await?;
        let goal =
            record.plan.review_goal(goal, ReviewNote { on, note, by: author.account.clone() }, author, now)?.clone();
        self.audit(author, "plan", Access::Write, Some(client)).await?;
        self.save(record, now).await?;
        Ok(goal)
    }

    /// Grants an extension decided today by `author`; where four eyes are required it becomes a
    /// request that a team lead other than `author` approves.
    pub async fn grant_extension(
        &self,
        author: &Author,
        client: ClientId,
        months: u32,
        grounds: ExtensionGrounds,
    ) -> Result<ExtensionOutcome> {
        let now = self.now();
        let today = german_date(now);
        let mut record = self.active_client(client, now).await?;
        if self.settings.four_eyes {
            // Refuse now what could never be granted.
            record.window.clone().grant_extension(months, grounds.clone(), author.account.clone(), today)?;
            let request = ExtensionRequest {
                id: uuid::Uuid::new_v4(),
                months,
                grounds,
                requested_by: author.account.clone(),
                requested_on: today,
            };
            let id = request.id;
            record.pending_extensions.push(request);
            self.audit(author, "extension-request", Access::Write, Some(client)).await?;
            return Ok(ExtensionOutcome::Pending(self.save(record, now).await?, id));
        }
        record.window.grant_extension(months, grounds, author.account.clone(), today)?;
        self.audit(author, "extension", Access::Write, Some(client)).await?;
        Ok(ExtensionOutcome::Granted(self.save(record, now).await?))
    }

    /// A team lead other than the one who asked approves a pending extension: it is granted as
    /// decided by the approver, today.
    pub async fn approve_extension(
        &self,
        author: &Author,
        role: Role,
        client: ClientId,
        request: uuid::Uuid,
    ) -> Result<ClientRecord> {
        let now = self.now();
        let mut record = self.active_client(client, now).await?;
        let idx = record.pending_extensions.iter().position(|r| r.id == request).ok_or(DomainError::UnknownRequest)?;
        let pending = record.pending_extensions[idx].clone();
        staff::second_pair_of_eyes(self.settings.four_eyes, &author.account, role, &pending.requested_by)?;
        record.window.grant_extension(pending.months, pending.grounds, author.account.clone(), german_date(now))?;
        record.pending_extensions.remove(idx);
        self.audit(author, "extension-approval", Access::Write, Some(client)).await?;
        self.save(record, now).await
    }

    /// Records the client's consent to sending `categories` to `recipient`, witnessed by `author`.
    pub async fn record_consent(
        &self,
        author: &Author,
        client: ClientId,
        recipient: OfficeId,
        categories: BTreeSet<DataCategory>,
    ) -> Result<ConsentGrant> {
        let now = self.now();
        let record = self.client(client).await?;
        let grant = ConsentGrant::record(record.id, recipient, categories, now, author.account.clone())?;
        self.audit(author, "consent", Access::Write, Some(client)).await?;
        self.storage.insert_consent(&grant).await?;
        Ok(grant)
    }

    /// A consent of a client, without audit: for the office's own processing.
    pub(crate) async fn consent(&self, client: ClientId, id: ConsentId) -> Result<ConsentGrant> {
        self.storage.consent(id).await?.filter(|c| c.client == client).ok_or(ServiceError::NotFound("consent"))
    }

    pub async fn read_consent(&self, author: &Author, client: ClientId, id: ConsentId) -> Result<ConsentGrant> {
        let grant = self.consent(client, id).await?;
        self.audit(author, "consent", Access::Read, Some(client)).await?;
        Ok(grant)
    }

    /// Withdraws a consent with effect for the future.
    pub async fn withdraw_consent(&self, author: &Author, client: ClientId, id: ConsentId) -> Result<ConsentGrant> {
        self.consent(client, id).await?;
        self.audit(author, "consent-withdrawal", Access::Write, Some(client)).await?;
        let cancelled = self.storage.withdraw_consent(id, self.now()).await?;
        if cancelled > 0 {
            tracing::info!(consent = %id, cancelled, "consent withdrawn; undelivered handovers on it cancelled");
        }
        self.consent(client, id).await
    }

    /// The printable notice for the client in `lang`: what counselling is for and until when the
    /// window runs. `None` when there are no texts in that language.
    pub async fn notice(&self, author: &Author, id: ClientId, lang: &str) -> Result<Option<String>> {
        let record = self.client(id).await?;
        let data = crate::notice::NoticeData {
            office_name: &self.name,
            given_name: record.identity.given_name.as_str(),
            family_name: record.identity.family_name.as_str(),
            first_session: record.window.first_session(),
            last_day: record.window.last_day(),
            extension_months: record.window.extension_months(),
            issued_on: german_date(self.now()),
        };
        let page = crate::notice::render(lang, &data);
        if page.is_some() {
            self.audit(author, "notice", Access::Read, Some(id)).await?;
        }
        Ok(page)
    }

    /// The audit log of one client's data.
    pub async fn audit_log(&self, author: &Author, client: ClientId) -> Result<Vec<AuditEntry>> {
        self.client(client).await?;
        self.audit(author, "audit-log", Access::Read, Some(client)).await?;
        Ok(self.storage.audit_log(client).await?)
    }
}
