/*
 * constants.c - the constants of the public headers as a table of names
 * and values, for bindings (mtls_constant_at): a binding that reads them
 * from the library it loaded cannot drift from it, as copies do.
 *
 * Every enum value and numeric macro of include/mtls.h and
 * include/mtls_http.h belongs here; tests/check_constants.c reads the
 * headers and fails on one that is missing.
 */
#include "mtls_internal.h"

#define C(name) { #name, (long)(name) }

static const struct {
	const char *name;
	long value;
} constants[] = {
	C(MTLS_ABI_VERSION),
	C(MTLS_WANT_POLLIN),
	C(MTLS_WANT_POLLOUT),
	/* enum mtls_error */
	C(MTLS_OK),
	C(MTLS_ERR_INVALID),
	C(MTLS_ERR_NOMEM),
	C(MTLS_ERR_FILE),
	C(MTLS_ERR_FORMAT),
	C(MTLS_ERR_PASSPHRASE),
	C(MTLS_ERR_P12_PASSWORD),
	C(MTLS_ERR_KEY_MISMATCH),
	C(MTLS_ERR_UNSUPPORTED),
	C(MTLS_ERR_CONFIG_FROZEN),
	C(MTLS_ERR_RESOLVE),
	C(MTLS_ERR_CONNECT),
	C(MTLS_ERR_LISTEN),
	C(MTLS_ERR_TIMEOUT),
	C(MTLS_ERR_HANDSHAKE),
	C(MTLS_ERR_PEER_UNTRUSTED),
	C(MTLS_ERR_HOSTNAME),
	C(MTLS_ERR_NO_PEER_CERT),
	C(MTLS_ERR_CERT_REJECTED),
	C(MTLS_ERR_PROTOCOL),
	C(MTLS_ERR_TRUNCATED),
	C(MTLS_ERR_CLOSED),
	C(MTLS_ERR_IO),
	C(MTLS_ERR_WOKEN),
	C(MTLS_ERR_TLS),
	C(MTLS_ERR_NOT_ALLOWED),
	C(MTLS_ERR_BAD_IDENTITY),
	C(MTLS_ERR_HTTP),
	C(MTLS_ERR_INTERRUPTED),
	C(MTLS_ERR_PROXY_PROTOCOL),
	/* enum mtls_verify_client */
	C(MTLS_VERIFY_CLIENT_REQUIRED),
	C(MTLS_VERIFY_CLIENT_OPTIONAL),
	C(MTLS_VERIFY_CLIENT_OPTIONAL_NO_CA),
	/* enum mtls_allow_type */
	C(MTLS_ALLOW_CN),
	C(MTLS_ALLOW_OU),
	C(MTLS_ALLOW_DNS),
	C(MTLS_ALLOW_URI),
	C(MTLS_ALLOW_IP),
	C(MTLS_ALLOW_SPKI_SHA256),
	C(MTLS_ALLOW_CERT_SHA256),
	/* enum mtls_tls_version */
	C(MTLS_TLS1_2),
	C(MTLS_TLS1_3),
	/* enum mtls_san_type */
	C(MTLS_SAN_DNS),
	C(MTLS_SAN_IP),
	C(MTLS_SAN_URI),
	C(MTLS_SAN_EMAIL),
	/* mtls_http.h: request flags, enum mtls_http_limit */
	C(MTLS_HTTP_STREAM),
	C(MTLS_HTTP_NOWAIT),
	C(MTLS_HTTP_MAX_REQUEST_LINE),
	C(MTLS_HTTP_MAX_HEADER_BYTES),
	C(MTLS_HTTP_MAX_HEADERS),
	C(MTLS_HTTP_MAX_BODY),
	C(MTLS_HTTP_HEADER_TIMEOUT_MS),
	C(MTLS_HTTP_IDLE_TIMEOUT_MS),
	C(MTLS_HTTP_MAX_HEADER_LINE),
};

MTLS_EXPORT const char *
mtls_constant_at(size_t index, long *value)
{
	if (index >= sizeof(constants) / sizeof(constants[0]))
		return NULL;
	if (value != NULL)
		*value = constants[index].value;
	return constants[index].name;
}
