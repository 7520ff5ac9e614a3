/* auth.h — bearer tokens: who is calling, and issuing new tokens. Only the
 * SHA-256 of a token is ever stored. */
#ifndef ONCESHOP_AUTH_H
#define ONCESHOP_AUTH_H

#include "db.h"
#include "http.h"
#include "router.h"

/* Fills req->user from its "Authorization: Bearer <token>". Returns 0, or
 * -1 with res set to 401 (no such token; in api's realm, with its token
 * hint) or 503 (the database failed: the token may be fine, so the client
 * must not drop it). */
int	 auth_user_or_reply(struct db *, const struct api *, struct request *,
	     struct response *);

/* Gives user name (created if missing) the token (only its SHA-256 is
 * stored), replacing the user's other tokens when replace is set, in one
 * transaction on db. Returns 0 or -1. */
int	 auth_token_add(struct db *, const char *name, const char *token,
	     int replace);

/* Creates user name (or finds it) with a fresh random token, written to
 * token as 64 hex digits, in one transaction on db. Returns 0 or -1. */
int	 auth_user_add(struct db *, const char *name, char token[65]);

#endif
