/*
 * check_constants.c - mtls_constant_at: each constant with the value the
 * headers give it, names distinct, NULL past the end, every error code
 * there under mtls_error_name's name, and no constant of the headers
 * missing from the table (the headers are read from $top_srcdir).
 */
#include <ctype.h>
#include <string.h>

#include "check_util.h"

/* The constants compiled into this test, from the headers it includes. */
#define C(name) { #name, (long)(name) }
static const struct {
	const char *name;
	long value;
} expected[] = {
	C(MTLS_ABI_VERSION), C(MTLS_WANT_POLLIN), C(MTLS_WANT_POLLOUT),
	C(MTLS_OK), C(MTLS_ERR_FILE), C(MTLS_ERR_TIMEOUT),
	C(MTLS_ERR_CERT_REJECTED), C(MTLS_ERR_INTERRUPTED),
	C(MTLS_ERR_PROXY_PROTOCOL),
	C(MTLS_VERIFY_CLIENT_REQUIRED), C(MTLS_VERIFY_CLIENT_OPTIONAL),
	C(MTLS_VERIFY_CLIENT_OPTIONAL_NO_CA),
	C(MTLS_ALLOW_CN), C(MTLS_ALLOW_SPKI_SHA256), C(MTLS_ALLOW_CERT_SHA256),
	C(MTLS_TLS1_2), C(MTLS_TLS1_3),
	C(MTLS_SAN_DNS), C(MTLS_SAN_IP), C(MTLS_SAN_URI), C(MTLS_SAN_EMAIL),
	C(MTLS_HTTP_STREAM), C(MTLS_HTTP_NOWAIT), C(MTLS_HTTP_MAX_BODY),
	C(MTLS_HTTP_MAX_HEADER_LINE),
};
#define NEXPECTED (sizeof(expected) / sizeof(expected[0]))

/* The table's size: the index of the first NULL. */
static size_t
count_constants(void)
{
	size_t n = 0;

	while (mtls_constant_at(n, NULL) != NULL)
		n++;
	return n;
}

/* The value of the constant called name; fails the test when absent. */
static long
lookup(const char *name)
{
	const char *got;
	long value;
	size_t i;

	for (i = 0; (got = mtls_constant_at(i, &value)) != NULL; i++)
		if (strcmp(got, name) == 0)
			return value;
	ck_abort_msg("mtls_constant_at has no %s", name);
	return 0;
}

/* Looped over expected[]. */
START_TEST(test_constant_has_header_value)
{
	ck_assert_int_eq(lookup(expected[_i].name), expected[_i].value);
}
END_TEST

START_TEST(test_constant_names_distinct)
{
	size_t n = count_constants(), i, j;

	ck_assert_uint_ge(n, NEXPECTED);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			ck_assert_str_ne(mtls_constant_at(i, NULL),
			    mtls_constant_at(j, NULL));
}
END_TEST

START_TEST(test_constant_past_end_is_null)
{
	long value = 12345;
	size_t n = count_constants();

	ck_assert_ptr_null(mtls_constant_at(n, &value));
	ck_assert_int_eq(value, 12345);
	ck_assert_ptr_null(mtls_constant_at((size_t)-1, &value));
	ck_assert_int_eq(value, 12345);
}
END_TEST

/* Each code mtls_error_name knows is a constant of that name and value,
 * and the table has no error code mtls_error_name does not know. */
START_TEST(test_constant_error_codes_match_error_name)
{
	const char *name;
	size_t i, codes = 0;
	long value;
	int code;

	for (code = 0; strcmp(mtls_error_name(code), "MTLS_ERR_UNKNOWN") != 0;
	    code++)
		ck_assert_int_eq(lookup(mtls_error_name(code)), code);
	for (i = 0; (name = mtls_constant_at(i, &value)) != NULL; i++) {
		if (strncmp(name, "MTLS_ERR_", 9) != 0 &&
		    strcmp(name, "MTLS_OK") != 0)
			continue;
		codes++;
		ck_assert_str_eq(mtls_error_name((int)value), name);
	}
	ck_assert_uint_eq(codes, (size_t)code);
}
END_TEST

/*
 * Every enum value and numeric #define named MTLS_* in the header file
 * path is in the table: a constant added to a header without its line in
 * lib/constants.c fails here.  Returns how many were found.
 */
static size_t
check_header(const char *path)
{
	char line[512], name[128];
	bool in_enum = false;
	size_t found = 0;
	FILE *f = fopen(path, "r");

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p = line;
		size_t n = 0;
		bool define = false;

		while (isspace((unsigned char)*p))
			p++;
		if (strncmp(p, "enum mtls_", 10) == 0 && strchr(p, '{') != NULL) {
			in_enum = true;
			continue;
		}
		if (in_enum && *p == '}') {
			in_enum = false;
			continue;
		}
		if (strncmp(p, "#define MTLS_", 13) == 0) {
			define = true;
			p += 8;
		} else if (!in_enum || strncmp(p, "MTLS_", 5) != 0) {
			continue;
		}
		while ((isupper((unsigned char)p[n]) || isdigit((unsigned char)p[n]) ||
		    p[n] == '_') && n < sizeof(name) - 1) {
			name[n] = p[n];
			n++;
		}
		name[n] = '\0';
		/* Include guards have no value; MTLS_EXPORT is no number. */
		if (define && (p[n] == '\n' || p[n] == '\0' ||
		    strcmp(name, "MTLS_EXPORT") == 0))
			continue;
		lookup(name);
		found++;
	}
	fclose(f);
	return found;
}

START_TEST(test_constant_every_header_constant_listed)
{
	const char *top = getenv("top_srcdir");
	char path[1024];
	size_t found;

	/* Run by hand or by make check-valgrind, without the variable: the
	 * source tree this program was built from. */
	if (top == NULL || *top == '\0')
		top = MTLS_TOP_SRCDIR;
	snprintf(path, sizeof(path), "%s/include/mtls.h", top);
	found = check_header(path);
	snprintf(path, sizeof(path), "%s/include/mtls_http.h", top);
	found += check_header(path);
	/* All of them: the table holds nothing the headers do not. */
	ck_assert_uint_eq(found, count_constants());
}
END_TEST

Suite *
constants_suite(void)
{
	Suite *s = suite_create("constants");
	TCase *tc = tcase_create("constants");

	tcase_add_loop_test(tc, test_constant_has_header_value, 0,
	    (int)NEXPECTED);
	tcase_add_test(tc, test_constant_names_distinct);
	tcase_add_test(tc, test_constant_past_end_is_null);
	tcase_add_test(tc, test_constant_error_codes_match_error_name);
	tcase_add_test(tc, test_constant_every_header_constant_listed);
	suite_add_tcase(s, tc);
	return s;
}
