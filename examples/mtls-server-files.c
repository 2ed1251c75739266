/*
 * mtls-server-files.c - the files of --root, opened as a request finds
 * them, with the small ones (up to FILE_CHUNK) kept in memory: their
 * bytes, Content-Type, size and identity (device, inode, mode, mtime,
 * ctime).  A file kept is checked again at most once a second, with one
 * lstat(2) of its path, as lighttpd's stat cache and nginx's
 * open_file_cache_valid do: a file changed, removed, replaced or made
 * unreadable is seen within a second, and then opened afresh.
 *
 * Each worker thread has a cache of its own (each is its own event loop,
 * and a reply is sent and freed by the thread that made it), so a hit
 * takes no lock; what this costs is a hot file kept once per worker.  A
 * cache holds at most FILES_MAX files and FILES_BYTES / workers bytes, so
 * that the process keeps at most FILES_BYTES of files in all; past either
 * bound the least recently served file goes.  An entry is reference
 * counted: a reply points into the entry's bytes, not into a copy, and
 * holds it, so that one evicted or replaced while its reply still waits
 * for the socket stays until the reply is freed.  (The count is atomic,
 * so that a reply could be freed by another thread; the cache itself is
 * touched only by its own.)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "mtls-server.h"

#define FILES_MAX 1024              /* files per thread */
#define FILES_BYTES (16L << 20)     /* bytes of files per process */
#define FILES_BUCKETS 2048          /* of the hash table, a power of 2 */
#define FILES_VALID_MS 1000         /* between two checks of a file */

struct cached_file {
	struct cached_file *hnext;          /* in its bucket */
	struct cached_file *newer, *older;  /* by last use */
	unsigned long refs;                 /* the cache's and each reply's */
	long checked;                       /* monotonic ms of the last check */
	uint32_t hash;
	dev_t dev;
	ino_t ino;
	mode_t mode;
	off_t size;
	struct timespec mtime, ctime;
	const char *type;
	char *path;                         /* after the bytes */
	char bytes[];
};

struct files {
	struct cached_file *bucket[FILES_BUCKETS];
	struct cached_file *newest, *oldest;
	size_t count, bytes, max_bytes;
};

static __thread struct files *cache;
static pthread_key_t cache_key;     /* frees a thread's cache as it ends */
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

const char *
content_type(const char *path)
{
	static const char *const types[][2] = {
		{ ".html", "text/html" }, { ".htm", "text/html" },
		{ ".txt", "text/plain" }, { ".css", "text/css" },
		{ ".js", "application/javascript" }, { ".json", "application/json" },
		{ ".png", "image/png" }, { ".jpg", "image/jpeg" },
		{ ".svg", "image/svg+xml" }, { ".pem", "application/x-pem-file" },
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]);
	    i++)
		if (strcmp(dot, types[i][0]) == 0)
			return types[i][1];
	return "application/octet-stream";
}

/* FNV-1a. */
static uint32_t
path_hash(const char *path)
{
	uint32_t h = 2166136261u;

	for (; *path != '\0'; path++)
		h = (h ^ (unsigned char)*path) * 16777619u;
	return h;
}

static void
hold(struct cached_file *e)
{
	__atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
}

