#define _GNU_SOURCE
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void report(const char *event, const char *extra)
{
	printf("{\"event\":\"%s\",\"pid\":%d%s%s}\n", event, getpid(), extra[0] ? "," : "", extra);
	fflush(stdout);
}

void fail(const char *step, int code)
{
	char extra[512];
	int err = errno;

	snprintf(extra, sizeof extra, "\"step\":\"%s\",\"errno\":%d,\"error\":\"%s\"", step, err, strerror(err));
	report("error", extra);
	exit(code);
}

int connect_endpoint(const char *addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(443) };
	int fd;

	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		errno = EINVAL;
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int https_put(int fd, const char *host, const char *object, const char *tag)
{
	char request[1024], answer[64];
	const char *body = "written by an attack program\n";
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;
	int status = -1, got = 0, n;

	if (!ctx)
		return -1;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_tlsext_host_name(ssl, host) || !SSL_set_fd(ssl, fd) || SSL_connect(ssl) != 1)
		goto out;
	snprintf(request, sizeof request,
		 "PUT /n/sigiltest/b/attacks/o/%s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\n"
		 "Content-Length: %zu\r\nx-test-tag: %s\r\nConnection: close\r\n\r\n%s",
		 object, host, strlen(body), tag, body);
	if (SSL_write(ssl, request, (int)strlen(request)) <= 0)
		goto out;
	while (got < (int)sizeof answer - 1 && (n = SSL_read(ssl, answer + got, (int)sizeof answer - 1 - got)) > 0)
		got += n;
	answer[got] = 0;
	if (strncmp(answer, "HTTP/1.1 ", 9) == 0)
		status = atoi(answer + 9);
out:
	if (ssl)
		SSL_free(ssl);
	SSL_CTX_free(ctx);
	return status;
}

void wait_for_file(const char *path)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < 3000; i++) {
		if (access(path, F_OK) == 0)
			return;
		nanosleep(&tick, NULL);
	}
	errno = ETIMEDOUT;
	fail("wait-for-go", 70);
}

void self_view(char *exe, size_t exe_len, char *cmdline, size_t cmdline_len)
{
	ssize_t n = readlink("/proc/self/exe", exe, exe_len - 1);
	int fd;

	exe[n < 0 ? 0 : n] = 0;
	cmdline[0] = 0;
	fd = open("/proc/self/cmdline", O_RDONLY);
	if (fd < 0)
		return;
	n = read(fd, cmdline, cmdline_len - 1);
	close(fd);
	if (n <= 0)
		return;
	while (n > 0 && cmdline[n - 1] == 0)
		n--;
	cmdline[n] = 0;
	for (ssize_t i = 0; i < n; i++) {
		if (cmdline[i] == 0)
			cmdline[i] = ' ';
		else if (cmdline[i] == '"' || cmdline[i] == '\\')
			cmdline[i] = '_';
	}
}
