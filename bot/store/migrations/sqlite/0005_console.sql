-- The staff console: sign-in, sessions, lockout, the audit trail (电子监察), answered handoffs.

ALTER TABLE staff ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE staff ADD COLUMN locked_until TEXT;
ALTER TABLE staff ADD COLUMN disabled_at TEXT;

CREATE TABLE console_sessions (
    id_hash    TEXT PRIMARY KEY,            -- sha256 of the cookie value; the value itself is not kept
    staff_id   INTEGER NOT NULL REFERENCES staff(id),
    csrf       TEXT NOT NULL,               -- the token every form of this session carries
    created_at TEXT NOT NULL,
    seen_at    TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX console_sessions_staff ON console_sessions(staff_id);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,                  -- the staff member's name, or the name tried at sign-in
    role    TEXT NOT NULL DEFAULT '',
    center  TEXT,                           -- the center acted on, when there is one
    action  TEXT NOT NULL,                  -- login, login_failed, case_move, checkin, …
    target  TEXT NOT NULL DEFAULT '',       -- case number, booking code, staff name
    detail  TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT ''        -- where the request came from
);
CREATE INDEX audit_log_at ON audit_log(at);

ALTER TABLE handoff_requests ADD COLUMN center TEXT;
ALTER TABLE handoff_requests ADD COLUMN answer TEXT;
ALTER TABLE handoff_requests ADD COLUMN answered_by TEXT;
ALTER TABLE handoff_requests ADD COLUMN answered_at TEXT;
CREATE INDEX handoff_requests_status ON handoff_requests(status, center)
