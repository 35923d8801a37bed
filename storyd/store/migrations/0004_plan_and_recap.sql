-- storyd schema, version 4.
-- The story plan (issue 17): the story bible written before chapter 1 (protagonist, cast,
-- places, central question, one beat per chapter, possible endings), and the recap written
-- after the last chapter (logline, key moments, kind of ending). Both JSON objects, NULL
-- until written; see storyd/core/plan.py and storyd/core/recap.py for their fields.
-- Applied by storyd/store/db.py inside one transaction, which also records the version.

ALTER TABLE story_sessions ADD COLUMN plan TEXT;
ALTER TABLE story_sessions ADD COLUMN recap TEXT;
