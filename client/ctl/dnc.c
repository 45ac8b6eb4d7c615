/* callfloorctl's do-not-call commands. The server answers with masked
 * numbers only; the import reads the file as CSV (common/csv) and streams
 * it in batches, so a file of any size takes constant memory, with a
 * progress bar on a terminal. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv.h"
#include "ctl.h"
#include "i18n.h"
#include "json.h"
#include "pii.h"

#define IMPORT_BATCH    1000 /* the server's COMPLIANCE_IMPORT_BATCH_MAX */
#define IMPORT_LINE_MAX 256
#define SHOW_REJECTED   20
#define PHONE_ARG_MAX   64

static const char *reason_of(const ctl_args *a) {
    const char *reason = ctl_opt(a, OPT_REASON);
    return reason ? reason : "";
}

static void json_entry(json_writer *w, const void *item) {
    const Callfloor__DncCheckReply *r = item;
    char when[32];
    json_object_begin(w);
    json_kv_bool(w, "listed", r->listed);
    if (r->entry != NULL) {
        json_kv_bool(w, "added", r->added);
        json_kv_string(w, "phone", r->entry->phone_masked);
        json_kv_string(w, "reason", r->entry->reason);
        json_kv_string(w, "source", r->entry->source);
        json_kv_string(w, "added_by", r->entry->added_by);
        cli_format_utc_time(r->entry->added_at, when, sizeof when);
        json_kv_string(w, "added_at", when);
    }
    json_object_end(w);
}

static void entry_text(ctl *x, const Callfloor__DncCheckReply *r, const char *headline) {
    char when[32];
    const Callfloor__DncEntry *e = r->entry;
    cli_format_local_time(e->added_at, when, sizeof when);
    buf_appendf(&x->out, headline, e->phone_masked);
    buf_appendf(&x->out, _("  listed since %s by %s (%s)%s%s\n"), when,
                *e->added_by ? e->added_by : "-", e->source, *e->reason ? ": " : "", e->reason);
}

/* The number the command is about: its argument, or with "-" the first
 * line of standard input, which other users cannot see in the process
 * list. Returns CLI_EXIT_OK or a usage error's exit code. */
static int phone_of(ctl *x, const ctl_args *a, char out[PHONE_ARG_MAX]) {
    if (strcmp(a->name, "-") != 0) {
        snprintf(out, PHONE_ARG_MAX, "%s", a->name);
        return CLI_EXIT_OK;
    }
    if (fgets(out, PHONE_ARG_MAX, stdin) == NULL)
        out[0] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    if (out[0] == '\0')
        return ctl_usage_error(x, NULL, "%s",
                               _("no phone number on standard input (give it as the first line)"));
    return CLI_EXIT_OK;
}

/* Sends one request about one number and waits for the DncCheckReply. */
static int dnc_call(ctl *x, envelope *req, envelope **reply) {
    return ctl_call(x, req, CALLFLOOR__ENVELOPE__BODY_DNC_CHECK_REPLY, reply);
}

int ctl_run_dnc_add(ctl *x, const ctl_args *a) {
    char phone[PHONE_ARG_MAX];
    int rc = phone_of(x, a, phone);
    if (rc != CLI_EXIT_OK)
        return rc;
    Callfloor__DncAdd msg = CALLFLOOR__DNC_ADD__INIT;
    msg.phone = phone;
    msg.reason = (char *)reason_of(a);
    envelope req = CALLFLOOR__ENVELOPE__INIT, *reply;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_DNC_ADD;
    req.dnc_add = &msg;
    rc = dnc_call(x, &req, &reply);
    pii_wipe(phone, sizeof phone);
    if (rc != CLI_EXIT_OK)
        return rc;
    const Callfloor__DncCheckReply *r = reply->dnc_check_reply;
    if (x->json)
        ctl_json_one(x, "dnc", json_entry, r);
    else
        entry_text(x, r,
                   r->added ? _("Added %s to the do-not-call list.\n")
                            : _("%s was on the do-not-call list already.\n"));
    envelope_free(reply);
    return CLI_EXIT_OK;
}

