-- A notice WeChat would not take is followed up by a person (a call); who did it, and when.
ALTER TABLE outbox ADD COLUMN handled_by TEXT;
ALTER TABLE outbox ADD COLUMN handled_at TEXT
