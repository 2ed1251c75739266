/*
 * check_proxy_protocol.c - the PROXY protocol on accepted connections,
 * over real loopback sockets: v1 and v2 headers give the client's address
 * and take exactly their own bytes (a plaintext server reads what follows
 * them, to the byte); each refusal (no header, a TLS hello, malformed v1
 * and v2 headers, an untrusted source, a peer that closes or stays
 * silent) has its code and a message naming the cause; a header split
 * into single bytes by a relay, in front of a real TLS handshake; a
 * non-blocking socket gets MTLS_WANT_POLLIN until the header is whole;
 * and a config without the setting reads no header at all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_util.h"
#include "relay.h"

#define V2_SIG "\r\n\r\n\0\r\nQUIT\n"

/* A plaintext server config reading PROXY headers from trusted (NULL:
 * loopback), with short timeouts. */
static struct mtls_config *
plain_proxy_config(const char *trusted, int handshake_ms)
{
	struct mtls_config *cfg = mtls_config_new();

	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(mtls_config_insecure_plaintext(cfg), 0);
	ck_assert_int_eq(mtls_config_set_timeouts(cfg, 2000, handshake_ms,
	    2000), 0);
	ck_assert_cfg_ok(cfg, mtls_config_set_proxy_protocol(cfg, trusted));
	return cfg;
}

static struct mtls *
listening(struct mtls_config *cfg)
{
	struct mtls *srv = mtls_server_new(cfg);

	ck_assert_msg(srv != NULL, "%s", mtls_config_error(cfg));
	ck_assert_int_eq(mtls_listen(srv, "127.0.0.1", "0", 8), 0);
	return srv;
}