void
files_release(struct cached_file *e)
{
	if (e != NULL && __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(e);
}

/* ------------------------------------------------------ the cache */

static void
unlink_used(struct files *c, struct cached_file *e)
{
	*(e->newer != NULL ? &e->newer->older : &c->newest) = e->older;
	*(e->older != NULL ? &e->older->newer : &c->oldest) = e->newer;
	e->newer = e->older = NULL;
}

static void
link_newest(struct files *c, struct cached_file *e)
{
	e->older = c->newest;
	*(c->newest != NULL ? &c->newest->newer : &c->oldest) = e;
	c->newest = e;
}

/* e out of the cache; freed when no reply holds it. */
static void
drop(struct files *c, struct cached_file *e)
{
	struct cached_file **p = &c->bucket[e->hash & (FILES_BUCKETS - 1)];

	while (*p != e)
		p = &(*p)->hnext;
	*p = e->hnext;
	unlink_used(c, e);
	c->count--;
	c->bytes -= (size_t)e->size;
	files_release(e);
}

/* Room for size more bytes: the least recently used go. */
static void
make_room(struct files *c, size_t size)
{
	while (c->oldest != NULL &&
	    (c->count >= FILES_MAX || c->bytes + size > c->max_bytes))
		drop(c, c->oldest);
}

static void
keep(struct files *c, struct cached_file *e)
{
	struct cached_file **head = &c->bucket[e->hash & (FILES_BUCKETS - 1)];

	if ((size_t)e->size > c->max_bytes)
		return;             /* served, not kept */
	make_room(c, (size_t)e->size);
	e->hnext = *head;
	*head = e;
	link_newest(c, e);
	c->count++;
	c->bytes += (size_t)e->size;
	hold(e);
}

static void
cache_free(void *p)
{
	struct files *c = p;

	while (c->oldest != NULL)
		drop(c, c->oldest);
	free(c);
	cache = NULL;
}

static void
make_key(void)
{
	(void)pthread_key_create(&cache_key, cache_free);
}

/* This thread's cache, made on first use; NULL when out of memory. */
static struct files *
thread_cache(int workers)
{
	if (cache != NULL)
		return cache;
	if (pthread_once(&cache_once, make_key) != 0 ||
	    (cache = calloc(1, sizeof(*cache))) == NULL)
		return NULL;
	cache->max_bytes = (size_t)(FILES_BYTES / (workers > 0 ? workers : 1));
	(void)pthread_setspecific(cache_key, cache);
	return cache;
}

static struct cached_file *
lookup(struct files *c, const char *path, uint32_t hash)
{
	struct cached_file *e = c->bucket[hash & (FILES_BUCKETS - 1)];

	for (; e != NULL; e = e->hnext)
		if (e->hash == hash && strcmp(e->path, path) == 0)
			return e;
	return NULL;
}

static bool
same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* Whether st is still e's file: the same regular file, unchanged. */
static bool
unchanged(const struct cached_file *e, const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_dev == e->dev &&
	    st->st_ino == e->ino && st->st_mode == e->mode &&
	    st->st_size == e->size && same_time(st->st_mtim, e->mtime) &&
	    same_time(st->st_ctim, e->ctime);
}

/*
 * Whether e may be served now: checked within the last second, or found
 * unchanged by lstat(2).  lstat, not stat: a symbolic link put in the
 * file's place is no regular file, as open(O_NOFOLLOW) refuses it; a
 * chmod changes the mode and ctime, so a file made unreadable is opened
 * again and refused (a search permission taken from a directory fails
 * the lstat itself).
 */
static bool
still_valid(struct cached_file *e, long now)
{
	struct stat st;

	if (now - e->checked < FILES_VALID_MS)
		return true;
	if (lstat(e->path, &st) != 0 || !unchanged(e, &st))
		return false;
	e->checked = now;
	return true;
}

/* The entry of the small file open on fd (st its fstat), read whole: NULL
 * with *err ENOMEM, or EIO when the read fell short. */
static struct cached_file *
entry_read(int fd, const struct stat *st, const char *path, uint32_t hash,
    long now, int *err)
{
	size_t size = (size_t)st->st_size, plen = strlen(path);
	struct cached_file *e = malloc(sizeof(*e) + size + plen + 1);
	ssize_t n;

	if (e == NULL) {
		*err = ENOMEM;
		return NULL;
	}
	if ((n = read(fd, e->bytes, size)) != (ssize_t)size) {
		free(e);
		*err = EIO;
		return NULL;
	}
	memset(e, 0, sizeof(*e));
	e->refs = 1;                /* the caller's */
	e->checked = now;
	e->hash = hash;
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->mode = st->st_mode;
	e->size = st->st_size;
	e->mtime = st->st_mtim;
	e->ctime = st->st_ctim;
	e->type = content_type(path);
	e->path = e->bytes + size;
	memcpy(e->path, path, plen + 1);
	return e;
}

/* path opened afresh, as before the cache: a small file read and kept, a
 * bigger one left open for streaming. */
static int
open_fresh(struct files *c, const char *path, uint32_t hash, long now,
    struct file_found *f)
{
	struct stat st;
	int fd, err = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == EACCES ? EACCES : ENOENT;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ENOENT;
	}
	f->size = st.st_size;
	f->type = content_type(path);
	if (st.st_size > FILE_CHUNK) {
		f->fd = fd;
		return 0;
	}
	f->held = entry_read(fd, &st, path, hash, now, &err);
	close(fd);
	if (f->held == NULL)
		return err;
	f->bytes = f->held->bytes;
	if (c != NULL)
		keep(c, f->held);
	return 0;
}

int
files_find(const char *path, int workers, struct file_found *f)
{
	struct files *c = thread_cache(workers);
	uint32_t hash = path_hash(path);
	long now = monotonic_ms();
	struct cached_file *e;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	if (c != NULL && (e = lookup(c, path, hash)) != NULL) {
		if (still_valid(e, now)) {
			unlink_used(c, e);
			link_newest(c, e);
			hold(e);
			f->held = e;
			f->bytes = e->bytes;
			f->size = e->size;
			f->type = e->type;
			return 0;
		}
		drop(c, e);         /* changed or gone: opened afresh */
	}
	return open_fresh(c, path, hash, now, f);
}
