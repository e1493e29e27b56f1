-- Example questions taught from the console or the API: a resident's question, masked, and what
-- it means (a guide, an intent, a referral). Clerks propose, editors and admins accept; removing
-- one keeps the row (status removed) for the audit trail. knowledge_revision counts every change,
-- so each worker sees in one read whether its examples are current.
CREATE TABLE taught_examples (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    question    TEXT NOT NULL,
    target_kind TEXT NOT NULL,                           -- guide intent referral
    target_name TEXT NOT NULL,
    status      TEXT NOT NULL,                           -- active proposed rejected removed
    proposed_by TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    decided_by  TEXT,
    decided_at  TEXT
);
CREATE INDEX taught_examples_status ON taught_examples(status, id);

CREATE TABLE knowledge_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO knowledge_revision(id, n) VALUES (1, 0);
