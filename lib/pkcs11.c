/*
 * pkcs11.c - private keys and certificates in a token, named by pkcs11:
 * URIs (RFC 7512), loaded through OpenSSL's ENGINE interface with libp11's
 * "pkcs11" engine (Debian's libengine-pkcs11-openssl).
 *
 * ENGINE is deprecated in OpenSSL 3.0, but Debian 12 ships no pkcs11
 * provider, so the engine is the way there; its use stays in this file,
 * the one that silences the deprecation warnings.
 *
 * The engine is one object per process (ENGINE_by_id gives the same one
 * each time), and it loads one PKCS#11 module, fixed when it is first
 * used: libmtls initialises it once, under a lock, and keeps it to the
 * end of the process; the keys it gives hold references on it.  Loads
 * are serialised by the same lock, since the PIN is the engine's state.
 * Signing with a loaded key from many threads is libp11's affair: it
 * keeps a pool of PKCS#11 sessions under its own lock.  After fork()
 * libp11 notices the new process and opens new sessions, logging in again
 * with the PIN it kept.  No prompt can ever happen: the engine is given a
 * UI_METHOD that answers nothing.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/ui.h>

#include "mtls_internal.h"
#include "pkcs11.h"

/* PKCS#11 return values (the engine's "PKCS#11 module" errors carry them
 * as their reason). */
#define CKR_PIN_INCORRECT 0xA0
#define CKR_PIN_INVALID   0xA1
#define CKR_PIN_LEN_RANGE 0xA2
#define CKR_PIN_EXPIRED   0xA3
#define CKR_PIN_LOCKED    0xA4

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static ENGINE *engine;          /* initialised, kept to the end */
static char *engine_module;     /* its module; NULL: the engine's default */
static UI_METHOD *silent_ui;
static bool ui_asked;           /* the engine wanted a PIN (under lock) */

/* The reader of silent_ui: it notes the question and answers nothing. */
static int
ui_refuse(UI *ui, UI_STRING *s)
{
	ui_asked = true;
	return -1;
}

/* The writer: no prompt is shown anywhere. */
static int
ui_silent(UI *ui, UI_STRING *s)
{
	return 1;
}

static int
make_silent_ui(struct mtls_config *cfg)
{
	if (silent_ui != NULL)
		return 0;
	if ((silent_ui = UI_create_method("libmtls: no prompt")) == NULL ||
	    UI_method_set_reader(silent_ui, ui_refuse) != 0 ||
	    UI_method_set_writer(silent_ui, ui_silent) != 0) {
		UI_destroy_method(silent_ui);
		silent_ui = NULL;
		return CFG_FAIL(cfg, MTLS_ERR_NOMEM, "out of memory");
	}
	return 0;
}

/* A module libmtls is told to use must load, and be a PKCS#11 module,
 * before the engine is pointed at it: its own message would be vaguer. */
static int
check_module(struct mtls_config *cfg, const char *module)
{
	void *h = dlopen(module, RTLD_NOW | RTLD_LOCAL);
	const char *why;
	size_t mlen = strlen(module);

	if (h == NULL) {
		why = dlerror();
		/* dlerror says "PATH: reason": the path is said once. */
		if (why != NULL && strncmp(why, module, mlen) == 0 &&
		    strncmp(why + mlen, ": ", 2) == 0)
			why += mlen + 2;
		return CFG_FAIL(cfg, MTLS_ERR_UNSUPPORTED, "PKCS#11 module %s: "
		    "cannot be loaded: %s", module, why != NULL ? why : "?");
	}
	if (dlsym(h, "C_GetFunctionList") == NULL) {
		dlclose(h);
		return CFG_FAIL(cfg, MTLS_ERR_UNSUPPORTED, "PKCS#11 module %s: "
		    "cannot be loaded: it is not a PKCS#11 module (no "
		    "C_GetFunctionList)", module);
	}
	dlclose(h);
	return 0;
}

