-- What PostgreSQL needs too: `window` is a reserved word there, and case numbers come from a
-- counter taken in the same statement that raises it, not from counting (two workers at once).
ALTER TABLE bookings RENAME COLUMN window TO window_no;

CREATE TABLE case_counters (
    prefix TEXT PRIMARY KEY,                -- e.g. D20261124-
    n      INTEGER NOT NULL
);
INSERT INTO case_counters(prefix, n)
    SELECT substr(number, 1, 10), max(CAST(substr(number, 11) AS INTEGER)) FROM cases GROUP BY substr(number, 1, 10)
