/*
 * mtls.h - libmtls, mutual TLS client and server connections over OpenSSL.
 *
 * The public header of libmtls's connection API (the HTTP/1.1 helpers
 * are in mtls_http.h, which this header includes).  Two opaque objects:
 *
 *   struct mtls_config  identity (certificate chain and key), trust anchors,
 *                       protocol settings.  Built once, then shared by any
 *                       number of connections and threads.  Reference counted;
 *                       immutable once a connection has been made from it.
 *
 *   struct mtls         a client, a listening server, or one accepted
 *                       connection.  Owns its socket (unless the caller gave
 *                       it one), its error state and its peer identity.
 *
 * Conventions (those of LibreSSL's libtls):
 *   - functions returning int return 0 on success and -1 on failure;
 *     predicates return 1 or 0;
 *   - functions returning a pointer return NULL on failure;
 *   - after a failure the object holds one error code (enum mtls_error) and
 *     one message naming the cause, read with mtls_error() / mtls_error_code()
 *     or mtls_config_error() / mtls_config_error_code();
 *   - strings returned by the library are borrowed: they belong to the object
 *     they came from and stay valid until it is freed, unless noted;
 *   - nothing ever prompts on a terminal, and no call raises SIGPIPE.
 */
#ifndef MTLS_H
#define MTLS_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MTLS_BUILDING) && defined(__GNUC__)
#define MTLS_EXPORT __attribute__((visibility("default")))
#else
#define MTLS_EXPORT
#endif

/* ABI version of this header; compare with mtls_abi_version() at run time. */
#define MTLS_ABI_VERSION 1

/* Returned by mtls_handshake, mtls_read, mtls_write and mtls_close on a
 * non-blocking socket when the call must be repeated once the socket is
 * readable (POLLIN) or writable (POLLOUT). */
#define MTLS_WANT_POLLIN  (-2)
#define MTLS_WANT_POLLOUT (-3)

/* Stable error codes.  New codes are only ever added at the end. */
enum mtls_error {
	MTLS_OK = 0,
	MTLS_ERR_INVALID,         /* bad argument or call out of order */
	MTLS_ERR_NOMEM,           /* out of memory */
	MTLS_ERR_FILE,            /* file missing or unreadable */
	MTLS_ERR_FORMAT,          /* not PEM / not PKCS#12 / no certificate in it */
	MTLS_ERR_PASSPHRASE,      /* PEM key: passphrase wrong or missing */
	MTLS_ERR_P12_PASSWORD,    /* PKCS#12: password wrong or missing */
	MTLS_ERR_KEY_MISMATCH,    /* key does not match the certificate */
	MTLS_ERR_UNSUPPORTED,     /* algorithm not available (e.g. RC2 without legacy provider) */
	MTLS_ERR_CONFIG_FROZEN,   /* config already used by a connection */
	MTLS_ERR_RESOLVE,         /* host name could not be resolved */
	MTLS_ERR_CONNECT,         /* TCP connect failed */
	MTLS_ERR_LISTEN,          /* bind or listen failed */
	MTLS_ERR_TIMEOUT,         /* connect, handshake or I/O timed out */
	MTLS_ERR_HANDSHAKE,       /* TLS handshake failed for another reason */
	MTLS_ERR_PEER_UNTRUSTED,  /* peer's certificate chain did not verify */
	MTLS_ERR_HOSTNAME,        /* server certificate does not match the name */
	MTLS_ERR_NO_PEER_CERT,    /* peer sent no certificate and one is required */
	MTLS_ERR_CERT_REJECTED,   /* peer rejected our certificate (or our lack of one) */
	MTLS_ERR_PROTOCOL,        /* no common TLS version or cipher */
	MTLS_ERR_TRUNCATED,       /* peer ended the stream without close_notify */
	MTLS_ERR_CLOSED,          /* peer has gone away (reset, broken pipe) */
	MTLS_ERR_IO,              /* other socket error */
	MTLS_ERR_WOKEN,           /* a blocking call was interrupted by mtls_wake() */
	MTLS_ERR_TLS,             /* other TLS protocol error */
	MTLS_ERR_NOT_ALLOWED,     /* peer verified, but the allow-list or the
	                             verify callback refused it */
	MTLS_ERR_BAD_IDENTITY,    /* our own certificate cannot serve its role:
	                             expired, chain out of order, wrong usage */
	MTLS_ERR_HTTP,            /* the peer's HTTP message was malformed or
	                             ambiguous, or ours would have been */
	MTLS_ERR_INTERRUPTED,     /* a blocking call was interrupted by a
	                             signal (mtls_config_set_interruptible) */
	MTLS_ERR_PROXY_PROTOCOL   /* an accepted connection's PROXY protocol
	                             header was missing or malformed, or came
	                             from a source not trusted to send one */
};

/* Client-certificate modes of a server, for mtls_config_set_verify_client(). */
enum mtls_verify_client {
	MTLS_VERIFY_CLIENT_REQUIRED = 0,  /* default: no verified certificate, no
	                                     connection (nginx: on) */
	MTLS_VERIFY_CLIENT_OPTIONAL,      /* asked for; a presented one must
	                                     verify; the connection proceeds
	                                     without one (nginx: optional) */
	MTLS_VERIFY_CLIENT_OPTIONAL_NO_CA /* asked for; its chain need not
	                                     verify (mtls_peer_cert_verified says
	                                     whether it did): the verify callback
	                                     or the allow-list decides, and no CA
	                                     file is needed (optional_no_ca) */
};

/* Kinds of allow-list entries, for mtls_config_allow(). */
enum mtls_allow_type {
	MTLS_ALLOW_CN = 1,        /* subject common name; '*' matches any run */
	MTLS_ALLOW_OU,            /* any subject organizational unit; '*' as CN */
	MTLS_ALLOW_DNS,           /* DNS SAN; '*' matches within one label */
	MTLS_ALLOW_URI,           /* URI SAN; '*' matches within one path segment,
	                             so one SPIFFE pattern can cover every
	                             namespace and service account of a domain */
	MTLS_ALLOW_IP,            /* IP SAN, IPv4 or IPv6 text, exact */
	MTLS_ALLOW_SPKI_SHA256,   /* SHA-256 of the public key: 64 hex digits, or
	                             curl's "sha256//<base64>" */
	MTLS_ALLOW_CERT_SHA256    /* SHA-256 of the certificate: 64 hex digits,
	                             colons allowed, or "sha256//<base64>" */
};

/* TLS protocol versions for mtls_config_set_min_version(). */
enum mtls_tls_version {
	MTLS_TLS1_2 = 0x0303,
	MTLS_TLS1_3 = 0x0304
};

/* Types of subjectAltName entries, for mtls_peer_san(). */
enum mtls_san_type {
	MTLS_SAN_DNS = 1,
	MTLS_SAN_IP,
	MTLS_SAN_URI,
	MTLS_SAN_EMAIL
};

struct mtls_config;
struct mtls;

/*
 * mtls_abi_version - the ABI version of the loaded library.
 * Returns MTLS_ABI_VERSION as it was when the library was built; a binding
 * compares it with the version it was written for.
 */
MTLS_EXPORT int mtls_abi_version(void);

/*
 * mtls_error_name - the symbolic name of an error code ("MTLS_ERR_FILE").
 * Returns a static string; "MTLS_ERR_UNKNOWN" for a code outside the enum.
 */
