/*
 * mtls_internal.h - struct layouts and internal prototypes of libmtls.
 * Nothing here is part of the public API.  The part the layer above the
 * connection (HTTP) may use, errors and guard macros included, is
 * conn_iface.h, included here.
 */
#ifndef MTLS_INTERNAL_H
#define MTLS_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "conn_iface.h"
#include "mtls.h"

#define MTLS_ERRBUF 1024

/* One error slot, owned by a config or a connection. */
struct mtls_errstate {
	int code;
	int sys_errno;              /* the errno behind it, or 0 */
	char msg[MTLS_ERRBUF];
	bool set;
};

/* One allow-list entry; text patterns or the raw bytes of an address or
 * digest. */
struct mtls_allow {
	int type;
	char *pattern;
	unsigned char bytes[32];
	size_t len;
};

/* One cached client session, found by "host|port|name". */
struct mtls_cached_session {
	char *key;
	SSL_SESSION *session;
};

/* One session of a server's store (session_store.c), found by its ID. */
struct mtls_stored_session {
	unsigned char id[32];       /* SSL_MAX_SSL_SESSION_ID_LENGTH */
	unsigned id_len;
	SSL_SESSION *session;       /* NULL: an empty slot */
	bool chain_ok;              /* the chain verdict of its handshake */
	int next;                   /* next slot in the bucket, or -1 */
	size_t bytes;               /* its estimated memory (session_cost) */
};

/* The store: a ring of slots, oldest evicted first, and hash buckets. */
struct mtls_session_store {
	struct mtls_stored_session *slots;  /* allocated on first use */
	int *buckets;
	unsigned mask;              /* bucket count - 1 */
	int max, newest;
	int count;                  /* sessions kept */
	size_t bytes;               /* their estimated memory, at most the
	                               config's server_session_bytes */
};

/* A trusted source of PROXY protocol headers: an address and prefix. */
struct mtls_cidr {
	int family;                 /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int bits;
};

/* The client an accepted connection serves, as the load balancer saw it
 * (proxy_protocol.c): made when a PROXY header is due, or by the first
 * mtls_peer_address. */
struct mtls_client_addr {
	char host[46];              /* INET6_ADDRSTRLEN */
	int port;
	bool known;                 /* host and port are set */
	bool pending;               /* the PROXY header is still to be read */
	bool checked;               /* the socket's peer is a trusted source */
	size_t skip;                /* header bytes still to read and drop */
	unsigned char *hdr;         /* the header's bytes read so far, while */
	size_t have;                /* pending (its first 232 at most) */
};

/* A session-ticket key in nginx's layouts: 80 bytes (AES-256, a 32-byte
 * HMAC key) or 48 (AES-128, a 16-byte HMAC key). */
struct mtls_ticket_key {
	unsigned char name[16];
	unsigned char hmac[32];
	unsigned char aes[32];
	bool aes128;                /* from a 48-byte key: 16 bytes of each */
};

/* A chain a config has verified (verify_cache.c), found by its key. */
struct mtls_verified {
	unsigned char key[32];      /* SHA-256 of role, name and the chain sent */
	time_t expires;
	STACK_OF(X509) *chain;      /* as verified, leaf first; NULL: empty */
};

struct mtls_verify_cache {
	pthread_mutex_t lock;
	struct mtls_verified *slots; /* size of them, allocated on first use */
	int size, seconds;
};

#define MTLS_DEFAULT_VERIFY_CACHE_SIZE 256
#define MTLS_DEFAULT_VERIFY_CACHE_SECONDS 60

#define MTLS_MAX_WARNINGS 8

/* What checking an identity found, kept apart until the identity is in
 * place, so that a load that fails leaves the config's as they were. */
struct mtls_identity_notes {
	char desc[300];             /* "certificate 'CN=x' from 'file'" */
	char *warnings[MTLS_MAX_WARNINGS];
};

/* One of our identities (identity.c): a config holds one per key type,
 * as OpenSSL's SSL_CTX does, which picks among them by what the peer
 * supports.  The SSL_CTX holds references of its own. */
