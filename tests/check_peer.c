/*
 * check_peer.c - the peer identity and connection facts each side sees,
 * checked against what libcrypto computes from the certificate files.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "check_util.h"

static struct mtls *listener, *sside, *cside;

static void
setup(void)
{
	configs_setup();
	connect_pair(server_cfg, client_cfg, &listener, &sside, &cside);
}

static void
teardown(void)
{
	mtls_free(cside);
	mtls_free(sside);
	mtls_free(listener);
	configs_teardown();
}

static void
hex(const unsigned char *d, unsigned len, char *out)
{
	unsigned i;

	for (i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	while (hay != NULL && (hay = strstr(hay, needle)) != NULL) {
		n++;
		hay++;
	}
	return n;
}

START_TEST(test_client_identity_seen_by_server)
{
	ck_assert(mtls_peer_cert_provided(sside));
	ck_assert(mtls_peer_cert_verified(sside));
	ck_assert_ptr_null(mtls_peer_verify_error(sside));
	ck_assert_str_eq(mtls_peer_subject(sside),
	    "CN=client,OU=testers,O=libmtls test");
	ck_assert_str_eq(mtls_peer_issuer(sside), "CN=libmtls Test Root CA");
	ck_assert_str_eq(mtls_peer_common_name(sside), "client");
}
END_TEST

START_TEST(test_fingerprints_match_libcrypto)
{
	X509 *x = load_cert("client.crt");
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned md_len;
	char want[2 * EVP_MAX_MD_SIZE + 1];
	int len;

	X509_digest(x, EVP_sha256(), md, &md_len);
	hex(md, md_len, want);
	ck_assert_str_eq(mtls_peer_fingerprint_sha256(sside), want);
	len = i2d_PUBKEY(X509_get0_pubkey(x), &der);
	EVP_Digest(der, (size_t)len, md, &md_len, EVP_sha256(), NULL);
	hex(md, md_len, want);
	ck_assert_str_eq(mtls_peer_spki_sha256(sside), want);
	ck_assert_uint_eq(strlen(want), 64);
	OPENSSL_free(der);
	X509_free(x);
}
END_TEST

START_TEST(test_serial_and_validity)
{
	X509 *x = load_cert("client.crt");
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *serial = BN_bn2hex(bn);
	struct tm tm;

	ck_assert_str_eq(mtls_peer_serial(sside), serial);
	ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm);
	ck_assert_int_eq(mtls_peer_not_before(sside), timegm(&tm));
	ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm);
	ck_assert_int_eq(mtls_peer_not_after(sside), timegm(&tm));
	ck_assert_int_gt(mtls_peer_not_after(sside), mtls_peer_not_before(sside));
	OPENSSL_free(serial);
	BN_free(bn);
	X509_free(x);
}
END_TEST

START_TEST(test_sans_by_type)
{
	ck_assert_str_eq(mtls_peer_san(sside, MTLS_SAN_DNS, 0), "client.example.org");
	ck_assert_ptr_null(mtls_peer_san(sside, MTLS_SAN_DNS, 1));
	ck_assert_str_eq(mtls_peer_san(sside, MTLS_SAN_IP, 0), "127.0.0.2");
	ck_assert_str_eq(mtls_peer_san(sside, MTLS_SAN_URI, 0),
	    "spiffe://example.org/ns/test/sa/client");
	ck_assert_str_eq(mtls_peer_san(sside, MTLS_SAN_EMAIL, 0),
	    "client@example.org");
	ck_assert_ptr_null(mtls_peer_san(sside, 0, 0));
	ck_assert_ptr_null(mtls_peer_san(sside, 99, 0));
	/* The server's certificate, seen from the client. */
	ck_assert_str_eq(mtls_peer_san(cside, MTLS_SAN_DNS, 0), "localhost");
	ck_assert_str_eq(mtls_peer_san(cside, MTLS_SAN_IP, 0), "127.0.0.1");
	ck_assert_str_eq(mtls_peer_san(cside, MTLS_SAN_IP, 1), "::1");
	ck_assert_ptr_null(mtls_peer_san(cside, MTLS_SAN_URI, 0));
}
END_TEST

