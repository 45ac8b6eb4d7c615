/* Unit tests for common/frame: frames arriving whole, split byte by byte or
 * merged, the length checks (which must refuse before allocating), limit
 * changes between frames, a receiver that stops decoding, and the header
 * encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "buf.h"
#include "frame.h"

#define MAX_SEEN 8

/* What the callback saw, frame by frame. */
typedef struct seen {
    int count;
    int stop_after; /* return non-zero from this frame on (1-based); 0 never */
    size_t len[MAX_SEEN];
    uint8_t bytes[MAX_SEEN][64];
} seen;

static int record_frame(void *arg, const uint8_t *payload, size_t len) {
    seen *s = arg;
    assert_true(s->count < MAX_SEEN);
    assert_true(len <= sizeof s->bytes[0]);
    s->len[s->count] = len;
    memcpy(s->bytes[s->count], payload, len);
    s->count++;
    return s->stop_after != 0 && s->count >= s->stop_after;
}

static void append_frame(buf *b, const char *payload) {
    uint8_t header[FRAME_HEADER_SIZE];
    frame_write_header(header, (uint32_t)strlen(payload));
    assert_int_equal(buf_append(b, header, sizeof header), 0);
    assert_int_equal(buf_append_str(b, payload), 0);
}

static void assert_frame(const seen *s, int index, const char *payload) {
    assert_int_equal(s->len[index], strlen(payload));
    assert_memory_equal(s->bytes[index], payload, strlen(payload));
}

static void test_one_frame_one_feed(void **state) {
    (void)state;
    buf b = BUF_INIT;
    append_frame(&b, "hello");
    frame_decoder d;
    frame_decoder_init(&d, FRAME_DEFAULT_MAX);
    seen s = {0};
    assert_int_equal(frame_decoder_feed(&d, buf_head(&b), buf_pending(&b), record_frame, &s), 0);
    assert_int_equal(s.count, 1);
    assert_frame(&s, 0, "hello");
    assert_false(frame_decoder_mid_frame(&d));
    frame_decoder_free(&d);
    buf_free(&b);
}

static void test_split_byte_by_byte(void **state) {
    (void)state;
    buf b = BUF_INIT;
    append_frame(&b, "split across many reads");
    frame_decoder d;
    frame_decoder_init(&d, FRAME_DEFAULT_MAX);
    seen s = {0};
    size_t total = buf_pending(&b);
    for (size_t i = 0; i < total; i++) {
        assert_int_equal(s.count, 0);
        assert_int_equal(frame_decoder_feed(&d, buf_head(&b) + i, 1, record_frame, &s), 0);
        assert_int_equal(frame_decoder_mid_frame(&d), i + 1 < total);
    }
    assert_int_equal(s.count, 1);
    assert_frame(&s, 0, "split across many reads");
    frame_decoder_free(&d);
    buf_free(&b);
}

static void test_merged_frames_and_partial_tail(void **state) {
    (void)state;
    buf b = BUF_INIT;
    append_frame(&b, "first");
    append_frame(&b, "second");
    append_frame(&b, "third");
    append_frame(&b, "fourth, cut short");
    size_t cut = buf_pending(&b) - 5;
    frame_decoder d;
    frame_decoder_init(&d, FRAME_DEFAULT_MAX);
    seen s = {0};
    assert_int_equal(frame_decoder_feed(&d, buf_head(&b), cut, record_frame, &s), 0);
    assert_int_equal(s.count, 3);
    assert_frame(&s, 0, "first");
    assert_frame(&s, 1, "second");
    assert_frame(&s, 2, "third");
    assert_true(frame_decoder_mid_frame(&d));
    assert_int_equal(frame_decoder_feed(&d, buf_head(&b) + cut, 5, record_frame, &s), 0);
    assert_int_equal(s.count, 4);
    assert_frame(&s, 3, "fourth, cut short");
    assert_false(frame_decoder_mid_frame(&d));
    frame_decoder_free(&d);
    buf_free(&b);
}

