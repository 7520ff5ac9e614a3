-- lesson-keys.sql — the keys of the lesson select-then-insert
-- (ONCESHOP_LESSON=select-then-insert, app/core/lesson_select.c): the
-- columns of idempotency_keys without its UNIQUE (user_id, operation,
-- idem_key), so that nothing but a look-up before the insert keeps two
-- copies of one request apart. Nothing reads it without the lesson.
-- (keys.sql says how this file is read.)
CREATE TABLE lesson_keys (
	id		INTEGER PRIMARY KEY,
	user_id		INTEGER NOT NULL REFERENCES users(id),
	operation	TEXT NOT NULL,
	idem_key	TEXT NOT NULL,
	fingerprint	TEXT NOT NULL,
	status		TEXT NOT NULL CHECK (status IN ('processing', 'completed')),
	response_status	INTEGER,
	response_headers TEXT,
	response_body	BLOB,
	created_at	TEXT NOT NULL,
	expires_at	TEXT NOT NULL
);
-- An index to find a key, not a constraint: it lets duplicates in.
CREATE INDEX lesson_keys_key ON lesson_keys(user_id, operation, idem_key);
