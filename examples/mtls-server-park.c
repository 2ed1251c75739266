/*
 * mtls-server-park.c - idle keep-alive connections wait here, in one epoll
 * thread, instead of each holding a thread of its own: when one becomes
 * readable it gets a new thread for its next requests; when it stays idle
 * past the keep-alive timeout it is closed.
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
static struct parked *parked_list;
static int epfd = -1, stop_fd = -1;
static long idle_seconds;
static void (*resume)(struct mtls *conn);
static pthread_t park_thread;

static void
unlink_parked(struct parked *p)
{
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

		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr == NULL)
				stopping = true;
			else
				wake_parked(ev[i].data.ptr);
		}
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
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	idle_seconds = keepalive_seconds;
	resume = resume_fn;
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (stop_fd = eventfd(0, EFD_CLOEXEC)) < 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, stop_fd, &ev) != 0)
		return -1;
	return pthread_create(&park_thread, NULL, park_main, NULL) == 0 ? 0 : -1;
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
	p->deadline = time(NULL) + idle_seconds;
	ev.data.ptr = p;
	pthread_mutex_lock(&lock);
	p->next = parked_list;
	if (parked_list != NULL)
		parked_list->prev = p;
	parked_list = p;
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
