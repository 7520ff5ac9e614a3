/* auth.c — bearer token authentication and token issuing. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>

#include "auth.h"

int
auth_user(struct db *db, const char *authorization, struct user *user)
{
	sqlite3_stmt	*st;
	const char	*token;
	char		 hash[65];
	int		 rc;

	if (authorization == NULL ||
	    strncasecmp(authorization, "Bearer ", 7) != 0)
		return -1;
	for (token = authorization + 7; *token == ' '; token++)
		continue;
	if (*token == '\0' || strlen(token) > 512)
		return -1;
	sha256_hex(token, strlen(token), hash);

	if ((st = db_stmt(db,
	    "SELECT u.id, u.name FROM api_tokens t "
	    "JOIN users u ON u.id = t.user_id WHERE t.token_sha256 = ?")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	if ((rc = db_step(db, st)) == SQLITE_ROW) {
		user->id = sqlite3_column_int64(st, 0);
		snprintf(user->name, sizeof(user->name), "%s",
		    (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
auth_user_add(struct db *db, const char *name, char token[65])
{
	unsigned char	 raw[32];
	char		 hash[65], now[21];
	sqlite3_stmt	*st;
	size_t		 i;
	int		 rc = -1;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	for (i = 0; i < sizeof(raw); i++)
		snprintf(token + 2 * i, 3, "%02x", raw[i]);
	sha256_hex(token, 64, hash);
	time_rfc3339(time(NULL), now);

	if (db_begin(db, 1) != SQLITE_OK)
		return -1;
	if ((st = db_stmt(db, "INSERT INTO users (name, created_at) "
	    "VALUES (?, ?) ON CONFLICT (name) DO NOTHING")) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	if (db_exec_stmt(db, st) == -1)
		goto out;
	if ((st = db_stmt(db, "INSERT INTO api_tokens "
	    "(token_sha256, user_id, created_at) "
	    "SELECT ?, id, ? FROM users WHERE name = ?")) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	if (db_exec_stmt(db, st) == -1)
		goto out;
	rc = 0;
out:
	if (rc == 0 && db_commit(db) != SQLITE_OK)
		rc = -1;
	else if (rc != 0)
		db_rollback(db);
	return rc;
}