int ctl_run_dnc_check(ctl *x, const ctl_args *a) {
    char phone[PHONE_ARG_MAX];
    int rc = phone_of(x, a, phone);
    if (rc != CLI_EXIT_OK)
        return rc;
    Callfloor__DncCheck msg = CALLFLOOR__DNC_CHECK__INIT;
    msg.phone = phone;
    envelope req = CALLFLOOR__ENVELOPE__INIT, *reply;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_DNC_CHECK;
    req.dnc_check = &msg;
    rc = dnc_call(x, &req, &reply);
    if (rc != CLI_EXIT_OK) {
        pii_wipe(phone, sizeof phone);
        return rc;
    }
    const Callfloor__DncCheckReply *r = reply->dnc_check_reply;
    char masked[32];
    if (x->json) {
        ctl_json_one(x, "dnc", json_entry, r);
    } else if (r->listed) {
        entry_text(x, r, _("%s is on the do-not-call list:\n"));
    } else {
        pii_mask_phone(phone, masked, sizeof masked);
        buf_appendf(&x->out, _("%s is not on the do-not-call list.\n"), masked);
    }
    pii_wipe(phone, sizeof phone);
    envelope_free(reply);
    return CLI_EXIT_OK;
}

int ctl_run_dnc_remove(ctl *x, const ctl_args *a) {
    char phone[PHONE_ARG_MAX];
    int rc = phone_of(x, a, phone);
    if (rc != CLI_EXIT_OK)
        return rc;
    Callfloor__DncRemove msg = CALLFLOOR__DNC_REMOVE__INIT;
    msg.phone = phone;
    envelope req = CALLFLOOR__ENVELOPE__INIT, *reply;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_DNC_REMOVE;
    req.dnc_remove = &msg;
    rc = ctl_call(x, &req, CALLFLOOR__ENVELOPE__BODY_OK, &reply);
    char masked[32];
    pii_mask_phone(phone, masked, sizeof masked);
    pii_wipe(phone, sizeof phone);
    if (rc != CLI_EXIT_OK)
        return rc;
    envelope_free(reply);
    if (x->json) {
        json_writer w;
        ctl_json_ok_begin(x, &w);
        json_kv_string(&w, "phone", masked);
        json_object_end(&w);
    } else {
        buf_appendf(&x->out, _("Removed %s from the do-not-call list.\n"), masked);
    }
    return CLI_EXIT_OK;
}

/* ---- import ---- */

typedef struct import_state {
    ctl *x;
    const char *reason;
    int status; /* of the last batch sent from inside the reader */
    csv_reader csv;
    FILE *in;
    off_t size; /* for the progress bar; 0 when unknown */
    off_t done;
    bool progress;
    char phones[IMPORT_BATCH][IMPORT_LINE_MAX];
    unsigned lines[IMPORT_BATCH]; /* the file line of each phone */
    size_t n;
    uint64_t added, already, invalid;
    buf rejected_json; /* the rejections as JSON array items */
    buf rejected_text;
    unsigned shown;
} import_state;

static void draw_progress(const import_state *st, bool final) {
    ctl_progress(st->progress, st->done, st->size, st->csv.line, final);
}

/* The number of a record: its first field, trimmed; NULL for records that
 * carry none (a comment, a header without digits on line 1). */
static const char *number_of(const csv_record *r) {
    const char *cell = r->fields[0];
    while (*cell == ' ' || *cell == '\t')
        cell++;
    if (*cell == '\0' || *cell == '#' || (r->line == 1 && strpbrk(cell, "0123456789") == NULL))
        return NULL;
    return cell;
}

static void note_rejected(import_state *st, unsigned line, const char *reason) {
    st->invalid++;
    json_writer w;
    json_init(&w, &st->rejected_json);
    if (buf_pending(&st->rejected_json) > 0)
        buf_append_str(&st->rejected_json, ",");
    json_object_begin(&w);
    json_kv_uint(&w, "line", line);
    json_kv_string(&w, "reason", reason);
    json_object_end(&w);
    if (st->shown++ < SHOW_REJECTED)
        buf_appendf(&st->rejected_text, _("  line %u: %s\n"), line, reason);
}

static int send_batch(ctl *x, import_state *st, const char *reason) {
    char *phones[IMPORT_BATCH];
    for (size_t i = 0; i < st->n; i++)
        phones[i] = st->phones[i];
    Callfloor__DncImport msg = CALLFLOOR__DNC_IMPORT__INIT;
    msg.phones = phones;
    msg.n_phones = st->n;
    msg.reason = (char *)reason;
    msg.first_line = st->lines[0];
    envelope req = CALLFLOOR__ENVELOPE__INIT, *reply;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_DNC_IMPORT;
    req.dnc_import = &msg;
    int rc = ctl_call(x, &req, CALLFLOOR__ENVELOPE__BODY_DNC_IMPORT_REPLY, &reply);
    pii_wipe(st->phones, sizeof st->phones);
    if (rc != CLI_EXIT_OK)
        return rc;
    const Callfloor__DncImportReply *r = reply->dnc_import_reply;
    st->added += r->added;
    st->already += r->already;
    /* The server counts lines from first_line as if the batch had no gaps;
     * map its index back to the real line. */
    for (size_t k = 0; k < r->n_rejected; k++) {
        size_t index = r->rejected[k]->line - st->lines[0];
        note_rejected(st, index < st->n ? st->lines[index] : r->rejected[k]->line,
                      r->rejected[k]->reason);
    }
    envelope_free(reply);
    st->n = 0;
    draw_progress(st, false);
    return CLI_EXIT_OK;
}

