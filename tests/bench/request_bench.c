/*
 * request_bench - HTTP/1.1 over mTLS against one server, with the library's
 * HTTP client, in one of three modes:
 *
 *   keepalive  THREADS connections, each sending GET PATH over and over;
 *              prints requests=N seconds=S rate=R failures=F
 *   bulk       THREADS connections, each fetching PATH (a large file)
 *              over and over, body streamed and dropped; prints
 *              bytes=N seconds=S rate=MB/s failures=F
 *   idle       COUNT connections, each after one GET PATH left open;
 *              prints "open N", then waits for a line on standard input
 *              (or SECONDS) and closes them
 *
 * Every loop is bounded by COUNT requests (shared) and SECONDS.
 *
 * usage: request_bench HOST PORT CERT KEY CA MODE COUNT SECONDS THREADS PATH
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mtls.h>

struct job {
	struct mtls_config *cfg;
	const char *host, *port, *path;
	int bulk;
	long budget;                /* requests left, shared, atomic */
	double deadline;
	long done, failed;          /* atomic */
	unsigned long long bytes;   /* atomic */
	char first_error[512];
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
note_failure(struct job *j, struct mtls *c)
{
	if (__atomic_add_fetch(&j->failed, 1, __ATOMIC_RELAXED) == 1)
		snprintf(j->first_error, sizeof(j->first_error), "%s",
		    c && mtls_error(c) ? mtls_error(c) : "out of memory");
}

/* One GET; the body is read whole, or streamed and dropped for bulk. */
static int
one_request(struct job *j, struct mtls *c)
{
	struct mtls_http_response *r = mtls_http_request(c, "GET", j->path,
	    NULL, NULL, 0, j->bulk ? MTLS_HTTP_STREAM : 0);
	char sink[1 << 16];
	unsigned long long got = 0;
	size_t len = 0;
	ssize_t n = 0;

	if (r == NULL || mtls_http_response_status(r) != 200) {
		mtls_http_response_free(r);
		return -1;
	}
	mtls_http_response_body(r, &len);
	got = len;
	while (j->bulk && (n = mtls_http_response_read(r, sink,
	    sizeof(sink))) > 0)
		got += (unsigned long long)n;
	mtls_http_response_free(r);
	if (j->bulk && n < 0)
		return -1;
	__atomic_add_fetch(&j->bytes, got, __ATOMIC_RELAXED);
	return 0;
}

static void *
worker(void *arg)
{
	struct job *j = arg;
	struct mtls *c = mtls_client_new(j->cfg);

	if (c == NULL || mtls_connect(c, j->host, j->port) != 0) {
		note_failure(j, c);
		mtls_free(c);
		return NULL;
	}
	while (__atomic_sub_fetch(&j->budget, 1, __ATOMIC_RELAXED) >= 0 &&
	    now() < j->deadline) {
		if (one_request(j, c) != 0) {
			note_failure(j, c);
			break;
		}
		__atomic_add_fetch(&j->done, 1, __ATOMIC_RELAXED);
	}
	mtls_close(c);
	mtls_free(c);
	return NULL;
}

static int
run_load(struct job *j, int threads)
{
	pthread_t t[64];
	double start = now(), elapsed;
	int i;

	for (i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, worker, j);
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	elapsed = now() - start;
	if (j->bulk)
		printf("bytes=%llu seconds=%.3f rate=%.1f failures=%ld\n", j->bytes,
		    elapsed, (double)j->bytes / elapsed / 1e6, j->failed);
	else
		printf("requests=%ld seconds=%.3f rate=%.1f failures=%ld\n", j->done,
		    elapsed, (double)j->done / elapsed, j->failed);
	return 0;
}

/* Opens count connections, one request each, and holds them. */
static int
run_idle(struct job *j, long count, double seconds)
{
	struct mtls **conns = calloc((size_t)count, sizeof(*conns));
	struct pollfd in = { .fd = 0, .events = POLLIN };
	long open = 0, i;

	for (i = 0; conns != NULL && i < count && now() < j->deadline; i++) {
		conns[i] = mtls_client_new(j->cfg);
		if (conns[i] == NULL || mtls_connect(conns[i], j->host,
		    j->port) != 0 || one_request(j, conns[i]) != 0) {
			note_failure(j, conns[i]);
			break;
		}
		open++;
	}
	printf("open %ld\n", open);
	fflush(stdout);
	poll(&in, 1, (int)(seconds * 1000));
	for (i = 0; conns != NULL && i < count; i++) {
		mtls_close(conns[i]);
		mtls_free(conns[i]);
	}
	free(conns);
	return 0;
}

int
main(int argc, char **argv)
{
	struct job j = { 0 };
	struct mtls_config *cfg;
	int threads, rc;

	if (argc != 11) {
		fprintf(stderr, "usage: request_bench HOST PORT CERT KEY CA "
		    "keepalive|bulk|idle COUNT SECONDS THREADS PATH\n");
		return 1;
	}
	cfg = mtls_config_new();
	if (mtls_config_set_cert_file(cfg, argv[3], argv[4], NULL) != 0 ||
	    mtls_config_set_ca_file(cfg, argv[5]) != 0 ||
	    mtls_config_set_timeouts(cfg, 10000, 10000, 30000) != 0) {
		fprintf(stderr, "request_bench: %s\n", mtls_config_error(cfg));
		return 1;
	}
	threads = atoi(argv[9]);
	if (threads < 1 || threads > 64)
		threads = 1;
	j = (struct job){ .cfg = cfg, .host = argv[1], .port = argv[2],
	    .path = argv[10], .bulk = strcmp(argv[6], "bulk") == 0,
	    .budget = atol(argv[7]), .deadline = now() + atof(argv[8]) };
	if (strcmp(argv[6], "idle") == 0)
		rc = run_idle(&j, atol(argv[7]), atof(argv[8]));
	else
		rc = run_load(&j, threads);
	if (j.failed > 0)
		fprintf(stderr, "request_bench: first failure: %s\n", j.first_error);
	mtls_config_free(cfg);
	return rc != 0 || j.failed > 0 ? 2 : 0;
}
