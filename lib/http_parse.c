/*
 * http_parse.c - the HTTP/1.1 message parser (RFC 9112): request and
 * response heads, message framing, and the incremental chunked decoder.
 *
 * Pure functions over buffers.  Whatever could let two parsers disagree
 * about where a message ends is refused, never repaired: bare CR, bare LF,
 * NUL and other controls, obs-fold, whitespace before a field's colon,
 * duplicate or list-valued Content-Length, Content-Length together with
 * Transfer-Encoding, any transfer coding but a lone "chunked", and chunk
 * sizes that are not plain hex (the chunked decoder is in http_chunked.c).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_parse.h"

#define CR '\r'
#define LF '\n'
#define CL_MAX_DIGITS 19        /* 10^19 - 1 < 2^64: no overflow */

void
http_limits_default(struct http_limits *lim)
{
	*lim = (struct http_limits)HTTP_LIMITS_DEFAULT;
}

/* ------------------------------------------------------- character classes */

/* tchar (RFC 9110, 5.6.2): "!#$%&'*+-.^_`|~", DIGIT, ALPHA. */
bool
http_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* CTL other than HTAB: never allowed in a field value (RFC 9110, 5.5). */
bool
http_is_bad_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static bool
is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

bool
http_token_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!http_is_tchar((unsigned char)*s))
			return false;
	return true;
}

bool
http_value_ok(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") == NULL;
}

bool
http_header_line_ok(const char *line)
{
	const char *colon = line != NULL ? strchr(line, ':') : NULL;
	char name[256];
	size_t n;

	if (colon == NULL || (n = (size_t)(colon - line)) == 0 ||
	    n >= sizeof(name))
		return false;
	memcpy(name, line, n);
	name[n] = '\0';
	return http_token_ok(name) && http_value_ok(colon + 1);
}

bool
http_header_is(const char *line, const char *name)
{
	size_t n = strlen(name);

	return strncasecmp(line, name, n) == 0 && line[n] == ':';
}

/* ------------------------------------------------------------ head end */

static const struct http_limits *
limits_or_default(const struct http_limits *lim, struct http_limits *def)
{
	if (lim != NULL)
		return lim;
	http_limits_default(def);
	return def;
}

/*
 * The line terminator is CRLF (RFC 9112, 2.2).  A bare CR must be refused
 * or replaced; a bare LF may be accepted by a lenient recipient, but two
 * parsers that disagree on it disagree on where a field ends: we refuse
 * both.  Returns 0 when byte i is fine (or needs the next byte to tell),
 * else -400.
 */
static long
check_eol_byte(const char *buf, size_t len, size_t i)
{
	switch (buf[i]) {
	case '\0':
		return -400;
	case CR:
		return (i + 1 < len && buf[i + 1] != LF) ? -400 : 0;
	case LF:
		return (i == 0 || buf[i - 1] != CR) ? -400 : 0;
	default:
		return 0;
	}
}

long
http_head_end(const char *buf, size_t len, const struct http_limits *lim,
    bool is_request)
{
	struct http_limits def;
	bool first_line = true;
	size_t i, line_start = 0;
	long bad;

	lim = limits_or_default(lim, &def);
	for (i = 0; i < len; i++) {
		if (i >= lim->max_header_bytes)
			return -431;
		if ((bad = check_eol_byte(buf, len, i)) != 0)
			return bad;
		if (first_line && buf[i] == CR)
			first_line = false;
		else if (first_line && is_request && i >= lim->max_request_line)
			return -414;
		/* nginx refuses a line its 8 KiB buffer cannot hold, whatever
		 * room the head has left. */
		else if (!first_line && is_request && lim->max_header_line > 0 &&
		    buf[i] != CR && buf[i] != LF &&
		    i - line_start >= lim->max_header_line)
			return -431;
		if (buf[i] == LF && i >= 3 && buf[i - 2] == LF)
			return (long)(i + 1);       /* CRLF CRLF ends the head */
		if (buf[i] == LF)
			line_start = i + 1;
	}
	return 0;
}

