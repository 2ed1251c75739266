/*
 * wait.c - the timed waits of a connection on its socket: poll (or
 * ppoll, when only some signals may end a wait) until the socket is
 * ready, a deadline on the monotonic clock passes, mtls_wake is called
 * (wake.c) or, when the config says so, a signal arrives.  Below the
 * handshake, the PROXY protocol header and the reads and writes that wait
 * here (io.c, proxy_protocol.c).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "mtls_internal.h"

long
mtls_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An absolute deadline on the monotonic clock, or -1 for none. */
long
mtls_deadline(int timeout_ms)
{
	return timeout_ms > 0 ? mtls_now_ms() + timeout_ms : -1;
}

/* poll(2), or, when only some signals may end c's waits, ppoll(2) with
 * the others blocked: they arrive when the wait is over. */
static int
wait_events(const struct mtls *c, struct pollfd pfd[2], int wait_ms)
{
	struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000L };

	if (!c->signals_held)
		return poll(pfd, 2, wait_ms);
	return ppoll(pfd, 2, wait_ms < 0 ? NULL : &ts, &c->wait_mask);
}

/*
 * A system call of c's that failed with EINTR: -1 with
 * MTLS_ERR_INTERRUPTED when c's config makes signals end blocking calls
 * (mtls_config_set_interruptible), else 0 to retry it.  A wake-up that
 * came with the signal is left for take_wakeup, which reports it.
 */
int
mtls_fail_interrupted(struct mtls *c, const char *what)
{
	if (!__atomic_load_n(&c->interruptible, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&c->woken, __ATOMIC_ACQUIRE))
		return 0;
	return CONN_FAIL(c, MTLS_ERR_INTERRUPTED, "%s interrupted by a signal",
	    what);
}

int
mtls_fail_timeout(struct mtls *c, const char *what, int timeout_ms)
{
	return CONN_FAIL(c, MTLS_ERR_TIMEOUT, "%s with %s timed out after %d ms",
	    what, c->peer_desc, timeout_ms);
}

/*
 * Waits until c's socket is ready for events, the deadline passes,
 * mtls_wake is called, or (if c is interruptible) a signal arrives.
 * Returns 0 when ready, else -1 with the error set.
 */
static int
wait_loop(struct mtls *c, struct pollfd pfd[2], long deadline, int timeout_ms,
    const char *what)
{
	for (;;) {
		int wait_ms = -1, n;

		if (mtls_wake_take(c))
			return CONN_FAIL(c, MTLS_ERR_WOKEN, "%s interrupted by "
			    "mtls_wake", what);
		if (deadline >= 0 && (wait_ms = (int)(deadline - mtls_now_ms())) < 0)
			wait_ms = 0;
		n = wait_events(c, pfd, wait_ms);
		if (n < 0 && errno == EINTR) {
			if (mtls_fail_interrupted(c, what) != 0)
				return -1;
			continue;
		}
		if (n < 0)
			return CONN_FAIL_SYS(c, MTLS_ERR_IO, errno, "%s: poll failed: "
			    "%s", what, strerror(errno));
		if (n == 0)
			return mtls_fail_timeout(c, what, timeout_ms);
		/* Ours or a late one meant for another object: the flag says. */
		if (pfd[1].revents & POLLIN)
			mtls_wake_drain(pfd[1].fd);
		else if (pfd[0].revents != 0)
			return 0;
	}
}

int
mtls_wait(struct mtls *c, int events, long deadline, int timeout_ms,
    const char *what)
{
	struct pollfd pfd[2] = { { .fd = c->fd, .events = (short)events } };
	int rc;

	if ((pfd[1].fd = mtls_wake_begin_wait(c)) < 0)
		return CONN_FAIL_SYS(c, errno == ENOMEM ? MTLS_ERR_NOMEM :
		    MTLS_ERR_IO, errno, "%s: cannot wait (no eventfd for mtls_wake): %s%s", what,
		    strerror(errno), mtls_descriptor_hint(errno));
	pfd[1].events = POLLIN;
	rc = wait_loop(c, pfd, deadline, timeout_ms, what);
	mtls_wake_end_wait(c);
	return rc;
}
