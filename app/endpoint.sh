#!/usr/bin/env bash
# make endpoint NAME=refunds: scaffolds an idempotent POST /refunds in the
# shop, a template to edit. It writes the handler (app/shop/refunds.c: a
# field table, a lookup of one of the caller's orders, an ownership check
# and a refusal that is stored), its statements and route row, the table
# (written once, a migration of each engine includes it), the OpenAPI
# entry and an API test;
# `make test` then passes on both engines with no edit. NAME is a plural
# in lower case ("refunds"); its singular is NAME without the last s.
set -euo pipefail
cd "$(dirname "$0")/.."

name=${1:-}
if ! [[ $name =~ ^[a-z][a-z0-9_]{0,30}s$ ]]; then
	echo "usage: make endpoint NAME=<plural in lower case, e.g. refunds>" >&2
	exit 2
fi
one=${name%s}				# refund
ONE=${one^^}				# REFUND
Schema=$(sed -E 's/(^|_)([a-z])/\U\2/g' <<<"$one")	# Refund, GiftCard
Path=$(sed -E 's/(^|_)([a-z])/\U\2/g' <<<"$name")	# Refunds, GiftCards
for f in "app/shop/$name.c" "tests/api-$name.t"; do
	if [ -e "$f" ]; then
		echo "endpoint: $f exists already" >&2
		exit 1
	fi
done
if grep -q "\"/$name\"" app/shop/routes.c || grep -qw "$name" schema/*.sql schema/common/*.sql; then
	echo "endpoint: /$name or a table $name exists already" >&2
	exit 1
fi
last=$(cd schema && ls [0-9][0-9][0-9]-*.sql | tail -1)
version=$((10#${last%%-*} + 1))
nnn=$(printf '%03d' "$version")

# The handler.
cat > "app/shop/$name.c" <<EOF
/* $name.c — POST /$name, made by \`make endpoint NAME=$name\`: a template
 * to edit. A $one is recorded against one of the caller's orders, for at
 * most its total. The core does everything around it: the key, the body's
 * checks, the claim, one transaction for the claim, these writes and the
 * stored answer, and the replay. */
#include <inttypes.h>

#include "shop.h"

struct ${one}_in {
	int64_t	 order_id;
	int64_t	 amount;
};

/* Every member the body must have; anything else is a 400. */
static const struct field ${one}_fields[] = {
	F_INT(struct ${one}_in, order_id, 1, 999999999999999),
	F_INT(struct ${one}_in, amount, 1, 999999999999999),
	F_END,
};

const struct body_type ${one}_body = { ${one}_fields,
    sizeof(struct ${one}_in) };

void
${name}_create(struct db *db, const struct request *req, struct response *res)
{
	const struct ${one}_in	*in = req->in;
	struct stmt		*st = db_stmt(db, STMT_${ONE}_ORDER);
	enum db_rc		 rc;
	int64_t			 total = 0;

	/* The order must be the caller's: another user's is 404, as if it
	 * did not exist. */
	stmt_int(st, 1, in->order_id);
	stmt_int(st, 2, req->user.id);
	if ((rc = stmt_step(st)) == DB_ROW)
		total = col_int(st, 0);
	stmt_reset(st);
	if (rc != DB_ROW && rc != DB_DONE) {	/* stmt_step logged it */
		http_problem(res, &problem_internal_error, "The order could not "
		    "be read; see the server log. Nothing was written.");
		return;
	}
	/* A refusal the handler decides (4xx) is stored under the key and
	 * replayed, like a success; what the handler wrote is rolled back. */
	if (rc == DB_DONE) {
		http_problem(res, &problem_order_not_found, "You have no order "
		    "%" PRId64 ". This answer is stored under your key.",
		    in->order_id);
		return;
	}
	if (in->amount > total) {
		http_problem(res, &problem_amount_mismatch, "amount %" PRId64
		    " is more than order %" PRId64 "'s total, %" PRId64 ". "
		    "This answer is stored under your key.", in->amount,
		    in->order_id, total);
		return;
	}

	st = db_stmt(db, STMT_${ONE}_INSERT);
	stmt_int(st, 1, req->user.id);
	stmt_int(st, 2, in->order_id);
	stmt_int(st, 3, in->amount);
	stmt_text(st, 4, req->now_text);
	if (stmt_step(st) != DB_ROW) {
		stmt_reset(st);
		http_problem(res, &problem_internal_error, "The $one could not "
		    "be saved; see the server log. Nothing was written.");
		return;
	}
	http_json(res, 201, stmt_json_row(st));
	stmt_reset(st);
}
EOF

