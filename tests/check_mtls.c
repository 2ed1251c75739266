/*
 * check_mtls.c - runs every Check suite in one runner, so that one summary
 * line ("100%: Checks: N, Failures: 0, Errors: 0") covers the library.
 */
#include <signal.h>
#include <stdlib.h>

#include "check_util.h"

int
main(void)
{
	SRunner *sr = srunner_create(error_suite());
	int failed;

	/* SIGPIPE keeps its default action: a write that raised it would kill
	 * the test, which is the point. */
	signal(SIGPIPE, SIG_DFL);
	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, identity_suite());
	srunner_add_suite(sr, trust_suite());
	srunner_add_suite(sr, conn_suite());
	srunner_add_suite(sr, verify_suite());
	srunner_add_suite(sr, io_suite());
	srunner_add_suite(sr, peer_suite());
	srunner_add_suite(sr, threads_suite());
	srunner_add_suite(sr, policy_suite());
	srunner_add_suite(sr, preflight_suite());
	srunner_add_suite(sr, sessions_suite());
	srunner_add_suite(sr, rotation_suite());
	srunner_add_suite(sr, watch_suite());
	srunner_add_suite(sr, describe_suite());
	srunner_add_suite(sr, http_parse_suite());
	srunner_add_suite(sr, http_client_suite());
	srunner_add_suite(sr, http_server_suite());
	srunner_add_suite(sr, http_nonblocking_suite());
	srunner_add_suite(sr, plain_suite());
	srunner_add_suite(sr, interrupt_suite());
	srunner_add_suite(sr, split_suite());
	srunner_add_suite(sr, wake_suite());
	srunner_add_suite(sr, setters_suite());
	srunner_add_suite(sr, tls_policy_suite());
	srunner_add_suite(sr, identities_suite());
	srunner_add_suite(sr, constants_suite());
	srunner_add_suite(sr, pkcs11_suite());
	srunner_add_suite(sr, proxy_protocol_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