MTLS_EXPORT const char *mtls_error_name(int code);

/*
 * mtls_constant_at - the index-th constant of mtls.h and mtls_http.h,
 * counting from 0, for bindings that read the library's constants rather
 * than copy them: every value of their enums (enum mtls_error,
 * mtls_verify_client, mtls_allow_type, mtls_tls_version, mtls_san_type,
 * mtls_http_limit) and their numeric macros (MTLS_ABI_VERSION,
 * MTLS_WANT_POLLIN, MTLS_WANT_POLLOUT, MTLS_HTTP_STREAM,
 * MTLS_HTTP_NOWAIT).  Sets *value (when value is not NULL) and returns the
 * constant's name as the header spells it ("MTLS_ERR_FILE", a static
 * string); returns NULL, *value untouched, past the last one.  Constants
 * of one enum come together and in order; their number only grows, and a
 * name never changes its value.
 */
MTLS_EXPORT const char *mtls_constant_at(size_t index, long *value);

/* ---------------------------------------------------------------- config */

/*
 * mtls_config_new - a new, empty configuration with secure defaults:
 * peer verification on, TLS 1.2 minimum, renegotiation off (a TLS 1.2
 * peer that tries it fails with MTLS_ERR_PROTOCOL, saying so), client
 * certificates required on the server side, connect and handshake timeouts
 * of 30 seconds, no I/O timeout.
 * Returns a config with one reference, owned by the caller (release it with
 * mtls_config_free), or NULL with the reason for the calling thread in
 * mtls_config_error(NULL): MTLS_ERR_NOMEM, or MTLS_ERR_TLS when OpenSSL
 * cannot make a TLS context.
 */
MTLS_EXPORT struct mtls_config *mtls_config_new(void);

/*
 * mtls_config_ref - takes one more reference to cfg.
 * Returns cfg.  Each reference is released with mtls_config_free.
 */
MTLS_EXPORT struct mtls_config *mtls_config_ref(struct mtls_config *cfg);

/*
 * mtls_config_free - releases one reference; the config is freed, and its
 * key material wiped, when the last one (including those held by
 * connections) is gone.  NULL is ignored.
 */
MTLS_EXPORT void mtls_config_free(struct mtls_config *cfg);

/*
 * mtls_config_error - the message of the last failed call on cfg.  Once a
 * connection object has been made from cfg (mtls_client_new,
 * mtls_server_new, even one that failed), threads may share cfg and its
 * errors are kept per thread, like errno: the last failed call on cfg in
 * the calling thread (or, if that thread's last failure was on another
 * config, what cfg kept from before it was shared).  cfg NULL: the calling
 * thread's last failure of mtls_config_new.
 * Returns a string owned by cfg (or the thread), valid until the next
 * call on cfg (or the thread's next failure on a config), or NULL when no
 * call has failed.
 */
MTLS_EXPORT const char *mtls_config_error(struct mtls_config *cfg);

/*
 * mtls_config_error_code - the enum mtls_error of the last failed call on
 * cfg, kept as mtls_config_error keeps its message; MTLS_OK when none has
 * failed.  cfg NULL: the code of the thread's last failed mtls_config_new,
 * or MTLS_ERR_INVALID when there was none.
 */
MTLS_EXPORT int mtls_config_error_code(struct mtls_config *cfg);

/*
 * mtls_config_set_cert_file - our identity from PEM files.
 * cert_file holds the leaf certificate, optionally followed by intermediate
 * certificates; all of them are sent to the peer.  key_file holds the
 * private key (PKCS#8, traditional RSA/EC, encrypted or not); when key_file
 * is NULL the key is read from cert_file, as in a combined PEM made with
 * `cat client.crt client.key > combined.pem`.  passphrase decrypts an
 * encrypted key and may be NULL; the library never prompts for one.  The
 * config keeps a copy until its first use (a connection or server made
 * from it), when it is wiped; a config that watches its files
 * (mtls_config_watch_files) keeps it to read the key again, until it is
 * freed.
 * The identity is checked as it is loaded: a certificate that has expired
 * or is not yet valid, a chain out of order or holding a non-CA, fail with
 * MTLS_ERR_BAD_IDENTITY (see mtls_config_insecure_allow_bad_identity); one
 * that expires within 14 days adds a warning (mtls_config_warning).
 * A config holds one identity per key type (RSA, ECDSA, Ed25519, ...), as
 * nginx does with two ssl_certificate lines: loading an RSA identity and
 * an ECDSA one keeps both, and each handshake uses the one the peer
 * supports; loading a second identity of a type replaces the first one of
 * that type, and its warnings.  See also mtls_config_add_sni_identity.
 * Keys in a token: key_file (and cert_file) may be a pkcs11: URI (RFC
 * 7512), "pkcs11:token=hsm;object=web-key", loaded through OpenSSL's
 * pkcs11 engine (libp11, Debian's libengine-pkcs11-openssl); the key never
 * leaves the token.  A certificate URI with key_file NULL names the key
 * too.  The PIN is passphrase, else the URI's pin-value=, else the first
 * line of its pin-source=file:/path, else $MTLS_PKCS11_PIN; the module is
 * the URI's module-path=, else $MTLS_PKCS11_MODULE, else the engine's
 * default (p11-kit-proxy).  A process uses one module (the engine holds
 * one).  Loads are serialised; the key is then usable from any thread, and
 * in a child after fork() (the engine logs in again there).
 * Returns 0, or -1 with MTLS_ERR_FILE, MTLS_ERR_FORMAT, MTLS_ERR_PASSPHRASE,
 * MTLS_ERR_KEY_MISMATCH, MTLS_ERR_BAD_IDENTITY or MTLS_ERR_CONFIG_FROZEN and
 * a message naming the file.  With a URI: MTLS_ERR_PASSPHRASE for a PIN
 * refused or missing, MTLS_ERR_FILE for no such object in the token (or an
 * unreadable pin-source), MTLS_ERR_UNSUPPORTED for a module that cannot be
 * loaded or no pkcs11 engine, MTLS_ERR_INVALID for a URI it cannot take.
 * On failure the config's identities are as they were.
 */
MTLS_EXPORT int mtls_config_set_cert_file(struct mtls_config *cfg,
    const char *cert_file, const char *key_file, const char *passphrase);

/*
 * mtls_config_set_cert_mem - as mtls_config_set_cert_file, from PEM text in
 * memory.  key may be NULL (the key is then read from cert).  The buffers are
 * copied while parsing; the caller keeps ownership.
 */
MTLS_EXPORT int mtls_config_set_cert_mem(struct mtls_config *cfg,
    const void *cert, size_t cert_len, const void *key, size_t key_len,
    const char *passphrase);

/*
 * mtls_config_set_p12_file - our identity from a PKCS#12 (.p12, .pfx) file:
 * its key, its certificate and any other certificates in it as the chain.
 * password may be NULL or "" for a file without a password.  Files made by
 * older tools (RC2-40, 3DES) are read by loading OpenSSL's legacy provider,
 * only when they need it.
 * Returns 0, or -1 with MTLS_ERR_FILE, MTLS_ERR_FORMAT, MTLS_ERR_P12_PASSWORD,
 * MTLS_ERR_UNSUPPORTED, MTLS_ERR_KEY_MISMATCH, MTLS_ERR_BAD_IDENTITY or
 * MTLS_ERR_CONFIG_FROZEN.  The chain order inside a PKCS#12 file, which
 * keeps none, is not judged.
 */
