/* Unit tests for common/config: defaults, the INI syntax, every error class
 * with its exact "file:line:", bounds, units, overrides and the reload
 * comparison. Run under ASan to check that replaced strings are freed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

typedef struct test_settings {
    char *greeting;
    char *listen;
    char *conninfo;
    int pool_size;
    bool verbose;
    unsigned heartbeat_ms;
    unsigned retry_delay_ms;
    size_t max_frame;
    size_t cache;
    char *empty;
    int offset;
} test_settings;

#define KEY(name, type, def, field, min, max, reload) \
    { name, type, def, offsetof(test_settings, field), min, max, reload, "A test key." }

static const config_key test_table[] = {
    KEY("greeting", CONFIG_STRING, "hello", greeting, 0, 0, true),
    KEY("server.listen", CONFIG_STRING, "127.0.0.1:7443", listen, 0, 0, false),
    KEY("database.conninfo", CONFIG_STRING, "dbname=callfloor", conninfo, 0, 0, false),
    KEY("database.pool_size", CONFIG_INT, "4", pool_size, 1, 64, false),
    KEY("log.verbose", CONFIG_BOOL, "no", verbose, 0, 0, true),
    KEY("session.heartbeat_interval", CONFIG_DURATION, "10s", heartbeat_ms, 1000, 600000, true),
    KEY("session.retry_delay_ms", CONFIG_DURATION, "250", retry_delay_ms, 0, 0, true),
    KEY("session.max_frame", CONFIG_SIZE, "1m", max_frame, 1024, 64 * 1024 * 1024, true),
    KEY("session.cache", CONFIG_SIZE, "0", cache, 0, 0, true),
    KEY("session.empty", CONFIG_STRING, NULL, empty, 0, 0, true),
    KEY("session.offset", CONFIG_INT, NULL, offset, 0, 0, true),
    {NULL, CONFIG_STRING, NULL, 0, 0, 0, false, NULL},
};

static char tmpdir[] = "/tmp/cf-test-config-XXXXXX";
static char err[512];

static int make_tmpdir(void **state) {
    (void)state;
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int remove_tmpdir(void **state) {
    (void)state;
    return rmdir(tmpdir);
}

/* Writes `text` to a fresh file in the temporary directory. */
static void write_file(char *path, size_t cap, const char *text, size_t len) {
    static int serial;
    snprintf(path, cap, "%s/conf%d.conf", tmpdir, serial++);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void load_defaults(test_settings *s) {
    memset(s, 0, sizeof *s);
    assert_int_equal(config_set_defaults(test_table, s, err, sizeof err), 0);
}

/* Loads `text` over the defaults; returns config_load_file's result. */
static int load_text(test_settings *s, const char *text, char *path, size_t cap) {
    load_defaults(s);
    write_file(path, cap, text, strlen(text));
    int rc = config_load_file(test_table, s, path, err, sizeof err);
    unlink(path);
    return rc;
}

static void test_defaults_applied(void **state) {
    (void)state;
    test_settings s;
    load_defaults(&s);
    assert_string_equal(s.greeting, "hello");
    assert_string_equal(s.listen, "127.0.0.1:7443");
    assert_int_equal(s.pool_size, 4);
    assert_false(s.verbose);
    assert_int_equal(s.heartbeat_ms, 10000);
    assert_int_equal(s.retry_delay_ms, 250);
    assert_int_equal(s.max_frame, 1024 * 1024);
    assert_int_equal(s.cache, 0);
    assert_string_equal(s.empty, "");
    assert_int_equal(s.offset, 0);
    config_free(test_table, &s);
    assert_null(s.greeting);
    assert_null(s.empty);
}

static void test_bad_default_is_reported(void **state) {
    (void)state;
    static const config_key broken[] = {
        KEY("session.heartbeat_interval", CONFIG_DURATION, "10", heartbeat_ms, 0, 0, true),
        {NULL, CONFIG_STRING, NULL, 0, 0, 0, false, NULL},
    };
    test_settings s;
    memset(&s, 0, sizeof s);
    assert_int_equal(config_set_defaults(broken, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "built-in default of session.heartbeat_interval"));
}

static void test_file_with_sections_comments_quotes(void **state) {
    (void)state;
    const char *text = "# callfloord test configuration\r\n"
                       "greeting = \"say \\\"hi\\\" \\\\ # not a comment \"\r\n"
                       "\n"
                       "[server]\n"
                       "  listen   =   0.0.0.0:9000   \n"
                       "; another comment style\n"
                       "[ database ]\n"
                       "conninfo = host=db user=cf password=p=q\n"
                       "pool_size=16\n"
                       "\t# indented comment\n"
                       "[log]\n"
                       "verbose = On\n"
                       "[session]\n"
                       "heartbeat_interval = 30s\n"
                       "retry_delay_ms = 1500\n"
                       "max_frame = 2M\n"
                       "cache = 3g\n"
                       "empty = \"\"\n"
                       "offset = -12";
    char path[256];
    test_settings s;
    assert_int_equal(load_text(&s, text, path, sizeof path), 0);
    assert_string_equal(s.greeting, "say \"hi\" \\ # not a comment ");
    assert_string_equal(s.listen, "0.0.0.0:9000");
    assert_string_equal(s.conninfo, "host=db user=cf password=p=q");
    assert_int_equal(s.pool_size, 16);
    assert_true(s.verbose);
    assert_int_equal(s.heartbeat_ms, 30000);
    assert_int_equal(s.retry_delay_ms, 1500);
    assert_int_equal(s.max_frame, 2 * 1024 * 1024);
    assert_int_equal(s.cache, (size_t)3 * 1024 * 1024 * 1024);
    assert_string_equal(s.empty, "");
    assert_int_equal(s.offset, -12);
    config_free(test_table, &s);
}

typedef struct error_case {
    const char *text;
    const char *expected; /* after "PATH:" */
} error_case;

static const error_case error_cases[] = {
    {"[server]\nlisten = x\n[sesion]\nheartbeat_interval = 10s\n",
     "4: unknown key 'sesion.heartbeat_interval' (see callfloord.conf.example)"},
    {"nosuchkey = 1\n", "1: unknown key 'nosuchkey' (see callfloord.conf.example)"},
    {"[session]\n\n# c\nheartbeat_interval = abc\n",
     "4: 'abc' is not a duration for session.heartbeat_interval (use e.g. 10s)"},
    {"[session]\nheartbeat_interval = 10\n",
     "2: '10' has no unit for session.heartbeat_interval (use e.g. 10s; units are ms, s, m, h)"},
    {"[session]\nheartbeat_interval = 10 s\n",
     "2: '10 s' is not a duration for session.heartbeat_interval (use e.g. 10s)"},
    {"[session]\nheartbeat_interval = 1h\n",
     "2: session.heartbeat_interval = 1h is out of range (1s to 10m)"},
    {"[database]\npool_size = 65\n", "2: database.pool_size = 65 is out of range (1 to 64)"},
    {"[database]\npool_size = 4x\n", "2: '4x' is not a whole number for database.pool_size"},
    {"[log]\nverbose = maybe\n", "2: 'maybe' is not a boolean for log.verbose (use true or false)"},
    {"[session]\nmax_frame = 1kb\n",
     "2: '1kb' is not a size for session.max_frame (use e.g. 512, 16k, 1m or 1g)"},
    {"[session]\nmax_frame = 65m\n",
     "2: session.max_frame = 65m is out of range (1 KiB to 64 MiB)"},
    {"[server]\nlisten = a\n\n[server]\nlisten = b\n",
     "5: duplicate key 'server.listen' (first set on line 2)"},
    {"[server]\nlisten\n",
     "2: a line without '=' (expected key = value, a [section] or a # comment)"},
    {"[server\n", "1: a section header must end with ']' (e.g. [session])"},
    {"[ ]\n", "1: a section header needs a name of at most 127 characters"},
    {" = 3\n", "1: a key name is missing before '='"},
    {"greeting = \"open\n", "1: the quoted value has no closing '\"'"},
    {"greeting = \"a\\nb\"\n",
     "1: unknown escape in a quoted value (only \\\" and \\\\ are allowed)"},
    {"greeting = \"a\" b\n", "1: unexpected text after the closing '\"'"},
};

static void test_each_error_names_file_and_line(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        char path[256], expected[512];
        test_settings s;
        int rc = load_text(&s, error_cases[i].text, path, sizeof path);
        snprintf(expected, sizeof expected, "%s:%s", path, error_cases[i].expected);
        assert_int_equal(rc, -1);
        assert_string_equal(err, expected);
        config_free(test_table, &s);
    }
}

