/*
 * recipe.c - a config remembers the setter calls it was built with, so
 * that it can be built again when the files they named change (watch.c).
 * Each public setter records its successful call (RECORDED,
 * conn_iface.h); replay.c, a layer above the config, replays the calls
 * on a new config, which makes an equivalent one whose own recipe is the
 * same.  This file only keeps the calls: it makes no config.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtls_internal.h"

static bool
secret_letter(char letter)
{
	return letter == 'S' || letter == 'M';
}

static struct mtls_recipe *copy_recipe(const struct mtls_recipe *from);

/* Copies one argument of the call into a; false when out of memory. */
static bool
copy_arg(union mtls_recipe_arg *a, char letter, va_list *ap)
{
	const char *s;
	const void *data;

	switch (letter) {
	case 'p': case 's': case 'S':
		s = va_arg(*ap, const char *);
		a->s = s != NULL ? strdup(s) : NULL;
		return s == NULL || a->s != NULL;
	case 'i':
		a->i = va_arg(*ap, int);
		return true;
	case 'u':
		a->u = va_arg(*ap, unsigned long long);
		return true;
	case 'z':
		a->z = va_arg(*ap, size_t);
		return true;
	case 'm': case 'M': case 'I':
		data = va_arg(*ap, const void *);
		a->m.len = va_arg(*ap, size_t);
		if (letter == 'I')
			a->m.len *= sizeof(int);
		a->m.data = data != NULL ? malloc(a->m.len + 1) : NULL;
		if (a->m.data != NULL)
			memcpy(a->m.data, data, a->m.len);
		return data == NULL || a->m.data != NULL;
	case 'c':
		a->sub = copy_recipe(&va_arg(*ap, struct mtls_config *)->recipe);
		return a->sub != NULL;
	case 'f':
		a->f = va_arg(*ap, mtls_verify_fn);
		return true;
	case 'v':
		a->v = va_arg(*ap, void *);
		return true;
	default:
		return false;   /* a letter conn_iface.h does not list */
	}
}

static void
free_arg(union mtls_recipe_arg *a, char letter)
{
	switch (letter) {
	case 'p': case 's':
		free(a->s);
		break;
	case 'S':
		if (a->s != NULL)
			mtls_free_secret((unsigned char *)a->s, strlen(a->s));
		break;
	case 'm': case 'M': case 'I':
		if (secret_letter(letter))
			mtls_free_secret(a->m.data, a->m.len);
		else
			free(a->m.data);
		break;
	case 'c':
		if (a->sub != NULL)
			mtls_recipe_free(a->sub);
		free(a->sub);
		break;
	default:
		break;
	}
}

static void
free_step(struct mtls_recipe_step *step)
{
	for (size_t i = 0; step->sig[i] != '\0'; i++)
		free_arg(&step->a[i], step->sig[i]);
}

void
mtls_recipe_free(struct mtls_recipe *r)
{
	for (size_t i = 0; i < r->count; i++)
		free_step(&r->steps[i]);
	free(r->steps);
	memset(r, 0, sizeof(*r));
}

static struct mtls_recipe_step *
new_step(struct mtls_recipe *r)
{
	if (r->count == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct mtls_recipe_step *grown = realloc(r->steps,
		    cap * sizeof(*grown));

		if (grown == NULL)
			return NULL;
		r->steps = grown;
		r->cap = cap;
	}
	return memset(&r->steps[r->count], 0, sizeof(r->steps[0]));
}

/* A copy of one argument, as copy_arg made it from the call. */
static bool
dup_arg(union mtls_recipe_arg *to, const union mtls_recipe_arg *from,
    char letter)
{
	*to = *from;
	switch (letter) {
	case 'p': case 's': case 'S':
		return from->s == NULL || (to->s = strdup(from->s)) != NULL;
	case 'm': case 'M': case 'I':
		if (from->m.data == NULL)
			return true;
		if ((to->m.data = malloc(from->m.len + 1)) == NULL)
			return false;
		memcpy(to->m.data, from->m.data, from->m.len);
		return true;
	case 'c':
		return (to->sub = copy_recipe(from->sub)) != NULL;
	default:
		return true;
	}
}

/* A deep copy of from (an SNI identities config's recipe, kept by the
 * config it is added to, so that the two settle apart); NULL when out of
 * memory.  A copy of an incomplete recipe is incomplete. */
