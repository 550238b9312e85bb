-- Staffel, SQLite: the first schema. Timestamps are RFC 3339 UTC with microseconds (fixed width,
-- so they compare as text); dates are YYYY-MM-DD; structured parts (extensions, plan, consent
-- categories, received payloads) are JSON documents owned by the domain types.

CREATE TABLE clients (
    id            TEXT PRIMARY KEY,
    case_id       TEXT NOT NULL UNIQUE,
    given_name    TEXT NOT NULL,
    family_name   TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    first_session TEXT NOT NULL,
    extensions    TEXT NOT NULL,
    last_day      TEXT NOT NULL,
    plan          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'moved-out')),
    moved_to      TEXT,
    moved_at      TEXT,
    received_from TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    version       INTEGER NOT NULL
) STRICT;

CREATE INDEX clients_last_day ON clients (last_day);

CREATE TABLE consents (
    id           TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL REFERENCES clients (id),
    recipient    TEXT NOT NULL,
    categories   TEXT NOT NULL,
    legal_bases  TEXT NOT NULL,
    given_at     TEXT NOT NULL,
    witnessed_by TEXT NOT NULL,
    withdrawn_at TEXT
) STRICT;

CREATE INDEX consents_client ON consents (client_id);

-- Every signed message this office sends, until the receiver's receipt is in.
CREATE TABLE outbox (
    message_id      TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('handover', 'decision')),
    destination     TEXT NOT NULL,
    jws             TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    delivered_at    TEXT,
    receipt         TEXT,
    failed_at       TEXT,
    last_error      TEXT
) STRICT;

CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;

CREATE TABLE outgoing_handovers (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES clients (id),
    receiver       TEXT NOT NULL,
    consent_id     TEXT NOT NULL REFERENCES consents (id),
    state          TEXT NOT NULL CHECK (state IN ('draft', 'approved', 'delivered', 'rejected', 'cancelled', 'accepted', 'declined')),
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    approved_by    TEXT,
    approved_at    TEXT,
    decided_at     TEXT,
    decline_reason TEXT,
    updated_at     TEXT NOT NULL
) STRICT;

CREATE INDEX outgoing_client ON outgoing_handovers (client_id);

-- Every signed message received and acknowledged, with the exact bytes and our receipt.
CREATE TABLE inbox (
    message_id  TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('handover', 'decision')),
    sender      TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    jws         TEXT NOT NULL,
    receipt     TEXT NOT NULL,
    received_at TEXT NOT NULL
) STRICT;

CREATE TABLE incoming_handovers (
    message_id     TEXT PRIMARY KEY REFERENCES inbox (message_id),
    sender         TEXT NOT NULL,
    received_at    TEXT NOT NULL,
    payload        TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('received', 'accepted', 'declined')),
    decided_by     TEXT,
    decided_at     TEXT,
    decline_reason TEXT,
    client_id      TEXT REFERENCES clients (id),
    decision_id    TEXT REFERENCES outbox (message_id)
) STRICT;
