/*
 * common.h - what the example programs share: HOST:PORT splitting,
 * nginx's ssl_verify_client names, an identity loaded from PEM files or a
 * PKCS#12 FILE[:PASSWORD], and the monotonic clock.
 */
#ifndef MTLS_EXAMPLES_COMMON_H
#define MTLS_EXAMPLES_COMMON_H

#include <stddef.h>

#include <mtls.h>

/*
 * split_hostport - "host:port", "[::1]:port" or ":port" split at the last
 * colon: host (brackets removed, "" for ":port") into host, and *port
 * pointing into addr.  Returns 0, or -1 when there is no colon.
 */
int split_hostport(const char *addr, char *host, size_t host_len,
    const char **port);

/* verify_client_mode - nginx's on, optional, optional_no_ca as enum
 * mtls_verify_client; -1 for anything else. */
int verify_client_mode(const char *value);

/*
 * load_identity - with p12 NULL, cert_file (and key_file, or the key
 * inside cert_file) with pass for an encrypted key; otherwise the PKCS#12
 * file p12, whose password follows a colon ("client.p12:secret") or is
 * pass.  Returns as mtls_config_set_cert_file / _p12_file.
 */
int load_identity(struct mtls_config *cfg, const char *cert_file,
    const char *key_file, const char *pass, const char *p12);

/* monotonic_ms - the monotonic clock in milliseconds, for deadlines. */
long monotonic_ms(void);

#endif
