/* handlers.h — every route handler and the bodies of the POSTs. Each
 * handler lives in the file of its resource; router.c maps onceshop's routes
 * to them, paysim.c paysim's. */
#ifndef ONCESHOP_HANDLERS_H
#define ONCESHOP_HANDLERS_H

#include "router.h"

handler_fn	 health_get;		/* health.c */
handler_fn	 products_list;		/* products.c */
handler_fn	 orders_create;		/* orders.c */
handler_fn	 orders_list;
handler_fn	 orders_get;
handler_fn	 payments_get;		/* payments.c */
handler_fn	 keys_list;		/* keys.c */

extern const struct body_type order_body;	/* orders.c */
extern const struct body_type payment_body;	/* payments.c */
extern const struct phased payment_phases;

/* paysim's, in charges.c (health_get serves it too) */
handler_fn	 charges_create;
handler_fn	 charges_list;
before_claim_fn	 charges_before_claim;	/* tok_flaky's first attempt */
extern const struct body_type charge_body;

/* Sets how long the answers for tok_slow and tok_lost are held. */
void		 charges_configure(int slow_ms, int lost_ms);

#endif
