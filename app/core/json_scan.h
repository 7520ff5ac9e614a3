/* json_scan.h — a validating pre-scan of a JSON text, stricter than the
 * parser that then builds it: it finds what json-c lets through silently
 * (duplicate member names, escaped NULs, lone surrogates) and says where. */
#ifndef ONCESHOP_JSON_SCAN_H
#define ONCESHOP_JSON_SCAN_H

#include <stddef.h>

#include "util.h"

/* No route takes more than a handful of members; this bounds the cost of
 * finding duplicates (each name is compared with the object's others). */
#define JSON_SCAN_MEMBERS_MAX	256

/* Checks that the len bytes at s (which need not end with a NUL: nothing
 * past them is read) are exactly one JSON value (RFC 8259),
 * with only white space around it, and beyond the RFC that:
 *   - strings are valid UTF-8 and hold no NUL, raw or as \u0000;
 *   - every \u escape of a UTF-16 surrogate is half of a proper pair;
 *   - no object repeats a member name (compared after unescaping) or has
 *     more than JSON_SCAN_MEMBERS_MAX members;
 *   - values nest at most depth_max levels, counted as json-c counts them:
 *     every value is one level, the outermost is level 1.
 * Builds nothing. Returns 0, or -1 with the first problem, naming its byte
 * offset (from 0), appended to why. */
int	 json_scan(const char *s, size_t len, int depth_max, struct buf *why);

#endif
