-- storyd schema, version 5.
-- After the show (issue 20): when each chapter went on air (epoch seconds; for a YouTube
-- chapter list and Twitch stream markers), and a random Twine IFID made once per session
-- (the Twee export's StoryData; a v4 UUID in upper case, as the Twee 3 spec asks).
-- Applied by storyd/store/db.py inside one transaction, which also records the version.

ALTER TABLE story_chapters ADD COLUMN aired_at REAL;
-- before version 5 a chapter was stored the moment it went on air
UPDATE story_chapters SET aired_at = created_at;

ALTER TABLE story_sessions ADD COLUMN ifid TEXT;
UPDATE story_sessions SET ifid = upper(
    hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
    || '-' || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2)
    || '-' || hex(randomblob(6)))
WHERE ifid IS NULL;
