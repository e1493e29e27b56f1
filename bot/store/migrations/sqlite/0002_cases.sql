-- Staff accounts: an API token (stored as its SHA-256) and, later, a console password.
CREATE TABLE staff (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    center        TEXT,                     -- NULL for an admin, who sees every center
    role          TEXT NOT NULL,            -- clerk, supervisor, admin
    token_hash    TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    created_at    TEXT NOT NULL
);

-- Matters residents asked the centers to handle: 代办, 上门, 投诉, 差评整改.
CREATE TABLE cases (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    number     TEXT NOT NULL UNIQUE,        -- human-friendly, e.g. D20261124-0003
    kind       TEXT NOT NULL,
    openid     TEXT NOT NULL,
    guide      TEXT,
    center     TEXT NOT NULL,
    state      TEXT NOT NULL,
    deadline   TEXT,                        -- YYYY-MM-DD, set on acceptance (限时办结)
    data       TEXT NOT NULL DEFAULT '{}',  -- what the resident gave: name, phone, address, words
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX cases_openid ON cases(openid, created_at);
CREATE INDEX cases_center ON cases(center, state);

-- Every move of a case: who, when, from, to, note.
CREATE TABLE case_history (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id    INTEGER NOT NULL REFERENCES cases(id),
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    from_state TEXT,
    to_state   TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    deadline   TEXT
);
CREATE INDEX case_history_case ON case_history(case_id, id);
