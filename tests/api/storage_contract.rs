//! The storage contract: one set of tests, written once against the storage interface, run on
//! SQLite (a fresh file) and on PostgreSQL (a fresh database on the server in
//! `STAFFEL_TEST_POSTGRES`). Every aggregate, every state a record can be written in, refused
//! writes (stale versions, taken keys), concurrent writers on one record, the append-only audit
//! log, and a unit of work dropped without commit.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use staffel::domain::audit::{Access, AuditEntry};
use staffel::domain::case::{ClientRecord, ClientStatus};
use staffel::domain::delivery::{
    Decision, IncomingHandover, IncomingState, MessageKind, OutboxMessage, OutgoingHandover, OutgoingState,
};
use staffel::domain::eligibility::{Benefits, Eligibility, TargetGroup};
use staffel::domain::participation::{CounsellingSession, ExitReason};
use staffel::domain::plan::{Author, GoalDraft};
use staffel::domain::search::query_words;
use staffel::domain::staff::{Account, Role};
use staffel::domain::{
    ClientId, ClientIdentity, ConsentGrant, DataCategory, DomainError, GoalArea, PersonName, Responsible, Text,
};
use staffel::storage::{
    ClientCursor, ClientQuery, EndingQuery, HandoverCounts, InboxOutcome, InboxRecord, IncomingCursor, IncomingQuery,
    PendingOutbox, Storage, StorageError,
};
use uuid::Uuid;

use crate::harness::*;

/// A store under test, with what keeps its database alive.
struct Store {
    storage: Arc<dyn Storage>,
    url: String,
    _file: Option<tempfile::TempDir>,
    _database: Option<PgDatabases>,
}

async fn sqlite_store() -> Store {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("contract.sqlite").display());
    Store { storage: staffel::storage::open(&url).await.unwrap(), url, _file: Some(dir), _database: None }
}

async fn postgres_store() -> Option<Store> {
    let server = postgres_server()?;
    let mut databases = PgDatabases::new(&server);
    let url = databases.create().await;
    Some(Store { storage: staffel::storage::open(&url).await.unwrap(), url, _file: None, _database: Some(databases) })
}

/// Runs SQL straight on the database, beside the storage: for what the interface never does.
async fn raw(url: &str, sql: &str) -> Result<u64, String> {
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.map(|r| r.rows_affected()).map_err(|e| e.to_string())
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.map(|r| r.rows_affected()).map_err(|e| e.to_string())
    }
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let store = super::sqlite_store().await;
                    super::$name(&store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(store) = super::postgres_store().await else { return };
                    super::$name(&store).await;
                }
            )*
        }
    };
}

contract!(
    clients_round_trip_and_stale_writes_are_refused,
    client_pages_follow_the_names_and_their_cursor,
    the_work_list_pages_by_last_day,
    sessions_and_households,
    consents_round_trip_and_stale_writes_are_refused,
    outgoing_handovers_keep_every_state_and_one_open_per_client,
    incoming_handovers_round_trip_and_page_newest_first,
    the_outbox_hands_out_what_is_due,
    the_inbox_answers_a_message_once,
    the_audit_log_is_append_only_and_names_what_lists_showed,
    accounts_and_session_tokens,
    accounts_change_and_go_only_as_they_were_read,
    of_two_administrators_disabling_each_other_one_stays,
    a_unit_of_work_dropped_without_commit_leaves_nothing,
    concurrent_writers_never_lose_an_update,
    the_outbox_counts_what_waits_per_destination,
    handovers_are_counted_by_state,
);

fn at() -> DateTime<Utc> {
    t0()
}

fn person(given: &str, family: &str) -> ClientIdentity {
    ClientIdentity {
        given_name: PersonName::parse(given, "g").unwrap(),
        family_name: PersonName::parse(family, "f").unwrap(),
        date_of_birth: "1985-06-01".parse().unwrap(),
    }
}

fn client(given: &str, family: &str, first_session: NaiveDate) -> ClientRecord {
    let e = Eligibility::new(TargetGroup::FollowUpAccommodation, Benefits::Asylblg, None).unwrap();
    ClientRecord::open(person(given, family), first_session, e, today(), at()).unwrap()
}

fn consent_for(c: &ClientRecord) -> ConsentGrant {
    let cats = [DataCategory::Identity, DataCategory::Window].into();
    ConsentGrant::record(c.id, office(HEIDELBERG), cats, at(), "im".into(), consent_form()).unwrap()
}

async fn saved_client(s: &Store, given: &str, family: &str, first_session: NaiveDate) -> ClientRecord {
    let c = client(given, family, first_session);
    let mut tx = s.storage.begin().await.unwrap();
    tx.clients().insert(&c).await.unwrap();
    tx.commit().await.unwrap();
    c
}

