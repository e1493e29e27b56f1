-- pending: the message itself (encrypted), kept with its claim until its answer is recorded, so a
-- worker that dies while answering leaves it for the restart, or another worker, to finish
ALTER TABLE processed_messages ADD COLUMN pending TEXT;
CREATE INDEX processed_messages_pending ON processed_messages(created_at) WHERE pending IS NOT NULL;
