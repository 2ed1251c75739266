/*
 * mtls-client-out.c - what mtls-client writes, in curl's formats: the
 * body (-o FILE, -O, -J, standard output), response heads (-i, -D), the
 * conversation (-v, --trace, --trace-ascii) and -w/--write-out.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "mtls-client.h"

/* ------------------------------------------------------------ the body */

/* --create-dirs: the directories of path, as mkdir -p. */
static int
make_dirs(const char *path)
{
	char *copy = strdup(path), *p;
	int rc = 0;

	if (copy == NULL)
		return -1;
	for (p = copy + 1; rc == 0 && (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(copy, 0750) != 0 && errno != EEXIST)
			rc = -1;
		*p = '/';
	}
	free(copy);
	return rc;
}

static char *
in_dir(const char *dir, const char *name)
{
	size_t n = (dir ? strlen(dir) + 1 : 0) + strlen(name) + 1;
	char *path = malloc(n);

	if (path != NULL)
		snprintf(path, n, "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
	return path;
}

/* The file the body goes to: -o, else -J's name from disposition (which
 * must not exist yet, as curl's), else -O's from the URL. */
static int
out_open(struct transfer *t, const char *disposition)
{
	const struct options *o = t->o;
	struct output *out = t->out;
	char *name = NULL;
	int fd, excl = 0;

	if (out->f != NULL)
		return 0;
	if (o->output != NULL && strcmp(o->output, "-") != 0) {
		name = in_dir(o->output[0] == '/' ? NULL : o->output_dir,
		    o->output);
	} else if (o->output == NULL && o->remote_name) {
		char *base = NULL;

		if (o->remote_header_name && disposition != NULL &&
		    (base = cd_file_name(disposition)) != NULL)
			excl = 1;
		else if ((base = url_file_name(&t->url)) == NULL)
			return failure(EXIT_NOMEM, "out of memory");
		if (base[0] == '\0') {
			free(base);
			return failure(EXIT_WRITE, "-O: the URL '%s' names no file "
			    "(its path ends with '/'): use -o FILE", t->url.text);
		}
		name = in_dir(o->output_dir, base);
		free(base);
	} else {
		out->f = stdout;
		return 0;
	}
	if (name == NULL)
		return failure(EXIT_NOMEM, "out of memory");
	if (o->create_dirs && make_dirs(name) != 0)
		warning("--create-dirs: cannot create the directories of '%s': %s",
		    name, strerror(errno));
	fd = open(name, O_WRONLY | O_CREAT | O_CLOEXEC | (excl && !out->created ?
	    O_EXCL : O_TRUNC), 0666);
	if (fd < 0 || (out->f = fdopen(fd, "wb")) == NULL) {
		int err = errno;

		if (fd >= 0)
			close(fd);
		failure(EXIT_WRITE, "cannot create output file '%s': %s%s", name,
		    strerror(err), err == EEXIST ? " (-J never overwrites a "
		    "file)" : "");
		free(name);
		return EXIT_WRITE;
	}
	free(out->name);
	out->name = name;
	out->created = 1;
	free(t->info.filename_effective);
	t->info.filename_effective = strdup(name);
	return 0;
}

static int
write_failure(struct transfer *t)
{
	return failure(EXIT_WRITE, "failed writing the body to %s: %s",
	    t->out->name ? t->out->name : "standard output", strerror(errno));
}

int
out_write(struct transfer *t, const char *disposition, const void *p,
    size_t n)
{
	int rc = out_open(t, disposition);

	if (rc != 0)
		return rc;
	if (n > 0 && fwrite(p, 1, n, t->out->f) != n)
		return write_failure(t);
	if (t->o->no_buffer && fflush(t->out->f) != 0)
		return write_failure(t);
	return 0;
}

/* Ends the body's file (a retry then writes it anew). */
int
out_close(struct transfer *t)
{
	struct output *out = t->out;
	int rc;

	if (out->f == NULL)
		return 0;
	rc = out->f == stdout ? fflush(stdout) : fclose(out->f);
	out->f = NULL;
	return rc == 0 ? 0 : write_failure(t);
}

/* A response head: to -D's file always, to the body's output when shown
 * (-i, -I). */
int
write_head(struct transfer *t, const char *head, size_t len, int shown)
{
	const struct options *o = t->o;
	int rc;

	if (o->dump_header != NULL && t->out->dump == NULL) {
		t->out->dump = strcmp(o->dump_header, "-") == 0 ? stdout :
		    fopen(o->dump_header, "wb");
		if (t->out->dump == NULL)
			return failure(EXIT_WRITE, "-D: cannot create '%s': %s",
			    o->dump_header, strerror(errno));
	}
	if (t->out->dump != NULL && (fwrite(head, 1, len, t->out->dump) != len ||
	    fflush(t->out->dump) != 0))
		return failure(EXIT_WRITE, "-D: cannot write '%s': %s",
		    o->dump_header, strerror(errno));
	if (shown && (rc = out_write(t, NULL, head, len)) != 0)
		return rc;
	return 0;
}

/* ----------------------------------------------------- -v and --trace */

int
open_trace(struct transfer *t)
{
	const char *name = t->o->trace;

	if (name == NULL || t->out->trace != NULL)
		return 0;
	if (strcmp(name, "-") == 0)
		t->out->trace = stdout;
	else if (strcmp(name, "%") == 0)
		t->out->trace = stderr;
	else if ((t->out->trace = fopen(name, "w")) == NULL)
		return failure(EXIT_WRITE, "--trace: cannot create '%s': %s", name,
		    strerror(errno));
	return 0;
}

static void
trace_stamp(struct transfer *t)
{
	struct timeval tv;
	struct tm tm;

	if (!t->o->trace_time)
		return;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	fprintf(t->out->trace, "%02d:%02d:%02d.%06ld ", tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (long)tv.tv_usec);
}

/* "* text" under -v, "== Info: text" in a trace. */
void
trace_info(struct transfer *t, const char *fmt, ...)
{
	va_list ap;
	FILE *f = t->out->trace != NULL ? t->out->trace : stderr;

	if (t->out->trace == NULL && !t->o->verbose)
		return;
	if (t->out->trace != NULL) {
		trace_stamp(t);
		fputs("== Info: ", f);
	} else {
		fputs("* ", f);
	}
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

/* curl's dump of n bytes: offset, hex (--trace), text (--trace-ascii
 * also ends a line at CRLF). */
static void
dump(FILE *f, int ascii, const unsigned char *p, size_t n)
{
	size_t width = ascii ? 0x40 : 0x10, i, c;

	for (i = 0; i < n; i += width) {
		fprintf(f, "%04zx: ", i);
		for (c = 0; !ascii && c < width; c++)
			if (i + c < n)
				fprintf(f, "%02x ", p[i + c]);
			else
				fputs("   ", f);
		for (c = 0; c < width && i + c < n; c++) {
			if (ascii && i + c + 1 < n && p[i + c] == '\r' &&
			    p[i + c + 1] == '\n') {
				i += c + 2 - width;
				break;
			}
			fputc(p[i + c] >= 0x20 && p[i + c] < 0x80 ? p[i + c] : '.', f);
			if (ascii && i + c + 2 < n && p[i + c + 1] == '\r' &&
			    p[i + c + 2] == '\n') {
				i += c + 3 - width;
				break;
			}
		}
		fputc('\n', f);
	}
}

/* Under -v, the head lines with "> " or "< "; in a trace, curl's dump. */
void
trace_data(struct transfer *t, enum trace_kind kind, const void *p, size_t n)
{
	static const char *const what[] = { "=> Send header", "<= Recv header",
	    "=> Send data", "<= Recv data" };
	const char *s = p, *end = s + n;
	FILE *f = t->out->trace;

	if (f != NULL) {
		trace_stamp(t);
		fprintf(f, "%s, %zu bytes (0x%zx)\n", what[kind], n, n);
		dump(f, t->o->trace_ascii, p, n);
		return;
	}
	if (!t->o->verbose || kind >= TRACE_SEND_DATA)
		return;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = (size_t)((nl ? nl : end) - s);

		fprintf(stderr, "%c %.*s\n", kind == TRACE_SEND_HEADER ? '>' : '<',
		    (int)(len && s[len - 1] == '\r' ? len - 1 : len), s);
		s += len + (nl != NULL);
	}
}

/* ------------------------------------------------------------------ -w */

const char *
version_text(void)
{
	static char text[64];

	snprintf(text, sizeof(text), "libmtls/%s OpenSSL/%s", PACKAGE_VERSION,
	    OpenSSL_version(OPENSSL_VERSION_STRING));
	return text;
}

enum wtype { W_STR, W_INT, W_CODE, W_TIME };

struct wvar {
	const char *name;
	enum wtype type;
	const char *s;
	long long v;
};

static void
json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (c < 0x20)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

static void
print_var(FILE *f, const struct wvar *v, int json)
{
	switch (v->type) {
	case W_STR:
		if (json && v->s == NULL)
			fputs("null", f);
		else if (json)
			json_string(f, v->s);
		else if (v->s != NULL)
			fputs(v->s, f);
		break;
	case W_INT:
		fprintf(f, "%lld", v->v);
		break;
	case W_CODE:                /* an HTTP status: 3 digits, "000" */
		fprintf(f, json ? "%lld" : "%03lld", v->v);
		break;
	case W_TIME:
		fprintf(f, "%lld.%06lld", v->v / 1000000, v->v % 1000000);
		break;
	default:
		break;
	}
}

/* %{header_json}: the last response's headers, lower-case names, each
 * with the array of its values. */
static void
header_json(FILE *f, const struct info *in)
{
	size_t i, j;
	int first = 1;

	fputc('{', f);
	for (i = 0; i < in->nheaders; i++) {
		size_t nl = strcspn(in->headers[i], ":");
		char name[256];
		int seen = 0, firstv = 1;

		snprintf(name, sizeof(name), "%.*s", (int)nl, in->headers[i]);
		for (j = 0; name[j]; j++)
			name[j] = (char)(name[j] >= 'A' && name[j] <= 'Z' ?
			    name[j] + 32 : name[j]);
		for (j = 0; j < i && !seen; j++)
			seen = strncasecmp(in->headers[j], name, nl) == 0 &&
			    in->headers[j][nl] == ':';
		if (seen)
			continue;
		fprintf(f, "%s\"%s\":[", first ? "" : ",\n", name);
		first = 0;
		for (j = i; j < in->nheaders; j++) {
			const char *v = in->headers[j] + nl + 1;

			if (strncasecmp(in->headers[j], name, nl) != 0 ||
			    in->headers[j][nl] != ':')
				continue;
			fputs(firstv ? "" : ",", f);
			firstv = 0;
			json_string(f, v + strspn(v, " \t"));
		}
		fputc(']', f);
	}
	fputs("}", f);
}

static const char *
header_value(const struct info *in, const char *name, size_t nl)
{
	size_t i;

	for (i = 0; i < in->nheaders; i++)
		if (strncasecmp(in->headers[i], name, nl) == 0 &&
		    in->headers[i][nl] == ':')
			return in->headers[i] + nl + 1 + strspn(in->headers[i] + nl +
			    1, " \t");
	return NULL;
}

/* curl's variables, in its (alphabetical) order for %{json}. */
static size_t
variables(const struct options *o, const struct info *in, struct wvar *v,
    const char *errormsg)
{
	long long secs = in->t_total > 0 ? in->t_total : 1;
	size_t n = 0;

#define S(nm, val) v[n++] = (struct wvar){ nm, W_STR, val, 0 }
#define I(nm, val) v[n++] = (struct wvar){ nm, W_INT, NULL, (long long)(val) }
#define T(nm, val) v[n++] = (struct wvar){ nm, W_TIME, NULL, (long long)(val) }
#define C(nm, val) v[n++] = (struct wvar){ nm, W_CODE, NULL, (long long)(val) }
	S("content_type", in->content_type);
	S("errormsg", errormsg[0] ? errormsg : NULL);
	I("exitcode", in->exitcode);
	S("filename_effective", in->filename_effective);
	C("http_code", in->http_code);
	C("http_connect", in->http_connect);
	S("http_version", in->http_code ? "1.1" : "0");
	S("local_ip", in->local_ip[0] ? in->local_ip : NULL);
	I("local_port", in->local_port);
	S("method", in->method);
	I("num_connects", in->num_connects);
	I("num_headers", in->nheaders);
	I("num_redirects", in->num_redirects);
	I("proxy_ssl_verify_result", 0);
	S("redirect_url", in->redirect_url);
	S("referer", o->referer);
	S("remote_ip", in->remote_ip[0] ? in->remote_ip : NULL);
	I("remote_port", in->remote_port);
	C("response_code", in->http_code);
	S("scheme", "HTTPS");
	I("size_download", in->size_download);
	I("size_header", in->size_header);
	I("size_request", in->size_request);
	I("size_upload", in->size_upload);
	I("speed_download", (long long)in->size_download * 1000000 / secs);
	I("speed_upload", (long long)in->size_upload * 1000000 / secs);
	I("ssl_verify_result", in->ssl_verify_result);
	T("time_appconnect", in->t_appconnect);
	T("time_connect", in->t_connect);
	T("time_namelookup", in->t_namelookup);
	T("time_pretransfer", in->t_pretransfer);
	T("time_redirect", in->t_redirect);
	T("time_starttransfer", in->t_starttransfer);
	T("time_total", in->t_total);
	S("url", o->url);
	S("url_effective", in->url_effective);
	I("urlnum", 0);
#undef S
#undef I
#undef T
#undef C
	return n;
}

static void
write_json(FILE *f, const struct wvar *v, size_t n)
{
	size_t i;

	fputc('{', f);
	for (i = 0; i < n; i++) {
		fprintf(f, "\"%s\":", v[i].name);
		print_var(f, &v[i], 1);
		fputc(',', f);
	}
	fputs("\"curl_version\":", f);
	json_string(f, version_text());
	fputc('}', f);
}

/* One %{name} at *pp (just after "%{"); moves *pp past its '}'. */
static void
variable(const char **pp, FILE **f, const struct wvar *v, size_t n,
    const struct info *in)
{
	const char *p = *pp, *end = strchr(p, '}');
	size_t len, i;

	if (end == NULL) {
		fputs("%{", *f);
		return;
	}
	len = (size_t)(end - p);
	*pp = end + 1;
	if (len == 4 && strncmp(p, "json", 4) == 0) {
		write_json(*f, v, n);
		return;
	}
	if (len == 11 && strncmp(p, "header_json", 11) == 0) {
		header_json(*f, in);
		return;
	}
	if (len == 6 && strncmp(p, "stderr", 6) == 0) {
		*f = stderr;
		return;
	}
	if (len == 6 && strncmp(p, "stdout", 6) == 0) {
		*f = stdout;
		return;
	}
	for (i = 0; i < n; i++)
		if (strlen(v[i].name) == len && strncmp(v[i].name, p, len) == 0) {
			print_var(*f, &v[i], 0);
			return;
		}
	fprintf(stderr, "mtls-client: unknown --write-out variable: '%.*s'\n",
	    (int)len, p);
}

/* -w FORMAT, as curl's ourWriteOut: %{var}, %header{name}, %%, and the
 * escapes \n \r \t; anything else as it is. */
void
write_out(const struct options *o, const struct info *in)
{
	extern char last_error[];
	struct wvar v[48];
	size_t n = variables(o, in, v, last_error);
	const char *p = o->writeout;
	FILE *f = stdout;

	while (p != NULL && *p != '\0') {
		if (p[0] == '%' && p[1] == '%') {
			fputc('%', f);
			p += 2;
		} else if (p[0] == '%' && p[1] == '{') {
			p += 2;
			variable(&p, &f, v, n, in);
		} else if (p[0] == '%' && strncmp(p + 1, "header{", 7) == 0 &&
		    strchr(p, '}') != NULL) {
			const char *name = p + 8, *end = strchr(p, '}');
			const char *val = header_value(in, name, (size_t)(end - name));

			if (val != NULL)
				fputs(val, f);
			p = end + 1;
		} else if (p[0] == '%' && p[1] != '\0') {
			fputc(p[0], f);
			fputc(p[1], f);
			p += 2;
		} else if (p[0] == '\\' && p[1] != '\0') {
			switch (p[1]) {
			case 'n': fputc('\n', f); break;
			case 'r': fputc('\r', f); break;
			case 't': fputc('\t', f); break;
			default: fputc(p[0], f); fputc(p[1], f); break;
			}
			p += 2;
		} else {
			fputc(*p++, f);
		}
	}
	fflush(stdout);
}
