-- The service guides and life events (一件事) residents are answered from, kept by the county's
-- editors: the published document and its version, an unpublished draft beside it, every version
-- ever published (for history and roll back), and the local_check points confirmed for the county.
-- A document is the JSON of one guide or bundle file with its example questions. Publishing bumps
-- knowledge_revision, which every worker already reads once a second.
CREATE TABLE guides (
    name        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,                           -- guide bundle
    version     INTEGER,                                 -- the published version; NULL: never published
    content     TEXT,                                    -- the published document (JSON)
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    draft       TEXT,                                    -- the draft (JSON), apart from what residents read
    draft_base  INTEGER,                                 -- the published version the draft was made from
    draft_by    TEXT,
    draft_at    TEXT,
    reviewed_at TEXT,
    reviewed_by TEXT
);

CREATE TABLE guide_versions (
    name         TEXT NOT NULL,
    version      INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    content      TEXT NOT NULL,
    at           TEXT NOT NULL,
    author       TEXT NOT NULL,
    action       TEXT NOT NULL,                          -- seed import publish rollback
    from_version INTEGER,
    PRIMARY KEY (name, version)
);

CREATE TABLE guide_checks (
    name   TEXT NOT NULL,
    point  TEXT NOT NULL,                                -- the point's text: reworded, it is unconfirmed again
    author TEXT NOT NULL,
    at     TEXT NOT NULL,
    note   TEXT NOT NULL DEFAULT '',                     -- how the county settled it
    PRIMARY KEY (name, point)
);