/* A partial header and then the rest with a whole second frame behind it:
 * the gathered path and the zero-copy path in one feed. */
static void test_partial_header_then_rest(void **state) {
    (void)state;
    buf b = BUF_INIT;
    append_frame(&b, "abc");
    append_frame(&b, "defg");
    frame_decoder d;
    frame_decoder_init(&d, FRAME_DEFAULT_MAX);
    seen s = {0};
    assert_int_equal(frame_decoder_feed(&d, buf_head(&b), 2, record_frame, &s), 0);
    assert_true(frame_decoder_mid_frame(&d));
    assert_int_equal(
        frame_decoder_feed(&d, buf_head(&b) + 2, buf_pending(&b) - 2, record_frame, &s), 0);
    assert_int_equal(s.count, 2);
    assert_frame(&s, 0, "abc");
    assert_frame(&s, 1, "defg");
    frame_decoder_free(&d);
    buf_free(&b);
}

static void test_zero_length_is_empty_error(void **state) {
    (void)state;
    static const uint8_t empty[] = {0, 0, 0, 0};
    frame_decoder d;
    frame_decoder_init(&d, FRAME_DEFAULT_MAX);
    d.bad_len = 12345;
    seen s = {0};
    assert_int_equal(frame_decoder_feed(&d, empty, sizeof empty, record_frame, &s), FRAME_E_EMPTY);
    assert_int_equal(d.bad_len, 0);
    assert_int_equal(s.count, 0);
    frame_decoder_free(&d);
}

/* The header declares nearly 4 GiB but only the header arrives: the decoder
 * must refuse at once, without allocating (ASan would report the attempt
 * to reserve that much, and payload must stay NULL). */
static void test_too_large_refused_before_allocating(void **state) {
    (void)state;
    uint8_t header[FRAME_HEADER_SIZE];
    frame_write_header(header, 0xFFFFFFF0u);
    frame_decoder d;
    frame_decoder_init(&d, FRAME_DEFAULT_MAX);
    seen s = {0};
    assert_int_equal(frame_decoder_feed(&d, header, sizeof header, record_frame, &s),
                     FRAME_E_TOO_LARGE);
    assert_int_equal(d.bad_len, 0xFFFFFFF0u);
    assert_null(d.payload);
    assert_int_equal(s.count, 0);
    frame_decoder_free(&d);

    frame_decoder_init(&d, 16);
    frame_write_header(header, 17);
    assert_int_equal(frame_decoder_feed(&d, header, sizeof header, record_frame, &s),
                     FRAME_E_TOO_LARGE);
    assert_int_equal(d.bad_len, 17);
    assert_null(d.payload);
    frame_decoder_free(&d);
}

static void test_limit_is_inclusive(void **state) {
    (void)state;
    buf b = BUF_INIT;
    append_frame(&b, "12345678");
    frame_decoder d;
    frame_decoder_init(&d, 8);
    seen s = {0};
    assert_int_equal(frame_decoder_feed(&d, buf_head(&b), buf_pending(&b), record_frame, &s), 0);
    assert_int_equal(s.count, 1);
    frame_decoder_free(&d);
    buf_free(&b);
}

/* The session raises the limit after login, between two frames. */
static void test_set_max_between_frames(void **state) {
    (void)state;
    buf small = BUF_INIT, big = BUF_INIT;
    append_frame(&small, "tiny");
    append_frame(&big, "a frame over the pre-login limit");
    frame_decoder d;
    frame_decoder_init(&d, 8);
    seen s = {0};
    assert_int_equal(
        frame_decoder_feed(&d, buf_head(&small), buf_pending(&small), record_frame, &s), 0);
    frame_decoder_set_max(&d, 64);
    assert_int_equal(frame_decoder_feed(&d, buf_head(&big), buf_pending(&big), record_frame, &s),
                     0);
    assert_int_equal(s.count, 2);
    assert_frame(&s, 1, "a frame over the pre-login limit");
    frame_decoder_set_max(&d, 8);
    assert_int_equal(frame_decoder_feed(&d, buf_head(&big), buf_pending(&big), record_frame, &s),
                     FRAME_E_TOO_LARGE);
    assert_int_equal(d.bad_len, strlen("a frame over the pre-login limit"));
    assert_int_equal(s.count, 2);
    frame_decoder_free(&d);
    buf_free(&small);
    buf_free(&big);
}

