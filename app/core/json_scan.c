/* json_scan.c — a one-pass validating scan of a request body, run before
 * json-c builds the value from the same bytes.
 *
 * Why our own scan and not another library: json-c keeps the last of two
 * members with the same name, cuts a name at \u0000 and turns a lone
 * surrogate into U+FFFD, so two different bodies could share one
 * fingerprint, and it cannot tell us that it did any of this. A second
 * full JSON parser for these few checks would be more code to trust than
 * this: a recursive descent over RFC 8259's grammar that builds nothing,
 * keeps only the decoded member names of the objects it is inside, and
 * stops at the first problem with its byte offset. It checks the whole
 * grammar because finding names needs it, and because json-c's strict mode
 * still takes -.5, 05.5 and raw control characters in strings. Recursion is
 * at most depth_max deep; finding a duplicate compares a name with at most
 * JSON_SCAN_MEMBERS_MAX - 1 others. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"

struct scan {
	const unsigned char	*s;
	size_t			 len;
	size_t			 i;	/* the next byte */
	int			 depth_max;
	struct buf		 names;	/* member names of the open objects,
					 * decoded, each ending in a NUL */
	struct buf		*why;
};

static int	 scan_value(struct scan *, int);
static int	 scan_fail(struct scan *, const char *, ...)
		     __attribute__((format(printf, 2, 3)));

/* Appends the formatted problem to why. Returns -1. */
static int
scan_fail(struct scan *sc, const char *fmt, ...)
{
	char	 msg[320];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	buf_puts(sc->why, msg);
	return -1;
}

/* Returns the next byte, or -1 at the end of the text. */
static int
peek(const struct scan *sc)
{
	return sc->i < sc->len ? sc->s[sc->i] : -1;
}

/* Returns 1 if c (a byte or -1) is an ASCII digit. */
static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Moves past the white space JSON allows: space, tab, LF, CR. */
static void
skip_ws(struct scan *sc)
{
	while (peek(sc) == ' ' || peek(sc) == '\t' || peek(sc) == '\n' ||
	    peek(sc) == '\r')
		sc->i++;
}

/* Fails because wanted is not at sc->i. Returns -1. */
static int
scan_expected(struct scan *sc, const char *wanted)
{
	int	 c = peek(sc);

	if (c == -1)
		return scan_fail(sc, "the body ends at byte %zu, where %s "
		    "should be", sc->i, wanted);
	if (c == '\'')
		return scan_fail(sc, "strings must be in double quotes "
		    "(byte %zu)", sc->i);
	if (c > ' ' && c < 0x7f)
		return scan_fail(sc, "expected %s at byte %zu, found '%c'",
		    wanted, sc->i, c);
	return scan_fail(sc, "expected %s at byte %zu, found byte 0x%02x",
	    wanted, sc->i, (unsigned)c);
}

/* Appends code point cp (not a surrogate, at most U+10FFFF) as UTF-8. */
static void
put_utf8(struct buf *out, uint32_t cp)
{
	static const unsigned char	 lead[] = { 0, 0, 0xc0, 0xe0, 0xf0 };
	char				 u[4];
	size_t				 n, k;

	n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	for (k = n - 1; k > 0; k--, cp >>= 6)
		u[k] = (char)(0x80 | (cp & 0x3f));
	u[0] = (char)(lead[n] | cp);
	buf_append(out, u, n);
}

