-- 转人工 as a conversation: the resident and a clerk write to each other until it is closed.
-- status: waiting (no clerk yet) | open (a clerk took it) | closed. One conversation at a time
-- per resident (the partial unique index), whichever worker opens it.
CREATE TABLE handoffs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    openid         TEXT NOT NULL,
    center         TEXT,
    status         TEXT NOT NULL DEFAULT 'waiting',
    question       TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    last_at        TEXT NOT NULL,
    taken_by       TEXT,
    taken_at       TEXT,
    first_reply_at TEXT,
    told_wait      INTEGER NOT NULL DEFAULT 0,
    wait_over_at   TEXT,
    closed_at      TEXT,
    closed_by      TEXT,
    close_reason   TEXT,
    rating_asked   INTEGER NOT NULL DEFAULT 0,
    rating         INTEGER CHECK (rating BETWEEN 1 AND 5),
    rating_words   TEXT,
    rated_at       TEXT
);
CREATE UNIQUE INDEX handoffs_one_active ON handoffs(openid) WHERE status <> 'closed';
CREATE INDEX handoffs_status ON handoffs(status, center);
CREATE INDEX handoffs_created ON handoffs(created_at, center);

-- what was said, in order: sender resident | staff | bot; kind text | image | voice | …
CREATE TABLE handoff_messages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    handoff_id INTEGER NOT NULL REFERENCES handoffs(id),
    sender     TEXT NOT NULL,
    staff      TEXT,
    kind       TEXT NOT NULL DEFAULT 'text',
    text       TEXT NOT NULL,
    media_id   TEXT,
    at         TEXT NOT NULL
);
CREATE INDEX handoff_messages_handoff ON handoff_messages(handoff_id, id);

-- 常用语: a center's canned replies
CREATE TABLE canned_replies (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    center     TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX canned_replies_center ON canned_replies(center);

-- yesterday's callback requests: answered ones become closed conversations, waiting ones wait on
INSERT INTO handoffs(id, openid, center, status, question, created_at, last_at, taken_by, taken_at, first_reply_at,
                     closed_at, closed_by, close_reason)
SELECT id, openid, center, CASE WHEN status = 'waiting' THEN 'waiting' ELSE 'closed' END, question, created_at,
       COALESCE(answered_at, created_at), answered_by, answered_at, answered_at,
       CASE WHEN status = 'waiting' THEN NULL ELSE COALESCE(answered_at, created_at) END,
       CASE WHEN status = 'waiting' THEN NULL ELSE answered_by END,
       CASE WHEN status = 'waiting' THEN NULL ELSE 'answered' END
FROM handoff_requests ORDER BY id;
INSERT INTO handoff_messages(handoff_id, sender, kind, text, at)
SELECT id, 'resident', 'text', question, created_at FROM handoff_requests ORDER BY id;
INSERT INTO handoff_messages(handoff_id, sender, staff, kind, text, at)
SELECT id, 'staff', answered_by, 'text', answer, answered_at FROM handoff_requests WHERE answer IS NOT NULL ORDER BY id;
DROP TABLE handoff_requests;
