/* shop.h — onceshop, the program: its route table, handlers, POST bodies,
 * statements and problem types. Each handler lives in the file of its
 * resource; routes.c maps the routes to them. The core (app/core) knows
 * none of it. */
#ifndef ONCESHOP_SHOP_H
#define ONCESHOP_SHOP_H

#include "db.h"
#include "router.h"

extern const struct api shop_api;		/* routes.c */
extern const struct problem_type *const shop_problems[];	/* problems.c */
extern const struct db_schema shop_schema;	/* stmts.c */

handler_fn	 products_list;		/* products.c */
handler_fn	 orders_create;		/* orders.c */
uint32_t	 orders_lane(const struct request *);	/* its lane hint */
handler_fn	 orders_list;
handler_fn	 orders_get;
handler_fn	 payments_get;		/* payments.c */

extern const struct body_type order_body;	/* orders.c */
extern const struct body_type payment_body;	/* payments.c */
extern const struct phased payment_phases;

/* onceshop's own problem types (problems.c), beside the core's. */
extern const struct problem_type problem_unknown_product;
extern const struct problem_type problem_out_of_stock;
extern const struct problem_type problem_total_too_large;
extern const struct problem_type problem_order_not_found;
extern const struct problem_type problem_amount_mismatch;
extern const struct problem_type problem_order_already_paid;
extern const struct problem_type problem_payment_in_progress;
extern const struct problem_type problem_payment_declined;
extern const struct problem_type problem_provider_unavailable;

/* onceshop's statements (stmts.c), numbered on from the core's. */
enum shop_stmt {
	/* products.c */
	STMT_PRODUCTS_LIST = STMT_CORE__MAX,
	/* orders.c */
	STMT_STOCK_TAKE, STMT_PRODUCT_STOCK, STMT_ORDER_NEXT_ID,
	STMT_ORDER_INSERT, STMT_ITEM_INSERT, STMT_ORDER_SELECT, STMT_ORDER_ITEMS,
	STMT_ORDERS_OF_USER,
	/* payments.c */
	STMT_ORDER_FOR_PAYMENT, STMT_PAYMENT_INSERT, STMT_PAYMENT_LOAD,
	STMT_PAYMENT_SETTLE, STMT_ORDER_MARK_PAID, STMT_PAYMENT_OF_USER,
	/* new statements go above this line */
	STMT_SHOP__END
};

#endif