static struct mtls_recipe *
copy_recipe(const struct mtls_recipe *from)
{
	struct mtls_recipe *to = calloc(1, sizeof(*to));

	if (to == NULL)
		return NULL;
	to->incomplete = from->incomplete;
	for (size_t i = 0; i < from->count; i++) {
		const struct mtls_recipe_step *src = &from->steps[i];
		struct mtls_recipe_step *dst = new_step(to);
		size_t j;
		bool ok = dst != NULL;

		if (!ok)
			break;
		*dst = (struct mtls_recipe_step){ .name = src->name,
		    .fn = src->fn, .sig = src->sig };
		for (j = 0; ok && src->sig[j] != '\0'; j++)
			ok = dup_arg(&dst->a[j], &src->a[j], src->sig[j]);
		if (!ok) {
			for (size_t k = 0; k + 1 < j; k++)
				free_arg(&dst->a[k], src->sig[k]);
			break;
		}
		to->count++;
	}
	if (to->count < from->count) {
		mtls_recipe_free(to);
		free(to);
		return NULL;
	}
	return to;
}

/* Wipes the secrets of r and of the recipes it holds. */
static void
wipe_secrets(struct mtls_recipe *r)
{
	for (size_t i = 0; i < r->count; i++) {
		struct mtls_recipe_step *st = &r->steps[i];

		for (size_t j = 0; st->sig[j] != '\0'; j++) {
			if (secret_letter(st->sig[j])) {
				free_arg(&st->a[j], st->sig[j]);
				memset(&st->a[j], 0, sizeof(st->a[j]));
			} else if (st->sig[j] == 'c') {
				wipe_secrets(st->a[j].sub);
			}
		}
	}
	r->incomplete = true;
}

bool
mtls_recipe_complete(const struct mtls_recipe *r)
{
	if (r->incomplete)
		return false;
	for (size_t i = 0; i < r->count; i++) {
		const struct mtls_recipe_step *st = &r->steps[i];
		const char *c = strchr(st->sig, 'c');

		if (c != NULL && !mtls_recipe_complete(st->a[c - st->sig].sub))
			return false;
	}
	return true;
}

void
mtls_recipe_settle(struct mtls_config *cfg)
{
	if (cfg->watch != NULL ||
	    __atomic_load_n(&cfg->recipe.settled, __ATOMIC_ACQUIRE))
		return;
	/* The first thread wipes; the others find it done. */
	pthread_mutex_lock(&cfg->check_lock);
	if (!cfg->recipe.settled) {
		wipe_secrets(&cfg->recipe);
		__atomic_store_n(&cfg->recipe.settled, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&cfg->check_lock);
}

int
mtls_recipe_record(int rc, struct mtls_config *cfg, const char *name,
    mtls_setter_fn fn, const char *sig, ...)
{
	struct mtls_recipe_step *step;
	size_t i;
	va_list ap;
	bool ok;

	if (rc != 0)
		return rc;
	step = new_step(&cfg->recipe);
	if (step == NULL || strlen(sig) > MTLS_RECIPE_MAX_ARGS) {
		cfg->recipe.incomplete = true;
		return 0;
	}
	ok = true;
	step->name = name;
	step->fn = fn;
	step->sig = sig;
	va_start(ap, sig);
	for (i = 0; ok && sig[i] != '\0'; i++)
		ok = copy_arg(&step->a[i], sig[i], &ap);
	va_end(ap);
	if (!ok) {
		/* The arguments copied so far, the failed one's own NULL. */
		step->sig = "";
		for (size_t j = 0; j < i; j++)
			free_arg(&step->a[j], sig[j]);
		cfg->recipe.incomplete = true;
		return 0;
	}
	cfg->recipe.count++;
	return 0;
}

static int
add_path(const char ***paths, size_t *count, const char *path)
{
	const char **grown = realloc(*paths, (*count + 1) * sizeof(*grown));

	if (grown == NULL)
		return -1;
	grown[(*count)++] = path;
	*paths = grown;
	return 0;
}

static int
collect_paths(const struct mtls_recipe *r, const char ***paths,
    size_t *count)
{
	for (size_t i = 0; i < r->count; i++) {
		const struct mtls_recipe_step *st = &r->steps[i];

		for (size_t j = 0; st->sig[j] != '\0'; j++) {
			if (st->sig[j] == 'p' && st->a[j].s != NULL &&
			    add_path(paths, count, st->a[j].s) != 0)
				return -1;
			if (st->sig[j] == 'c' &&
			    collect_paths(st->a[j].sub, paths, count) != 0)
				return -1;
		}
	}
	return 0;
}

int
mtls_recipe_paths(const struct mtls_config *cfg, const char ***paths,
    size_t *count)
{
	*paths = NULL;
	*count = 0;
	if (collect_paths(&cfg->recipe, paths, count) == 0)
		return 0;
	free(*paths);
	*paths = NULL;
	return -1;
}
