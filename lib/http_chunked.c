/*
 * http_chunked.c - the incremental decoder of the chunked transfer coding
 * (RFC 9112, 7.1), declared in http_parse.h.  It keeps one state per
 * position in the coding, so input split anywhere, even a byte at a time,
 * decodes the same; sizes are plain hex of at most 16 digits (no sign, no
 * "0x", no whitespace), so no arithmetic can overflow.
 */
#include <string.h>

#include "http_parse.h"

#define CR '\r'
#define LF '\n'
#define HTTP_LINE_MAX 4096      /* chunk-size line, and the whole trailer */
#define CHUNK_MAX_DIGITS 16     /* 16 hex digits fill 64 bits */

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * chunked-body = *chunk last-chunk trailer-section CRLF (RFC 9112, 7.1)
 * chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 * One state per position, so that input split anywhere decodes the same.
 */
enum chunk_state {
	CS_SIZE = 0,    /* chunk-size digits (line_len counts them) */
	CS_EXT,         /* after ";": extension, ignored, to CR */
	CS_SIZE_LF,     /* after the size line's CR */
	CS_DATA,        /* chunk-data, remaining bytes to go */
	CS_DATA_CR,     /* the CRLF after chunk-data */
	CS_DATA_LF,
	CS_TRAILER,     /* at the start of a trailer line (or the final CRLF) */
	CS_TRAILER_LINE,
	CS_TRAILER_LF,  /* after a trailer line's CR */
	CS_END_LF,      /* after the final CR */
	CS_DONE,
};

void
http_chunked_init(struct http_chunked *ch)
{
	memset(ch, 0, sizeof(*ch));
	ch->state = CS_SIZE;
}

/*
 * A byte of the chunk-size line.  Whitespace is not allowed around the
 * size (BWS before ";" is where parsers disagree: refused).
 */
static int
chunk_size_byte(struct http_chunked *ch, unsigned char c)
{
	int v = hex_value(c);

	if (v >= 0) {
		if (ch->line_len >= CHUNK_MAX_DIGITS)
			return -400;            /* would overflow 64 bits */
		ch->remaining = ch->remaining << 4 | (uint64_t)v;
		ch->line_len++;
		return 0;
	}
	if (ch->line_len == 0)
		return -400;                    /* no digits: sign, space, ... */
	switch (c) {
	case ';':
		ch->state = CS_EXT;
		break;
	case CR:
		ch->state = CS_SIZE_LF;
		break;
	default:
		return -400;
	}
	ch->line_len++;
	return 0;
}

/* A byte of a chunk extension: anything but controls, to the CR. */
static int
chunk_ext_byte(struct http_chunked *ch, unsigned char c)
{
	if (++ch->line_len > HTTP_LINE_MAX)
		return -400;
	if (c == CR) {
		ch->state = CS_SIZE_LF;
		return 0;
	}
	return http_is_bad_ctl(c) ? -400 : 0;
}

/* The size line has ended: a chunk of remaining bytes, or the last one. */
static int
chunk_size_done(struct http_chunked *ch, uint64_t max_body)
{
	if (max_body != 0 && ch->remaining > max_body - ch->total)
		return -413;
	if (ch->remaining > UINT64_MAX - ch->total)
		return -400;
	ch->line_len = 0;
	ch->state = ch->remaining == 0 ? CS_TRAILER : CS_DATA;
	return 0;
}

/*
 * A byte of the trailer section: field lines, each starting with a tchar
 * (no obs-fold), no controls; the section is bounded by HTTP_LINE_MAX.
 */
static int
trailer_byte(struct http_chunked *ch, unsigned char c)
{
	if (++ch->line_len > HTTP_LINE_MAX)
		return -431;
	switch (ch->state) {
	case CS_TRAILER:
		if (c == CR) {
			ch->state = CS_END_LF;
			return 0;
		}
		if (!http_is_tchar(c))
			return -400;
		ch->state = CS_TRAILER_LINE;
		return 0;
	case CS_TRAILER_LINE:
		if (c == CR)
			ch->state = CS_TRAILER_LF;
		else if (http_is_bad_ctl(c))
			return -400;
		return 0;
	default:
		return -400;
	}
}

/* Expects byte c to be want, then moves to state next. */
static int
expect(struct http_chunked *ch, unsigned char c, char want, int next)
{
	if (c != (unsigned char)want)
		return -400;
	ch->state = next;
	return 0;
}

/* One byte outside chunk-data. */
static int
chunk_byte(struct http_chunked *ch, uint64_t max_body, unsigned char c)
{
	int rc;

	switch (ch->state) {
	case CS_SIZE:
		return chunk_size_byte(ch, c);
	case CS_EXT:
		return chunk_ext_byte(ch, c);
	case CS_SIZE_LF:
		if ((rc = expect(ch, c, LF, CS_SIZE_LF)) != 0)
			return rc;
		return chunk_size_done(ch, max_body);
	case CS_DATA_CR:
		return expect(ch, c, CR, CS_DATA_LF);
	case CS_DATA_LF:
		return expect(ch, c, LF, CS_SIZE);
	case CS_TRAILER:
	case CS_TRAILER_LINE:
		return trailer_byte(ch, c);
	case CS_TRAILER_LF:
		return expect(ch, c, LF, CS_TRAILER);
	case CS_END_LF:
		return expect(ch, c, LF, CS_DONE);
	default:
		return -400;
	}
}

/* Copies chunk-data to out; returns the bytes of input used. */
static size_t
chunk_data(struct http_chunked *ch, const char *in, size_t in_len, char *out,
    size_t out_cap, size_t *out_used)
{
	size_t n = in_len;

	if (n > out_cap - *out_used)
		n = out_cap - *out_used;
	if (n > ch->remaining)
		n = (size_t)ch->remaining;
	if (n > 0)
		memcpy(out + *out_used, in, n);
	*out_used += n;
	ch->remaining -= n;
	ch->total += n;
	if (ch->remaining == 0) {
		ch->state = CS_DATA_CR;
		ch->line_len = 0;
	}
	return n;
}

int
http_chunked_decode(struct http_chunked *ch, uint64_t max_body,
    const char *in, size_t in_len, size_t *in_used, char *out, size_t out_cap,
    size_t *out_used)
{
	size_t i = 0;
	int rc = 0;

	*out_used = 0;
	while (i < in_len && ch->state != CS_DONE) {
		if (ch->state == CS_DATA) {
			if (*out_used == out_cap)
				break;          /* the caller must drain out */
			i += chunk_data(ch, in + i, in_len - i, out, out_cap,
			    out_used);
			continue;
		}
		if ((rc = chunk_byte(ch, max_body, (unsigned char)in[i])) != 0)
			break;
		i++;
	}
	*in_used = i;
	if (rc != 0)
		return rc;
	return ch->state == CS_DONE ? 1 : 0;
}
