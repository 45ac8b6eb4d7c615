#include "log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Long enough for nearly every line; longer ones go to the heap. */
#define LOG_LINE_STACK 1024

/* Atomic because the thread pool logs too; both change only at start-up
 * and on reload. */
static atomic_int log_threshold = LOG_LEVEL_INFO;
static atomic_bool log_to_journal;

static const struct {
    log_level level;
    const char *name;
    const char *tag;
} levels[] = {
    {LOG_LEVEL_ERROR, "error", "ERROR"},    {LOG_LEVEL_WARN, "warn", "WARN"},
    {LOG_LEVEL_NOTICE, "notice", "NOTICE"}, {LOG_LEVEL_INFO, "info", "INFO"},
    {LOG_LEVEL_DEBUG, "debug", "DEBUG"},
};

#define LEVEL_COUNT (sizeof levels / sizeof levels[0])

/* systemd sets JOURNAL_STREAM to the device and inode of the stream it gave
 * us; a child with redirected stderr (or a terminal started from a user
 * session) inherits the variable, so the numbers must match stderr too. */
static bool stderr_is_journal(void) {
    const char *stream = getenv("JOURNAL_STREAM");
    if (stream == NULL)
        return false;
    unsigned long long dev, ino;
    char extra;
    if (sscanf(stream, "%llu:%llu%c", &dev, &ino, &extra) != 2)
        return false;
    struct stat st;
    if (fstat(STDERR_FILENO, &st) < 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(log_level threshold) {
    atomic_store(&log_to_journal, stderr_is_journal());
    log_set_level(threshold);
}

void log_set_level(log_level threshold) {
    atomic_store(&log_threshold, (int)threshold);
}

log_level log_get_level(void) {
    return (log_level)atomic_load(&log_threshold);
}

int log_level_parse(const char *name, log_level *out) {
    for (size_t i = 0; i < LEVEL_COUNT; i++) {
        if (strcasecmp(levels[i].name, name) == 0) {
            *out = levels[i].level;
            return 0;
        }
    }
    return -1;
}

const char *log_level_name(log_level level) {
    for (size_t i = 0; i < LEVEL_COUNT; i++)
        if (levels[i].level == level)
            return levels[i].name;
    return "unknown";
}

static const char *level_tag(log_level level) {
    for (size_t i = 0; i < LEVEL_COUNT; i++)
        if (levels[i].level == level)
            return levels[i].tag;
    return "UNKNOWN";
}

/* "<N>" for journald, which adds its own timestamp; otherwise UTC with
 * milliseconds and the level. */
static int format_prefix(log_level level, char *out, size_t cap) {
    if (atomic_load(&log_to_journal))
        return snprintf(out, cap, "<%d>", (int)level);
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    return snprintf(out, cap, "%s.%03ldZ %s ", stamp, now.tv_nsec / 1000000L, level_tag(level));
}

/* A message must stay one line, or a forged second line could pass for a
 * separate event. */
static void flatten(char *text, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n' || text[i] == '\r')
            text[i] = ' ';
}

/* One write per line: the kernel does not interleave a single write to a
 * pipe or the journal's socket with other threads' lines. */
static void write_line(const char *line, size_t len) {
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, line, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        line += n;
        len -= (size_t)n;
    }
}

/* Renders prefix, message and newline into `line` (of `cap` bytes); returns
 * the full length needed, which may exceed `cap`, or -1. */
static int render(char *line, size_t cap, log_level level, const char *fmt, va_list ap) {
    int prefix = format_prefix(level, line, cap);
    if (prefix < 0 || (size_t)prefix >= cap)
        return -1;
    int text = vsnprintf(line + prefix, cap - (size_t)prefix, fmt, ap);
    if (text < 0)
        return -1;
    return prefix + text + 1;
}

static void emit(char *line, size_t needed) {
    line[needed - 1] = '\n';
    flatten(line, needed - 1);
    write_line(line, needed);
}

void log_vwrite(log_level level, const char *fmt, va_list ap) {
    if ((int)level > atomic_load(&log_threshold))
        return;
    char stack[LOG_LINE_STACK];
    va_list again;
    va_copy(again, ap);
    int needed = render(stack, sizeof stack, level, fmt, ap);
    if (needed < 0) {
        va_end(again);
        return;
    }
    if ((size_t)needed <= sizeof stack) {
        emit(stack, (size_t)needed);
    } else {
        char *heap = malloc((size_t)needed + 1);
        if (heap != NULL && render(heap, (size_t)needed + 1, level, fmt, again) == needed)
            emit(heap, (size_t)needed);
        else
            emit(stack, sizeof stack);
        free(heap);
    }
    va_end(again);
}

void log_write(log_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, fmt, ap);
    va_end(ap);
}