# Its statements, declarations and route row.
perl -0pi -e "s{(\t/\* new statements go above this line \*/)}{\t/* $name.c */\n\tSTMT_${ONE}_ORDER, STMT_${ONE}_INSERT,\n\$1}" app/shop/shop.h
perl -0pi -e "s{(\n/\* onceshop's statements)}{\nhandler_fn\t ${name}_create;\t\t/* $name.c */\nextern const struct body_type ${one}_body;\n\$1}" app/shop/shop.h
perl -0pi -e "s{(\n\};\n\nconst struct db_schema shop_schema)}{\n\n\t/* $name.c: the caller's order, and a $one of it */\n\tP(${ONE}_ORDER) =\n\t    S(\"SELECT total FROM orders WHERE id = ? AND user_id = ?\"),\n\tP(${ONE}_INSERT) =\n\t    S(\"INSERT INTO $name (user_id, order_id, amount, created_at) \"\n\t    \"VALUES (?, ?, ?, ?) RETURNING id, order_id, amount, created_at\"),\$1}" app/shop/stmts.c
perl -0pi -e "s{\.version = \d+,}{.version = $version,}" app/shop/stmts.c
perl -0pi -e "s{(\n\};\n\nconst struct api shop_api)}{\n\t{ .method = METHOD_POST, .path = \"/$name\", .handler = ${name}_create,\n\t    .operation = \"create-$one\", .body = &${one}_body },\$1}" app/shop/routes.c

# The table, written once (schema/common: SQLite's type names, which
# PostgreSQL reads as its own), and the migration of each engine.
cat > "schema/common/$name.sql" <<EOF
-- $name.sql — the table of POST /$name (make endpoint NAME=$name).
CREATE TABLE $name (
	id		INTEGER PRIMARY KEY,
	user_id		INTEGER NOT NULL REFERENCES users(id),
	order_id	INTEGER NOT NULL REFERENCES orders(id),
	amount		INTEGER NOT NULL CHECK (amount > 0),
	created_at	TEXT NOT NULL
);
CREATE INDEX ${name}_order ON $name(order_id);
EOF
printf -- '-- %s-%s.sql — POST /%s.\n\\ir common/%s.sql\n' "$nnn" "$name" "$name" "$name" \
	> "schema/$nnn-$name.sql"
printf -- '-- %s-%s.sql — POST /%s.\n\\ir ../common/%s.sql\n' "$nnn" "$name" "$name" "$name" \
	> "schema/pg/$nnn-$name.sql"

