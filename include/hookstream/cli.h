/* SPDX-License-Identifier: MIT */
/* cli: subcommands of the hookstream binary other than the daemon itself. */
#ifndef HOOKSTREAM_CLI_H
#define HOOKSTREAM_CLI_H

/*
 * "hookstream classify [-c FILE] [FILE|-] [--path P] [--content-type T]":
 * print the envelope(s) a body would produce, one JSON line each, without
 * Redis. Returns the exit status (0 ok, 1 the body is refused, 2 usage/config).
 */
int cli_classify(int argc, char **argv);

/*
 * "hookstream healthcheck [-c FILE] [--ready]": GET /healthz (or /readyz) on
 * the configured admin listener (0.0.0.0 is asked on 127.0.0.1). Exit 0 on a
 * 200 within 2 s, else 1. For container HEALTHCHECKs: needs no other tool.
 */
int cli_healthcheck(int argc, char **argv);

#endif
