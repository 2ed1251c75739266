/*
 * watch.c - a config that reloads the files it was built from.  The
 * watched config keeps the config its connections are made from now
 * (current: itself at first).  Making a connection checks the files'
 * stamps when an interval has passed since the last check, under a
 * trylock: one thread replays the recipe (recipe.c) into a new config
 * while the others go on with the current one.  No thread of our own,
 * nothing runs while no connection is made.
 *
 * Locking: check_lock (held by the one thread checking) guards the
 * stamps and the failure state; current_lock guards `current` only,
 * held for a pointer swap or a reference; next_check, roles and the
 * counts are atomics read without a lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mtls_internal.h"

/* What stat(2) says of a path, following links; err when it failed. */
struct stamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
	int err;
};

struct mtls_watch {
	pthread_mutex_t check_lock;
	pthread_mutex_t current_lock;
	struct mtls_config *current;  /* a reference, or NULL: the watched
	                                 config itself */
	long interval_ms;
	long next_check;              /* atomic: monotonic ms */
	int roles;                    /* atomic: 1 << role of each use */
	const char **paths;           /* into the recipe (recipe.c) */
	size_t path_count;
	struct stamp *built;          /* the stamps current was built from */
	struct stamp *failed;         /* a set that failed, or NULL */
	bool failed_reported;
	mtls_reload_fn fn;
	void *arg;
	unsigned long ok_count, failed_count; /* atomic */
};

static void
take_stamps(const struct mtls_watch *w, struct stamp *out)
{
	struct stat st;

	memset(out, 0, w->path_count * sizeof(*out));
	for (size_t i = 0; i < w->path_count; i++) {
		if (stat(w->paths[i], &st) != 0) {
			out[i].err = errno;
			continue;
		}
		out[i].dev = st.st_dev;
		out[i].ino = st.st_ino;
		out[i].size = st.st_size;
		out[i].mtim = st.st_mtim;
		out[i].ctim = st.st_ctim;
	}
}

static bool
same_stamp(const struct stamp *a, const struct stamp *b)
{
	return a->err == b->err && a->dev == b->dev && a->ino == b->ino &&
	    a->size == b->size && a->mtim.tv_sec == b->mtim.tv_sec &&
	    a->mtim.tv_nsec == b->mtim.tv_nsec &&
	    a->ctim.tv_sec == b->ctim.tv_sec &&
	    a->ctim.tv_nsec == b->ctim.tv_nsec;
}

static bool
same_stamps(const struct mtls_watch *w, const struct stamp *a,
    const struct stamp *b)
{
	for (size_t i = 0; i < w->path_count; i++)
		if (!same_stamp(&a[i], &b[i]))
			return false;
	return true;
}

/* "'a.crt', 'a.key'": the files whose stamps differ, for messages. */
static void
changed_names(const struct mtls_watch *w, const struct stamp *now,
    char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < w->path_count && used < len; i++)
		if (!same_stamp(&now[i], &w->built[i]))
			used += (size_t)snprintf(buf + used, len - used, "%s'%s'",
			    used > 0 ? ", " : "", w->paths[i]);
}

/* The role checks of each role cfg has been used in, on a rebuilt one:
 * those mtls_server_new and mtls_client_new run (mtls_server_set_config
 * runs the server's). */
static int
check_roles(struct mtls_watch *w, struct mtls_config *fresh, char *err,
    size_t err_len)
{
	int roles = __atomic_load_n(&w->roles, __ATOMIC_RELAXED);

	if (fresh->plaintext)
		return 0;
	for (int role = ROLE_CLIENT; role <= ROLE_SERVER; role++)
		if ((roles & (1 << role)) != 0 &&
		    mtls_check_tls_role(fresh, (enum mtls_role)role) != 0) {
			snprintf(err, err_len, "%s", mtls_config_error(fresh));
			return -1;
		}
	return 0;
}

static void
make_current(struct mtls_watch *w, struct mtls_config *fresh)
{
	struct mtls_config *old;

	mtls_config_freeze(fresh);
	mtls_recipe_settle(fresh);  /* never built again: its secrets go */
	pthread_mutex_lock(&w->current_lock);
	old = w->current;
	w->current = fresh;
	pthread_mutex_unlock(&w->current_lock);
	mtls_config_free(old);      /* its connections hold their own */
}

