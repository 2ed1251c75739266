/*
 * mtls-server-serve.c - one connection of mtls-server: its HTTP requests,
 * answered with the client's identity, from --root, relayed to --proxy,
 * or 403 under a --protect prefix without a verified certificate; one
 * access-log line per request (mtls-server-log.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mtls-server.h"

static const char *
or_dash(const char *s)
{
	return s != NULL ? s : "-";
}

/* The client's address: the one a load balancer's PROXY header named
 * (--proxy-protocol), else the socket's peer; "-" when neither is known. */
void
remote_addr(struct mtls *c, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (mtls_peer_address(c) != NULL)
		snprintf(buf, len, "%s", mtls_peer_address(c));
	else if (getpeername(mtls_fd(c), (struct sockaddr *)&ss, &sl) != 0 ||
	    getnameinfo((struct sockaddr *)&ss, sl, buf, (socklen_t)len, NULL, 0,
	    NI_NUMERICHOST) != 0)
		snprintf(buf, len, "-");
}

/* ----------------------------------------------------------- answers */

/* A fixed answer: status, a Content-Type and body (copied). */
static int
reply_fixed(struct reply *r, int status, const char *type, const char *body,
    size_t len)
{
	r->status = status;
	r->step = REPLY_FIXED;
	snprintf(r->hdr[0], sizeof(r->hdr[0]), "Content-Type: %s", type);
	r->hdrs[0] = r->hdr[0];
	if ((r->own = malloc(len + 1)) == NULL)
		return -1;
	memcpy(r->own, body, len);
	r->body = r->own;
	r->len = len;
	return 0;
}

static int
reply_text(struct reply *r, int status, const char *text)
{
	return reply_fixed(r, status, "text/plain; charset=utf-8", text,
	    strlen(text));
}

/* The identity the client presented, as nginx's $ssl_client_* show it. */
static int
reply_identity(struct mtls *c, struct reply *r)
{
	char verify[300], text[4096];
	size_t n;

	client_verify(c, verify, sizeof(verify));
	n = (size_t)snprintf(text, sizeof(text), "verify: %s\nsubject: %s\n"
	    "issuer: %s\nserial: %s\nfingerprint: %s\n", verify,
	    or_dash(mtls_peer_subject(c)), or_dash(mtls_peer_issuer(c)),
	    or_dash(mtls_peer_serial(c)),
	    or_dash(mtls_peer_fingerprint_sha256(c)));
	for (size_t i = 0; mtls_peer_san(c, MTLS_SAN_URI, i) && n < sizeof(text);
	    i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "uri: %s\n",
		    mtls_peer_san(c, MTLS_SAN_URI, i));
	if (n < sizeof(text))
		snprintf(text + n, sizeof(text) - n, "tls: %s %s\n",
		    mtls_conn_version(c), mtls_conn_cipher(c));
	return reply_text(r, 200, text);
}

