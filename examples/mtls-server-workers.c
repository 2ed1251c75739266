/*
 * mtls-server-workers.c - the threads that serve connections, one
 * connection at a time each, so that no client can hold up another.
 *
 * An idle worker waits on the listening socket itself, as nginx's workers
 * do (epoll with EPOLLEXCLUSIVE: the kernel wakes one worker for a new
 * connection), and on the queue of parked connections that turned
 * readable.  It accepts the connection and serves it in its own thread:
 * no hand-over from an accepting thread, so a new connection costs one
 * wake-up.  One worker is always idle: the one that takes the last idle
 * place starts another.  A worker idle for IDLE_WORKER_SECONDS exits,
 * unless it is the last idle one.  Workers are joined, not detached: a
 * worker that ends puts its thread on the list of ended ones, which the
 * next start of a worker and workers_stop join, so that no thread is
 * still tearing down (OpenSSL frees its per-thread state at thread exit)
 * when main returns.
 *
 * Out of descriptors, a worker stops watching the listener for
 * ACCEPT_PAUSE_MS, as nginx disables its accept events for 500 ms, and
 * serves parked connections meanwhile: no spinning on a listener that
 * stays readable, one line on standard error when it starts and one when
 * descriptors free up again.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "mtls-server.h"

#define THREAD_STACK (256 * 1024)
#define IDLE_WORKER_SECONDS 10
#define ACCEPT_PAUSE_MS 500

/* What an epoll event of a worker stands for. */
enum source { FROM_LISTENER = 1, FROM_QUEUE, FROM_STOP };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_gone = PTHREAD_COND_INITIALIZER;
/* Connections waiting for a worker: parked ones that turned readable. */
static struct mtls **queued;
static size_t nqueued, queued_cap;
static int idle_workers, live_workers;
/* Workers whose thread has ended or is ending, not yet joined. */
static pthread_t *ended;
static size_t nended, ended_cap;
static struct mtls_config *current_cfg;   /* what new connections get */
static unsigned cfg_generation;
static bool stopping;
static bool out_of_descriptors;   /* said once, until an accept succeeds */
static int listen_fd = -1, queue_fd = -1, stop_fd = -1;
static long max_open;         /* --max-connections */
static pthread_attr_t attr;
static void (*serve)(struct mtls *conn);

/* A worker's own server object, which turns its accepted sockets into
 * connections (and holds the error when that fails). */
struct worker {
	int epfd;
	struct mtls *acceptor;
	unsigned generation;
	long accept_paused_until;   /* monotonic ms, 0: watching the listener */
};

static int start_worker(void);
static int watch(int epfd, int fd, enum source what, uint32_t events);

/* Out of descriptors (err EMFILE or ENFILE): this worker leaves the
 * listener alone for a while; the first to find the limit says so. */
static void
pause_accepting(struct worker *w, const char *what, int err)
{
	struct rlimit rl = { 0, 0 };

	if (w->accept_paused_until == 0 &&
	    epoll_ctl(w->epfd, EPOLL_CTL_DEL, listen_fd, NULL) == 0)
		w->accept_paused_until = monotonic_ms() + ACCEPT_PAUSE_MS;
	if (__atomic_exchange_n(&out_of_descriptors, true, __ATOMIC_ACQ_REL))
		return;
	getrlimit(RLIMIT_NOFILE, &rl);
	fprintf(stderr, "mtls-server: cannot accept: the %s descriptor limit "
	    "is reached (%s: %s; ulimit -n is %llu): accepting again every %d "
	    "ms until descriptors free up\n", err == ENFILE ? "system's" :
	    "process's", what, strerror(err), (unsigned long long)rl.rlim_cur,
	    ACCEPT_PAUSE_MS);
}

/* The listener again, once the pause is over. */
static void
resume_accepting(struct worker *w)
{
	if (w->accept_paused_until == 0 || monotonic_ms() < w->accept_paused_until)
		return;
	if (watch(w->epfd, listen_fd, FROM_LISTENER,
	    EPOLLIN | EPOLLEXCLUSIVE) == 0)
		w->accept_paused_until = 0;
	else
		w->accept_paused_until = monotonic_ms() + ACCEPT_PAUSE_MS;
}

/* How long the next epoll_wait may last: until idle_until, or the end of
 * an accept pause. */
static int
wait_ms(const struct worker *w, long idle_until)
{
	long until = idle_until, left;

	if (w->accept_paused_until != 0 && w->accept_paused_until < until)
		until = w->accept_paused_until;
	left = until - monotonic_ms();
	return left > 0 ? (int)left : 0;
}

/* eventfd counters: a write fails only past 2^64 - 2, a read of a
 * non-zero counter never. */
static void
count_up(int fd)
{
	uint64_t one = 1;
	ssize_t n = write(fd, &one, sizeof(one));

	(void)n;
}

static void
count_down(int fd)
{
	uint64_t one;
	ssize_t n = read(fd, &one, sizeof(one));

	(void)n;
}