size_t
http_longest_field_line(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *eol;
	size_t longest = 0, n;

	/* The start line is not a field line. */
	if (buf == NULL || (p = memchr(buf, LF, len)) == NULL)
		return 0;
	for (p++; p < end; p = eol + 1) {
		if ((eol = memchr(p, LF, (size_t)(end - p))) == NULL)
			eol = end;
		n = (size_t)(eol - p);
		if (n > 0 && p[n - 1] == CR)
			n--;
		if (n > longest)
			longest = n;
	}
	return longest;
}

/* --------------------------------------------------------------- lines */

/*
 * Every byte of a head: no NUL, every CR followed by LF and every LF
 * preceded by CR, and the head ends with the empty line.  Counts the lines.
 */
static bool
head_bytes_ok(const char *buf, size_t len, size_t *lines)
{
	size_t i;

	*lines = 0;
	if (len < 4 || memcmp(buf + len - 4, "\r\n\r\n", 4) != 0)
		return false;
	for (i = 0; i < len; i++) {
		if (check_eol_byte(buf, len, i) != 0)
			return false;
		if (buf[i] == LF)
			(*lines)++;
	}
	return true;
}

/* Cuts the line at *p (its CR becomes NUL); *p moves past the LF. */
static char *
next_line(char **p)
{
	char *line = *p, *cr = strchr(line, CR);

	*cr = '\0';
	*p = cr + 2;
	return line;
}

/* ---------------------------------------------------------- start lines */

/* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112, 2.3).
 * Returns the minor version, -400 for bad syntax, -505 for another. */
static int
parse_version(const char *v)
{
	if (strlen(v) != 8 || memcmp(v, "HTTP/", 5) != 0 || !is_digit(v[5]) ||
	    v[6] != '.' || !is_digit(v[7]))
		return -400;
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return -505;
	return v[7] - '0';
}

/* request-target: visible ASCII only (RFC 9112, 3.2; RFC 3986). */
static bool
target_ok(const char *t)
{
	if (*t == '\0')
		return false;
	for (; *t != '\0'; t++)
		if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
			return false;
	return true;
}

bool
http_method_known(const char *method)
{
	static const char *const known[] = { "GET", "HEAD", "POST", "PUT",
	    "DELETE", "OPTIONS", "TRACE", "PATCH", "PROPFIND", "PROPPATCH",
	    "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK" };
	size_t i;

	for (i = 0; method != NULL && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(method, known[i]) == 0)
			return true;
	return false;
}

/* request-line = method SP request-target SP HTTP-version (RFC 9112, 3):
 * exactly one SP between the parts.  The method is case-sensitive (RFC
 * 9110, 9.1): "get" is a token, but no method we know, and an origin
 * server answers a method it does not implement with 501 (RFC 9110,
 * 15.6.2).  nginx answers a method of anything but capitals, "_" and "-"
 * with 400. */
static int
parse_request_line(char *line, const struct http_limits *lim,
    struct http_head *out)
{
	char *sp1, *sp2;
	int minor;

	if (strlen(line) > lim->max_request_line)
		return 414;
	out->fault = "its request line is not 'METHOD target HTTP/1.x' with one "
	    "space between the parts";
	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL)
		return 400;
	*sp1 = '\0';
	*sp2 = '\0';
	if (!http_token_ok(line))
		return 400;
	out->fault = "its request target is empty or holds a space, a control "
	    "character or a byte over 0x7e";
	if (!target_ok(sp1 + 1))
		return 400;
	out->fault = "its HTTP version is not written 'HTTP/' digit '.' digit";
	if ((minor = parse_version(sp2 + 1)) < 0)
		return -minor;
	out->fault = NULL;
	if (!http_method_known(line))
		return 501;
	out->method = line;
	out->target = sp1 + 1;
	out->minor_version = minor;
	return 0;
}

/* status-line = HTTP-version SP status-code SP [ reason-phrase ]
 * (RFC 9112, 4).  A missing SP before an empty reason is tolerated: the
 * reason decides nothing. */