static int
hex_digit(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Appends the segment seg[0..n) to the normalized path out (of *used
 * bytes): "." and empty segments vanish, ".." removes the last segment.
 * Returns -1 when ".." would climb above "/" or out is full. */
static int
add_segment(char *out, size_t len, size_t *used, const char *seg, size_t n)
{
	if (n == 0 || (n == 1 && seg[0] == '.'))
		return 0;
	if (n == 2 && seg[0] == '.' && seg[1] == '.') {
		if (*used == 0)
			return -1;
		while (*used > 0 && out[--*used] != '/')
			;
		out[*used] = '\0';
		return 0;
	}
	if (*used + n + 2 > len)
		return -1;
	out[(*used)++] = '/';
	memcpy(out + *used, seg, n);
	*used += n;
	out[*used] = '\0';
	return 0;
}

/*
 * The path of target, percent-decoded and normalized (RFC 3986, 5.2.4),
 * as nginx matches locations: "/%73ecure/./x" and "//secure/x" are
 * "/secure/x"; a trailing "/" is kept.  Returns 0, or -1 when the path is
 * not absolute, holds a NUL, or climbs above "/".
 */
static int
normalize_path(const char *target, char *out, size_t len)
{
	char decoded[4096];
	size_t n = 0, used = 0;
	const char *seg;

	for (const char *p = target; *p != '\0' && *p != '?' && *p != '#'; p++) {
		int ch = (unsigned char)*p;

		if (ch == '%' && hex_digit(p[1]) >= 0 && hex_digit(p[2]) >= 0) {
			ch = hex_digit(p[1]) * 16 + hex_digit(p[2]);
			p += 2;
		}
		if (ch == '\0' || n + 1 >= sizeof(decoded))
			return -1;
		decoded[n++] = (char)ch;
	}
	decoded[n] = '\0';
	if (decoded[0] != '/' || len < 2)
		return -1;
	out[0] = '\0';
	for (seg = decoded + 1; ; seg += strcspn(seg, "/") + 1) {
		if (add_segment(out, len, &used, seg, strcspn(seg, "/")) != 0)
			return -1;
		if (seg[strcspn(seg, "/")] == '\0')
			break;
	}
	if ((used == 0 || decoded[n - 1] == '/') && used + 2 <= len) {
		out[used++] = '/';
		out[used] = '\0';
	}
	return used + 1 <= len ? 0 : -1;
}

/* The file under root for target ("/" ends in index.html); -1 when the
 * path cannot be normalized inside root. */
static int
map_path(const char *root, const char *target, char *out, size_t len)
{
	char path[4096];
	size_t n;

	if (normalize_path(target, path, sizeof(path)) != 0)
		return -1;
	n = strlen(path);
	return snprintf(out, len, "%s%s%s", root, path,
	    path[n - 1] == '/' ? "index.html" : "") < (int)len ? 0 : -1;
}

/* A file of --root: a small one from the cache, its bytes sent as they
 * are there (the reply holds them until it is freed), a bigger one
 * streamed with its Content-Length. */
static int
reply_file(struct reply *r, const struct file_found *f)
{
	r->status = 200;
	snprintf(r->hdr[0], sizeof(r->hdr[0]), "Content-Type: %s", f->type);
	r->hdrs[0] = r->hdr[0];
	if (f->held != NULL) {
		r->step = REPLY_FIXED;
		r->held = f->held;
		r->body = f->bytes;
		r->len = (size_t)f->size;
		return 0;
	}
	r->step = REPLY_START;
	snprintf(r->hdr[1], sizeof(r->hdr[1]), "Content-Length: %lld",
	    (long long)f->size);
	r->hdrs[1] = r->hdr[1];
	r->fd = f->fd;
	return 0;
}

static int
reply_from_root(const struct options *o, struct mtls_http_req *req,
    struct reply *r)
{
	const char *method = mtls_http_req_method(req);
	struct file_found f;
	char path[4096];

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_text(r, 405, "405 Method Not Allowed\n");
	if (map_path(o->root, mtls_http_req_target(req), path,
	    sizeof(path)) != 0)
		return reply_text(r, 400, "400 Bad Request\n");
	switch (files_find(path, (int)o->workers, &f)) {
	case 0:
		return reply_file(r, &f);
	case ENOMEM:
		return -1;
	case EIO:
		return reply_text(r, 500, "500 Internal Server Error\n");
	case EACCES:
		return reply_text(r, 403, "403 Forbidden\n");
	default:
		return reply_text(r, 404, "404 Not Found\n");
	}
}

/* Under a --protect prefix, a client without a verified certificate gets
 * 403, as the seed's nginx `if ($ssl_client_verify != SUCCESS)` in a
 * location. */
static bool
forbidden(const struct options *o, struct mtls *c, const char *target)
{
	char path[4096];

	if (o->nprotect == 0 || mtls_peer_cert_verified(c))
		return false;
	/* The decoded, normalized path, or "/%73ecure" would walk past a
	 * "/secure" prefix; one that cannot be normalized is refused. */
	if (normalize_path(target, path, sizeof(path)) != 0)
		return true;
	for (int i = 0; i < o->nprotect; i++)
		if (strncmp(path, o->protect[i], strlen(o->protect[i])) == 0)
			return true;
	return false;
}

/* The relay of req to the backend, with the client's identity in the
 * headers (mtls-server-identity.c; the lines are copied into the job),
 * and the client's own headers of those names dropped. */
static int
reply_proxied(struct mtls *c, const char *addr, struct upstream *u,
    struct mtls_http_req *req, struct reply *r)
{
	char *lines[IDENTITY_HEADERS + 1];

	if (identity_headers(c, addr, lines) != 0) {
		identity_headers_free(lines);
		return -1;
	}
	r->step = REPLY_RELAY;
	r->job = relay_begin(u, req, (const char *const *)lines,
	    identity_header_names, "mtls-server");
	identity_headers_free(lines);
	return r->job != NULL ? 0 : -1;
}

/*
 * What req gets, decided: the answer in r, ready for reply_send (for
 * --proxy, the relay to the backend u).  Returns 0, or -1 when out of
 * memory.
 */
int
reply_prepare(const struct options *o, struct mtls *c, const char *addr,
    struct upstream *u, struct mtls_http_req *req, struct reply *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	if (forbidden(o, c, mtls_http_req_target(req)))
		return reply_text(r, 403, "403 Forbidden: this path needs a "
		    "verified client certificate\n");
	if (o->root != NULL)
		return reply_from_root(o, req, r);
	if (o->proxy != NULL)
		return reply_proxied(c, addr, u, req, r);
	return reply_identity(c, r);
}

/* One step of a streamed file: the piece read, written (a write that
 * must wait is made again with the same piece). */
static int
reply_file_step(struct mtls_http_req *req, struct reply *r)
{
	ssize_t n;

	if (r->piece == NULL && (r->piece = malloc(FILE_CHUNK)) == NULL)
		return -1;
	if (r->piece_len == 0) {
		if ((n = read(r->fd, r->piece, FILE_CHUNK)) < 0)
			return -1;
		if (n == 0) {
			r->step = REPLY_END;
			return 0;
		}
		r->piece_len = (size_t)n;
	}
	n = mtls_http_respond_write(req, r->piece, r->piece_len);
	if (n != (ssize_t)r->piece_len)
		return (int)(n < 0 ? n : -1);
	r->bytes += r->piece_len;
	r->piece_len = 0;
	return 0;
}

int
reply_send(struct mtls_http_req *req, struct reply *r)
{
	bool head = strcmp(mtls_http_req_method(req), "HEAD") == 0;
	int rc = 0;

	while (rc == 0 && r->step != REPLY_DONE) {
		switch (r->step) {
		case REPLY_FIXED:
			if ((rc = mtls_http_respond(req, r->status, r->hdrs, r->body,
			    r->len)) == 0) {
				r->bytes = head ? 0 : r->len;
				r->step = REPLY_DONE;
			}
			break;
		case REPLY_START:
			if ((rc = mtls_http_respond_start(req, r->status,
			    r->hdrs)) == 0)
				r->step = head ? REPLY_END : REPLY_FILE;
			break;
		case REPLY_FILE:
			rc = reply_file_step(req, r);
			break;
		case REPLY_END:
			if ((rc = mtls_http_respond_end(req)) == 0)
				r->step = REPLY_DONE;
			break;
		case REPLY_RELAY:
			/* The status is logged even when the answer was cut. */
			rc = relay_step(r->job);
			r->status = r->job->status;
			r->bytes = r->job->bytes;
			if (rc == 0)
				r->step = REPLY_DONE;
			break;
		case REPLY_DONE:
		default:
			break;
		}
	}
	return rc;
}

void
reply_end(struct mtls *c, const char *addr, struct mtls_http_req *req,
    struct reply *r)
{
	log_request(c, addr, req, r->status, r->bytes);
	reply_free(r);
}

void
reply_last(struct reply *r)
{
	int n = 0;

	if (r->step == REPLY_RELAY)
		return;     /* the backend's head, sent as it comes */
	while (r->hdrs[n] != NULL)
		n++;
	if (n + 1 < (int)(sizeof(r->hdrs) / sizeof(r->hdrs[0])))
		r->hdrs[n] = "Connection: close";
}

void
reply_free(struct reply *r)
{
	free(r->own);
	files_release(r->held);
	free(r->piece);
	relay_free(r->job);
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

long
connections_open(long delta)
{
	static long open;

	return __atomic_add_fetch(&open, delta, __ATOMIC_RELAXED);
}

/* The socket is ours (mtls_accept_socket): closed after the connection. */
void
close_connection(struct mtls *c)
{
	int fd = mtls_fd(c);

	mtls_close(c);
	mtls_free(c);
	close(fd);
	connections_open(-1);
}
