//! Clients, their eligibility, windows, sessions, plans and consents: each use case one unit of
//! work, the audit entry of every read and write of a client's data committed with it.

use chrono::NaiveDate;

use super::{Office, Result, ServiceError};
use crate::domain::audit::{Access, AuditEntry};
use crate::domain::case::{ClientRecord, Extended};
use crate::domain::client::HouseholdId;
use crate::domain::eligibility::{Benefits, DiscretionaryDecision, Eligibility, TargetGroup};
use crate::domain::participation::{CounsellingSession, ExitReason};
use crate::domain::plan::{Author, GoalDraft, GoalPatch};
use crate::domain::staff::Role;
use crate::domain::{ClientId, ClientIdentity, ConsentGrant, ConsentId, ExtensionGrounds, Goal, GoalId, Text};
use crate::storage::{ClientQuery, ClientSummary, EndingQuery, UnitOfWork};

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

/// Loads a client record in a unit of work.
pub(crate) async fn load(tx: &mut Box<dyn UnitOfWork>, id: ClientId) -> Result<ClientRecord> {
    match tx.clients().get(id).await? {
        Some(record) => Ok(record),
        None if tx.clients().erased(id).await?.is_some() => Err(ServiceError::Erased),
        None => Err(ServiceError::NotFound("client")),
    }
}

impl Office {
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
        let (now, today) = (self.now(), self.clock().today());
        let eligibility = Self::eligibility(author, new.target_group, new.benefits, new.discretion_reason, today)?;
        let mut record = ClientRecord::open(new.identity, new.first_session, eligibility, today, now)?;
        let mut tx = self.begin().await?;
        let mut audit = vec![self.entry(author, Access::Write, "client", Some(record.id))];
        if let Some(other) = new.household_of {
            let mut other = load(&mut tx, other).await?;
            match other.household {
                Some(h) => record.household = Some(h),
                None => {
                    let h = HouseholdId::new();
                    record.household = Some(h);
                    other.household = Some(h);
                    other.updated_at = now;
                    tx.clients().update(&mut other).await?;
                    audit.push(self.entry(author, Access::Write, "household", Some(other.id)));
                }
            }
        }
        tx.clients().insert(&record).await?;
        tx.audit().append(&audit).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Reads a client with an audit entry, in one unit of work.
    async fn read(&self, author: &Author, id: ClientId, what: &str) -> Result<(Box<dyn UnitOfWork>, ClientRecord)> {
        let mut tx = self.begin().await?;
        let record = load(&mut tx, id).await?;
        tx.audit().append(&[self.entry(author, Access::Read, what, Some(id))]).await?;
        Ok((tx, record))
    }

    /// A client record as an integration manager reads it.
    pub async fn read_client(&self, author: &Author, id: ClientId) -> Result<ClientRecord> {
        let (tx, record) = self.read(author, id, "client").await?;
        tx.commit().await?;
        Ok(record)
    }

    /// A page of clients; one audit entry names the clients it showed.
    pub async fn list_clients(&self, author: &Author, query: &ClientQuery) -> Result<Vec<ClientSummary>> {
        let mut tx = self.begin().await?;
        let page = tx.clients().page(query).await?;
        let shown = page.iter().map(|c| c.id.as_uuid()).collect();
        tx.audit().append(&[AuditEntry::list(self.now(), &author.account, "client-list", shown)]).await?;
        tx.commit().await?;
        Ok(page)
    }

    /// Clients taking part whose window ends within `days` days from today, soonest first: a page
    /// of at most `limit`, after the cursor.
    pub async fn windows_ending(
        &self,
        author: &Author,
        days: u32,
        limit: u32,
        after: Option<(NaiveDate, String, ClientId)>,
    ) -> Result<Vec<ClientSummary>> {
        let today = self.clock().today();
        let until = today + chrono::Duration::days(i64::from(days));
        let mut tx = self.begin().await?;
        let clients = tx.clients().windows_ending(&EndingQuery { from: today, until, limit, after }).await?;
        let shown = clients.iter().map(|c| c.id.as_uuid()).collect();
        tx.audit().append(&[AuditEntry::list(self.now(), &author.account, "worklist", shown)]).await?;
        tx.commit().await?;
        Ok(clients)
    }

    /// The adults of a client's household (the client alone if there is none).
    pub async fn household(&self, author: &Author, id: ClientId) -> Result<Vec<ClientSummary>> {
        let (mut tx, record) = self.read(author, id, "client").await?;
        let members = match record.household {
            Some(h) => tx.clients().household(h).await?,
            None => vec![ClientSummary::from(&record)],
        };
        let others = members.iter().filter(|m| m.id != id).map(|m| m.id.as_uuid()).collect();
        tx.audit().append(&[AuditEntry::list(self.now(), &author.account, "household", others)]).await?;
        tx.commit().await?;
        Ok(members)
    }

    /// Loads a client, lets `change` change it, writes it with its audit entry; one commit.
    async fn change<T>(
        &self,
        author: &Author,
        id: ClientId,
        what: &str,
        change: impl FnOnce(&mut ClientRecord) -> Result<T>,
    ) -> Result<(ClientRecord, T)> {
        let mut tx = self.begin().await?;
        let mut record = load(&mut tx, id).await?;
        let out = change(&mut record)?;
        tx.clients().update(&mut record).await?;
        tx.audit().append(&[self.entry(author, Access::Write, what, Some(id))]).await?;
        tx.commit().await?;
        Ok((record, out))
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
        let (now, today) = (self.now(), self.clock().today());
        let e = Self::eligibility(author, target_group, benefits, discretion_reason, today)?;
        Ok(self.change(author, id, "eligibility", |r| Ok(r.set_eligibility(e, today, now)?)).await?.0)
    }

