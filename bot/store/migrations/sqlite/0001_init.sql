-- Residents who have written to the official account.
CREATE TABLE residents (
    openid          TEXT PRIMARY KEY,
    active          INTEGER NOT NULL DEFAULT 1,
    first_seen      TEXT NOT NULL,
    last_message_at TEXT NOT NULL,          -- opens WeChat's 48-hour customer-service window
    unsubscribed_at TEXT
);

-- One dialog per resident at most; expired rows are ignored and replaced.
CREATE TABLE dialogs (
    openid     TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    updated_at TEXT NOT NULL
);

-- 首问登记: every question, what it matched and what the bot decided.
CREATE TABLE inquiries (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    openid   TEXT NOT NULL,
    question TEXT NOT NULL,
    intent   TEXT NOT NULL,
    guide    TEXT,
    score    REAL,
    decision TEXT NOT NULL,
    at       TEXT NOT NULL
);
CREATE INDEX inquiries_at ON inquiries(at);
CREATE INDEX inquiries_decision ON inquiries(decision, at);

-- Messages already taken, so a WeChat retry is answered from here and not handled twice.
CREATE TABLE processed_messages (
    key        TEXT PRIMARY KEY,
    openid     TEXT NOT NULL,
    reply      TEXT,                        -- NULL while the first delivery is being handled
    created_at TEXT NOT NULL
);
CREATE INDEX processed_messages_created ON processed_messages(created_at);

-- Residents who asked for a person and are waiting to be called back.
CREATE TABLE handoff_requests (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    openid     TEXT NOT NULL,
    question   TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'waiting',
    created_at TEXT NOT NULL
);

-- Notices to residents, written in the same transaction as what caused them.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    openid     TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    TEXT NOT NULL,
    sent_at    TEXT,
    dead_at    TEXT,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox(sent_at, dead_at, next_at);
