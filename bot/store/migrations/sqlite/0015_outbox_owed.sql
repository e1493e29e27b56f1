-- Notices still owed, by resident: a claim takes only a resident's oldest one, and asks for each
-- candidate whether an older one is owed; without this, each claim read the whole outbox.
CREATE INDEX outbox_owed ON outbox(openid, id) WHERE sent_at IS NULL AND dead_at IS NULL;
