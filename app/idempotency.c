/* idempotency.c — Idempotency-Key handling for every idempotent POST.
 *
 * A request passes, in order: key present and well-formed (400), JSON
 * content type (415), size (413), body parses and matches the route's
 * table (400). None of those is stored, so a corrected retry may reuse the
 * key. Then, in one BEGIN IMMEDIATE transaction: claim the key (insert
 * first, look only on conflict), run the handler, store its response,
 * commit. A key already stored is answered from the stored row: replay
 * (same fingerprint), 422 (different fingerprint) or 409 (in progress). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "handlers.h"
#include "idempotency.h"

#define SWEEP_PER_CLAIM	8	/* expired rows deleted by each new claim */

static long	 ttl = IDEM_TTL_DEFAULT;

void
idem_configure(long seconds)
{
	ttl = seconds;
}

int
idem_key_parse(const char *v, char key[IDEM_KEY_MAX + 1])
{
	size_t	 n = 0, end;

	while (*v == ' ' || *v == '\t')
		v++;
	end = strlen(v);
	while (end > 0 && (v[end - 1] == ' ' || v[end - 1] == '\t'))
		end--;

	if (*v != '"') {		/* bare token */
		for (; n < end; n++) {
			if (v[n] < 0x21 || v[n] > 0x7e || v[n] == '"' ||
			    v[n] == '\\' || n == IDEM_KEY_MAX)
				return -1;
			key[n] = v[n];
		}
		key[n] = '\0';
		return n > 0 ? 0 : -1;
	}
	for (v++, end--; end > 0 && *v != '"'; v++, end--) {
		if (*v == '\\') {	/* only \" and \\ are escapes */
			v++, end--;
			if (*v != '"' && *v != '\\')
				return -1;
		} else if (*v < 0x20 || *v > 0x7e)
			return -1;
		if (n == IDEM_KEY_MAX)
			return -1;
		key[n++] = *v;
	}
	key[n] = '\0';
	/* The closing quote must be the last character. */
	return (end == 1 && *v == '"' && n > 0) ? 0 : -1;
}

void
idem_fingerprint(struct json_object *body, char hex[65])
{
	struct buf	 canon = { 0 };

	body_canonical(body, &canon);
	sha256_hex(canon.data, canon.len, hex);
	buf_free(&canon);
}

/* Returns 1 for "application/json", with or without parameters. */
static int
is_json(const char *type)
{
	size_t	 n = strlen("application/json");

	return type != NULL && strncasecmp(type, "application/json", n) == 0 &&
	    (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

static const char *const select_key =
    "SELECT fingerprint, status, response_status, response_headers, "
    "response_body, expires_at FROM idempotency_keys "
    "WHERE user_id = ? AND operation = ? AND idem_key = ?";

/* Answers from the stored row in st (columns of select_key). Returns 1 when
 * res holds the answer; 0 when the row has expired and the key is new. */
static int
answer_stored(sqlite3_stmt *st, const char *now, const char *fp,
    struct response *res)
{
	const char	*expires = (const char *)sqlite3_column_text(st, 5);

	if (strcmp(expires, now) <= 0)
		return 0;
	if (strcmp((const char *)sqlite3_column_text(st, 0), fp) != 0) {
		res->outcome = "mismatch";
		http_problem(res, PROBLEM_KEY_REUSED, "Idempotency-Key \"%s\" "
		    "was first sent with a different body. A retry must repeat "
		    "the original request exactly; a new request needs a new "
		    "key. Nothing was written.", res->key);
		return 1;
	}
	if (strcmp((const char *)sqlite3_column_text(st, 1), "completed") != 0) {
		res->outcome = "in-progress";
		http_problem(res, PROBLEM_KEY_IN_PROGRESS, "The first request "
		    "with Idempotency-Key \"%s\" has not finished. Retry the "
		    "same request after Retry-After seconds to get its answer.",
		    res->key);
		http_header(res, "Retry-After", "1");
		return 1;
	}
	res->outcome = "replayed";
	res->status = sqlite3_column_int(st, 2);
	buf_reset(&res->headers);
	buf_puts(&res->headers, (const char *)sqlite3_column_text(st, 3));
	buf_puts(&res->headers, "Idempotent-Replayed: true\r\n");
	buf_reset(&res->body);
	buf_append(&res->body, sqlite3_column_blob(st, 4),
	    (size_t)sqlite3_column_bytes(st, 4));
	return 1;
}

/* Looks the key up in the stored rows. Returns 1 if res holds the answer,
 * 0 if the key is new (or expired), -1 on a database error. */
static int
lookup(struct db *db, const struct request *req, const char *op,
    const char *now, const char *fp, struct response *res)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(db, select_key)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, req->user.id);
	sqlite3_bind_text(st, 2, op, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, res->key, -1, SQLITE_STATIC);
	rc = db_step(db, st);
	if (rc == SQLITE_ROW)
		rc = answer_stored(st, now, fp, res);
	else
		rc = rc == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(st);
	return rc;
}