static int
parse_status_line(char *line, struct http_head *out)
{
	const char *r;
	int minor;

	if (strlen(line) < 12 || line[8] != ' ' || line[9] < '1' ||
	    line[9] > '5' || !is_digit(line[10]) || !is_digit(line[11]) ||
	    (line[12] != ' ' && line[12] != '\0'))
		return -1;
	out->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 +
	    (line[11] - '0');
	out->reason = line[12] == '\0' ? line + 12 : line + 13;
	for (r = out->reason; *r != '\0'; r++)
		if (http_is_bad_ctl((unsigned char)*r))
			return -1;
	line[8] = '\0';
	if ((minor = parse_version(line)) < 0)
		return -1;
	out->minor_version = minor;
	return 0;
}

/* -------------------------------------------------------------- fields */

/*
 * field-line = field-name ":" OWS field-value OWS (RFC 9112, 5).  No
 * whitespace between name and colon (5.1: 400); a line that begins with
 * whitespace is obs-fold (5.2), refused here.  Returns NULL, or the rule
 * the line broke.
 */
static const char *
parse_field(char *line, struct http_header *h)
{
	char *p = line, *end;

	while (http_is_tchar((unsigned char)*p))
		p++;
	if (p == line && is_ows((unsigned char)*p))
		return "a field line begins with whitespace (obs-fold, RFC 9112, "
		    "5.2)";
	if (p != line && is_ows((unsigned char)*p))
		return "a field name is followed by whitespace before its colon "
		    "(RFC 9112, 5.1)";
	if (p == line || *p != ':')
		return "a field line has no name, a name that is not a token, or "
		    "no colon";
	*p++ = '\0';
	while (is_ows((unsigned char)*p))
		p++;
	end = p + strlen(p);
	while (end > p && is_ows((unsigned char)end[-1]))
		end--;
	*end = '\0';
	h->name = line;
	h->value = p;
	for (; p < end; p++)
		if (http_is_bad_ctl((unsigned char)*p))
			return "a field value holds a control character";
	return NULL;
}

/* Parses every field line up to the empty one.  Returns NULL, or the rule
 * the first bad line broke. */
static const char *
parse_fields(char *p, struct http_head *out)
{
	const char *fault;
	char *line;

	for (;;) {
		line = next_line(&p);
		if (*line == '\0')      /* the empty line ends the head */
			return *p == '\0' ? NULL : "bytes follow the empty line that "
			    "ends its head";
		if ((fault = parse_field(line, &out->headers[out->header_count])))
			return fault;
		out->header_count++;
	}
}

/* Copies the head, checks its bytes, cuts the start line and the fields.
 * Returns 0, -1 for a malformed head, -2 when out of memory. */
static int
split_head(const char *buf, size_t len, struct http_head *out,
    size_t *nfields, char **start_line)
{
	size_t lines;
	char *p;

	memset(out, 0, sizeof(*out));
	if (buf == NULL || !head_bytes_ok(buf, len, &lines) || lines < 2) {
		out->fault = "it has a bare CR or LF, a NUL, or no empty line "
		    "ending its head";
		return -1;
	}
	*nfields = lines - 2;
	if ((out->buf = malloc(len + 1)) == NULL ||
	    (out->headers = calloc(*nfields + 1, sizeof(*out->headers))) == NULL)
		return -2;
	memcpy(out->buf, buf, len);
	out->buf[len] = '\0';
	p = out->buf;
	*start_line = next_line(&p);
	return (out->fault = parse_fields(p, out)) == NULL ? 0 : -1;
}

const char *
http_head_get(const struct http_head *head, const char *name, size_t index)
{
	size_t i;

	if (head == NULL || name == NULL)
		return NULL;
	for (i = 0; i < head->header_count; i++)
		if (strcasecmp(head->headers[i].name, name) == 0 && index-- == 0)
			return head->headers[i].value;
	return NULL;
}

static size_t
count_headers(const struct http_head *h, const char *name)
{
	size_t n = 0;

	while (http_head_get(h, name, n) != NULL)
		n++;
	return n;
}

