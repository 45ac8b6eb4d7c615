/* The migrations compiled into the binary: numbered 1..N, byte for byte
 * the files in server/sql, and cmake/embed_sql.cmake refusing the file sets
 * that would make the daemon skip or reorder one. */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "migrate.h"
#include "migrate_sources.h"

#define THIS_FILE_IN_TREE "tests/unit/test_migrate_embed.c"

/* CMake compiles with absolute paths, so the checkout is __FILE__ minus
 * its path inside the tree. */
static const char *source_path(const char *relative) {
    static char path[4096];
    size_t file_len = strlen(__FILE__), tail_len = strlen(THIS_FILE_IN_TREE);
    assert_true(file_len > tail_len);
    assert_string_equal(__FILE__ + file_len - tail_len, THIS_FILE_IN_TREE);
    snprintf(path, sizeof path, "%.*s%s", (int)(file_len - tail_len), __FILE__, relative);
    return path;
}

/* Reads a whole small file into a NUL-terminated heap buffer. */
static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = 2 * cap + 4096 + 1;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void write_file(const char *dir, const char *name, const char *bytes, size_t len) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_sources_are_numbered_from_one(void **state) {
    (void)state;
    assert_true(migrate_source_count >= 1);
    for (int i = 0; i < migrate_source_count; i++) {
        assert_int_equal(migrate_sources[i].version, i + 1);
        assert_true(migrate_sources[i].name[0] != '\0');
        assert_true(migrate_sources[i].sql[0] != '\0');
    }
    assert_int_equal(migrate_latest_version(), migrate_source_count);
    assert_string_equal(migrate_sources[0].name, "init");
}

static void test_embedded_sql_is_the_file(void **state) {
    (void)state;
    for (int i = 0; i < migrate_source_count; i++) {
        char relative[256];
        snprintf(relative, sizeof relative, "server/sql/%03d_%s.sql", migrate_sources[i].version,
                 migrate_sources[i].name);
        size_t len;
        char *file = read_file(source_path(relative), &len);
        assert_int_equal(strlen(migrate_sources[i].sql), len);
        assert_memory_equal(migrate_sources[i].sql, file, len);
        free(file);
    }
}

/* A scratch SQL directory, the generated C file and the script's stderr. */
typedef struct scratch {
    char dir[64];
    char sql_dir[96];
    char out[96];
    char errors[96];
} scratch;

static int scratch_setup(void **state) {
    scratch *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -1;
    *state = s;
    snprintf(s->dir, sizeof s->dir, "/tmp/cf_embed_XXXXXX");
    if (mkdtemp(s->dir) == NULL)
        return -1;
    snprintf(s->sql_dir, sizeof s->sql_dir, "%s/sql", s->dir);
    snprintf(s->out, sizeof s->out, "%s/out.c", s->dir);
    snprintf(s->errors, sizeof s->errors, "%s/errors.txt", s->dir);
    return mkdir(s->sql_dir, 0700);
}

static int scratch_teardown(void **state) {
    scratch *s = *state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
    int rc = s->dir[0] != '\0' ? system(cmd) : 0;
    free(s);
    return rc == 0 ? 0 : -1;
}

/* Runs the script the way server/CMakeLists.txt does; returns its exit
 * status. */
static int run_embed(const scratch *s) {
    if (system("cmake --version >/dev/null 2>&1") != 0)
        skip();
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cmake -DSQL_DIR='%s' -DOUT='%s' -P '%s' >/dev/null 2>'%s'",
             s->sql_dir, s->out, source_path("cmake/embed_sql.cmake"), s->errors);
    return system(cmd);
}

/* CMake wraps its messages at 80 columns wherever the path lengths put the
 * breaks; one space between words makes them searchable. */
static void squeeze_spaces(char *text) {
    char *out = text;
    for (const char *in = text; *in != '\0'; in++)
        if (!isspace((unsigned char)*in) || (out > text && out[-1] != ' '))
            *out++ = isspace((unsigned char)*in) ? ' ' : *in;
    *out = '\0';
}

static void assert_refused(const scratch *s, const char *why) {
    assert_int_not_equal(run_embed(s), 0);
    size_t len;
    char *errors = read_file(s->errors, &len);
    squeeze_spaces(errors);
    print_message("%s\n", errors);
    assert_non_null(strstr(errors, why));
    free(errors);
    assert_int_not_equal(access(s->out, F_OK), 0);
}

/* Returns the bytes of `array` in the generated file, up to the 0x00 that
 * must end it. */
