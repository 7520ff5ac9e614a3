/* problems.c — onceshop's own problem types (shop.h; problems.h). */
#include <stddef.h>

#include "shop.h"

const struct problem_type problem_unknown_product = {
	.name = "unknown-product", .status = 422,
	.title = "No product with that sku" };
const struct problem_type problem_out_of_stock = {
	.name = "out-of-stock", .status = 409,
	.title = "Not enough stock" };
const struct problem_type problem_total_too_large = {
	.name = "total-too-large", .status = 422,
	.title = "The order's total is too large" };
const struct problem_type problem_order_not_found = {
	.name = "order-not-found", .status = 404,
	.title = "No such order" };
const struct problem_type problem_amount_mismatch = {
	.name = "amount-mismatch", .status = 422,
	.title = "Amount or currency differ from the order's total" };
const struct problem_type problem_order_already_paid = {
	.name = "order-already-paid", .status = 409,
	.title = "The order is already paid" };
const struct problem_type problem_payment_in_progress = {
	.name = "payment-in-progress", .status = 409,
	.title = "Another payment for this order is in progress" };
const struct problem_type problem_payment_declined = {
	.name = "payment-declined", .status = 402,
	.title = "The payment was declined" };
const struct problem_type problem_provider_unavailable = {
	.name = "payment-provider-unavailable", .status = 502,
	.title = "The payment provider could not be reached" };

const struct problem_type *const shop_problems[] = {
	&problem_unknown_product,
	&problem_out_of_stock,
	&problem_total_too_large,
	&problem_order_not_found,
	&problem_amount_mismatch,
	&problem_order_already_paid,
	&problem_payment_in_progress,
	&problem_payment_declined,
	&problem_provider_unavailable,
	NULL,
};
