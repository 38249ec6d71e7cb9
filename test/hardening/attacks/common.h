/*
 * Shared bits of the attack programs (identity-attacks.test.ts builds them with `cc`): one JSON line
 * per step on stdout, a TCP connect to the OCI endpoint (the kernel decides whether it is steered),
 * an HTTPS PutObject over any connected fd, and the test's go-signals (files that appear).
 */
#ifndef SIGIL_ATTACK_COMMON_H
#define SIGIL_ATTACK_COMMON_H

#include <stddef.h>

/* {"event":"<event>", <extra>} on stdout, flushed; extra is a JSON fragment ("" for none). */
void report(const char *event, const char *extra);
/* {"event":"error","step":"<step>","errno":N,"error":"..."} then exit(code). */
void fail(const char *step, int code);

/* Connected TCP socket to addr:443 (IPv4 text), or -1 with errno. */
int connect_endpoint(const char *addr);

/*
 * PUT /n/sigiltest/b/attacks/o/<object> over TLS on fd (SNI and Host = host, no certificate check:
 * an attacker does not care who answers). Returns the HTTP status, or -1 (TLS/IO error).
 */
int https_put(int fd, const char *host, const char *object, const char *tag);

/* Waits until <path> exists (the test's go-signal); exits with an error after 30 s. */
void wait_for_file(const char *path);

/* readlink(/proc/self/exe) and /proc/self/cmdline (NULs as spaces), for the report. */
void self_view(char *exe, size_t exe_len, char *cmdline, size_t cmdline_len);

#endif