static void test_nul_byte_is_refused(void **state) {
    (void)state;
    char path[256], expected[512];
    test_settings s;
    load_defaults(&s);
    write_file(path, sizeof path, "greeting = a\nx\0y = 1\n", 21);
    assert_int_equal(config_load_file(test_table, &s, path, err, sizeof err), -1);
    unlink(path);
    snprintf(expected, sizeof expected, "%s:2: the line contains a NUL byte; is this a text file?",
             path);
    assert_string_equal(err, expected);
    config_free(test_table, &s);
}

static void test_cannot_open(void **state) {
    (void)state;
    char path[256], expected[512];
    test_settings s;
    load_defaults(&s);
    snprintf(path, sizeof path, "%s/missing.conf", tmpdir);
    assert_int_equal(config_load_file(test_table, &s, path, err, sizeof err), -1);
    snprintf(expected, sizeof expected,
             "%s: cannot open the configuration file: No such file or directory", path);
    assert_string_equal(err, expected);
    assert_int_equal(config_load_file(test_table, &s, tmpdir, err, sizeof err), -1);
    snprintf(expected, sizeof expected, "%s: cannot read the configuration file: Is a directory",
             tmpdir);
    assert_string_equal(err, expected);
    config_free(test_table, &s);
}

/* A file of exactly 1 MiB of comments loads; one byte more is refused. */
static void test_size_limit(void **state) {
    (void)state;
    size_t limit = 1024 * 1024;
    char *text = malloc(limit + 1);
    assert_non_null(text);
    memset(text, '#', limit + 1);
    for (size_t i = 63; i < limit + 1; i += 64)
        text[i] = '\n';
    char path[256], expected[512];
    test_settings s;
    load_defaults(&s);
    write_file(path, sizeof path, text, limit);
    assert_int_equal(config_load_file(test_table, &s, path, err, sizeof err), 0);
    unlink(path);
    write_file(path, sizeof path, text, limit + 1);
    assert_int_equal(config_load_file(test_table, &s, path, err, sizeof err), -1);
    unlink(path);
    snprintf(expected, sizeof expected,
             "%s: the file is larger than 1 MiB; is it a configuration file?", path);
    assert_string_equal(err, expected);
    free(text);
    config_free(test_table, &s);
}