    pub async fn record_session(
        &self,
        author: &Author,
        id: ClientId,
        date: NaiveDate,
        note: Text,
    ) -> Result<CounsellingSession> {
        let (now, today) = (self.now(), self.clock().today());
        let mut tx = self.begin().await?;
        let record = load(&mut tx, id).await?;
        record.check_session(date, today)?;
        let session = CounsellingSession {
            id: uuid::Uuid::new_v4(),
            date,
            note,
            recorded_by: author.account.clone(),
            recorded_at: now,
        };
        tx.clients().insert_session(id, &session).await?;
        tx.audit().append(&[self.entry(author, Access::Write, "session", Some(id))]).await?;
        tx.commit().await?;
        Ok(session)
    }

    pub async fn sessions(&self, author: &Author, id: ClientId) -> Result<Vec<CounsellingSession>> {
        let (mut tx, _) = self.read(author, id, "sessions").await?;
        let sessions = tx.clients().sessions(id).await?;
        tx.commit().await?;
        Ok(sessions)
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
        let (now, today) = (self.now(), self.clock().today());
        Ok(self.change(author, id, "exit", |r| Ok(r.exit(on, reason, note, &author.account, today, now)?)).await?.0)
    }

    /// The client comes back, at the latest on the window's last day, which stays as it was.
    pub async fn re_enter(&self, author: &Author, id: ClientId, on: NaiveDate) -> Result<ClientRecord> {
        let (now, today) = (self.now(), self.clock().today());
        Ok(self.change(author, id, "re-entry", |r| Ok(r.re_enter(on, &author.account, today, now)?)).await?.0)
    }

    pub async fn add_goal(&self, author: &Author, client: ClientId, draft: GoalDraft) -> Result<Goal> {
        let (now, today) = (self.now(), self.clock().today());
        Ok(self.change(author, client, "plan", |r| Ok(r.add_goal(draft, author, today, now)?)).await?.1)
    }

    pub async fn update_goal(&self, author: &Author, client: ClientId, goal: GoalId, patch: GoalPatch) -> Result<Goal> {
        let (now, today) = (self.now(), self.clock().today());
        Ok(self.change(author, client, "plan", |r| Ok(r.update_goal(goal, patch, author, today, now)?)).await?.1)
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
        let (now, today) = (self.now(), self.clock().today());
        Ok(self.change(author, client, "plan", |r| Ok(r.review_goal(goal, on, note, author, today, now)?)).await?.1)
    }

    /// Grants an extension decided today by `author`; where four eyes are required it becomes a
    /// request that a team lead other than `author` approves.
    pub async fn grant_extension(
        &self,
        author: &Author,
        client: ClientId,
        months: u32,
        grounds: ExtensionGrounds,
    ) -> Result<(ClientRecord, Extended)> {
        let (now, today) = (self.now(), self.clock().today());
        let four_eyes = self.settings.four_eyes;
        let what = if four_eyes { "extension-request" } else { "extension" };
        self.change(author, client, what, |r| Ok(r.extend(months, grounds, &author.account, four_eyes, today, now)?))
            .await
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
        let (now, today) = (self.now(), self.clock().today());
        let four_eyes = self.settings.four_eyes;
        let approve =
            |r: &mut ClientRecord| Ok(r.approve_extension(request, &author.account, role, four_eyes, today, now)?);
        Ok(self.change(author, client, "extension-approval", approve).await?.0)
    }

    /// Every consent of a client, oldest first.
    pub async fn consents(&self, author: &Author, client: ClientId) -> Result<Vec<ConsentGrant>> {
        let (mut tx, _) = self.read(author, client, "consents").await?;
        let consents = tx.consents().of_client(client).await?;
        tx.commit().await?;
        Ok(consents)
    }

    pub async fn read_consent(&self, author: &Author, client: ClientId, id: ConsentId) -> Result<ConsentGrant> {
        let (mut tx, _) = self.read(author, client, "consent").await?;
        let grant = consent_of(&mut tx, client, id).await?;
        tx.commit().await?;
        Ok(grant)
    }

    /// The printable notice for the client in `lang`: what counselling is for and until when the
    /// window runs. `None` when there are no texts in that language.
    pub async fn notice(&self, author: &Author, id: ClientId, lang: &str) -> Result<Option<String>> {
        if crate::notice::languages().all(|l| l != lang) {
            return Ok(None);
        }
        let (tx, record) = self.read(author, id, "notice").await?;
        let data = crate::notice::NoticeData {
            office_name: &self.name,
            given_name: record.identity.given_name.as_str(),
            family_name: record.identity.family_name.as_str(),
            first_session: record.window.first_session(),
            last_day: record.window.last_day(),
            extension_months: record.window.extension_months(),
            issued_on: self.clock().today(),
        };
        let page = crate::notice::render(lang, &data);
        tx.commit().await?;
        Ok(page)
    }

    /// A page of the audit log of one client's data, oldest first, after the sequence number
    /// `after`.
    pub async fn audit_log(
        &self,
        author: &Author,
        client: ClientId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(i64, AuditEntry)>> {
        let (mut tx, _) = self.read(author, client, "audit-log").await?;
        let log = tx.audit().for_client(client, after, limit).await?;
        tx.commit().await?;
        Ok(log)
    }
}

/// A consent of a client.
pub(crate) async fn consent_of(tx: &mut Box<dyn UnitOfWork>, client: ClientId, id: ConsentId) -> Result<ConsentGrant> {
    tx.consents().get(id).await?.filter(|c| c.client == client).ok_or(ServiceError::NotFound("consent"))
}