async fn clients_round_trip_and_stale_writes_are_refused(s: &Store) {
    let mut c = saved_client(s, "Testa", "Beispiel", today() - Duration::days(100)).await;
    let author = Author { office: office(STUTTGART), account: "im".into() };
    let draft = GoalDraft {
        area: GoalArea::Language,
        description: Text::parse("B1", "d").unwrap(),
        steps: vec![],
        responsible: Responsible::Client,
        target_date: None,
    };
    c.add_goal(draft, &author, today(), at()).unwrap();
    c.exit(today(), ExitReason::ManagesIndependently, None, "im", today(), at()).unwrap();
    let stale = c.clone();
    let mut tx = s.storage.begin().await.unwrap();
    tx.clients().update(&mut c).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(c.version, 1);

    let mut tx = s.storage.read().await.unwrap();
    let read = tx.clients().get(c.id).await.unwrap().unwrap();
    assert_eq!(
        (read.version, read.plan.clone(), read.participation.clone()),
        (1, c.plan.clone(), c.participation.clone())
    );
    assert_eq!(read.window, c.window);
    assert_eq!(read.eligibility, c.eligibility);
    assert_eq!(tx.clients().by_case(c.case_id).await.unwrap().unwrap().id, c.id);
    assert!(tx.clients().get(ClientId::new()).await.unwrap().is_none());
    drop(tx);

    // A copy read before the last write is refused, and changes nothing.
    let mut stale = stale;
    stale.identity = person("Other", "Name");
    let mut tx = s.storage.begin().await.unwrap();
    assert!(matches!(tx.clients().update(&mut stale).await, Err(StorageError::Conflict)));
    drop(tx);
    // A second record with the same case is refused.
    let mut twin = client("Testa", "Beispiel", today());
    twin.case_id = c.case_id;
    let mut tx = s.storage.begin().await.unwrap();
    assert!(matches!(tx.clients().insert(&twin).await, Err(StorageError::Conflict)));
    drop(tx);
    // Moved out, and back: the status round-trips.
    c.move_out(office(HEIDELBERG), at(), at()).unwrap();
    let mut tx = s.storage.begin().await.unwrap();
    tx.clients().update(&mut c).await.unwrap();
    tx.commit().await.unwrap();
    let read = s.storage.read().await.unwrap().clients().get(c.id).await.unwrap().unwrap();
    assert_eq!(read.status, ClientStatus::MovedOut { to: office(HEIDELBERG), at: at() });
    assert_eq!(read.identity.given_name.as_str(), "Testa");
}

async fn client_pages_follow_the_names_and_their_cursor(s: &Store) {
    let names =
        [("Jürgen", "Müller"), ("Olena", "Кириленко"), ("Anna", "Beispiel"), ("Bert", "Beispiel"), ("Cem", "Dvořák")];
    let mut ids = Vec::new();
    for (g, f) in names {
        ids.push(saved_client(s, g, f, today() - Duration::days(10)).await.id);
    }
    let page = |words: &str, limit, after: Option<ClientCursor>| ClientQuery {
        words: query_words(words),
        active_only: false,
        limit,
        after,
    };
    let mut tx = s.storage.read().await.unwrap();
    let all = tx.clients().page(&page("", 10, None)).await.unwrap();
    let order: Vec<&str> = all.iter().map(|c| c.identity.family_name.as_str()).collect();
    assert_eq!(order, ["Beispiel", "Beispiel", "Dvořák", "Müller", "Кириленко"]);
    assert_eq!(all[0].identity.given_name.as_str(), "Anna");
    // Keyset paging: two at a time, each page after the last one's key.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let p = tx.clients().page(&page("", 2, after.clone())).await.unwrap();
        if p.is_empty() {
            break;
        }
        after = p.last().map(|c| ClientCursor { sort_key: c.sort_key.clone(), id: c.id });
        seen.extend(p.into_iter().map(|c| c.id));
    }
    assert_eq!(seen, all.iter().map(|c| c.id).collect::<Vec<_>>());
    for (search, found) in
        [("muell", 1), ("MÜL", 1), ("dvorak", 1), ("кир", 1), ("beispiel", 2), ("beispiel bert", 1), ("x", 0)]
    {
        assert_eq!(tx.clients().page(&page(search, 10, None)).await.unwrap().len(), found, "{search}");
    }
}

async fn the_work_list_pages_by_last_day(s: &Store) {
    // Last days in 5, 10 and 20 days; one outside the range; one exited.
    for (i, days) in [5i64, 10, 20, 400].into_iter().enumerate() {
        let first = (today() + Duration::days(days)) - chrono::Months::new(36);
        saved_client(s, &format!("N{i}"), "Beispiel", first).await;
    }
    let mut gone = saved_client(s, "Ex", "Beispiel", (today() + Duration::days(7)) - chrono::Months::new(36)).await;
    gone.exit(today(), ExitReason::NoLongerReceivesBenefits, None, "im", today(), at()).unwrap();
    let mut tx = s.storage.begin().await.unwrap();
    tx.clients().update(&mut gone).await.unwrap();
    tx.commit().await.unwrap();

    let q = |after| EndingQuery { from: today(), until: today() + Duration::days(30), limit: 2, after };
    let mut tx = s.storage.read().await.unwrap();
    let first = tx.clients().windows_ending(&q(None)).await.unwrap();
    assert_eq!(first.iter().map(|c| c.identity.given_name.as_str()).collect::<Vec<_>>(), ["N0", "N1"]);
    let last = first.last().unwrap();
    let rest = tx.clients().windows_ending(&q(Some((last.last_day, last.sort_key.clone(), last.id)))).await.unwrap();
    assert_eq!(rest.iter().map(|c| c.identity.given_name.as_str()).collect::<Vec<_>>(), ["N2"]);
}

