/* The daemon's settings table: defaults are valid, overrides and files
 * apply in order, cross-key checks refuse bad combinations, and a reload
 * moves only reloadable keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "settings.h"

static char *write_temp(const char *text) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/cf_settings_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_defaults_are_valid(void **state) {
    (void)state;
    settings s;
    char err[256] = "";
    assert_int_equal(settings_load(&s, NULL, NULL, 0, err, sizeof err), 0);
    assert_string_equal(s.listen, "127.0.0.1:7443");
    assert_int_equal(s.heartbeat_interval_ms, 10000);
    assert_int_equal(s.max_frame, 1024 * 1024);
    assert_int_equal(s.max_frame_prelogin, 16 * 1024);
    assert_int_equal(s.db_pool_size, 4);
    settings_free(&s);
}

static void test_overrides_win_over_file(void **state) {
    (void)state;
    char *path = write_temp("[server]\nlisten = 0.0.0.0:9000\n[log]\nlevel = debug\n");
    char *overrides[] = {"server.listen=127.0.0.1:9001"};
    settings s;
    char err[256] = "";
    assert_int_equal(settings_load(&s, path, overrides, 1, err, sizeof err), 0);
    assert_string_equal(s.listen, "127.0.0.1:9001");
    assert_string_equal(s.log_level, "debug");
    settings_free(&s);
    unlink(path);
}

static void expect_refused(const char *override, const char *fragment) {
    char *overrides[] = {(char *) override};
    settings s;
    char err[256] = "";
    assert_int_equal(settings_load(&s, NULL, overrides, 1, err, sizeof err), -1);
    if (strstr(err, fragment) == NULL)
        fail_msg("error '%s' does not mention '%s'", err, fragment);
    settings_free(&s);
}

static void test_bad_values_are_refused(void **state) {
    (void)state;
    expect_refused("log.level=loud", "log.level");
    expect_refused("tls.profile=old", "tls.profile");
    expect_refused("session.max_frame_prelogin=2m", "max_frame_prelogin");
    expect_refused("database.pool_size=0", "database.pool_size");
    expect_refused("no.such_key=1", "no.such_key");
    expect_refused("listen", "KEY=VALUE");
}

static void test_reload_moves_only_reloadable_keys(void **state) {
    (void)state;
    char err[256];
    settings cur, next;
    char *a[] = {"server.listen=127.0.0.1:1111", "log.level=info"};
    char *b[] = {"server.listen=127.0.0.1:2222", "log.level=debug"};
    assert_int_equal(settings_load(&cur, NULL, a, 2, err, sizeof err), 0);
    assert_int_equal(settings_load(&next, NULL, b, 2, err, sizeof err), 0);
    settings_apply_reload(&cur, &next);
    assert_string_equal(cur.listen, "127.0.0.1:1111");
    assert_string_equal(cur.log_level, "debug");
    assert_string_equal(next.log_level, "info");
    settings_free(&cur);
    settings_free(&next);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_valid),
        cmocka_unit_test(test_overrides_win_over_file),
        cmocka_unit_test(test_bad_values_are_refused),
        cmocka_unit_test(test_reload_moves_only_reloadable_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
