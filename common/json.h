/* json: a small streaming JSON writer for the clients' --json output and
 * script mode. Strings are escaped per RFC 8259 and must be UTF-8; invalid
 * bytes are replaced with U+FFFD so the output always parses. Commas are
 * inserted automatically. */
#ifndef CALLFLOOR_JSON_H
#define CALLFLOOR_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

#define JSON_MAX_DEPTH 32

typedef struct json_writer {
    buf *out;
    int depth;
    bool need_comma[JSON_MAX_DEPTH];
    bool after_key;
} json_writer;

void json_init(json_writer *w, buf *out);
void json_object_begin(json_writer *w);
void json_object_end(json_writer *w);
void json_array_begin(json_writer *w);
void json_array_end(json_writer *w);
void json_key(json_writer *w, const char *key);
/* A NULL string is written as null. */
void json_string(json_writer *w, const char *s);
void json_int(json_writer *w, int64_t v);
void json_uint(json_writer *w, uint64_t v);
/* NaN and infinities have no JSON form and are written as null. */
void json_double(json_writer *w, double v);
void json_bool(json_writer *w, bool v);
void json_null(json_writer *w);
/* A number given as text (e.g. PostgreSQL's numeric output), written as it
 * is when it has JSON's number form, otherwise as null. */
void json_number_text(json_writer *w, const char *text);
/* Shorthands for a key followed by a value. */
void json_kv_string(json_writer *w, const char *key, const char *s);
void json_kv_int(json_writer *w, const char *key, int64_t v);
void json_kv_uint(json_writer *w, const char *key, uint64_t v);
void json_kv_bool(json_writer *w, const char *key, bool v);
/* Appends `s` escaped (without quotes) to `out`. */
void json_escape(buf *out, const char *s);

/* Reading: one flat object per line in the clients' script modes, e.g.
 * {"cmd":"passwd","password":"..."}. Members are strings, numbers, true,
 * false or null; nested objects and arrays are refused. */
typedef enum json_type { JSON_STRING, JSON_NUMBER, JSON_BOOL, JSON_NULL } json_type;

typedef struct json_member {
    const char *key;
    const char *value; /* unescaped UTF-8; numbers as written; "true"/"false"/"null" */
    json_type type;
} json_member;

enum {
    JSON_E_SYNTAX = -1,  /* not a JSON object, or text after it */
    JSON_E_NESTED = -2,  /* an object or array as a member's value */
    JSON_E_TOO_MANY = -3 /* more members than the caller has room for */
};

/* Parses `text` in place (strings are unescaped into it, so it is
 * modified and must outlive `members`). Returns the number of members, or
 * a JSON_E_* code with the byte offset of the problem in *where. */
int json_parse_flat(char *text, json_member *members, int max, size_t *where);
/* The member named `key`, or NULL. */
const json_member *json_find(const json_member *members, int n, const char *key);
const char *json_strerror(int code);

#endif
