-- A case opened for a life event (高效办成一件事) holds one line per step: the services the station
-- handles (kind ours), each with its own status, and the steps handled elsewhere (kind elsewhere),
-- kept as notes so the clerk sees the whole event.
CREATE TABLE case_lines (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id    INTEGER NOT NULL REFERENCES cases(id),
    position   INTEGER NOT NULL,
    service    TEXT NOT NULL,
    kind       TEXT NOT NULL,                            -- ours elsewhere
    status     TEXT NOT NULL,                            -- pending done (elsewhere: elsewhere)
    note       TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    UNIQUE (case_id, position)
);
