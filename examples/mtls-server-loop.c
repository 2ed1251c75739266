/*
 * mtls-server-loop.c - mtls-server's engine: a fixed set of worker
 * threads (--workers, one per core by default), each an epoll loop over
 * non-blocking connections, as nginx's workers are.  Every stage of a
 * connection (accept, TLS handshake, request, answer, file sending,
 * keep-alive) goes as far as its socket allows and waits in the loop
 * (MTLS_WANT_*), so that no thread waits for a slow or silent client.
 *
 * The workers share the listening sockets, one for each --listen
 * (EPOLLEXCLUSIVE: the kernel wakes one worker for a new connection).  Each keeps a min-heap of its connections'
 * deadlines, which the library tells (mtls_http_ms_left: handshake,
 * header, idle keep-alive and send timeouts), and the list of its
 * connections that wait for a request (idle keep-alive, or a handshake
 * waiting for its client) in the order they began to wait: at
 * --max-connections the oldest of them is closed to make room, as nginx
 * closes idle keep-alive connections when it runs out.  Out of
 * descriptors, a worker leaves the listeners alone for ACCEPT_PAUSE_MS.
 *
 * A stop (loop_stop) closes the listeners and the connections waiting for
 * a request, and lets the answers under way end: a graceful one (SIGQUIT)
 * waits for them as long as they go on (each under its own timeouts), a
 * fast one (SIGTERM) for STOP_GRACE_MS at most.
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

#define ACCEPT_PAUSE_MS 500
#define ACCEPT_BATCH 32         /* accepts per wake-up of the listener */
#define EVENTS 256
#define STOP_GRACE_MS 2000     /* for answers under way at a stop */

struct worker;

/* One connection of a worker. */
struct conn {
	struct mtls *tls;
	struct worker *w;
	int fd;
	uint32_t events;            /* what epoll watches fd for */
	bool fd_watched;            /* fd in the epoll set (not while the
	                               answer waits for the backend) */
	int backend_watched;        /* --proxy: the backend socket in the
	                               epoll set, or -1 */
	struct upstream up;         /* --proxy: its backend connection */
	struct mtls_http_req *req;  /* being answered, or NULL */
	struct reply *reply;        /* its answer (none while idle) */
	size_t heap_at;             /* its place in the deadline heap + 1, 0: out */
	long deadline;              /* monotonic ms */
	struct conn *prev, *next;   /* in the waiting list */
	struct conn *aprev, *anext; /* in the list of all */
	bool waiting;
	bool handshake_ended;       /* and counted (stats_handshake) */
	char addr[64];
};

struct worker {
	pthread_t thread;
	int epfd;
	struct mtls *acceptor;      /* turns accepted sockets into connections */
	unsigned generation;        /* of the config it was made from */
	long accept_paused_until;   /* monotonic ms, 0: watching the listener */
	struct conn **heap;         /* by deadline, nearest first */
	size_t nheap, heap_cap;
	struct conn *oldest, *newest;   /* waiting for a request */
	struct conn *all;
	bool stopping;
};

static const struct options *opts;
static struct worker *workers;
static int nworkers;
static int listen_fds[MAX_LISTEN], nlisten;
static int stop_fd = -1, hurry_fd = -1;
static long stop_deadline;          /* monotonic ms; 0: none (graceful) */
static int running;                 /* workers that have not ended */
static long max_open;
static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mtls_config *current_cfg;
static unsigned cfg_generation;
static bool out_of_descriptors;     /* said once, until an accept succeeds */

/* --------------------------------------------------------- deadlines */

static void
heap_swap(struct worker *w, size_t a, size_t b)
{
	struct conn *t = w->heap[a];

	w->heap[a] = w->heap[b];
	w->heap[b] = t;
	w->heap[a]->heap_at = a + 1;
	w->heap[b]->heap_at = b + 1;
}

