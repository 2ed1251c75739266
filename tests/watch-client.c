/*
 * watch-client - handshakes in a loop from one watched client config, for
 * tests/rotation_watch.sh: its certificate files are rotated while it
 * runs, and each handshake tells which server certificate it saw and
 * which client certificate the server saw.
 *
 * usage: watch-client PORT CERT KEY CA INTERVAL_MS SECONDS
 *
 * Connects to localhost:PORT, sends GET / (mtls-server answers with the
 * identity it saw) and prints one line a handshake on standard output:
 *   START_MS END_MS ok SERVER_FP CLIENT_FP   (wall clock, SHA-256 hex)
 *   START_MS END_MS failed MESSAGE
 * and each reload of its files (the reload callback) on standard error:
 *   RELOAD ok|failed MESSAGE
 * Exits 0 when it ran for SECONDS, 2 on a usage or setup error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtls.h"

static long
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void
on_reload(struct mtls_config *cfg, int ok, const char *message, void *arg)
{
	fprintf(stderr, "RELOAD %s %ld %s\n", ok ? "ok" : "failed", wall_ms(),
	    message);
}

/* The value of "fingerprint: " in mtls-server's answer, into fp. */
static void
seen_fingerprint(const char *answer, char *fp, size_t len)
{
	const char *p = strstr(answer, "\nfingerprint: ");

	snprintf(fp, len, "-");
	if (p != NULL)
		snprintf(fp, len, "%.*s", (int)strcspn(p + 14, "\r\n"), p + 14);
}

/* One handshake and request; 0, or -1 with the reason in why. */
static int
one(struct mtls_config *cfg, const char *port, char *server_fp,
    char *client_fp, size_t len, char *why, size_t why_len)
{
	static const char req[] = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n";
	struct mtls *c = mtls_client_new(cfg);
	char answer[8192];
	size_t got = 0;
	ssize_t n;
	int rc = -1;

	if (c == NULL) {
		snprintf(why, why_len, "client_new: %s", mtls_config_error(cfg));
		return -1;
	}
	if (mtls_connect(c, "localhost", port) == 0 &&
	    mtls_write(c, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1)) {
		snprintf(server_fp, len, "%s", mtls_peer_fingerprint_sha256(c));
		while (got < sizeof(answer) - 1 && (n = mtls_read(c, answer + got,
		    sizeof(answer) - 1 - got)) > 0)
			got += (size_t)n;
		answer[got] = '\0';
		seen_fingerprint(answer, client_fp, len);
		rc = strncmp(answer, "HTTP/1.1 200", 12) == 0 ? 0 : -1;
	}
	snprintf(why, why_len, "%s", rc == 0 ? "" : mtls_error(c) ?
	    mtls_error(c) : "not a 200 answer");
	mtls_close(c);
	mtls_free(c);
	return rc;
}

static struct mtls_config *
setup(char **argv)
{
	struct mtls_config *cfg = mtls_config_new();

	if (cfg == NULL || mtls_config_set_cert_file(cfg, argv[2], argv[3],
	    NULL) != 0 || mtls_config_set_ca_file(cfg, argv[4]) != 0 ||
	    mtls_config_set_session_cache(cfg, 0) != 0 ||
	    mtls_config_set_timeouts(cfg, 5000, 5000, 5000) != 0 ||
	    mtls_config_watch_files(cfg, atoi(argv[5])) != 0 ||
	    mtls_config_set_reload_callback(cfg, on_reload, NULL) != 0) {
		fprintf(stderr, "watch-client: %s\n", mtls_config_error(cfg));
		exit(2);
	}
	return cfg;
}

int
main(int argc, char **argv)
{
	struct mtls_config *cfg;
	char server_fp[128], client_fp[128], why[1024];
	long end;

	if (argc != 7) {
		fprintf(stderr, "usage: watch-client PORT CERT KEY CA INTERVAL_MS "
		    "SECONDS\n");
		return 2;
	}
	cfg = setup(argv);
	end = wall_ms() + atol(argv[6]) * 1000L;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (wall_ms() < end) {
		long start = wall_ms();

		if (one(cfg, argv[1], server_fp, client_fp, sizeof(server_fp),
		    why, sizeof(why)) == 0)
			printf("%ld %ld ok %s %s\n", start, wall_ms(), server_fp,
			    client_fp);
		else
			printf("%ld %ld failed %s\n", start, wall_ms(), why);
	}
	mtls_config_free(cfg);
	return 0;
}
