/*
 * error.c - the one-message-per-object error state, and error code names.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "mtls_internal.h"

static const char *const error_names[] = {
	[MTLS_OK] = "MTLS_OK",
	[MTLS_ERR_INVALID] = "MTLS_ERR_INVALID",
	[MTLS_ERR_NOMEM] = "MTLS_ERR_NOMEM",
	[MTLS_ERR_FILE] = "MTLS_ERR_FILE",
	[MTLS_ERR_FORMAT] = "MTLS_ERR_FORMAT",
	[MTLS_ERR_PASSPHRASE] = "MTLS_ERR_PASSPHRASE",
	[MTLS_ERR_P12_PASSWORD] = "MTLS_ERR_P12_PASSWORD",
	[MTLS_ERR_KEY_MISMATCH] = "MTLS_ERR_KEY_MISMATCH",
	[MTLS_ERR_UNSUPPORTED] = "MTLS_ERR_UNSUPPORTED",
	[MTLS_ERR_CONFIG_FROZEN] = "MTLS_ERR_CONFIG_FROZEN",
	[MTLS_ERR_RESOLVE] = "MTLS_ERR_RESOLVE",
	[MTLS_ERR_CONNECT] = "MTLS_ERR_CONNECT",
	[MTLS_ERR_LISTEN] = "MTLS_ERR_LISTEN",
	[MTLS_ERR_TIMEOUT] = "MTLS_ERR_TIMEOUT",
	[MTLS_ERR_HANDSHAKE] = "MTLS_ERR_HANDSHAKE",
	[MTLS_ERR_PEER_UNTRUSTED] = "MTLS_ERR_PEER_UNTRUSTED",
	[MTLS_ERR_HOSTNAME] = "MTLS_ERR_HOSTNAME",
	[MTLS_ERR_NO_PEER_CERT] = "MTLS_ERR_NO_PEER_CERT",
	[MTLS_ERR_CERT_REJECTED] = "MTLS_ERR_CERT_REJECTED",
	[MTLS_ERR_PROTOCOL] = "MTLS_ERR_PROTOCOL",
	[MTLS_ERR_TRUNCATED] = "MTLS_ERR_TRUNCATED",
	[MTLS_ERR_CLOSED] = "MTLS_ERR_CLOSED",
	[MTLS_ERR_IO] = "MTLS_ERR_IO",
	[MTLS_ERR_WOKEN] = "MTLS_ERR_WOKEN",
	[MTLS_ERR_TLS] = "MTLS_ERR_TLS",
	[MTLS_ERR_NOT_ALLOWED] = "MTLS_ERR_NOT_ALLOWED",
	[MTLS_ERR_BAD_IDENTITY] = "MTLS_ERR_BAD_IDENTITY",
	[MTLS_ERR_HTTP] = "MTLS_ERR_HTTP",
	[MTLS_ERR_INTERRUPTED] = "MTLS_ERR_INTERRUPTED",
	[MTLS_ERR_PROXY_PROTOCOL] = "MTLS_ERR_PROXY_PROTOCOL",
};

MTLS_EXPORT const char *
mtls_error_name(int code)
{
	if (code < 0 || (size_t)code >= sizeof(error_names) / sizeof(error_names[0]))
		return "MTLS_ERR_UNKNOWN";
	return error_names[code];
}

MTLS_EXPORT int
mtls_abi_version(void)
{
	return MTLS_ABI_VERSION;
}

static int
set_error_v(struct mtls_errstate *e, int code, int sys_errno, const char *fmt,
    va_list ap)
{
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	e->code = code;
	e->sys_errno = sys_errno;
	e->set = true;
	/* The message now carries whatever was worth saying from the queue. */
	ERR_clear_error();
	return -1;
}