static void
heap_up(struct worker *w, size_t i)
{
	while (i > 0 && w->heap[(i - 1) / 2]->deadline > w->heap[i]->deadline) {
		heap_swap(w, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(struct worker *w, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, least = i;

		if (l < w->nheap && w->heap[l]->deadline < w->heap[least]->deadline)
			least = l;
		if (l + 1 < w->nheap &&
		    w->heap[l + 1]->deadline < w->heap[least]->deadline)
			least = l + 1;
		if (least == i)
			return;
		heap_swap(w, i, least);
		i = least;
	}
}

static void
heap_remove(struct worker *w, struct conn *k)
{
	size_t i = k->heap_at - 1;

	if (k->heap_at == 0)
		return;
	k->heap_at = 0;
	if (i != --w->nheap) {
		w->heap[i] = w->heap[w->nheap];
		w->heap[i]->heap_at = i + 1;
		heap_up(w, i);
		heap_down(w, i);
	}
}

/* k's deadline, left ms from now; none (-1) takes it out. */
static int
set_deadline(struct worker *w, struct conn *k, long left)
{
	if (left < 0) {
		heap_remove(w, k);
		return 0;
	}
	k->deadline = monotonic_ms() + left;
	if (k->heap_at != 0) {
		heap_up(w, k->heap_at - 1);
		heap_down(w, k->heap_at - 1);
		return 0;
	}
	if (w->nheap == w->heap_cap) {
		size_t cap = w->heap_cap ? w->heap_cap * 2 : 256;
		struct conn **grown = realloc(w->heap, cap * sizeof(*grown));

		if (grown == NULL)
			return -1;
		w->heap = grown;
		w->heap_cap = cap;
	}
	w->heap[w->nheap] = k;
	k->heap_at = ++w->nheap;
	heap_up(w, w->nheap - 1);
	return 0;
}

/* ------------------------------------------ connections waiting to read */

static void
unlist_waiting(struct worker *w, struct conn *k)
{
	if (!k->waiting)
		return;
	*(k->prev != NULL ? &k->prev->next : &w->oldest) = k->next;
	*(k->next != NULL ? &k->next->prev : &w->newest) = k->prev;
	k->prev = k->next = NULL;
	k->waiting = false;
}

static void
list_waiting(struct worker *w, struct conn *k)
{
	if (k->waiting)
		return;
	k->prev = w->newest;
	k->next = NULL;
	*(w->newest != NULL ? &w->newest->next : &w->oldest) = k;
	w->newest = k;
	k->waiting = true;
}

/* ------------------------------------------------------ a connection */

/* k's request, answered (or not: the connection ends), logged and freed. */
static void
conn_answered(struct conn *k)
{
	if (k->reply != NULL) {
		reply_end(k->tls, k->addr, k->req, k->reply);
		free(k->reply);
		k->reply = NULL;
	}
	mtls_http_req_free(k->req);
	k->req = NULL;
}

static void
conn_close(struct worker *w, struct conn *k)
{
	heap_remove(w, k);
	unlist_waiting(w, k);
	*(k->aprev != NULL ? &k->aprev->anext : &w->all) = k->anext;
	if (k->anext != NULL)
		k->anext->aprev = k->aprev;
	if (k->fd_watched)
		(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, k->fd, NULL);
	if (k->req != NULL)
		conn_answered(k);
	upstream_close(&k->up);     /* its socket leaves the epoll set */
	close_connection(k->tls);   /* best effort close_notify, then the fd */
	free(k);
}

/* fd watched for events in w's epoll set, added or changed. */
static int
watch(struct worker *w, struct conn *k, int fd, uint32_t events, bool added)
{
	struct epoll_event ev = { .events = events, .data.ptr = k };

	if (added && epoll_ctl(w->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		return 0;
	/* A backend socket closed and made anew may have the same number,
	 * and has left the set with the old one. */
	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* k waits for its backend's socket: the client's leaves the set (its
 * events would wake the loop for nothing). */
static int
wait_backend(struct worker *w, struct conn *k, uint32_t events)
{
	if (k->fd_watched && epoll_ctl(w->epfd, EPOLL_CTL_DEL, k->fd, NULL) != 0)
		return -1;
	k->fd_watched = false;
	if (watch(w, k, k->up.fd, events, k->backend_watched == k->up.fd) != 0)
		return -1;
	k->backend_watched = k->up.fd;
	return set_deadline(w, k, relay_ms_left(k->reply->job));
}

/* Waits in the loop for what rc (MTLS_WANT_*) asks, of the client or, for
 * an answer relayed from the backend, of the backend. */
static int
conn_wait(struct worker *w, struct conn *k, int rc)
{
	uint32_t events = rc == MTLS_WANT_POLLOUT ? EPOLLOUT : EPOLLIN;

	if (k->reply != NULL && k->reply->job != NULL &&
	    k->reply->job->wait_fd >= 0)
		return wait_backend(w, k, events);
	if (k->backend_watched >= 0 && k->backend_watched == k->up.fd)
		(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, k->up.fd, NULL);
	k->backend_watched = -1;
	if (k->req == NULL && events == EPOLLIN)
		list_waiting(w, k);
	if ((events != k->events || !k->fd_watched) &&
	    watch(w, k, k->fd, events, k->fd_watched) != 0)
		return -1;
	k->events = events;
	k->fd_watched = true;
	return set_deadline(w, k, mtls_http_ms_left(k->tls));
}

/* k's handshake, as far as it goes, counted for /_metrics when it ends;
 * returns as mtls_handshake. */
static int
conn_handshake(struct conn *k)
{
	int rc;

	if (k->handshake_ended)
		return 0;
	rc = mtls_handshake(k->tls);
	if (rc == MTLS_WANT_POLLIN || rc == MTLS_WANT_POLLOUT)
		return rc;
	k->handshake_ended = true;
	stats_handshake(rc == 0 ? MTLS_OK : mtls_error_code(k->tls));
	/* A load balancer's PROXY header has now named the client. */
	remote_addr(k->tls, k->addr, sizeof(k->addr));
	return rc;
}

/* The next request on k, or the rest of one: 1 when one is to be
 * answered, else as mtls_http_read_request. */
static int
conn_read(struct conn *k)
{
	int rc = conn_handshake(k);

	if (rc == 0)
		rc = mtls_http_read_request(k->tls, 0, &k->req);
	if (rc != 1)
		return rc;
	unlist_waiting(k->w, k);
	if ((k->reply = malloc(sizeof(*k->reply))) == NULL ||
	    reply_prepare(opts, k->tls, k->addr, &k->up, k->req, k->reply) != 0)
		return -1;
	/* Stopping, the client is told that this answer is the last. */
	if (k->w->stopping)
		reply_last(k->reply);
	return 1;
}

/* Drives k as far as its socket allows: requests read and answered in
 * turn, until it must wait or is done. */
static void
conn_drive(struct worker *w, struct conn *k)
{
	int rc;

	for (;;) {
		if (k->req == NULL)
			rc = conn_read(k);
		else if ((rc = reply_send(k->req, k->reply)) == 0) {
			conn_answered(k);
			continue;
		}
		if (rc == 1)
			continue;
		if (rc == MTLS_WANT_POLLIN || rc == MTLS_WANT_POLLOUT) {
			/* Stopping, one that waits for a request closes. */
			if ((k->req != NULL || !w->stopping) &&
			    conn_wait(w, k, rc) == 0)
				return;
		} else if (rc != 0) {
			log_failure(k->tls, k->addr);
		}
		conn_close(w, k);
		return;
	}
}

/* ---------------------------------------------------------- accepting */

/* Every listener in w's epoll set, each event carrying the place of its
 * descriptor in listen_fds. */
static int
watch_listeners(struct worker *w)
{
	for (int i = 0; i < nlisten; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE,
		    .data.ptr = &listen_fds[i] };

		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, listen_fds[i], &ev) != 0 &&
		    errno != EEXIST)
			return -1;
	}
	return 0;
}

static void
unwatch_listeners(struct worker *w)
{
	for (int i = 0; i < nlisten; i++)
		(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, listen_fds[i], NULL);
}

/* The listener's descriptor when ptr is an event of one, else -1. */
static int
listener_of(const void *ptr)
{
	uintptr_t p = (uintptr_t)ptr, first = (uintptr_t)listen_fds;

	return p >= first && p < (uintptr_t)(listen_fds + nlisten) ?
	    *(const int *)ptr : -1;
}

/* Out of descriptors (err EMFILE or ENFILE): this worker leaves the
 * listener alone for a while; the first to find the limit says so. */
static void
pause_accepting(struct worker *w, const char *what, int err)
{
	struct rlimit rl = { 0, 0 };

	if (w->accept_paused_until == 0) {
		unwatch_listeners(w);
		w->accept_paused_until = monotonic_ms() + ACCEPT_PAUSE_MS;
	}
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
	w->accept_paused_until = watch_listeners(w) == 0 ? 0 :
	    monotonic_ms() + ACCEPT_PAUSE_MS;
}

/* The acceptor, made anew from current_cfg after a reload. */
static int
refresh_acceptor(struct worker *w)
{
	struct mtls *fresh;

	if (w->acceptor != NULL && w->generation ==
	    __atomic_load_n(&cfg_generation, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&cfg_lock);
	if ((fresh = mtls_server_new(current_cfg)) != NULL) {
		mtls_free(w->acceptor);
		w->acceptor = fresh;
		w->generation = cfg_generation;
	}
	pthread_mutex_unlock(&cfg_lock);
	return fresh != NULL ? 0 : -1;
}

/* At the limit, the connection that has waited longest for a request
 * makes room; false when every connection of this worker is busy. */
static bool
make_room(struct worker *w)
{
	if (w->oldest == NULL)
		return false;
	conn_close(w, w->oldest);
	return true;
}

/* A new connection for the accepted non-blocking socket fd, or NULL. */
static struct conn *
conn_new(struct worker *w, int fd)
{
	struct conn *k = calloc(1, sizeof(*k));
	int err;

	if (k != NULL && refresh_acceptor(w) == 0 &&
	    mtls_accept_socket(w->acceptor, &k->tls, fd) == 0) {
		k->w = w;
		k->fd = fd;
		k->up = opts->upstream;
		k->backend_watched = -1;
		k->anext = w->all;
		if (w->all != NULL)
			w->all->aprev = k;
		w->all = k;
		return k;
	}
	err = errno;
	free(k);
	close(fd);
	if (err == EMFILE || err == ENFILE)
		pause_accepting(w, "a connection's eventfd", err);
	else
		fprintf(stderr, "mtls-server: cannot accept: %s\n",
		    w->acceptor != NULL && mtls_error(w->acceptor) != NULL ?
		    mtls_error(w->acceptor) : strerror(err));
	return NULL;
}

/* One connection from listener lfd; false when there is none to take. */
static bool
accept_one(struct worker *w, int lfd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	int err = errno;
	struct conn *k;

	if (fd < 0 && (err == EMFILE || err == ENFILE))
		pause_accepting(w, "accept4", err);
	else if (fd < 0 && (err == ENOBUFS || err == ENOMEM))
		fprintf(stderr, "mtls-server: cannot accept: %s\n", strerror(err));
	if (fd < 0 || (k = conn_new(w, fd)) == NULL)
		return false;       /* EAGAIN: another worker took it */
	if (__atomic_exchange_n(&out_of_descriptors, false, __ATOMIC_ACQ_REL))
		fprintf(stderr, "mtls-server: descriptors free again: accepting "
		    "connections\n");
	remote_addr(k->tls, k->addr, sizeof(k->addr));
	if (connections_open(1) > max_open && !make_room(w)) {
		fprintf(stderr, "mtls-server: over %ld connections, all busy: one "
		    "dropped\n", max_open);
		conn_close(w, k);
		return true;
	}
	ev.data.ptr = k;
	k->events = EPOLLIN;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		conn_close(w, k);
		return true;
	}
	k->fd_watched = true;
	conn_drive(w, k);
	return true;
}

/* ------------------------------------------------------------ the loop */

/* Until the nearest deadline, the end of an accept pause, or of the
 * stop's grace. */
static int
wait_ms(const struct worker *w)
{
	long deadline = __atomic_load_n(&stop_deadline, __ATOMIC_ACQUIRE);
	long until = w->stopping && deadline != 0 ? deadline : -1;
	long now = monotonic_ms();

	if (w->nheap > 0 && (until < 0 || w->heap[0]->deadline < until))
		until = w->heap[0]->deadline;
	if (w->accept_paused_until != 0 &&
	    (until < 0 || w->accept_paused_until < until))
		until = w->accept_paused_until;
	if (until < 0)
		return -1;
	return until > now ? (int)(until - now) : 0;
}

/* Connections whose deadline has passed: the call made again ends the
 * wait as the timeout says (closed, 408, or an error). */
static void
expire(struct worker *w)
{
	long now = monotonic_ms();

	while (w->nheap > 0 && w->heap[0]->deadline <= now) {
		struct conn *k = w->heap[0];

		heap_remove(w, k);
		conn_drive(w, k);
	}
}

/* The stop: no more accepts, connections waiting for a request close,
 * answers under way go on (until stop_deadline, if it is set). */
static void
begin_stop(struct worker *w)
{
	w->stopping = true;
	if (w->accept_paused_until == 0)
		unwatch_listeners(w);
	w->accept_paused_until = 0;
	(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, stop_fd, NULL);
	while (w->oldest != NULL)
		conn_close(w, w->oldest);
}

/* Stopping, whether the answers under way have had their time. */
static bool
past_deadline(void)
{
	long deadline = __atomic_load_n(&stop_deadline, __ATOMIC_ACQUIRE);

	return deadline != 0 && monotonic_ms() >= deadline;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[EVENTS];

	while (!w->stopping || (w->all != NULL && !past_deadline())) {
		int n = epoll_wait(w->epfd, evs, EVENTS, wait_ms(w));

		for (int i = 0; i < n; i++) {
			void *ptr = evs[i].data.ptr;
			int lfd = listener_of(ptr);

			if (ptr == &stop_fd)
				begin_stop(w);
			else if (ptr == &hurry_fd)  /* the deadline is seen */
				(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, hurry_fd, NULL);
			else if (lfd >= 0)
				for (int a = 0; !w->stopping && a < ACCEPT_BATCH &&
				    accept_one(w, lfd); a++)
					;
			else
				conn_drive(w, ptr);
		}
		expire(w);
		if (!w->stopping)
			resume_accepting(w);
	}
	__atomic_sub_fetch(&running, 1, __ATOMIC_ACQ_REL);
	return NULL;
}

static int
worker_init(struct worker *w)
{
	struct epoll_event stop = { .events = EPOLLIN, .data.ptr = &stop_fd };
	struct epoll_event hurry = { .events = EPOLLIN, .data.ptr = &hurry_fd };

	if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -1;
	if (watch_listeners(w) != 0 ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, stop_fd, &stop) != 0 ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, hurry_fd, &hurry) != 0)
		return -1;
	__atomic_add_fetch(&running, 1, __ATOMIC_ACQ_REL);
	if (pthread_create(&w->thread, NULL, worker_main, w) == 0)
		return 0;
	__atomic_sub_fetch(&running, 1, __ATOMIC_ACQ_REL);
	return -1;
}

