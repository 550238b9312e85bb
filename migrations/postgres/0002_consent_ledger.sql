-- The consent ledger and what the client's own consent needs (as migrations/sqlite/0006).

ALTER TABLE consents
    ADD COLUMN text_id text NOT NULL DEFAULT '(before texts were kept)',
    ADD COLUMN text_version text NOT NULL DEFAULT '0',
    ADD COLUMN text_language text NOT NULL DEFAULT 'de',
    ADD COLUMN text_sha256 text NOT NULL DEFAULT '',
    ADD COLUMN method jsonb NOT NULL DEFAULT '{"kind":"on-screen"}',
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN ended jsonb,
    ADD COLUMN withdrawal_code_sha256 text;
-- Consents withdrawn before this migration: withdrawn at the office (who recorded it is not known).
UPDATE consents SET ended = '{"kind":"withdrawn","via":"office","recorded_by":"(before the ledger)"}'
    WHERE withdrawn_at IS NOT NULL;
CREATE UNIQUE INDEX consents_withdrawal_code ON consents (withdrawal_code_sha256)
    WHERE withdrawal_code_sha256 IS NOT NULL;

CREATE TABLE consent_requests (
    token_sha256 text PRIMARY KEY,
    client_id    uuid NOT NULL REFERENCES clients (id),
    recipient    text NOT NULL,
    categories   jsonb NOT NULL,
    language     text NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    consent_expires_at timestamptz,
    consent_id   uuid REFERENCES consents (id),
    version      bigint NOT NULL
);

CREATE TABLE ledger (
    seq        bigint PRIMARY KEY,
    at         timestamptz NOT NULL,
    prev       text NOT NULL,
    hash       text NOT NULL UNIQUE,
    kind       text NOT NULL,
    client_id  uuid,
    consent_id uuid,
    canonical  text NOT NULL
);
CREATE INDEX ledger_client ON ledger (client_id, seq) WHERE client_id IS NOT NULL;
CREATE INDEX ledger_consent ON ledger (consent_id, seq) WHERE consent_id IS NOT NULL;

CREATE FUNCTION staffel_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the consent ledger is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION staffel_ledger_append_only();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION staffel_ledger_append_only();

CREATE TABLE peer_heads (
    office      text NOT NULL,
    seq         bigint NOT NULL,
    hash        text NOT NULL,
    message_id  uuid NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (office, seq, message_id)
);

ALTER TABLE clients ADD COLUMN restricted jsonb;

ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check,
    ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('handover', 'decision', 'withdrawal'));
ALTER TABLE inbox DROP CONSTRAINT inbox_kind_check,
    ADD CONSTRAINT inbox_kind_check CHECK (kind IN ('handover', 'decision', 'withdrawal'));
ALTER TABLE incoming_handovers DROP CONSTRAINT incoming_handovers_state_check,
    ADD CONSTRAINT incoming_handovers_state_check CHECK (state IN ('received', 'accepted', 'declined', 'withdrawn')),
    ADD COLUMN consent_id uuid;
UPDATE incoming_handovers SET consent_id = (payload #>> '{case,consent,consent_id}')::uuid;
ALTER TABLE incoming_handovers ALTER COLUMN consent_id SET NOT NULL;
CREATE INDEX incoming_consent ON incoming_handovers (consent_id);
ALTER TABLE outgoing_handovers DROP CONSTRAINT outgoing_handovers_state_check,
    ADD CONSTRAINT outgoing_handovers_state_check CHECK (state IN ('draft', 'approved', 'delivered', 'rejected', 'cancelled', 'accepted', 'declined', 'withdrawn'));

-- A client whose personal data was erased: the id stays known as erased (the ledger and the
-- audit log still name it), nothing else of the record.
CREATE TABLE erasures (
    client_id uuid PRIMARY KEY,
    erased_at timestamptz NOT NULL
);
