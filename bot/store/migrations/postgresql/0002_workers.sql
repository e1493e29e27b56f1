-- As SQLite's 0008: claims on notices, and the access token every worker shares.
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;

CREATE TABLE access_tokens (
    app_id     TEXT PRIMARY KEY,
    token      TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
