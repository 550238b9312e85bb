-- Staffel, PostgreSQL: the whole schema (the SQLite migrations reach the same state in steps).
-- Ids are uuid, instants timestamptz, dates date, structured parts jsonb documents owned by the
-- domain types. Every record a use case changes has a version, the optimistic guard against
-- concurrent writers. Sort keys and search terms compare byte-wise (COLLATE "C"), as on SQLite.

CREATE TABLE clients (
    id                 uuid PRIMARY KEY,
    case_id            uuid NOT NULL UNIQUE,
    given_name         text NOT NULL,
    family_name        text NOT NULL,
    date_of_birth      date NOT NULL,
    first_session      date NOT NULL,
    extensions         jsonb NOT NULL,
    last_day           date NOT NULL,
    plan               jsonb NOT NULL,
    status             text NOT NULL CHECK (status IN ('active', 'moved-out')),
    moved_to           text,
    moved_at           timestamptz,
    received_from      text,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    eligibility        jsonb,
    participation      jsonb NOT NULL,
    household_id       uuid,
    pending_extensions jsonb NOT NULL,
    sort_key           text COLLATE "C" NOT NULL,
    taking_part        boolean NOT NULL,
    version            bigint NOT NULL
);

CREATE INDEX clients_sort ON clients (sort_key, id);
CREATE INDEX clients_active_sort ON clients (status, sort_key, id);
CREATE INDEX clients_ending ON clients (status, taking_part, last_day);
CREATE INDEX clients_household ON clients (household_id) WHERE household_id IS NOT NULL;

-- The folded words of every client's names (domain::search), for prefix search.
CREATE TABLE client_terms (
    term      text COLLATE "C" NOT NULL,
    client_id uuid NOT NULL REFERENCES clients (id),
    PRIMARY KEY (term, client_id)
);
CREATE INDEX client_terms_client ON client_terms (client_id);

CREATE TABLE sessions (
    id          uuid PRIMARY KEY,
    client_id   uuid NOT NULL REFERENCES clients (id),
    date        date NOT NULL,
    note        text NOT NULL,
    recorded_by text NOT NULL,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX sessions_client ON sessions (client_id, date);

CREATE TABLE consents (
    id           uuid PRIMARY KEY,
    client_id    uuid NOT NULL REFERENCES clients (id),
    recipient    text NOT NULL,
    categories   jsonb NOT NULL,
    legal_bases  jsonb NOT NULL,
    given_at     timestamptz NOT NULL,
    witnessed_by text NOT NULL,
    withdrawn_at timestamptz,
    version      bigint NOT NULL
);
CREATE INDEX consents_client ON consents (client_id);

-- Every signed message this office sends, until the receiver's receipt is in.
CREATE TABLE outbox (
    message_id      uuid PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('handover', 'decision')),
    destination     text NOT NULL,
    jws             text NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    attempts        integer NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    delivered_at    timestamptz,
    receipt         text,
    failed_at       timestamptz,
    last_error      text,
    version         bigint NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;

CREATE TABLE outgoing_handovers (
    id             uuid PRIMARY KEY,
    client_id      uuid NOT NULL REFERENCES clients (id),
    receiver       text NOT NULL,
    consent_id     uuid NOT NULL REFERENCES consents (id),
    state          text NOT NULL CHECK (state IN ('draft', 'approved', 'delivered', 'rejected', 'cancelled', 'accepted', 'declined')),
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL,
    approved_by    text,
    approved_at    timestamptz,
    decided_at     timestamptz,
    decline_reason text,
    updated_at     timestamptz NOT NULL,
    version        bigint NOT NULL
);
CREATE INDEX outgoing_client ON outgoing_handovers (client_id);
CREATE INDEX outgoing_consent ON outgoing_handovers (consent_id);
-- One case, one active office: at most one open handover per client.
CREATE UNIQUE INDEX outgoing_one_open_per_client ON outgoing_handovers (client_id)
    WHERE state IN ('draft', 'approved', 'delivered');

-- Every signed message received and acknowledged, with the exact bytes and our receipt.
CREATE TABLE inbox (
    message_id  uuid PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('handover', 'decision')),
    sender      text NOT NULL,
    sha256      text NOT NULL,
    jws         text NOT NULL,
    receipt     text NOT NULL,
    received_at timestamptz NOT NULL
);

CREATE TABLE incoming_handovers (
    message_id     uuid PRIMARY KEY REFERENCES inbox (message_id),
    sender         text NOT NULL,
    received_at    timestamptz NOT NULL,
    payload        jsonb NOT NULL,
    state          text NOT NULL CHECK (state IN ('received', 'accepted', 'declined')),
    decided_by     text,
    decided_at     timestamptz,
    decline_reason text,
    client_id      uuid REFERENCES clients (id),
    decision_id    uuid REFERENCES outbox (message_id),
    given_name     text NOT NULL,
    family_name    text NOT NULL,
    date_of_birth  date NOT NULL,
    first_session  date NOT NULL,
    last_day       date NOT NULL,
    version        bigint NOT NULL
);
CREATE INDEX incoming_newest ON incoming_handovers (received_at DESC, message_id DESC);
CREATE INDEX incoming_state_newest ON incoming_handovers (state, received_at DESC, message_id DESC);

CREATE TABLE accounts (
    name          text PRIMARY KEY,
    role          text NOT NULL CHECK (role IN ('integration-manager', 'team-lead', 'administrator')),
    password_hash text NOT NULL,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL,
    disabled_at   timestamptz
);

CREATE TABLE session_tokens (
    digest     text PRIMARY KEY,
    account    text NOT NULL REFERENCES accounts (name),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX session_tokens_account ON session_tokens (account);

-- Append-only: who did what to which client's data, when. No content, only the kind of access.
CREATE TABLE audit_log (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL,
    account   text NOT NULL,
    action    text NOT NULL,
    client_id uuid
);
CREATE INDEX audit_client ON audit_log (client_id, id);

-- The records an audit entry of a list showed.
CREATE TABLE audit_subjects (
    audit_id bigint NOT NULL REFERENCES audit_log (id),
    subject  uuid NOT NULL,
    PRIMARY KEY (audit_id, subject)
);
CREATE INDEX audit_subjects_subject ON audit_subjects (subject);

CREATE FUNCTION staffel_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION staffel_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION staffel_append_only();
CREATE TRIGGER audit_subjects_append_only BEFORE UPDATE OR DELETE ON audit_subjects
    FOR EACH ROW EXECUTE FUNCTION staffel_append_only();
CREATE TRIGGER audit_subjects_no_truncate BEFORE TRUNCATE ON audit_subjects
    FOR EACH STATEMENT EXECUTE FUNCTION staffel_append_only();
