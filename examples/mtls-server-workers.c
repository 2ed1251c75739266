/*
 * mtls-server-workers.c - the threads that serve busy connections: one
 * per connection, so that no client can hold up another, but a thread
 * that is done waits a while for the next connection instead of exiting,
 * so that a new connection seldom pays for a new thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtls-server.h"

#define THREAD_STACK (256 * 1024)
#define IDLE_WORKER_SECONDS 10

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_ready = PTHREAD_COND_INITIALIZER;
static struct mtls **queue;     /* connections waiting for a thread */
static size_t queued, queue_cap;
static int idle_workers;
static pthread_attr_t attr;
static void (*serve)(struct mtls *conn);

/* The next connection, or NULL after IDLE_WORKER_SECONDS without one. */
static struct mtls *
next_connection(void)
{
	struct timespec until;
	struct mtls *conn = NULL;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += IDLE_WORKER_SECONDS;
	pthread_mutex_lock(&lock);
	idle_workers++;
	while (queued == 0 &&
	    pthread_cond_timedwait(&work_ready, &lock, &until) != ETIMEDOUT)
		;
	if (queued > 0)
		conn = queue[--queued];
	idle_workers--;
	pthread_mutex_unlock(&lock);
	return conn;
}

static void *
worker_main(void *arg)
{
	struct mtls *conn = arg;

	do
		serve(conn);
	while ((conn = next_connection()) != NULL);
	return NULL;
}

void
workers_init(void (*serve_fn)(struct mtls *conn))
{
	serve = serve_fn;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
}

/* Hands conn to an idle worker, or to a new one when none is idle.
 * Returns 0, or -1 (conn untouched) when no thread could be had. */
int
workers_submit(struct mtls *conn)
{
	pthread_t t;
	int rc = 0;

	pthread_mutex_lock(&lock);
	if ((size_t)idle_workers > queued) {
		if (queued == queue_cap) {
			size_t cap = queue_cap ? queue_cap * 2 : 64;
			struct mtls **grown = realloc(queue, cap * sizeof(*queue));

			if (grown == NULL) {
				pthread_mutex_unlock(&lock);
				return -1;
			}
			queue = grown;
			queue_cap = cap;
		}
		queue[queued++] = conn;
		pthread_cond_signal(&work_ready);
	} else if (pthread_create(&t, &attr, worker_main, conn) != 0) {
		fprintf(stderr, "mtls-server: cannot start a thread: %s\n",
		    strerror(errno));
		rc = -1;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}
