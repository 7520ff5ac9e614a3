/* auth.h — bearer tokens: who is calling, and issuing new tokens. Only the
 * SHA-256 of a token is ever stored. */
#ifndef ONCESHOP_AUTH_H
#define ONCESHOP_AUTH_H

#include "db.h"
#include "http.h"

/* Fills user from an "Authorization: Bearer <token>" value. Returns 0, or
 * -1 when the header is absent, malformed or names no token. */
int	 auth_user(struct db *, const char *authorization, struct user *);

/* Creates user name (or finds it) with a fresh random token, written to
 * token as 64 hex digits. Returns 0 or -1. */
int	 auth_user_add(struct db *, const char *name, char token[65]);

#endif
