-- 0004_turns: the outcome of every customer turn sent with a client message id, so a
-- client retrying the same message (same conversation, same id) gets the first outcome
-- back instead of a second message. The turn's events are the conversation's events
-- with first_event_seq <= seq <= last_event_seq (a turn's events are numbered
-- consecutively: the event counter row stays locked until the turn commits).
CREATE TABLE turns (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    client_message_id TEXT NOT NULL,
    first_event_seq BIGINT NOT NULL,
    last_event_seq BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, client_message_id)
);
