/*
 * wake.c - what lets mtls_wake end a blocked call: one eventfd per thread
 * that waits, not one per connection.
 *
 * A thread that is about to wait on a connection publishes its eventfd in
 * the connection (waiter_fd); mtls_wake sets the connection's woken flag,
 * then writes to whatever eventfd is published.  Both sides use
 * sequentially consistent atomics, so either the waiter sees the flag
 * before it sleeps or the waker sees the descriptor and wakes it.
 *
 * A waker counts itself in the connection (wakers) from before it reads
 * the descriptor until after it wrote, and a waiter that withdraws its
 * descriptor waits for that count to be zero: once a wait has ended, no
 * waker still holds the thread's descriptor, and the thread may close it
 * when it ends, with no risk of a late write landing in a socket or file
 * that reused the number.  The count is held for one write(2), so that
 * wait is short; a signal handler that wakes in the waiting thread itself
 * runs to its end before the thread goes on, so it cannot deadlock.
 *
 * The thread-exit destructor is code of this library: the library is
 * linked with -z nodelete (Makefile.am), so that a dlclose, as Ruby's FFI
 * does at exit, never unmaps it while threads that waited in it are still
 * to end (tests/dlclose-thread.c).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "mtls_internal.h"

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t thread_key;
static int key_ok;

static __thread int thread_wake_fd = -1;

/* At a thread's end: no wait of its is in progress, so no waker holds its
 * eventfd (see above). */
static void
close_thread_fd(void *value)
{
	close((int)(intptr_t)value - 1);
}

static void
make_key(void)
{
	key_ok = pthread_key_create(&thread_key, close_thread_fd) == 0;
}

/* The calling thread's eventfd, made the first time it waits; -1 with
 * errno set when none can be had. */
static int
thread_fd(void)
{
	int fd;

	if (thread_wake_fd >= 0)
		return thread_wake_fd;
	pthread_once(&key_once, make_key);
	if ((fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return -1;
	if (!key_ok || pthread_setspecific(thread_key,
	    (void *)(intptr_t)(fd + 1)) != 0) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	return thread_wake_fd = fd;
}

int
mtls_wake_begin_wait(struct mtls *c)
{
	int fd = thread_fd();

	if (fd < 0)
		return -1;
	__atomic_store_n(&c->waiter_fd, fd, __ATOMIC_SEQ_CST);
	return fd;
}

void
mtls_wake_end_wait(struct mtls *c)
{
	__atomic_store_n(&c->waiter_fd, -1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&c->wakers, __ATOMIC_SEQ_CST) != 0)
		sched_yield();
}

bool
mtls_wake_take(struct mtls *c)
{
	return __atomic_exchange_n(&c->woken, 0, __ATOMIC_SEQ_CST) != 0;
}

void
mtls_wake_drain(int fd)
{
	uint64_t count;

	while (read(fd, &count, sizeof(count)) > 0)
		;
}

MTLS_EXPORT int
mtls_wake(struct mtls *c)
{
	uint64_t one = 1;
	int fd, rc = 0, saved_errno = errno;    /* a signal handler's caller's */

	if (c == NULL)
		return -1;
	__atomic_store_n(&c->woken, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&c->wakers, 1, __ATOMIC_SEQ_CST);
	fd = __atomic_load_n(&c->waiter_fd, __ATOMIC_SEQ_CST);
	/* write(2) is async-signal-safe; a full counter still wakes. */
	if (fd >= 0 && write(fd, &one, sizeof(one)) != sizeof(one) &&
	    errno != EAGAIN)
		rc = -1;
	__atomic_sub_fetch(&c->wakers, 1, __ATOMIC_SEQ_CST);
	errno = saved_errno;
	return rc;
}
