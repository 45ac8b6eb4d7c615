/* cmdin: the script modes' command input: a descriptor (standard input)
 * read line by line on the libuv loop, whatever it is: a terminal, a pipe
 * or socket, or a regular file or /dev/null (those are read through the
 * thread pool, since epoll cannot watch them). Delivery can be paused so
 * that a reader handles one line at a time. Lines may be passwords: every
 * byte is wiped once delivered. */
#ifndef CALLFLOOR_CMDIN_H
#define CALLFLOOR_CMDIN_H

#include <stdbool.h>

#include <uv.h>

/* The longest line accepted, in bytes, without its line end. */
#define CMDIN_MAX 65535

typedef struct cmdin cmdin;

/* One line without its "\n" or "\r\n", valid only during the call (the
 * callback may change it in place, e.g. to trim it). At the
 * end of the input `line` is NULL and `status` is 0 (end of file) or a
 * negative libuv code (a read error; UV_E2BIG for a line longer than
 * CMDIN_MAX); nothing is delivered after that. Return false to pause
 * delivery until cmdin_resume. */
typedef bool (*cmdin_cb)(char *line, int status, void *arg);

/* Starts reading `fd`. Returns 0 and sets *out, or a negative libuv code. */
int cmdin_open(uv_loop_t *loop, int fd, cmdin_cb cb, void *arg, cmdin **out);
/* Delivers the lines already read, then reads on. */
void cmdin_resume(cmdin *in);
/* Stops: no callback comes any more, and the reader is freed once libuv is
 * done with it (the loop must run). */
void cmdin_close(cmdin *in);

#endif