/* Sets `name` from text; returns config_set's result. */
static int set(test_settings *s, const char *name, const char *value) {
    return config_set(test_table, s, name, value, "--set", err, sizeof err);
}

static void test_int_bounds(void **state) {
    (void)state;
    test_settings s;
    load_defaults(&s);
    assert_int_equal(set(&s, "database.pool_size", "1"), 0);
    assert_int_equal(s.pool_size, 1);
    assert_int_equal(set(&s, "database.pool_size", "64"), 0);
    assert_int_equal(s.pool_size, 64);
    assert_int_equal(set(&s, "database.pool_size", "0"), -1);
    assert_string_equal(err, "--set: database.pool_size = 0 is out of range (1 to 64)");
    assert_int_equal(s.pool_size, 64);
    assert_int_equal(set(&s, "session.offset", "-2147483648"), 0);
    assert_int_equal(s.offset, -2147483647 - 1);
    assert_int_equal(set(&s, "session.offset", "2147483648"), -1);
    assert_string_equal(err, "--set: session.offset = 2147483648 is out of range "
                             "(-2147483648 to 2147483647)");
    assert_int_equal(set(&s, "session.offset", "99999999999999999999"), -1);
    assert_non_null(strstr(err, "is out of range"));
    assert_int_equal(set(&s, "session.offset", ""), -1);
    assert_string_equal(err, "--set: '' is not a whole number for session.offset");
    config_free(test_table, &s);
}

