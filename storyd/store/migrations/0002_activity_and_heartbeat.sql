-- storyd schema, version 2.
-- Likes and joins are viewer stats only (never ballots); a vote round's heartbeat lets a
-- restart give the vote back the time it had left when the daemon stopped.
-- Applied by storyd/store/db.py inside one transaction, which also records the version.

ALTER TABLE story_viewer_stats ADD COLUMN likes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE story_viewer_stats ADD COLUMN joins INTEGER NOT NULL DEFAULT 0;

-- Written about once a second while the round is open (epoch seconds); NULL: never written.
ALTER TABLE story_rounds ADD COLUMN heartbeat_at REAL;