/* Claims the key: inserts a 'processing' row, or takes over an expired
 * one. Returns the row id, 0 if a live row holds the key, -1 on error. */
static sqlite3_int64
claim(struct db *db, const struct request *req, const char *op,
    const char *now, const char *fp, struct response *res)
{
	sqlite3_stmt	*st;
	sqlite3_int64	 id = -1;
	char		 expires[21];
	int		 rc;

	time_rfc3339(time(NULL) + ttl, expires);
	if ((st = db_stmt(db,
	    "INSERT INTO idempotency_keys (user_id, operation, idem_key, "
	    "fingerprint, status, created_at, expires_at) "
	    "VALUES (?, ?, ?, ?, 'processing', ?, ?) "
	    "ON CONFLICT (user_id, operation, idem_key) DO UPDATE SET "
	    "fingerprint = excluded.fingerprint, status = 'processing', "
	    "response_status = NULL, response_headers = NULL, "
	    "response_body = NULL, created_at = excluded.created_at, "
	    "expires_at = excluded.expires_at "
	    "WHERE idempotency_keys.expires_at <= excluded.created_at "
	    "RETURNING id")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, req->user.id);
	sqlite3_bind_text(st, 2, op, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, res->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, fp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, expires, -1, SQLITE_STATIC);
	if ((rc = db_step(db, st)) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		id = 0;
	sqlite3_reset(st);
	return id;
}

/* Stores the handler's response in row id. Returns 0 or -1. */
static int
store(struct db *db, sqlite3_int64 id, const struct response *res)
{
	sqlite3_stmt	*st;

	if ((st = db_stmt(db, "UPDATE idempotency_keys SET "
	    "status = 'completed', response_status = ?, "
	    "response_headers = ?, response_body = ? WHERE id = ?")) == NULL)
		return -1;
	sqlite3_bind_int(st, 1, res->status);
	sqlite3_bind_text(st, 2, res->headers.data, (int)res->headers.len,
	    SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, res->body.data, (int)res->body.len,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, id);
	return db_exec_stmt(db, st);
}

/* Deletes up to n expired rows. Returns the number deleted, or -1. */
static long
delete_expired(struct db *db, const char *now, int n)
{
	sqlite3_stmt	*st;

	if ((st = db_stmt(db, "DELETE FROM idempotency_keys WHERE id IN "
	    "(SELECT id FROM idempotency_keys WHERE expires_at <= ? "
	    "ORDER BY expires_at LIMIT ?)")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, n);
	if (db_exec_stmt(db, st) == -1)
		return -1;
	return sqlite3_changes(db_handle(db));
}

/* Runs the handler under a savepoint: a 4xx response undoes the handler's
 * writes, but is still stored and replayed; a 5xx rolls back everything. */
static void
run_handler(struct db *db, const struct route *r, struct request *req,
    struct response *res)
{
	if (db_exec(db, "SAVEPOINT handler") != SQLITE_OK) {
		http_problem(res, PROBLEM_INTERNAL_ERROR, "The request was not "
		    "processed; nothing was written. Retrying is safe.");
		return;
	}
	r->handler(db, req, res);
	if (res->status >= 300 && res->status < 500)
		db_exec(db, "ROLLBACK TO handler");
	db_exec(db, "RELEASE handler");
}

static void
reply_busy(struct response *res)
{
	res->outcome = "busy";
	http_problem(res, PROBLEM_SERVICE_BUSY, "The database is busy. Nothing "
	    "was written; retry the same request with the same key.");
	http_header(res, "Retry-After", "1");
}

static void
reply_failed(struct response *res)
{
	res->outcome = "failed";
	http_problem(res, PROBLEM_INTERNAL_ERROR, "The request failed and was "
	    "rolled back; nothing was written. Retrying with the same key is "
	    "safe.");
}

/* The write path: one transaction that claims, runs, stores, commits. */
static void
claim_and_run(struct db *db, const struct route *r, struct request *req,
    const char *fp, struct response *res)
{
	sqlite3_int64	 id;
	char		 now[21];
	int		 rc;

	if ((rc = db_begin(db, 1)) != SQLITE_OK) {
		rc == SQLITE_BUSY ? reply_busy(res) : reply_failed(res);
		return;
	}
	time_rfc3339(time(NULL), now);
	if ((id = claim(db, req, r->operation, now, fp, res)) == 0) {
		/* A live row: a concurrent duplicate committed it first. */
		if (lookup(db, req, r->operation, now, fp, res) != 1)
			reply_failed(res);
		db_rollback(db);
		return;
	}
	if (id == -1 || delete_expired(db, now, SWEEP_PER_CLAIM) == -1) {
		db_rollback(db);
		reply_failed(res);
		return;
	}
	run_handler(db, r, req, res);
	if (res->status < 200 || res->status >= 500 || store(db, id, res) == -1) {
		db_rollback(db);
		reply_failed(res);
		return;
	}
	if ((rc = db_commit(db)) != SQLITE_OK) {
		rc == SQLITE_BUSY ? reply_busy(res) : reply_failed(res);
		return;
	}
	res->outcome = "new";
}

void
idem_run(struct db *db, const struct route *r, struct request *req,
    struct response *res)
{
	struct buf	 why = { 0 };
	char		 fp[65], now[21];

	res->operation = r->operation;
	res->outcome = "rejected";
	if (req->idempotency_key == NULL) {
		http_problem(res, PROBLEM_KEY_MISSING, "POST %s needs an "
		    "Idempotency-Key header with a value unique to this "
		    "operation, e.g. Idempotency-Key: \"order-2026-0001\". "
		    "A retry sends the same key again.", req->path);
		return;
	}
	if (idem_key_parse(req->idempotency_key, res->key) == -1) {
		res->key[0] = '\0';	/* not fit for the log */
		http_problem(res, PROBLEM_KEY_INVALID, "The Idempotency-Key must "
		    "be a quoted string (\"...\") or a bare token of 1 to %d "
		    "printable ASCII characters.", IDEM_KEY_MAX);
		return;
	}
	if (!is_json(req->content_type)) {
		http_problem(res, PROBLEM_UNSUPPORTED_MEDIA_TYPE, "Send the body "
		    "as JSON with \"Content-Type: application/json\".");
		return;
	}
	if (req->body_too_large) {
		http_problem(res, PROBLEM_PAYLOAD_TOO_LARGE, "The body may be at "
		    "most %d bytes.", HTTP_BODY_MAX);
		return;
	}
	if ((req->json = body_parse(req->body, req->body_len, &why)) == NULL) {
		http_problem(res, PROBLEM_INVALID_JSON, "The body is not valid "
		    "JSON: %s. The key was not used; fix the body and retry "
		    "with the same key.", why.data);
		buf_free(&why);
		return;
	}
	if (body_validate(req->json, r->body, &why) == -1) {
		http_problem(res, PROBLEM_INVALID_BODY, "%s. The key was not "
		    "used; fix the body and retry with the same key.", why.data);
		buf_free(&why);
		return;
	}
	idem_fingerprint(req->json, fp);

	/* A replay needs no write lock: answer it from a plain read. The
	 * UNIQUE constraint inside the write transaction guards new keys. */
	time_rfc3339(time(NULL), now);
	switch (lookup(db, req, r->operation, now, fp, res)) {
	case 1:
		return;
	case 0:
		claim_and_run(db, r, req, fp, res);
		return;
	default:
		reply_failed(res);
	}
}

long
idem_sweep(struct db *db, int batch)
{
	long	 n, total = 0;
	char	 now[21];

	time_rfc3339(time(NULL), now);
	do {
		if (db_begin(db, 1) != SQLITE_OK)
			return -1;
		if ((n = delete_expired(db, now, batch)) == -1 ||
		    db_commit(db) != SQLITE_OK) {
			db_rollback(db);
			return -1;
		}
		total += n;
	} while (n == batch);
	return total;
}

void
idem_keys_list(struct db *db, const struct request *req, struct response *res)
{
	struct json_object	*list, *o;
	sqlite3_stmt		*st;
	long			 limit;

	if ((limit = http_query_long(req, "limit", 100, 1, 1000)) == -1) {
		http_problem(res, PROBLEM_INVALID_PARAMETER,
		    "limit must be an integer from 1 to 1000.");
		return;
	}
	if ((st = db_stmt(db, "SELECT idem_key AS key, operation, status, "
	    "response_status, fingerprint, created_at, expires_at "
	    "FROM idempotency_keys WHERE user_id = ? "
	    "ORDER BY created_at DESC, id DESC LIMIT ?")) == NULL) {
		reply_failed(res);
		return;
	}
	sqlite3_bind_int64(st, 1, req->user.id);
	sqlite3_bind_int64(st, 2, limit);
	if ((list = db_json_rows(db, st)) == NULL) {
		reply_failed(res);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "idempotency_keys", list);	/* steals list */
	http_json(res, 200, o);
}