async fn sessions_and_households(s: &Store) {
    let a = saved_client(s, "Testa", "Beispiel", today() - Duration::days(100)).await;
    let mut b = client("Tero", "Beispiel", today());
    let household = staffel::domain::client::HouseholdId::new();
    b.household = Some(household);
    let mut a = a;
    a.household = Some(household);
    let mut tx = s.storage.begin().await.unwrap();
    tx.clients().insert(&b).await.unwrap();
    tx.clients().update(&mut a).await.unwrap();
    for (date, note) in [(today(), "second"), (today() - Duration::days(50), "first")] {
        let session = CounsellingSession {
            id: Uuid::new_v4(),
            date,
            note: Text::parse(note, "n").unwrap(),
            recorded_by: "im".into(),
            recorded_at: at(),
        };
        tx.clients().insert_session(a.id, &session).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = s.storage.read().await.unwrap();
    let sessions = tx.clients().sessions(a.id).await.unwrap();
    assert_eq!(sessions.iter().map(|s| s.note.as_str()).collect::<Vec<_>>(), ["first", "second"]);
    assert!(tx.clients().sessions(b.id).await.unwrap().is_empty());
    let members = tx.clients().household(household).await.unwrap();
    assert_eq!(members.len(), 2);
}

async fn consents_round_trip_and_stale_writes_are_refused(s: &Store) {
    let c = saved_client(s, "Testa", "Beispiel", today()).await;
    let mut grant = consent_for(&c);
    let mut tx = s.storage.begin().await.unwrap();
    tx.consents().insert(&grant).await.unwrap();
    tx.commit().await.unwrap();
    let stale = grant.clone();
    assert!(grant.withdraw(at(), staffel::domain::ledger::WithdrawnVia::WithdrawalCode));
    let mut tx = s.storage.begin().await.unwrap();
    tx.consents().update(&mut grant).await.unwrap();
    tx.commit().await.unwrap();
    let read = s.storage.read().await.unwrap().consents().get(grant.id).await.unwrap().unwrap();
    assert_eq!(read, grant);
    let mut stale = stale;
    let mut tx = s.storage.begin().await.unwrap();
    assert!(matches!(tx.consents().update(&mut stale).await, Err(StorageError::Conflict)));
}

async fn outgoing_handovers_keep_every_state_and_one_open_per_client(s: &Store) {
    let c = saved_client(s, "Testa", "Beispiel", today()).await;
    let grant = consent_for(&c);
    let mut tx = s.storage.begin().await.unwrap();
    tx.consents().insert(&grant).await.unwrap();
    tx.commit().await.unwrap();

    let mut h = OutgoingHandover::draft(c.id, office(HEIDELBERG), grant.id, "im", None, at()).unwrap();
    let mut tx = s.storage.begin().await.unwrap();
    tx.handovers().insert_outgoing(&h).await.unwrap();
    tx.commit().await.unwrap();
    // A second open handover of the client: the domain refuses it, and so does the store.
    let open = s.storage.read().await.unwrap().handovers().open_outgoing(c.id).await.unwrap();
    assert_eq!(open.as_ref().map(|o| o.id), Some(h.id));
    let second = OutgoingHandover::draft(c.id, office(FREIBURG), grant.id, "im", open.as_ref(), at());
    assert_eq!(second.unwrap_err(), DomainError::HandoverOpen);
    let sneaked = OutgoingHandover::draft(c.id, office(FREIBURG), grant.id, "im", None, at()).unwrap();
    let mut tx = s.storage.begin().await.unwrap();
    assert!(matches!(tx.handovers().insert_outgoing(&sneaked).await, Err(StorageError::Conflict)));
    drop(tx);

    // Every allowed transition, persisted and read back; the refused ones change nothing.
    type Step = fn(&mut OutgoingHandover) -> Result<(), DomainError>;
    let steps: [(&str, Step); 3] = [
        ("approve", |h| h.approve("lead", Role::TeamLead, true, t0())),
        ("delivered", |h| h.delivered(t0())),
        ("decided", |h| h.decided(office(HEIDELBERG), Decision::Declined, t0(), Some("no capacity".into()), t0())),
    ];
    for (name, step) in steps {
        step(&mut h).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut tx = s.storage.begin().await.unwrap();
        tx.handovers().update_outgoing(&mut h).await.unwrap();
        tx.commit().await.unwrap();
        let read = s.storage.read().await.unwrap().handovers().outgoing(h.id).await.unwrap().unwrap();
        assert_eq!((read.state, read.version), (h.state, h.version), "{name}");
        assert_eq!(read.approved_by.as_deref(), Some("lead"));
    }
    assert_eq!(h.state, OutgoingState::Declined);
    assert_eq!(h.decline_reason.as_deref(), Some("no capacity"));
    assert!(matches!(h.cancel(at()), Err(DomainError::InvalidTransition { .. })));
    // Declined: no longer open, so another may follow; and cancelled drafts persist too.
    assert!(s.storage.read().await.unwrap().handovers().open_outgoing(c.id).await.unwrap().is_none());
    let later = at() + Duration::minutes(1);
    let mut next = OutgoingHandover::draft(c.id, office(FREIBURG), grant.id, "im", None, later).unwrap();
    next.cancel(at()).unwrap();
    let mut tx = s.storage.begin().await.unwrap();
    tx.handovers().insert_outgoing(&next).await.unwrap();
    tx.commit().await.unwrap();
    let on_consent = s.storage.read().await.unwrap().handovers().outgoing_on_consent(grant.id).await.unwrap();
    assert_eq!(
        on_consent.iter().map(|h| h.state).collect::<Vec<_>>(),
        [OutgoingState::Declined, OutgoingState::Cancelled]
    );
}

fn received_at(minutes: i64) -> IncomingHandover {
    let message = handover(STUTTGART, HEIDELBERG);
    IncomingHandover::received(message.received(), at() + Duration::minutes(minutes))
}

async fn inbox_for(s: &Store, h: &IncomingHandover) {
    let record = InboxRecord {
        message_id: h.id(),
        kind: MessageKind::Handover,
        sender: office(STUTTGART),
        sha256: "00".repeat(32),
        jws: "a.b.c".into(),
        receipt: "r.e.c".into(),
        received_at: h.received_at,
    };
    let mut tx = s.storage.begin().await.unwrap();
    assert_eq!(tx.inbox().offer(&record).await.unwrap(), InboxOutcome::Stored);
    tx.handovers().insert_incoming(h).await.unwrap();
    tx.commit().await.unwrap();
}

async fn incoming_handovers_round_trip_and_page_newest_first(s: &Store) {
    let mut handovers = Vec::new();
    for minutes in [1, 2, 3] {
        let h = received_at(minutes);
        inbox_for(s, &h).await;
        handovers.push(h);
    }
    let mut first = handovers[0].clone();
    let c = saved_client(s, "Testa", "Beispiel", today()).await;
    // The decision sent back is in the outbox (the record refers to it).
    let decision =
        OutboxMessage::new(Uuid::new_v4(), MessageKind::Decision, office(STUTTGART), "a.b.c".into(), at(), at());
    first.accept("im", c.id, decision.message_id, at()).unwrap();
    let refused = first.clone().decline("im", &Text::parse("x", "r").unwrap(), Uuid::new_v4(), at());
    assert!(matches!(refused, Err(DomainError::InvalidTransition { .. })));
    let mut tx = s.storage.begin().await.unwrap();
    tx.outbox().insert(&decision).await.unwrap();
    tx.handovers().update_incoming(&mut first).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = s.storage.read().await.unwrap();
    let read = tx.handovers().incoming(first.id()).await.unwrap().unwrap();
    assert_eq!(
        (read.state, read.client_id, read.decision_id),
        (IncomingState::Accepted, Some(c.id), first.decision_id)
    );
    assert_eq!(read.handover, first.handover);
    let newest = tx.handovers().incoming_page(&IncomingQuery { limit: 2, ..Default::default() }).await.unwrap();
    assert_eq!(newest.iter().map(|h| h.id).collect::<Vec<_>>(), [handovers[2].id(), handovers[1].id()]);
    let after = IncomingCursor { received_at: newest[1].received_at, id: newest[1].id };
    let older =
        tx.handovers().incoming_page(&IncomingQuery { limit: 2, after: Some(after), state: None }).await.unwrap();
    assert_eq!(older.iter().map(|h| h.id).collect::<Vec<_>>(), [handovers[0].id()]);
    let waiting = IncomingQuery { state: Some(IncomingState::Received), limit: 10, after: None };
    assert_eq!(tx.handovers().incoming_page(&waiting).await.unwrap().len(), 2);
    assert_eq!(newest[0].identity, handovers[2].handover.case.client);
    assert_eq!(newest[0].last_day, handovers[2].handover.case.window.last_day);
    drop(tx);
    // A stale copy is refused.
    let mut stale = handovers[0].clone();
    stale.decline("im", &Text::parse("x", "r").unwrap(), decision.message_id, at()).unwrap();
    let mut tx = s.storage.begin().await.unwrap();
    assert!(matches!(tx.handovers().update_incoming(&mut stale).await, Err(StorageError::Conflict)));
}

async fn the_outbox_hands_out_what_is_due(s: &Store) {
    let message = |minutes| {
        let mut m = OutboxMessage::new(
            Uuid::new_v4(),
            MessageKind::Decision,
            office(HEIDELBERG),
            "a.b.c".into(),
            at(),
            at() + Duration::days(7),
        );
        m.next_attempt_at = at() + Duration::minutes(minutes);
        m
    };
    let (late, soon, done) = (message(10), message(1), message(0));
    let mut tx = s.storage.begin().await.unwrap();
    for m in [&late, &soon, &done] {
        tx.outbox().insert(m).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut done = done;
    done.delivered("receipt".into(), at()).unwrap();
    let mut retried = soon.clone();
    retried.retry_at(at() + Duration::minutes(30), "down".into()).unwrap();
    let mut tx = s.storage.begin().await.unwrap();
    tx.outbox().update(&mut done).await.unwrap();
    tx.outbox().update(&mut retried).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = s.storage.read().await.unwrap();
    let due_now = |minutes| at() + Duration::minutes(minutes);
    assert!(tx.outbox().due(due_now(5), 10).await.unwrap().is_empty(), "delivered, or retried later");
    let due: Vec<Uuid> = tx.outbox().due(due_now(60), 10).await.unwrap().into_iter().map(|m| m.message_id).collect();
    assert_eq!(due, [late.message_id, soon.message_id], "the longest due first");
    let read = tx.outbox().get(done.message_id).await.unwrap().unwrap();
    assert_eq!((read.receipt.as_deref(), read.attempts, read.delivered_at), (Some("receipt"), 1, Some(at())));
    drop(tx);
    let mut stale = soon;
    stale.failed(at(), "x".into(), true).unwrap();
    let mut tx = s.storage.begin().await.unwrap();
    assert!(matches!(tx.outbox().update(&mut stale).await, Err(StorageError::Conflict)));
}

async fn the_outbox_counts_what_waits_per_destination(s: &Store) {
    assert!(s.storage.read().await.unwrap().outbox().pending_by_destination().await.unwrap().is_empty());
    let message = |to: &str, minutes| {
        let created = at() + Duration::minutes(minutes);
        OutboxMessage::new(
            Uuid::new_v4(),
            MessageKind::Decision,
            office(to),
            "a.b.c".into(),
            created,
            at() + Duration::days(7),
        )
    };
    // Waiting: two to Heidelberg (one of them retried later), one to Freiburg. Not waiting: one
    // delivered, one given up, one cancelled, each older than those waiting.
    let waiting = [message(HEIDELBERG, 2), message(HEIDELBERG, 1), message(FREIBURG, 3)];
    let (mut delivered, mut given_up, mut cancelled) =
        (message(HEIDELBERG, -10), message(HEIDELBERG, -9), message(FREIBURG, -8));
    let mut tx = s.storage.begin().await.unwrap();
    for m in waiting.iter().chain([&delivered, &given_up, &cancelled]) {
        tx.outbox().insert(m).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut retried = waiting[1].clone();
    retried.retry_at(at() + Duration::hours(1), "down".into()).unwrap();
    delivered.delivered("receipt".into(), at()).unwrap();
    given_up.failed(at(), "refused".into(), true).unwrap();
    assert!(cancelled.cancel(at(), "withdrawn"));
    let mut tx = s.storage.begin().await.unwrap();
    for m in [&mut retried, &mut delivered, &mut given_up, &mut cancelled] {
        tx.outbox().update(m).await.unwrap();
    }
    tx.commit().await.unwrap();

    let pending = s.storage.read().await.unwrap().outbox().pending_by_destination().await.unwrap();
    assert_eq!(
        pending,
        [
            PendingOutbox {
                destination: office(HEIDELBERG),
                messages: 2,
                oldest_created_at: at() + Duration::minutes(1)
            },
            PendingOutbox {
                destination: office(FREIBURG),
                messages: 1,
                oldest_created_at: at() + Duration::minutes(3)
            },
        ],
        "by destination id; the oldest of those waiting"
    );
}

async fn handovers_are_counted_by_state(s: &Store) {
    assert_eq!(s.storage.read().await.unwrap().handovers().count_by_state().await.unwrap(), HandoverCounts::default());
    // Sent: a draft and a cancelled one of one client, an approved one of another.
    let (a, b) =
        (saved_client(s, "Anna", "Beispiel", today()).await, saved_client(s, "Berta", "Muster", today()).await);
    let (grant_a, grant_b) = (consent_for(&a), consent_for(&b));
    let mut cancelled = OutgoingHandover::draft(a.id, office(HEIDELBERG), grant_a.id, "im", None, at()).unwrap();
    cancelled.cancel(at()).unwrap();
    let draft = OutgoingHandover::draft(a.id, office(FREIBURG), grant_a.id, "im", None, at()).unwrap();
    let mut approved = OutgoingHandover::draft(b.id, office(HEIDELBERG), grant_b.id, "im", None, at()).unwrap();
    approved.approve("lead", Role::TeamLead, true, at()).unwrap();
    let mut tx = s.storage.begin().await.unwrap();
    tx.consents().insert(&grant_a).await.unwrap();
    tx.consents().insert(&grant_b).await.unwrap();
    for h in [&cancelled, &draft, &approved] {
        tx.handovers().insert_outgoing(h).await.unwrap();
    }
    tx.commit().await.unwrap();
    // Received: three, one of them accepted.
    let received: Vec<_> = [1, 2, 3].map(received_at).into();
    for h in &received {
        inbox_for(s, h).await;
    }
    let decision =
        OutboxMessage::new(Uuid::new_v4(), MessageKind::Decision, office(STUTTGART), "a.b.c".into(), at(), at());
    let mut accepted = received[0].clone();
    accepted.accept("im", a.id, decision.message_id, at()).unwrap();
    let mut tx = s.storage.begin().await.unwrap();
    tx.outbox().insert(&decision).await.unwrap();
    tx.handovers().update_incoming(&mut accepted).await.unwrap();
    tx.commit().await.unwrap();

    let counts = s.storage.read().await.unwrap().handovers().count_by_state().await.unwrap();
    assert_eq!(
        counts,
        HandoverCounts {
            outgoing: vec![(OutgoingState::Approved, 1), (OutgoingState::Cancelled, 1), (OutgoingState::Draft, 1)],
            incoming: vec![(IncomingState::Accepted, 1), (IncomingState::Received, 2)],
        },
        "each in order of the state's name; states without handovers left out"
    );
}

async fn the_inbox_answers_a_message_once(s: &Store) {
    let record = InboxRecord {
        message_id: Uuid::new_v4(),
        kind: MessageKind::Decision,
        sender: office(HEIDELBERG),
        sha256: "ab".repeat(32),
        jws: "a.b.c".into(),
        receipt: "the receipt".into(),
        received_at: at(),
    };
    let mut tx = s.storage.begin().await.unwrap();
    assert_eq!(tx.inbox().offer(&record).await.unwrap(), InboxOutcome::Stored);
    tx.commit().await.unwrap();
    let mut tx = s.storage.begin().await.unwrap();
    let again =
        InboxRecord { receipt: "another receipt".into(), received_at: at() + Duration::hours(1), ..record.clone() };
    assert_eq!(tx.inbox().offer(&again).await.unwrap(), InboxOutcome::Duplicate { receipt: "the receipt".into() });
    let other_bytes = InboxRecord { sha256: "cd".repeat(32), ..record.clone() };
    assert_eq!(tx.inbox().offer(&other_bytes).await.unwrap(), InboxOutcome::Conflict);
    let other_kind = InboxRecord { kind: MessageKind::Handover, ..record.clone() };
    assert_eq!(tx.inbox().offer(&other_kind).await.unwrap(), InboxOutcome::Conflict);
    let stored = tx.inbox().get(record.message_id).await.unwrap().unwrap();
    assert_eq!((stored.receipt.as_str(), stored.received_at), ("the receipt", at()));
}

async fn the_audit_log_is_append_only_and_names_what_lists_showed(s: &Store) {
    let c = saved_client(s, "Testa", "Beispiel", today()).await;
    let other = saved_client(s, "Tero", "Beispiel", today()).await;
    let mut tx = s.storage.begin().await.unwrap();
    tx.audit()
        .append(&[
            AuditEntry::new(at(), "im", Access::Write, "client", Some(c.id)),
            AuditEntry::list(at(), "im", "client-list", vec![c.id.as_uuid(), other.id.as_uuid()]),
            AuditEntry::new(at(), "im", Access::Read, "client", Some(other.id)),
        ])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = s.storage.read().await.unwrap();
    let log = tx.audit().for_client(c.id, None, 10).await.unwrap();
    assert_eq!(log.iter().map(|(_, e)| e.action.as_str()).collect::<Vec<_>>(), ["write:client", "read:client-list"]);
    let after = tx.audit().for_client(c.id, Some(log[0].0), 10).await.unwrap();
    assert_eq!(after.len(), 1);
    drop(tx);
    // The database itself refuses to change or remove an entry.
    for sql in ["UPDATE audit_log SET account = 'someone else'", "DELETE FROM audit_log", "DELETE FROM audit_subjects"]
    {
        let refused = raw(&s.url, sql).await;
        assert!(refused.as_ref().is_err_and(|e| e.contains("append-only")), "{sql}: {refused:?}");
    }
    let mut tx = s.storage.read().await.unwrap();
    assert_eq!(tx.audit().for_client(c.id, None, 10).await.unwrap().len(), 2);
}

async fn accounts_and_session_tokens(s: &Store) {
    let account = |name: &str| Account {
        name: name.into(),
        role: Role::TeamLead,
        password_hash: "$argon2id$fake".into(),
        created_by: "admin".into(),
        created_at: at(),
        disabled_at: None,
    };
    let mut tx = s.storage.begin().await.unwrap();
    tx.accounts().insert(&account("tara.lead")).await.unwrap();
    tx.accounts().insert(&account("ida.manager")).await.unwrap();
    assert!(matches!(tx.accounts().insert(&account("tara.lead")).await, Err(StorageError::Conflict)));
    drop(tx);
    let mut tx = s.storage.begin().await.unwrap();
    tx.accounts().insert(&account("tara.lead")).await.unwrap();
    tx.accounts().insert(&account("ida.manager")).await.unwrap();
    tx.accounts().insert_session("digest-1", "tara.lead", at(), at() + Duration::hours(12)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = s.storage.begin().await.unwrap();
    let names: Vec<String> = tx.accounts().list().await.unwrap().into_iter().map(|a| a.name).collect();
    assert_eq!(names, ["ida.manager", "tara.lead"]);
    assert_eq!(tx.accounts().get("tara.lead").await.unwrap().unwrap().role, Role::TeamLead);
    let valid = tx.accounts().session_account("digest-1", at() + Duration::hours(1)).await.unwrap();
    assert_eq!(valid.map(|a| a.name).as_deref(), Some("tara.lead"));
    assert!(tx.accounts().session_account("digest-1", at() + Duration::hours(13)).await.unwrap().is_none(), "expired");
    tx.accounts().delete_session("digest-1").await.unwrap();
    assert!(tx.accounts().session_account("digest-1", at()).await.unwrap().is_none(), "logged out");
}

fn staff(name: &str, role: Role) -> Account {
    Account {
        name: name.into(),
        role,
        password_hash: format!("$argon2id$fake-{name}"),
        created_by: "root".into(),
        created_at: at(),
        disabled_at: None,
    }
}

async fn accounts_change_and_go_only_as_they_were_read(s: &Store) {
    let mut tx = s.storage.begin().await.unwrap();
    for a in [staff("root", Role::Administrator), staff("ada", Role::Administrator), staff("tara", Role::TeamLead)] {
        tx.accounts().insert(&a).await.unwrap();
    }
    for (digest, account) in [("d-tara-1", "tara"), ("d-tara-2", "tara"), ("d-root", "root")] {
        tx.accounts().insert_session(digest, account, at(), at() + Duration::hours(12)).await.unwrap();
    }
    tx.commit().await.unwrap();
    let later = at() + Duration::hours(1);

    // Disabled: written with its instant; its sessions no longer name it.
    let mut tx = s.storage.begin().await.unwrap();
    let read = tx.accounts().get("tara").await.unwrap().unwrap();
    let mut disabled = read.clone();
    disabled.disabled_at = Some(later);
    tx.accounts().update(&read, &disabled).await.unwrap();
    assert!(tx.accounts().session_account("d-tara-1", later).await.unwrap().is_none(), "disabled");
    // A second write from the same reading is refused: the account is no longer as read.
    let mut other = read.clone();
    other.password_hash = "$argon2id$other".into();
    assert!(matches!(tx.accounts().update(&read, &other).await, Err(StorageError::Conflict)));
    assert!(matches!(tx.accounts().delete(&read).await, Err(StorageError::Conflict)));
    tx.commit().await.unwrap();

    let mut tx = s.storage.begin().await.unwrap();
    let stored = tx.accounts().get("tara").await.unwrap().unwrap();
    assert_eq!((stored.disabled_at, stored.password_hash.as_str()), (Some(later), "$argon2id$fake-tara"));
    assert_eq!(tx.accounts().enabled_administrators().await.unwrap(), ["ada", "root"]);
    // Enabled again with a new password: the guard holds a disabled_at too.
    let mut enabled = stored.clone();
    enabled.disabled_at = None;
    enabled.password_hash = "$argon2id$new".into();
    tx.accounts().update(&stored, &enabled).await.unwrap();
    assert_eq!(
        tx.accounts().session_account("d-tara-2", later).await.unwrap().map(|a| a.name).as_deref(),
        Some("tara")
    );
    // Its sessions end, other accounts' stay.
    tx.accounts().delete_sessions("tara").await.unwrap();
    assert!(tx.accounts().session_account("d-tara-2", later).await.unwrap().is_none());
    assert!(tx.accounts().session_account("d-root", later).await.unwrap().is_some());
    // Deleted with its sessions (they refer to it).
    tx.accounts().insert_session("d-tara-3", "tara", later, later + Duration::hours(12)).await.unwrap();
    let current = tx.accounts().get("tara").await.unwrap().unwrap();
    assert_eq!(current.password_hash, "$argon2id$new");
    assert!(matches!(tx.accounts().delete(&stored).await, Err(StorageError::Conflict)), "as read before the change");
    tx.accounts().delete(&current).await.unwrap();
    assert!(tx.accounts().get("tara").await.unwrap().is_none());
    assert!(tx.accounts().session_account("d-tara-3", later).await.unwrap().is_none());
    assert!(matches!(tx.accounts().update(&current, &enabled).await, Err(StorageError::Conflict)), "gone");
    tx.commit().await.unwrap();
    let names: Vec<String> =
        s.storage.read().await.unwrap().accounts().list().await.unwrap().into_iter().map(|a| a.name).collect();
    assert_eq!(names, ["ada", "root"]);
    // The name is free again.
    let mut tx = s.storage.begin().await.unwrap();
    tx.accounts().insert(&staff("tara", Role::IntegrationManager)).await.unwrap();
    tx.commit().await.unwrap();
}

async fn of_two_administrators_disabling_each_other_one_stays(s: &Store) {
    let mut tx = s.storage.begin().await.unwrap();
    tx.accounts().insert(&staff("root", Role::Administrator)).await.unwrap();
    tx.accounts().insert(&staff("ada", Role::Administrator)).await.unwrap();
    tx.commit().await.unwrap();
    // Each unit disables the other administrator if, by the domain's rule, one is left. Whatever
    // the interleaving, one enabled administrator stays.
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let mut tasks = Vec::new();
    for target in ["root", "ada"] {
        let (storage, barrier) = (s.storage.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let mut tx = storage.begin().await?;
            let read = tx.accounts().get(target).await?.unwrap();
            // SQLite serialises writers at `begin`; PostgreSQL lets both read before either locks.
            let _ = tokio::time::timeout(std::time::Duration::from_millis(300), barrier.wait()).await;
            let administrators = tx.accounts().enabled_administrators().await?;
            if staffel::domain::staff::keeps_an_administrator(&read, &administrators, false).is_err() {
                return Ok(false);
            }
            let mut disabled = read.clone();
            disabled.disable(at()).unwrap();
            tx.accounts().update(&read, &disabled).await?;
            // Give the other unit time to run into the lock before this one commits.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            tx.commit().await?;
            Ok::<_, StorageError>(true)
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    assert_eq!(outcomes.iter().filter(|o| matches!(o, Ok(true))).count(), 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| o.is_ok()), "{outcomes:?}");
    let left = s.storage.begin().await.unwrap().accounts().enabled_administrators().await.unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
}

async fn a_unit_of_work_dropped_without_commit_leaves_nothing(s: &Store) {
    let c = client("Testa", "Beispiel", today());
    let grant = consent_for(&c);
    let mut tx = s.storage.begin().await.unwrap();
    tx.clients().insert(&c).await.unwrap();
    tx.consents().insert(&grant).await.unwrap();
    tx.audit().append(&[AuditEntry::new(at(), "im", Access::Write, "client", Some(c.id))]).await.unwrap();
    // Within the unit, its own writes are visible ...
    assert!(tx.clients().get(c.id).await.unwrap().is_some());
    drop(tx);
    // ... and gone with it.
    let mut tx = s.storage.read().await.unwrap();
    assert!(tx.clients().get(c.id).await.unwrap().is_none());
    assert!(tx.consents().get(grant.id).await.unwrap().is_none());
    assert!(tx.audit().for_client(c.id, None, 10).await.unwrap().is_empty());
    assert!(tx.clients().page(&ClientQuery { limit: 10, ..Default::default() }).await.unwrap().is_empty());
}

async fn concurrent_writers_never_lose_an_update(s: &Store) {
    let c = saved_client(s, "Testa", "Beispiel", today() - Duration::days(30)).await;
    let author = |who: &str| Author { office: office(STUTTGART), account: who.into() };
    // Two writers each read the record, wait for the other to have read it too (where the
    // backend lets them), add a goal, and commit. Whatever the interleaving, either both goals
    // are in the record or the later writer was refused: never is one silently overwritten.
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let mut tasks = Vec::new();
    for who in ["im-a", "im-b"] {
        let (storage, barrier, author) = (s.storage.clone(), barrier.clone(), author(who));
        tasks.push(tokio::spawn(async move {
            let mut tx = storage.begin().await?;
            let mut record = tx.clients().get(c.id).await?.unwrap();
            // SQLite serialises writers at `begin`; PostgreSQL lets both read before either writes.
            let _ = tokio::time::timeout(std::time::Duration::from_millis(300), barrier.wait()).await;
            let draft = GoalDraft {
                area: GoalArea::Work,
                description: Text::parse(&author.account, "d").unwrap(),
                steps: vec![],
                responsible: Responsible::Client,
                target_date: None,
            };
            record.add_goal(draft, &author, today(), t0()).unwrap();
            tx.clients().update(&mut record).await?;
            tx.commit().await
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    let goals = s.storage.read().await.unwrap().clients().get(c.id).await.unwrap().unwrap().plan.goals.len();
    let committed = outcomes.iter().filter(|o| o.is_ok()).count();
    assert!(committed >= 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| o.is_ok() || matches!(o, Err(StorageError::Conflict))), "{outcomes:?}");
    assert_eq!(goals, committed, "every committed write is in the record: {outcomes:?}");
    if s.url.starts_with("postgres") {
        // Both read the same version: the second writer is refused.
        assert_eq!(committed, 1, "{outcomes:?}");
    }
}
