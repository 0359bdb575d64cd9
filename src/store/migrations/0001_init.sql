-- 0001_init: the whole initial schema, written once for SQLite and PostgreSQL.
-- Portable types only: TEXT ids and JSON, BIGINT unix milliseconds and numbers,
-- DOUBLE PRECISION for the NLU confidence. No autoincrement: sequence numbers and
-- ticket numbers come from the `counters` table (row-locked increments), so no
-- per-dialect DDL is needed.
-- The runner splits this file on semicolons after removing comment lines:
-- keep semicolons out of comments and string literals.

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

INSERT INTO counters (name, value) VALUES ('ticket', 0);
INSERT INTO counters (name, value) VALUES ('event', 0);

CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    customer_ref TEXT,
    state_json TEXT NOT NULL,
    lang TEXT NOT NULL,
    message_count BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE INDEX conversations_customer_ref ON conversations (customer_ref);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    seq BIGINT NOT NULL,
    sender TEXT NOT NULL,
    text TEXT NOT NULL,
    meta_json TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    UNIQUE (conversation_id, seq)
);

CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    capacity BIGINT NOT NULL,
    online BIGINT NOT NULL,
    active_tickets BIGINT NOT NULL,
    presence_changed_at_ms BIGINT
);

CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    intent TEXT NOT NULL,
    confidence DOUBLE PRECISION NOT NULL,
    language TEXT NOT NULL,
    priority BIGINT NOT NULL,
    state TEXT NOT NULL,
    agent_id TEXT REFERENCES agents (id),
    details_json TEXT NOT NULL,
    transcript_json TEXT NOT NULL,
    note_count BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    assigned_at_ms BIGINT,
    closed_at_ms BIGINT,
    updated_at_ms BIGINT NOT NULL
);

CREATE UNIQUE INDEX tickets_one_open_per_conversation
    ON tickets (conversation_id) WHERE state IN ('waiting', 'assigned');
CREATE INDEX tickets_queue ON tickets (state, priority, created_at_ms);
CREATE INDEX tickets_agent ON tickets (agent_id, state);
CREATE INDEX tickets_closed ON tickets (state, closed_at_ms);

CREATE TABLE events (
    seq BIGINT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    ticket_id TEXT REFERENCES tickets (id),
    kind TEXT NOT NULL,
    payload_json TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE INDEX events_conversation_seq ON events (conversation_id, seq);

CREATE TABLE notes (
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    seq BIGINT NOT NULL,
    agent_id TEXT NOT NULL REFERENCES agents (id),
    text TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, seq)
);

CREATE TABLE ratings (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    ticket_id TEXT REFERENCES tickets (id),
    score BIGINT NOT NULL,
    comment TEXT,
    created_at_ms BIGINT NOT NULL
);

CREATE INDEX ratings_conversation ON ratings (conversation_id);
