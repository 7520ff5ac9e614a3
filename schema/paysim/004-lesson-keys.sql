-- 004-lesson-keys.sql — the table of a lesson, as onceshop's
-- (../common/lesson-keys.sql).
\ir ../common/lesson-keys.sql
