/* Tests of the command-line plumbing that needs no server: flags and the
 * environment, password files and standard input, exit codes and error
 * sentences, display widths of Chinese text, tables and times. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static char scratch_dir[] = "/tmp/test_cli.XXXXXX";

static const char *write_file(const char *name, const char *content) {
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", scratch_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    return path;
}

/* Makes `content` (or an empty file) the process's standard input, which
 * also guarantees it is not a terminal. */
static void set_stdin(const char *content) {
    const char *path = write_file("stdin", content);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
    close(fd);
}

static void remove_scratch_files(void) {
    static const char *const names[] = {"stdin", "pw1",  "pw2",  "pw3",  "empty",
                                        "blank", "long", "fits", "login"};
    char path[256];
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        snprintf(path, sizeof path, "%s/%s", scratch_dir, names[k]);
        unlink(path);
    }
    rmdir(scratch_dir);
}

static void clear_env(void) {
    unsetenv("CALLFLOOR_SERVER");
    unsetenv("CALLFLOOR_CA");
    unsetenv("CALLFLOOR_USER");
    unsetenv("CALLFLOOR_PASSWORD");
}

static int setup(void **state) {
    (void)state;
    clear_env();
    return 0;
}

/* ---- flags ---- */

static int parse_all(cli_conn_options *o, int argc, char **argv, char *err, size_t errlen,
                     int *unknown_at) {
    *unknown_at = -1;
    for (int i = 1; i < argc; i++) {
        int rc = cli_conn_parse_flag(o, argc, argv, &i, err, errlen);
        if (rc < 0)
            return -1;
        if (rc == 0 && *unknown_at < 0)
            *unknown_at = i;
    }
    return 0;
}

static void test_flag_forms(void **state) {
    (void)state;
    char *argv[] = {"prog",  "--server",  "h.example:9000",    "--ca=ca.pem", "--timeout",
                    "2.5",   "--user=李", "--bogus",           "--cert",      "c.pem",
                    "--key", "k.pem",     "--password-file=pw"};
    cli_conn_options o;
    cli_conn_init(&o);
    char err[256];
    int unknown_at;
    assert_int_equal(parse_all(&o, 13, argv, err, sizeof err, &unknown_at), 0);
    assert_string_equal(o.server, "h.example:9000");
    assert_string_equal(o.ca_file, "ca.pem");
    assert_int_equal(o.timeout_ms, 2500);
    assert_string_equal(o.user, "李");
    assert_string_equal(o.cert_file, "c.pem");
    assert_string_equal(o.key_file, "k.pem");
    assert_string_equal(o.password_file, "pw");
    assert_int_equal(unknown_at, 7);
}

static void test_flag_errors(void **state) {
    (void)state;
    char err[256];
    cli_conn_options o;
    cli_conn_init(&o);
    char *missing[] = {"prog", "--server"};
    int i = 1;
    assert_int_equal(cli_conn_parse_flag(&o, 2, missing, &i, err, sizeof err), -1);
    assert_non_null(strstr(err, "--server"));
    const char *bad[] = {"--timeout=abc", "--timeout=0", "--timeout=-3",
                         "--timeout=1e9", "--server=",   "--user="};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char *argv[] = {"prog", (char *)bad[k]};
        i = 1;
        assert_int_equal(cli_conn_parse_flag(&o, 2, argv, &i, err, sizeof err), -1);
    }
    char *prefix[] = {"prog", "--servers=x"};
    i = 1;
    assert_int_equal(cli_conn_parse_flag(&o, 2, prefix, &i, err, sizeof err), 0);
    assert_null(o.server);
}

static void test_env_precedence(void **state) {
    (void)state;
    setenv("CALLFLOOR_SERVER", "env.example:1", 1);
    setenv("CALLFLOOR_USER", "envuser", 1);
    setenv("CALLFLOOR_CA", "env-ca.pem", 1);
    cli_conn_options o;
    cli_conn_init(&o);
    o.server = "flag.example:2";
    cli_conn_apply_env(&o);
    assert_string_equal(o.server, "flag.example:2");
    assert_string_equal(o.user, "envuser");
    assert_string_equal(o.ca_file, "env-ca.pem");

    setenv("CALLFLOOR_SERVER", "", 1);
    unsetenv("CALLFLOOR_USER");
    unsetenv("CALLFLOOR_CA");
    cli_conn_init(&o);
    cli_conn_apply_env(&o);
    assert_string_equal(o.server, CLI_DEFAULT_SERVER);
    assert_null(o.user);
    assert_null(o.ca_file);
}

