/* handlers.h — every route handler and the body tables of the POSTs. Each
 * handler lives in the file of its resource; see router.c for the routes. */
#ifndef ONCESHOP_HANDLERS_H
#define ONCESHOP_HANDLERS_H

#include "router.h"

handler_fn	 health_get;		/* health.c */
handler_fn	 products_list;		/* products.c */
handler_fn	 orders_create;		/* orders.c */
handler_fn	 orders_list;
handler_fn	 orders_get;
handler_fn	 payments_confirm;	/* payments.c */
handler_fn	 idem_keys_list;	/* idempotency.c */

extern const struct field order_fields[];
extern const struct field payment_fields[];

#endif
