/* The agent's outbox: outcomes survive a close and a reopen (a crash of
 * the desk), leave when acknowledged, and a damaged file is refused with a
 * sentence naming the line rather than silently dropped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "outbox.h"

static char dir[64], path[128];

static int make_dir(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/cf-outbox.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    /* A directory that does not exist yet: the outbox makes it. */
    snprintf(path, sizeof path, "%s/state/callfloor/outbox-ann", dir);
    return 0;
}

static int remove_dir(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void add(outbox *ob, const char *key, uint64_t call, const char *disposition) {
    Callfloor__Outcome o = CALLFLOOR__OUTCOME__INIT;
    o.idempotency_key = (char *)key;
    o.call_id = call;
    o.disposition = (char *)disposition;
    o.notes = "客户说晚上再打";
    assert_int_equal(outbox_add(ob, &o), 0);
}

static void assert_entry(const outbox *ob, size_t i, const char *key, uint64_t call) {
    Callfloor__Outcome *o = outbox_get(ob, i);
    assert_non_null(o);
    assert_string_equal(o->idempotency_key, key);
    assert_int_equal(o->call_id, call);
    assert_string_equal(o->notes, "客户说晚上再打");
    callfloor__outcome__free_unpacked(o, NULL);
}

static void test_survives_reopen(void **state) {
    (void)state;
    char err[512];
    outbox *ob = outbox_open(path, err, sizeof err);
    assert_non_null(ob);
    assert_int_equal(outbox_count(ob), 0);
    add(ob, "key-one-1", 1, "NO_ANSWER");
    add(ob, "key-two-2", 2, "CALLBACK");
    add(ob, "key-three-3", 3, "BUSY");
    outbox_close(ob);

    ob = outbox_open(path, err, sizeof err);
    assert_non_null(ob);
    assert_int_equal(outbox_count(ob), 3);
    assert_entry(ob, 0, "key-one-1", 1);
    assert_entry(ob, 2, "key-three-3", 3);
    assert_int_equal(outbox_remove(ob, "key-two-2"), 0);
    assert_int_equal(outbox_remove(ob, "no-such-key"), 0);
    assert_int_equal(outbox_count(ob), 2);
    outbox_close(ob);

    ob = outbox_open(path, err, sizeof err);
    assert_non_null(ob);
    assert_int_equal(outbox_count(ob), 2);
    assert_entry(ob, 1, "key-three-3", 3);
    assert_int_equal(outbox_remove(ob, "key-one-1"), 0);
    assert_int_equal(outbox_remove(ob, "key-three-3"), 0);
    outbox_close(ob);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fgetc(f), EOF);
    fclose(f);
}

static void test_damaged_file(void **state) {
    (void)state;
    char err[512];
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("0a096b65792d6f6e652d31\nnot hex at all\n", f);
    fclose(f);
    outbox *ob = outbox_open(path, err, sizeof err);
    assert_null(ob);
    assert_non_null(strstr(err, "line 2"));
    assert_non_null(strstr(err, path));
    /* The file is left as it was for someone to look at. */
    f = fopen(path, "r");
    char line[64];
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    unlink(path);
}

static void test_torn_last_line(void **state) {
    (void)state;
    char err[512];
    outbox *ob = outbox_open(path, err, sizeof err);
    assert_non_null(ob);
    add(ob, "key-kept-1", 11, "BUSY");
    outbox_close(ob);
    /* A write cut short: half a line, no line break. */
    FILE *f = fopen(path, "a");
    fputs("0a0a6b65792d", f);
    fclose(f);
    ob = outbox_open(path, err, sizeof err);
    assert_non_null(ob);
    assert_int_equal(outbox_count(ob), 1);
    assert_entry(ob, 0, "key-kept-1", 11);
    assert_int_equal(outbox_remove(ob, "key-kept-1"), 0);
    outbox_close(ob);
}

static void test_default_path(void **state) {
    (void)state;
    char out[256];
    setenv("XDG_STATE_HOME", "/var/lib/state", 1);
    assert_int_equal(outbox_default_path("ann", out, sizeof out), 0);
    assert_string_equal(out, "/var/lib/state/callfloor/outbox-ann");
    unsetenv("XDG_STATE_HOME");
    setenv("HOME", "/home/ann", 1);
    assert_int_equal(outbox_default_path("ann", out, sizeof out), 0);
    assert_string_equal(out, "/home/ann/.local/state/callfloor/outbox-ann");
    unsetenv("HOME");
    assert_int_equal(outbox_default_path("ann", out, sizeof out), -1);
    assert_int_equal(outbox_default_path("ann", out, 8), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_survives_reopen),
        cmocka_unit_test(test_damaged_file),
        cmocka_unit_test(test_torn_last_line),
        cmocka_unit_test(test_default_path),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
