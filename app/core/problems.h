/* problems.h — problem types (RFC 9457): each is a name (the type is
 * "/problems/<name>"), an HTTP status and a title, and its page under
 * www/problems/<name>.html carries the same title (tests/problems.t
 * checks; `onceshop problems` and `paysim problems` print the lists).
 * These are the core's, which any program's requests may be answered
 * with; a program defines its own the same way, beside its handlers. */
#ifndef ONCESHOP_PROBLEMS_H
#define ONCESHOP_PROBLEMS_H

struct problem_type {
	const char	*name;
	int		 status;
	const char	*title;
};

extern const struct problem_type problem_not_found;
extern const struct problem_type problem_method_not_allowed;
extern const struct problem_type problem_unauthorized;
extern const struct problem_type problem_unsupported_media_type;
extern const struct problem_type problem_payload_too_large;
extern const struct problem_type problem_invalid_json;
extern const struct problem_type problem_invalid_body;
extern const struct problem_type problem_invalid_parameter;
extern const struct problem_type problem_key_missing;
extern const struct problem_type problem_key_invalid;
extern const struct problem_type problem_key_reused;
extern const struct problem_type problem_key_in_progress;
extern const struct problem_type problem_service_busy;
extern const struct problem_type problem_insufficient_storage;
extern const struct problem_type problem_internal_error;

/* Every one of the core's, ending with NULL. */
extern const struct problem_type *const core_problems[];

/* Prints each of list's problem types as a line "name<TAB>status<TAB>title". */
void	 problems_print(const struct problem_type *const list[]);

#endif