# The OpenAPI entry.
jq --arg p "/$name" --arg one "$one" --arg S "$Schema" --arg P "$Path" '
  .paths[$p] = { options: {
    tags: ["HTTP"], summary: ("Methods of " + $p), operationId: ("options" + $P),
    description: "Answers 204 with `Allow: POST, OPTIONS`, no body; needs no token.",
    security: [],
    responses: {
      "204": { description: "The methods, in `Allow`.",
        headers: { Allow: { "$ref": "#/components/headers/Allow" } } },
      "400": { "$ref": "#/components/responses/BadRequest" },
      default: { "$ref": "#/components/responses/AnyProblem" } } },
  post: {
    tags: ["Shop"], summary: ("Record a " + $one),
    description: ("Records a " + $one + " of one of the caller'"'"'s orders, for at most its total. Answers the handler decided (201, 404, 422) are stored under the key and replayed with `Idempotent-Replayed: true`; refusals before it ran (400, 401, 413, 415) and 5xx are not stored."),
    operationId: ("create" + $S),
    parameters: [{ "$ref": "#/components/parameters/IdempotencyKey" }],
    requestBody: { required: true, content: { "application/json": {
      schema: { "$ref": ("#/components/schemas/" + $S + "In") } } } },
    responses: {
      "201": { description: ("The " + $one + ". A replay of it carries `Idempotent-Replayed: true`."),
        content: { "application/json": { schema: { "$ref": ("#/components/schemas/" + $S) } } },
        headers: { "Idempotent-Replayed": { "$ref": "#/components/headers/Idempotent-Replayed" } } },
      "400": { "$ref": "#/components/responses/PostBadRequest" },
      "401": { "$ref": "#/components/responses/Unauthorized" },
      "404": { "$ref": "#/components/responses/OrderNotFound" },
      "413": { "$ref": "#/components/responses/PayloadTooLarge" },
      "415": { "$ref": "#/components/responses/UnsupportedMediaType" },
      "422": { "$ref": "#/components/responses/IdempotencyKeyReusedOrAmountMismatch" },
      "500": { "$ref": "#/components/responses/InternalError" },
      "503": { "$ref": "#/components/responses/ServiceBusy" },
      "507": { "$ref": "#/components/responses/InsufficientStorage" },
      default: { "$ref": "#/components/responses/AnyProblem" } } } }
  | .components.schemas[$S + "In"] = {
    type: "object", additionalProperties: false, required: ["order_id", "amount"],
    description: ("No other member is accepted (400 `invalid-body`)."),
    properties: {
      order_id: { type: "integer", minimum: 1, maximum: 999999999999999, description: "One of the caller'"'"'s orders (else 404 `order-not-found`)." },
      amount: { type: "integer", minimum: 1, maximum: 999999999999999, description: "Integer yen, at most the order'"'"'s total (else 422 `amount-mismatch`)." } },
    examples: [{ order_id: 1, amount: 1200 }] }
  | .components.schemas[$S] = {
    type: "object", additionalProperties: false, required: ["id", "order_id", "amount", "created_at"],
    properties: {
      id: { type: "integer", minimum: 1, maximum: 999999999999999, description: ("The " + $one + ".") },
      order_id: { type: "integer", minimum: 1, maximum: 999999999999999, description: "The order." },
      amount: { type: "integer", minimum: 1, maximum: 999999999999999, description: "Integer yen." },
      created_at: { "$ref": "#/components/schemas/Timestamp" } } }
' www/openapi.json > www/openapi.json.new && mv www/openapi.json.new www/openapi.json

# The API test.
sed "s/@name@/$name/g; s/@one@/$one/g" > "tests/api-$name.t" <<'EOF'
#!/usr/bin/env bash
# POST /@name@ (made by `make endpoint NAME=@name@`): a @one@ of one of the
# caller's orders. A success and the refusals the handler decides are
# stored and replayed; a bad body is not; another body under the same key
# is 422; another user's order is 404.
. "$(dirname "$0")/lib.sh"
start_server

req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: @one@-order" \
	-d '{"items":[{"sku":"TEA-SENCHA","quantity":2}]}'
order=$(json .id) total=$(json .total)
body='{"order_id":'$order',"amount":'$total'}'

req POST /@name@ -H "$ALICE" -H "$JSON" -H "Idempotency-Key: @one@-1" -d "$body"
is "$STATUS $(json .order_id) $(json .amount)" "201 $order $total" "POST /@name@ records a @one@ of the order"
first=$BODY
req POST /@name@ -H "$ALICE" -H "$JSON" -H "Idempotency-Key: @one@-1" -d "$body"
is "$STATUS $(header Idempotent-Replayed)" "201 true" "... the same key and body again: replayed"
is "$BODY" "$first" "... byte for byte"
is "$(sql 'SELECT count(*) FROM @name@')" 1 "... and one row"

req POST /@name@ -H "$ALICE" -H "$JSON" -H "Idempotency-Key: @one@-1" \
	-d '{"order_id":'$order',"amount":1}'
is "$STATUS $(json .type)" "422 /problems/idempotency-key-reused" "another body under the same key: 422"

req POST /@name@ -H "$BOB" -H "$JSON" -H "Idempotency-Key: @one@-2" -d "$body"
is "$STATUS $(json .type)" "404 /problems/order-not-found" "another user's order: 404, as if it did not exist"
req POST /@name@ -H "$BOB" -H "$JSON" -H "Idempotency-Key: @one@-2" -d "$body"
is "$STATUS $(header Idempotent-Replayed)" "404 true" "... a refusal the handler decided is stored and replayed"

req POST /@name@ -H "$ALICE" -H "$JSON" -H "Idempotency-Key: @one@-3" \
	-d '{"order_id":'$order',"amount":'$((total + 1))'}'
is "$STATUS $(json .type)" "422 /problems/amount-mismatch" "more than the order's total: 422"

req POST /@name@ -H "$ALICE" -H "$JSON" -H "Idempotency-Key: @one@-4" -d '{"order_id":'$order'}'
is "$STATUS $(json .type)" "400 /problems/invalid-body" "a body without amount: 400"
req POST /@name@ -H "$ALICE" -H "$JSON" -H "Idempotency-Key: @one@-4" -d "$body"
is "$STATUS" 201 "... not stored: the corrected body under the same key is recorded"
req POST /@name@ -H "$ALICE" -H "$JSON" -d "$body"
is "$STATUS $(json .type)" "400 /problems/idempotency-key-missing" "no Idempotency-Key: 400"
is "$(sql 'SELECT count(*) FROM @name@')" 2 "two @name@ in all"

integrity_ok
done_testing
EOF
chmod +x "tests/api-$name.t"

echo "made POST /$name:"
echo "  app/shop/$name.c             the handler: its body, a lookup, an ownership check, a stored refusal"
echo "  app/shop/shop.h, stmts.c, routes.c   its statements, declarations and route row"
echo "  schema/common/$name.sql       its table, and migration $nnn of each engine (schema version $version)"
echo "  www/openapi.json             its entry"
echo "  tests/api-$name.t            its test"
echo "next: make test; then make it yours (README, \"Adding an idempotent endpoint\")"
