-- storyd schema, version 3.
-- Branches written during a vote (issue 9): the chapter each losing choice would have led to,
-- kept so an export can show the road not taken. Never aired; the memory they carry was never
-- applied to the story.
-- Applied by storyd/store/db.py inside one transaction, which also records the version.

CREATE TABLE story_branches (
    session_id    INTEGER NOT NULL REFERENCES story_sessions(id) ON DELETE CASCADE,
    after_chapter INTEGER NOT NULL,   -- the chapter whose choice this branch follows
    choice        INTEGER NOT NULL,   -- 0-based index of that choice
    title         TEXT NOT NULL,
    text          TEXT NOT NULL,
    choices       TEXT NOT NULL,      -- JSON list
    provider      TEXT NOT NULL DEFAULT '',
    created_at    REAL NOT NULL,
    PRIMARY KEY (session_id, after_chapter, choice)
);