/* ---- passwords ---- */

static void test_password_file_first_line(void **state) {
    (void)state;
    char pw[CLI_PASSWORD_MAX + 1], err[256];
    const char *path = write_file("pw1", "correct horse\nsecond line\n");
    assert_int_equal(cli_read_password_file(path, pw, sizeof pw, err, sizeof err), 0);
    assert_string_equal(pw, "correct horse");
    path = write_file("pw2", "dos line\r\n");
    assert_int_equal(cli_read_password_file(path, pw, sizeof pw, err, sizeof err), 0);
    assert_string_equal(pw, "dos line");
    path = write_file("pw3", "no newline");
    assert_int_equal(cli_read_password_file(path, pw, sizeof pw, err, sizeof err), 0);
    assert_string_equal(pw, "no newline");
}

static void test_password_file_missing(void **state) {
    (void)state;
    char pw[64], err[256];
    char path[300];
    snprintf(path, sizeof path, "%s/does-not-exist", scratch_dir);
    assert_int_equal(cli_read_password_file(path, pw, sizeof pw, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "--password-file"));
}

static void test_password_file_empty(void **state) {
    (void)state;
    char pw[64], err[256];
    const char *path = write_file("empty", "");
    assert_int_equal(cli_read_password_file(path, pw, sizeof pw, err, sizeof err), -1);
    assert_non_null(strstr(err, "empty"));
    path = write_file("blank", "\nsecret on line two\n");
    assert_int_equal(cli_read_password_file(path, pw, sizeof pw, err, sizeof err), -1);
    assert_non_null(strstr(err, "empty"));
}

static void test_password_file_too_long(void **state) {
    (void)state;
    char pw[16], err[256];
    const char *path = write_file("long", "0123456789abcdefghij\n");
    assert_int_equal(cli_read_password_file(path, pw, sizeof pw, err, sizeof err), -1);
    assert_non_null(strstr(err, "longer than 15"));
    path = write_file("fits", "0123456789abcd\n");
    assert_int_equal(cli_read_password_file(path, pw, sizeof pw, err, sizeof err), 0);
    assert_string_equal(pw, "0123456789abcd");
}

static void test_login_password_sources(void **state) {
    (void)state;
    char err[512];
    cli_conn_options o;
    set_stdin("");

    cli_conn_init(&o);
    o.user = "admin";
    o.password_file = write_file("login", "from-file\n");
    setenv("CALLFLOOR_PASSWORD", "from-env", 1);
    assert_int_equal(cli_conn_finish(&o, err, sizeof err), 0);
    assert_true(o.have_password);
    assert_string_equal(o.password, "from-file");
    cli_conn_wipe(&o);
    assert_false(o.have_password);
    assert_int_equal(o.password[0], '\0');

    cli_conn_init(&o);
    o.user = "admin";
    assert_int_equal(cli_conn_finish(&o, err, sizeof err), 0);
    assert_string_equal(o.password, "from-env");

    unsetenv("CALLFLOOR_PASSWORD");
    cli_conn_init(&o);
    o.user = "admin";
    assert_int_equal(cli_conn_finish(&o, err, sizeof err), -1);
    assert_non_null(strstr(err, "--password-file"));
    assert_non_null(strstr(err, "CALLFLOOR_PASSWORD"));
}

static void test_login_identity_checks(void **state) {
    (void)state;
    char err[512];
    cli_conn_options o;
    cli_conn_init(&o);
    assert_int_equal(cli_conn_finish(&o, err, sizeof err), -1);
    assert_non_null(strstr(err, "--user"));

    cli_conn_init(&o);
    o.cert_file = "c.pem";
    assert_int_equal(cli_conn_finish(&o, err, sizeof err), -1);
    assert_non_null(strstr(err, "--key"));

    cli_conn_init(&o);
    o.cert_file = "c.pem";
    o.key_file = "k.pem";
    assert_int_equal(cli_conn_finish(&o, err, sizeof err), 0);
    assert_false(o.have_password);

    client_options co;
    cli_conn_to_client(&o, "test", &co);
    assert_null(co.password);
    assert_null(co.username);
    assert_string_equal(co.server, CLI_DEFAULT_SERVER);
    assert_string_equal(co.client_name, "test");
}

