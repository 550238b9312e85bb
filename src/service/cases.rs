//! Clients, their windows, plans and consents.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};

use super::{Office, Result, ServiceError};
use crate::domain::plan::{Author, GoalDraft, GoalPatch};
use crate::domain::{
    ClientId, ClientIdentity, ConsentGrant, ConsentId, CounsellingWindow, DataCategory, ExtensionGrounds, Goal, GoalId,
    IntegrationPlan, OfficeId,
};
use crate::storage::{ClientRecord, ClientStatus};

/// A client entering counselling at this office, with the date of the first session.
pub struct NewClient {
    pub identity: ClientIdentity,
    pub first_session: NaiveDate,
}

impl Office {
    pub async fn create_client(&self, new: NewClient) -> Result<ClientRecord> {
        let now = Self::now();
        let window = CounsellingWindow::open(new.first_session, Self::today(now))?;
        let record = ClientRecord::new(new.identity, window, IntegrationPlan::default(), now);
        self.storage.insert_client(&record).await?;
        Ok(record)
    }

    pub async fn client(&self, id: ClientId) -> Result<ClientRecord> {
        self.storage.client(id).await?.ok_or(ServiceError::NotFound("client"))
    }

    /// Loads a client whose record is open for changes: not moved out, window running.
    async fn active_client(&self, id: ClientId, now: DateTime<Utc>) -> Result<ClientRecord> {
        let client = self.client(id).await?;
        if client.status != ClientStatus::Active {
            return Err(crate::domain::DomainError::ClientMovedOut.into());
        }
        client.window.ensure_running(Self::today(now))?;
        Ok(client)
    }

    async fn save(&self, mut client: ClientRecord, now: DateTime<Utc>) -> Result<ClientRecord> {
        client.updated_at = now;
        self.storage.update_client(&client).await?;
        client.version += 1;
        Ok(client)
    }

    pub async fn add_goal(&self, author: &Author, client: ClientId, draft: GoalDraft) -> Result<Goal> {
        let now = Self::now();
        let mut record = self.active_client(client, now).await?;
        let goal = record.plan.add_goal(draft, author, now).clone();
        self.save(record, now).await?;
        Ok(goal)
    }

    pub async fn update_goal(&self, author: &Author, client: ClientId, goal: GoalId, patch: GoalPatch) -> Result<Goal> {
        let now = Self::now();
        let mut record = self.active_client(client, now).await?;
        let goal = record.plan.update_goal(goal, patch, author, now)?.clone();
        self.save(record, now).await?;
        Ok(goal)
    }

    /// Grants an extension decided today by `author`.
    pub async fn grant_extension(
        &self,
        author: &Author,
        client: ClientId,
        months: u32,
        grounds: ExtensionGrounds,
    ) -> Result<ClientRecord> {
        let now = Self::now();
        let mut record = self.active_client(client, now).await?;
        record.window.grant_extension(months, grounds, author.account.clone(), Self::today(now))?;
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
        let now = Self::now();
        let record = self.client(client).await?;
        let grant = ConsentGrant::record(record.id, recipient, categories, now, author.account.clone())?;
        self.storage.insert_consent(&grant).await?;
        Ok(grant)
    }

    pub async fn consent(&self, client: ClientId, id: ConsentId) -> Result<ConsentGrant> {
        self.storage.consent(id).await?.filter(|c| c.client == client).ok_or(ServiceError::NotFound("consent"))
    }

    /// Withdraws a consent with effect for the future.
    pub async fn withdraw_consent(&self, client: ClientId, id: ConsentId) -> Result<ConsentGrant> {
        self.consent(client, id).await?;
        let cancelled = self.storage.withdraw_consent(id, Self::now()).await?;
        if cancelled > 0 {
            tracing::info!(consent = %id, cancelled, "consent withdrawn; undelivered handovers on it cancelled");
        }
        self.consent(client, id).await
    }
}
