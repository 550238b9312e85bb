-- The consent ledger and what the client's own consent needs: consents with the text shown and
-- how they were given; one-time consent pages; the ledger, append-only and hash-chained; the
-- ledger heads other offices signed; withdrawal as a message and as a state of handovers; the
-- restriction of a record whose basis was withdrawn.

-- Consents: the text shown (id, version, language, SHA-256), how it was given, an optional
-- expiry, why it ended, and the digest of the withdrawal code on the client's receipt.
ALTER TABLE consents ADD COLUMN text_id TEXT NOT NULL DEFAULT '(before texts were kept)';
ALTER TABLE consents ADD COLUMN text_version TEXT NOT NULL DEFAULT '0';
ALTER TABLE consents ADD COLUMN text_language TEXT NOT NULL DEFAULT 'de';
ALTER TABLE consents ADD COLUMN text_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE consents ADD COLUMN method TEXT NOT NULL DEFAULT '{"kind":"on-screen"}';
ALTER TABLE consents ADD COLUMN expires_at TEXT;
ALTER TABLE consents ADD COLUMN ended TEXT;
-- Consents withdrawn before this migration: withdrawn at the office (who recorded it is not known).
UPDATE consents SET ended = '{"kind":"withdrawn","via":"office","recorded_by":"(before the ledger)"}'
    WHERE withdrawn_at IS NOT NULL;
ALTER TABLE consents ADD COLUMN withdrawal_code_sha256 TEXT;
CREATE UNIQUE INDEX consents_withdrawal_code ON consents (withdrawal_code_sha256)
    WHERE withdrawal_code_sha256 IS NOT NULL;

-- A consent page a client opens through a one-time link (the token kept as its SHA-256).
CREATE TABLE consent_requests (
    token_sha256 TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL REFERENCES clients (id),
    recipient    TEXT NOT NULL,
    categories   TEXT NOT NULL,
    language     TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    consent_expires_at TEXT,
    consent_id   TEXT REFERENCES consents (id),
    version      INTEGER NOT NULL
) STRICT;

-- The ledger: one row per entry; `canonical` is the RFC 8785 form its hash covers. The other
-- columns repeat what the canonical form says, for queries; verification checks they agree.
CREATE TABLE ledger (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    prev       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    client_id  TEXT,
    consent_id TEXT,
    canonical  TEXT NOT NULL
) STRICT;
CREATE INDEX ledger_client ON ledger (client_id, seq) WHERE client_id IS NOT NULL;
CREATE INDEX ledger_consent ON ledger (consent_id, seq) WHERE consent_id IS NOT NULL;

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'the consent ledger is append-only');
END;

CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'the consent ledger is append-only');
END;

-- The ledger heads other offices signed into their messages: what this office can hold them to.
CREATE TABLE peer_heads (
    office      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (office, seq, message_id)
) STRICT;

-- A record whose basis was withdrawn after it was taken over: processing restricted (GDPR
-- Art. 18) until the client consents at this office.
ALTER TABLE clients ADD COLUMN restricted TEXT;

-- Withdrawal messages travel through the outbox and the inbox, and handovers get a state for
-- it: the tables with those CHECK constraints are rebuilt (SQLite cannot change a CHECK).
CREATE TABLE outbox_new (
    message_id      TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('handover', 'decision', 'withdrawal')),
    destination     TEXT NOT NULL,
    jws             TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    delivered_at    TEXT,
    receipt         TEXT,
    failed_at       TEXT,
    last_error      TEXT,
    version         INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO outbox_new SELECT message_id, kind, destination, jws, created_at, expires_at, attempts, next_attempt_at,
    delivered_at, receipt, failed_at, last_error, version FROM outbox;

CREATE TABLE inbox_new (
    message_id  TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('handover', 'decision', 'withdrawal')),
    sender      TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    jws         TEXT NOT NULL,
    receipt     TEXT NOT NULL,
    received_at TEXT NOT NULL
) STRICT;
INSERT INTO inbox_new SELECT message_id, kind, sender, sha256, jws, receipt, received_at FROM inbox;

CREATE TABLE incoming_new (
    message_id     TEXT PRIMARY KEY REFERENCES inbox_new (message_id),
    sender         TEXT NOT NULL,
    received_at    TEXT NOT NULL,
    payload        TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('received', 'accepted', 'declined', 'withdrawn')),
    decided_by     TEXT,
    decided_at     TEXT,
    decline_reason TEXT,
    client_id      TEXT REFERENCES clients (id),
    decision_id    TEXT REFERENCES outbox_new (message_id),
    version        INTEGER NOT NULL DEFAULT 0,
    given_name     TEXT NOT NULL DEFAULT '',
    family_name    TEXT NOT NULL DEFAULT '',
    date_of_birth  TEXT NOT NULL DEFAULT '',
    first_session  TEXT NOT NULL DEFAULT '',
    last_day       TEXT NOT NULL DEFAULT '',
    consent_id     TEXT NOT NULL DEFAULT ''
) STRICT;
INSERT INTO incoming_new SELECT message_id, sender, received_at, payload, state, decided_by, decided_at, decline_reason,
    client_id, decision_id, version, given_name, family_name, date_of_birth, first_session, last_day,
    COALESCE(json_extract(payload, '$.case.consent.consent_id'), '') FROM incoming_handovers;

CREATE TABLE outgoing_new (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES clients (id),
    receiver       TEXT NOT NULL,
    consent_id     TEXT NOT NULL REFERENCES consents (id),
    state          TEXT NOT NULL CHECK (state IN ('draft', 'approved', 'delivered', 'rejected', 'cancelled', 'accepted', 'declined', 'withdrawn')),
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    approved_by    TEXT,
    approved_at    TEXT,
    decided_at     TEXT,
    decline_reason TEXT,
    updated_at     TEXT NOT NULL,
    version        INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO outgoing_new SELECT id, client_id, receiver, consent_id, state, created_by, created_at, approved_by,
    approved_at, decided_at, decline_reason, updated_at, version FROM outgoing_handovers;

DROP TABLE incoming_handovers;
DROP TABLE outgoing_handovers;
DROP TABLE outbox;
DROP TABLE inbox;
ALTER TABLE outbox_new RENAME TO outbox;
ALTER TABLE inbox_new RENAME TO inbox;
ALTER TABLE incoming_new RENAME TO incoming_handovers;
ALTER TABLE outgoing_new RENAME TO outgoing_handovers;

CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX incoming_newest ON incoming_handovers (received_at DESC, message_id DESC);
CREATE INDEX incoming_state_newest ON incoming_handovers (state, received_at DESC, message_id DESC);
CREATE INDEX incoming_consent ON incoming_handovers (consent_id);
CREATE INDEX outgoing_client ON outgoing_handovers (client_id);
CREATE INDEX outgoing_consent ON outgoing_handovers (consent_id);
CREATE UNIQUE INDEX outgoing_one_open_per_client ON outgoing_handovers (client_id)
    WHERE state IN ('draft', 'approved', 'delivered');

-- A client whose personal data was erased: the id stays known as erased (the ledger and the
-- audit log still name it), nothing else of the record.
CREATE TABLE erasures (
    client_id TEXT PRIMARY KEY,
    erased_at TEXT NOT NULL
) STRICT;
