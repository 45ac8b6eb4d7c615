#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A configuration file is small; anything bigger is the wrong file. */
#define CONFIG_FILE_MAX (1024 * 1024)
#define CONFIG_NAME_MAX 128
#define CONFIG_WHY_MAX  256

#define KIB 1024ULL
#define MIB (1024ULL * KIB)
#define GIB (1024ULL * MIB)

/* Where a value came from, so an error can say "path:line:" or "--set:". */
typedef struct config_origin {
    const char *where;
    int line; /* 0 = not a file */
} config_origin;

static void *field_of(const config_key *k, void *target) {
    return (char *)target + k->offset;
}

static const void *const_field_of(const config_key *k, const void *target) {
    return (const char *)target + k->offset;
}

static void report(char *err, size_t errlen, const config_origin *o, const char *why) {
    if (o->line > 0)
        snprintf(err, errlen, "%s:%d: %s", o->where, o->line, why);
    else
        snprintf(err, errlen, "%s: %s", o->where, why);
}

static bool has_bounds(const config_key *k) {
    return k->min != 0 || k->max != 0;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Parses leading decimal digits. Returns a pointer past them, or NULL when
 * there are none or the number does not fit. */
static const char *parse_digits(const char *s, unsigned long long *out) {
    unsigned long long v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (ULLONG_MAX - d) / 10)
            return NULL;
        v = v * 10 + d;
    }
    if (p == s)
        return NULL;
    *out = v;
    return p;
}

static void format_duration(unsigned long long ms, char *out, size_t cap) {
    if (ms != 0 && ms % 3600000 == 0)
        snprintf(out, cap, "%lluh", ms / 3600000);
    else if (ms != 0 && ms % 60000 == 0)
        snprintf(out, cap, "%llum", ms / 60000);
    else if (ms != 0 && ms % 1000 == 0)
        snprintf(out, cap, "%llus", ms / 1000);
    else
        snprintf(out, cap, "%llums", ms);
}

static void format_size(unsigned long long n, char *out, size_t cap) {
    if (n != 0 && n % GIB == 0)
        snprintf(out, cap, "%llu GiB", n / GIB);
    else if (n != 0 && n % MIB == 0)
        snprintf(out, cap, "%llu MiB", n / MIB);
    else if (n != 0 && n % KIB == 0)
        snprintf(out, cap, "%llu KiB", n / KIB);
    else
        snprintf(out, cap, "%llu bytes", n);
}

static void format_bound(const config_key *k, long long v, char *out, size_t cap) {
    if (k->type == CONFIG_DURATION)
        format_duration((unsigned long long)v, out, cap);
    else if (k->type == CONFIG_SIZE)
        format_size((unsigned long long)v, out, cap);
    else
        snprintf(out, cap, "%lld", v);
}

/* Checks `v` against the key's bounds (and the limit of its C type).
 * Returns 0 or -1 with a sentence in `why`. */
static int check_range(const config_key *k, const char *text, long long v, long long type_max,
                       char *why, size_t whylen) {
    long long lo = has_bounds(k) ? k->min : (k->type == CONFIG_INT ? INT_MIN : 0);
    long long hi = has_bounds(k) ? k->max : type_max;
    if (v >= lo && v <= hi)
        return 0;
    char lo_text[32], hi_text[32];
    format_bound(k, lo, lo_text, sizeof lo_text);
    format_bound(k, hi, hi_text, sizeof hi_text);
    snprintf(why, whylen, "%s = %s is out of range (%s to %s)", k->name, text, lo_text, hi_text);
    return -1;
}

static int assign_string(const config_key *k, void *target, const char *text, char *why,
                         size_t whylen) {
    char *copy = strdup(text);
    if (copy == NULL) {
        snprintf(why, whylen, "out of memory while setting %s", k->name);
        return -1;
    }
    char **field = field_of(k, target);
    free(*field);
    *field = copy;
    return 0;
}

static int assign_int(const config_key *k, void *target, const char *text, char *why,
                      size_t whylen) {
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (text[0] == '\0' || *end != '\0' || text[0] == ' ' || text[0] == '\t') {
        snprintf(why, whylen, "'%s' is not a whole number for %s", text, k->name);
        return -1;
    }
    if (errno == ERANGE)
        v = text[0] == '-' ? LLONG_MIN : LLONG_MAX;
    if (check_range(k, text, v, INT_MAX, why, whylen) < 0)
        return -1;
    *(int *)field_of(k, target) = (int)v;
    return 0;
}