static void test_new_password_from_stdin(void **state) {
    (void)state;
    char pw[CLI_PASSWORD_MAX + 1], err[256];
    set_stdin("brand-new-pass\nignored\n");
    assert_int_equal(cli_read_new_password("bob", pw, sizeof pw, err, sizeof err), 0);
    assert_string_equal(pw, "brand-new-pass");
    set_stdin("");
    assert_int_equal(cli_read_new_password("bob", pw, sizeof pw, err, sizeof err), -1);
    assert_non_null(strstr(err, "standard input"));
}

/* ---- failures ---- */

static void test_status_exit_codes(void **state) {
    (void)state;
    static const struct {
        int status;
        int exit_code;
        const char *code;
    } cases[] = {
        {CLIENT_E_CONNECT, CLI_EXIT_CONNECT, "CONNECT_FAILED"},
        {CLIENT_E_TLS, CLI_EXIT_CONNECT, "TLS_FAILED"},
        {CLIENT_E_PROTOCOL, CLI_EXIT_CONNECT, "PROTOCOL_ERROR"},
        {CLIENT_E_CLOSED, CLI_EXIT_CONNECT, "CONNECTION_CLOSED"},
        {CLIENT_E_TIMEOUT, CLI_EXIT_CONNECT, "TIMEOUT"},
        {CLIENT_E_AUTH, CLI_EXIT_SERVER, "LOGIN_REFUSED"},
        {CLIENT_E_SERVER, CLI_EXIT_SERVER, "SERVER_ERROR"},
        {CLIENT_E_NOMEM, CLI_EXIT_SERVER, "OUT_OF_MEMORY"},
    };
    cli_failure f;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        cli_failure_from_status(&f, cases[k].status, "", 0);
        assert_int_equal(f.exit_code, cases[k].exit_code);
        assert_string_equal(f.code, cases[k].code);
        assert_true(strlen(f.message) > 0);
    }
    const char *sentence = "cannot connect to 127.0.0.1:7443: connection refused";
    cli_failure_from_status(&f, CLIENT_E_CONNECT, sentence, 0);
    assert_string_equal(f.message, sentence);
}

static void test_status_uses_server_code(void **state) {
    (void)state;
    cli_failure f;
    cli_failure_from_status(&f, CLIENT_E_AUTH, "login refused: the account is disabled",
                            CALLFLOOR__ERROR_CODE__ACCOUNT_DISABLED);
    assert_int_equal(f.exit_code, CLI_EXIT_SERVER);
    assert_string_equal(f.code, "ACCOUNT_DISABLED");
    cli_failure_from_status(&f, CLIENT_E_TIMEOUT, "x", CALLFLOOR__ERROR_CODE__SHUTTING_DOWN);
    assert_string_equal(f.code, "TIMEOUT");
}

static void test_server_error_failure(void **state) {
    (void)state;
    cli_failure f;
    Callfloor__Error e = CALLFLOOR__ERROR__INIT;
    e.code = CALLFLOOR__ERROR_CODE__PERMISSION_DENIED;
    e.message = "only admins may add users";
    cli_failure_from_error(&f, &e);
    assert_int_equal(f.exit_code, CLI_EXIT_SERVER);
    assert_string_equal(f.code, "PERMISSION_DENIED");
    assert_non_null(strstr(f.message, "permission denied: only admins may add users ("));
    assert_non_null(strstr(f.message, "--user"));

    e.code = CALLFLOOR__ERROR_CODE__UNAVAILABLE;
    e.message = "";
    e.retry_after_ms = 2500;
    cli_failure_from_error(&f, &e);
    assert_string_equal(f.code, "UNAVAILABLE");
    assert_string_equal(f.message, "server unavailable (try again in 3 s)");
}

static void test_usage_failure(void **state) {
    (void)state;
    cli_failure f;
    cli_failure_usage(&f, "unknown option '%s'", "--frob");
    assert_int_equal(f.exit_code, CLI_EXIT_USAGE);
    assert_string_equal(f.code, "USAGE");
    assert_string_equal(f.message, "unknown option '--frob'");
}

/* ---- display width and tables ---- */

static void test_display_width(void **state) {
    (void)state;
    assert_int_equal(cli_display_width(""), 0);
    assert_int_equal(cli_display_width("abc"), 3);
    assert_int_equal(cli_display_width("张三"), 4);
    assert_int_equal(cli_display_width("张三abc"), 7);
    assert_int_equal(cli_display_width("a\tb"), 3);
    assert_int_equal(cli_display_width("\xff"), 1);
    assert_int_equal(cli_display_width("\xe5\xbc"), 2); /* a cut-off character */
}

