// SPDX-License-Identifier: MIT
/*
 * cli: "hookstream classify" runs the same normalize step as the server on a
 * file, so operators can test rules offline before a sender ever posts.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hookstream/cli.h"
#include "hookstream/config.h"
#include "hookstream/ini.h"
#include "hookstream/normalize.h"
#include "hookstream/timeutil.h"
#include "hookstream/xalloc.h"

extern char **environ;

static void
cli_classify_usage(FILE *out)
{
	fprintf(out, "usage: hookstream classify [-c FILE] [BODY_FILE|-] [--path P] "
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

/* One HTTP/1.0 GET with a deadline; true on status 200. */
static bool
cli_http_ok(const char *host, int port, const char *path)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	char req[256], resp[64];
	struct pollfd pfd;
	ssize_t n;
	size_t got = 0;
	int fd, family = strchr(host, ':') ? AF_INET6 : AF_INET;
	bool ok = false;

	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, strcmp(host, "0.0.0.0") ? host : "127.0.0.1",
			      &a->sin_addr) != 1)
			return false;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, strcmp(host, "::") ? host : "::1", &a->sin6_addr) != 1)
			return false;
		sl = sizeof(*a);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	{
		struct timeval tv = { 2, 0 };

		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0 ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		goto out;
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (got < 12 && poll(&pfd, 1, 2000) == 1) {
		n = read(fd, resp + got, sizeof(resp) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	resp[got] = '\0';
	ok = got >= 12 && strncmp(resp, "HTTP/1.", 7) == 0 && strncmp(resp + 9, "200", 3) == 0;
out:
	close(fd);
	return ok;
}

/* The admin_listen line of the file's global section, by the same INI
 * reader the configuration uses (nothing else in it is checked). */
static int
cli_admin_line(void *arg, const char *section, const char *key, const char *value,
	       unsigned int line, struct ini_error *err)
{
	char **found = arg;

	(void)line;
	(void)err;
	if (section[0] == '\0' && strcmp(key, "admin_listen") == 0) {
		free(*found);
		*found = xstrdup(value);
	}
	return 0;
}

/* admin_listen without loading the configuration: HOOKSTREAM_ADMIN_LISTEN,
 * else the file's admin_listen line, else the built-in default (new). */
static char *
cli_admin_fallback(const char *config_path)
{
	const char *env = getenv("HOOKSTREAM_ADMIN_LISTEN");
	const struct ini_handler h = { .on_value = cli_admin_line };
	struct ini_error ierr;
	char *found = NULL;
	FILE *f;

	if (env != NULL && *env != '\0')
		return xstrdup(env);
	f = config_path != NULL ? fopen(config_path, "r") : NULL;
	if (f != NULL) {
		size_t len;
		char *text = cli_read_all(f, &len);

		fclose(f);
		/* A syntax error past the line still leaves what was found. */
		if (ini_parse(text, len, &h, &found, &ierr) < 0 && found == NULL)
			fprintf(stderr, "hookstream: %s:%u: %s\n", config_path, ierr.line,
				ierr.message);
		free(text);
	}
	return found != NULL ? found : xstrdup("0.0.0.0:9090");
}

int
cli_healthcheck(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "ready", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = getenv("HOOKSTREAM_CONFIG");
	const char *path = "/healthz";
	struct config_error cerr;
	struct config *cfg = NULL;
	const char *why;
	char *host;
	int opt, port;
	bool ok;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'r':
			path = "/readyz";
			break;
		case 'h':
			printf("usage: hookstream healthcheck [-c FILE] [--ready]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (config_path != NULL && *config_path == '\0')
		config_path = NULL;
	if (config_load(config_path, environ, &cfg, &cerr) < 0) {
		/* A bad edit the running process refused on reload: it still
		 * serves its last good configuration, so ask it anyway, where
		 * the environment or the file says its admin listener is. */
		char *addr = cli_admin_fallback(config_path);

		fprintf(stderr, "hookstream: %s (probing admin_listen %s)\n", cerr.message, addr);
		if (config_parse_address(addr, &host, &port, &why) < 0) {
			free(addr);
			return 2;
		}
		free(addr);
	} else if (config_parse_address(cfg->admin_listen, &host, &port, &why) < 0) {
		config_free(cfg);
		return 2;
	}
	ok = cli_http_ok(host, port, path);
	printf("%s %s\n", path, ok ? "ok" : "failed");
	free(host);
	config_free(cfg);
	return ok ? 0 : 1;
}
