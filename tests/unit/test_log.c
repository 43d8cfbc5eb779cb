// SPDX-License-Identifier: MIT
/*
 * log: lines on stderr, collected per turn of an attached event loop. stderr
 * is a pipe drained by a reader thread (as under a container runtime), so
 * what the tests see is exactly what was written, in order.
 */
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "hookstream/log.h"

struct capture {
	int saved_stderr;
	FILE *saved_stderr_file, *messages;
	int rd;
	pthread_t reader;
	pthread_mutex_t mu;
	char *data;
	size_t len, cap;
	bool slow; /* the pipe fills up: writes of a batch block part way */
};

static struct capture cap;

static void *
reader_main(void *arg)
{
	struct capture *c = arg;
	char buf[512]; /* small reads: writers meet a full pipe */

	for (;;) {
		ssize_t n = read(c->rd, buf, sizeof(buf));

		if (n <= 0)
			break;
		if (c->slow)
			usleep(20);
		pthread_mutex_lock(&c->mu);
		if (c->len + (size_t)n + 1 > c->cap) {
			c->cap = (c->len + (size_t)n + 1) * 2;
			c->data = realloc(c->data, c->cap);
			assert_non_null(c->data);
		}
		memcpy(c->data + c->len, buf, (size_t)n);
		c->len += (size_t)n;
		c->data[c->len] = '\0';
		pthread_mutex_unlock(&c->mu);
	}
	return NULL;
}

static int
capture_start(void **state)
{
	int p[2];

	(void)state;
	memset(&cap, 0, sizeof(cap));
	pthread_mutex_init(&cap.mu, NULL);
	assert_int_equal(pipe(p), 0);
	cap.saved_stderr = dup(STDERR_FILENO);
	assert_true(cap.saved_stderr >= 0);
	assert_true(dup2(p[1], STDERR_FILENO) >= 0);
	close(p[1]);
	cap.rd = p[0];
	/* cmocka's own messages go to the real stderr, not the capture. */
	cap.saved_stderr_file = stderr;
	cap.messages = fdopen(dup(cap.saved_stderr), "w");
	assert_non_null(cap.messages);
	setvbuf(cap.messages, NULL, _IONBF, 0);
	stderr = cap.messages;
	assert_int_equal(pthread_create(&cap.reader, NULL, reader_main, &cap), 0);
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_JSON);
	return 0;
}

/* Close the pipe's last writer and wait for the reader to see all of it. */
static void
capture_stop(void)
{
	assert_true(dup2(cap.saved_stderr, STDERR_FILENO) >= 0);
	close(cap.saved_stderr);
	pthread_join(cap.reader, NULL);
	close(cap.rd);
}

static int
capture_free(void **state)
{
	(void)state;
	stderr = cap.saved_stderr_file;
	fclose(cap.messages);
	free(cap.data);
	pthread_mutex_destroy(&cap.mu);
	return 0;
}

/* Bytes captured after a pause: for checking that nothing was written. */
static size_t
captured_after_pause(void)
{
	size_t n;

	usleep(50 * 1000);
	pthread_mutex_lock(&cap.mu);
	n = cap.len;
	pthread_mutex_unlock(&cap.mu);
	return n;
}

/* Has text reached the capture (within 10 s: the reader may be slow to run
 * on a loaded machine)? */
static bool
captured_text(const char *text)
{
	for (int i = 0; i < 1000; i++) {
		bool found;

		pthread_mutex_lock(&cap.mu);
		found = cap.data != NULL && strstr(cap.data, text) != NULL;
		pthread_mutex_unlock(&cap.mu);
		if (found)
			return true;
		usleep(10 * 1000);
	}
	return false;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static void
test_unattached_thread_writes_each_line_at_once(void **state)
{
	(void)state;
	log_info("first %d", 1);
	assert_true(captured_text("first 1"));
	log_debug("below the level");
	capture_stop();
	assert_non_null(cap.data);
	assert_int_equal(count(cap.data, "\"msg\":\"first 1\"}\n"), 1);
	assert_int_equal(count(cap.data, "below the level"), 0);
}

static void
test_attached_loop_writes_once_per_turn(void **state)
{
	struct event_base *base = event_base_new();

	(void)state;
	assert_non_null(base);
	log_batch_attach(base);
	log_info("line a");
	log_info("line b");
	log_info("line c");
	assert_int_equal(captured_after_pause(), 0);
	/* One turn runs the zero timer. */
	assert_int_equal(event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), 0);
	assert_true(captured_text("line c"));
	log_info("line d");
	log_batch_detach();
	event_base_free(base);
	capture_stop();
	assert_non_null(cap.data);
	assert_non_null(strstr(cap.data, "line a\"}\n"));
	assert_true(strstr(cap.data, "line a") < strstr(cap.data, "line b"));
	assert_true(strstr(cap.data, "line b") < strstr(cap.data, "line c"));
	assert_true(strstr(cap.data, "line c") < strstr(cap.data, "line d"));
	assert_int_equal(count(cap.data, "\n"), 4);
}