MTLS_EXPORT int mtls_config_set_p12_file(struct mtls_config *cfg,
    const char *p12_file, const char *password);

/* mtls_config_set_p12_mem - as mtls_config_set_p12_file, from memory. */
MTLS_EXPORT int mtls_config_set_p12_mem(struct mtls_config *cfg,
    const void *p12, size_t p12_len, const char *password);

/*
 * mtls_config_add_sni_identity - a server presents the identities of the
 * config `identities` (loaded with the functions above, one per key type)
 * to clients that ask for one of `names` by SNI, and its own identities to
 * every other client, as nginx's server blocks do with server_name.
 * names holds host names and wildcards ("*.example.org" matches any name
 * ending in ".example.org"), separated by spaces or commas; an exact name
 * wins over a wildcard, a longer wildcard over a shorter one, and case
 * does not matter.  Only the certificates come from `identities`: trust,
 * client verification and every other setting stay cfg's.  The server
 * acknowledges the name a client sends whether or not an entry matches.
 * cfg takes a reference on identities (the caller still frees its own)
 * and freezes it.  Returns 0, or -1 with MTLS_ERR_INVALID (a name that is
 * not a host name or wildcard, a name given twice, identities NULL, without
 * an identity or with server names of its own), MTLS_ERR_NOMEM or
 * MTLS_ERR_CONFIG_FROZEN; cfg is then unchanged.
 */
MTLS_EXPORT int mtls_config_add_sni_identity(struct mtls_config *cfg,
    const char *names, struct mtls_config *identities);

/*
 * mtls_config_set_ca_file - trust anchors from a PEM file of one or more CA
 * certificates.  The peer's chain must lead to one of them.  On the server
 * side their subjects are also the acceptable CA names sent in the
 * certificate request (nginx's ssl_client_certificate).  May be called more
 * than once, with mtls_config_set_ca_path and _mem; anchors add up.
 * Returns 0, or -1 with MTLS_ERR_FILE, MTLS_ERR_FORMAT or
 * MTLS_ERR_CONFIG_FROZEN.
 */
MTLS_EXPORT int mtls_config_set_ca_file(struct mtls_config *cfg,
    const char *ca_file);

/*
 * mtls_config_set_ca_path - trust anchors from a directory of certificates
 * named by subject hash (as made by `openssl rehash` or c_rehash); they are
 * looked up when a handshake needs them.
 * Returns 0, or -1 with MTLS_ERR_FILE (not a readable directory).
 */
MTLS_EXPORT int mtls_config_set_ca_path(struct mtls_config *cfg,
    const char *ca_dir);

/* mtls_config_set_ca_mem - as mtls_config_set_ca_file, from PEM in memory. */
MTLS_EXPORT int mtls_config_set_ca_mem(struct mtls_config *cfg,
    const void *pem, size_t pem_len);

/*
 * mtls_config_use_system_ca - also trust the operating system's CA store.
 * Never done unless asked for: an mTLS peer is normally trusted through a
 * private CA.  Returns 0, or -1 with MTLS_ERR_TLS or MTLS_ERR_CONFIG_FROZEN.
 */
MTLS_EXPORT int mtls_config_use_system_ca(struct mtls_config *cfg);

/*
 * mtls_config_set_min_version / mtls_config_set_max_version - the lowest
 * and highest TLS version accepted (nginx's ssl_protocols, curl's
 * --tlsv1.2 and --tls-max): MTLS_TLS1_2 or MTLS_TLS1_3.  By default 1.2
 * to 1.3; TLS 1.3 is always preferred.  Returns 0, or -1 with
 * MTLS_ERR_INVALID for any other value or a range that would be empty
 * (the config is then unchanged).
 */
MTLS_EXPORT int mtls_config_set_min_version(struct mtls_config *cfg,
    int version);
MTLS_EXPORT int mtls_config_set_max_version(struct mtls_config *cfg,
    int version);

/*
 * mtls_config_set_ciphers - the TLS 1.2 cipher list, in OpenSSL's syntax
 * as nginx's ssl_ciphers and curl's --ciphers take it
 * ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE+CHACHA20:!aNULL").
 * mtls_config_set_ciphersuites - the TLS 1.3 cipher suites, colon-separated
 * (curl's --tls13-ciphers): "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256".
 * mtls_config_set_groups - the key exchange groups in order of preference
 * (nginx's ssl_ecdh_curve, curl's --curves): "X25519:P-256".  In TLS 1.2
 * they also limit the curves of ECDSA certificates, ours and the peer's.
 * Each name is checked when set: one OpenSSL does not know, or a list
 * that leaves nothing, fails with MTLS_ERR_INVALID and a message quoting
 * it, and the config is unchanged.  The defaults are OpenSSL's.
 * Returns 0, or -1 with MTLS_ERR_INVALID or MTLS_ERR_CONFIG_FROZEN.
 */
MTLS_EXPORT int mtls_config_set_ciphers(struct mtls_config *cfg,
    const char *ciphers);
MTLS_EXPORT int mtls_config_set_ciphersuites(struct mtls_config *cfg,
    const char *suites);
MTLS_EXPORT int mtls_config_set_groups(struct mtls_config *cfg,
    const char *groups);

/*
 * mtls_config_set_alpn - the ALPN protocols to offer (client) or accept
 * (server), as a comma-separated list in order of preference, such as
 * "h2,http/1.1".  A server picks the first of its own list that the client
 * offers, and continues without ALPN when there is none.
 * Returns 0, or -1 with MTLS_ERR_INVALID for an empty or over-long name.
 */
MTLS_EXPORT int mtls_config_set_alpn(struct mtls_config *cfg,
    const char *protocols);

/*
 * mtls_config_set_timeouts - limits in milliseconds, 0 for none:
 * connect_ms for TCP connect (client), handshake_ms for the whole TLS
 * handshake (both sides, counted from accept or connect across every
 * call: a silent or trickling peer is dropped when it passes), io_ms for
 * each read or write to make progress.  They apply to blocking sockets;
 * on non-blocking ones the caller's loop keeps time, with
 * mtls_handshake_ms_left for the handshake (which a late call still
 * refuses).
 * Returns 0, or -1 with MTLS_ERR_INVALID for a negative value.
 */
MTLS_EXPORT int mtls_config_set_timeouts(struct mtls_config *cfg,
    int connect_ms, int handshake_ms, int io_ms);

/*
 * mtls_config_set_write_timeout - a limit in milliseconds for writes
 * alone (mtls_write, and the HTTP helpers sending a request or a
 * response), 0 for none, in place of the io_ms of
 * mtls_config_set_timeouts, which then bounds reads only: as Ruby's
 * Net::HTTP has read_timeout and write_timeout.  -1, the default, makes
 * writes follow io_ms again.  Returns 0, or -1 with MTLS_ERR_INVALID for
 * a value under -1, or MTLS_ERR_CONFIG_FROZEN.
 */
MTLS_EXPORT int mtls_config_set_write_timeout(struct mtls_config *cfg,
    int write_ms);