/* Whether the comma-separated list value holds token (case-insensitive). */
static bool
list_has(const char *value, const char *token)
{
	size_t tlen = strlen(token), n;
	const char *p = value;

	while (*p != '\0') {
		while (is_ows((unsigned char)*p) || *p == ',')
			p++;
		n = strcspn(p, ",");
		while (n > 0 && is_ows((unsigned char)p[n - 1]))
			n--;
		if (n == tlen && strncasecmp(p, token, n) == 0)
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

/* Persistence (RFC 9112, 9.3): HTTP/1.1 unless "close"; HTTP/1.0 only
 * with "keep-alive". */
static bool
keep_alive(const struct http_head *h)
{
	bool ka = h->minor_version >= 1, closing = false;
	const char *v;
	size_t i;

	for (i = 0; (v = http_head_get(h, "Connection", i)) != NULL; i++) {
		closing = closing || list_has(v, "close");
		ka = ka || list_has(v, "keep-alive");
	}
	return ka && !closing;
}

/* ------------------------------------------------------------- framing */

/* Content-Length = 1*DIGIT (RFC 9110, 8.6), one field line only: a list or
 * a repeat is refused even when the values agree (RFC 9112, 6.3 item 5
 * allows merging them; two parsers may not). */
static bool
parse_content_length(const struct http_head *h, uint64_t *cl)
{
	const char *v = http_head_get(h, "Content-Length", 0);
	size_t n;

	if (count_headers(h, "Content-Length") != 1)
		return false;
	n = strlen(v);
	if (n == 0 || n > CL_MAX_DIGITS || strspn(v, "0123456789") != n)
		return false;
	for (*cl = 0; *v != '\0'; v++)
		*cl = *cl * 10 + (uint64_t)(*v - '0');
	return true;
}

enum framing_result {
	FR_OK,
	FR_BAD,         /* malformed or ambiguous: 400 / -1, h->fault says why */
	FR_CODING,      /* a transfer coding we do not do: 501 / -1 */
};

/*
 * The framing from the fields (RFC 9112, 6.3), refusing ambiguity: both
 * Content-Length and Transfer-Encoding (6.3 item 3 lets TE win; a
 * front-end that picks CL is the classic smuggling), Transfer-Encoding in
 * HTTP/1.0 (6.1: framing faulty), and any coding but a lone "chunked".
 */
static enum framing_result
framing_from_fields(struct http_head *h)
{
	bool has_cl = http_head_get(h, "Content-Length", 0) != NULL;
	size_t te = count_headers(h, "Transfer-Encoding");

	if (has_cl && te > 0) {
		h->fault = "it has both Content-Length and Transfer-Encoding "
		    "(RFC 9112, 6.3)";
		return FR_BAD;
	}
	if (te > 0) {
		if (h->minor_version == 0) {
			h->fault = "it is HTTP/1.0 with a Transfer-Encoding (RFC 9112, "
			    "6.1)";
			return FR_BAD;
		}
		if (te != 1 || strcasecmp(http_head_get(h, "Transfer-Encoding",
		    0), "chunked") != 0)
			return FR_CODING;
		h->framing = HTTP_BODY_CHUNKED;
		return FR_OK;
	}
	if (has_cl) {
		if (!parse_content_length(h, &h->content_length)) {
			h->fault = "its Content-Length is not one field of digits "
			    "(a list, a repeat, a sign or over 19 digits)";
			return FR_BAD;
		}
		h->framing = HTTP_BODY_LENGTH;
		return FR_OK;
	}
	h->framing = HTTP_BODY_NONE;
	return FR_OK;
}

/* uri-host [ ":" port ], loosely: the characters RFC 3986 allows in a
 * reg-name, an IP literal and a port; no userinfo. */
static bool
host_ok(const char *v)
{
	static const char allowed[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=%:[]";

	return strspn(v, allowed) == strlen(v);
}

/* RFC 9112, 3.2: 400 for an HTTP/1.1 request without Host, and for any
 * request with more than one Host or an invalid one. */
static const char *
host_fault(const struct http_head *h)
{
	size_t n = count_headers(h, "Host");

	if (n > 1)
		return "it has more than one Host field";
	if (n == 0 && h->minor_version >= 1)
		return "it has no Host field, which HTTP/1.1 requires";
	if (n == 1 && !host_ok(http_head_get(h, "Host", 0)))
		return "its Host is not a host name or address with an optional "
		    "port";
	return NULL;
}

/* ------------------------------------------------------------ requests */

static int
request_framing(struct http_head *out, const struct http_limits *lim)
{
	switch (framing_from_fields(out)) {
	case FR_OK:
		break;
	case FR_CODING:
		return 501;     /* RFC 9112, 6.1 */
	case FR_BAD:
	default:
		return 400;
	}
	if (out->framing == HTTP_BODY_LENGTH && lim->max_body != 0 &&
	    out->content_length > lim->max_body)
		return 413;
	return 0;
}

int
http_parse_request(const char *buf, size_t len,
    const struct http_limits *lim, struct http_head *out)
{
	struct http_limits def;
	size_t nfields;
	char *start;
	int rc;

	lim = limits_or_default(lim, &def);
	switch (split_head(buf, len, out, &nfields, &start)) {
	case 0:
		break;
	case -2:
		return 500;
	case -1:
	default:
		return 400;
	}
	if ((rc = parse_request_line(start, lim, out)) != 0)
		return rc;
	if (len > lim->max_header_bytes || out->header_count > lim->max_headers ||
	    (lim->max_header_line > 0 &&
	    http_longest_field_line(buf, len) > lim->max_header_line))
		return 431;
	if ((out->fault = host_fault(out)) != NULL)
		return 400;
	if ((rc = request_framing(out, lim)) != 0)
		return rc;
	out->keep_alive = keep_alive(out);
	return 0;
}

/* ----------------------------------------------------------- responses */

/* Responses that never have a body, whatever their fields say (RFC 9112,
 * 6.3 items 1 and 2). */
static bool
bodiless(int status, const char *method)
{
	if (status < 200 || status == 204 || status == 304)
		return true;
	if (strcmp(method, "HEAD") == 0)
		return true;
	return strcmp(method, "CONNECT") == 0 && status < 300;
}

int
http_parse_response(const char *buf, size_t len, const char *request_method,
    struct http_head *out)
{
	size_t nfields;
	char *start;

	if (request_method == NULL)
		request_method = "GET";
	if (split_head(buf, len, out, &nfields, &start) != 0 ||
	    parse_status_line(start, out) != 0)
		return -1;
	/* The mirror of the request rules: a response that two clients could
	 * frame differently is refused, bodiless or not. */
	if (framing_from_fields(out) != FR_OK)
		return -1;
	out->keep_alive = keep_alive(out);
	if (bodiless(out->status, request_method)) {
		out->framing = HTTP_BODY_NONE;
	} else if (out->framing == HTTP_BODY_NONE) {
		/* RFC 9112, 6.3 item 8: read until the connection closes. */
		out->framing = HTTP_BODY_CLOSE;
		out->keep_alive = false;
	}
	return 0;
}

void
http_head_free(struct http_head *head)
{
	if (head == NULL)
		return;
	free(head->buf);
	free(head->headers);
	memset(head, 0, sizeof(*head));
}

const char *
http_reason_phrase(int status)
{
	static const struct { int status; const char *text; } phrases[] = {
		{ 100, "Continue" }, { 101, "Switching Protocols" },
		{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
		{ 204, "No Content" }, { 206, "Partial Content" },
		{ 301, "Moved Permanently" }, { 302, "Found" },
		{ 303, "See Other" }, { 304, "Not Modified" },
		{ 307, "Temporary Redirect" }, { 308, "Permanent Redirect" },
		{ 400, "Bad Request" }, { 401, "Unauthorized" },
		{ 403, "Forbidden" }, { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 408, "Request Timeout" },
		{ 409, "Conflict" }, { 411, "Length Required" },
		{ 413, "Content Too Large" }, { 414, "URI Too Long" },
		{ 415, "Unsupported Media Type" }, { 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 502, "Bad Gateway" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" }, { 505, "HTTP Version Not Supported" },
	};

	for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
		if (phrases[i].status == status)
			return phrases[i].text;
	return "Unknown";
}