/* The acceptor, made anew from current_cfg after a reload. */
static int
refresh_acceptor(struct worker *w)
{
	struct mtls *fresh;

	if (w->acceptor != NULL && w->generation ==
	    __atomic_load_n(&cfg_generation, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&lock);
	if ((fresh = mtls_server_new(current_cfg)) != NULL) {
		mtls_free(w->acceptor);
		w->acceptor = fresh;
		w->generation = cfg_generation;
	}
	pthread_mutex_unlock(&lock);
	return fresh != NULL ? 0 : -1;
}

/* A connection for a socket accepted from the listener, or NULL. */
static struct mtls *
accept_one(struct worker *w)
{
	struct mtls *conn;
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC), err = errno;

	if (fd < 0 && (err == EMFILE || err == ENFILE))
		pause_accepting(w, "accept4", err);
	else if (fd < 0 && (err == ENOBUFS || err == ENOMEM))
		fprintf(stderr, "mtls-server: cannot accept: %s\n", strerror(err));
	if (fd < 0)
		return NULL;        /* EAGAIN: another worker took it */
	/* Each object needs an eventfd: the limit may be hit here too. */
	if (refresh_acceptor(w) != 0 ||
	    mtls_accept_socket(w->acceptor, &conn, fd) != 0) {
		err = errno;
		close(fd);
		if (err == EMFILE || err == ENFILE)
			pause_accepting(w, "a connection's eventfd", err);
		else
			fprintf(stderr, "mtls-server: cannot accept: %s\n",
			    w->acceptor != NULL && mtls_error(w->acceptor) != NULL ?
			    mtls_error(w->acceptor) : strerror(err));
		return NULL;
	}
	if (__atomic_exchange_n(&out_of_descriptors, false, __ATOMIC_ACQ_REL))
		fprintf(stderr, "mtls-server: descriptors free again: accepting "
		    "connections\n");
	/* At the limit, the oldest idle connection makes room, as nginx's
	 * do; the new one is dropped only when every connection is busy. */
	if (connections_open(1) > max_open && !park_reclaim()) {
		fprintf(stderr, "mtls-server: over %ld connections, all busy: one "
		    "dropped\n", max_open);
		close_connection(conn);
		return NULL;
	}
	return conn;
}

/* The oldest connection of the queue, or NULL when another worker took
 * it.  queue_fd counts the queue (EFD_SEMAPHORE): one read per taken. */
static struct mtls *
take_queued(void)
{
	struct mtls *conn = NULL;

	pthread_mutex_lock(&lock);
	if (nqueued > 0) {
		conn = queued[0];
		memmove(queued, queued + 1, --nqueued * sizeof(*queued));
		count_down(queue_fd);
	}
	pthread_mutex_unlock(&lock);
	return conn;
}

/* A worker is no longer live; the caller holds the lock. */
static void
count_gone(void)
{
	if (--live_workers == 0)
		pthread_cond_broadcast(&all_gone);
}

/* A worker that could not be started. */
static void
worker_gone(void)
{
	pthread_mutex_lock(&lock);
	idle_workers--;
	count_gone();
	pthread_mutex_unlock(&lock);
}

/* The calling worker, at the end of its thread: on the list to be joined,
 * then out of the count (which workers_stop waits for).  If the list
 * cannot grow, the thread detaches itself instead. */
static void
worker_ended(void)
{
	pthread_mutex_lock(&lock);
	if (nended == ended_cap) {
		size_t cap = ended_cap ? ended_cap * 2 : 16;
		pthread_t *grown = realloc(ended, cap * sizeof(*ended));

		if (grown != NULL) {
			ended = grown;
			ended_cap = cap;
		}
	}
	if (nended < ended_cap)
		ended[nended++] = pthread_self();
	else
		pthread_detach(pthread_self());
	count_gone();
	pthread_mutex_unlock(&lock);
}

/* Joins the workers that have ended: each has left its loop, so a join
 * waits only for its thread's teardown. */
static void
join_ended(void)
{
	pthread_t t;

	for (;;) {
		pthread_mutex_lock(&lock);
		if (nended == 0) {
			pthread_mutex_unlock(&lock);
			return;
		}
		t = ended[--nended];
		pthread_mutex_unlock(&lock);
		pthread_join(t, NULL);
	}
}

/* Whether this idle worker exits (and leaves the idle ones): when
 * stopping, or when it is not the last idle one. */
static bool
retire(void)
{
	bool gone;

	pthread_mutex_lock(&lock);
	if ((gone = stopping || idle_workers > 1))
		idle_workers--;
	pthread_mutex_unlock(&lock);
	return gone;
}

/*
 * The next connection for this worker, or NULL when it is to exit.  An
 * event that woke this worker is its to handle: when one wait returns
 * two, the second connection goes to the queue, which wakes another
 * worker for it.
 */