static void test_durations(void **state) {
    (void)state;
    static const struct {
        const char *text;
        unsigned ms;
    } ok[] = {{"1000ms", 1000}, {"1s", 1000}, {"10s", 10000},  {"5m", 300000},
              {"10M", 600000},  {"2S", 2000}, {"1500MS", 1500}};
    test_settings s;
    load_defaults(&s);
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(set(&s, "session.heartbeat_interval", ok[i].text), 0);
        assert_int_equal(s.heartbeat_ms, ok[i].ms);
    }
    assert_int_equal(set(&s, "session.heartbeat_interval", "999ms"), -1);
    assert_string_equal(err,
                        "--set: session.heartbeat_interval = 999ms is out of range (1s to 10m)");
    assert_int_equal(set(&s, "session.heartbeat_interval", "-5s"), -1);
    assert_int_equal(set(&s, "session.heartbeat_interval", "1.5s"), -1);
    assert_int_equal(set(&s, "session.heartbeat_interval", "s"), -1);
    assert_int_equal(s.heartbeat_ms, 1500);

    assert_int_equal(set(&s, "session.retry_delay_ms", "42"), 0);
    assert_int_equal(s.retry_delay_ms, 42);
    assert_int_equal(set(&s, "session.retry_delay_ms", "2h"), 0);
    assert_int_equal(s.retry_delay_ms, 7200000);
    assert_int_equal(set(&s, "session.retry_delay_ms", "4294967295"), 0);
    assert_int_equal(s.retry_delay_ms, 4294967295u);
    assert_int_equal(set(&s, "session.retry_delay_ms", "4294967296"), -1);
    assert_string_equal(err, "--set: session.retry_delay_ms = 4294967296 is out of range "
                             "(0ms to 4294967295ms)");
    assert_int_equal(set(&s, "session.retry_delay_ms", "5000000h"), -1);
    assert_int_equal(set(&s, "session.retry_delay_ms", "99999999999999999999999h"), -1);
    assert_string_equal(err, "--set: '99999999999999999999999h' is not a duration for "
                             "session.retry_delay_ms (use e.g. 250)");
    config_free(test_table, &s);
}

static void test_sizes(void **state) {
    (void)state;
    static const struct {
        const char *text;
        size_t bytes;
    } ok[] = {{"1024", 1024},
              {"16k", 16 * 1024},
              {"16K", 16 * 1024},
              {"1m", 1024 * 1024},
              {"64M", 64 * 1024 * 1024}};
    test_settings s;
    load_defaults(&s);
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(set(&s, "session.max_frame", ok[i].text), 0);
        assert_int_equal(s.max_frame, ok[i].bytes);
    }
    assert_int_equal(set(&s, "session.max_frame", "1023"), -1);
    assert_string_equal(err, "--set: session.max_frame = 1023 is out of range (1 KiB to 64 MiB)");
    assert_int_equal(set(&s, "session.cache", "2G"), 0);
    assert_int_equal(s.cache, (size_t)2 * 1024 * 1024 * 1024);
    assert_int_equal(set(&s, "session.cache", "0"), 0);
    assert_int_equal(s.cache, 0);
    assert_int_equal(set(&s, "session.cache", "-1"), -1);
    assert_int_equal(set(&s, "session.cache", "1t"), -1);
    assert_string_equal(
        err, "--set: '1t' is not a size for session.cache (use e.g. 512, 16k, 1m or 1g)");
    config_free(test_table, &s);
}

