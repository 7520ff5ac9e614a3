/* stmts.h — every SQL statement runs by name. The core's own (transactions,
 * tokens, the key rows) are numbered here; a program numbers its own on
 * from STMT_CORE__MAX and hands their texts to db_open in its struct
 * db_schema (db.h). Each connection prepares all of them when it opens,
 * so a typo fails at start-up, not in the middle of a request. */
#ifndef ONCESHOP_STMTS_H
#define ONCESHOP_STMTS_H

enum stmt_id {
	/* transactions and the writer's savepoints */
	STMT_BEGIN, STMT_BEGIN_IMMEDIATE, STMT_COMMIT, STMT_ROLLBACK,
	STMT_SAVEPOINT_JOB, STMT_RELEASE_JOB, STMT_ROLLBACK_TO_JOB,
	/* auth.c */
	STMT_TOKEN_USER, STMT_USER_INSERT, STMT_TOKEN_INSERT,
	STMT_USER_TOKENS_CLEAR,
	/* keystore.c, and keys.c's list */
	STMT_KEY_SELECT, STMT_KEY_CLAIM, STMT_KEY_STORE, STMT_KEYS_SWEEP,
	STMT_KEYS_LIST,
	/* phases.c, completer.c: leases and recovery points */
	STMT_KEY_TAKE_OVER, STMT_KEY_ADVANCE, STMT_KEY_RELEASE,
	STMT_KEY_BACKOFF, STMT_KEYS_STALLED,
	/* health.c */
	STMT_HEALTH,
	/* lesson_select.c: a lesson's keys, without the UNIQUE */
	STMT_LESSON_KEY_SELECT, STMT_LESSON_KEY_INSERT, STMT_LESSON_KEY_STORE,
	STMT_LESSON_KEYS_SWEEP,
	STMT_CORE__MAX	/* a program's statements are numbered from here */
};

/* One statement's text: values bound by position (?), rows back in the
 * column order written. */
struct stmt_def {
	const char	*sql;
	const char	*pg;	/* PostgreSQL's text where it differs; NULL:
				 * sql (its ? become $1, $2, ...) */
};

#define STMT_SQL(sql)		{ sql, NULL }
#define STMT_SQL_PG(sql, pg)	{ sql, pg }

extern const struct stmt_def core_stmts[STMT_CORE__MAX];

#endif