static struct mtls *
next_connection(struct worker *w)
{
	long idle_until = monotonic_ms() + IDLE_WORKER_SECONDS * 1000;
	struct epoll_event ev[3];
	struct mtls *conn = NULL;

	while (conn == NULL) {
		int n = epoll_wait(w->epfd, ev, 3, wait_ms(w, idle_until));

		resume_accepting(w);
		if (n < 0)
			continue;
		if ((n == 0 && monotonic_ms() >= idle_until) ||
		    __atomic_load_n(&stopping, __ATOMIC_ACQUIRE)) {
			if (retire())
				return NULL;
			idle_until = monotonic_ms() + IDLE_WORKER_SECONDS * 1000;
			continue;
		}
		for (int i = 0; i < n; i++) {
			struct mtls *c = ev[i].data.u32 == FROM_QUEUE ?
			    take_queued() : ev[i].data.u32 == FROM_LISTENER ?
			    accept_one(w) : NULL;

			if (c != NULL && conn != NULL)
				workers_resume(c);
			else if (c != NULL)
				conn = c;
		}
	}
	return conn;
}

/* This worker leaves the idle ones; the last to leave starts another. */
static void
become_busy(void)
{
	bool none_idle;

	pthread_mutex_lock(&lock);
	none_idle = --idle_workers == 0 && !stopping;
	pthread_mutex_unlock(&lock);
	if (none_idle)
		(void)start_worker();   /* on failure: said, and the others go on */
}

static void
become_idle(void)
{
	pthread_mutex_lock(&lock);
	idle_workers++;
	pthread_mutex_unlock(&lock);
}

static void *
worker_main(void *arg)
{
	struct worker w = { .epfd = (int)(intptr_t)arg };
	struct mtls *conn;

	while ((conn = next_connection(&w)) != NULL) {
		become_busy();
		serve(conn);
		become_idle();
	}
	close(w.epfd);
	mtls_free(w.acceptor);
	worker_ended();
	return NULL;
}

static int
watch(int epfd, int fd, enum source what, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u32 = what };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* What a new worker waits on: the listener and the queue, each waking
 * one idle worker, and the stop signal, which wakes them all. */
static int
worker_epoll(void)
{
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	if (epfd >= 0 && (watch(epfd, listen_fd, FROM_LISTENER,
	    EPOLLIN | EPOLLEXCLUSIVE) != 0 || watch(epfd, queue_fd, FROM_QUEUE,
	    EPOLLIN | EPOLLEXCLUSIVE) != 0 ||
	    watch(epfd, stop_fd, FROM_STOP, EPOLLIN) != 0)) {
		close(epfd);
		return -1;
	}
	return epfd;
}

/* One more idle worker, counted before it runs.  Returns 0, or -1 after
 * saying why. */
static int
start_worker(void)
{
	pthread_t t;
	int epfd, err;

	join_ended();
	pthread_mutex_lock(&lock);
	idle_workers++;
	live_workers++;
	pthread_mutex_unlock(&lock);
	epfd = worker_epoll();
	err = epfd < 0 ? errno : pthread_create(&t, &attr, worker_main,
	    (void *)(intptr_t)epfd);
	if (err != 0) {
		if (epfd >= 0)
			close(epfd);
		fprintf(stderr, "mtls-server: cannot start a worker: %s\n",
		    strerror(err));
		worker_gone();
		errno = err;
		return -1;
	}
	return 0;
}

int
workers_start(struct mtls *listener, struct mtls_config *cfg, long max_conns,
    void (*serve_fn)(struct mtls *conn))
{
	serve = serve_fn;
	max_open = max_conns;
	listen_fd = mtls_fd(listener);
	current_cfg = mtls_config_ref(cfg);
	if ((queue_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK |
	    EFD_SEMAPHORE)) < 0 ||
	    (stop_fd = eventfd(0, EFD_CLOEXEC)) < 0)
		return -1;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	return start_worker();
}

void
workers_set_config(struct mtls_config *cfg)
{
	struct mtls_config *old;

	pthread_mutex_lock(&lock);
	old = current_cfg;
	current_cfg = mtls_config_ref(cfg);
	__atomic_add_fetch(&cfg_generation, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&lock);
	mtls_config_free(old);
}

void
workers_resume(struct mtls *conn)
{
	pthread_mutex_lock(&lock);
	if (nqueued == queued_cap) {
		size_t cap = queued_cap ? queued_cap * 2 : 64;
		struct mtls **grown = realloc(queued, cap * sizeof(*queued));

		if (grown == NULL) {
			pthread_mutex_unlock(&lock);
			close_connection(conn);
			return;
		}
		queued = grown;
		queued_cap = cap;
	}
	queued[nqueued++] = conn;
	count_up(queue_fd);         /* wakes one idle worker */
	pthread_mutex_unlock(&lock);
}

/* Idle workers exit at once, busy ones after their connection; waits up
 * to wait_ms for all of them.  Returns 0 when they are all gone. */
int
workers_stop(int wait_ms)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&lock);
	__atomic_store_n(&stopping, true, __ATOMIC_RELEASE);
	count_up(stop_fd);          /* wakes them all */
	while (live_workers > 0 && rc == 0)
		rc = pthread_cond_timedwait(&all_gone, &lock, &until);
	rc = live_workers > 0 ? -1 : 0;
	pthread_mutex_unlock(&lock);
	if (rc == 0) {
		join_ended();
		free(ended);
		while (nqueued > 0)
			close_connection(queued[--nqueued]);
		free(queued);
		mtls_config_free(current_cfg);
	}
	return rc;
}