static void test_set_override(void **state) {
    (void)state;
    test_settings s;
    load_defaults(&s);
    assert_int_equal(set(&s, "greeting", "first"), 0);
    assert_int_equal(set(&s, "greeting", "second"), 0);
    assert_string_equal(s.greeting, "second");
    assert_int_equal(
        config_set(test_table, &s, "log.verbose", "TRUE", "--verbose", err, sizeof err), 0);
    assert_true(s.verbose);
    assert_int_equal(
        config_set(test_table, &s, "log.verbose", "sure", "--verbose", err, sizeof err), -1);
    assert_string_equal(err, "--verbose: 'sure' is not a boolean for log.verbose (use true or "
                             "false)");
    assert_true(s.verbose);
    assert_int_equal(set(&s, "server.port", "1"), -1);
    assert_string_equal(err, "--set: unknown key 'server.port' (see callfloord.conf.example)");
    config_free(test_table, &s);
}

/* A later file can change a key an earlier file set: duplicates are only
 * refused within one file. */
static void test_second_file_overrides_first(void **state) {
    (void)state;
    char first[256], second[256];
    test_settings s;
    load_defaults(&s);
    write_file(first, sizeof first, "[server]\nlisten = a:1\n", 22);
    write_file(second, sizeof second, "[server]\nlisten = b:2\n", 22);
    assert_int_equal(config_load_file(test_table, &s, first, err, sizeof err), 0);
    assert_int_equal(config_load_file(test_table, &s, second, err, sizeof err), 0);
    unlink(first);
    unlink(second);
    assert_string_equal(s.listen, "b:2");
    config_free(test_table, &s);
}

static void test_changed_fixed_keys(void **state) {
    (void)state;
    test_settings a, b;
    load_defaults(&a);
    load_defaults(&b);
    char out[128];
    assert_int_equal(config_changed_fixed_keys(test_table, &a, &b, out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(set(&b, "greeting", "changed but reloadable"), 0);
    assert_int_equal(set(&b, "session.heartbeat_interval", "20s"), 0);
    assert_int_equal(config_changed_fixed_keys(test_table, &a, &b, out, sizeof out), 0);
    assert_int_equal(set(&b, "server.listen", "0.0.0.0:1"), 0);
    assert_int_equal(set(&b, "database.pool_size", "8"), 0);
    assert_int_equal(config_changed_fixed_keys(test_table, &a, &b, out, sizeof out), 2);
    assert_string_equal(out, "server.listen, database.pool_size");
    char tiny[8];
    assert_int_equal(config_changed_fixed_keys(test_table, &a, &b, tiny, sizeof tiny), 2);
    assert_string_equal(tiny, "server.");
    config_free(test_table, &a);
    config_free(test_table, &b);
}

static void test_find(void **state) {
    (void)state;
    const config_key *k = config_find(test_table, "session.max_frame");
    assert_non_null(k);
    assert_int_equal(k->type, CONFIG_SIZE);
    assert_null(config_find(test_table, "session"));
    assert_null(config_find(test_table, "max_frame"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_applied),
        cmocka_unit_test(test_bad_default_is_reported),
        cmocka_unit_test(test_file_with_sections_comments_quotes),
        cmocka_unit_test(test_each_error_names_file_and_line),
        cmocka_unit_test(test_nul_byte_is_refused),
        cmocka_unit_test(test_cannot_open),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_int_bounds),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_set_override),
        cmocka_unit_test(test_second_file_overrides_first),
        cmocka_unit_test(test_changed_fixed_keys),
        cmocka_unit_test(test_find),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