int
loop_start(const int *fds, int nfds, struct mtls_config *cfg, int count,
    const struct options *o)
{
	opts = o;
	nlisten = nfds;
	memcpy(listen_fds, fds, (size_t)nfds * sizeof(*fds));
	max_open = o->max_connections;
	loop_set_config(cfg);
	if ((stop_fd = eventfd(0, EFD_CLOEXEC)) < 0 ||
	    (hurry_fd = eventfd(0, EFD_CLOEXEC)) < 0 ||
	    (workers = calloc((size_t)count, sizeof(*workers))) == NULL)
		return -1;
	for (nworkers = 0; nworkers < count; nworkers++)
		if (worker_init(&workers[nworkers]) != 0)
			return -1;
	return 0;
}

void
loop_set_config(struct mtls_config *cfg)
{
	pthread_mutex_lock(&cfg_lock);
	mtls_config_ref(cfg);
	mtls_config_free(current_cfg);
	current_cfg = cfg;
	__atomic_add_fetch(&cfg_generation, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&cfg_lock);
}

/* Every connection of w closed: an answer still under way is cut. */
static void
worker_end(struct worker *w)
{
	while (w->all != NULL)
		conn_close(w, w->all);
	free(w->heap);
	mtls_free(w->acceptor);
	close(w->epfd);
}

