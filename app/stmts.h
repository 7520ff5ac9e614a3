/* stmts.h — every SQL statement onceshop (and paysim) runs, named. Each
 * connection prepares all those of its database's schema when it opens
 * (db_open), so a typo fails at start-up, not in the middle of a request;
 * handlers ask for one by name. The texts live in stmts.c, per engine
 * where the dialects differ. */
#ifndef ONCESHOP_STMTS_H
#define ONCESHOP_STMTS_H

#define STMT_LIST(X) \
	/* transactions and the writer's savepoints */ \
	X(BEGIN) X(BEGIN_IMMEDIATE) X(COMMIT) X(ROLLBACK) \
	X(SAVEPOINT_JOB) X(RELEASE_JOB) X(ROLLBACK_TO_JOB) \
	/* auth.c */ \
	X(TOKEN_USER) X(USER_INSERT) X(TOKEN_INSERT) \
	/* idempotency.c, keys.c */ \
	X(KEY_SELECT) X(KEY_CLAIM) X(KEY_STORE) X(KEYS_SWEEP) X(KEYS_LIST) \
	/* idem_phases.c: leases and recovery points */ \
	X(KEY_TAKE_OVER) X(KEY_ADVANCE) X(KEY_RELEASE) X(KEY_BACKOFF) X(KEYS_STALLED) \
	/* health.c, products.c */ \
	X(HEALTH) X(PRODUCTS_LIST) \
	/* orders.c */ \
	X(STOCK_TAKE) X(PRODUCT_STOCK) X(ORDER_INSERT) X(ITEM_INSERT) \
	X(ORDER_SELECT) X(ORDER_ITEMS) X(ORDERS_OF_USER) \
	/* payments.c */ \
	X(ORDER_FOR_PAYMENT) X(PAYMENT_INSERT) X(PAYMENT_LOAD) \
	X(PAYMENT_SETTLE) X(ORDER_MARK_PAID) X(PAYMENT_OF_USER) \
	/* paysim: charges.c, paysim.c */ \
	X(CHARGE_INSERT) X(CHARGES_OF_REFERENCE) X(CHARGES_RECENT) \
	X(FLAKY_ATTEMPT) X(USER_TOKENS_CLEAR) \
	/* new statements go above this line */

enum stmt_id {
#define STMT_ENUM(id) STMT_##id,
	STMT_LIST(STMT_ENUM)
#undef STMT_ENUM
	STMT__MAX
};

/* Which database a statement belongs to. */
enum db_schema {
	SCHEMA_ANY,		/* transactions, savepoints */
	SCHEMA_COMMON,		/* users, tokens and keys: every program's */
	SCHEMA_SHOP,		/* onceshop's own tables */
	SCHEMA_PAYSIM,		/* the provider simulator's own tables */
};

struct stmt_def {
	enum db_schema	 schema;
	const char	*sql;
	const char	*pg;	/* PostgreSQL's text where it differs; NULL:
				 * sql (its ? become $1, $2, ...) */
};

/* Every statement's schema and SQL text, indexed by enum stmt_id. */
extern const struct stmt_def stmt_defs[STMT__MAX];

#endif
