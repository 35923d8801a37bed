-- storyd schema, version 7.
-- Viewer stats are credited from a closed round's ballots after the close, in small steps
-- off the show's path (issue 23): `credited` says whether that is done, `credit_after` is the
-- last viewer id credited so far, so a restart finishes the work without repeating a credit.
-- Rounds closed before version 7 were credited at their close.
-- Applied by storyd/store/db.py inside one transaction, which also records the version.

ALTER TABLE story_votes ADD COLUMN credited INTEGER NOT NULL DEFAULT 1 CHECK (credited IN (0, 1));
ALTER TABLE story_votes ADD COLUMN credit_after TEXT NOT NULL DEFAULT '';
CREATE INDEX idx_votes_uncredited ON story_votes (closed_at) WHERE credited = 0;