/*
 * mtls_config_set_interruptible - with on non-zero, a signal that reaches
 * a thread waiting inside a blocking call on a connection made from cfg
 * (mtls_accept, mtls_connect, mtls_handshake, mtls_read, mtls_write,
 * mtls_close and the HTTP helpers) ends that call: it returns -1 with
 * MTLS_ERR_INTERRUPTED and "<call> interrupted by a signal".  Off (the
 * default, or on == 0), the wait goes on after the signal handler
 * returns, until the data, the timeout or mtls_wake.  For programs and
 * language runtimes that stop blocking calls with signals (Ctrl-C, or
 * Ruby's Thread#raise, which sends the thread one).
 *
 * Only a signal with a handler counts (SA_RESTART makes no difference:
 * poll(2) is never restarted); one ignored, blocked, or arriving before
 * the call starts to wait is not seen: a handler that must not be missed
 * also calls mtls_wake.  Non-blocking sockets are not affected.  After
 * MTLS_ERR_INTERRUPTED the connection is not failed, and the call can be
 * made again: mtls_read, mtls_handshake and mtls_accept simply go on
 * waiting, nothing read or lost; mtls_write may have sent part of buf
 * and resumes it when called again with the same buf and len (as after
 * MTLS_WANT_POLLOUT), or the connection is to be closed; mtls_connect
 * interrupted in the TCP connect leaves no socket (mtls_fd returns -1)
 * and may be called again, and interrupted in the handshake leaves the
 * TCP connection made and is resumed by mtls_handshake.  Each repeated
 * call starts its timeout anew.  An HTTP helper that was interrupted
 * cannot be resumed: close the connection.  A server listening with cfg
 * (and after mtls_server_set_config, with the new config) follows its
 * setting in mtls_accept.
 * Returns 0, or -1 with MTLS_ERR_CONFIG_FROZEN.
 */
MTLS_EXPORT int mtls_config_set_interruptible(struct mtls_config *cfg,
    int on);

/*
 * mtls_config_set_interrupt_signals - as mtls_config_set_interruptible,
 * but only the count signals in signals end a wait; every other signal is
 * blocked while a call waits (ppoll(2)), and arrives when the wait ends
 * (or at once in another thread that does not block it), so that its
 * handler runs but the call goes on.  During a wait exactly the signals
 * given can arrive, even ones the thread blocks.  For runtimes that catch
 * signals for their own housekeeping, such as Ruby's SIGCHLD.  count 0
 * turns interruption off; mtls_config_set_interruptible(cfg, 1) lets
 * every signal end a wait again.  A listening server keeps the signals of
 * the config it was made with.
 * Returns 0, or -1 with MTLS_ERR_INVALID (not a signal number) or
 * MTLS_ERR_CONFIG_FROZEN.
 */
MTLS_EXPORT int mtls_config_set_interrupt_signals(struct mtls_config *cfg,
    const int *signals, size_t count);

/* ---------------------------------------------------------------- policy */

/*
 * mtls_config_set_verify_client - how a server treats client certificates
 * (enum mtls_verify_client).  Returns 0, or -1 with MTLS_ERR_INVALID or
 * MTLS_ERR_CONFIG_FROZEN.
 */
MTLS_EXPORT int mtls_config_set_verify_client(struct mtls_config *cfg,
    int mode);

/*
 * mtls_config_insecure_noverify - turns peer verification off: a client
 * accepts any server certificate for any name, a server asks for no client
 * certificate.  For tests only.  Returns 0, or -1 with
 * MTLS_ERR_CONFIG_FROZEN.
 */
MTLS_EXPORT int mtls_config_insecure_noverify(struct mtls_config *cfg);

/*
 * mtls_config_insecure_plaintext - connections made from cfg carry no TLS
 * at all: plain TCP, for the plain side of a proxy built on the HTTP
 * helpers (a backend, or local applications on loopback).  Nothing is
 * encrypted and no peer is authenticated: keep such connections on
 * loopback or inside one host.
 *
 * mtls_client_new and mtls_server_new then need no identity and no trust
 * anchors.  mtls_connect and mtls_connect_socket make the TCP connection
 * only: no SNI, no verification, no session cache (mtls_connect_socket's
 * servername may be NULL; when given, it only names the Host of HTTP
 * requests).  mtls_listen and mtls_accept give plain connections, and
 * mtls_handshake returns 0 at once.  mtls_read, mtls_write, mtls_close
 * and mtls_wake keep their meaning: the config's timeouts, MTLS_WANT_* on
 * a non-blocking socket, whole writes, MTLS_ERR_CLOSED and never SIGPIPE
 * when the peer has gone.  But plain TCP has no close_notify: mtls_read
 * returns 0 at the end of the stream, which a truncated stream cannot be
 * told from, and mtls_close ends our side with a TCP FIN.  mtls_http_url
 * takes http:// URLs (port 80 by default) instead of https://.  The peer
 * functions (mtls_peer_*) answer as for a peer without a certificate
 * (NULL, 0 or -1); mtls_conn_version, _cipher and _alpn return NULL,
 * mtls_conn_session_resumed 0, and mtls_conn_describe says "plaintext
 * connection, no TLS".  mtls_server_set_config does not turn a plaintext
 * server into a TLS one, or back.
 *
 * The TLS settings of cfg (identity, trust, policy, versions, sessions)
 * can still be set, before or after this call, and have no effect.  The
 * call takes nothing from the caller and cannot be undone.  Returns 0, or
 * -1 with MTLS_ERR_CONFIG_FROZEN when cfg is already in use.
 */
MTLS_EXPORT int mtls_config_insecure_plaintext(struct mtls_config *cfg);

/*
 * mtls_config_set_ca_names_file - the CA names a server advertises in its
 * certificate request, from the subjects of a PEM file, instead of those of
 * its CA files (nginx's ssl_client_certificate vs ssl_trusted_certificate).
 * Trust is not changed.  Returns 0, or -1 with MTLS_ERR_FILE,
 * MTLS_ERR_FORMAT or MTLS_ERR_CONFIG_FROZEN.
 */
MTLS_EXPORT int mtls_config_set_ca_names_file(struct mtls_config *cfg,
    const char *ca_file);

/*
 * mtls_config_set_verify_depth - the most intermediate CAs a peer's chain
 * may have between its certificate and the trust anchor (default 2).
 * Returns 0, or -1 with MTLS_ERR_INVALID for a negative or absurd depth,
 * or MTLS_ERR_CONFIG_FROZEN.
 */
MTLS_EXPORT int mtls_config_set_verify_depth(struct mtls_config *cfg,
    int depth);

/*
 * mtls_config_set_crl_file - certificate revocation lists (PEM) for the
 * peer's certificate; with whole_chain non-zero for every CA of its chain
 * too, each of which then needs a CRL.  A revoked peer is refused with
 * MTLS_ERR_PEER_UNTRUSTED.  Returns 0, or -1 with MTLS_ERR_FILE,
 * MTLS_ERR_FORMAT or MTLS_ERR_CONFIG_FROZEN.
 */
MTLS_EXPORT int mtls_config_set_crl_file(struct mtls_config *cfg,
    const char *crl_file, int whole_chain);

/*
 * mtls_config_set_verify_cache - how many verified peer chains the config
 * keeps (default 256), and for how many seconds (default 60): a peer that
 * presents the same certificates again, for the same name, is trusted
 * without checking the chain's signatures again.  It still proves that it
 * holds its key, and the mode, allow-list and verify callback judge it.
 * Only successes are kept, never past a certificate's notAfter or a CRL's
 * nextUpdate.  size 0 turns the cache off.  Returns 0, or -1 with
 * MTLS_ERR_INVALID (size not 0 to 65536, seconds not 1 to 3600) or
 * MTLS_ERR_CONFIG_FROZEN.
 */
