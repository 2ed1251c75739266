/*
 * handshake_bench - mTLS handshakes per second against one server, from
 * THREADS client threads sharing one config: connect, full (or resumed)
 * handshake, one HTTP request with "Connection: close", read to the end.
 * Bounded by a count and a time limit; prints one line:
 *   handshakes=N seconds=S rate=R/s failures=F resumed=K
 *
 * usage: handshake_bench HOST PORT CERT KEY CA COUNT SECONDS THREADS full|resume
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mtls.h>

struct job {
	struct mtls_config *cfg;
	const char *host, *port;
	long count;                 /* shared budget, atomic */
	double deadline;
	long done, failed, resumed; /* atomic */
	char first_error[512];
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
one_exchange(struct job *j, struct mtls *c)
{
	char req[256], buf[4096];
	int len = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\n"
	    "Connection: close\r\n\r\n", j->host);
	ssize_t n;

	if (mtls_connect(c, j->host, j->port) != 0 ||
	    mtls_write(c, req, (size_t)len) != len)
		return -1;
	while ((n = mtls_read(c, buf, sizeof(buf))) > 0)
		;
	return n == 0 || mtls_error_code(c) == MTLS_ERR_TRUNCATED ? 0 : -1;
}

static void *
worker(void *arg)
{
	struct job *j = arg;

	while (__atomic_sub_fetch(&j->count, 1, __ATOMIC_RELAXED) >= 0 &&
	    now() < j->deadline) {
		struct mtls *c = mtls_client_new(j->cfg);

		if (c != NULL && one_exchange(j, c) == 0) {
			__atomic_add_fetch(&j->done, 1, __ATOMIC_RELAXED);
			if (mtls_conn_session_resumed(c))
				__atomic_add_fetch(&j->resumed, 1, __ATOMIC_RELAXED);
		} else if (__atomic_add_fetch(&j->failed, 1, __ATOMIC_RELAXED) == 1) {
			snprintf(j->first_error, sizeof(j->first_error), "%s",
			    c && mtls_error(c) ? mtls_error(c) : "out of memory");
		}
		mtls_close(c);
		mtls_free(c);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct job j = { 0 };
	struct mtls_config *cfg;
	pthread_t t[64];
	double start, elapsed;
	int i, threads;

	if (argc != 10) {
		fprintf(stderr, "usage: handshake_bench HOST PORT CERT KEY CA COUNT "
		    "SECONDS THREADS full|resume\n");
		return 1;
	}
	cfg = mtls_config_new();
	if (mtls_config_set_cert_file(cfg, argv[3], argv[4], NULL) != 0 ||
	    mtls_config_set_ca_file(cfg, argv[5]) != 0 ||
	    (strcmp(argv[9], "full") == 0 &&
	    mtls_config_set_session_cache(cfg, 0) != 0)) {
		fprintf(stderr, "handshake_bench: %s\n", mtls_config_error(cfg));
		return 1;
	}
	threads = atoi(argv[8]);
	if (threads < 1 || threads > 64)
		threads = 1;
	j.cfg = cfg;
	j.host = argv[1];
	j.port = argv[2];
	j.count = atol(argv[6]);
	start = now();
	j.deadline = start + atof(argv[7]);
	for (i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, worker, &j);
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	elapsed = now() - start;
	printf("handshakes=%ld seconds=%.3f rate=%.1f failures=%ld resumed=%ld\n",
	    j.done, elapsed, (double)j.done / elapsed, j.failed, j.resumed);
	if (j.failed > 0)
		fprintf(stderr, "handshake_bench: first failure: %s\n", j.first_error);
	mtls_config_free(cfg);
	return j.failed > 0 ? 2 : 0;
}
