-- Several workers: a pusher claims a notice for a while before sending it, and the WeChat access
-- token is kept where every worker finds it (WeChat invalidates a token when a new one is taken).
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;

CREATE TABLE access_tokens (
    app_id     TEXT PRIMARY KEY,
    token      TEXT NOT NULL,
    expires_at TEXT NOT NULL
)