MTLS_EXPORT int mtls_config_set_verify_cache(struct mtls_config *cfg,
    int size, int seconds);

/*
 * mtls_config_allow - adds an entry of the given type (enum
 * mtls_allow_type) to the allow-list.  Once the list has an entry, a peer
 * that presents a certificate is admitted only when it matches at least
 * one (a client without one, in the optional modes, is not judged by the
 * list: check mtls_peer_cert_provided); a peer matching none is
 * refused with MTLS_ERR_NOT_ALLOWED and a message listing what it
 * presented.  On a client the list pins the server's identity.  Names
 * holding NUL or control characters never match.  The value is copied.
 * Returns 0, or -1 with MTLS_ERR_INVALID (unknown type, malformed value)
 * or MTLS_ERR_CONFIG_FROZEN.
 */
MTLS_EXPORT int mtls_config_allow(struct mtls_config *cfg, int type,
    const char *value);

/*
 * mtls_verify_fn - a verify callback: called once per handshake, after
 * chain validation and the allow-list, and on resumed sessions too, on the
 * thread doing the handshake (so possibly on many threads at once).
 * conn's peer functions (mtls_peer_subject, ...) describe the peer;
 * chain_ok says whether its chain verified.  Return 1 to accept; 0 to
 * refuse, after writing a reason (NUL-terminated, at most reason_size
 * bytes) into reason: it becomes part of our error message, and the peer
 * gets a bad_certificate alert.  Any return value other than 1 refuses.
 * When a resumed session is refused this way, the full handshake that
 * follows reuses the answer for the same certificate.
 */
typedef int (*mtls_verify_fn)(struct mtls *conn, int chain_ok, void *arg,
    char *reason, size_t reason_size);

/*
 * mtls_config_set_verify_callback - sets the verify callback and the
 * argument it is passed; connections made from cfg inherit it.  fn NULL
 * removes it.  Returns 0, or -1 with MTLS_ERR_CONFIG_FROZEN.
 */
MTLS_EXPORT int mtls_config_set_verify_callback(struct mtls_config *cfg,
    mtls_verify_fn fn, void *arg);

/*
 * mtls_config_warning - the index-th warning found when the identities
 * were checked (such as a certificate that expires within 14 days),
 * counting from 0: each identity's in the order they were loaded, then
 * those of the role checks of mtls_client_new and mtls_server_new.  Returns a string owned by
 * cfg, or NULL when there is no such warning.
 */
MTLS_EXPORT const char *mtls_config_warning(struct mtls_config *cfg,
    size_t index);

/*
 * mtls_config_insecure_allow_bad_identity - our own certificate is used
 * even when the checks of mtls_config_set_cert_file and mtls_client_new /
 * mtls_server_new find that peers will refuse it (expired, not yet valid,
 * chain out of order, a non-CA in the chain, key usage wrong for the
 * role); each problem becomes a warning (mtls_config_warning) instead of
 * an MTLS_ERR_BAD_IDENTITY error.  For testing how peers react.  Call it
 * before loading the identity.  Returns 0, or -1 with
 * MTLS_ERR_CONFIG_FROZEN.
 */
MTLS_EXPORT int mtls_config_insecure_allow_bad_identity(
    struct mtls_config *cfg);

/* ------------------------------------------------------------- sessions */

/*
 * mtls_config_set_session_cache - a client keeps up to size sessions per
 * config, keyed by host, port and server name, and resumes them (default
 * 100; 0 turns resumption off).  A server keeps up to size sessions behind
 * tickets that only name them (default 2048, the oldest evicted first),
 * and no more than mtls_config_set_session_store_bytes allows; with 0, or
 * with a ticket key file, its tickets hold the whole session.
 * Returns 0, or -1 with MTLS_ERR_INVALID or MTLS_ERR_CONFIG_FROZEN.
 */
MTLS_EXPORT int mtls_config_set_session_cache(struct mtls_config *cfg,
    int size);

/*
 * mtls_config_set_session_store_bytes - caps the memory of a server's
 * session store at bytes (default 10 MiB, nginx's usual
 * `ssl_session_cache shared:SSL:10m`), whatever its count allows: when a
 * new session would pass the cap, the oldest sessions make room.  Each
 * session counts at an estimate of the heap it holds, its client
 * certificate and chain decoded: about 7 KiB with a P-256 client
 * certificate, so the default keeps about 1,500 of those (measured:
 * mtls-server's resident memory rose by 10.4 MB, then stayed flat).  A
 * session over the cap alone is not kept.  0 keeps no sessions: tickets then hold the whole session, as with a ticket key
 * file.  Returns 0, or -1 with MTLS_ERR_INVALID (over 0 but under 64 KiB)
 * or MTLS_ERR_CONFIG_FROZEN.
 */
MTLS_EXPORT int mtls_config_set_session_store_bytes(struct mtls_config *cfg,
    size_t bytes);

/*
 * mtls_config_session_store_bytes - the estimated memory that the sessions
 * in a server config's store hold now, as counted against
 * mtls_config_set_session_store_bytes, with their number in *count (count
 * may be NULL).  For monitoring; safe from any thread.  Returns 0 for a
 * NULL cfg.
 */
MTLS_EXPORT size_t mtls_config_session_store_bytes(struct mtls_config *cfg,
    int *count);

/*
 * mtls_config_set_session_tickets - how many TLS 1.3 session tickets a
 * server sends after each full handshake (default 1; 0 turns tickets off,
 * for TLS 1.2 too).  Returns 0, or -1 with MTLS_ERR_INVALID or
 * MTLS_ERR_CONFIG_FROZEN.
 */
MTLS_EXPORT int mtls_config_set_session_tickets(struct mtls_config *cfg,
    int count);

/*
 * mtls_config_add_ticket_key_file - session-ticket keys shared by servers
 * behind one load balancer: a file of 80 random bytes, as nginx's
 * ssl_session_ticket_key (`openssl rand 80 > ticket.key`), or of nginx's
 * older 48-byte keys (AES-128), or several whole keys of one size one
 * after another (`cat new.key old.key > ticket.key`).  The first key
 * added, of the first file, encrypts new tickets; the others only
 * decrypt, so keys rotate by putting the new one first.  Returns 0, or -1
 * with MTLS_ERR_FILE, MTLS_ERR_FORMAT (not whole keys of 80 or 48 bytes;
 * a size both divide is read as 80-byte keys) or MTLS_ERR_CONFIG_FROZEN.
 * The keys are wiped when the config is freed.
 */
MTLS_EXPORT int mtls_config_add_ticket_key_file(struct mtls_config *cfg,
    const char *key_file);