static char *generated_bytes(const char *generated, const char *array, size_t *len) {
    char header[128];
    snprintf(header, sizeof header, "static const unsigned char %s[] = {", array);
    const char *p = strstr(generated, header);
    assert_non_null(p);
    p += strlen(header);
    char *bytes = malloc(strlen(p) / 5 + 1);
    assert_non_null(bytes);
    size_t n = 0;
    unsigned value;
    int used;
    while (sscanf(p, " 0x%2x,%n", &value, &used) == 1 && value != 0) {
        bytes[n++] = (char)value;
        p += used;
    }
    assert_int_equal(value, 0);
    assert_non_null(strstr(p, "0x00}"));
    *len = n;
    return bytes;
}

/* Everything a string literal would have to escape, a line longer than
 * 4095 bytes, CRLF and bytes that are not UTF-8 must come out unchanged. */
static void test_embed_keeps_every_byte(void **state) {
    scratch *s = *state;
    size_t len = 0;
    char sql[8192];
    len += (size_t)snprintf(sql, sizeof sql,
                            "-- ' \" \\ \\n ?\?= ?\?/ ; [[x]] ${VAR} @VAR@ %s\r\nSELECT 1;\n",
                            "\xe6\xb1\x89\xe5\xad\x97");
    memset(sql + len, 'x', 5000);
    len += 5000;
    for (int b = 1; b < 256; b++)
        sql[len++] = (char)b;
    write_file(s->sql_dir, "001_tricky.sql", sql, len);
    write_file(s->sql_dir, "002_second_one.sql", "SELECT 2;\n", 10);
    assert_int_equal(run_embed(s), 0);

    size_t generated_len, got_len;
    char *generated = read_file(s->out, &generated_len);
    char *got = generated_bytes(generated, "migration_001_tricky", &got_len);
    assert_int_equal(got_len, len);
    assert_memory_equal(got, sql, len);
    free(got);
    got = generated_bytes(generated, "migration_002_second_one", &got_len);
    assert_int_equal(got_len, 10);
    assert_memory_equal(got, "SELECT 2;\n", 10);
    free(got);
    assert_non_null(strstr(generated, "{1, \"tricky\", (const char *)migration_001_tricky}"));
    assert_non_null(
        strstr(generated, "{2, \"second_one\", (const char *)migration_002_second_one}"));
    assert_non_null(strstr(generated, "const int migrate_source_count = 2;"));
    free(generated);
}

static void test_embed_refuses_a_gap(void **state) {
    scratch *s = *state;
    write_file(s->sql_dir, "001_a.sql", "SELECT 1;\n", 10);
    write_file(s->sql_dir, "003_c.sql", "SELECT 3;\n", 10);
    assert_refused(s, "expected version 2");
}

static void test_embed_refuses_a_duplicate(void **state) {
    scratch *s = *state;
    write_file(s->sql_dir, "001_a.sql", "SELECT 1;\n", 10);
    write_file(s->sql_dir, "001_b.sql", "SELECT 1;\n", 10);
    assert_refused(s, "expected version 2");
}

static void test_embed_refuses_not_starting_at_one(void **state) {
    scratch *s = *state;
    write_file(s->sql_dir, "002_b.sql", "SELECT 2;\n", 10);
    assert_refused(s, "expected version 1");
}

static void test_embed_refuses_bad_names(void **state) {
    scratch *s = *state;
    const char *names[] = {"1_init.sql",   "0001_init.sql", "001-init.sql",
                           "001_Init.sql", "001_.sql",      "001_in it.sql"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        write_file(s->sql_dir, names[i], "SELECT 1;\n", 10);
        print_message("%s\n", names[i]);
        assert_refused(s, "NNN_name.sql");
        char path[256];
        snprintf(path, sizeof path, "%s/%s", s->sql_dir, names[i]);
        assert_int_equal(unlink(path), 0);
    }
}

static void test_embed_refuses_no_migrations(void **state) {
    scratch *s = *state;
    assert_refused(s, "no migrations");
}

static void test_embed_refuses_bad_contents(void **state) {
    scratch *s = *state;
    write_file(s->sql_dir, "001_a.sql", "", 0);
    assert_refused(s, "is empty");
    write_file(s->sql_dir, "001_a.sql", "SELECT 1;\0SELECT 2;\n", 20);
    assert_refused(s, "NUL byte");
    write_file(s->sql_dir, "001_a.sql", "\xef\xbb\xbfSELECT 1;\n", 13);
    assert_refused(s, "byte order mark");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sources_are_numbered_from_one),
        cmocka_unit_test(test_embedded_sql_is_the_file),
        cmocka_unit_test_setup_teardown(test_embed_keeps_every_byte, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_embed_refuses_a_gap, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_embed_refuses_a_duplicate, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_embed_refuses_not_starting_at_one, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_embed_refuses_bad_names, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_embed_refuses_no_migrations, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_embed_refuses_bad_contents, scratch_setup,
                                        scratch_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
