// SPDX-License-Identifier: MIT
/*
 * test_timeutil: the sender times that become the CloudEvents "time", and
 * the ones that must not (no such day, no such second).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hookstream/compiler.h"
#include "hookstream/timeutil.h"

static void
test_normalize(void **state)
{
	static const struct {
		const char *in;
		const char *offset;
		const char *want; /* NULL: refused (the receipt time stands in) */
	} cases[] = {
		{ "2026-11-26T10:15:30.123+08:00", NULL, "2026-11-26T10:15:30.123+08:00" },
		{ "2026-11-26T02:15:30Z", NULL, "2026-11-26T02:15:30Z" },
		{ "2028-02-29T00:00:00Z", NULL, "2028-02-29T00:00:00Z" }, /* leap year */
		{ "2000-02-29T00:00:00Z", NULL, "2000-02-29T00:00:00Z" }, /* 400 */
		{ "2026-12-31T23:59:59Z", NULL, "2026-12-31T23:59:59Z" },
		{ "2027-02-29T00:00:00Z", NULL, NULL },
		{ "2100-02-29T00:00:00Z", NULL, NULL }, /* 100, not 400 */
		{ "2026-11-31T10:00:00+08:00", NULL, NULL },
		{ "2026-04-31T10:00:00Z", NULL, NULL },
		{ "2026-11-26T10:00:60Z", NULL, NULL },
		{ "2026-11-26T24:00:00Z", NULL, NULL },
		{ "2026-13-01T00:00:00Z", NULL, NULL },
		{ "2026-00-01T00:00:00Z", NULL, NULL },
		{ "2026-11-00T00:00:00Z", NULL, NULL },
		/* FPX local time, read at the route's offset */
		{ "20261126101612", "+08:00", "2026-11-26T10:16:12+08:00" },
		{ "20280229101612", "+08:00", "2028-02-29T10:16:12+08:00" },
		{ "20270229101612", "+08:00", NULL },
		{ "20261131101612", "+08:00", NULL },
		{ "20261126101660", "+08:00", NULL },
		/* epoch seconds and milliseconds, in UTC */
		{ "1764153600", NULL, "2025-11-26T10:40:00Z" },
		{ "1764153600123", NULL, "2025-11-26T10:40:00.123Z" },
		{ "", NULL, NULL },
		{ "yesterday", NULL, NULL },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		char out[TIMEUTIL_RFC3339_LEN] = "";
		bool ok = timeutil_normalize(cases[i].in, cases[i].offset, out);
		const char *want = cases[i].want;

		if (want == NULL ? ok : !ok || strcmp(out, want) != 0)
			fail_msg("normalize(\"%s\"): %s \"%s\", want %s%s%s", cases[i].in,
				 ok ? "got" : "refused", ok ? out : "", want ? "\"" : "",
				 want ? want : "refused", want ? "\"" : "");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
