#include "label.h"

#include <string.h>

bool label_valid(const char *s, size_t max_len) {
    size_t len = strlen(s);
    if (len == 0 || len > max_len)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}