/* Collects the records' numbers into batches; a batch goes to the server
 * as soon as it is full. Returns false to stop on a failed batch. */
static bool on_record(const csv_record *r, void *arg) {
    import_state *st = arg;
    if (r->invalid_utf8) {
        note_rejected(st, r->line, _("the line is not UTF-8 text"));
        return true;
    }
    const char *number = number_of(r);
    if (number == NULL)
        return true;
    if (strlen(number) >= IMPORT_LINE_MAX) {
        note_rejected(st, r->line, _("the field is too long for a phone number"));
        return true;
    }
    snprintf(st->phones[st->n], IMPORT_LINE_MAX, "%s", number);
    st->lines[st->n++] = r->line;
    if (st->n == IMPORT_BATCH)
        st->status = send_batch(st->x, st, st->reason);
    return st->status == CLI_EXIT_OK;
}

static int import_file(ctl *x, import_state *st, const char *path) {
    char chunk[65536];
    size_t n;
    int rc = 0;
    csv_init(&st->csv, on_record, st);
    csv_tolerate_bad_utf8(&st->csv);
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, st->in)) > 0) {
        st->done += (off_t)n;
        rc = csv_feed(&st->csv, chunk, n);
        draw_progress(st, false);
    }
    pii_wipe(chunk, sizeof chunk);
    if (rc == 0 && ferror(st->in))
        return ctl_usage_error(x, NULL, _("cannot read %s: %s"), path, strerror(errno));
    if (rc == 0)
        rc = csv_finish(&st->csv);
    if (rc == CSV_E_STOPPED)
        return st->status;
    /* What came before a broken line is imported all the same. */
    int sent = st->n > 0 ? send_batch(x, st, st->reason) : CLI_EXIT_OK;
    if (sent != CLI_EXIT_OK || rc == 0)
        return sent;
    return ctl_usage_error(x, NULL, _("%s:%u: %s; the lines before it were imported"), path,
                           st->csv.line, csv_strerror(rc));
}

static void import_report(ctl *x, import_state *st, const char *path) {
    if (x->json) {
        buf_appendf(&x->out, "{\"added\":%llu,\"already\":%llu,\"invalid\":%llu,\"rejected\":[",
                    (unsigned long long)st->added, (unsigned long long)st->already,
                    (unsigned long long)st->invalid);
        buf_append(&x->out, buf_head(&st->rejected_json), buf_pending(&st->rejected_json));
        buf_append_str(&x->out, "]}");
        return;
    }
    buf_appendf(&x->out, _("Imported %s: %llu added, %llu listed already, %llu invalid.\n"), path,
                (unsigned long long)st->added, (unsigned long long)st->already,
                (unsigned long long)st->invalid);
    buf_append(&x->out, buf_head(&st->rejected_text), buf_pending(&st->rejected_text));
    if (st->shown > SHOW_REJECTED)
        buf_appendf(&x->out, _("  ... and %u more (--json lists them all)\n"),
                    st->shown - SHOW_REJECTED);
}

int ctl_run_dnc_import(ctl *x, const ctl_args *a) {
    import_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return ctl_report_status(x, CLIENT_E_NOMEM);
    st->in = fopen(a->name, "r");
    if (st->in == NULL) {
        int rc = ctl_usage_error(x, NULL, _("cannot open %s: %s"), a->name, strerror(errno));
        free(st);
        return rc;
    }
    struct stat sb;
    st->size = fstat(fileno(st->in), &sb) == 0 && S_ISREG(sb.st_mode) ? sb.st_size : 0;
    st->progress = !x->json && isatty(STDERR_FILENO);
    st->x = x;
    st->reason = reason_of(a);
    int rc = import_file(x, st, a->name);
    draw_progress(st, true);
    if (rc == CLI_EXIT_OK)
        import_report(x, st, a->name);
    fclose(st->in);
    buf_free(&st->rejected_json);
    buf_free(&st->rejected_text);
    free(st);
    return rc;
}
