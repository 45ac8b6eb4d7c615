/* fuzz_json: the script modes' command lines (callfloor-agent --script,
 * callfloorctl's stdin), parsed as flat JSON objects, then written back
 * with the escaping writer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    json_member m[16];
    size_t where = 0;
    int n = json_parse_flat(text, m, 16, &where);
    buf out = BUF_INIT;
    json_writer w;
    json_init(&w, &out);
    json_object_begin(&w);
    for (int i = 0; i < n; i++) {
        json_key(&w, m[i].key);
        if (m[i].type == JSON_NUMBER)
            json_number_text(&w, m[i].value);
        else
            json_string(&w, m[i].value);
    }
    json_object_end(&w);
    buf_free(&out);
    free(text);
    return 0;
}
