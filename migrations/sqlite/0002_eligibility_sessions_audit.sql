-- Eligibility, participation (exit and re-entry), households, counselling sessions, and the
-- audit log of every read and write of a client's data.

-- JSON documents of the domain types; eligibility is NULL for a client received by handover
-- until the receiving office records it.
ALTER TABLE clients ADD COLUMN eligibility TEXT;
ALTER TABLE clients ADD COLUMN participation TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN household_id TEXT;

CREATE INDEX clients_household ON clients (household_id) WHERE household_id IS NOT NULL;
CREATE INDEX clients_family_name ON clients (family_name COLLATE NOCASE);

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES clients (id),
    date        TEXT NOT NULL,
    note        TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
) STRICT;

CREATE INDEX sessions_client ON sessions (client_id, date);

-- Append-only: who did what to which client's data, when. No content, only the kind of access.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    account   TEXT NOT NULL,
    action    TEXT NOT NULL,
    client_id TEXT
) STRICT;

CREATE INDEX audit_client ON audit_log (client_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
