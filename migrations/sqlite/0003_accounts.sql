-- Integration manager accounts with roles and argon2 password hashes, their session tokens
-- (stored as SHA-256 digests only), and extension requests awaiting a second person.

CREATE TABLE accounts (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('integration-manager', 'team-lead', 'administrator')),
    password_hash TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    disabled_at   TEXT
) STRICT;

CREATE TABLE session_tokens (
    digest     TEXT PRIMARY KEY,
    account    TEXT NOT NULL REFERENCES accounts (name),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;

CREATE INDEX session_tokens_account ON session_tokens (account);

ALTER TABLE clients ADD COLUMN pending_extensions TEXT NOT NULL DEFAULT '[]';