static int assign_bool(const config_key *k, void *target, const char *text, char *why,
                       size_t whylen) {
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(text, yes[i]) == 0 || strcasecmp(text, no[i]) == 0) {
            *(bool *)field_of(k, target) = strcasecmp(text, yes[i]) == 0;
            return 0;
        }
    }
    snprintf(why, whylen, "'%s' is not a boolean for %s (use true or false)", text, k->name);
    return -1;
}

/* Milliseconds per unit; 0 when `unit` is not one. */
static unsigned long long duration_unit(const char *unit) {
    if (strcasecmp(unit, "ms") == 0)
        return 1;
    if (strcasecmp(unit, "s") == 0)
        return 1000;
    if (strcasecmp(unit, "m") == 0)
        return 60000;
    if (strcasecmp(unit, "h") == 0)
        return 3600000;
    return 0;
}

static const char *duration_example(const config_key *k) {
    if (k->default_value != NULL && k->default_value[0] != '\0')
        return k->default_value;
    return ends_with(k->name, "_ms") ? "250" : "10s";
}

static int assign_duration(const config_key *k, void *target, const char *text, char *why,
                           size_t whylen) {
    unsigned long long n;
    const char *unit = parse_digits(text, &n);
    unsigned long long scale = 0;
    if (unit != NULL)
        scale = *unit == '\0' ? (ends_with(k->name, "_ms") ? 1 : 0) : duration_unit(unit);
    if (unit != NULL && *unit == '\0' && scale == 0) {
        snprintf(why, whylen, "'%s' has no unit for %s (use e.g. %s; units are ms, s, m, h)", text,
                 k->name, duration_example(k));
        return -1;
    }
    if (scale == 0) {
        snprintf(why, whylen, "'%s' is not a duration for %s (use e.g. %s)", text, k->name,
                 duration_example(k));
        return -1;
    }
    long long ms = n > (unsigned long long)LLONG_MAX / scale ? LLONG_MAX : (long long)(n * scale);
    if (check_range(k, text, ms, UINT_MAX, why, whylen) < 0)
        return -1;
    *(unsigned *)field_of(k, target) = (unsigned)ms;
    return 0;
}

/* Bytes per unit suffix (none, k, m, g); 0 when `unit` is not one. */
static unsigned long long size_unit(const char *unit) {
    if (*unit == '\0')
        return 1;
    if (unit[1] != '\0')
        return 0;
    switch (*unit) {
    case 'k':
    case 'K':
        return KIB;
    case 'm':
    case 'M':
        return MIB;
    case 'g':
    case 'G':
        return GIB;
    }
    return 0;
}

static int assign_size(const config_key *k, void *target, const char *text, char *why,
                       size_t whylen) {
    unsigned long long n;
    const char *unit = parse_digits(text, &n);
    unsigned long long scale = unit != NULL ? size_unit(unit) : 0;
    if (scale == 0) {
        snprintf(why, whylen, "'%s' is not a size for %s (use e.g. 512, 16k, 1m or 1g)", text,
                 k->name);
        return -1;
    }
    long long bytes =
        n > (unsigned long long)LLONG_MAX / scale ? LLONG_MAX : (long long)(n * scale);
    long long type_max = SIZE_MAX < (unsigned long long)LLONG_MAX ? (long long)SIZE_MAX : LLONG_MAX;
    if (check_range(k, text, bytes, type_max, why, whylen) < 0)
        return -1;
    *(size_t *)field_of(k, target) = (size_t)bytes;
    return 0;
}

/* Parses `text` into the key's field. Returns 0 or -1 with a sentence
 * (without location) in `why`. */
static int key_assign(const config_key *k, void *target, const char *text, char *why,
                      size_t whylen) {
    switch (k->type) {
    case CONFIG_STRING:
        return assign_string(k, target, text, why, whylen);
    case CONFIG_INT:
        return assign_int(k, target, text, why, whylen);
    case CONFIG_BOOL:
        return assign_bool(k, target, text, why, whylen);
    case CONFIG_DURATION:
        return assign_duration(k, target, text, why, whylen);
    case CONFIG_SIZE:
        return assign_size(k, target, text, why, whylen);
    }
    snprintf(why, whylen, "%s has an unknown type", k->name);
    return -1;
}

