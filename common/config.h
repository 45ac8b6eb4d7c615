/* config: table-driven INI parsing. A program describes its settings as an
 * array of config_key (name, type, default, offset into its settings struct,
 * whether a reload may change it); config_load fills a struct from defaults
 * and then from a file. Keys are "section.name" ("name" for keys before any
 * section). Unknown keys and bad values are errors reported as
 * "FILE:LINE: sentence". A reload parses into a fresh struct and the caller
 * swaps it in only on success. */
#ifndef CALLFLOOR_CONFIG_H
#define CALLFLOOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum config_type {
    CONFIG_STRING,   /* char *, heap copy owned by the struct */
    CONFIG_INT,      /* int, within [min, max] */
    CONFIG_BOOL,     /* bool: true/false/yes/no/on/off/1/0 */
    CONFIG_DURATION, /* unsigned int milliseconds: "250ms", "10s", "5m", "1h"; a bare
                        number (= ms) only for keys whose name ends in "_ms" */
    CONFIG_SIZE,     /* size_t bytes: "512", "16k", "1m", "1g" (KiB/MiB/GiB, any case) */
} config_type;

typedef struct config_key {
    const char *name; /* "section.key" */
    config_type type;
    const char *default_value; /* parsed like file text; NULL = empty string / zero */
    size_t offset;             /* offsetof(settings struct, field) */
    long long min, max;        /* bounds for INT, DURATION (ms) and SIZE; both 0 = unbounded */
    bool reloadable;
    const char *help; /* one sentence, shown by --help-config */
} config_key;

/* Sets every key of `table` (terminated by a NULL name) to its default in
 * `target`. Returns 0 or -1 with a sentence in `err` (a bad default is a bug). */
int config_set_defaults(const config_key *table, void *target, char *err, size_t errlen);
/* Parses `path` into `target` (defaults must already be set). Returns 0, or
 * -1 with "path:line: what is wrong" in `err`. The file is read with a size
 * limit of 1 MiB. */
int config_load_file(const config_key *table, void *target, const char *path, char *err,
                     size_t errlen);
/* Sets one key from text, as a command-line override would. `origin` names
 * the source in errors (e.g. "--listen"). */
int config_set(const config_key *table, void *target, const char *name, const char *value,
               const char *origin, char *err, size_t errlen);
/* Frees the strings a struct holds. */
void config_free(const config_key *table, void *target);
/* Names of non-reloadable keys whose values differ between `a` and `b`,
 * comma-separated into `out`; returns how many differ. */
int config_changed_fixed_keys(const config_key *table, const void *a, const void *b, char *out,
                              size_t cap);
const config_key *config_find(const config_key *table, const char *name);

#endif
