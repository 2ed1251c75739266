/*
 * mtls-server.h - what the parts of mtls-server share: the options
 * (parsed in mtls-server-args.c), the configuration and the signals
 * (mtls-server.c), the answers (mtls-server-serve.c), the logs
 * (mtls-server-log.c), the event loops that serve the connections
 * (mtls-server-loop.c) and the status listener (mtls-server-status.c).
 */
#ifndef MTLS_SERVER_H
#define MTLS_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

#include <mtls.h>
#include <mtls_http.h>

#include "http-relay.h"

enum { EXIT_USAGE = 1, EXIT_CONFIG = 2, EXIT_LISTEN = 3 };

#define MAX_LIST 32
#define MAX_LISTEN 16

/* --access-log-format */
enum log_format { LOG_COMBINED, LOG_JSON };

/* An allow-list flag and its value, in the order given. */
struct allow_opt {
	int type;                   /* enum mtls_allow_type */
	const char *value;
};

#define MAX_IDENTITIES 8

/* One --cert/--key/--pass or --p12 group, and the --server-name in force
 * when it was given (NULL: the default identities). */
struct identity_opt {
	const char *cert, *key, *pass, *p12, *names;
};

struct options {
	const char *listen[MAX_LISTEN];     /* each --listen, in order */
	int nlisten;
	const char *client_ca, *ca_names;
	struct identity_opt ids[MAX_IDENTITIES];
	int nids;
	const char *server_names;   /* the last --server-name */
	const char *verify_client, *crl, *root, *proxy;
	const char *ciphers, *curves;   /* nginx's ssl_ciphers, ssl_ecdh_curve */
	int tls_min, tls_max;       /* from --protocols; 0: the library's */
	struct upstream upstream;   /* --proxy: the backend, conn unused */
	struct allow_opt allow[MAX_LIST];
	const char *protect[MAX_LIST];
	const char *ticket_keys[MAX_LIST];
	const char *proxy_from[MAX_LIST];   /* --proxy-protocol-from */
	int nallow, nprotect, nticket_keys, nproxy_from;
	bool proxy_protocol;        /* --proxy-protocol */
	long verify_depth, tickets, max_body, max_connections, keepalive;
	long handshake_timeout;     /* --handshake-timeout, seconds */
	long workers;               /* --workers, default one per core */
	long send_timeout;          /* --send-timeout, seconds */
	long proxy_timeout;         /* --proxy-read-timeout, seconds */
	long max_header_line;       /* --max-header-line, -1 for the default */
	long session_cache;         /* --session-cache bytes, -1: default */
	long header_timeout;        /* --client-header-timeout, seconds */
	long watch_ms;              /* --watch, in ms; 0: not watched */
	int crl_chain;
	const char *password_file;  /* nginx's ssl_password_file */
	const char *pid_file;       /* nginx's pid */
	const char *access_log;     /* NULL: standard output; "off": none */
	const char *error_log;      /* NULL: standard error */
	const char *status_listen;  /* --status-listen ADDR:PORT, or NULL */
	enum log_format log_format;
	bool test_only;             /* -t: check the configuration, exit */
};

/* mtls-server-args.c: the options into o, or exit with a message (--help
 * and --version exit 0). */
void parse_options(int argc, char **argv, struct options *o);

/*
 * An answer to one request, made by reply_prepare and sent by reply_send,
 * which on a non-blocking connection goes as far as the socket takes and
 * returns MTLS_WANT_* (called again, it goes on).  reply_end logs it and
 * frees what it holds; reply_free only frees.
 */
enum reply_step { REPLY_FIXED, REPLY_START, REPLY_FILE, REPLY_END,
    REPLY_RELAY, REPLY_DONE };
struct reply {
	enum reply_step step;
	int status;
	unsigned long long bytes;   /* body bytes sent ($body_bytes_sent) */
	char hdr[2][96];
	const char *hdrs[4];
	const char *body;           /* a fixed answer's: own's or held's bytes */
	size_t len;
	char *own;                  /* ours, freed with the reply */
	struct cached_file *held;   /* a cached file's, held until then */
	int fd;                     /* a file streamed, or -1 */
	char *piece;                /* the file's piece being written */
	size_t piece_len;
	struct relay_job *job;      /* --proxy: the request relayed */
};
int reply_prepare(const struct options *o, struct mtls *c, const char *addr,
    struct upstream *u, struct mtls_http_req *req, struct reply *r);
int reply_send(struct mtls_http_req *req, struct reply *r);
void reply_end(struct mtls *c, const char *addr, struct mtls_http_req *req,
    struct reply *r);
void reply_free(struct reply *r);
/* reply_last: the answer says "Connection: close" (the server stops). */
void reply_last(struct reply *r);
/* remote_addr writes the client's address. */
void remote_addr(struct mtls *c, char *buf, size_t len);

/*
 * mtls-server-log.c: the access log (--access-log, standard output by
 * default; combined or json) and the error log (--error-log, standard
 * error).  logs_open opens the files (0, or -1 after saying why);
 * logs_start sends standard error to --error-log once the server
 * listens; logs_reopen opens both anew (SIGUSR1).  log_request writes
 * the line of an answered request; log_failure the line of a request the
 * library refused (and answered) and the error that ended a connection.
 * Both count the answer for /_metrics (stats_request), access log or not.
 * say_error writes a message of the library, with the options named
 * where it names C functions or constants (option_words), after context
 * when not NULL.
 */