static void
report(struct mtls_config *cfg, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
report(struct mtls_config *cfg, bool ok, const char *fmt, ...)
{
	struct mtls_watch *w = cfg->watch;
	char msg[MTLS_ERRBUF + 300];
	va_list ap;

	__atomic_add_fetch(ok ? &w->ok_count : &w->failed_count, 1,
	    __ATOMIC_RELAXED);
	if (w->fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->fn(cfg, ok, msg, w->arg);
}

/* A set that failed: tried again once more after an interval, in case a
 * file was being written (a certificate whose key comes a moment later);
 * reported when the same set fails again. */
static void
set_failed(struct mtls_config *cfg, const struct stamp *now,
    const char *changed, const char *err)
{
	struct mtls_watch *w = cfg->watch;

	if (w->failed != NULL && same_stamps(w, w->failed, now)) {
		w->failed_reported = true;
		report(cfg, false, "the changed files (%s) are refused, keeping "
		    "the configuration in use: %s", changed, err);
		return;
	}
	if (w->failed == NULL &&
	    (w->failed = malloc(w->path_count * sizeof(*now))) == NULL)
		return;             /* tried again at each interval */
	memcpy(w->failed, now, w->path_count * sizeof(*now));
	w->failed_reported = false;
}

static void
rebuild(struct mtls_config *cfg, const struct stamp *now)
{
	struct mtls_watch *w = cfg->watch;
	struct mtls_config *fresh;
	const char *warning;
	char err[MTLS_ERRBUF], changed[512];

	changed_names(w, now, changed, sizeof(changed));
	fresh = mtls_recipe_replay(cfg, err, sizeof(err));
	if (fresh != NULL && check_roles(w, fresh, err, sizeof(err)) != 0) {
		mtls_config_free(fresh);
		fresh = NULL;
	}
	if (fresh == NULL) {
		set_failed(cfg, now, changed, err);
		return;
	}
	/* What loading found worth saying (a certificate that expires soon),
	 * as the program that built cfg said it at start. */
	warning = mtls_config_warning(fresh, 0);
	snprintf(err, sizeof(err), "%s%s", warning ? "; warning: " : "",
	    warning ? warning : "");
	make_current(w, fresh);
	memcpy(w->built, now, w->path_count * sizeof(*now));
	free(w->failed);
	w->failed = NULL;
	report(cfg, true, "reloaded the configuration: %s changed%s", changed,
	    err);
}

/* Under check_lock: compares the files with the set in use. */
static void
check_files(struct mtls_config *cfg)
{
	struct mtls_watch *w = cfg->watch;
	struct stamp *now = malloc(w->path_count * sizeof(*now));

	if (now == NULL)
		return;                 /* checked again at the next interval */
	take_stamps(w, now);
	if (same_stamps(w, now, w->built)) {
		free(w->failed);        /* back to the files in use */
		w->failed = NULL;
	} else if (w->failed == NULL || !w->failed_reported ||
	    !same_stamps(w, now, w->failed)) {
		rebuild(cfg, now);
	}
	free(now);
}

static void
maybe_check(struct mtls_config *cfg)
{
	struct mtls_watch *w = cfg->watch;
	long now = mtls_now_ms();

	if (now < __atomic_load_n(&w->next_check, __ATOMIC_ACQUIRE) ||
	    pthread_mutex_trylock(&w->check_lock) != 0)
		return;
	/* Another thread may have checked between the load and the lock. */
	if (now >= __atomic_load_n(&w->next_check, __ATOMIC_ACQUIRE)) {
		check_files(cfg);
		__atomic_store_n(&w->next_check, mtls_now_ms() + w->interval_ms,
		    __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&w->check_lock);
}

struct mtls_config *
mtls_watch_current(struct mtls_config *cfg, enum mtls_role role)
{
	struct mtls_watch *w = cfg->watch;
	struct mtls_config *current;

	if (w == NULL)
		return mtls_config_ref(cfg);
	if (role != ROLE_ACCEPTED)
		__atomic_or_fetch(&w->roles, 1 << role, __ATOMIC_RELAXED);
	maybe_check(cfg);
	pthread_mutex_lock(&w->current_lock);
	current = mtls_config_ref(w->current != NULL ? w->current : cfg);
	pthread_mutex_unlock(&w->current_lock);
	return current;
}

/* cfg's watch_free (mtls_config_free calls it up here). */
static void
watch_free(struct mtls_config *cfg)
{
	struct mtls_watch *w = cfg->watch;

	if (w == NULL)
		return;
	mtls_config_free(w->current);
	pthread_mutex_destroy(&w->check_lock);
	pthread_mutex_destroy(&w->current_lock);
	free(w->paths);
	free(w->built);
	free(w->failed);
	free(w);
	cfg->watch = NULL;
	cfg->watch_free = NULL;
}

static struct mtls_watch *
watch_new(struct mtls_config *cfg)
{
	struct mtls_watch *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	if (pthread_mutex_init(&w->check_lock, NULL) != 0) {
		free(w);
		return NULL;
	}
	if (pthread_mutex_init(&w->current_lock, NULL) != 0) {
		pthread_mutex_destroy(&w->check_lock);
		free(w);
		return NULL;
	}
	cfg->watch = w;
	cfg->watch_free = watch_free;
	return w;
}

MTLS_EXPORT int
mtls_config_watch_files(struct mtls_config *cfg, int interval_ms)
{
	struct mtls_watch *w;

	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(interval_ms > 0, cfg, MTLS_ERR_INVALID, "the watch interval "
	    "must be a positive number of milliseconds, got %d", interval_ms);
	ENSURE_CFG(cfg->watch == NULL, cfg, MTLS_ERR_INVALID,
	    "the configuration already watches its files");
	ENSURE_CFG(mtls_recipe_complete(&cfg->recipe), cfg, MTLS_ERR_NOMEM,
	    "cannot watch the files: a setter could not remember its call "
	    "(out of memory), or an SNI identities config was used before it "
	    "was added");
	ENSURE_CFG((w = watch_new(cfg)) != NULL, cfg, MTLS_ERR_NOMEM,
	    "out of memory");
	if (mtls_recipe_paths(cfg, &w->paths, &w->path_count) != 0 ||
	    (w->path_count > 0 &&
	    (w->built = malloc(w->path_count * sizeof(*w->built))) == NULL)) {
		watch_free(cfg);
		return CFG_FAIL(cfg, MTLS_ERR_NOMEM, "out of memory");
	}
	if (w->path_count == 0) {
		watch_free(cfg);
		return CFG_FAIL(cfg, MTLS_ERR_INVALID, "no file to watch: the "
		    "configuration was not built from files");
	}
	w->interval_ms = interval_ms;
	w->next_check = mtls_now_ms() + interval_ms;
	take_stamps(w, w->built);
	return 0;
}

MTLS_EXPORT int
mtls_config_set_reload_callback(struct mtls_config *cfg, mtls_reload_fn fn,
    void *arg)
{
	if (cfg == NULL || mtls_config_check_mutable(cfg) != 0)
		return -1;
	ENSURE_CFG(cfg->watch != NULL, cfg, MTLS_ERR_INVALID, "the "
	    "configuration does not watch its files: call "
	    "mtls_config_watch_files first");
	cfg->watch->fn = fn;
	cfg->watch->arg = arg;
	return 0;
}

MTLS_EXPORT int
mtls_config_reload_counts(struct mtls_config *cfg, unsigned long *ok,
    unsigned long *failed)
{
	struct mtls_watch *w = cfg != NULL ? cfg->watch : NULL;

	if (ok != NULL)
		*ok = w ? __atomic_load_n(&w->ok_count, __ATOMIC_RELAXED) : 0;
	if (failed != NULL)
		*failed = w ?
		    __atomic_load_n(&w->failed_count, __ATOMIC_RELAXED) : 0;
	return w != NULL ? 0 : -1;
}
