/*
 * mtls_internal.h - struct layouts and internal prototypes of libmtls.
 * Nothing here is part of the public API.
 */
#ifndef MTLS_INTERNAL_H
#define MTLS_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/socket.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mtls.h"

#define MTLS_ERRBUF 1024

/* One error slot, owned by a config or a connection. */
struct mtls_errstate {
	int code;
	char msg[MTLS_ERRBUF];
	bool set;
};

struct mtls_config {
	int refs;                   /* atomic */
	int frozen;                 /* atomic: set once a connection uses it */
	SSL_CTX *ctx;               /* shared by every connection */
	bool have_identity;
	bool have_trust;
	char trust_desc[256];       /* "CA file 'ca.crt'", for messages */
	int connect_ms, handshake_ms, io_ms;
	unsigned char *alpn;        /* wire format, for the server's selection */
	size_t alpn_len;
	struct mtls_errstate err;
};

/* Facts about the peer, computed once on first use after the handshake. */
struct mtls_peer {
	bool loaded;
	bool provided;
	char *subject, *issuer, *common_name, *serial;
	char *fingerprint, *spki;
	char *cert_pem, *chain_pem;
	char *alpn;                 /* negotiated ALPN, NUL-terminated */
	time_t not_before, not_after;
	char **sans[MTLS_SAN_EMAIL + 1];  /* NULL-terminated lists by type */
};

enum mtls_role { ROLE_CLIENT, ROLE_SERVER, ROLE_ACCEPTED };

struct mtls {
	enum mtls_role role;
	struct mtls_config *cfg;
	SSL *ssl;
	int fd;
	bool own_fd;                /* we opened it: close it when done */
	bool nonblocking;           /* caller's non-blocking socket: return WANT_* */
	bool handshake_done;
	bool fatal;                 /* SSL failed: no more SSL calls but free */
	bool eof;                   /* the socket read end-of-file */
	bool closed;
	int wake_fd;                /* eventfd for mtls_wake, -1 if none */
	int woken;                  /* atomic */
	char *verify_name;          /* name to check the server certificate against */
	char peer_desc[300];        /* "localhost:8443" / "127.0.0.1:5123", for messages */
	/* handshake evidence, filled by callbacks */
	int verify_err;             /* first X509_V_ERR_*, 0 if none */
	int verify_depth;
	char verify_subject[256];
	char verify_issuer[256];
	char verify_detail[512];    /* expiry date, or the names a certificate has */
	int alert_received;         /* last fatal alert from the peer, -1 if none */
	bool cert_requested;        /* the server sent a CertificateRequest */
	int last_errno;             /* errno of the last failed socket call */
	struct mtls_peer peer;
	struct mtls_errstate err;
};

/* error.c */
/* Records the error; returns -1 so that a failing call can return it. */
int mtls_set_error(struct mtls_errstate *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mtls_clear_error(struct mtls_errstate *e);
void mtls_append_ssl_reason(char *buf, size_t len);
#define CFG_FAIL(cfg, code, ...) mtls_set_error(&(cfg)->err, (code), __VA_ARGS__)
#define CONN_FAIL(c, code, ...) mtls_set_error(&(c)->err, (code), __VA_ARGS__)
/* ENSURE(cond, object, code, msg...): fail the call unless cond holds. */
#define ENSURE_CFG(cond, cfg, code, ...) \
	do { if (!(cond)) return CFG_FAIL(cfg, code, __VA_ARGS__); } while (0)

/* config.c */
int mtls_config_check_mutable(struct mtls_config *cfg);
void mtls_config_freeze(struct mtls_config *cfg);

/* identity.c / trust.c: file reading shared by both */
int mtls_read_file(struct mtls_config *cfg, const char *what, const char *path,
    unsigned char **data, size_t *len);
void mtls_free_secret(unsigned char *data, size_t len);
const char *mtls_base_name(const char *path);

/* verify.c */
int mtls_verify_cb(int preverify_ok, X509_STORE_CTX *store);
void mtls_info_cb(const SSL *ssl, int where, int ret);
int mtls_alpn_select_cb(SSL *ssl, const unsigned char **out,
    unsigned char *outlen, const unsigned char *in, unsigned int inlen,
    void *arg);
int mtls_setup_verify_name(struct mtls *c, const char *name);
void mtls_format_dn(X509_NAME *name, char *buf, size_t len);

/* conn.c; mtls_conn_alloc returns NULL with errno set */
struct mtls *mtls_conn_alloc(struct mtls_config *cfg, enum mtls_role role);
int mtls_conn_attach(struct mtls *c, int fd, bool own_fd);
void mtls_describe_addr(const struct sockaddr *sa, char *buf, size_t len);

/* io.c */
long mtls_deadline(int timeout_ms);
int mtls_wait(struct mtls *c, int events, long deadline, int timeout_ms,
    const char *what);
BIO *mtls_bio_new(struct mtls *c);

/* diagnose.c: turns a failed SSL call into one error on c */
int mtls_fail_ssl(struct mtls *c, int ret, const char *op);

/* peer.c */
void mtls_peer_free(struct mtls_peer *p);
/* DNS, IP, URI or email name as text (malloc'd), NULL for other types and
 * for names holding NUL or control characters. */
char *mtls_general_name_text(const GENERAL_NAME *gn);

#endif /* MTLS_INTERNAL_H */