#define MTLS_MAX_IDENTITIES 6
struct mtls_own_identity {
	int key_type;               /* EVP_PKEY_get_base_id of the key */
	X509 *leaf;
	STACK_OF(X509) *chain;      /* intermediates, without the leaf */
	EVP_PKEY *key;
	struct mtls_identity_notes notes;
};

/* Identities chosen by the server name a client asks for (sni.c). */
struct mtls_sni_entry {
	char **names;               /* lower case; "*.example.org" wildcards */
	size_t name_count;
	struct mtls_config *identities; /* a reference, frozen */
};

/* The calls a config was built with (recipe.c; recorded by
 * RECIPE_RECORD, conn_iface.h). */
#define MTLS_RECIPE_MAX_ARGS 6
union mtls_recipe_arg {
	char *s;                    /* p, s, S: a copy, or NULL */
	int i;
	unsigned long long u;
	size_t z;
	struct { void *data; size_t len; } m; /* m, M, I: a copy */
	struct mtls_recipe *sub;    /* c: a copy of the config's recipe */
	mtls_verify_fn f;
	void *v;
};

struct mtls_recipe_step {
	const char *name;           /* the setter's, for messages */
	mtls_setter_fn fn;
	const char *sig;            /* a literal: see conn_iface.h */
	union mtls_recipe_arg a[MTLS_RECIPE_MAX_ARGS];
};

struct mtls_recipe {
	struct mtls_recipe_step *steps;
	size_t count, cap;
	bool incomplete;            /* a call could not be recorded, or its
	                               secrets were wiped (settled) */
	int settled;                /* atomic: secrets wiped at first use */
};

struct mtls_watch;              /* watch.c */

struct mtls_config {
	int refs;                   /* atomic */
	int frozen;                 /* atomic: set once a connection uses it */
	int shared;                 /* atomic: set once a connection is made
	                               from it: errors are then per thread */
	unsigned long id;           /* unique in the process, never 0 */
	SSL_CTX *ctx;               /* shared by every connection */
	struct mtls_own_identity ids[MTLS_MAX_IDENTITIES];
	int id_count;
	struct mtls_sni_entry *sni; /* sni.c */
	size_t sni_count;
	bool have_trust;
	char trust_desc[256];       /* "CA file 'ca.crt'", for messages */
	int connect_ms, handshake_ms, io_ms;
	int write_ms;                /* -1: io_ms */
	bool interruptible;         /* a signal ends a blocking wait */
	bool signals_held;          /* ... only one outside wait_mask */
	sigset_t wait_mask;         /* signals blocked while waiting */
	unsigned char *alpn;        /* wire format, for the server's selection */
	size_t alpn_len;
	/* policy (policy.c) */
	int verify_client;          /* enum mtls_verify_client */
	bool insecure_noverify;
	bool plaintext;             /* no TLS at all: plain TCP connections */
	bool custom_ca_names;       /* advertised names set apart from trust */
	bool allow_bad_identity;    /* preflight problems are only warnings */
	struct mtls_allow *allow;
	size_t allow_count;
	mtls_verify_fn verify_fn;
	void *verify_arg;
	time_t crl_next_update;     /* earliest nextUpdate of its CRLs, or 0 */
	struct mtls_verify_cache verify_cache; /* verify_cache.c */
	char *warnings[MTLS_MAX_WARNINGS]; /* the role checks' */
	pthread_mutex_t check_lock; /* the role checks of *_new, run once */
	bool role_ok[2];            /* [server]: the role check passed */
	/* sessions (session.c) */
	pthread_mutex_t session_lock;
	struct mtls_cached_session *sessions;
	int session_max, session_count;
	struct mtls_session_store server_sessions; /* session_store.c */
	int server_session_max;
	size_t server_session_bytes; /* the store's memory cap, 0: no store */
	int ticket_count;           /* TLS 1.3 tickets per full handshake */
	struct mtls_ticket_key *ticket_keys;
	size_t ticket_key_count;
	/* PROXY protocol (proxy_protocol.c): NULL when off */
	struct mtls_cidr *proxy_from;
	size_t proxy_from_count;
	/* One extension slot, as struct mtls has: the layer above (the HTTP
	 * server helper, for its limits) hangs its settings here, made by its
	 * setters while the config is still mutable, and mtls_config_free
	 * calls ext_free(cfg) to free them. */
	void *ext;
	void (*ext_free)(struct mtls_config *cfg);
	struct mtls_recipe recipe;  /* how it was built (recipe.c) */
	struct mtls_watch *watch;   /* set: it reloads its files (watch.c) */
	void (*watch_free)(struct mtls_config *cfg); /* set with watch, by
	                               the layer above, as ext_free */
	struct mtls_errstate err;
};