static void append_padded(buf *b, const char *s, size_t width) {
    buf_reset(b);
    assert_int_equal(cli_append_padded(b, s, width), 0);
    assert_int_equal(buf_append(b, "", 1), 0);
}

static void test_padding(void **state) {
    (void)state;
    buf b = BUF_INIT;
    append_padded(&b, "张三", 6);
    assert_string_equal((const char *)buf_head(&b), "张三  ");
    append_padded(&b, "abcdef", 2);
    assert_string_equal((const char *)buf_head(&b), "abcdef");
    append_padded(&b, "a\x1b[31mb", 0);
    assert_string_equal((const char *)buf_head(&b), "a?[31mb");
    buf_free(&b);
}

static void test_table_alignment(void **state) {
    (void)state;
    const char *header[] = {"USER", "NAME", "ROLE"};
    const char *row1[] = {"zhangwei", "张伟", "agent"};
    const char *row2[] = {"li", "李小龙", "supervisor"};
    const char *row3[] = {"x", NULL, ""};
    cli_table t;
    assert_int_equal(cli_table_init(&t, 3, header), 0);
    assert_int_equal(cli_table_add_row(&t, row1), 0);
    assert_int_equal(cli_table_add_row(&t, row2), 0);
    assert_int_equal(cli_table_add_row(&t, row3), 0);
    buf b = BUF_INIT;
    assert_int_equal(cli_table_render(&t, &b), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((const char *)buf_head(&b), "USER      NAME    ROLE\n"
                                                    "zhangwei  张伟    agent\n"
                                                    "li        李小龙  supervisor\n"
                                                    "x\n");
    buf_free(&b);
    cli_table_free(&t);
}

static void test_table_many_rows(void **state) {
    (void)state;
    cli_table t;
    assert_int_equal(cli_table_init(&t, 2, NULL), 0);
    for (int k = 0; k < 100; k++) {
        char n[16];
        snprintf(n, sizeof n, "%d", k);
        const char *row[] = {n, "一"};
        assert_int_equal(cli_table_add_row(&t, row), 0);
    }
    assert_int_equal(t.nrows, 100);
    buf b = BUF_INIT;
    assert_int_equal(cli_table_render(&t, &b), 0);
    assert_memory_equal(buf_head(&b), "0   一\n", strlen("0   一\n"));
    buf_free(&b);
    cli_table_free(&t);
}

/* ---- times ---- */

static void test_times(void **state) {
    (void)state;
    char out[64];
    cli_format_utc_time(1795366800, out, sizeof out);
    assert_string_equal(out, "2026-11-22T17:00:00Z");
    setenv("TZ", "CST-8", 1);
    tzset();
    cli_format_local_time(1795366800, out, sizeof out);
    assert_string_equal(out, "2026-11-23 01:00");
}

int main(void) {
    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL) {
        fprintf(stderr, "test_cli: the C.UTF-8 locale is missing\n");
        return 1;
    }
    if (mkdtemp(scratch_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_flag_forms, setup),
        cmocka_unit_test_setup(test_flag_errors, setup),
        cmocka_unit_test_setup(test_env_precedence, setup),
        cmocka_unit_test_setup(test_password_file_first_line, setup),
        cmocka_unit_test_setup(test_password_file_missing, setup),
        cmocka_unit_test_setup(test_password_file_empty, setup),
        cmocka_unit_test_setup(test_password_file_too_long, setup),
        cmocka_unit_test_setup(test_login_password_sources, setup),
        cmocka_unit_test_setup(test_login_identity_checks, setup),
        cmocka_unit_test_setup(test_new_password_from_stdin, setup),
        cmocka_unit_test_setup(test_status_exit_codes, setup),
        cmocka_unit_test_setup(test_status_uses_server_code, setup),
        cmocka_unit_test_setup(test_server_error_failure, setup),
        cmocka_unit_test_setup(test_usage_failure, setup),
        cmocka_unit_test_setup(test_display_width, setup),
        cmocka_unit_test_setup(test_padding, setup),
        cmocka_unit_test_setup(test_table_alignment, setup),
        cmocka_unit_test_setup(test_table_many_rows, setup),
        cmocka_unit_test_setup(test_times, setup),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    remove_scratch_files();
    return failed;
}
