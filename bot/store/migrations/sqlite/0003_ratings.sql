-- 好差评: one rating per case, five national levels (5 非常满意 … 1 非常不满意).
CREATE TABLE ratings (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id INTEGER NOT NULL UNIQUE REFERENCES cases(id),
    openid  TEXT NOT NULL,
    center  TEXT NOT NULL,
    score   INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    words   TEXT NOT NULL DEFAULT '',
    at      TEXT NOT NULL
);
CREATE INDEX ratings_center ON ratings(center, at);
