/*
 * replay.c - a config built again by the setter calls its recipe
 * remembers (recipe.c): each recorded function called on a new config
 * with its recorded arguments, cast back to its own type by the shape of
 * its signature.  A setter whose shape is new joins with one SHAPE line
 * in call_step.
 */
#include <stdio.h>
#include <string.h>

#include "mtls_internal.h"

/* The C shape of a signature: the letters that differ only in how the
 * copy is kept (p, S as s; M as m) are the same C types. */
static void
shape_of(const char *sig, char *shape)
{
	for (; *sig != '\0'; sig++)
		*shape++ = *sig == 'p' || *sig == 'S' ? 's' :
		    *sig == 'M' ? 'm' : *sig;
	*shape = '\0';
}

/* Calls step's setter on cfg with its recorded arguments, each function
 * cast back to its own type.  -2 for a shape not known here. */
static int
call_step(struct mtls_config *cfg, const struct mtls_recipe_step *st,
    struct mtls_config *child)
{
	const union mtls_recipe_arg *a = st->a;
	char shape[MTLS_RECIPE_MAX_ARGS + 1];
	typedef struct mtls_config C;

	shape_of(st->sig, shape);
#define SHAPE(text, type, ...) \
	if (strcmp(shape, text) == 0) \
		return ((int (*)type)st->fn)(cfg, ##__VA_ARGS__)
	SHAPE("", (C *));
	SHAPE("s", (C *, const char *), a[0].s);
	SHAPE("ss", (C *, const char *, const char *), a[0].s, a[1].s);
	SHAPE("sss", (C *, const char *, const char *, const char *),
	    a[0].s, a[1].s, a[2].s);
	SHAPE("si", (C *, const char *, int), a[0].s, a[1].i);
	SHAPE("sc", (C *, const char *, C *), a[0].s, child);
	SHAPE("i", (C *, int), a[0].i);
	SHAPE("ii", (C *, int, int), a[0].i, a[1].i);
	SHAPE("iii", (C *, int, int, int), a[0].i, a[1].i, a[2].i);
	SHAPE("is", (C *, int, const char *), a[0].i, a[1].s);
	SHAPE("iu", (C *, int, unsigned long long), a[0].i, a[1].u);
	SHAPE("z", (C *, size_t), a[0].z);
	SHAPE("m", (C *, const void *, size_t), a[0].m.data, a[0].m.len);
	SHAPE("ms", (C *, const void *, size_t, const char *), a[0].m.data,
	    a[0].m.len, a[1].s);
	SHAPE("mms", (C *, const void *, size_t, const void *, size_t,
	    const char *), a[0].m.data, a[0].m.len, a[1].m.data, a[1].m.len,
	    a[2].s);
	SHAPE("I", (C *, const int *, size_t), (const int *)a[0].m.data,
	    a[0].m.len / sizeof(int));
	SHAPE("fv", (C *, mtls_verify_fn, void *), a[0].f, a[1].v);
#undef SHAPE
	return -2;
}

static struct mtls_config *replay_recipe(const struct mtls_recipe *r,
    char *err, size_t err_len);

/* The config argument of a step, built again from its recipe (an SNI
 * identity's files change too), or NULL when the step has none. */
static int
replay_child(const struct mtls_recipe_step *st, struct mtls_config **child,
    char *err, size_t err_len)
{
	const char *c = strchr(st->sig, 'c');

	*child = NULL;
	if (c == NULL)
		return 0;
	*child = replay_recipe(st->a[c - st->sig].sub, err, err_len);
	return *child != NULL ? 0 : -1;
}

static int
replay_step(struct mtls_config *cfg, const struct mtls_recipe_step *st,
    char *err, size_t err_len)
{
	struct mtls_config *child;
	int rc;

	if (replay_child(st, &child, err, err_len) != 0)
		return -1;
	rc = call_step(cfg, st, child);
	mtls_config_free(child);
	if (rc == -2)
		snprintf(err, err_len, "%s cannot be replayed: its signature "
		    "\"%s\" is not known to recipe.c", st->name, st->sig);
	else if (rc != 0)
		snprintf(err, err_len, "%s", mtls_config_error(cfg));
	return rc != 0 ? -1 : 0;
}

static struct mtls_config *
replay_recipe(const struct mtls_recipe *r, char *err, size_t err_len)
{
	struct mtls_config *fresh;

	if (r->incomplete) {
		snprintf(err, err_len, "the calls that built the configuration "
		    "are not all known (out of memory, or an SNI identities "
		    "config used before it was added)");
		return NULL;
	}
	if ((fresh = mtls_config_new()) == NULL) {
		snprintf(err, err_len, "%s", mtls_config_error(NULL));
		return NULL;
	}
	for (size_t i = 0; i < r->count; i++)
		if (replay_step(fresh, &r->steps[i], err, err_len) != 0) {
			mtls_config_free(fresh);
			return NULL;
		}
	return fresh;
}

struct mtls_config *
mtls_recipe_replay(struct mtls_config *cfg, char *err, size_t err_len)
{
	return replay_recipe(&cfg->recipe, err, err_len);
}
