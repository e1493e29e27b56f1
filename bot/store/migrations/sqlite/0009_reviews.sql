-- What outside reviews asked for. A question belongs to a center (the resident's binding, else
-- the default center) and keeps a number typed into it only encrypted; a template message keeps
-- the msgid WeChat gave it, so WeChat's later report on it finds its notice; each signed callback's
-- (timestamp, nonce) is remembered with a digest of its body, so a captured URL cannot carry
-- another body; the resident's last reported location (LOCATION events) is kept, not answered.
ALTER TABLE inquiries ADD COLUMN center TEXT;
-- contact: encrypted, a phone or ID number the question held
ALTER TABLE inquiries ADD COLUMN contact TEXT;
CREATE INDEX inquiries_center ON inquiries(center, decision, at);

-- wechat_msgid: what template/send answered; delivery: WeChat's report on it (failed:user block …)
ALTER TABLE outbox ADD COLUMN wechat_msgid TEXT;
ALTER TABLE outbox ADD COLUMN delivery TEXT;
CREATE INDEX outbox_msgid ON outbox(wechat_msgid);
-- claimed_by: the pusher holding the claim, which renews it before each send
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
-- resent_at: staff sent a dead notice again; it is retried for a day from then
ALTER TABLE outbox ADD COLUMN resent_at TEXT;

CREATE TABLE callback_nonces (
    stamp   TEXT NOT NULL,                               -- the callback's timestamp parameter
    nonce   TEXT NOT NULL,
    digest  TEXT NOT NULL,                               -- sha256 of the body it came with
    seen_at TEXT NOT NULL,
    PRIMARY KEY (stamp, nonce)
);
CREATE INDEX callback_nonces_seen ON callback_nonces(seen_at);

ALTER TABLE residents ADD COLUMN latitude REAL;
ALTER TABLE residents ADD COLUMN longitude REAL;
-- fetched_at: when the shared access token was taken, so it is refreshed at most once a minute
ALTER TABLE access_tokens ADD COLUMN fetched_at TEXT;

ALTER TABLE residents ADD COLUMN located_at TEXT