START_TEST(test_pem_and_chain)
{
	char *file = slurp(pki("client.crt"), NULL);

	ck_assert_str_eq(mtls_peer_cert_pem(sside), file);
	/* The verified chain: the client's certificate and the root. */
	ck_assert_int_eq(count(mtls_peer_chain_pem(sside), "-----BEGIN CERTIFICATE"), 2);
	ck_assert_ptr_nonnull(strstr(mtls_peer_chain_pem(sside), file));
	free(file);
}
END_TEST

START_TEST(test_server_identity_seen_by_client)
{
	ck_assert_str_eq(mtls_peer_subject(cside), "CN=localhost");
	ck_assert_str_eq(mtls_peer_common_name(cside), "localhost");
	ck_assert(mtls_peer_cert_verified(cside));
	ck_assert_str_eq(mtls_conn_version(cside), "TLSv1.3");
	ck_assert_str_eq(mtls_conn_version(sside), "TLSv1.3");
	ck_assert_ptr_nonnull(strstr(mtls_conn_cipher(cside), "TLS_"));
	ck_assert_str_eq(mtls_conn_cipher(cside), mtls_conn_cipher(sside));
	ck_assert_ptr_null(mtls_conn_alpn(cside));
	ck_assert_int_eq(mtls_conn_session_resumed(cside), 0);
}
END_TEST

START_TEST(test_nothing_before_handshake)
{
	struct mtls *c = mtls_client_new(client_cfg);

	ck_assert_int_eq(mtls_peer_cert_provided(c), 0);
	ck_assert_int_eq(mtls_peer_cert_verified(c), 0);
	ck_assert_ptr_null(mtls_peer_subject(c));
	ck_assert_ptr_null(mtls_peer_cert_pem(c));
	ck_assert_ptr_null(mtls_peer_san(c, MTLS_SAN_DNS, 0));
	ck_assert_int_eq(mtls_peer_not_before(c), -1);
	ck_assert_ptr_null(mtls_conn_version(c));
	ck_assert_ptr_null(mtls_conn_cipher(c));
	ck_assert_ptr_null(mtls_peer_subject(NULL));
	mtls_free(c);
}
END_TEST

