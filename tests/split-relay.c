/*
 * split-relay - the relay of relay.h as a program, for the shell tests:
 * in front of mtls-server for curl, in front of `openssl s_server` for
 * mtls-client.
 *
 *   split-relay UPSTREAM_PORT records|bytes PAUSE_US
 *
 * Listens on a free port of 127.0.0.1, prints "listening on
 * 127.0.0.1:PORT", and relays connections to 127.0.0.1:UPSTREAM_PORT one
 * after another, one piece at a time, until it is killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

int
main(int argc, char **argv)
{
	struct relay r;
	enum relay_unit unit;

	if (argc != 4 || (strcmp(argv[2], "records") != 0 &&
	    strcmp(argv[2], "bytes") != 0)) {
		fprintf(stderr, "usage: split-relay UPSTREAM_PORT records|bytes "
		    "PAUSE_US\n");
		return 2;
	}
	unit = strcmp(argv[2], "bytes") == 0 ? RELAY_BYTES : RELAY_RECORDS;
	if (relay_start(&r, atoi(argv[1]), unit, atoi(argv[3]), -1) != 0) {
		perror("split-relay");
		return 1;
	}
	printf("listening on 127.0.0.1:%d\n", r.port);
	fflush(stdout);
	relay_stop(&r);
	return 0;
}
