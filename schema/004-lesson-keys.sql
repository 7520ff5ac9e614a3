-- 004-lesson-keys.sql — the table of a lesson (common/lesson-keys.sql).
\ir common/lesson-keys.sql
