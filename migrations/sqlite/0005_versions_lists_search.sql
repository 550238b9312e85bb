-- Units of work: every record a use case changes carries a version, the optimistic guard against
-- concurrent writers. Lists: the columns a list shows, kept beside the record (and backfilled
-- here), keyset indexes, and the name search terms of every client. Audit entries of lists name
-- the records they showed.

ALTER TABLE consents ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outgoing_handovers ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incoming_handovers ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

-- Clients: the key lists are ordered by (folded family and given name; filled in by the
-- application when it opens a database migrated from an older version) and whether the client
-- takes part (no exit without re-entry).
ALTER TABLE clients ADD COLUMN sort_key TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN taking_part INTEGER NOT NULL DEFAULT 1;
UPDATE clients SET taking_part = CASE WHEN json_extract(participation, '$[#-1].kind') = 'exit' THEN 0 ELSE 1 END;
CREATE INDEX clients_sort ON clients (sort_key, id);
CREATE INDEX clients_active_sort ON clients (status, sort_key, id);
CREATE INDEX clients_ending ON clients (status, taking_part, last_day);

-- The folded words of every client's names (domain::search), for prefix search.
CREATE TABLE client_terms (
    term      TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id),
    PRIMARY KEY (term, client_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX client_terms_client ON client_terms (client_id);

-- Received handovers: what their list shows, beside the payload.
ALTER TABLE incoming_handovers ADD COLUMN given_name TEXT NOT NULL DEFAULT '';
ALTER TABLE incoming_handovers ADD COLUMN family_name TEXT NOT NULL DEFAULT '';
ALTER TABLE incoming_handovers ADD COLUMN date_of_birth TEXT NOT NULL DEFAULT '';
ALTER TABLE incoming_handovers ADD COLUMN first_session TEXT NOT NULL DEFAULT '';
ALTER TABLE incoming_handovers ADD COLUMN last_day TEXT NOT NULL DEFAULT '';
UPDATE incoming_handovers SET
    given_name = json_extract(payload, '$.case.client.given_name'),
    family_name = json_extract(payload, '$.case.client.family_name'),
    date_of_birth = json_extract(payload, '$.case.client.date_of_birth'),
    first_session = json_extract(payload, '$.case.window.first_session'),
    last_day = json_extract(payload, '$.case.window.last_day');
CREATE INDEX incoming_newest ON incoming_handovers (received_at DESC, message_id DESC);
CREATE INDEX incoming_state_newest ON incoming_handovers (state, received_at DESC, message_id DESC);
CREATE INDEX outgoing_consent ON outgoing_handovers (consent_id);

-- The records an audit entry of a list showed.
CREATE TABLE audit_subjects (
    audit_id INTEGER NOT NULL REFERENCES audit_log (id),
    subject  TEXT NOT NULL,
    PRIMARY KEY (audit_id, subject)
) STRICT, WITHOUT ROWID;
CREATE INDEX audit_subjects_subject ON audit_subjects (subject);

CREATE TRIGGER audit_subjects_no_update BEFORE UPDATE ON audit_subjects
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_subjects_no_delete BEFORE DELETE ON audit_subjects
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
