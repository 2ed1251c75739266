/*
 * dlclose-thread - what Ruby's FFI does at exit: the library is loaded
 * with dlopen, a thread waits in it (mtls_accept, woken by mtls_wake),
 * the program dlcloses the library, and only then does the thread end.
 * Its thread-exit destructor (the wake eventfd's, lib/wake.c) must still
 * be there to run: the library is built not to be unloaded.
 *
 *   dlclose-thread LIBMTLS.so SERVER.crt SERVER.key CA.crt
 *
 * Exit status 0 when the thread ended cleanly after the dlclose (a crash
 * is the failure), 1 when a step failed (said on stderr), 2 on bad usage.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

struct mtls;
struct mtls_config;

static struct {
	struct mtls_config *(*config_new)(void);
	int (*set_cert_file)(struct mtls_config *, const char *, const char *,
	    const char *);
	int (*set_ca_file)(struct mtls_config *, const char *);
	struct mtls *(*server_new)(struct mtls_config *);
	int (*listen)(struct mtls *, const char *, const char *, int);
	int (*accept)(struct mtls *, struct mtls **);
	int (*wake)(struct mtls *);
	void (*free)(struct mtls *);
	void (*config_free)(struct mtls_config *);
} f;

static int ends[2];                 /* the thread ends when ends[0] reads */
static int accept_rc = 99;

static void *
waiter(void *arg)
{
	struct mtls *conn = NULL;
	char byte;

	accept_rc = f.accept(arg, &conn);
	if (read(ends[0], &byte, 1) != 1)
		perror("read");
	return NULL;                /* the thread's destructors run now */
}

static int
load(void *lib)
{
	void **slots[] = { (void **)&f.config_new, (void **)&f.set_cert_file,
	    (void **)&f.set_ca_file, (void **)&f.server_new,
	    (void **)&f.listen, (void **)&f.accept, (void **)&f.wake,
	    (void **)&f.free, (void **)&f.config_free };
	const char *names[] = { "mtls_config_new", "mtls_config_set_cert_file",
	    "mtls_config_set_ca_file", "mtls_server_new", "mtls_listen",
	    "mtls_accept", "mtls_wake", "mtls_free", "mtls_config_free" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((*slots[i] = dlsym(lib, names[i])) == NULL) {
			fprintf(stderr, "dlsym %s: %s\n", names[i], dlerror());
			return -1;
		}
	return 0;
}

int
main(int argc, char **argv)
{
	struct mtls_config *cfg;
	struct mtls *srv;
	pthread_t t;
	void *lib;

	if (argc != 5) {
		fprintf(stderr, "usage: dlclose-thread LIB CERT KEY CA\n");
		return 2;
	}
	if ((lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    load(lib) != 0 || pipe(ends) != 0) {
		fprintf(stderr, "dlopen %s: %s\n", argv[1], lib ? "" : dlerror());
		return 1;
	}
	if ((cfg = f.config_new()) == NULL ||
	    f.set_cert_file(cfg, argv[2], argv[3], NULL) != 0 ||
	    f.set_ca_file(cfg, argv[4]) != 0 || (srv = f.server_new(cfg)) == NULL ||
	    f.listen(srv, "127.0.0.1", "0", 1) != 0) {
		fprintf(stderr, "dlclose-thread: cannot make a server\n");
		return 1;
	}
	pthread_create(&t, NULL, waiter, srv);
	usleep(200 * 1000);         /* it waits in poll(2), with its eventfd */
	f.wake(srv);
	while (__atomic_load_n(&accept_rc, __ATOMIC_ACQUIRE) == 99)
		usleep(1000);
	f.free(srv);
	f.config_free(cfg);
	if (dlclose(lib) != 0) {
		fprintf(stderr, "dlclose: %s\n", dlerror());
		return 1;
	}
	if (write(ends[1], "x", 1) != 1)
		perror("write");
	pthread_join(t, NULL);
	printf("the thread ended after dlclose (accept returned %d)\n",
	    accept_rc);
	return accept_rc == -1 ? 0 : 1;
}
