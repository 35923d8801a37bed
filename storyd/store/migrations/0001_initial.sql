-- storyd schema, version 1.
-- The five tables of the older plugin keep their names; story_rounds and story_ballots add
-- what a restart needs to resume a vote. JSON columns hold msgspec-encoded JSON text.
-- Applied by storyd/store/db.py inside one transaction, which also records the version.

CREATE TABLE schema_migrations (
    version     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    applied_at  REAL NOT NULL
);

CREATE TABLE story_sessions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    theme       TEXT NOT NULL,
    language    TEXT NOT NULL DEFAULT '',
    outline     TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'finished', 'ended', 'crashed')),
    started_at  REAL NOT NULL,
    ended_at    REAL,
    settings    TEXT NOT NULL DEFAULT '{}'          -- JSON object
);
CREATE INDEX idx_story_sessions_status ON story_sessions (status, id);
CREATE INDEX idx_story_sessions_started ON story_sessions (started_at);

CREATE TABLE story_chapters (
    session_id    INTEGER NOT NULL REFERENCES story_sessions (id) ON DELETE CASCADE,
    number        INTEGER NOT NULL CHECK (typeof(number) = 'integer' AND number >= 1),
    title         TEXT NOT NULL,
    text          TEXT NOT NULL,
    choices       TEXT NOT NULL DEFAULT '[]',       -- JSON list of str
    closing       INTEGER NOT NULL DEFAULT 0 CHECK (closing IN (0, 1)),
    summary       TEXT NOT NULL DEFAULT '',
    provider      TEXT NOT NULL DEFAULT '',
    lines         TEXT NOT NULL DEFAULT '[]',       -- JSON list of {"text", "speaker"}
    memory_update TEXT NOT NULL DEFAULT '{}',       -- JSON MemoryUpdate
    image         TEXT,                             -- bare file name in the media cache
    audio         TEXT NOT NULL DEFAULT '[]',       -- JSON list of file name or null, per line
    chosen        INTEGER CHECK (chosen IS NULL OR (typeof(chosen) = 'integer' AND chosen BETWEEN 0 AND 5)),
    chosen_text   TEXT,
    created_at    REAL NOT NULL,
    PRIMARY KEY (session_id, number)
);
CREATE INDEX idx_story_chapters_created ON story_chapters (created_at);

CREATE TABLE story_votes (
    session_id     INTEGER NOT NULL,
    chapter_number INTEGER NOT NULL,
    winner         INTEGER NOT NULL CHECK (typeof(winner) = 'integer' AND winner BETWEEN 0 AND 5),
    counts         TEXT NOT NULL,                   -- JSON list of int, one per choice
    voters         INTEGER NOT NULL CHECK (voters >= 0),
    tie_break      TEXT,                            -- "random" | "first" | "extend" | NULL
    early          INTEGER NOT NULL DEFAULT 0 CHECK (early IN (0, 1)),
    forced         INTEGER NOT NULL DEFAULT 0 CHECK (forced IN (0, 1)),
    closed_at      REAL NOT NULL,
    PRIMARY KEY (session_id, chapter_number),
    FOREIGN KEY (session_id, chapter_number)
        REFERENCES story_chapters (session_id, number) ON DELETE CASCADE
);

CREATE TABLE story_viewer_stats (
    viewer_id   TEXT PRIMARY KEY,
    name        TEXT NOT NULL DEFAULT '',
    ballots     INTEGER NOT NULL DEFAULT 0,         -- one per viewer per round, not per message
    wins        INTEGER NOT NULL DEFAULT 0,         -- ballots that picked the winner
    first_seen  REAL NOT NULL,
    last_seen   REAL NOT NULL
);
CREATE INDEX idx_story_viewer_stats_ballots ON story_viewer_stats (ballots DESC, wins DESC);

CREATE TABLE story_memory (
    session_id  INTEGER PRIMARY KEY REFERENCES story_sessions (id) ON DELETE CASCADE,
    memory      TEXT NOT NULL,                      -- JSON: the latest story memory
    updated_at  REAL
);

-- The vote round of a chapter; one per chapter, its latest state.
CREATE TABLE story_rounds (
    session_id     INTEGER NOT NULL,
    chapter_number INTEGER NOT NULL,
    round_id       INTEGER NOT NULL,
    choices        TEXT NOT NULL,                   -- JSON list of str
    opens_at       REAL NOT NULL,
    ends_at        REAL NOT NULL,
    extended       INTEGER NOT NULL DEFAULT 0 CHECK (extended IN (0, 1)),
    status         TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    PRIMARY KEY (session_id, chapter_number),
    FOREIGN KEY (session_id, chapter_number)
        REFERENCES story_chapters (session_id, number) ON DELETE CASCADE
);

-- Per-round ballots, upserted (last choice counts) about once a second while a round is open.
CREATE TABLE story_ballots (
    session_id     INTEGER NOT NULL,
    chapter_number INTEGER NOT NULL,
    viewer_id      TEXT NOT NULL,
    name           TEXT NOT NULL DEFAULT '',
    choice         INTEGER NOT NULL CHECK (typeof(choice) = 'integer' AND choice BETWEEN 0 AND 5),
    weight         INTEGER NOT NULL DEFAULT 1 CHECK (typeof(weight) = 'integer' AND weight >= 1),
    updated_at     REAL NOT NULL,
    PRIMARY KEY (session_id, chapter_number, viewer_id),
    FOREIGN KEY (session_id, chapter_number)
        REFERENCES story_rounds (session_id, chapter_number) ON DELETE CASCADE
) WITHOUT ROWID;