/* Facts about the peer, each computed on first use (peer.c). */
enum {
	PEER_SUBJECT = 1 << 0, PEER_ISSUER = 1 << 1, PEER_CN = 1 << 2,
	PEER_SERIAL = 1 << 3, PEER_FINGERPRINT = 1 << 4, PEER_SPKI = 1 << 5,
	PEER_CERT_PEM = 1 << 6, PEER_CHAIN_PEM = 1 << 7, PEER_SANS = 1 << 8
};

struct mtls_peer {
	unsigned computed;          /* PEER_* bits of the facts below */
	char *subject, *issuer, *common_name, *serial;
	char *fingerprint, *spki;
	char *cert_pem, *chain_pem;
	char *alpn;                 /* negotiated ALPN, NUL-terminated */
	char **sans[MTLS_SAN_EMAIL + 1];  /* NULL-terminated lists by type */
};

enum mtls_role { ROLE_CLIENT, ROLE_SERVER, ROLE_ACCEPTED };

/* The evidence of a failed verification or a refusal by the policy, for
 * the messages of diagnose.c and the text of describe.c. */
struct mtls_evidence {
	char verify_subject[256];
	char verify_issuer[256];
	char verify_detail[512];    /* expiry date, or the names a certificate has */
	char policy_reason[600];
};
/* util.c: c's evidence, empty strings when it has none; the evidence to
 * fill, made on first use (NULL when out of memory: the message then
 * lacks its details). */
const struct mtls_evidence *mtls_evidence(const struct mtls *c);
struct mtls_evidence *mtls_evidence_new(struct mtls *c);

