/* outbox: see outbox.h. */
#include "outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "i18n.h"

#define LINE_MAX_BYTES (64 * 1024) /* an outcome packs to well under 10 KiB */

typedef struct entry {
    uint8_t *packed;
    size_t len;
    char *key;
} entry;

struct outbox {
    char *path;
    entry *entries;
    size_t n;
};

static void entry_free(entry *e) {
    free(e->packed);
    free(e->key);
}

static int hexval(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes one line into `e`. Returns 0, OUTBOX_E_CORRUPT or -ENOMEM. */
static int entry_from_hex(entry *e, const char *line, size_t len) {
    if (len == 0 || len % 2 != 0)
        return OUTBOX_E_CORRUPT;
    e->len = len / 2;
    e->packed = malloc(e->len);
    if (e->packed == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < e->len; i++) {
        int hi = hexval(line[2 * i]), lo = hexval(line[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return OUTBOX_E_CORRUPT;
        e->packed[i] = (uint8_t)(hi << 4 | lo);
    }
    Callfloor__Outcome *o = callfloor__outcome__unpack(NULL, e->len, e->packed);
    if (o == NULL)
        return OUTBOX_E_CORRUPT;
    e->key = strdup(o->idempotency_key);
    callfloor__outcome__free_unpacked(o, NULL);
    return e->key ? 0 : -ENOMEM;
}

static int write_entry(FILE *f, const entry *e) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < e->len; i++)
        if (fputc(digits[e->packed[i] >> 4], f) == EOF ||
            fputc(digits[e->packed[i] & 15], f) == EOF)
            return -EIO;
    return fputc('\n', f) == EOF ? -EIO : 0;
}

static int make_parent(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return 0;
}

static int load(outbox *ob, FILE *f, char *err, size_t errlen) {
    char *line = malloc(LINE_MAX_BYTES);
    int rc = line ? 0 : -ENOMEM;
    unsigned lineno = 0;
    while (rc == 0 && fgets(line, LINE_MAX_BYTES, f) != NULL) {
        lineno++;
        size_t len = strcspn(line, "\n");
        /* A last line without its line break is a write that failed (the
         * disk filled, the machine stopped): outbox_add reported it, so the
         * outcome was never taken as kept, and the line is dropped. */
        if (len == 0 || (line[len] != '\n' && feof(f)))
            continue;
        if (ob->n == OUTBOX_MAX) {
            rc = OUTBOX_E_FULL;
            break;
        }
        entry e = {0};
        rc = entry_from_hex(&e, line, len);
        if (rc < 0)
            entry_free(&e);
        else
            ob->entries[ob->n++] = e;
    }
    free(line);
    if (rc == OUTBOX_E_CORRUPT)
        snprintf(err, errlen,
                 _("line %u of the outbox %s is not an outcome; move the file aside and tell "
                   "your supervisor, it may hold outcomes not yet recorded"),
                 lineno, ob->path);
    else if (rc == OUTBOX_E_FULL)
        snprintf(err, errlen, _("the outbox %s holds more than %d outcomes"), ob->path, OUTBOX_MAX);
    else if (rc < 0)
        snprintf(err, errlen, _("cannot read the outbox %s: %s"), ob->path, strerror(-rc));
    return rc;
}

outbox *outbox_open(const char *path, char *err, size_t errlen) {
    outbox *ob = calloc(1, sizeof *ob);
    if (ob == NULL || (ob->path = strdup(path)) == NULL ||
        (ob->entries = calloc(OUTBOX_MAX, sizeof *ob->entries)) == NULL) {
        snprintf(err, errlen, _("out of memory"));
        outbox_close(ob);
        return NULL;
    }
    int rc = make_parent(path);
    int fd = rc < 0 ? -1 : open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, _("cannot open the outbox %s: %s"), path,
                 strerror(rc < 0 ? -rc : errno));
        outbox_close(ob);
        return NULL;
    }
    FILE *f = fdopen(fd, "r");
    if (f == NULL) {
        close(fd);
        snprintf(err, errlen, _("out of memory"));
        outbox_close(ob);
        return NULL;
    }
    rc = load(ob, f, err, errlen);
    fclose(f);
    if (rc < 0) {
        outbox_close(ob);
        return NULL;
    }
    return ob;
}

void outbox_close(outbox *ob) {
    if (ob == NULL)
        return;
    for (size_t i = 0; i < ob->n; i++)
        entry_free(&ob->entries[i]);
    free(ob->entries);
    free(ob->path);
    free(ob);
}

/* Writes `f`'s buffer to disk before it is closed. */
static int sync_close(FILE *f, int rc) {
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = rc < 0 ? rc : -errno;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

int outbox_add(outbox *ob, const Callfloor__Outcome *o) {
    if (ob->n == OUTBOX_MAX)
        return OUTBOX_E_FULL;
    entry e = {0};
    e.len = callfloor__outcome__get_packed_size(o);
    e.packed = malloc(e.len + 1);
    e.key = strdup(o->idempotency_key);
    if (e.packed == NULL || e.key == NULL) {
        entry_free(&e);
        return -ENOMEM;
    }
    callfloor__outcome__pack(o, e.packed);
    FILE *f = fopen(ob->path, "ae");
    int rc = f ? sync_close(f, write_entry(f, &e)) : -errno;
    if (rc < 0) {
        entry_free(&e);
        return rc;
    }
    ob->entries[ob->n++] = e;
    return 0;
}

static int rewrite(const outbox *ob) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", ob->path);
    FILE *f = fopen(tmp, "we");
    if (f == NULL)
        return -errno;
    int rc = 0;
    for (size_t i = 0; i < ob->n && rc == 0; i++)
        rc = write_entry(f, &ob->entries[i]);
    rc = sync_close(f, rc);
    if (rc == 0 && rename(tmp, ob->path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int outbox_remove(outbox *ob, const char *key) {
    for (size_t i = 0; i < ob->n; i++) {
        if (strcmp(ob->entries[i].key, key) != 0)
            continue;
        entry gone = ob->entries[i];
        memmove(&ob->entries[i], &ob->entries[i + 1], (ob->n - i - 1) * sizeof *ob->entries);
        ob->n--;
        int rc = rewrite(ob);
        if (rc < 0) { /* keep it in memory too, so memory and file agree */
            memmove(&ob->entries[i + 1], &ob->entries[i], (ob->n - i) * sizeof *ob->entries);
            ob->entries[i] = gone;
            ob->n++;
            return rc;
        }
        entry_free(&gone);
        return 0;
    }
    return 0;
}

size_t outbox_count(const outbox *ob) {
    return ob->n;
}

Callfloor__Outcome *outbox_get(const outbox *ob, size_t i) {
    return callfloor__outcome__unpack(NULL, ob->entries[i].len, ob->entries[i].packed);
}

const char *outbox_path(const outbox *ob) {
    return ob->path;
}

int outbox_default_path(const char *user, char *out, size_t cap) {
    const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    int n;
    if (state != NULL && state[0] == '/')
        n = snprintf(out, cap, "%s/callfloor/outbox-%s", state, user);
    else if (home != NULL && home[0] == '/')
        n = snprintf(out, cap, "%s/.local/state/callfloor/outbox-%s", home, user);
    else
        return -1;
    return n > 0 && (size_t)n < cap ? 0 : -1;
}
