/* provider.h — the payment provider's client: one charge request over
 * HTTP (libcurl) to paysim, or to a real provider that speaks the same
 * API (README, "paysim"). It never runs inside a transaction: the caller
 * holds no lock while it waits. */
#ifndef ONCESHOP_PROVIDER_H
#define ONCESHOP_PROVIDER_H

#include <stdint.h>

#define PROVIDER_TIMEOUT_DEFAULT	5000	/* ms */

struct provider_config {
	const char	*url;		/* ".../paysim": charges go to url/v1/charges */
	const char	*secret;	/* the bearer token the provider gave us */
	long		 timeout_ms;	/* the whole call, connecting included */
};

enum provider_result {
	PROVIDER_CHARGED,	/* 201: charge_id says which charge */
	PROVIDER_DECLINED,	/* 402: nothing charged, and never will be */
	PROVIDER_TIMEOUT,	/* no answer in time: charged or not, unknown */
	PROVIDER_UNREACHABLE,	/* could not connect: nothing was sent */
	PROVIDER_FAILED,	/* a 5xx, or an answer we cannot use: unknown */
};

struct charge_request {
	const char	*key;		/* the provider's Idempotency-Key */
	int64_t		 amount;
	const char	*currency;
	const char	*card;
	const char	*reference;	/* ours: the ledger lists charges by it */
};

struct charge_answer {
	enum provider_result	 result;
	int			 status;	/* the provider's, 0 if none */
	int			 retry_after;	/* its Retry-After, seconds
						 * (0: none) */
	char			 charge_id[65];	/* PROVIDER_CHARGED */
	char			 why[160];	/* for a detail and the log */
};

/* Sets the provider's address, secret and timeout; call once, before any
 * thread charges. Returns 0, or -1 if libcurl cannot start. */
int	 provider_configure(const struct provider_config *);

/* Asks the provider to charge, under req->key, and says what it answered.
 * Safe to repeat with the same request: the provider charges a key once. */
void	 provider_charge(const struct charge_request *, struct charge_answer *);

#endif