struct mtls {
	enum mtls_role role;
	struct mtls_config *cfg;
	SSL *ssl;
	int fd;
	bool own_fd;                /* we opened it: close it when done */
	bool plain;                 /* from a plaintext config: the socket
	                               carries the data, ssl stays NULL */
	bool attached;              /* mtls_conn_attach succeeded: connected
	                               or accepted, ready for I/O */
	size_t plain_sent;          /* plain: bytes of an unfinished non-blocking
	                               write already sent */
	bool nonblocking;           /* caller's non-blocking socket: return WANT_* */
	bool handshake_done;        /* the TLS handshake completed; never set on
	                               a plain connection, so it implies ssl */
	long handshake_deadline;    /* monotonic ms, set once when the socket
	                               is attached: the whole handshake, across
	                               calls and waits; -1 for none */
	bool fatal;                 /* SSL failed: no more SSL calls but free */
	bool eof;                   /* the socket read end-of-file */
	bool closed;
	int waiter_fd;              /* atomic: the eventfd of the thread
	                               waiting on this object, or -1 (wake.c) */
	int woken;                  /* atomic: mtls_wake was called */
	int wakers;                 /* atomic: mtls_wake calls under way */
	bool signals_held;          /* the config's wait_mask, copied at */
	sigset_t wait_mask;         /* creation: a server keeps its first */
	int interruptible;          /* atomic: the config's, for mtls_wait; a
	                               server's follows mtls_server_set_config */
	char *verify_name;          /* name to check the server certificate against */
	char *peer_desc;            /* "localhost:8443" / "127.0.0.1:5123", for
	                               messages; "" until set (conn.c) */
	/* handshake evidence, filled by callbacks */
	int verify_err;             /* first X509_V_ERR_*, 0 if none */
	int verify_depth;
	struct mtls_evidence *ev;   /* what a failure leaves, or NULL: made by
	                               the first failure (most connections
	                               have none, and hold none) */
	int alert_received;         /* last fatal alert from the peer, -1 if none */
	bool cert_requested;        /* the server sent a CertificateRequest */
	bool renegotiation_refused; /* we answered the peer's renegotiation
	                               with a no_renegotiation alert */
	int last_errno;             /* errno of the last failed socket call */
	/* policy evidence */
	bool policy_done;           /* allow-list and callback ran */
	bool policy_rejected;
	X509 *pending_cert;         /* the peer's certificate while the policy
	                               runs inside the handshake */
	STACK_OF(X509) *pending_chain;
	int pending_chain_ok;
	bool chain_tolerated;       /* a failed chain the mode lets through */
	bool chain_cached;          /* its verdict came from the verify cache */
	X509 *refused_cert;         /* the peer certificate the policy refused */
	char *session_key;          /* client session cache key */
	char *host_header;          /* "host[:port]" for HTTP requests */
	pthread_mutex_t cfg_lock;   /* a server's cfg may be swapped */
	char **acceptable_ca;       /* names the server asked for, NULL-ended */
	char *description;          /* mtls_conn_describe's text */
	struct mtls_peer peer;
	struct mtls_client_addr *client; /* proxy_protocol.c, or NULL */
	/* One extension slot: the layer above (the HTTP helpers) hangs its
	 * state here, and mtls_free calls ext_free(c) to free it. */
	void *ext;
	void (*ext_free)(struct mtls *c);
	/* c's error, made by the first failure (mtls_conn_errstate): most
	 * connections never fail, and hold no message buffer */
	struct mtls_errstate *err;
	bool err_lost;              /* one failed when none could be made */
};

/* peer.c: an ASN1_TIME as time_t, or -1 when absent or malformed. */
time_t mtls_asn1_time(const ASN1_TIME *t);

/* verify_cache.c */
int mtls_verify_cache_setup(struct mtls_config *cfg);
void mtls_verify_cache_free(struct mtls_config *cfg);
bool mtls_verify_cache_lookup(struct mtls *c, X509_STORE_CTX *store,
    unsigned char key[32]);
void mtls_verify_cache_add(struct mtls *c, X509_STORE_CTX *store,
    const unsigned char key[32]);

/* The library context of every SSL_CTX (libctx.c); NULL: the default. */
OSSL_LIB_CTX *mtls_libctx(void);

/* error.c; the error calls and the guard macros are conn_iface.h's */
/* ": the process's descriptor limit is reached (...)" for EMFILE, the
 * system's for ENFILE, else "": the end of a message about errno err. */
const char *mtls_descriptor_hint(int err);
/* MTLS_ERR_NOMEM if OpenSSL's earliest queued error is a failed
 * allocation, else MTLS_ERR_TLS. */
int mtls_ssl_failure_code(void);
/* Brackets the body of every callback OpenSSL calls inside a handshake:
 * see error.c. */
void mtls_callback_enter(void);
void mtls_callback_leave(bool failed);
/* util.c: setters call mtls_config_check_mutable (conn_iface.h) first */
void mtls_config_freeze(struct mtls_config *cfg);
/* One more reference on cfg (mtls_config_ref's work); returns cfg. */
struct mtls_config *mtls_config_hold(struct mtls_config *cfg);
/* From now on cfg may be used by many threads at once. */
void mtls_config_share(struct mtls_config *cfg);

/* names.c: a DN as "CN=x,O=y" in buf (empty when it cannot be printed);
 * a DNS, IP, URI or email name as text (malloc'd), NULL for other types
 * and for names holding NUL or control characters. */
