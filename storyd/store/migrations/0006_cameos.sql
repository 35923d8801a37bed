-- storyd schema, version 6.
-- Audience cameos (issue 19): viewers who typed !join to appear in a story as minor
-- characters, one row per viewer per session with the latest state: joined, left (!leave) or
-- removed (the operator). The name is the cleaned display name (storyd/core/cameos.py);
-- chapters lists the aired chapters whose text names them (JSON list of int).
-- Applied by storyd/store/db.py inside one transaction, which also records the version.

CREATE TABLE story_cameos (
    session_id  INTEGER NOT NULL REFERENCES story_sessions (id) ON DELETE CASCADE,
    viewer_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'joined' CHECK (status IN ('joined', 'left', 'removed')),
    joined_at   REAL NOT NULL,
    changed_at  REAL NOT NULL,
    chapters    TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (session_id, viewer_id)
) WITHOUT ROWID;
