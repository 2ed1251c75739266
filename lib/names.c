/*
 * names.c - certificate names as text, for messages and the peer's
 * identity: distinguished names (RFC 2253 order) and subject alternative
 * names (DNS, IP, URI, email).
 */
#include <arpa/inet.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "mtls_internal.h"

void
mtls_format_dn(X509_NAME *name, char *buf, size_t len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int n;

	buf[0] = '\0';
	if (bio == NULL || name == NULL) {
		BIO_free(bio);
		return;
	}
	/* RFC 2253 order (CN first), UTF-8 kept readable rather than escaped. */
	X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	n = BIO_read(bio, buf, (int)len - 1);
	buf[n > 0 ? n : 0] = '\0';
	BIO_free(bio);
}

char *
mtls_clean_copy(const unsigned char *data, int len)
{
	int i;

	for (i = 0; i < len; i++)
		if (data[i] < 0x20 || data[i] == 0x7f)
			return NULL;
	return strndup((const char *)data, (size_t)len);
}

char *
mtls_general_name_text(const GENERAL_NAME *gn)
{
	const ASN1_STRING *s;
	char ip[INET6_ADDRSTRLEN];

	switch (gn->type) {
	case GEN_DNS:
		s = gn->d.dNSName;
		break;
	case GEN_URI:
		s = gn->d.uniformResourceIdentifier;
		break;
	case GEN_EMAIL:
		s = gn->d.rfc822Name;
		break;
	case GEN_IPADD:
		s = gn->d.iPAddress;
		if (ASN1_STRING_length(s) == 4)
			inet_ntop(AF_INET, ASN1_STRING_get0_data(s), ip, sizeof(ip));
		else if (ASN1_STRING_length(s) == 16)
			inet_ntop(AF_INET6, ASN1_STRING_get0_data(s), ip, sizeof(ip));
		else
			return NULL;
		return strdup(ip);
	default:
		return NULL;
	}
	return mtls_clean_copy(ASN1_STRING_get0_data(s), ASN1_STRING_length(s));
}
