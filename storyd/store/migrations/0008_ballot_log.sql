-- storyd schema, version 8.
-- Ballots are appended to story_ballot_log while a round is open (issue 23: an append touches
-- the last page or two of a rowid table, where an upsert into story_ballots touched a page per
-- viewer) and folded into story_ballots in append order, in steps, after the round closes
-- (before its voters are credited), at a clean stop, and before a read of ballots
-- (storyd/store/ballot_log.py). Folding applies each entry as the upsert into story_ballots
-- did: the latest entry of a viewer wins, choice -1 takes the ballot back, an empty name keeps
-- the stored one. Folded entries are deleted in the same transaction.
-- The table of folded ballots is renamed story_ballots_folded, and story_ballots becomes a VIEW
-- of every ballot as it is now (folded rows with the log's entries applied in order): a tool,
-- a test or an operator reading story_ballots of a running or killed storyd sees every
-- acknowledged ballot, as before the log. storyd writes the table and the log, and reads the
-- table after a fold (or the table and the log in order, on resume).
-- Applied by storyd/store/db.py inside one transaction, which also records the version.

ALTER TABLE story_ballots RENAME TO story_ballots_folded;

CREATE TABLE story_ballot_log (
    id             INTEGER PRIMARY KEY,             -- append order: the fold's order
    session_id     INTEGER NOT NULL,
    chapter_number INTEGER NOT NULL,
    viewer_id      TEXT NOT NULL,
    name           TEXT NOT NULL,                   -- '': keep the stored name
    choice         INTEGER NOT NULL,                -- -1: the ballot was taken back
    weight         INTEGER NOT NULL,
    updated_at     REAL NOT NULL,
    CHECK (typeof(choice) = 'integer' AND typeof(weight) = 'integer'
           AND (choice = -1 OR (choice BETWEEN 0 AND 5 AND weight >= 1))),
    FOREIGN KEY (session_id, chapter_number)
        REFERENCES story_rounds (session_id, chapter_number) ON DELETE CASCADE
);

-- Every ballot as it is now: story_ballots_folded with the log's entries not folded yet applied
-- in order (for tools and tests that read the file of a running or killed storyd; storyd itself
-- folds before it reads, and reads the table).
CREATE VIEW story_ballots AS
WITH entries AS (
    SELECT session_id, chapter_number, viewer_id, name, choice, weight, updated_at, 0 AS seq
    FROM story_ballots_folded
    UNION ALL
    SELECT session_id, chapter_number, viewer_id, name, choice, weight, updated_at, id
    FROM story_ballot_log),
marked AS (
    SELECT *, max(seq) OVER w AS last_seq,
           max(CASE WHEN choice < 0 THEN seq END) OVER w AS cut
    FROM entries WINDOW w AS (PARTITION BY session_id, chapter_number, viewer_id)),
named AS (
    SELECT *, max(CASE WHEN name != '' AND seq > coalesce(cut, -1) THEN seq END) OVER w
              AS name_seq
    FROM marked WINDOW w AS (PARTITION BY session_id, chapter_number, viewer_id)),
kept AS (      -- windows only, no join: one sort by viewer, however many ballots
    SELECT *, max(CASE WHEN seq = name_seq THEN name END) OVER w AS kept_name
    FROM named WINDOW w AS (PARTITION BY session_id, chapter_number, viewer_id))
SELECT session_id, chapter_number, viewer_id, coalesce(kept_name, '') AS name, choice, weight,
       updated_at
FROM kept
WHERE seq = last_seq AND choice >= 0;
