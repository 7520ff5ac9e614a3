/* problems.c — the core's problem types (problems.h). */
#include <stddef.h>
#include <stdio.h>

#include "problems.h"

const struct problem_type problem_not_found = {
	.name = "not-found", .status = 404,
	.title = "Not found" };
const struct problem_type problem_method_not_allowed = {
	.name = "method-not-allowed", .status = 405,
	.title = "Method not allowed" };
const struct problem_type problem_unauthorized = {
	.name = "unauthorized", .status = 401,
	.title = "Missing or invalid bearer token" };
const struct problem_type problem_unsupported_media_type = {
	.name = "unsupported-media-type", .status = 415,
	.title = "Content-Type must be application/json" };
const struct problem_type problem_payload_too_large = {
	.name = "payload-too-large", .status = 413,
	.title = "Body larger than 64 KiB" };
const struct problem_type problem_invalid_json = {
	.name = "invalid-json", .status = 400,
	.title = "Body is not valid JSON" };
const struct problem_type problem_invalid_body = {
	.name = "invalid-body", .status = 400,
	.title = "Body does not match what this endpoint accepts" };
const struct problem_type problem_invalid_parameter = {
	.name = "invalid-parameter", .status = 400,
	.title = "Invalid query parameter" };
const struct problem_type problem_key_missing = {
	.name = "idempotency-key-missing", .status = 400,
	.title = "The request needs an Idempotency-Key header" };
const struct problem_type problem_key_invalid = {
	.name = "idempotency-key-invalid", .status = 400,
	.title = "The Idempotency-Key header is malformed" };
const struct problem_type problem_key_reused = {
	.name = "idempotency-key-reused", .status = 422,
	.title = "This Idempotency-Key was used for a different request" };
const struct problem_type problem_key_in_progress = {
	.name = "idempotency-key-in-progress", .status = 409,
	.title = "A request with this Idempotency-Key is still being processed" };
const struct problem_type problem_service_busy = {
	.name = "service-busy", .status = 503,
	.title = "The service is busy; retry shortly" };
const struct problem_type problem_insufficient_storage = {
	.name = "insufficient-storage", .status = 507,
	.title = "The server's disk is full" };
const struct problem_type problem_internal_error = {
	.name = "internal-error", .status = 500,
	.title = "Internal server error" };

const struct problem_type *const core_problems[] = {
	&problem_not_found,
	&problem_method_not_allowed,
	&problem_unauthorized,
	&problem_unsupported_media_type,
	&problem_payload_too_large,
	&problem_invalid_json,
	&problem_invalid_body,
	&problem_invalid_parameter,
	&problem_key_missing,
	&problem_key_invalid,
	&problem_key_reused,
	&problem_key_in_progress,
	&problem_service_busy,
	&problem_insufficient_storage,
	&problem_internal_error,
	NULL,
};

void
problems_print(const struct problem_type *const list[])
{
	for (; *list != NULL; list++)
		printf("%s\t%d\t%s\n", (*list)->name, (*list)->status,
		    (*list)->title);
}