int
mtls_set_error(struct mtls_errstate *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error_v(e, code, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int
mtls_set_error_sys(struct mtls_errstate *e, int code, int sys_errno,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error_v(e, code, sys_errno, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * OpenSSL's reason for the earliest error on the thread's queue, the one
 * closest to the cause; NULL when the queue is empty.  The queue is left
 * as it is.
 */
const char *
mtls_ssl_reason(void)
{
	unsigned long code = ERR_peek_error();
	const char *reason;

	if (code == 0)
		return NULL;
	reason = ERR_reason_error_string(code);
	return reason != NULL ? reason : "unknown OpenSSL error";
}

/* Appends " (OpenSSL: <reason>)" (mtls_ssl_reason); nothing when the
 * queue is empty. */
static void
append_ssl_reason(char *buf, size_t len)
{
	const char *reason = mtls_ssl_reason();
	size_t used = strlen(buf);

	if (reason == NULL || used + 3 >= len)
		return;
	snprintf(buf + used, len - used, " (OpenSSL: %s)", reason);
}

int
mtls_set_error_ssl(struct mtls_errstate *e, int code, const char *fmt, ...)
{
	char msg[MTLS_ERRBUF];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	append_ssl_reason(msg, sizeof(msg));
	return mtls_set_error(e, code, "%s", msg);
}

void
mtls_clear_error(struct mtls_errstate *e)
{
	e->code = MTLS_OK;
	e->msg[0] = '\0';
	e->set = false;
}

/*
 * A callback that OpenSSL calls inside a handshake (verify, session,
 * ticket, policy) must leave the thread's error queue as it found it:
 * when the handshake then has to wait for more data, SSL_get_error(3)
 * reads the queue, and a stale entry turns "want read" into a fatal
 * error.  So each callback sets a mark on entry and, on its way out,
 * pops what it added when it succeeded; a failure keeps it, as the reason
 * OpenSSL's own error for the failed handshake will follow.
 */
void
mtls_callback_enter(void)
{
	ERR_set_mark();
}

void
mtls_callback_leave(bool failed)
{
	if (failed)
		ERR_clear_last_mark();
	else
		ERR_pop_to_mark();
}

/* What to add to a message about errno err: the descriptor limit it
 * means, and what to do, when it is one. */
const char *
mtls_descriptor_hint(int err)
{
	switch (err) {
	case EMFILE:
		return ": the process's descriptor limit is reached (raise it with "
		    "ulimit -n or systemd's LimitNOFILE=, or allow fewer "
		    "connections)";
	case ENFILE:
		return ": the system's descriptor limit is reached (fs.file-max)";
	default:
		return "";
	}
}

/* The code for an OpenSSL call that failed: MTLS_ERR_NOMEM when the
 * earliest error on the thread's queue says memory ran out, else
 * MTLS_ERR_TLS. */
int
mtls_ssl_failure_code(void)
{
	return ERR_GET_REASON(ERR_peek_error()) == ERR_R_MALLOC_FAILURE ?
	    MTLS_ERR_NOMEM : MTLS_ERR_TLS;
}

MTLS_EXPORT const char *
mtls_error(struct mtls *c)
{
	if (c == NULL)
		return NULL;
	if (c->err == NULL)
		return c->err_lost ? "out of memory (recording an error)" : NULL;
	return c->err->set ? c->err->msg : NULL;
}

MTLS_EXPORT int
mtls_error_errno(struct mtls *c)
{
	if (c == NULL || c->err == NULL)
		return c != NULL && c->err_lost ? ENOMEM : 0;
	return c->err->set ? c->err->sys_errno : 0;
}

MTLS_EXPORT int
mtls_error_code(struct mtls *c)
{
	if (c == NULL)
		return MTLS_ERR_INVALID;
	if (c->err == NULL)
		return c->err_lost ? MTLS_ERR_NOMEM : MTLS_OK;
	return c->err->code;
}

/*
 * A config's errors.  While one thread sets a config up, they are kept in
 * the config.  From the first connection made from it on, any number of
 * threads may use the config at once, and each thread's failures on it go
 * to a record of that thread's, tagged with the config's id (ids are never
 * reused, so a record cannot name a config freed and made again at the
 * same address).  mtls_config_new's own failure has no config to go to:
 * it goes to the thread's record with id 0, which mtls_config_error(NULL)
 * reads.
 */
static __thread struct {
	unsigned long config_id;
	struct mtls_errstate err;
} thread_error;

struct mtls_errstate *
mtls_config_errstate(struct mtls_config *cfg)
{
	unsigned long id = cfg != NULL ? cfg->id : 0;

	if (cfg != NULL && !__atomic_load_n(&cfg->shared, __ATOMIC_ACQUIRE))
		return &cfg->err;
	if (thread_error.config_id != id) {
		thread_error.config_id = id;
		mtls_clear_error(&thread_error.err);
	}
	return &thread_error.err;
}

struct mtls_errstate *
mtls_conn_errstate(struct mtls *c)
{
	/* Where a failure goes when no record can be made for it. */
	static __thread struct mtls_errstate lost;

	if (c->err == NULL && (c->err = calloc(1, sizeof(*c->err))) == NULL) {
		c->err_lost = true;
		return &lost;
	}
	return c->err;
}

/* What mtls_config_error reads for cfg: this thread's record of it if it
 * has one, else what the config kept from before it was shared. */
static const struct mtls_errstate *
config_errstate_seen(const struct mtls_config *cfg)
{
	unsigned long id = cfg != NULL ? cfg->id : 0;

	if (thread_error.config_id == id)
		return &thread_error.err;
	return cfg != NULL ? &cfg->err : NULL;
}

MTLS_EXPORT const char *
mtls_config_error(struct mtls_config *cfg)
{
	const struct mtls_errstate *e = config_errstate_seen(cfg);

	return e != NULL && e->set ? e->msg : NULL;
}

MTLS_EXPORT int
mtls_config_error_code(struct mtls_config *cfg)
{
	const struct mtls_errstate *e = config_errstate_seen(cfg);

	return e != NULL && e->set ? e->code : cfg != NULL ? MTLS_OK :
	    MTLS_ERR_INVALID;
}
