/* builtin.h — handlers any program may route: its health, and the
 * caller's idempotency keys. */
#ifndef ONCESHOP_BUILTIN_H
#define ONCESHOP_BUILTIN_H

#include "router.h"

handler_fn	 health_get;		/* health.c */
handler_fn	 keys_list;		/* keys.c */

#endif
