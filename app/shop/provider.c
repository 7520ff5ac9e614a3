/* provider.c — POST <url>/v1/charges with libcurl, one easy handle per
 * call (a payment is rare next to the requests around it, and a handle of
 * its own keeps the threads apart). */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "log.h"
#include "provider.h"
#include "util.h"

#define ANSWER_MAX	(64 * 1024)	/* a charge is a few hundred bytes */

static struct provider_config	 config;
static char			 charges_url[1024];
static char			 auth_header[512];

int
provider_configure(const struct provider_config *c)
{
	config = *c;
	if (snprintf(charges_url, sizeof(charges_url), "%s/v1/charges",
	    c->url) >= (int)sizeof(charges_url) ||
	    snprintf(auth_header, sizeof(auth_header), "Authorization: Bearer "
	    "%s", c->secret) >= (int)sizeof(auth_header)) {
		log_error("the provider's URL or secret is too long");
		return -1;
	}
	/* Not thread-safe itself: once, before the threads start. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("libcurl could not start");
		return -1;
	}
	return 0;
}

/* libcurl's write callback: keeps the answer, up to ANSWER_MAX bytes
 * (more makes the transfer fail). */
static size_t
keep(char *p, size_t size, size_t n, void *arg)
{
	struct buf	*b = arg;

	n *= size;	/* size is always 1 */
	if (b->len + n > ANSWER_MAX)
		return 0;
	buf_append(b, p, n);
	return n;
}

/* Reads the charge's id from a 201's body. Returns 0, or -1 if the body is
 * not a succeeded charge with a sensible id. */
static int
charge_id(const struct buf *body, char id[65])
{
	struct json_object	*o, *v;
	const char		*s;
	int			 rc = -1;

	if ((o = json_tokener_parse(body->data ? body->data : "")) == NULL)
		return -1;
	if (json_object_object_get_ex(o, "status", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    strcmp(json_object_get_string(v), "succeeded") == 0 &&
	    json_object_object_get_ex(o, "id", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    (s = json_object_get_string(v))[0] != '\0' &&
	    strlen(s) < 65 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == strlen(s)) {
		memcpy(id, s, strlen(s) + 1);
		rc = 0;
	}
	json_object_put(o);
	return rc;
}

/* Sets a from what curl's call returned (rc) and the answer. */
static void
judge(CURLcode rc, long status, const struct buf *body,
    struct charge_answer *a)
{
	a->status = (int)status;
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		a->result = PROVIDER_TIMEOUT;
		snprintf(a->why, sizeof(a->why), "it did not answer within "
		    "%ld ms", config.timeout_ms);
	} else if (rc == CURLE_COULDNT_CONNECT ||
	    rc == CURLE_COULDNT_RESOLVE_HOST) {
		a->result = PROVIDER_UNREACHABLE;
		snprintf(a->why, sizeof(a->why), "it could not be reached (%s)",
		    curl_easy_strerror(rc));
	} else if (rc != CURLE_OK) {
		a->result = PROVIDER_FAILED;
		snprintf(a->why, sizeof(a->why), "the call failed (%s)",
		    curl_easy_strerror(rc));
	} else if (status == 201 && charge_id(body, a->charge_id) == 0) {
		a->result = PROVIDER_CHARGED;
		snprintf(a->why, sizeof(a->why), "charged as %s", a->charge_id);
	} else if (status == 402) {
		a->result = PROVIDER_DECLINED;
		snprintf(a->why, sizeof(a->why), "the card was declined");
	} else {
		a->result = PROVIDER_FAILED;
		snprintf(a->why, sizeof(a->why), "it answered %ld%s", status,
		    status == 201 ? " with a body that is not a charge" : "");
	}
}

void
provider_charge(const struct charge_request *r, struct charge_answer *a)
{
	struct json_object	*o = json_object_new_object();
	struct curl_slist	*headers = NULL;
	struct buf		 answer = { 0 }, key = { 0 };
	CURL			*curl;
	CURLcode		 rc = CURLE_FAILED_INIT;
	curl_off_t		 wait = 0;
	long			 status = 0;

	memset(a, 0, sizeof(*a));
	/* json_object_object_add steals each new value's reference. */
	json_object_object_add(o, "amount", json_object_new_int64(r->amount));
	json_object_object_add(o, "currency",
	    json_object_new_string(r->currency));
	json_object_object_add(o, "card", json_object_new_string(r->card));
	json_object_object_add(o, "reference",
	    json_object_new_string(r->reference));
	/* An RFC 8941 string; our keys need no escapes. */
	buf_printf(&key, "Idempotency-Key: \"%s\"", r->key);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, auth_header);
	headers = curl_slist_append(headers, key.data);
	if ((curl = curl_easy_init()) != NULL && headers != NULL) {
		curl_easy_setopt(curl, CURLOPT_URL, charges_url);
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS,
		    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, config.timeout_ms);
		/* Threads: no signals (and so no SIGALRM for timeouts). */
		curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep);
		curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
		rc = curl_easy_perform(curl);
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &wait);
	}
	buf_append(&answer, "", 0);
	judge(rc, status, &answer, a);
	/* A wait it asks for, within reason (an hour). */
	a->retry_after = wait > 0 ? (int)(wait < 3600 ? wait : 3600) : 0;
	curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	json_object_put(o);
	buf_free(&answer);
	buf_free(&key);
}