/* A TCP connection to 127.0.0.1:port from source (NULL: any). */
static int
raw_connect(int port, const char *source)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_port = htons((unsigned short)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	if (source != NULL) {
		struct sockaddr_in src = { .sin_family = AF_INET };

		ck_assert_int_eq(inet_pton(AF_INET, source, &src.sin_addr), 1);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
	}
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void
send_all(int fd, const void *buf, size_t len)
{
	ck_assert_int_eq(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* A v2 header: command (0x20 LOCAL, 0x21 PROXY), family byte, address
 * block of len bytes (zeros past what addr gives).  Returns its size. */
static size_t
v2_header(unsigned char *out, int cmd, int fam, const void *addr,
    size_t addr_len, size_t len)
{
	memcpy(out, V2_SIG, 12);
	out[12] = (unsigned char)cmd;
	out[13] = (unsigned char)fam;
	out[14] = (unsigned char)(len >> 8);
	out[15] = (unsigned char)len;
	memset(out + 16, 0, len);
	memcpy(out + 16, addr, addr_len < len ? addr_len : len);
	return 16 + len;
}

/* 203.0.113.7 -> 192.0.2.1, ports 40000 -> 443. */
static const unsigned char v4_block[12] = {
	203, 0, 113, 7, 192, 0, 2, 1, 0x9c, 0x40, 0x01, 0xbb };
/* 2001:db8::7 -> 2001:db8::1, ports 40001 -> 443. */
static const unsigned char v6_block[36] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0x9c, 0x41, 0x01, 0xbb };

/* What the server side made of one connection. */
struct outcome {
	int rc, code;
	char msg[1024];
	char addr[64];
	int port;
	char data[64];              /* what mtls_read gave after the header */
};

/* Accepts one connection on srv, reads its header (the handshake) and up
 * to 63 bytes after it. */
static void
accept_one(struct mtls *srv, struct outcome *o)
{
	struct mtls *c = NULL;
	ssize_t n;

	memset(o, 0, sizeof(*o));
	ck_assert_int_eq(mtls_accept(srv, &c), 0);
	o->rc = mtls_handshake(c);
	o->code = mtls_error_code(c);
	snprintf(o->msg, sizeof(o->msg), "%s", mtls_error(c) ? mtls_error(c) : "");
	snprintf(o->addr, sizeof(o->addr), "%s",
	    mtls_peer_address(c) ? mtls_peer_address(c) : "(null)");
	o->port = mtls_peer_port(c);
	if (o->rc == 0 && (n = mtls_read(c, o->data, sizeof(o->data) - 1)) > 0)
		o->data[n] = '\0';
	mtls_free(c);
}

/* Sends buf (len bytes) from a client on source, then closes its sending
 * side; the server side's outcome in *o. */
static void
deliver(struct mtls_config *cfg, const char *source, const void *buf,
    size_t len, struct outcome *o)
{
	struct mtls *srv = listening(cfg);
	int fd = raw_connect(mtls_local_port(srv), source);

	send_all(fd, buf, len);
	shutdown(fd, SHUT_WR);
	accept_one(srv, o);
	close(fd);
	mtls_free(srv);
}

/* --------------------------------------------------- headers that work */

struct good_row {
	const char *name;
	unsigned char bytes[400];
	size_t len;                 /* 0: strlen(bytes) */
	const char *addr;
	int port;                   /* -2: the socket's own port */
};

static struct good_row good_rows[] = {
	{ "v1 TCP4", "PROXY TCP4 203.0.113.7 192.0.2.1 40000 443\r\nhello", 0,
	  "203.0.113.7", 40000 },
	{ "v1 TCP6", "PROXY TCP6 2001:db8::7 2001:db8::1 40001 443\r\nhello", 0,
	  "2001:db8::7", 40001 },
	{ "v1 UNKNOWN", "PROXY UNKNOWN ignored text\r\nhello", 0,
	  "127.0.0.1", -2 },
	{ "v2 PROXY TCP4", "", 0, "203.0.113.7", 40000 },
	{ "v2 PROXY TCP6", "", 0, "2001:db8::7", 40001 },
	{ "v2 LOCAL", "", 0, "127.0.0.1", -2 },
	{ "v2 PROXY TCP4 with 300 bytes of TLVs", "", 0, "203.0.113.7", 40000 },
};

/* The v2 rows' bytes, made here: the table cannot hold their NULs in a
 * string literal's length. */
static void
fill_v2_rows(void)
{
	size_t n;

	n = v2_header(good_rows[3].bytes, 0x21, 0x11, v4_block, 12, 12);
	memcpy(good_rows[3].bytes + n, "hello", 5);
	good_rows[3].len = n + 5;
	n = v2_header(good_rows[4].bytes, 0x21, 0x21, v6_block, 36, 36);
	memcpy(good_rows[4].bytes + n, "hello", 5);
	good_rows[4].len = n + 5;
	n = v2_header(good_rows[5].bytes, 0x20, 0x00, "", 0, 0);
	memcpy(good_rows[5].bytes + n, "hello", 5);
	good_rows[5].len = n + 5;
	/* Longer than one peek: the rest is read and dropped in pieces. */
	n = v2_header(good_rows[6].bytes, 0x21, 0x11, v4_block, 12, 12 + 300);
	memcpy(good_rows[6].bytes + n, "hello", 5);
	good_rows[6].len = n + 5;
}

START_TEST(test_header_gives_client_and_only_its_bytes)
{
	const struct good_row *row;
	struct mtls_config *cfg = plain_proxy_config(NULL, 2000);
	struct outcome o;

	fill_v2_rows();
	row = &good_rows[_i];
	deliver(cfg, NULL, row->bytes, row->len ? row->len :
	    strlen((const char *)row->bytes), &o);
	ck_assert_msg(o.rc == 0, "%s: %s: %s", row->name,
	    mtls_error_name(o.code), o.msg);
	ck_assert_str_eq(o.addr, row->addr);
	if (row->port == -2)
		ck_assert_int_gt(o.port, 0);
	else
		ck_assert_int_eq(o.port, row->port);
	/* Not one byte after the header was taken with it. */
	ck_assert_str_eq(o.data, "hello");
	mtls_config_free(cfg);
}
END_TEST

/* ------------------------------------------------------- refusals */

struct bad_row {
	const char *name;
	unsigned char bytes[200];
	size_t len;                 /* 0: strlen(bytes) */
	int code;
	const char *needle, *needle2;
};

static struct bad_row bad_rows[] = {
	{ "an HTTP request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0,
	  MTLS_ERR_PROXY_PROTOCOL, "PROXY protocol: no header from 127.0.0.1:",
	  "(it began with \"GET / HT\")" },
	{ "v1 bad address", "PROXY TCP4 1.2.3 192.0.2.1 1 2\r\n", 0,
	  MTLS_ERR_PROXY_PROTOCOL, "malformed header from 127.0.0.1:",
	  "a v1 address is not one of its protocol" },
	{ "v1 IPv6 address in TCP4", "PROXY TCP4 ::1 ::1 1 2\r\n", 0,
	  MTLS_ERR_PROXY_PROTOCOL, "malformed header",
	  "a v1 address is not one of its protocol" },
	{ "v1 bad port", "PROXY TCP4 1.2.3.4 5.6.7.8 99999 2\r\n", 0,
	  MTLS_ERR_PROXY_PROTOCOL, "malformed header",
	  "a v1 port is not a number from 0 to 65535" },
	{ "v1 missing field", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", 0,
	  MTLS_ERR_PROXY_PROTOCOL, "malformed header", "needs 6 fields" },
	{ "v1 field too many", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", 0,
	  MTLS_ERR_PROXY_PROTOCOL, "malformed header", "needs 6 fields" },
	{ "v1 protocol", "PROXY SCTP 1.2.3.4 5.6.7.8 1 2\r\n", 0,
	  MTLS_ERR_PROXY_PROTOCOL, "malformed header",
	  "not TCP4, TCP6 or UNKNOWN" },
	{ "v1 no CRLF", "PROXY TCP4 "
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 0,
	  MTLS_ERR_PROXY_PROTOCOL, "malformed header",
	  "no CRLF within 107 bytes" },
	{ "v2 version 1", "\r\n\r\n\0\r\nQUIT\n\x11\x11\0\x0c"
	  "\xcb\0\x71\x07\xc0\0\x02\x01\x9c\x40\x01\xbb", 28,
	  MTLS_ERR_PROXY_PROTOCOL, "malformed header", "version is not 2" },
	{ "v2 command", "\r\n\r\n\0\r\nQUIT\n\x2f\x11\0\x0c"
	  "\xcb\0\x71\x07\xc0\0\x02\x01\x9c\x40\x01\xbb", 28,
	  MTLS_ERR_PROXY_PROTOCOL, "malformed header",
	  "neither LOCAL nor PROXY" },
	{ "v2 short IPv4 block", "\r\n\r\n\0\r\nQUIT\n\x21\x11\0\x04"
	  "\xcb\0\x71\x07", 20,
	  MTLS_ERR_PROXY_PROTOCOL, "malformed header",
	  "IPv4 address block is short" },
	{ "v2 short IPv6 block", "\r\n\r\n\0\r\nQUIT\n\x21\x21\0\x0c"
	  "\xcb\0\x71\x07\xc0\0\x02\x01\x9c\x40\x01\xbb", 28,
	  MTLS_ERR_PROXY_PROTOCOL, "malformed header",
	  "IPv6 address block is short" },
	{ "v1 cut short", "PROXY TCP4 203.0.113.7", 0, MTLS_ERR_CLOSED,
	  "PROXY protocol: 127.0.0.1:", "closed the connection after 22 bytes, "
	  "before a whole header" },
	{ "v2 cut short", "\r\n\r\n\0\r\nQUIT\n\x21\x11\0\x0c\xcb", 17,
	  MTLS_ERR_CLOSED, "PROXY protocol: 127.0.0.1:",
	  "closed the connection after 17 bytes" },
	{ "nothing at all", "", 0, MTLS_ERR_CLOSED, "PROXY protocol: 127.0.0.1:",
	  "closed the connection after 0 bytes" },
};

START_TEST(test_bad_header_refused)
{
	const struct bad_row *row = &bad_rows[_i];
	struct mtls_config *cfg = plain_proxy_config(NULL, 2000);
	struct outcome o;

	deliver(cfg, NULL, row->bytes, row->len ? row->len :
	    strlen((const char *)row->bytes), &o);
	ck_assert_msg(o.rc == -1 && o.code == row->code, "%s: expected %s, got "
	    "%d %s: %s", row->name, mtls_error_name(row->code), o.rc,
	    mtls_error_name(o.code), o.msg);
	ck_assert_msg_has(o.msg, row->needle);
	ck_assert_msg_has(o.msg, row->needle2);
	mtls_config_free(cfg);
}
END_TEST

/* CPU time of the calling thread, in ms. */
static long
thread_cpu_ms(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_THREAD, &ru), 0);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000L +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

/* A peer that sends part of a header and then nothing: the handshake
 * deadline ends the wait, and the wait is a wait (the bytes already in
 * must not keep the socket readable: a busy loop would burn the whole
 * timeout in CPU). */
START_TEST(test_silent_peer_times_out)
{
	struct mtls_config *cfg = plain_proxy_config(NULL, 500);
	struct mtls *srv = listening(cfg);
	int fd = raw_connect(mtls_local_port(srv), NULL);
	struct outcome o;
	long start = now_ms(), cpu = thread_cpu_ms();

	send_all(fd, "PROXY TCP4 ", 11);
	accept_one(srv, &o);
	cpu = thread_cpu_ms() - cpu;
	ck_assert_msg(cpu < 200, "waiting 500 ms for the header took %ld ms of "
	    "CPU", cpu);
	ck_assert_int_eq(o.rc, -1);
	ck_assert_int_eq(o.code, MTLS_ERR_TIMEOUT);
	ck_assert_msg_has(o.msg, "PROXY protocol: no whole header from "
	    "127.0.0.1:");
	ck_assert_msg_has(o.msg, "within the handshake timeout (500 ms)");
	ck_assert_int_lt(now_ms() - start, 2000);
	close(fd);
	mtls_free(srv);
	mtls_config_free(cfg);
}
END_TEST

/* ------------------------------------------------------ trusted sources */

struct source_row {
	const char *trusted, *source;
	bool admitted;
};

static const struct source_row source_rows[] = {
	{ NULL, "127.0.0.1", true },
	{ NULL, "127.0.0.2", true },                /* 127.0.0.0/8 */
	{ "10.0.0.0/8", "127.0.0.1", false },
	{ "127.0.0.2", "127.0.0.1", false },
	{ "127.0.0.2", "127.0.0.2", true },
	{ "::1, 127.0.0.0/31", "127.0.0.1", true },
	{ "::1 127.0.0.0/31", "127.0.0.2", false },
	{ "0.0.0.0/0", "127.0.0.3", true },
	{ "::/0", "127.0.0.1", false },             /* IPv6 entries only */
};

START_TEST(test_source_must_be_trusted)
{
	const struct source_row *row = &source_rows[_i];
	struct mtls_config *cfg = plain_proxy_config(row->trusted, 2000);
	const char *hdr = "PROXY TCP4 203.0.113.7 192.0.2.1 40000 443\r\nhi";
	struct outcome o;
	char needle[128];

	deliver(cfg, row->source, hdr, strlen(hdr), &o);
	if (row->admitted) {
		ck_assert_msg(o.rc == 0, "%s from %s: %s", row->trusted,
		    row->source, o.msg);
		ck_assert_str_eq(o.addr, "203.0.113.7");
	} else {
		ck_assert_int_eq(o.rc, -1);
		ck_assert_int_eq(o.code, MTLS_ERR_PROXY_PROTOCOL);
		snprintf(needle, sizeof(needle), "PROXY protocol: %s is not a "
		    "trusted source", row->source);
		ck_assert_msg_has(o.msg, needle);
	}
	mtls_config_free(cfg);
}
END_TEST

struct setter_row {
	const char *trusted, *needle;
};

static const struct setter_row setter_rows[] = {
	{ "10.0.0.0/33", "'10.0.0.0/33' is not an address or ADDRESS/BITS" },
	{ "::1/129", "'::1/129' is not an address" },
	{ "127.0.0.1/", "'127.0.0.1/' is not an address" },
	{ "10.0.0.0/8, lb.example", "'lb.example' is not an address" },
	{ "10.0.0.0/-1", "'10.0.0.0/-1' is not an address" },
	{ " , ", "the list of trusted sources is empty" },
};

START_TEST(test_setter_refuses_bad_list)
{
	const struct setter_row *row = &setter_rows[_i];
	struct mtls_config *cfg = mtls_config_new();

	ck_assert_cfg_failed_has(cfg, mtls_config_set_proxy_protocol(cfg,
	    row->trusted), MTLS_ERR_INVALID, row->needle);
	mtls_config_free(cfg);
}
END_TEST

START_TEST(test_setter_refused_once_frozen)
{
	struct mtls_config *cfg = plain_proxy_config(NULL, 2000);
	struct mtls *srv = listening(cfg);

	ck_assert_cfg_failed(cfg, mtls_config_set_proxy_protocol(cfg, NULL),
	    MTLS_ERR_CONFIG_FROZEN);
	mtls_free(srv);
	mtls_config_free(cfg);
}
END_TEST

/* Off unless asked for: a header is just data, the socket's peer the
 * client. */
START_TEST(test_off_by_default)
{
	struct mtls_config *cfg = mtls_config_new();
	const char *hdr = "PROXY TCP4 203.0.113.7 192.0.2.1 40000 443\r\n";
	struct outcome o;

	ck_assert_int_eq(mtls_config_insecure_plaintext(cfg), 0);
	deliver(cfg, "127.0.0.2", hdr, strlen(hdr), &o);
	ck_assert_int_eq(o.rc, 0);
	ck_assert_str_eq(o.addr, "127.0.0.2");
	ck_assert_str_eq(o.data, hdr);
	mtls_config_free(cfg);
}
END_TEST

/* ---------------------------------------- TLS behind the header */

struct tls_client {
	struct mtls_config *cfg;
	int port;
	const void *header;
	size_t header_len;
	int rc;
	char msg[512];
};

/* Connects, sends the header (if any), then makes a TLS handshake on the
 * same socket and reads the server's greeting. */
static void *
tls_client_main(void *arg)
{
	struct tls_client *t = arg;
	struct mtls *c = mtls_client_new(t->cfg);
	int fd = raw_connect(t->port, NULL);
	char buf[8];

	if (t->header_len > 0)
		send_all(fd, t->header, t->header_len);
	t->rc = mtls_connect_socket(c, fd, "localhost");
	if (t->rc == 0 && mtls_read(c, buf, sizeof(buf)) != 2)
		t->rc = -1;
	snprintf(t->msg, sizeof(t->msg), "%s", mtls_error(c) ? mtls_error(c) : "");
	mtls_close(c);
	mtls_free(c);
	close(fd);
	return NULL;
}

static struct mtls_config *
tls_proxy_config(void)
{
	struct mtls_config *cfg = cfg_new("server.crt", "server.key", "ca.crt");

	ck_assert_cfg_ok(cfg, mtls_config_set_proxy_protocol(cfg, NULL));
	return cfg;
}

/* The header, then a real mTLS handshake, both delivered one byte at a
 * time by a relay: the header is read in many pieces and the handshake
 * still gets every TLS byte. */
START_TEST(test_tls_after_header_split_into_bytes)
{
	struct mtls_config *scfg = tls_proxy_config();
	struct mtls *srv = listening(scfg), *c = NULL;
	unsigned char hdr[64];
	struct tls_client t = { .cfg = cfg_new("client.crt", "client.key",
	    "ca.crt"), .header = hdr };
	struct relay r;
	pthread_t th;

	t.header_len = v2_header(hdr, 0x21, 0x21, v6_block, 36, 36);
	ck_assert_int_eq(relay_start(&r, mtls_local_port(srv), RELAY_BYTES, 100,
	    1), 0);
	t.port = r.port;
	pthread_create(&th, NULL, tls_client_main, &t);
	ck_assert_int_eq(mtls_accept(srv, &c), 0);
	ck_assert_msg(mtls_handshake(c) == 0, "%s", mtls_error(c));
	ck_assert_str_eq(mtls_peer_address(c), "2001:db8::7");
	ck_assert_int_eq(mtls_peer_port(c), 40001);
	ck_assert_str_eq(mtls_peer_common_name(c), "client");
	ck_assert_int_eq(mtls_write(c, "hi", 2), 2);
	mtls_close(c);
	pthread_join(th, NULL);
	ck_assert_msg(t.rc == 0, "client: %s", t.msg);
	relay_stop(&r);
	mtls_free(c);
	mtls_free(srv);
	mtls_config_free(t.cfg);
	mtls_config_free(scfg);
}
END_TEST

/* A TLS client straight to a server that expects a load balancer's
 * header: refused, and the message says what it got and what to fix. */
START_TEST(test_tls_hello_instead_of_header)
{
	struct mtls_config *scfg = tls_proxy_config();
	struct mtls *srv = listening(scfg), *c = NULL;
	struct tls_client t = { .cfg = cfg_new("client.crt", "client.key",
	    "ca.crt"), .port = mtls_local_port(srv) };
	pthread_t th;

	pthread_create(&th, NULL, tls_client_main, &t);
	ck_assert_int_eq(mtls_accept(srv, &c), 0);
	ck_assert_conn_failed(c, mtls_handshake(c), MTLS_ERR_PROXY_PROTOCOL);
	ck_assert_msg_has(mtls_error(c), "PROXY protocol: no header from "
	    "127.0.0.1:");
	ck_assert_msg_has(mtls_error(c), "(it began with \"\\x16\\x03\\x01\", "
	    "a TLS hello: is the load balancer sending send-proxy-v2?)");
	/* The connection is done for: no TLS on it afterwards. */
	ck_assert_conn_failed(c, mtls_handshake(c), MTLS_ERR_INVALID);
	mtls_free(c);
	pthread_join(th, NULL);
	ck_assert_int_eq(t.rc, -1);
	mtls_free(srv);
	mtls_config_free(t.cfg);
	mtls_config_free(scfg);
}
END_TEST

/* ------------------------------------------------- non-blocking sockets */

static void
wait_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
}

