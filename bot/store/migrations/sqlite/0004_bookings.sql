-- The village or community a resident bound to (绑定); it decides their default center.
ALTER TABLE residents ADD COLUMN center TEXT;

-- Appointments: one place at one window of one center at one start time.
CREATE TABLE bookings (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    code         TEXT NOT NULL UNIQUE,      -- told to the resident, shown at the window
    openid       TEXT NOT NULL,
    guide        TEXT NOT NULL,
    center       TEXT NOT NULL,
    window       INTEGER NOT NULL,
    day          TEXT NOT NULL,             -- YYYY-MM-DD
    start        TEXT NOT NULL,             -- ISO time with offset
    status       TEXT NOT NULL DEFAULT 'booked',  -- booked, checked_in, no_show, cancelled, closed
    remind_at    TEXT,                      -- when the reminder is due; NULL: none is sent
    reminded_at  TEXT,
    note         TEXT NOT NULL DEFAULT '',  -- why it was cancelled or closed
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
-- The last place is taken once: a second insert for the same window and time fails.
CREATE UNIQUE INDEX bookings_place ON bookings(center, start, window) WHERE status IN ('booked', 'checked_in');
CREATE INDEX bookings_openid ON bookings(openid, status, start);
CREATE INDEX bookings_day ON bookings(center, day, status);
CREATE INDEX bookings_remind ON bookings(status, reminded_at, remind_at);

-- Days a center does not open beyond the national calendar (training, emergencies).
CREATE TABLE center_closures (
    center     TEXT NOT NULL,
    day        TEXT NOT NULL,
    reason     TEXT NOT NULL,
    closed_by  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (center, day)
)
