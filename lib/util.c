/*
 * util.c - what every part of a config uses: the check that it can still
 * change, reading a file whole, wiping and freeing secrets, and telling
 * the end of a PEM text from a damaged block in it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "mtls_internal.h"

#define MAX_FILE_SIZE (16 * 1024 * 1024)

/* Setters call this first: a config in use by connections never changes. */
int
mtls_config_check_mutable(struct mtls_config *cfg)
{
	ENSURE_CFG(!__atomic_load_n(&cfg->frozen, __ATOMIC_ACQUIRE), cfg,
	    MTLS_ERR_CONFIG_FROZEN, "configuration is in use by a connection "
	    "and can no longer be changed: build a new configuration instead");
	mtls_clear_error(mtls_config_errstate(cfg));
	return 0;
}

void
mtls_config_share(struct mtls_config *cfg)
{
	__atomic_store_n(&cfg->shared, 1, __ATOMIC_RELEASE);
}

struct mtls_config *
mtls_config_hold(struct mtls_config *cfg)
{
	__atomic_add_fetch(&cfg->refs, 1, __ATOMIC_RELAXED);
	return cfg;
}

void
mtls_config_freeze(struct mtls_config *cfg)
{
	mtls_config_share(cfg);
	__atomic_store_n(&cfg->frozen, 1, __ATOMIC_RELEASE);
}

const char *
mtls_base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

void
mtls_free_secret(unsigned char *data, size_t len)
{
	if (data == NULL)
		return;
	OPENSSL_cleanse(data, len);
	free(data);
}

int
mtls_read_file(struct mtls_config *cfg, const char *what, const char *path,
    unsigned char **data, size_t *len)
{
	FILE *f;
	struct stat st;
	unsigned char *buf;
	long size;
	size_t got;

	ENSURE_CFG(path != NULL && *path != '\0', cfg, MTLS_ERR_INVALID,
	    "no %s file name given", what);
	if ((f = fopen(path, "rb")) == NULL)
		return CFG_FAIL(cfg, MTLS_ERR_FILE, "cannot read %s file '%s': %s",
		    what, path, strerror(errno));
	/* fopen accepts a directory; its "size" would mislead. */
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return CFG_FAIL(cfg, MTLS_ERR_FILE, "cannot read %s file '%s': %s",
		    what, path, strerror(EISDIR));
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		int saved = errno;

		fclose(f);
		return CFG_FAIL(cfg, MTLS_ERR_FILE, "cannot read %s file '%s': %s",
		    what, path, strerror(saved));
	}
	if (size > MAX_FILE_SIZE) {
		fclose(f);
		return CFG_FAIL(cfg, MTLS_ERR_FORMAT, "%s file '%s' is too large "
		    "(%ld bytes) to be a certificate or key", what, path, size);
	}
	buf = malloc((size_t)size + 1);
	if (buf == NULL) {
		fclose(f);
		return CFG_FAIL(cfg, MTLS_ERR_NOMEM, "out of memory reading '%s'", path);
	}
	errno = 0;
	got = fread(buf, 1, (size_t)size, f);
	if (ferror(f)) {
		int saved = errno ? errno : EIO;

		fclose(f);
		mtls_free_secret(buf, (size_t)size);
		return CFG_FAIL(cfg, MTLS_ERR_FILE, "cannot read %s file '%s': %s",
		    what, path, strerror(saved));
	}
	fclose(f);
	buf[got] = '\0';
	*data = buf;
	*len = got;
	return 0;
}

/*
 * A loop of PEM_read_bio_* calls ends at the end of the text ("no start
 * line") or at a block it could not read.  Returns 0 for the first, -1
 * with MTLS_ERR_FORMAT for the second, the message naming the text (desc,
 * "CA file 'ca.pem'") and what the block should have held (what); the
 * thread's error queue is empty after either.
 */
int
mtls_pem_read_ended(struct mtls_config *cfg, const char *desc,
    const char *what)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0 || (ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		ERR_clear_error();
		return 0;
	}
	return CFG_FAIL_SSL(cfg, MTLS_ERR_FORMAT, "in %s, a PEM block cannot "
	    "be read as a %s, so nothing of it was used", desc, what);
}

/* A connection's failure evidence (mtls_internal.h): here, below the
 * verify callbacks and the diagnosis that fill and read it. */
const struct mtls_evidence *
mtls_evidence(const struct mtls *c)
{
	static const struct mtls_evidence none;

	return c->ev != NULL ? c->ev : &none;
}

struct mtls_evidence *
mtls_evidence_new(struct mtls *c)
{
	if (c->ev == NULL)
		c->ev = calloc(1, sizeof(*c->ev));
	return c->ev;
}

/* A connection's peer_desc until it is set: never freed. */
char mtls_no_peer_desc[] = "";

void
mtls_set_peer_desc(struct mtls *c, const char *fmt, ...)
{
	char buf[320], *copy;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if ((copy = strdup(buf)) == NULL)
		return;
	if (c->peer_desc != mtls_no_peer_desc)
		free(c->peer_desc);
	c->peer_desc = copy;
}

void
mtls_peer_desc_free(struct mtls *c)
{
	if (c->peer_desc != mtls_no_peer_desc)
		free(c->peer_desc);
	c->peer_desc = mtls_no_peer_desc;
}
