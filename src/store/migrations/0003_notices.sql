-- 0003_notices: incident notices posted by support leads. Scope lists (intents, coins,
-- networks, keywords) and texts per language are JSON, timestamps unix milliseconds.
-- A notice is active while resolved_at_ms is NULL and expires_at_ms is in the future.
-- Ids are N-000001, N-000002... from the `notice` row of `counters`.
-- The counters are incremented in place by every replica (UPDATE ... SET n = n + 1).

INSERT INTO counters (name, value) VALUES ('notice', 0);

CREATE TABLE notices (
    id TEXT PRIMARY KEY,
    intents_json TEXT NOT NULL,
    coins_json TEXT NOT NULL,
    networks_json TEXT NOT NULL,
    keywords_json TEXT NOT NULL,
    texts_json TEXT NOT NULL,
    severity TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    resolved_at_ms BIGINT,
    closing_texts_json TEXT,
    shown BIGINT NOT NULL,
    answered BIGINT NOT NULL,
    asked_for_person BIGINT NOT NULL
);

CREATE INDEX notices_active ON notices (resolved_at_ms, expires_at_ms);
