/* stmts.c — the SQL text of paysim's statements (paysim.h), and its
 * database: the schema version its migrations (schema/paysim/) reach. */
#include <stddef.h>

#include "paysim.h"

#define S	STMT_SQL
#define P(id)	[STMT_##id - STMT_CORE__MAX]

/* A charge as paysim shows it, in its answer and in its ledger. */
#define CHARGE_COLUMNS	"'ch_' || id AS id, status, amount, currency, card, " \
	"reference, created_at"

static const struct stmt_def stmts[STMT_PAYSIM__END - STMT_CORE__MAX] = {
	P(CHARGE_INSERT) =
	    S("INSERT INTO charges (amount, currency, card, reference, "
	    "status, idem_key, created_at) VALUES (?, ?, ?, ?, 'succeeded', ?, ?) "
	    "RETURNING " CHARGE_COLUMNS),
	P(CHARGES_OF_REFERENCE) =
	    S("SELECT " CHARGE_COLUMNS " FROM charges WHERE reference = ? "
	    "ORDER BY charges.id LIMIT ?"),
	/* The newest ones, oldest first. */
	P(CHARGES_RECENT) =
	    S("SELECT " CHARGE_COLUMNS " FROM (SELECT * FROM charges "
	    "ORDER BY id DESC LIMIT ?) AS c ORDER BY c.id"),
	/* A row only for a key's first attempt. */
	P(FLAKY_ATTEMPT) =
	    S("INSERT INTO flaky_attempts (user_id, idem_key, created_at) "
	    "VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1"),
};

const struct db_schema paysim_schema = {
	.name = "paysim",
	.version = 4,		/* the last schema/paysim/NNN-*.sql */
	.stmts = stmts,
	.nstmts = sizeof(stmts) / sizeof(stmts[0]),
};
