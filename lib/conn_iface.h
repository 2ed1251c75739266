/*
 * conn_iface.h - what the layer above the connection (the HTTP helpers,
 * lib/http_*.c) may use of the library's inside, besides the public API
 * of mtls.h: the error state and its guard macros, reads bounded by a
 * deadline, a few facts about a connection and its config, and one
 * extension slot on each of them.
 *
 * struct mtls and struct mtls_config stay opaque here: their layouts are
 * mtls_internal.h's, which includes this header and which the layer above
 * does not include.  Internal: nothing here is part of the public API.
 */
#ifndef MTLS_CONN_IFACE_H
#define MTLS_CONN_IFACE_H

#include <stdbool.h>
#include <sys/types.h>

#include "mtls.h"

/* ------------------------------------------------------ errors (error.c) */

/* One error slot, owned by a config or a connection (mtls_internal.h). */
struct mtls_errstate;

/* Records the error; returns -1 so that a failing call can return it. */
int mtls_set_error(struct mtls_errstate *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same for a failed system call, whose errno is kept
 * (mtls_error_errno). */
int mtls_set_error_sys(struct mtls_errstate *e, int code, int sys_errno,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same, with " (OpenSSL: <reason>)" of the thread's earliest queued
 * error appended. */
int mtls_set_error_ssl(struct mtls_errstate *e, int code, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));
void mtls_clear_error(struct mtls_errstate *e);
/* OpenSSL's reason for the thread's earliest queued error (never NULL:
 * "unknown OpenSSL error"), or NULL when the queue is empty: the one
 * lookup of it, for the messages that quote it in a place of their own. */
const char *mtls_ssl_reason(void);
/* Where a failure on cfg is recorded: in cfg while one thread sets it up,
 * in the calling thread's record once connections are made from it; NULL
 * cfg: mtls_config_new's failure. */
struct mtls_errstate *mtls_config_errstate(struct mtls_config *cfg);
/* Where a failure on c is recorded: c's own error, what mtls_error reads. */
struct mtls_errstate *mtls_conn_errstate(struct mtls *c);

/* Fail a call on a config or a connection: record the message, give -1. */
#define CFG_FAIL(cfg, code, ...) \
	mtls_set_error(mtls_config_errstate(cfg), (code), __VA_ARGS__)
#define CONN_FAIL(c, code, ...) \
	mtls_set_error(mtls_conn_errstate(c), (code), __VA_ARGS__)
/* The same for a failed system call: err (its errno) is kept for
 * mtls_error_errno. */
#define CONN_FAIL_SYS(c, code, err, ...) \
	mtls_set_error_sys(mtls_conn_errstate(c), (code), (err), __VA_ARGS__)
#define CFG_FAIL_SSL(cfg, code, ...) \
	mtls_set_error_ssl(mtls_config_errstate(cfg), (code), __VA_ARGS__)
#define CONN_FAIL_SSL(c, code, ...) \
	mtls_set_error_ssl(mtls_conn_errstate(c), (code), __VA_ARGS__)
/*
 * Guards, in the manner of s2n's: ENSURE_X(cond, object, code, msg...)
 * fails the call unless cond holds, recording code and the message on the
 * object; the function returns -1, or NULL with the _PTR forms (functions
 * that return a pointer).  cond is evaluated once; the object and the
 * message only when it fails.
 */
#define ENSURE_CFG(cond, cfg, code, ...) \
	do { if (!(cond)) return CFG_FAIL(cfg, code, __VA_ARGS__); } while (0)
#define ENSURE_CONN(cond, c, code, ...) \
	do { if (!(cond)) return CONN_FAIL(c, code, __VA_ARGS__); } while (0)
#define ENSURE_CFG_PTR(cond, cfg, code, ...) \
	do { \
		if (!(cond)) { \
			(void)CFG_FAIL(cfg, code, __VA_ARGS__); \
			return NULL; \
		} \
	} while (0)
#define ENSURE_CONN_PTR(cond, c, code, ...) \
	do { \
		if (!(cond)) { \
			(void)CONN_FAIL(c, code, __VA_ARGS__); \
			return NULL; \
		} \
	} while (0)

/* ---------------------------------------------- the recipe (recipe.c) */

/*
 * Every public setter of a config records its successful call in the
 * config's recipe, so that the config can be built again from the same
 * calls when the files it names change (watch.c).  A setter joins with
 * its final return, which records the call when rc is 0 and gives rc:
 *
 *	return RECORDED(rc, cfg, mtls_config_set_ca_file, "p", ca_file);
 *
 * The signature string says what follows, one letter a C argument after
 * cfg, and how the copy is kept:
 *   p  const char *, a file path (watched; NULL: none)   s  const char *
 *   S  const char *, a secret (wiped when freed)          i  int
 *   u  unsigned long long    z  size_t
 *   m  const void *, size_t: a buffer (copied)  M  the same, a secret
 *   I  const int *, size_t: an array of ints
 *   c  struct mtls_config * (its recipe copied, replayed into a new one)
 *   f  mtls_verify_fn        v  void * (kept as given)
 * A signature not yet known to mtls_recipe_replay needs one case there.
 * Recording never fails the setter: out of memory, the recipe is marked
 * incomplete and the config cannot be watched.  The secrets (S, M) are
 * kept only until the config is first used, unless it is watched
 * (mtls_recipe_settle).
 */
typedef void (*mtls_setter_fn)(void);
int mtls_recipe_record(int rc, struct mtls_config *cfg, const char *name,
    mtls_setter_fn fn, const char *sig, ...);
#define RECORDED(rc, cfg, fn, sig, ...) \
	mtls_recipe_record((rc), (cfg), #fn, (mtls_setter_fn)(fn), (sig), \
	    ##__VA_ARGS__)

/* util.c: a config's setters call this first (0, or -1 with
 * MTLS_ERR_CONFIG_FROZEN once a connection uses it). */
int mtls_config_check_mutable(struct mtls_config *cfg);

/* ---------------------------------------------- reads and writes (io.c) */

/* wait.c: now on the monotonic clock, in ms; an absolute deadline on
 * it, or -1 for none. */
long mtls_now_ms(void);
long mtls_deadline(int timeout_ms);
/* A read that waits until deadline (the limit of timeout_ms, named "what"
 * in a timeout's message); returns as mtls_read. */
ssize_t mtls_read_timed(struct mtls *c, void *buf, size_t len, long deadline,
    int timeout_ms, const char *what);
/* The same for a write; returns as mtls_write. */
ssize_t mtls_write_timed(struct mtls *c, const void *buf, size_t len,
    long deadline, int timeout_ms, const char *what);
/* The handshake steps that can be made with what has arrived, then
 * MTLS_WANT_POLLIN instead of a wait for more; returns as mtls_handshake. */
int mtls_handshake_step(struct mtls *c);
/* Whether a read on c could return something now. */
bool mtls_input_pending(struct mtls *c);

/* --------------------------------------------- a connection (conn.c) */

/* The config c was made from (an accepted connection's: the server's when
 * it was accepted); borrowed, c holds a reference. */
struct mtls_config *mtls_conn_config(const struct mtls *c);
/* "localhost:8443" / "127.0.0.1:5123": the peer, for messages. */
const char *mtls_conn_peer_desc(const struct mtls *c);
/* "host[:port]" for an HTTP request's Host field, or NULL (a client
 * connected by its socket). */
const char *mtls_conn_host_header(const struct mtls *c);
/* Whether a server accepted c (not a client, nor a listener). */
bool mtls_conn_is_accepted(const struct mtls *c);
/* Whether c is from a plaintext config: no TLS. */
bool mtls_conn_is_plain(const struct mtls *c);
/* Whether c's socket was non-blocking when it was attached: its calls
 * return MTLS_WANT_POLLIN / MTLS_WANT_POLLOUT instead of waiting. */
bool mtls_conn_is_nonblocking(const struct mtls *c);
/* Whether c's TLS handshake completed (never on a plain connection). */
bool mtls_conn_handshake_done(const struct mtls *c);
/* Whether a TLS failure ended c: nothing more can be sent on it. */
bool mtls_conn_has_failed(const struct mtls *c);

/*
 * The extension slots: the layer above hangs its state off a connection,
 * and its settings off a config, through one opaque pointer each, with
 * the function that frees it (mtls_free and mtls_config_free call it; it
 * sets the slot back to NULL).  A config's slot is set only by a setter,
 * while the config is mutable: connections read it without a lock.
 */
void *mtls_conn_ext(const struct mtls *c);
void mtls_conn_set_ext(struct mtls *c, void *ext,
    void (*ext_free)(struct mtls *c));
void *mtls_config_ext(const struct mtls_config *cfg);
void mtls_config_set_ext(struct mtls_config *cfg, void *ext,
    void (*ext_free)(struct mtls_config *cfg));
/* cfg's I/O timeout in ms (mtls_config_set_timeouts), 0 for none. */
int mtls_config_io_ms(const struct mtls_config *cfg);
/* cfg's timeout for writes in ms (mtls_config_set_write_timeout, else the
 * I/O timeout), 0 for none. */
int mtls_config_write_ms(const struct mtls_config *cfg);

#endif /* MTLS_CONN_IFACE_H */
