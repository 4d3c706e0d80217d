-- Initial schema. Every table lives inside the SQLCipher-encrypted file.

-- Deployment settings and secrets wrapped with a key derived from the database key
-- (the template rotation matrix, its generation, the verdict sequence counter).
CREATE TABLE meta (
    key        TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Face templates after the secret orthogonal rotation (float32 little-endian).
-- AUTOINCREMENT: ids are never reused, so the index can use "id > watermark" for its delta.
CREATE TABLE templates (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    vendor_data    TEXT,
    session_id     TEXT,  -- the session that enrolled it (no foreign key: sessions are pruned)
    kind           TEXT NOT NULL CHECK (kind IN ('enrolled', 'blocklist')),
    reason         TEXT,
    template       BLOB NOT NULL,
    key_generation INTEGER NOT NULL,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CHECK (kind = 'blocklist' OR vendor_data IS NOT NULL)
);
CREATE INDEX templates_vendor_data ON templates (vendor_data);
CREATE INDEX templates_kind_id ON templates (kind, id);

-- One row per verification session (the session engine fills data with its JSON state).
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    vendor_data TEXT,
    workflow_id TEXT,
    status      TEXT NOT NULL,
    data        TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX sessions_vendor_data ON sessions (vendor_data);

-- Signed verdicts; the verdict exists here before it is shown to the person.
CREATE TABLE verdicts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id      TEXT REFERENCES sessions (id) ON DELETE CASCADE,
    sequence        INTEGER NOT NULL UNIQUE,
    idempotency_key TEXT NOT NULL UNIQUE,
    verdict_json    TEXT NOT NULL,
    signature       TEXT,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX verdicts_session ON verdicts (session_id);

-- Durable outbox: a row is deleted (or stamped sent_at) only after the broker's PUBACK.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    verdict_id      INTEGER REFERENCES verdicts (id) ON DELETE CASCADE,
    topic           TEXT NOT NULL,
    payload         BLOB NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    sent_at         TEXT
);
CREATE INDEX outbox_unsent ON outbox (sent_at, id);
