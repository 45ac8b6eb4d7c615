/* log: one line per event on stderr. Under systemd (JOURNAL_STREAM set) each
 * line starts with a "<N>" priority prefix that journald understands;
 * otherwise with a timestamp and the level name. Callers pass already-masked
 * personal data: this module never sees a phone number in clear. */
#ifndef CALLFLOOR_LOG_H
#define CALLFLOOR_LOG_H

#include <stdarg.h>

typedef enum log_level {
    LOG_LEVEL_ERROR = 3,
    LOG_LEVEL_WARN = 4,
    LOG_LEVEL_NOTICE = 5,
    LOG_LEVEL_INFO = 6,
    LOG_LEVEL_DEBUG = 7,
} log_level;

/* Reads JOURNAL_STREAM and sets the threshold; safe to call again. */
void log_init(log_level threshold);
void log_set_level(log_level threshold);
log_level log_get_level(void);
/* Parses "error", "warn", "notice", "info" or "debug". Returns 0 or -1. */
int log_level_parse(const char *name, log_level *out);
const char *log_level_name(log_level level);

void log_write(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vwrite(log_level level, const char *fmt, va_list ap);

#define log_error(...)  log_write(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)   log_write(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_notice(...) log_write(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...)   log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)  log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
