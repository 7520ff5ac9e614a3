/* paysim.h — paysim, the payment-provider simulator: its handlers, POST
 * body and statements. main.c holds its route table; the core (app/core)
 * knows none of it. */
#ifndef ONCESHOP_PAYSIM_H
#define ONCESHOP_PAYSIM_H

#include "db.h"
#include "router.h"

extern const struct db_schema paysim_schema;	/* stmts.c */

/* paysim's own problem types (charges.c), beside the core's. */
extern const struct problem_type problem_card_declined;
extern const struct problem_type *const paysim_problems[];

/* charges.c */
handler_fn	 charges_create;
handler_fn	 charges_list;
before_claim_fn	 charges_before_claim;	/* tok_flaky's first attempt */
extern const struct body_type charge_body;

/* Sets how long the answers for tok_slow and tok_lost are held. */
void		 charges_configure(int slow_ms, int lost_ms);

/* paysim's statements (stmts.c), numbered on from the core's. */
enum paysim_stmt {
	STMT_CHARGE_INSERT = STMT_CORE__MAX,
	STMT_CHARGES_OF_REFERENCE, STMT_CHARGES_RECENT, STMT_FLAKY_ATTEMPT,
	STMT_PAYSIM__END
};

#endif