START_TEST(test_alpn_negotiated)
{
	struct mtls_config *scfg = make_config("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = make_config("client.crt", "client.key", "ca.crt");
	struct mtls *l, *s, *c;

	ck_assert_int_eq(mtls_config_set_alpn(scfg, "h2,http/1.1"), 0);
	ck_assert_int_eq(mtls_config_set_alpn(ccfg, "http/1.1"), 0);
	connect_pair(scfg, ccfg, &l, &s, &c);
	ck_assert_str_eq(mtls_conn_alpn(c), "http/1.1");
	ck_assert_str_eq(mtls_conn_alpn(s), "http/1.1");
	mtls_free(c);
	mtls_free(s);
	mtls_free(l);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

START_TEST(test_tls12_minimum_still_negotiates_13)
{
	struct mtls_config *scfg = make_config("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = make_config("client.crt", "client.key", "ca.crt");
	struct mtls *l, *s, *c;

	ck_assert_int_eq(mtls_config_set_min_version(ccfg, MTLS_TLS1_3), 0);
	connect_pair(scfg, ccfg, &l, &s, &c);
	ck_assert_str_eq(mtls_conn_version(c), "TLSv1.3");
	mtls_free(c);
	mtls_free(s);
	mtls_free(l);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}
END_TEST

/* Adds a subjectAltName entry of the given type holding len raw bytes. */
static void
add_raw_san(GENERAL_NAMES *sans, int type, const char *bytes, int len)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *str = ASN1_IA5STRING_new();

	ASN1_STRING_set(str, bytes, len);
	GENERAL_NAME_set0_value(gn, type, str);
	sk_GENERAL_NAME_push(sans, gn);
}

static char *
pem_text(int (*write)(BIO *, void *), void *obj)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long len;

	write(bio, obj);
	len = BIO_get_mem_data(bio, &data);
	out = strndup(data, (size_t)len);
	BIO_free(bio);
	return out;
}

static int
write_cert(BIO *b, void *x)
{
	return PEM_write_bio_X509(b, x);
}

static int
write_key(BIO *b, void *k)
{
	return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
}

/*
 * A client certificate, signed by the test CA, whose SANs hide a NUL or a
 * control character ("evil.example\0.good.example"): such names must never
 * be handed out cut short at the NUL.
 */
static void
make_tricky_client(char **cert_pem, char **key_pem)
{
	FILE *f = fopen(pki("ca.key"), "r");
	EVP_PKEY *ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	X509 *ca = load_cert("ca.crt"), *x = X509_new();
	EVP_PKEY *key = EVP_EC_gen("P-256");
	GENERAL_NAMES *sans = sk_GENERAL_NAME_new_null();
	X509V3_CTX v3;
	X509_EXTENSION *eku;

	fclose(f);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"tricky", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(ca));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	add_raw_san(sans, GEN_DNS, "good.example", 12);
	add_raw_san(sans, GEN_DNS, "evil.example\0.good.example", 26);
	add_raw_san(sans, GEN_URI, "spiffe://x/\nsa/admin", 20);
	X509_add1_ext_i2d(x, NID_subject_alt_name, sans, 0, 0);
	X509V3_set_ctx(&v3, ca, x, NULL, NULL, 0);
	eku = X509V3_EXT_conf_nid(NULL, &v3, NID_ext_key_usage, "clientAuth");
	X509_add_ext(x, eku, -1);
	ck_assert_int_gt(X509_sign(x, ca_key, EVP_sha256()), 0);
	*cert_pem = pem_text(write_cert, x);
	*key_pem = pem_text(write_key, key);
	X509_EXTENSION_free(eku);
	GENERAL_NAMES_free(sans);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca_key);
}

START_TEST(test_names_with_nul_are_skipped)
{
	struct mtls_config *scfg = make_config("server.crt", "server.key", "ca.crt");
	struct mtls_config *ccfg = make_config(NULL, NULL, "ca.crt");
	struct mtls *l, *s, *c;
	char *cert, *key;

	make_tricky_client(&cert, &key);
	ck_assert_msg(mtls_config_set_cert_mem(ccfg, cert, strlen(cert), key,
	    strlen(key), NULL) == 0, "%s", mtls_config_error(ccfg));
	connect_pair(scfg, ccfg, &l, &s, &c);
	ck_assert_str_eq(mtls_peer_common_name(s), "tricky");
	ck_assert_str_eq(mtls_peer_san(s, MTLS_SAN_DNS, 0), "good.example");
	ck_assert_ptr_null(mtls_peer_san(s, MTLS_SAN_DNS, 1));
	ck_assert_ptr_null(mtls_peer_san(s, MTLS_SAN_URI, 0));
	mtls_free(c);
	mtls_free(s);
	mtls_free(l);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
	free(cert);
	free(key);
}
END_TEST

Suite *
peer_suite(void)
{
	Suite *s = suite_create("peer");
	TCase *tc = tcase_create("identity");
	TCase *tc2 = tcase_create("facts");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_client_identity_seen_by_server);
	tcase_add_test(tc, test_fingerprints_match_libcrypto);
	tcase_add_test(tc, test_serial_and_validity);
	tcase_add_test(tc, test_sans_by_type);
	tcase_add_test(tc, test_pem_and_chain);
	tcase_add_test(tc, test_server_identity_seen_by_client);
	tcase_add_test(tc, test_nothing_before_handshake);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tc2, 20);
	tcase_add_test(tc2, test_alpn_negotiated);
	tcase_add_test(tc2, test_tls12_minimum_still_negotiates_13);
	tcase_add_test(tc2, test_names_with_nul_are_skipped);
	suite_add_tcase(s, tc2);
	return s;
}
