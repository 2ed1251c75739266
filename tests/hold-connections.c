/*
 * hold-connections - opens N mTLS connections to one server from one
 * process, sends one HTTP request on each as it is made and reads its
 * response, and holds them all open; prints how many succeeded and how
 * many descriptors the process had open while it held them all.
 *
 *   hold-connections HOST PORT N CERT KEY CA [SECONDS]
 *
 * With SECONDS, it keeps the connections open that long after its line is
 * printed, for the caller to count the server's descriptors meanwhile.
 * Exit status 0 when all N connections and requests succeeded, 1 at the
 * first failure (its message on stderr), 2 on bad usage.  For
 * tests/mtls_server_many.sh: N connections must fit in a descriptor limit
 * only a little above N, on both sides.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mtls.h"

static int
open_descriptors(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = -3;                 /* ".", ".." and d's own */

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static struct mtls *
open_one(struct mtls_config *cfg, const char *host, const char *port, int i)
{
	struct mtls *c = mtls_client_new(cfg);

	if (c == NULL) {
		fprintf(stderr, "connection %d: %s\n", i, mtls_config_error(cfg));
		return NULL;
	}
	if (mtls_connect(c, host, port) != 0) {
		fprintf(stderr, "connection %d: %s\n", i, mtls_error(c));
		mtls_free(c);
		return NULL;
	}
	return c;
}

static int
request_one(struct mtls *c, int i)
{
	struct mtls_http_response *r = mtls_http_request(c, "GET", "/", NULL,
	    NULL, 0, 0);
	int status = r != NULL ? mtls_http_response_status(r) : -1;

	if (r == NULL)
		fprintf(stderr, "request %d: %s\n", i, mtls_error(c));
	else if (status != 200)
		fprintf(stderr, "request %d: status %d\n", i, status);
	mtls_http_response_free(r);
	return status == 200 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct mtls_config *cfg;
	struct mtls **conns;
	int n, opened = 0, answered = 0, held;

	if ((argc != 7 && argc != 8) || (n = atoi(argv[3])) <= 0) {
		fprintf(stderr, "usage: hold-connections HOST PORT N CERT KEY CA "
		    "[SECONDS]\n");
		return 2;
	}
	if ((cfg = mtls_config_new()) == NULL || (conns = calloc((size_t)n,
	    sizeof(*conns))) == NULL) {
		fprintf(stderr, "hold-connections: out of memory\n");
		return 1;
	}
	if (mtls_config_set_cert_file(cfg, argv[4], argv[5], NULL) != 0 ||
	    mtls_config_set_ca_file(cfg, argv[6]) != 0) {
		fprintf(stderr, "hold-connections: %s\n", mtls_config_error(cfg));
		return 1;
	}
	/* Each connection is answered once as soon as it is made, then kept
	 * open (idle keep-alive) while the next ones are made: however slow
	 * the build, none waits long for its first request. */
	while (opened < n && (conns[opened] = open_one(cfg, argv[1], argv[2],
	    opened)) != NULL) {
		if (request_one(conns[opened], opened) == 0)
			answered++;
		opened++;
		if (answered < opened)
			break;
	}
	held = open_descriptors();
	printf("connections: %d of %d, requests answered: %d, descriptors "
	    "open while holding them: %d\n", opened, n, answered, held);
	fflush(stdout);
	if (argc == 8)
		sleep((unsigned)atoi(argv[7]));
	for (int i = 0; i < opened; i++)
		mtls_free(conns[i]);
	free(conns);
	mtls_config_free(cfg);
	return answered == n ? 0 : 1;
}