/*
 * mtls_config_set_proxy_protocol - connections a server made from cfg
 * accepts (mtls_accept, mtls_accept_socket) begin with a PROXY protocol
 * header, version 1 (text) or 2 (binary), as a load balancer in TCP mode
 * sends it (HAProxy's send-proxy / send-proxy-v2; nginx's listen ...
 * proxy_protocol): the client it names is what mtls_peer_address and
 * mtls_peer_port return.  The header is read by the handshake, before
 * the TLS bytes and under the handshake timeout, taking exactly its own
 * bytes; on a non-blocking socket mtls_handshake returns MTLS_WANT_POLLIN
 * until it is whole.  A LOCAL header (a health check) or one with no IP
 * client ("UNKNOWN", AF_UNIX) leaves the socket's own peer as the client.
 *
 * A header is believed only from trusted: a list of addresses and
 * prefixes ("10.0.0.0/8, 192.0.2.7, fd00::/8"), separated by commas or
 * spaces; NULL trusts loopback only (127.0.0.0/8 and ::1).  IPv4 peers of
 * a dual-stack socket match IPv4 entries; a UNIX socket's peer is always
 * trusted.  Off by default: a header is never read, and never believed,
 * unless this is called.  The list is copied.
 *
 * A connection from a source not in the list, without a header (a TLS
 * hello, where the load balancer sends none), or with a malformed one,
 * fails its handshake with MTLS_ERR_PROXY_PROTOCOL and a message naming
 * the peer and the cause; a peer that closes first, with MTLS_ERR_CLOSED;
 * one too slow, with MTLS_ERR_TIMEOUT.  Such a connection is unusable.
 * Returns 0, or -1 with MTLS_ERR_INVALID (an entry that is not an address
 * or ADDRESS/BITS, or an empty list), MTLS_ERR_NOMEM or
 * MTLS_ERR_CONFIG_FROZEN; cfg is then unchanged.
 */
MTLS_EXPORT int mtls_config_set_proxy_protocol(struct mtls_config *cfg,
    const char *trusted);

/* ---------------------------------------------------- watching files */

/*
 * mtls_reload_fn - told of each rebuild of a watched config: ok 1 when
 * the changed files were loaded and are used from now on, 0 when they
 * were refused and the last good ones are kept.  message names the files
 * and, on failure, the cause ("certificate file 'tls.crt' and key file
 * 'tls.key' do not match ..."), on success the first warning of the new
 * files, if any (mtls_config_warning: a certificate that expires soon);
 * it is valid during the call only.  cfg is
 * the watched config.  Called from the thread whose new connection found
 * the change, with the config's reload lock held: calls on cfg from the
 * callback other than the getters below would wait on it.
 */
typedef void (*mtls_reload_fn)(struct mtls_config *cfg, int ok,
    const char *message, void *arg);

/*
 * mtls_config_watch_files - cfg reloads the files it was built from when
 * they change: certificates and keys, PKCS#12 files, CA and CA-name
 * files, CRLs, ticket keys, those of its SNI identities.  Every setter
 * call is remembered; when, at most once per interval_ms, a new
 * connection made from cfg (mtls_client_new, a server's mtls_accept or
 * mtls_accept_socket) finds that a file's stat(2) stamp (device, inode,
 * size, modification and change times, or why it is missing) differs,
 * the calls are replayed on a new config, which is checked as
 * mtls_server_set_config checks one, and used for the connections made
 * from then on.  Nothing runs while no connection is made; one thread
 * rebuilds while the others go on with the current config.
 *
 * Files rewritten in place, replaced by rename(2) or reached through a
 * symbolic link swapped by Kubernetes (tls.crt -> ..data/tls.crt) are all
 * seen: paths are kept as given, links followed at each check (a relative
 * path is resolved from the working directory of the moment).  A set that
 * fails, such as a certificate already written whose key is not yet, is
 * tried again at the next interval; once the same files still fail after
 * an interval, it is reported once (mtls_config_set_reload_callback,
 * mtls_config_reload_counts) and not tried again until a file changes.
 * The last good config stays in use meanwhile.  Connections hold their
 * own config: one made before a reload keeps the files it was made with.
 * A reloaded config starts with empty session caches; ticket keys are
 * reloaded from their files, so tickets stay valid across a reload when
 * the keys do.
 *
 * Call it after the setters and before cfg is used.  Returns 0, or -1
 * with MTLS_ERR_INVALID (interval_ms not positive, no file to watch: the
 * config was built from memory only), MTLS_ERR_NOMEM (also when a setter
 * could not remember its call) or MTLS_ERR_CONFIG_FROZEN.
 */
MTLS_EXPORT int mtls_config_watch_files(struct mtls_config *cfg,
    int interval_ms);

/*
 * mtls_config_set_reload_callback - fn is called with arg at each rebuild
 * of the watched cfg (see mtls_reload_fn); NULL turns it off.  Returns 0,
 * or -1 with MTLS_ERR_INVALID (cfg not watched) or MTLS_ERR_CONFIG_FROZEN.
 */
MTLS_EXPORT int mtls_config_set_reload_callback(struct mtls_config *cfg,
    mtls_reload_fn fn, void *arg);

/*
 * mtls_config_reload_counts - the rebuilds of the watched cfg so far: in
 * *ok those that took effect, in *failed the sets reported as refused
 * (each once); either pointer may be NULL.  Safe from any thread at any
 * time.  Returns 0, or -1 when cfg is not watched (the counts are then 0).
 */
MTLS_EXPORT int mtls_config_reload_counts(struct mtls_config *cfg,
    unsigned long *ok, unsigned long *failed);

/* -------------------------------------------------------------- objects */

/*
 * mtls_client_new / mtls_server_new - a client, or a server that listens
 * and accepts, using cfg.  The object takes a reference to cfg, and from
 * then on cfg cannot be changed (its setters fail with
 * MTLS_ERR_CONFIG_FROZEN).  Creating a server checks that cfg has an
 * identity; creating either checks that it has trust anchors, since
 * verification is on (not needed with mtls_config_insecure_noverify or a
 * server in MTLS_VERIFY_CLIENT_OPTIONAL_NO_CA), and that the key usage of
 * the identity allows the role (MTLS_ERR_BAD_IDENTITY otherwise); a
 * config made plaintext (mtls_config_insecure_plaintext) is not checked.
 * Any number of threads may call them with one cfg at once.
 * Returns an object owned by the caller (free it with mtls_free), or NULL
 * with the reason left on cfg for the calling thread (mtls_config_error,
 * mtls_config_error_code; each thread reads its own).
 * With a watched cfg (mtls_config_watch_files), a client is made from the
 * files of the moment, and a server's accepted connections each are.
 */
MTLS_EXPORT struct mtls *mtls_client_new(struct mtls_config *cfg);
MTLS_EXPORT struct mtls *mtls_server_new(struct mtls_config *cfg);

/*
 * mtls_free - closes the socket if the library opened it (without sending
 * close_notify: call mtls_close first for an orderly end), frees the object
 * and releases its config reference.  Borrowed strings from it become
 * invalid.  NULL is ignored.
 */
MTLS_EXPORT void mtls_free(struct mtls *c);

/*
 * mtls_error / mtls_error_code - the message and enum mtls_error of the last
 * failed call on c.  The message belongs to c and is valid until the next
 * call on c; NULL (MTLS_OK) when no call has failed.  For a NULL c,
 * mtls_error returns NULL and mtls_error_code MTLS_ERR_INVALID.
 */
MTLS_EXPORT const char *mtls_error(struct mtls *c);
MTLS_EXPORT int mtls_error_code(struct mtls *c);

/*
 * mtls_error_errno - the system error (an errno value: ECONNREFUSED,
 * EHOSTUNREACH, ECONNRESET, EPIPE, EADDRINUSE, EMFILE, ...) behind the
 * last failed call on c, so that a caller maps it without reading the
 * message: a refused connect (MTLS_ERR_CONNECT), a listen that failed
 * (MTLS_ERR_LISTEN), a peer gone away (MTLS_ERR_CLOSED), a failed accept
 * or wait (MTLS_ERR_IO).  0 when the failure was not a system call's (a
 * timeout, a TLS alert, a verification), when no call has failed, and for
 * a NULL c.
 */
