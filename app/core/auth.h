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

/* A token found is trusted for token_cache_ms after its look-up (0: each
 * request looks its token up); see auth_refresh. */
void	 auth_configure(long token_cache_ms);

/* Once half of a token's time is gone, the first request to use it has
 * its thread look it up again here, on db (NULL: it cannot), after the
 * request is answered: a token in use does not run out, and no request
 * waits for its look-up. Nothing to do for a thread with no look-up due. */
void	 auth_refresh(struct db *);

/* What auth_token_add may do to the user. */
enum {
	AUTH_NEW_USER,		/* create the user; fail if they exist */
	AUTH_MORE_TOKENS,	/* add a token to an existing user */
	AUTH_ONLY_TOKEN,	/* create the user if missing; the token
				 * replaces their others (paysim's merchant) */
};

/* Gives user name the token (only its SHA-256 is stored) as how says, in
 * one transaction on db. Returns 0; -2 when the user exists (AUTH_NEW_USER)
 * or does not (AUTH_MORE_TOKENS), nothing written; -1 on error. */
int	 auth_token_add(struct db *, const char *name, const char *token,
	     int how);

/* The same with a fresh random token, written to token as 64 hex digits. */
int	 auth_user_add(struct db *, const char *name, int how,
	     char token[65]);

#endif
