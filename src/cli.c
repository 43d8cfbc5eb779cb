// SPDX-License-Identifier: MIT
/*
 * cli: "hookstream classify" runs the same normalize step as the server on a
 * file, so operators can test rules offline before a sender ever posts.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/cli.h"
#include "hookstream/config.h"
#include "hookstream/normalize.h"
#include "hookstream/timeutil.h"
#include "hookstream/xalloc.h"

extern char **environ;

static void
cli_classify_usage(FILE *out)
{
	fprintf(out,
		"usage: hookstream classify [-c FILE] [BODY_FILE|-] [--path P] "
		"[--content-type T]\n"
		"\n"
		"Print the CloudEvents envelope(s) a notification body would be stored as,\n"
		"one JSON line per event on stdout (stream and event id on stderr). No\n"
		"Redis is needed. --path is the request path with an optional query\n"
		"(default /webhook); --content-type defaults to application/json.\n");
}

static char *
cli_read_all(FILE *f, size_t *len)
{
	size_t cap = 65536;
	char *buf = xmalloc(cap);

	*len = 0;
	for (;;) {
		size_t n = fread(buf + *len, 1, cap - *len, f);

		*len += n;
		if (n == 0)
			break;
		if (*len == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
	}
	return buf;
}

int
cli_classify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "path", required_argument, NULL, 'p' },
		{ "content-type", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = getenv("HOOKSTREAM_CONFIG");
	const char *path = "/webhook", *ctype = "application/json", *file = "-";
	char received_at[TIMEUTIL_RFC3339_LEN];
	struct config_error cerr;
	struct config *cfg = NULL;
	struct normalize_request req;
	struct normalize_result res;
	struct normalize_error nerr;
	const struct config_route *route;
	char *route_path = NULL, *body = NULL;
	const char *query = NULL;
	struct timespec now = timeutil_now();
	size_t len;
	FILE *f;
	int opt, status = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'p':
			path = optarg;
			break;
		case 't':
			ctype = optarg;
			break;
		case 'h':
			cli_classify_usage(stdout);
			return 0;
		default:
			cli_classify_usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		file = argv[optind++];
	if (optind < argc) {
		cli_classify_usage(stderr);
		return 2;
	}
	if (config_path != NULL && *config_path == '\0')
		config_path = NULL;
	/* The allowlist does not matter offline; do not make the operator set it. */
	{
		size_t n = 0;
		char **env;

		while (environ[n] != NULL)
			n++;
		env = xcalloc(n + 2, sizeof(*env));
		memcpy(env, environ, n * sizeof(*env));
		if (getenv("HOOKSTREAM_ALLOW") == NULL)
			env[n] = "HOOKSTREAM_ALLOW=127.0.0.1";
		if (config_load(config_path, env, &cfg, &cerr) < 0) {
			fprintf(stderr, "hookstream: %s\n", cerr.message);
			free(env);
			return 2;
		}
		free(env);
	}
	route_path = xstrdup(path);
	if (strchr(route_path, '?') != NULL) {
		*strchr(route_path, '?') = '\0';
		query = path + strlen(route_path) + 1;
	}
	route = config_route_find(cfg, route_path);
	if (route == NULL) {
		fprintf(stderr, "hookstream: no [route %s] in %s\n", route_path, cfg->source);
		status = 2;
		goto out;
	}
	f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
	if (f == NULL) {
		fprintf(stderr, "hookstream: cannot read %s\n", file);
		status = 2;
		goto out;
	}
	body = cli_read_all(f, &len);
	if (f != stdin)
		fclose(f);
	timeutil_rfc3339(&now, received_at);
	req = (struct normalize_request){ .cfg = cfg,
					  .route = route,
					  .query = query,
					  .content_type = ctype,
					  .source_ip = "127.0.0.1",
					  .received_at = received_at,
					  .raw = body,
					  .raw_len = len };
	if (normalize_request(&req, &res, &nerr) < 0) {
		printf("{\"status\":%d,\"error\":\"%s\"}\n", nerr.status, nerr.code);
		fprintf(stderr, "hookstream: %d %s: %s\n", nerr.status, nerr.code, nerr.message);
		status = 1;
		goto out;
	}
	for (size_t i = 0; i < res.nevents; i++) {
		fprintf(stderr, "# stream=%s event_id=%s type=%s\n", res.events[i].stream,
			res.events[i].event_id, res.events[i].type);
		fwrite(res.events[i].envelope, 1, res.events[i].envelope_len, stdout);
		fputc('\n', stdout);
	}
	if (res.redactions > 0)
		fprintf(stderr, "# %zu card number(s) masked\n", res.redactions);
	normalize_result_fini(&res);
out:
	free(body);
	free(route_path);
	config_free(cfg);
	return status;
}
