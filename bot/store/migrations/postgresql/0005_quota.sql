-- As SQLite's 0010. WeChat's customer-service quota per resident (since June 2023): their last action — a message
-- ("message": 5 within 48 hours) or a menu click, follow or scan ("event": 3 within a minute) —
-- and how many customer-service messages were sent on it; the pushers of every worker draw on it.
ALTER TABLE residents ADD COLUMN quota_kind TEXT;
ALTER TABLE residents ADD COLUMN quota_at TEXT;
ALTER TABLE residents ADD COLUMN quota_used INTEGER NOT NULL DEFAULT 0;
UPDATE residents SET quota_kind='message', quota_at=last_message_at;
-- topic: what a template message's fields say of the notice (JSON: number, matter, status)
ALTER TABLE outbox ADD COLUMN topic TEXT;