void mtls_format_dn(X509_NAME *name, char *buf, size_t len);
char *mtls_general_name_text(const GENERAL_NAME *gn);
/* A name's bytes as a C string (malloc'd), used whole or not at all: NULL
 * when they hold NUL or a control character. */
char *mtls_clean_copy(const unsigned char *data, int len);

/* util.c: reading files, wiping secrets, PEM texts */
int mtls_read_file(struct mtls_config *cfg, const char *what, const char *path,
    unsigned char **data, size_t *len);
void mtls_free_secret(unsigned char *data, size_t len);
const char *mtls_base_name(const char *path);
/* After a PEM_read_bio_* loop: 0 at the end of the text, -1 with
 * MTLS_ERR_FORMAT ("in <desc>, a PEM block cannot be read as a <what>")
 * when it stopped at a block it could not read. */
int mtls_pem_read_ended(struct mtls_config *cfg, const char *desc,
    const char *what);

/* verify.c */
int mtls_verify_cb(int preverify_ok, X509_STORE_CTX *store);
void mtls_info_cb(const SSL *ssl, int where, int ret);
int mtls_alpn_select_cb(SSL *ssl, const unsigned char **out,
    unsigned char *outlen, const unsigned char *in, unsigned int inlen,
    void *arg);
int mtls_setup_verify_name(struct mtls *c, const char *name);

/* conn.c; mtls_conn_alloc returns NULL with errno set */
struct mtls *mtls_conn_alloc(struct mtls_config *cfg, enum mtls_role role);
int mtls_conn_attach(struct mtls *c, int fd, bool own_fd);
void mtls_describe_addr(const struct sockaddr *sa, char *buf, size_t len);
/* util.c: c->peer_desc, "" (mtls_no_peer_desc) until set; set (kept as
 * it was when out of memory) and freed back to "". */