static void
test_warning_writes_what_is_collected_first(void **state)
{
	struct event_base *base = event_base_new();
	const char *a, *b, *w;

	(void)state;
	assert_non_null(base);
	log_batch_attach(base);
	log_info("info one");
	log_info("info two");
	log_warn("the warning");
	/* Written without a turn of the loop, in the order logged. */
	assert_true(captured_text("the warning"));
	pthread_mutex_lock(&cap.mu);
	assert_non_null(cap.data);
	a = strstr(cap.data, "info one");
	b = strstr(cap.data, "info two");
	w = strstr(cap.data, "\"level\":\"warn\",\"msg\":\"the warning\"}\n");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(w);
	assert_true(a < b && b < w);
	pthread_mutex_unlock(&cap.mu);
	/* Nothing is left to write twice. */
	assert_int_equal(event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), 0);
	log_batch_detach();
	event_base_free(base);
	capture_stop();
	assert_int_equal(count(cap.data, "\n"), 3);
}

static void
test_a_full_batch_is_written_before_the_turn_ends(void **state)
{
	struct event_base *base = event_base_new();
	char filler[301];
	char want[64];
	const char *prev = NULL;

	(void)state;
	assert_non_null(base);
	memset(filler, 'x', sizeof(filler) - 1);
	filler[sizeof(filler) - 1] = '\0';
	log_batch_attach(base);
	/* ~70 KB: more than one batch holds. */
	for (int i = 0; i < 200; i++)
		log_info("n%03d %s", i, filler);
	/* The first lines went out when the batch filled, without a turn. */
	assert_true(captured_text("\"msg\":\"n000 x"));
	log_batch_detach();
	event_base_free(base);
	capture_stop();
	assert_non_null(cap.data);
	assert_int_equal(count(cap.data, "\n"), 200);
	for (int i = 0; i < 200; i++) {
		const char *at;

		snprintf(want, sizeof(want), "\"msg\":\"n%03d x", i);
		at = strstr(cap.data, want);
		assert_non_null(at);
		assert_true(prev == NULL || at > prev);
		prev = at;
	}
}

static void
test_fields_print_as_printf_would(void **state)
{
	static const long long ints[] = { 0, 7, -1, 202, 1234567890123LL, LLONG_MAX, LLONG_MIN };
	static const double ms[] = { 0,	       0.0004,	  0.0006,	0.25, 1.2344, 1.2346,
				     999.9996, 12345.678, 86400000.125, -1.5, 2e12 };
	char want[128];
	const char *at;

	(void)state;
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		log_fields(LOG_LEVEL_INFO, "i", (struct log_field[]){ LOG_INT("v", ints[i]) }, 1);
	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		log_fields(LOG_LEVEL_INFO, "m", (struct log_field[]){ LOG_MS("v", ms[i]) }, 1);
	log_fields(LOG_LEVEL_ERROR, "q\"b\\c\x01\x1f\x7f d",
		   (struct log_field[]){ LOG_STR("s", "tab\there\nand \"quotes\""),
					 LOG_STR("n", NULL), LOG_STR("e", "") },
		   3);
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	log_fields(LOG_LEVEL_WARN, "text line",
		   (struct log_field[]){ LOG_STR("plain", "a-b"), LOG_STR("spaced", "a b"),
					 LOG_STR("empty", ""), LOG_INT("n", -3),
					 LOG_MS("ms", 1.5) },
		   5);
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_JSON);
	capture_stop();
	assert_non_null(cap.data);
	at = cap.data;
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		snprintf(want, sizeof(want), "\"msg\":\"i\",\"v\":%lld}\n", ints[i]);
		at = strstr(at, want);
		assert_non_null(at);
	}
	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		snprintf(want, sizeof(want), "\"msg\":\"m\",\"v\":%.3f}\n", ms[i]);
		at = strstr(at, want);
		assert_non_null(at);
	}
	at = strstr(at, "\"level\":\"error\",\"msg\":\"q\\\"b\\\\c\\u0001\\u001f\\u007f d\","
			"\"s\":\"tab\\u0009here\\u000aand \\\"quotes\\\"\",\"e\":\"\"}\n");
	assert_non_null(at);
	/* Text: "<ts> warn  text line ..." with values quoted only when needed. */
	at = strstr(at,
		    "Z warn  \"text line\" plain=a-b spaced=\"a b\" empty=\"\" n=-3 ms=1.500\n");
	assert_non_null(at);
}