int logs_open(const struct options *o);
void logs_start(void);
void logs_reopen(void);
void log_request(struct mtls *c, const char *addr, struct mtls_http_req *req,
    int status, unsigned long long bytes);
void log_failure(struct mtls *c, const char *addr);
void say_error(const char *context, const char *msg);
const char *option_words(const char *msg, char *buf, size_t len);

/*
 * mtls-server-identity.c: the client's identity as nginx's $ssl_client_*
 * variables show it.  client_verify writes $ssl_client_verify (SUCCESS,
 * FAILED:reason, NONE); identity_headers makes the IDENTITY_HEADERS lines
 * ("Name: value", malloc'ed, NULL after them) --proxy sends the backend
 * (0, or -1 when out of memory, the lines then NULL or freed with
 * identity_headers_free); identity_header_names lists their names, those
 * a client's request loses.
 */
#define IDENTITY_HEADERS 13
extern const char *const identity_header_names[];
void client_verify(struct mtls *c, char *buf, size_t len);
int identity_headers(struct mtls *c, const char *addr,
    char *lines[IDENTITY_HEADERS + 1]);
void identity_headers_free(char *lines[IDENTITY_HEADERS + 1]);

/* mtls-server-serve.c: connections_open adds delta to the count of
 * connections open and returns it; close_connection closes one and its
 * socket, and counts it out. */
void close_connection(struct mtls *conn);
long connections_open(long delta);

/*
 * mtls-server-loop.c: the engine, count worker threads each running an
 * epoll loop over non-blocking connections, all accepting from the
 * listening sockets fds.  loop_start returns 0 or -1 (errno set);
 * loop_set_config gives connections accepted from now on cfg (a reload).
 * loop_stop begins a stop and returns: the listeners are closed and
 * connections waiting for a request too; answers under way finish, for
 * as long as they take when graceful (SIGQUIT), for STOP_GRACE_MS at
 * most otherwise (SIGTERM; also after a graceful stop has begun).
 * loop_finished says when every worker has ended; loop_end then frees
 * them.  --proxy relays each request to the backend on a non-blocking
 * connection of the client connection's own, on the same loop
 * (http-relay.c).
 */
int loop_start(const int *fds, int nfds, struct mtls_config *cfg, int count,
    const struct options *o);
void loop_set_config(struct mtls_config *cfg);
void loop_stop(bool graceful);
bool loop_finished(void);
void loop_end(void);

/*
 * mtls-server-status.c: --status-listen, a plain-HTTP listener of its
 * own, on a thread of its own: /_status (JSON, 200 while serving, 503
 * once a stop began) and /_metrics (Prometheus's text format).
 * status_address splits arg as --status-listen takes it (ADDR:PORT,
 * [IPv6]:PORT; :PORT or a bare PORT for 127.0.0.1) into host and *port,
 * which points into arg: 0, or -1 when it is none of these.
 * status_start listens on o->status_listen and starts the thread (with
 * the signals blocked, as the caller has them): 0, or -1 after saying
 * why.  status_stopping makes /_status answer 503 from then on;
 * status_stop ends the thread and waits for it (nothing when none was
 * started).  The stats_* count what /_metrics shows, from any thread:
 * stats_handshake a handshake that ended (MTLS_OK or the error code),
 * stats_request an answer (its status and body bytes), stats_reload a
 * reload (whether it took), stats_file_reload one of --watch.
 */
int status_address(const char *arg, char *host, size_t len,
    const char **port);
int status_start(const struct options *o);
void status_stopping(void);
void status_stop(void);
void stats_handshake(int error_code);
void stats_request(int status, unsigned long long bytes);
void stats_reload(bool ok);
void stats_file_reload(bool ok);

/*
 * mtls-server-files.c: the files of --root, the small ones (up to
 * FILE_CHUNK bytes) kept in memory by each worker thread and checked
 * again at most once a second with one lstat(2).  files_find looks up
 * path (under --root, normalized) as open(O_NOFOLLOW) would find it, with
 * workers the number of threads that share the process's bound on bytes
 * kept.  It returns 0 with a small file in f->held (its bytes in
 * f->bytes, to be sent as they are, held until files_release) or a
 * bigger one open on f->fd (the caller's to close); else an errno value:
 * EACCES (403), ENOMEM, EIO (the read fell short), or another for a file
 * that is not there or not a regular file (404).  content_type is what a
 * file is served as, by its suffix.
 */
#define FILE_CHUNK 65536
struct cached_file;
struct file_found {
	struct cached_file *held;   /* a small file, or NULL */
	const char *bytes;          /* its bytes */
	int fd;                     /* a bigger file, or -1 */
	off_t size;
	const char *type;           /* its Content-Type */
};
int files_find(const char *path, int workers, struct file_found *f);
void files_release(struct cached_file *held);
const char *content_type(const char *path);

#endif
