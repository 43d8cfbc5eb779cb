// SPDX-License-Identifier: MIT
/*
 * ini: a line splitter for the config file. Written here rather than taken from
 * libinih because Debian's build truncates lines at 200 bytes (a long allowlist
 * would be silently cut) and reports continuation lines exactly like repeated
 * keys, so a duplicated key could not be refused.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/ini.h"
#include "hookstream/xalloc.h"

static bool
ini_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Trim [*b, *e) in place. */
static void
ini_trim(const char **b, const char **e)
{
	while (*b < *e && ini_is_space(**b))
		(*b)++;
	while (*e > *b && ini_is_space((*e)[-1]))
		(*e)--;
}

static int
ini_syntax(struct ini_error *err, unsigned int line, const char *msg)
{
	err->line = line;
	snprintf(err->message, sizeof(err->message), "%s", msg);
	return -EINVAL;
}

int
ini_parse(const char *text, size_t len, const struct ini_handler *h, void *arg,
	  struct ini_error *err)
{
	const char *p = text, *end = text + len;
	char *section = xstrdup("");
	char *buf = NULL;
	size_t bufcap = 0;
	unsigned int line = 0;
	int rc = 0;

	err->line = 0;
	err->message[0] = '\0';
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *b = p, *e = eol ? eol : end;
		const char *eq;
		size_t need;

		p = eol ? eol + 1 : end;
		line++;
		if (memchr(b, '\0', (size_t)(e - b)) != NULL) {
			rc = ini_syntax(err, line, "NUL byte in line");
			goto out;
		}
		if (line == 1 && e - b >= 3 && memcmp(b, "\xef\xbb\xbf", 3) == 0)
			b += 3;
		ini_trim(&b, &e);
		if (b == e || *b == '#' || *b == ';')
			continue;

		/* Copy the line so callbacks get NUL-terminated pieces. */
		need = (size_t)(e - b) + 2;
		if (need > bufcap) {
			bufcap = need * 2;
			buf = xrealloc(buf, bufcap);
		}

		if (*b == '[') {
			const char *nb = b + 1, *ne = e - 1;

			if (e - b < 2 || e[-1] != ']') {
				rc = ini_syntax(err, line, "section header must end with ']'");
				goto out;
			}
			ini_trim(&nb, &ne);
			if (nb == ne) {
				rc = ini_syntax(err, line, "empty section name");
				goto out;
			}
			free(section);
			section = xstrndup(nb, (size_t)(ne - nb));
			if (h->on_section != NULL) {
				rc = h->on_section(arg, section, line, err);
				if (rc < 0)
					goto out;
			}
			continue;
		}

		eq = memchr(b, '=', (size_t)(e - b));
		if (eq == NULL) {
			rc = ini_syntax(err, line, "expected 'key = value'");
			goto out;
		} else {
			const char *kb = b, *ke = eq, *vb = eq + 1, *ve = e;
			size_t klen;

			ini_trim(&kb, &ke);
			ini_trim(&vb, &ve);
			if (kb == ke) {
				rc = ini_syntax(err, line, "missing key before '='");
				goto out;
			}
			klen = (size_t)(ke - kb);
			memcpy(buf, kb, klen);
			buf[klen] = '\0';
			memcpy(buf + klen + 1, vb, (size_t)(ve - vb));
			buf[klen + 1 + (size_t)(ve - vb)] = '\0';
			rc = h->on_value(arg, section, buf, buf + klen + 1, line, err);
			if (rc < 0)
				goto out;
		}
	}
out:
	free(section);
	free(buf);
	return rc;
}
