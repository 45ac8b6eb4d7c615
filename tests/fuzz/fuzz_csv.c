/* fuzz_csv: lead, result and survey files as the imports read them: the
 * bytes fed in chunks whose sizes come from the input itself, every record
 * mapped onto a header the way callfloorctl maps it. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "csv.h"

static const char *const columns[] = {"name", "phone", "time_zone", "score", "application"};

static bool on_record(const csv_record *r, void *arg) {
    int index[5];
    size_t bad;
    (void)arg;
    csv_map_header(r, columns, 5, index, &bad);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    size_t chunk = 1 + data[0] % 64;
    csv_reader r;
    csv_init(&r, on_record, NULL);
    if (data[0] & 0x80)
        csv_tolerate_bad_utf8(&r);
    int rc = 0;
    for (size_t at = 1; rc == 0 && at < size; at += chunk)
        rc = csv_feed(&r, (const char *)data + at, at + chunk <= size ? chunk : size - at);
    if (rc == 0)
        csv_finish(&r);
    return 0;
}
