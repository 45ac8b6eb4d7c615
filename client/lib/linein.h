/* linein: standard input as lines, delivered on the libuv loop, for the
 * programs' script modes. Pipes and terminals are read as streams; a
 * regular file is read in chunks through the thread pool. Lines longer
 * than LINEIN_MAX bytes are reported as an error, not split. */
#ifndef CALLFLOOR_LINEIN_H
#define CALLFLOOR_LINEIN_H

#include <stddef.h>

#include <uv.h>

#define LINEIN_MAX 65536

typedef struct linein linein;

/* `line` is NUL-terminated without its line end ("\n" or "\r\n") and valid
 * only during the call; NULL at the end of input. `status` is 0, or
 * -E2BIG for a line too long (then `line` is NULL and reading goes on
 * with the next line), or another negative errno when reading failed
 * (the end: no more calls). */
typedef void (*linein_cb)(int status, const char *line, void *arg);

/* Starts reading file descriptor 0. Returns NULL with errno set. */
linein *linein_start(uv_loop_t *loop, linein_cb cb, void *arg);
/* Stops reading; no more calls. `l` is freed once its handle is closed. */
void linein_stop(linein *l);

#endif