MTLS_EXPORT int mtls_error_errno(struct mtls *c);

/*
 * mtls_connect - resolves host (a name, an IPv4 or an IPv6 literal), connects
 * to port (a number or a service name) trying each address in turn, and
 * performs the TLS handshake.  The server's certificate must verify and
 * match host (DNS SAN, IP SAN for IP literals, or the CN when the
 * certificate has no DNS SAN); SNI is sent for names, not for literals.
 * Returns 0, or -1 with MTLS_ERR_RESOLVE, MTLS_ERR_CONNECT, MTLS_ERR_TIMEOUT,
 * MTLS_ERR_INTERRUPTED (see mtls_config_set_interruptible) or a handshake
 * error (see mtls_handshake).
 */
MTLS_EXPORT int mtls_connect(struct mtls *c, const char *host,
    const char *port);

/*
 * mtls_set_verify_name - the name to verify the server's certificate
 * against (and to send as SNI), instead of the host given to mtls_connect;
 * for connecting by address to a server whose certificate names a host.
 * The string is copied.  Call before connecting.
 * Returns 0, or -1 with MTLS_ERR_INVALID.
 */
MTLS_EXPORT int mtls_set_verify_name(struct mtls *c, const char *name);

/*
 * mtls_connect_socket - as mtls_connect, over the caller's connected socket
 * fd; servername is the name to verify and send as SNI (required unless set
 * with mtls_set_verify_name).  The socket stays the caller's: mtls_free does
 * not close it.  A blocking socket is switched to non-blocking mode for the
 * library's own timed waits; on a socket that is already non-blocking the
 * handshake does not start here: call mtls_handshake until it returns 0.
 * Returns 0, or -1 as mtls_connect.
 */
MTLS_EXPORT int mtls_connect_socket(struct mtls *c, int fd,
    const char *servername);

/*
 * mtls_listen - binds a server to host (NULL for every address) and port
 * ("0" for any free port, see mtls_local_port) and listens with the given
 * backlog (0 for the default, 511).  SO_REUSEADDR is set.
 * Returns 0, or -1 with MTLS_ERR_RESOLVE or MTLS_ERR_LISTEN.
 */
MTLS_EXPORT int mtls_listen(struct mtls *server, const char *host,
    const char *port, int backlog);

/*
 * mtls_server_set_config - rotation without restart: connections accepted
 * from now on use cfg (certificate, key, CAs, CRLs, policy); connections
 * already accepted keep the config they started with.  cfg is checked
 * first (identity, trust, key usage for a server: dates and chain order
 * were checked when cfg loaded its files); on failure the previous config
 * stays active and the reason is on server.  The server takes a reference to cfg.  Safe while other threads
 * accept and handshake.
 * Returns 0, or -1 with MTLS_ERR_INVALID or MTLS_ERR_BAD_IDENTITY.
 */
MTLS_EXPORT int mtls_server_set_config(struct mtls *server,
    struct mtls_config *cfg);

/*
 * mtls_accept - waits for the next TCP connection on a listening server and
 * returns it in *conn as a new object, owned by the caller.  No TLS happens
 * here, so a silent client cannot stall the accept loop: the handshake
 * runs on the first mtls_handshake, mtls_read or mtls_write on *conn,
 * normally in the thread that serves it, bounded by the handshake timeout.
 * Another thread can end a blocked mtls_accept with mtls_wake(server).
 * Returns 0, or -1 with the error on server (MTLS_ERR_IO, MTLS_ERR_WOKEN,
 * MTLS_ERR_INTERRUPTED, MTLS_ERR_NOMEM).
 */
MTLS_EXPORT int mtls_accept(struct mtls *server, struct mtls **conn);

/*
 * mtls_accept_socket - as mtls_accept, for a socket the caller accepted
 * itself.  The socket stays the caller's: mtls_free does not close it.
 */
MTLS_EXPORT int mtls_accept_socket(struct mtls *server, struct mtls **conn,
    int fd);

/*
 * mtls_handshake - performs the TLS handshake if it has not happened yet.
 * Called implicitly by mtls_read and mtls_write.  The handshake timeout
 * (mtls_config_set_timeouts) is one deadline for the whole handshake,
 * counted from accept or connect: calls that each make a little progress
 * (a client trickling its hello) do not extend it, and once it has passed
 * the call fails with MTLS_ERR_TIMEOUT, on a non-blocking socket too.
 * Returns 0, MTLS_WANT_POLLIN / MTLS_WANT_POLLOUT on a non-blocking socket,
 * or -1 with MTLS_ERR_TIMEOUT, MTLS_ERR_PEER_UNTRUSTED, MTLS_ERR_HOSTNAME,
 * MTLS_ERR_NO_PEER_CERT, MTLS_ERR_CERT_REJECTED, MTLS_ERR_PROTOCOL,
 * MTLS_ERR_CLOSED, MTLS_ERR_TRUNCATED, MTLS_ERR_WOKEN, MTLS_ERR_INTERRUPTED,
 * MTLS_ERR_PROXY_PROTOCOL (mtls_config_set_proxy_protocol) or
 * MTLS_ERR_HANDSHAKE.
 */
MTLS_EXPORT int mtls_handshake(struct mtls *c);

/*
 * mtls_handshake_ms_left - for an event loop that parks connections: the
 * milliseconds left before c's handshake deadline, 0 when it has passed
 * (the next mtls_handshake fails with MTLS_ERR_TIMEOUT), or -1 when the
 * handshake is done, c has no socket yet, is plaintext, or has no
 * handshake timeout.
 */
MTLS_EXPORT long mtls_handshake_ms_left(struct mtls *c);

/*
 * mtls_read - reads up to len bytes of application data into buf.
 * Returns the number of bytes read (> 0); 0 when the peer closed the
 * connection cleanly (close_notify; on a plaintext connection, the end of
 * the stream); MTLS_WANT_POLLIN / MTLS_WANT_POLLOUT on
 * a non-blocking socket; or -1 with MTLS_ERR_TRUNCATED when the peer closed
 * the stream without close_notify, MTLS_ERR_CERT_REJECTED when a TLS 1.3
 * server refuses our certificate after the handshake, MTLS_ERR_TIMEOUT,
 * MTLS_ERR_CLOSED, MTLS_ERR_WOKEN, MTLS_ERR_INTERRUPTED, MTLS_ERR_IO or
 * MTLS_ERR_TLS.
 */
MTLS_EXPORT ssize_t mtls_read(struct mtls *c, void *buf, size_t len);

/*
 * mtls_write - writes all len bytes of buf.
 * Returns len; MTLS_WANT_POLLIN / MTLS_WANT_POLLOUT on a non-blocking socket
 * (call again with the same buf and len); or -1 with MTLS_ERR_CLOSED when the
 * peer has gone away (never SIGPIPE), MTLS_ERR_CERT_REJECTED, MTLS_ERR_TIMEOUT,
 * MTLS_ERR_WOKEN, MTLS_ERR_INTERRUPTED (call again with the same buf and len
 * to send the rest), MTLS_ERR_IO or MTLS_ERR_TLS.
 */
MTLS_EXPORT ssize_t mtls_write(struct mtls *c, const void *buf, size_t len);

