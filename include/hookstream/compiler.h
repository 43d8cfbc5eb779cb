/* SPDX-License-Identifier: MIT */
/* compiler: attribute shorthands shared by every module. */
#ifndef HOOKSTREAM_COMPILER_H
#define HOOKSTREAM_COMPILER_H

#define HS_WUR		     __attribute__((warn_unused_result))
#define HS_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define HS_NORETURN	     __attribute__((noreturn))
#define HS_ARRAY_LEN(a)	     (sizeof(a) / sizeof((a)[0]))
#define HS_UNUSED	     __attribute__((unused))

#endif
