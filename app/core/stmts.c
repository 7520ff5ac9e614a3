/* stmts.c — the SQL text of the core's statements (stmts.h). */
#include <stddef.h>

#include "stmts.h"

#define S	STMT_SQL

const struct stmt_def core_stmts[STMT_CORE__MAX] = {
	[STMT_BEGIN] = S("BEGIN"),
	[STMT_BEGIN_IMMEDIATE] = S("BEGIN IMMEDIATE"),
	[STMT_COMMIT] = S("COMMIT"),
	[STMT_ROLLBACK] = S("ROLLBACK"),
	[STMT_SAVEPOINT_JOB] = S("SAVEPOINT job"),
	[STMT_RELEASE_JOB] = S("RELEASE job"),
	[STMT_ROLLBACK_TO_JOB] = S("ROLLBACK TO job"),
	[STMT_TOKEN_USER] =
	    S("SELECT u.id, u.name FROM api_tokens t "
	    "JOIN users u ON u.id = t.user_id WHERE t.token_sha256 = ?"),
	[STMT_USER_INSERT] =
	    S("INSERT INTO users (name, created_at) VALUES (?, ?) "
	    "ON CONFLICT (name) DO NOTHING"),
	[STMT_TOKEN_INSERT] =
	    S("INSERT INTO api_tokens (token_sha256, user_id, created_at) "
	    "SELECT CAST(? AS TEXT), id, CAST(? AS TEXT) FROM users "
	    "WHERE name = ?"),
	[STMT_USER_TOKENS_CLEAR] =
	    S("DELETE FROM api_tokens "
	    "WHERE user_id = (SELECT id FROM users WHERE name = ?)"),
	[STMT_KEY_SELECT] =
	    S("SELECT fingerprint, status, response_status, response_headers, "
	    "response_body, expires_at, id, lease_until FROM idempotency_keys "
	    "WHERE user_id = ? AND operation = ? AND idem_key = ?"),
	/* Insert first; take over an expired completed row in place; a
	 * live row, or any that is still processing, is left alone and
	 * returns nothing. recovery_point, request and the lease are NULL
	 * for a single-phase operation. */
	[STMT_KEY_CLAIM] =
	    S("INSERT INTO idempotency_keys (user_id, operation, idem_key, "
	    "fingerprint, status, created_at, expires_at, recovery_point, "
	    "request, lease_owner, lease_until) "
	    "VALUES (?, ?, ?, ?, 'processing', ?, ?, ?, ?, ?, ?) "
	    "ON CONFLICT (user_id, operation, idem_key) DO UPDATE SET "
	    "fingerprint = excluded.fingerprint, status = 'processing', "
	    "response_status = NULL, response_headers = NULL, "
	    "response_body = NULL, created_at = excluded.created_at, "
	    "expires_at = excluded.expires_at, "
	    "recovery_point = excluded.recovery_point, resource_id = NULL, "
	    "request = excluded.request, lease_owner = excluded.lease_owner, "
	    "lease_until = excluded.lease_until "
	    "WHERE idempotency_keys.status = 'completed' "
	    "AND idempotency_keys.expires_at <= excluded.created_at "
	    "RETURNING id"),
	/* Completed: kept until expires_at; the lease and the request go. */
	[STMT_KEY_STORE] =
	    S("UPDATE idempotency_keys SET status = 'completed', "
	    "response_status = ?, response_headers = ?, response_body = ?, "
	    "expires_at = ?, recovery_point = ?, request = NULL, "
	    "lease_owner = NULL, lease_until = NULL WHERE id = ?"),
	[STMT_KEYS_SWEEP] =
	    S("DELETE FROM idempotency_keys WHERE id IN "
	    "(SELECT id FROM idempotency_keys WHERE expires_at <= ? "
	    "AND status = 'completed' ORDER BY expires_at LIMIT ?)"),
	[STMT_KEYS_LIST] =
	    S("SELECT idem_key AS key, operation, status, recovery_point, "
	    "lease_until, NULLIF(attempts, 0) AS attempts, "
	    "CASE WHEN status = 'processing' THEN retry_at END AS retry_at, "
	    "CASE WHEN status = 'processing' THEN last_error END AS last_error, "
	    "response_status, fingerprint, created_at, expires_at "
	    "FROM idempotency_keys "
	    "WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?"),
	/* A processing key whose lease ran out (or was released) becomes
	 * the caller's; nothing if someone else got it first. */
	[STMT_KEY_TAKE_OVER] =
	    S("UPDATE idempotency_keys SET lease_owner = ?, lease_until = ? "
	    "WHERE id = ? AND status = 'processing' AND lease_until <= ? "
	    "RETURNING recovery_point, resource_id, attempts"),
	/* Moves the recovery point, only for the lease's holder. */
	[STMT_KEY_ADVANCE] =
	    S("UPDATE idempotency_keys SET recovery_point = ?, "
	    "resource_id = ?, lease_until = ? "
	    "WHERE id = ? AND status = 'processing' AND lease_owner = ?"),
	/* Gives the lease up now, after a failed remote step: a retry may
	 * resume at once, the completer not before retry_at. */
	[STMT_KEY_RELEASE] =
	    S("UPDATE idempotency_keys SET lease_owner = NULL, "
	    "lease_until = ?, attempts = attempts + 1, retry_at = ?, "
	    "last_error = ? WHERE id = ? AND lease_owner = ?"),
	/* A failed resumption of a key nobody holds: not before retry_at. */
	[STMT_KEY_BACKOFF] =
	    S("UPDATE idempotency_keys SET attempts = attempts + 1, "
	    "retry_at = ?, last_error = ? WHERE id = ? "
	    "AND status = 'processing' AND lease_until <= ?"),
	/* What the completer resumes: processing keys nobody holds, whose
	 * retry_at has come, the most overdue first. */
	[STMT_KEYS_STALLED] =
	    S("SELECT id, user_id, operation, idem_key, request, attempts "
	    "FROM idempotency_keys WHERE lease_until IS NOT NULL "
	    "AND lease_until <= ? AND coalesce(retry_at, lease_until) <= ? "
	    "AND status = 'processing' "
	    "ORDER BY coalesce(retry_at, lease_until), id LIMIT ?"),
	[STMT_HEALTH] = S("SELECT count(*) FROM users"),

	/* The lesson select-then-insert: look, then insert, with nothing
	 * (no UNIQUE) to stop a second insert of the same key. */
	[STMT_LESSON_KEY_SELECT] =
	    S("SELECT fingerprint, status, response_status, response_headers, "
	    "response_body, expires_at, id, '' AS lease_until FROM lesson_keys "
	    "WHERE user_id = ? AND operation = ? AND idem_key = ? "
	    "ORDER BY id DESC LIMIT 1"),
	[STMT_LESSON_KEY_INSERT] =
	    S("INSERT INTO lesson_keys (user_id, operation, idem_key, "
	    "fingerprint, status, created_at, expires_at) "
	    "VALUES (?, ?, ?, ?, 'processing', ?, ?) RETURNING id"),
	[STMT_LESSON_KEY_STORE] =
	    S("UPDATE lesson_keys SET status = 'completed', response_status = ?, "
	    "response_headers = ?, response_body = ?, expires_at = ? "
	    "WHERE id = ?"),
	[STMT_LESSON_KEYS_SWEEP] =
	    S("DELETE FROM lesson_keys WHERE id IN (SELECT id FROM lesson_keys "
	    "WHERE expires_at <= ? AND status = 'completed' "
	    "ORDER BY expires_at LIMIT ?)"),
};