const config_key *config_find(const config_key *table, const char *name) {
    for (const config_key *k = table; k->name != NULL; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

/* A NULL default means the empty string or zero, whatever the bounds say. */
static int set_empty(const config_key *k, void *target, char *why, size_t whylen) {
    switch (k->type) {
    case CONFIG_STRING:
        return assign_string(k, target, "", why, whylen);
    case CONFIG_INT:
        *(int *)field_of(k, target) = 0;
        return 0;
    case CONFIG_BOOL:
        *(bool *)field_of(k, target) = false;
        return 0;
    case CONFIG_DURATION:
        *(unsigned *)field_of(k, target) = 0;
        return 0;
    case CONFIG_SIZE:
        *(size_t *)field_of(k, target) = 0;
        return 0;
    }
    snprintf(why, whylen, "%s has an unknown type", k->name);
    return -1;
}

int config_set_defaults(const config_key *table, void *target, char *err, size_t errlen) {
    char why[CONFIG_WHY_MAX];
    for (const config_key *k = table; k->name != NULL; k++) {
        int rc = k->default_value == NULL
                     ? set_empty(k, target, why, sizeof why)
                     : key_assign(k, target, k->default_value, why, sizeof why);
        if (rc < 0) {
            snprintf(err, errlen, "the built-in default of %s is invalid (a bug): %s", k->name,
                     why);
            return -1;
        }
    }
    return 0;
}

static int set_from(const config_key *table, void *target, const char *name, const char *value,
                    const config_origin *o, char *err, size_t errlen) {
    char why[CONFIG_WHY_MAX + CONFIG_NAME_MAX];
    const config_key *k = config_find(table, name);
    if (k == NULL) {
        snprintf(why, sizeof why, "unknown key '%s' (see callfloord.conf.example)", name);
        report(err, errlen, o, why);
        return -1;
    }
    if (key_assign(k, target, value, why, sizeof why) < 0) {
        report(err, errlen, o, why);
        return -1;
    }
    return 0;
}

int config_set(const config_key *table, void *target, const char *name, const char *value,
               const char *origin, char *err, size_t errlen) {
    config_origin o = {origin, 0};
    return set_from(table, target, name, value, &o, err, errlen);
}

/* ---- reading a file ---- */

/* Reads at most CONFIG_FILE_MAX bytes into a NUL-terminated heap string. */
static int read_bounded(const char *path, char **out, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open the configuration file: %s", path, strerror(errno));
        return -1;
    }
    char *text = malloc(CONFIG_FILE_MAX + 2);
    if (text == NULL) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory while reading the configuration file", path);
        return -1;
    }
    size_t n = fread(text, 1, CONFIG_FILE_MAX + 1, f);
    int read_error = ferror(f) ? errno : 0;
    fclose(f);
    if (read_error != 0 || n > CONFIG_FILE_MAX) {
        if (read_error != 0)
            snprintf(err, errlen, "%s: cannot read the configuration file: %s", path,
                     strerror(read_error));
        else
            snprintf(err, errlen, "%s: the file is larger than 1 MiB; is it a configuration file?",
                     path);
        free(text);
        return -1;
    }
    text[n] = '\0';
    *out = text;
    *len = n;
    return 0;
}

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Trims in place and returns the start of the trimmed text. */
static char *trim(char *s) {
    while (is_space(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Removes the quotes of a double-quoted value in place, resolving \" and
 * \\. Returns 0 or -1 with a sentence in `why`. */
static int unquote(char *value, char *why, size_t whylen) {
    char *in = value + 1, *out = value;
    for (; *in != '\0' && *in != '"'; in++) {
        if (*in == '\\') {
            in++;
            if (*in != '"' && *in != '\\') {
                snprintf(why, whylen,
                         "unknown escape in a quoted value (only \\\" and \\\\ are allowed)");
                return -1;
            }
        }
        *out++ = *in;
    }
    if (*in != '"') {
        snprintf(why, whylen, "the quoted value has no closing '\"'");
        return -1;
    }
    if (in[1] != '\0') {
        snprintf(why, whylen, "unexpected text after the closing '\"'");
        return -1;
    }
    *out = '\0';
    return 0;
}

typedef struct file_parser {
    const config_key *table;
    void *target;
    config_origin origin;
    char section[CONFIG_NAME_MAX];
    int *first_line; /* per key: the line that set it in this file, 0 = not yet */
    char *err;
    size_t errlen;
} file_parser;

static int parser_fail(file_parser *p, const char *why) {
    report(p->err, p->errlen, &p->origin, why);
    return -1;
}

static int parse_section(file_parser *p, char *line) {
    size_t n = strlen(line);
    if (line[n - 1] != ']')
        return parser_fail(p, "a section header must end with ']' (e.g. [session])");
    line[n - 1] = '\0';
    char *name = trim(line + 1);
    if (name[0] == '\0' || strlen(name) >= sizeof p->section)
        return parser_fail(p, "a section header needs a name of at most 127 characters");
    strcpy(p->section, name);
    return 0;
}

/* Rejects a second assignment of a key within one file: the first one would
 * silently lose, which is rarely what the operator meant. */
static int check_duplicate(file_parser *p, const char *name) {
    const config_key *k = config_find(p->table, name);
    if (k == NULL)
        return 0;
    int *first = &p->first_line[k - p->table];
    if (*first != 0) {
        char why[CONFIG_WHY_MAX];
        snprintf(why, sizeof why, "duplicate key '%s' (first set on line %d)", k->name, *first);
        return parser_fail(p, why);
    }
    *first = p->origin.line;
    return 0;
}

static int parse_assignment(file_parser *p, char *line) {
    char *eq = strchr(line, '=');
    char why[CONFIG_WHY_MAX];
    if (eq == NULL)
        return parser_fail(p, "a line without '=' (expected key = value, a [section] or a "
                              "# comment)");
    *eq = '\0';
    char *key = trim(line);
    char *value = trim(eq + 1);
    if (key[0] == '\0')
        return parser_fail(p, "a key name is missing before '='");
    if (value[0] == '"' && unquote(value, why, sizeof why) < 0)
        return parser_fail(p, why);
    char name[2 * CONFIG_NAME_MAX + 2];
    if (p->section[0] != '\0')
        snprintf(name, sizeof name, "%s.%s", p->section, key);
    else
        snprintf(name, sizeof name, "%s", key);
    if (check_duplicate(p, name) < 0)
        return -1;
    return set_from(p->table, p->target, name, value, &p->origin, p->err, p->errlen);
}

static int parse_line(file_parser *p, char *raw) {
    char *line = trim(raw);
    if (line[0] == '\0' || line[0] == '#' || line[0] == ';')
        return 0;
    if (line[0] == '[')
        return parse_section(p, line);
    return parse_assignment(p, line);
}

static int parse_text(file_parser *p, char *text, size_t len) {
    char *end = text + len;
    for (char *line = text; line < end; p->origin.line++) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        char *line_end = nl != NULL ? nl : end;
        if (memchr(line, '\0', (size_t)(line_end - line)) != NULL)
            return parser_fail(p, "the line contains a NUL byte; is this a text file?");
        *line_end = '\0';
        if (parse_line(p, line) < 0)
            return -1;
        line = line_end + 1;
    }
    return 0;
}

static size_t table_size(const config_key *table) {
    size_t n = 0;
    while (table[n].name != NULL)
        n++;
    return n;
}

int config_load_file(const config_key *table, void *target, const char *path, char *err,
                     size_t errlen) {
    char *text;
    size_t len;
    if (read_bounded(path, &text, &len, err, errlen) < 0)
        return -1;
    file_parser p = {.table = table,
                     .target = target,
                     .origin = {path, 1},
                     .first_line = calloc(table_size(table) + 1, sizeof(int)),
                     .err = err,
                     .errlen = errlen};
    int rc = -1;
    if (p.first_line == NULL)
        snprintf(err, errlen, "%s: out of memory while parsing the configuration file", path);
    else
        rc = parse_text(&p, text, len);
    free(p.first_line);
    free(text);
    return rc;
}

/* ---- freeing and comparing ---- */

void config_free(const config_key *table, void *target) {
    for (const config_key *k = table; k->name != NULL; k++) {
        if (k->type != CONFIG_STRING)
            continue;
        char **field = field_of(k, target);
        free(*field);
        *field = NULL;
    }
}

static bool values_equal(const config_key *k, const void *a, const void *b) {
    const void *fa = const_field_of(k, a), *fb = const_field_of(k, b);
    switch (k->type) {
    case CONFIG_STRING: {
        const char *sa = *(char *const *)fa, *sb = *(char *const *)fb;
        return strcmp(sa != NULL ? sa : "", sb != NULL ? sb : "") == 0;
    }
    case CONFIG_INT:
        return *(const int *)fa == *(const int *)fb;
    case CONFIG_BOOL:
        return *(const bool *)fa == *(const bool *)fb;
    case CONFIG_DURATION:
        return *(const unsigned *)fa == *(const unsigned *)fb;
    case CONFIG_SIZE:
        return *(const size_t *)fa == *(const size_t *)fb;
    }
    return true;
}

int config_changed_fixed_keys(const config_key *table, const void *a, const void *b, char *out,
                              size_t cap) {
    int changed = 0;
    size_t used = 0;
    if (cap > 0)
        out[0] = '\0';
    for (const config_key *k = table; k->name != NULL; k++) {
        if (k->reloadable || values_equal(k, a, b))
            continue;
        if (used < cap) {
            int n = snprintf(out + used, cap - used, "%s%s", changed > 0 ? ", " : "", k->name);
            used += n > 0 ? (size_t)n : 0;
        }
        changed++;
    }
    return changed;
}
