/*
 * mtls-server-park.c - idle keep-alive connections, and connections whose
 * handshake waits for the client, wait here, in one epoll thread, instead
 * of each holding a thread of its own: when one becomes readable it gets a
 * worker again; when it stays idle past the keep-alive timeout, or its
 * handshake past its deadline, it is closed.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "mtls-server.h"

struct parked {
	struct mtls *conn;
	time_t deadline;            /* closed when idle past it */
	struct parked *prev, *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct parked *parked_list;        /* newest first */
static long nparked, reclaims_owed;
static int epfd = -1, stop_fd = -1, reclaim_fd = -1;
/* The epoll data of stop_fd and reclaim_fd (parked entries point to
 * themselves). */
static char stop_mark, reclaim_mark;
static long idle_seconds;
static void (*resume)(struct mtls *conn);
static pthread_t park_thread;

static void
unlink_parked(struct parked *p)
{
	nparked--;
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		parked_list = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
}

/* Closes the connections that have been idle too long (all of them when
 * all is set). */
static void
expire(time_t now, bool all)
{
	struct parked *p, *next, *done = NULL;

	pthread_mutex_lock(&lock);
	for (p = parked_list; p != NULL; p = next) {
		next = p->next;
		if (p->deadline > now && !all)
			continue;
		epoll_ctl(epfd, EPOLL_CTL_DEL, mtls_fd(p->conn), NULL);
		unlink_parked(p);
		p->next = done;
		done = p;
	}
	pthread_mutex_unlock(&lock);
	for (p = done; p != NULL; p = next) {
		next = p->next;
		close_connection(p->conn);
		free(p);
	}
}

/* Closes the oldest parked connections that park_reclaim promised, idle
 * keep-alive ones and handshakes waiting alike: room for new clients. */
static void
reclaim_oldest(void)
{
	struct parked *p, *oldest = NULL, *done = NULL;
	uint64_t count;

	if (read(reclaim_fd, &count, sizeof(count)) != sizeof(count))
		return;
	pthread_mutex_lock(&lock);
	for (p = parked_list; p != NULL; p = p->next)
		oldest = p;
	for (; reclaims_owed > 0 && oldest != NULL; reclaims_owed--) {
		p = oldest;
		oldest = p->prev;
		epoll_ctl(epfd, EPOLL_CTL_DEL, mtls_fd(p->conn), NULL);
		unlink_parked(p);
		p->next = done;
		done = p;
	}
	reclaims_owed = 0;
	pthread_mutex_unlock(&lock);
	for (p = done; p != NULL; p = oldest) {
		oldest = p->next;
		close_connection(p->conn);
		free(p);
	}
}

bool
park_reclaim(void)
{
	uint64_t one = 1;
	bool promised;

	pthread_mutex_lock(&lock);
	if ((promised = nparked > reclaims_owed)) {
		reclaims_owed++;
		if (write(reclaim_fd, &one, sizeof(one)) != sizeof(one))
			reclaims_owed--, promised = false;
	}
	pthread_mutex_unlock(&lock);
	return promised;
}

/* The connection of a readable event goes on in a new thread. */
static void
wake_parked(struct parked *p)
{
	struct mtls *conn = p->conn;

	pthread_mutex_lock(&lock);
	epoll_ctl(epfd, EPOLL_CTL_DEL, mtls_fd(conn), NULL);
	unlink_parked(p);
	pthread_mutex_unlock(&lock);
	free(p);
	resume(conn);
}

/* The only thread that frees parked entries, so an event never points to
 * a freed one. */
static void *
park_main(void *arg)
{
	struct epoll_event ev[64];
	time_t last_sweep = time(NULL);
	bool stopping = false;

	(void)arg;
	while (!stopping) {
		int n = epoll_wait(epfd, ev, 64, 1000);
		bool reclaim = false;

		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr == &stop_mark)
				stopping = true;
			else if (ev[i].data.ptr == &reclaim_mark)
				reclaim = true;
			else
				wake_parked(ev[i].data.ptr);
		}
		/* After the batch: no event of it points to what this frees. */
		if (reclaim)
			reclaim_oldest();
		if (time(NULL) != last_sweep) {
			last_sweep = time(NULL);
			expire(last_sweep, false);
		}
	}
	expire(0, true);
	return NULL;
}

int
park_start(long keepalive_seconds, void (*resume_fn)(struct mtls *))
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &stop_mark };
	struct epoll_event rev = { .events = EPOLLIN, .data.ptr = &reclaim_mark };

	idle_seconds = keepalive_seconds;
	resume = resume_fn;
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (stop_fd = eventfd(0, EFD_CLOEXEC)) < 0 ||
	    (reclaim_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, stop_fd, &ev) != 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, reclaim_fd, &rev) != 0)
		return -1;
	return pthread_create(&park_thread, NULL, park_main, NULL) == 0 ? 0 : -1;
}

/* When a parked connection is closed: a handshake still waiting for the
 * client keeps its own deadline, counted from accept (a byte that
 * arrives does not extend it); an idle keep-alive one, the keep-alive
 * timeout from now. */
static time_t
park_deadline(struct mtls *conn)
{
	long left = mtls_handshake_ms_left(conn);

	if (left >= 0)
		return time(NULL) + (left + 999) / 1000;
	return time(NULL) + idle_seconds;
}

void
park(struct mtls *conn)
{
	struct parked *p = calloc(1, sizeof(*p));
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT };

	if (p == NULL) {
		close_connection(conn);
		return;
	}
	p->conn = conn;
	p->deadline = park_deadline(conn);
	ev.data.ptr = p;
	pthread_mutex_lock(&lock);
	p->next = parked_list;
	if (parked_list != NULL)
		parked_list->prev = p;
	parked_list = p;
	nparked++;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, mtls_fd(conn), &ev) != 0) {
		unlink_parked(p);
		pthread_mutex_unlock(&lock);
		free(p);
		close_connection(conn);
		return;
	}
	pthread_mutex_unlock(&lock);
}

/* At exit: every parked connection is closed. */
void
park_stop(void)
{
	uint64_t one = 1;

	if (write(stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(park_thread, NULL);
}