void
loop_stop(bool graceful)
{
	static bool told;
	uint64_t one = 1;

	if (!graceful && __atomic_load_n(&stop_deadline, __ATOMIC_ACQUIRE) == 0)
		__atomic_store_n(&stop_deadline, monotonic_ms() + STOP_GRACE_MS,
		    __ATOMIC_RELEASE);
	if (told) {
		/* A fast stop after a graceful one: the workers see the
		 * deadline at their next wake-up, which this makes now. */
		if (!graceful)
			(void)!write(hurry_fd, &one, sizeof(one));
		return;
	}
	told = true;
	(void)!write(stop_fd, &one, sizeof(one));
	/* No more connections, at once: the listening sockets leave the
	 * LISTEN state (a client is refused, not left in the backlog), and
	 * their descriptors stay valid until loop_end. */
	for (int i = 0; i < nlisten; i++)
		(void)shutdown(listen_fds[i], SHUT_RDWR);
}

bool
loop_finished(void)
{
	return __atomic_load_n(&running, __ATOMIC_ACQUIRE) == 0;
}

void
loop_end(void)
{
	for (int i = 0; i < nworkers; i++) {
		pthread_join(workers[i].thread, NULL);
		worker_end(&workers[i]);
	}
	free(workers);
	close(stop_fd);
	close(hurry_fd);
	mtls_config_free(current_cfg);
}