/*
 * mtls_close - ends the connection in order: sends close_notify (when the
 * handshake completed; a TCP FIN on a plaintext connection) and closes the
 * socket if the library opened it.
 * Returns 0; MTLS_WANT_POLLOUT (or, rarely, MTLS_WANT_POLLIN) on a
 * non-blocking socket; -1 when the alert could not be sent (the socket is
 * closed all the same).
 */
MTLS_EXPORT int mtls_close(struct mtls *c);

/*
 * mtls_wake - makes a call blocked in c (mtls_accept, mtls_connect,
 * mtls_handshake, mtls_read, mtls_write) return -1 with MTLS_ERR_WOKEN, now
 * or, when none is blocked, the next time one would wait.  Safe to call from
 * any thread and from a signal handler.  A write that was woken may have
 * sent part of its data: close the connection afterwards.  Costs no
 * descriptor per object: a thread that blocks takes one eventfd, the
 * first time, and keeps it until it ends; a wait that cannot have one
 * fails with MTLS_ERR_IO.  errno is left as it was.
 * Returns 0, or -1 when c is NULL.
 */
MTLS_EXPORT int mtls_wake(struct mtls *c);

/* mtls_fd - the socket of c, or -1 when it has none. */
MTLS_EXPORT int mtls_fd(struct mtls *c);

/* mtls_local_port - the local port of c's socket (after mtls_listen or
 * connecting), or -1. */
MTLS_EXPORT int mtls_local_port(struct mtls *c);

/*
 * mtls_peer_address / mtls_peer_port - the peer's IP address in text
 * ("203.0.113.7", "2001:db8::1"; an IPv4 peer of a dual-stack socket as
 * IPv4) and its port: on a connection accepted with the PROXY protocol
 * (mtls_config_set_proxy_protocol), the client the load balancer named;
 * otherwise the socket's peer (getpeername).  The address is borrowed
 * from c, valid until mtls_free.  NULL and -1 for a listening server, a
 * socket that is not IP, before the PROXY header has been read (call
 * mtls_handshake first), and when out of memory.
 */
MTLS_EXPORT const char *mtls_peer_address(struct mtls *c);
MTLS_EXPORT int mtls_peer_port(struct mtls *c);

/* ----------------------------------------------------- connection facts */

/*
 * The negotiated protocol ("TLSv1.3"), cipher suite name, and ALPN protocol
 * (NULL when none was agreed).  Borrowed from c; NULL before the handshake.
 */
MTLS_EXPORT const char *mtls_conn_version(struct mtls *c);
MTLS_EXPORT const char *mtls_conn_cipher(struct mtls *c);
MTLS_EXPORT const char *mtls_conn_alpn(struct mtls *c);

/*
 * mtls_conn_group - the key exchange group of the handshake, as OpenSSL
 * names it ("x25519", "secp256r1", "ffdhe2048"; see mtls_config_set_groups).
 * Borrowed from c; NULL before the handshake and when it made no key
 * exchange of a group (a resumed TLS 1.2 session).
 */
MTLS_EXPORT const char *mtls_conn_group(struct mtls *c);

/* mtls_conn_session_resumed - 1 when the handshake resumed a session, else 0. */
MTLS_EXPORT int mtls_conn_session_resumed(struct mtls *c);

/*
 * mtls_conn_chain_cached - 1 when the peer's chain was trusted on the
 * verdict the config kept from an earlier handshake
 * (mtls_config_set_verify_cache), else 0.
 */
MTLS_EXPORT int mtls_conn_chain_cached(struct mtls *c);

/*
 * mtls_conn_describe - the handshake told for a person, as curl -v and
 * openssl s_client would: protocol and cipher, each certificate of the
 * peer's chain (subject, issuer, validity, names), the acceptable CA names,
 * the verify result and the reason for any failure.  Works after a failed
 * handshake too.  Returns multi-line text owned by c, valid until the next
 * call of mtls_conn_describe or mtls_free; NULL when out of memory.
 */
MTLS_EXPORT const char *mtls_conn_describe(struct mtls *c);

/* -------------------------------------------------------- peer identity */

/*
 * mtls_peer_cert_provided - 1 when the peer presented a certificate, else 0.
 * mtls_peer_cert_verified - 1 when it was presented and its chain verified
 * against our trust anchors (and, on a client, matched the server name).
 * mtls_peer_verify_error - why it did not verify ("certificate has
 * expired"), or NULL when it verified or none was presented.
 */
MTLS_EXPORT int mtls_peer_cert_provided(struct mtls *c);
MTLS_EXPORT int mtls_peer_cert_verified(struct mtls *c);
MTLS_EXPORT const char *mtls_peer_verify_error(struct mtls *c);

/*
 * The peer certificate's subject and issuer as one-line RFC 2253 DNs
 * ("CN=client,O=Example"), its common name, its serial number in upper-case
 * hex, and the SHA-256 of the certificate (DER) and of its public key (SPKI,
 * for pinning) in lower-case hex.  Borrowed from c, valid until mtls_free;
 * NULL when the peer presented no certificate (or has no CN).
 */
MTLS_EXPORT const char *mtls_peer_subject(struct mtls *c);
MTLS_EXPORT const char *mtls_peer_issuer(struct mtls *c);
MTLS_EXPORT const char *mtls_peer_common_name(struct mtls *c);
MTLS_EXPORT const char *mtls_peer_serial(struct mtls *c);
MTLS_EXPORT const char *mtls_peer_fingerprint_sha256(struct mtls *c);
MTLS_EXPORT const char *mtls_peer_spki_sha256(struct mtls *c);

/* mtls_peer_not_before / _not_after - the validity period, as time_t; -1
 * when there is no peer certificate. */
MTLS_EXPORT time_t mtls_peer_not_before(struct mtls *c);
MTLS_EXPORT time_t mtls_peer_not_after(struct mtls *c);

/*
 * mtls_peer_san - the index-th subjectAltName of the given type (enum
 * mtls_san_type), counting from 0: a DNS name, an IP address in text form
 * ("127.0.0.1", "::1"), a URI or an email address.  Names holding a NUL or
 * a control character are skipped, never truncated.
 * Returns a string borrowed from c, or NULL when there is no such entry.
 */
MTLS_EXPORT const char *mtls_peer_san(struct mtls *c, int type, size_t index);

/*
 * mtls_peer_acceptable_ca - on a client, the index-th CA name the server
 * sent in its certificate request, as an RFC 2253 DN; NULL past the end or
 * when the server asked for no certificate.  Available after a failed
 * handshake too.  Borrowed from c.
 */
MTLS_EXPORT const char *mtls_peer_acceptable_ca(struct mtls *c, size_t index);

/*
 * mtls_peer_cert_pem - the peer's certificate in PEM; mtls_peer_chain_pem -
 * the verified chain from the peer's certificate to the trust anchor,
 * concatenated in PEM (the chain as presented when it did not verify).
 * Borrowed from c; NULL when the peer presented no certificate.
 */
MTLS_EXPORT const char *mtls_peer_cert_pem(struct mtls *c);
MTLS_EXPORT const char *mtls_peer_chain_pem(struct mtls *c);

/* The HTTP/1.1 helpers, a layer above these functions, are declared in
 * mtls_http.h, included here so that programs written for one header
 * still compile. */

#ifdef __cplusplus
}
#endif

#include "mtls_http.h"

#endif /* MTLS_H */