static void
test_timestamps_are_rfc3339_utc_with_milliseconds(void **state)
{
	struct timespec before, after;
	struct tm tm = { 0 };
	char *end;
	int msec;

	(void)state;
	clock_gettime(CLOCK_REALTIME, &before);
	log_info("now");
	clock_gettime(CLOCK_REALTIME, &after);
	capture_stop();
	assert_non_null(cap.data);
	assert_int_equal(strncmp(cap.data, "{\"ts\":\"", 7), 0);
	end = strptime(cap.data + 7, "%Y-%m-%dT%H:%M:%S", &tm);
	assert_non_null(end);
	assert_int_equal(sscanf(end, ".%3dZ\"", &msec), 1);
	assert_int_equal(end[4], 'Z');
	assert_true(timegm(&tm) >= before.tv_sec && timegm(&tm) <= after.tv_sec);
	assert_true(msec >= 0 && msec < 1000);
}

#define THREADS 4
#define LINES	3000

static void *
logger_main(void *arg)
{
	struct event_base *base = event_base_new();
	int id = (int)(intptr_t)arg;

	assert_non_null(base);
	log_batch_attach(base);
	for (int i = 0; i < LINES; i++) {
		log_fields(
			i % 500 == 499 ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, "request",
			(struct log_field[]){ LOG_INT("thread", id), LOG_INT("seq", i),
					      LOG_STR("pad", "................................"
							     "................................") },
			3);
		if (i % 37 == 0)
			event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	}
	log_batch_detach();
	event_base_free(base);
	return NULL;
}

static void
test_threads_lose_and_interleave_nothing(void **state)
{
	pthread_t t[THREADS];
	int next[THREADS] = { 0 };
	char *line, *save = NULL;
	size_t lines = 0;

	(void)state;
	cap.slow = true;
	assert_int_equal(evthread_use_pthreads(), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, logger_main, (void *)(intptr_t)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	capture_stop();
	assert_non_null(cap.data);
	assert_int_equal(cap.data[cap.len - 1], '\n');
	/* Every line whole, and each thread's lines in its own order. */
	for (line = strtok_r(cap.data, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		int id, seq, used = 0;

		assert_int_equal(sscanf(line,
					"{\"ts\":\"%*[^\"]\",\"level\":\"%*[a-z]\",\"msg\":"
					"\"request\",\"thread\":%d,\"seq\":%d,\"pad\":\"%*[.]\"}%n",
					&id, &seq, &used),
				 2);
		assert_int_equal((size_t)used, strlen(line));
		assert_true(id >= 0 && id < THREADS);
		assert_int_equal(seq, next[id]);
		next[id]++;
		lines++;
	}
	assert_int_equal(lines, THREADS * LINES);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unattached_thread_writes_each_line_at_once,
						capture_start, capture_free),
		cmocka_unit_test_setup_teardown(test_attached_loop_writes_once_per_turn,
						capture_start, capture_free),
		cmocka_unit_test_setup_teardown(test_warning_writes_what_is_collected_first,
						capture_start, capture_free),
		cmocka_unit_test_setup_teardown(test_a_full_batch_is_written_before_the_turn_ends,
						capture_start, capture_free),
		cmocka_unit_test_setup_teardown(test_fields_print_as_printf_would, capture_start,
						capture_free),
		cmocka_unit_test_setup_teardown(test_timestamps_are_rfc3339_utc_with_milliseconds,
						capture_start, capture_free),
		cmocka_unit_test_setup_teardown(test_threads_lose_and_interleave_nothing,
						capture_start, capture_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