/* Stopping after the first of three frames leaves the rest untouched: no
 * further callback, and the second frame's header not half-read into the
 * decoder. Both the zero-copy and the gathered path are covered. */
static void test_callback_stops(void **state) {
    (void)state;
    buf b = BUF_INIT;
    append_frame(&b, "one");
    append_frame(&b, "two");
    append_frame(&b, "three");
    frame_decoder d;
    frame_decoder_init(&d, FRAME_DEFAULT_MAX);
    seen s = {.stop_after = 1};
    assert_int_equal(frame_decoder_feed(&d, buf_head(&b), buf_pending(&b), record_frame, &s),
                     FRAME_E_STOPPED);
    assert_int_equal(s.count, 1);
    assert_frame(&s, 0, "one");
    assert_false(frame_decoder_mid_frame(&d));
    frame_decoder_free(&d);

    frame_decoder_init(&d, FRAME_DEFAULT_MAX);
    seen gathered = {.stop_after = 1};
    assert_int_equal(frame_decoder_feed(&d, buf_head(&b), 5, record_frame, &gathered), 0);
    assert_int_equal(
        frame_decoder_feed(&d, buf_head(&b) + 5, buf_pending(&b) - 5, record_frame, &gathered),
        FRAME_E_STOPPED);
    assert_int_equal(gathered.count, 1);
    assert_frame(&gathered, 0, "one");
    assert_false(frame_decoder_mid_frame(&d));
    frame_decoder_free(&d);
    buf_free(&b);
}

static void test_write_header_big_endian(void **state) {
    (void)state;
    uint8_t header[FRAME_HEADER_SIZE];
    frame_write_header(header, 0x01020304u);
    static const uint8_t expected[] = {0x01, 0x02, 0x03, 0x04};
    assert_memory_equal(header, expected, sizeof expected);
    frame_write_header(header, 300);
    static const uint8_t small[] = {0x00, 0x00, 0x01, 0x2C};
    assert_memory_equal(header, small, sizeof small);
}

/* A decoder freed mid-frame releases the gathered payload (ASan/valgrind
 * would report a leak otherwise) and is clean again. */
static void test_free_mid_frame(void **state) {
    (void)state;
    buf b = BUF_INIT;
    append_frame(&b, "never finished");
    frame_decoder d;
    frame_decoder_init(&d, FRAME_DEFAULT_MAX);
    seen s = {0};
    assert_int_equal(frame_decoder_feed(&d, buf_head(&b), 8, record_frame, &s), 0);
    assert_true(frame_decoder_mid_frame(&d));
    assert_non_null(d.payload);
    frame_decoder_free(&d);
    assert_false(frame_decoder_mid_frame(&d));
    assert_null(d.payload);
    buf_free(&b);
}

static void test_strerror(void **state) {
    (void)state;
    assert_string_equal(frame_strerror(FRAME_E_TOO_LARGE), "frame larger than the limit");
    assert_string_equal(frame_strerror(FRAME_E_EMPTY), "frame declared length 0");
    assert_string_equal(frame_strerror(-1), "unknown frame error");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_frame_one_feed),
        cmocka_unit_test(test_split_byte_by_byte),
        cmocka_unit_test(test_merged_frames_and_partial_tail),
        cmocka_unit_test(test_partial_header_then_rest),
        cmocka_unit_test(test_zero_length_is_empty_error),
        cmocka_unit_test(test_too_large_refused_before_allocating),
        cmocka_unit_test(test_limit_is_inclusive),
        cmocka_unit_test(test_set_max_between_frames),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_write_header_big_endian),
        cmocka_unit_test(test_free_mid_frame),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
