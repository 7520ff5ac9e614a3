/* handlers.h — every route handler and the bodies of the POSTs. Each
 * handler lives in the file of its resource; router.c maps routes to them. */
#ifndef ONCESHOP_HANDLERS_H
#define ONCESHOP_HANDLERS_H

#include "router.h"

handler_fn	 health_get;		/* health.c */
handler_fn	 products_list;		/* products.c */
handler_fn	 orders_create;		/* orders.c */
handler_fn	 orders_list;
handler_fn	 orders_get;
handler_fn	 payments_confirm;	/* payments.c */
handler_fn	 keys_list;		/* keys.c */

extern const struct body_type order_body;	/* orders.c */
extern const struct body_type payment_body;	/* payments.c */

#endif
