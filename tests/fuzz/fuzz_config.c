/* fuzz_config: callfloord.conf files, read through the daemon's own
 * settings table: every key and value shape, comments, quoting, sections,
 * long lines. A bad file must be refused with a message, never crash. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fd = memfd_create("callfloord.conf", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64], err[512];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        settings s = {0};
        if (config_set_defaults(settings_table, &s, err, sizeof err) == 0) {
            config_load_file(settings_table, &s, path, err, sizeof err);
            config_free(settings_table, &s);
        }
    }
    close(fd);
    return 0;
}
