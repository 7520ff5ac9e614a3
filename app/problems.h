/* problems.h — the one registry of the API's problem types (RFC 9457).
 * Each X(ID, name, status, title) gives the C enum PROBLEM_ID, the type
 * "/problems/<name>", the HTTP status and the title. The pages under
 * www/problems/<name>.html carry the same title (tests/problems.t checks;
 * `onceshop problems` prints the list). */
#ifndef ONCESHOP_PROBLEMS_H
#define ONCESHOP_PROBLEMS_H

#define PROBLEM_LIST(X) \
	X(NOT_FOUND, "not-found", 404, "Not found") \
	X(METHOD_NOT_ALLOWED, "method-not-allowed", 405, "Method not allowed") \
	X(UNAUTHORIZED, "unauthorized", 401, "Missing or invalid bearer token") \
	X(UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", 415, \
	    "Content-Type must be application/json") \
	X(PAYLOAD_TOO_LARGE, "payload-too-large", 413, "Body larger than 64 KiB") \
	X(INVALID_JSON, "invalid-json", 400, "Body is not valid JSON") \
	X(INVALID_BODY, "invalid-body", 400, \
	    "Body does not match what this endpoint accepts") \
	X(INVALID_PARAMETER, "invalid-parameter", 400, \
	    "Invalid query parameter") \
	X(KEY_MISSING, "idempotency-key-missing", 400, \
	    "The request needs an Idempotency-Key header") \
	X(KEY_INVALID, "idempotency-key-invalid", 400, \
	    "The Idempotency-Key header is malformed") \
	X(KEY_REUSED, "idempotency-key-reused", 422, \
	    "This Idempotency-Key was used for a different request") \
	X(KEY_IN_PROGRESS, "idempotency-key-in-progress", 409, \
	    "A request with this Idempotency-Key is still being processed") \
	X(UNKNOWN_PRODUCT, "unknown-product", 422, "No product with that sku") \
	X(OUT_OF_STOCK, "out-of-stock", 409, "Not enough stock") \
	X(TOTAL_TOO_LARGE, "total-too-large", 422, \
	    "The order's total is too large") \
	X(ORDER_NOT_FOUND, "order-not-found", 404, "No such order") \
	X(AMOUNT_MISMATCH, "amount-mismatch", 422, \
	    "Amount or currency differ from the order's total") \
	X(ORDER_ALREADY_PAID, "order-already-paid", 409, \
	    "The order is already paid") \
	X(PAYMENT_IN_PROGRESS, "payment-in-progress", 409, \
	    "Another payment for this order is in progress") \
	X(PAYMENT_DECLINED, "payment-declined", 402, \
	    "The payment was declined") \
	X(PROVIDER_UNAVAILABLE, "payment-provider-unavailable", 502, \
	    "The payment provider could not be reached") \
	/* paysim's: */ \
	X(CARD_DECLINED, "card-declined", 402, "The card was declined") \
	X(SERVICE_BUSY, "service-busy", 503, "The service is busy; retry shortly") \
	X(INSUFFICIENT_STORAGE, "insufficient-storage", 507, \
	    "The server's disk is full") \
	X(INTERNAL_ERROR, "internal-error", 500, "Internal server error")

enum problem {
#define PROBLEM_ENUM(id, name, status, title) PROBLEM_##id,
	PROBLEM_LIST(PROBLEM_ENUM)
#undef PROBLEM_ENUM
	PROBLEM__MAX
};

struct problem_type {
	const char	*name;	/* the type is "/problems/<name>" */
	int		 status;
	const char	*title;
};

extern const struct problem_type problem_types[PROBLEM__MAX];

#endif