static bool
same_module(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The process's engine, initialised with module the first time.  Under
 * lock. */
static int
engine_get(struct mtls_config *cfg, const char *module)
{
	ENGINE *e;

	if (engine != NULL) {
		ENSURE_CFG(same_module(module, engine_module), cfg,
		    MTLS_ERR_UNSUPPORTED, "PKCS#11 module %s: cannot be loaded: "
		    "this process's pkcs11 engine already uses %s, and it holds "
		    "one module (p11-kit-proxy, the default, reaches every "
		    "registered one)", module != NULL ? module :
		    "p11-kit-proxy", engine_module != NULL ? engine_module :
		    "the default module (p11-kit-proxy)");
		return 0;
	}
	if ((e = ENGINE_by_id("pkcs11")) == NULL) {
		ERR_clear_error();
		return CFG_FAIL(cfg, MTLS_ERR_UNSUPPORTED, "PKCS#11 keys need "
		    "OpenSSL's pkcs11 engine, which could not be loaded: "
		    "apt-get install libengine-pkcs11-openssl");
	}
	/* QUIET: the engine writes its diagnoses on stderr otherwise. */
	(void)ENGINE_ctrl_cmd_string(e, "QUIET", NULL, 1);
	if ((module != NULL &&
	    !ENGINE_ctrl_cmd_string(e, "MODULE_PATH", module, 0)) ||
	    !ENGINE_init(e)) {
		ENGINE_free(e);
		return CFG_FAIL_SSL(cfg, MTLS_ERR_UNSUPPORTED, "OpenSSL's pkcs11 "
		    "engine could not be initialised");
	}
	ENGINE_free(e);         /* the functional reference of init stays */
	if (module != NULL && (engine_module = strdup(module)) == NULL) {
		ENGINE_finish(e);
		return CFG_FAIL(cfg, MTLS_ERR_NOMEM, "out of memory");
	}
	engine = e;
	return 0;
}

/* What the engine's error queue said, read and cleared. */
struct p11_errors {
	unsigned long ckr;          /* a PKCS#11 return value, or 0 */
	bool not_found;             /* the engine found no such object */
	bool module_failed;         /* the module did not load or start */
	char reason[160];           /* the first reason, for other failures */
};

static void
read_errors(struct p11_errors *pe)
{
	unsigned long e;

	memset(pe, 0, sizeof(*pe));
	while ((e = ERR_get_error()) != 0) {
		const char *lib = ERR_lib_error_string(e);
		const char *reason = ERR_reason_error_string(e);

		if (lib != NULL && strcmp(lib, "PKCS#11 module") == 0 &&
		    pe->ckr == 0)
			pe->ckr = (unsigned long)ERR_GET_REASON(e);
		else if (reason != NULL && strcmp(reason, "object not found") == 0)
			pe->not_found = true;
		else if (reason != NULL &&
		    strstr(reason, "Unable to load PKCS#11 module") != NULL)
			pe->module_failed = true;
		if (pe->reason[0] == '\0' && reason != NULL)
			snprintf(pe->reason, sizeof(pe->reason), "%s", reason);
	}
}

/* The token as messages name it. */
static void
token_name(const struct mtls_p11_uri *u, char *buf, size_t size)
{
	if (u->token != NULL)
		snprintf(buf, size, "token '%s'", u->token);
	else
		snprintf(buf, size, "the tokens of %s", mtls_p11_module(u) != NULL ?
		    mtls_p11_module(u) : "p11-kit-proxy");
}

static int
fail_pin(struct mtls_config *cfg, const struct mtls_p11_uri *u,
    unsigned long ckr)
{
	char tok[200];

	token_name(u, tok, sizeof(tok));
	switch (ckr) {
	case CKR_PIN_INCORRECT:
		return CFG_FAIL(cfg, MTLS_ERR_PASSPHRASE, "PKCS#11: the %s refused "
		    "the PIN (CKR_PIN_INCORRECT) for %s", tok, u->path);
	case CKR_PIN_LOCKED:
		return CFG_FAIL(cfg, MTLS_ERR_PASSPHRASE, "PKCS#11: the %s is "
		    "locked after too many wrong PINs (CKR_PIN_LOCKED): its "
		    "security officer must reset the PIN", tok);
	case CKR_PIN_EXPIRED:
		return CFG_FAIL(cfg, MTLS_ERR_PASSPHRASE, "PKCS#11: the PIN of the "
		    "%s has expired (CKR_PIN_EXPIRED): set a new one", tok);
	default:
		return CFG_FAIL(cfg, MTLS_ERR_PASSPHRASE, "PKCS#11: the %s refused "
		    "the PIN (%s) for %s", tok, ckr == CKR_PIN_LEN_RANGE ?
		    "CKR_PIN_LEN_RANGE: not of the token's PIN length" :
		    "CKR_PIN_INVALID", u->path);
	}
}

/* Why a load failed, said once with its code. */
static int
fail_load(struct mtls_config *cfg, const struct mtls_p11_uri *u,
    const char *what, bool pin_given)
{
	struct p11_errors pe;
	char tok[200];

	read_errors(&pe);
	token_name(u, tok, sizeof(tok));
	if (pe.ckr >= CKR_PIN_INCORRECT && pe.ckr <= CKR_PIN_LOCKED)
		return fail_pin(cfg, u, pe.ckr);
	if (ui_asked && !pin_given)
		return CFG_FAIL(cfg, MTLS_ERR_PASSPHRASE, "PKCS#11: the %s asks for "
		    "a PIN and none was given for %s (give it as the passphrase, "
		    "as pin-source=file:/path in the URI, or in $%s)", tok,
		    u->path, MTLS_PKCS11_PIN_ENV);
	if (pe.module_failed)
		return CFG_FAIL(cfg, MTLS_ERR_UNSUPPORTED, "PKCS#11 module %s: "
		    "cannot be loaded: %s", mtls_p11_module(u) != NULL ?
		    mtls_p11_module(u) : "p11-kit-proxy (the engine's default)",
		    pe.reason);
	if (pe.not_found || pe.reason[0] == '\0')
		return CFG_FAIL(cfg, MTLS_ERR_FILE, "no %s matches %s in %s",
		    what, u->path, tok);
	return CFG_FAIL(cfg, MTLS_ERR_FORMAT, "PKCS#11: cannot load the %s %s "
	    "from %s: %s", what, u->path, tok, pe.reason);
}

/* The engine ready for u, with its PIN: 0 under lock, or -1 unlocked. */
static int
begin_load(struct mtls_config *cfg, const struct mtls_p11_uri *u,
    const char *pass, bool *pin_given)
{
	const char *module = mtls_p11_module(u);
	char *pin = NULL;
	int rc;

	if ((module != NULL && check_module(cfg, module) != 0) ||
	    mtls_p11_pin(cfg, u, pass, &pin) != 0)
		return -1;
	pthread_mutex_lock(&lock);
	rc = make_silent_ui(cfg) != 0 || engine_get(cfg, module) != 0 ? -1 : 0;
	/* The engine copies the PIN (and keeps it to log in again after a
	 * fork); ours is wiped now. */
	if (rc == 0 && pin != NULL &&
	    !ENGINE_ctrl_cmd_string(engine, "PIN", pin, 0))
		rc = CFG_FAIL_SSL(cfg, MTLS_ERR_NOMEM, "the pkcs11 engine did not "
		    "take the PIN");
	*pin_given = pin != NULL;
	mtls_p11_pin_free(pin);
	if (rc != 0)
		pthread_mutex_unlock(&lock);
	ERR_clear_error();
	ui_asked = false;
	return rc;
}

int
mtls_pkcs11_load_key(struct mtls_config *cfg, const char *uri,
    const char *pass, EVP_PKEY **key)
{
	struct mtls_p11_uri u;
	bool pin_given;
	int rc = -1;

	*key = NULL;
	if (mtls_p11_uri_parse(cfg, uri, &u) == 0 &&
	    begin_load(cfg, &u, pass, &pin_given) == 0) {
		*key = ENGINE_load_private_key(engine, u.path, silent_ui, NULL);
		rc = *key != NULL ? 0 :
		    fail_load(cfg, &u, "private key", pin_given);
		pthread_mutex_unlock(&lock);
	}
	ERR_clear_error();
	mtls_p11_uri_free(&u);
	return rc;
}

int
mtls_pkcs11_load_cert(struct mtls_config *cfg, const char *uri,
    const char *pass, X509 **cert)
{
	struct mtls_p11_uri u;
	struct {
		const char *uri;
		X509 *cert;
	} params = { NULL, NULL };      /* the engine's LOAD_CERT_CTRL */
	bool pin_given;
	int rc = -1;

	*cert = NULL;
	if (mtls_p11_uri_parse(cfg, uri, &u) == 0 &&
	    begin_load(cfg, &u, pass, &pin_given) == 0) {
		params.uri = u.path;
		if (ENGINE_ctrl_cmd(engine, "LOAD_CERT_CTRL", 0, &params, NULL,
		    0) && params.cert != NULL) {
			*cert = params.cert;
			rc = 0;
		} else {
			rc = fail_load(cfg, &u, "certificate", pin_given);
		}
		pthread_mutex_unlock(&lock);
	}
	ERR_clear_error();
	mtls_p11_uri_free(&u);
	return rc;
}