/* Returns the value of the four hex digits at byte at, or -1. */
static long
hex4(const struct scan *sc, size_t at)
{
	long	 v = 0;
	size_t	 k;
	int	 c;

	if (at + 4 > sc->len)
		return -1;
	for (k = at; k < at + 4; k++) {
		c = sc->s[k] | 0x20;	/* lower case */
		if (is_digit(sc->s[k]))
			v = v * 16 + (sc->s[k] - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (c - 'a' + 10);
		else
			return -1;
	}
	return v;
}

/* Checks that the \uXXXX escape at sc->i, after the high surrogate hi
 * written at esc (byte at), is a low surrogate and moves past it. Returns
 * the code point of the pair, or -1. */
static long
scan_low_half(struct scan *sc, long hi, const char *esc, size_t at)
{
	long	 lo;

	if (peek(sc) != '\\' || sc->i + 1 >= sc->len ||
	    sc->s[sc->i + 1] != 'u')
		return scan_fail(sc, "\\u%.4s at byte %zu is a lone UTF-16 high "
		    "surrogate; a low one (\\udc00-\\udfff) must follow it",
		    esc + 2, at);
	if ((lo = hex4(sc, sc->i + 2)) == -1)
		return scan_fail(sc, "the escape at byte %zu needs four hex "
		    "digits after \\u", sc->i);
	if (lo < 0xdc00 || lo > 0xdfff)
		return scan_fail(sc, "\\u%.4s at byte %zu is followed by "
		    "\\u%.4s, not by a low surrogate (\\udc00-\\udfff)",
		    esc + 2, at, esc + 8);
	sc->i += 6;
	return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
}

/* Checks the \uXXXX escape at sc->i (a surrogate pair: both) and moves
 * past it; appends the character to out, if not NULL. Refuses \u0000 and
 * surrogates that are not a high-low pair. */
static int
scan_unicode(struct scan *sc, struct buf *out)
{
	const char	*esc = (const char *)sc->s + sc->i;
	size_t		 at = sc->i;
	long		 cp;

	if ((cp = hex4(sc, at + 2)) == -1)
		return scan_fail(sc, "the escape at byte %zu needs four hex "
		    "digits after \\u", at);
	if (cp == 0)
		return scan_fail(sc, "\\u0000 at byte %zu is a NUL character, "
		    "which %s", at, out != NULL ? "no member name may hold" :
		    "no field of this API accepts");
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return scan_fail(sc, "\\u%.4s at byte %zu is a lone UTF-16 low "
		    "surrogate; it may only follow a high one "
		    "(\\ud800-\\udbff)", esc + 2, at);
	sc->i += 6;
	if (cp >= 0xd800 && cp <= 0xdbff &&
	    (cp = scan_low_half(sc, cp, esc, at)) == -1)
		return -1;
	if (out != NULL)
		put_utf8(out, (uint32_t)cp);
	return 0;
}

/* Checks the escape at sc->i and moves past it; appends the character to
 * out, if not NULL. */
static int
scan_escape(struct scan *sc, struct buf *out)
{
	static const char	 from[] = "\"\\/bfnrt";
	static const char	 to[] = "\"\\/\b\f\n\r\t";
	const char		*p;
	int			 c;

	c = sc->i + 1 < sc->len ? sc->s[sc->i + 1] : -1;
	if (c == 'u')
		return scan_unicode(sc, out);
	if (c == -1)
		return scan_fail(sc, "the body ends inside the escape at byte "
		    "%zu", sc->i);
	if (c == 0 || (p = strchr(from, c)) == NULL)
		return scan_fail(sc, "invalid escape at byte %zu: a backslash "
		    "may only come before \" \\ / b f n r t or u", sc->i);
	if (out != NULL)
		buf_append(out, &to[p - from], 1);
	sc->i += 2;
	return 0;
}

/* Checks the string at sc->i and moves past it; appends its decoded bytes
 * to out, if not NULL (a member name). */
static int
scan_string(struct scan *sc, struct buf *out)
{
	size_t	 start = sc->i, n;
	int	 c;

	sc->i++;	/* the opening quote */
	while ((c = peek(sc)) != '"') {
		if (c == -1)
			return scan_fail(sc, "the body ends inside the string "
			    "that starts at byte %zu", start);
		if (c == '\\') {
			if (scan_escape(sc, out) == -1)
				return -1;
			continue;
		}
		if (c == 0)
			return scan_fail(sc, "the body contains a NUL byte "
			    "(byte %zu)", sc->i);
		if (c < ' ')
			return scan_fail(sc, "control character 0x%02x at byte "
			    "%zu must be escaped", (unsigned)c, sc->i);
		if ((n = utf8_len(sc->s + sc->i, sc->len - sc->i)) == 0)
			return scan_fail(sc, "the body is not valid UTF-8 "
			    "(byte %zu)", sc->i);
		if (out != NULL)
			buf_append(out, (const char *)sc->s + sc->i, n);
		sc->i += n;
	}
	sc->i++;
	return 0;
}

/* Moves past the digits at sc->i. Returns how many there were. */
static size_t
scan_digits(struct scan *sc)
{
	size_t	 start = sc->i;

	while (is_digit(peek(sc)))
		sc->i++;
	return sc->i - start;
}

/* Returns 1 if the number of n bytes at s is one json-c holds as written:
 * beyond a 64-bit integer or a finite double it clamps (to INT64_MAX,
 * UINT64_MAX, inf), and two different numbers would share a fingerprint.
 * The number is read from a NUL-terminated copy: the body need not end
 * with a NUL, and strtoll and strtod would read on past it. */
static int
number_fits(const char *s, size_t n)
{
	char	 small[64], *z = n < sizeof(small) ? small : xmalloc(n + 1);
	int	 fits;

	memcpy(z, s, n);
	z[n] = '\0';
	if (strpbrk(z, ".eE") == NULL) {
		errno = 0;
		strtoll(z, NULL, 10);
		fits = errno == 0;
	} else
		fits = isfinite(strtod(z, NULL));
	if (z != small)
		free(z);
	return fits;
}

/* Checks the number at sc->i and moves past it:
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
scan_number(struct scan *sc)
{
	size_t	 start = sc->i;

	if (peek(sc) == '-')
		sc->i++;
	if (peek(sc) == '0') {
		sc->i++;
		if (is_digit(peek(sc)))
			return scan_fail(sc, "the number at byte %zu starts "
			    "with a superfluous 0", start);
	} else if (scan_digits(sc) == 0)
		return scan_fail(sc, "a digit must follow the minus sign at "
		    "byte %zu", start);
	if (peek(sc) == '.') {
		sc->i++;
		if (scan_digits(sc) == 0)
			return scan_fail(sc, "a digit must follow the decimal "
			    "point at byte %zu", sc->i - 1);
	}
	if (peek(sc) == 'e' || peek(sc) == 'E') {
		sc->i++;
		if (peek(sc) == '+' || peek(sc) == '-')
			sc->i++;
		if (scan_digits(sc) == 0)
			return scan_fail(sc, "the exponent of the number at "
			    "byte %zu has no digits", start);
	}
	if (!number_fits((const char *)sc->s + start, sc->i - start))
		return scan_fail(sc, "the number at byte %zu is out of range "
		    "(an integer must fit in 64 bits)", start);
	return 0;
}

/* Checks the bare word (true, false or null) at sc->i and moves past it. */
static int
scan_word(struct scan *sc)
{
	static const char *const words[] = { "true", "false", "null" };
	size_t			 k, n;

	for (k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
		n = strlen(words[k]);
		if (sc->len - sc->i >= n &&
		    memcmp(sc->s + sc->i, words[k], n) == 0) {
			sc->i += n;
			return 0;
		}
	}
	return scan_fail(sc, "the only bare words are true, false and null "
	    "(byte %zu)", sc->i);
}

/* Returns how many bytes of name to quote in a message: at most 60, cut
 * before a character, not inside one. */
static int
shown_len(const char *name)
{
	size_t	 n = strlen(name);

	if (n > 60)
		for (n = 60; ((unsigned char)name[n] & 0xc0) == 0x80; n--)
			;
	return (int)n;
}

/* Checks one member, "name": value, at sc->i (after white space) at
 * nesting level depth, and adds its name to those of its object, which
 * start at offset first in sc->names; no name may be there twice. */
static int
scan_member(struct scan *sc, int depth, size_t first)
{
	size_t	 at = sc->i, name = sc->names.len, p;
	char	*s;

	if (peek(sc) != '"')
		return scan_expected(sc, "a member name in double quotes");
	if (scan_string(sc, &sc->names) == -1)
		return -1;
	buf_append(&sc->names, "", 1);
	s = sc->names.data;
	for (p = first; p < name; p += strlen(s + p) + 1)
		if (strcmp(s + p, s + name) == 0)
			return scan_fail(sc, "member \"%.*s\" appears twice in "
			    "one object (the second time at byte %zu)",
			    shown_len(s + name), s + name, at);
	skip_ws(sc);
	if (peek(sc) != ':')
		return scan_expected(sc, "':' after the member name");
	sc->i++;
	return scan_value(sc, depth + 1);
}

/* Checks the object at sc->i, at nesting level depth, and moves past it. */
static int
scan_object(struct scan *sc, int depth)
{
	size_t	 first = sc->names.len;
	int	 members = 0, rc = 0;

	sc->i++;	/* { */
	skip_ws(sc);
	if (peek(sc) == '}') {
		sc->i++;
		return 0;
	}
	for (;;) {
		skip_ws(sc);
		if (++members > JSON_SCAN_MEMBERS_MAX) {
			rc = scan_fail(sc, "an object has more than %d "
			    "members (the next at byte %zu); no request needs "
			    "that many", JSON_SCAN_MEMBERS_MAX, sc->i);
			break;
		}
		if ((rc = scan_member(sc, depth, first)) == -1)
			break;
		skip_ws(sc);
		if (peek(sc) == '}') {
			sc->i++;
			break;
		}
		if (peek(sc) != ',') {
			rc = scan_expected(sc, "',' or '}'");
			break;
		}
		sc->i++;
	}
	sc->names.len = first;	/* its names are done with */
	sc->names.data[first] = '\0';
	return rc;
}

/* Checks the array at sc->i, at nesting level depth, and moves past it. */
static int
scan_array(struct scan *sc, int depth)
{
	sc->i++;	/* [ */
	skip_ws(sc);
	if (peek(sc) == ']') {
		sc->i++;
		return 0;
	}
	for (;;) {
		if (scan_value(sc, depth + 1) == -1)
			return -1;
		skip_ws(sc);
		if (peek(sc) == ']') {
			sc->i++;
			return 0;
		}
		if (peek(sc) != ',')
			return scan_expected(sc, "',' or ']'");
		sc->i++;
	}
}

/* Checks the value after the white space at sc->i, at nesting level depth
 * (the outermost is 1), and moves past it. */
static int
scan_value(struct scan *sc, int depth)
{
	int	 c;

	skip_ws(sc);
	if (depth > sc->depth_max)
		return scan_fail(sc, "the JSON is nested deeper than %d levels "
		    "(byte %zu)", sc->depth_max, sc->i);
	c = peek(sc);
	if (c == '{')
		return scan_object(sc, depth);
	if (c == '[')
		return scan_array(sc, depth);
	if (c == '"')
		return scan_string(sc, NULL);
	if (c == '-' || is_digit(c))
		return scan_number(sc);
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return scan_word(sc);
	return scan_expected(sc, "a value");
}

int
json_scan(const char *s, size_t len, int depth_max, struct buf *why)
{
	struct scan	 sc = { (const unsigned char *)s, len, 0, depth_max,
			    { 0 }, why };
	int		 rc;

	buf_puts(&sc.names, "");	/* allocated from here on */
	skip_ws(&sc);
	if (sc.i == len)
		rc = scan_fail(&sc, "the body is empty");
	else if ((rc = scan_value(&sc, 1)) == 0) {
		skip_ws(&sc);
		if (sc.i < len)
			rc = scan_fail(&sc, "unexpected data after the JSON "
			    "value at byte %zu", sc.i);
	}
	buf_free(&sc.names);
	return rc;
}
