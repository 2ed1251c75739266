/*
 * load-identity - loads one identity into a config as a program would,
 * and says how it went: "ok KEYTYPE" on stdout, or the error code's name
 * and the message on stderr (exit 1).  tests/pkcs11_softhsm.sh asserts the
 * codes of the failures with it, which the programs do not print.
 *
 *   load-identity CERT [KEY [PASSPHRASE]]     (KEY "-": none)
 */
#include <stdio.h>
#include <string.h>

#include <mtls.h>

int
main(int argc, char **argv)
{
	struct mtls_config *cfg;
	const char *key = argc > 2 && strcmp(argv[2], "-") != 0 ? argv[2] : NULL;
	int rc;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: load-identity CERT [KEY [PASSPHRASE]]\n");
		return 2;
	}
	if ((cfg = mtls_config_new()) == NULL) {
		fprintf(stderr, "load-identity: %s\n", mtls_config_error(NULL));
		return 2;
	}
	rc = mtls_config_set_cert_file(cfg, argv[1], key,
	    argc > 3 ? argv[3] : NULL);
	if (rc == 0)
		printf("ok\n");
	else
		fprintf(stderr, "%s: %s\n",
		    mtls_error_name(mtls_config_error_code(cfg)),
		    mtls_config_error(cfg));
	mtls_config_free(cfg);
	return rc == 0 ? 0 : 1;
}