/* The caller's non-blocking socket (mtls_accept_socket): WANT_POLLIN
 * while the header is partial, no client address yet; then the header's
 * client and the data after it. */
START_TEST(test_nonblocking_waits_for_whole_header)
{
	struct mtls_config *cfg = plain_proxy_config(NULL, 2000);
	struct mtls *srv = listening(cfg), *c = NULL;
	int fd = raw_connect(mtls_local_port(srv), NULL), afd;
	char buf[16] = "";
	ssize_t n;

	afd = accept4(mtls_fd(srv), NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	ck_assert_int_ge(afd, 0);
	ck_assert_int_eq(mtls_accept_socket(srv, &c, afd), 0);
	ck_assert_int_eq(mtls_handshake(c), MTLS_WANT_POLLIN);
	send_all(fd, "PROXY TCP4 203.0.113.7 ", 23);
	wait_readable(afd);
	ck_assert_int_eq(mtls_handshake(c), MTLS_WANT_POLLIN);
	ck_assert_ptr_null(mtls_peer_address(c));
	ck_assert_int_eq(mtls_peer_port(c), -1);
	send_all(fd, "192.0.2.1 40000 443\r\nafter", 26);
	wait_readable(afd);
	ck_assert_int_eq(mtls_handshake(c), 0);
	ck_assert_str_eq(mtls_peer_address(c), "203.0.113.7");
	ck_assert_int_eq(mtls_peer_port(c), 40000);
	n = mtls_read(c, buf, sizeof(buf) - 1);
	ck_assert_int_eq(n, 5);
	ck_assert_str_eq(buf, "after");
	mtls_free(c);
	close(afd);
	close(fd);
	mtls_free(srv);
	mtls_config_free(cfg);
}
END_TEST

Suite *
proxy_protocol_suite(void)
{
	Suite *s = suite_create("proxy_protocol");
	TCase *tc = tcase_create("proxy_protocol");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_header_gives_client_and_only_its_bytes, 0,
	    sizeof(good_rows) / sizeof(good_rows[0]));
	tcase_add_loop_test(tc, test_bad_header_refused, 0,
	    sizeof(bad_rows) / sizeof(bad_rows[0]));
	tcase_add_test(tc, test_silent_peer_times_out);
	tcase_add_loop_test(tc, test_source_must_be_trusted, 0,
	    sizeof(source_rows) / sizeof(source_rows[0]));
	tcase_add_loop_test(tc, test_setter_refuses_bad_list, 0,
	    sizeof(setter_rows) / sizeof(setter_rows[0]));
	tcase_add_test(tc, test_setter_refused_once_frozen);
	tcase_add_test(tc, test_off_by_default);
	tcase_add_test(tc, test_tls_after_header_split_into_bytes);
	tcase_add_test(tc, test_tls_hello_instead_of_header);
	tcase_add_test(tc, test_nonblocking_waits_for_whole_header);
	suite_add_tcase(s, tc);
	return s;
}