extern char mtls_no_peer_desc[];
void mtls_set_peer_desc(struct mtls *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void mtls_peer_desc_free(struct mtls *c);

/* wait.c (mtls_now_ms and mtls_deadline are conn_iface.h's): waits
 * until c's socket is ready for events (0), or -1 with c's error set;
 * mtls_fail_interrupted: a wait that EINTR ended, -1 when c's config
 * makes signals end waits, else 0 to wait again.  io.c's mtls_read_timed,
 * mtls_handshake_step and mtls_input_pending are conn_iface.h's. */
int mtls_wait(struct mtls *c, int events, long deadline, int timeout_ms,
    const char *what);
int mtls_fail_interrupted(struct mtls *c, const char *what);
/* wait.c: fails c with MTLS_ERR_TIMEOUT: "what with peer timed out after
 * timeout_ms ms"; returns -1. */
int mtls_fail_timeout(struct mtls *c, const char *what, int timeout_ms);

/* wake.c: a wait publishes the calling thread's eventfd in c (returned,
 * or -1 with errno) and withdraws it when done; take reports and clears a
 * mtls_wake; drain empties an eventfd that poll found readable. */
int mtls_wake_begin_wait(struct mtls *c);
void mtls_wake_end_wait(struct mtls *c);
bool mtls_wake_take(struct mtls *c);
void mtls_wake_drain(int fd);
BIO *mtls_bio_new(struct mtls *c);

/* diagnose.c: turns a failed SSL call (or a failed recv or send of a
 * plain connection, reported as SSL_ERROR_SYSCALL) into one error on c */
/* The call an SSL failure happened in, for diagnose.c. */
enum mtls_op { MTLS_OP_HANDSHAKE, MTLS_OP_READ, MTLS_OP_WRITE };
int mtls_fail_ssl(struct mtls *c, int ret, enum mtls_op op);

/* policy.c */
int mtls_cert_verify_cb(X509_STORE_CTX *store, void *arg);
int mtls_policy_after_handshake(struct mtls *c);
bool mtls_policy_admits_resumption(struct mtls *c, X509 *cert, bool chain_ok);
void mtls_allow_free(struct mtls_config *cfg);
/* Whether cert matches an entry of cfg's allow-list (none: false). */
bool mtls_allow_matches(const struct mtls_config *cfg, X509 *cert);
void mtls_describe_identity(X509 *cert, bool with_subject, char *buf,
    size_t len);

/* preflight.c: checks an identity into notes (0, or -1 with the error on
 * cfg and notes empty); commit makes them the config's, consuming them. */
int mtls_preflight_identity(struct mtls_config *cfg, X509 *leaf,
    STACK_OF(X509) *chain, const char *name,
    struct mtls_identity_notes *notes);
void mtls_identity_notes_warn(struct mtls_identity_notes *notes,
    const char *text);
void mtls_identity_notes_free(struct mtls_identity_notes *notes);
int mtls_preflight_role(struct mtls_config *cfg, bool server);
void mtls_warnings_free(struct mtls_config *cfg);

/* identity.c */
void mtls_identities_free(struct mtls_config *cfg);

/* sni.c: the server's answer to a client's server name */
int mtls_servername_cb(SSL *ssl, int *alert, void *arg);
/* frees the entries' names; their configs are the caller's to release */
void mtls_sni_free(struct mtls_config *cfg);

/* session_store.c */
void mtls_store_setup(struct mtls_config *cfg);
void mtls_store_free(struct mtls_session_store *store);
bool mtls_store_in_use(const struct mtls_config *cfg);
int mtls_store_new_session(struct mtls *c, SSL_SESSION *session);

/* session.c */
int mtls_session_setup(struct mtls_config *cfg);
void mtls_session_prepare_accepted(struct mtls *c);
void mtls_session_free(struct mtls_config *cfg);
int mtls_session_attach(struct mtls *c, const char *host, const char *port,
    const char *name);

/* proxy_protocol.c: a header due on c, made so when it is attached; read
 * by the handshake (0, MTLS_WANT_POLLIN, or -1 with c failed) */
int mtls_proxy_attach(struct mtls *c);
int mtls_proxy_read_header(struct mtls *c);
/* proxy_trust.c: whether addr may send a header; frees cfg's list */
bool mtls_proxy_trusted(const struct mtls_config *cfg, int family,
    const unsigned char addr[16]);
void mtls_proxy_free(struct mtls_config *cfg);

/* recipe.c: the calls a config remembers; mtls_recipe_paths gives the
 * paths of the files cfg's calls named, its SNI identities' included
 * (pointers into the recipes, valid while cfg lives; *paths malloc'd),
 * or -1 when out of memory. */
void mtls_recipe_free(struct mtls_recipe *r);
/* At a config's first use (a connection, a server, an SNI entry): an
 * unwatched config will never be built again, so the secrets its recipe
 * holds (passphrases, keys in memory) are wiped then.  Any thread. */
void mtls_recipe_settle(struct mtls_config *cfg);
/* Whether r, and the recipes it holds, can be replayed. */
bool mtls_recipe_complete(const struct mtls_recipe *r);
int mtls_recipe_paths(const struct mtls_config *cfg, const char ***paths,
    size_t *count);
/* replay.c: a new config made by the same calls as cfg's, or NULL with
 * the reason in err. */
struct mtls_config *mtls_recipe_replay(struct mtls_config *cfg, char *err,
    size_t err_len);

/* watch.c: the config a new connection of role is made from, with a
 * reference for the caller: cfg itself, or what cfg's watch rebuilt
 * last, after a check of its files when one is due. */
struct mtls_config *mtls_watch_current(struct mtls_config *cfg,
    enum mtls_role role);

/* preflight.c: what a TLS role needs of cfg (0, or -1 with cfg's
 * error). */
int mtls_check_tls_role(struct mtls_config *cfg, enum mtls_role role);

/* peer.c */
char *mtls_cert_common_name(X509 *cert);
int mtls_cert_sha256(X509 *cert, bool spki_only, unsigned char md[32]);
void mtls_peer_free(struct mtls_peer *p);

#endif /* MTLS_INTERNAL_H */
