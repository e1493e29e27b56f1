-- A count raised by whoever deletes residents' dialogs behind the server's back (a resident's
-- erasure from the command line while the server runs). One process on SQLite keeps the dialogs
-- in memory: when it sees the count change, it forgets them and reads them from the table again.
CREATE TABLE dialogs_epoch (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
INSERT INTO dialogs_epoch(id, n) VALUES (1, 0);
