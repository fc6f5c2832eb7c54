// SPDX-License-Identifier: GPL-2.0
/*
 * The user-space side of `make stress` (scripts/stress-guest.sh): callers
 * that count what they see, hostile writes, and allocation faults injected
 * at the Nth allocation of one system call (/proc/thread-self/fail-nth).
 *
 *   stress_tool hostile FILE [ERRNO]
 *       Writes every hostile input below to FILE, each through a new
 *       open(). Prints one line: "refused N of M: EINVAL x, ...", or an
 *       "accepted #I ..." line per input that was taken. With ERRNO (a
 *       name: EACCES, EPERM, ...), every refusal must be that errno.
 *       Exit 0 only if every input was refused as asked.
 *   stress_tool fault N write FILE VALUE
 *   stress_tool fault N insmod KO [PARAMS]
 *       Opens FILE (or KO) first, then makes the Nth allocation of the
 *       write() (or finit_module()) that follows fail. Prints
 *       "injected 0|1 result 0|ERRNO"; exit 0 whatever the result.
 *   stress_tool caller FILE STOP VALID...
 *       Reads FILE (a test module's "add_burst": "VALUE:COUNT ..." for a
 *       burst of calls) until the file STOP exists. Prints "calls C",
 *       "wrong W" (results not among VALID), "errors E" (failed reads)
 *       and "value V C" per value seen.
 *   stress_tool getpid STOP
 *       Calls getpid() until STOP exists; prints "calls C", "wrong W"
 *       (a result other than the process's PID), "errors 0".
 *   stress_tool read FILE STOP VALID-FILE...
 *       Reads FILE whole until STOP exists; each read must equal the
 *       content of one VALID-FILE. Prints "calls", "wrong", "errors".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_VALUES 16

struct input {
	const char *bytes;
	size_t len;
};

#define S(s) { s, sizeof(s) - 1 }

static char overlong[4097];
static char long65[66];

/*
 * Inputs no dynamos sysfs file accepts (src/logic/parse.rs grammar). Not
 * the empty write: kernfs returns 0 for it without calling the file.
 */
static struct input hostile[] = {
	S("\n"), S("\n\n"), S(" "), S("\t"), S("x"), S("1x"), S("x1"),
	S(" 1"), S("1 "), S("\t1"), S("+1"), S("0x1"), S("1e3"), S("1.0"),
	S("1,0"), S("\xef\xbc\x91"), S("\xd9\xa1"), S("1\0"), S("\0"),
	S("\0" "1"), S("1\n\n"), S("1\n1"), S("\r1"), S("1\r"),
	S("99999999999999999999999"), S("18446744073709551616"),
	S("-"), S("--1"), S("- 1"), S("1-"), S("NaN"), S("inf"), S("true"),
	S("yes"), S("on"), S("y"), S("Y"), S("null"), S("%d"), S("%s%s%s%n"),
	S("../../etc"), S("\\x31"), S("'1'"), S("\"1\""), S("1 2 3"),
	S("1  1"), S("\x01"), S("\xff\xfe"), S("1;1"), S("`1`"), S("$(1)"),
	S("1 # c"), S("0b1"), S("01x"), S("- 5"), S("5 -1"), S("0 -"), S("5 1 "),
	{ overlong, sizeof(overlong) - 1 }, { long65, sizeof(long65) - 1 },
};

#define N_HOSTILE (sizeof(hostile) / sizeof(hostile[0]))

static const char *errname(int e)
{
	static char buf[16];

	switch (e) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case ERANGE: return "ERANGE";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EBUSY: return "EBUSY";
	case ENOMEM: return "ENOMEM";
	case ENOSPC: return "ENOSPC";
	case ENODEV: return "ENODEV";
	case EEXIST: return "EEXIST";
	case E2BIG: return "E2BIG";
	case EAGAIN: return "EAGAIN";
	case EFAULT: return "EFAULT";
	case EINTR: return "EINTR";
	default:
		snprintf(buf, sizeof(buf), "E%d", e);
		return buf;
	}
}

static int stopped(const char *stop)
{
	return access(stop, F_OK) == 0;
}

static void escape(const char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len && i < 40; i++) {
		unsigned char c = b[i];

		if (c >= 0x21 && c < 0x7f && c != '\\')
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	if (len > 40)
		printf("...(%zu bytes)", len);
}

static int cmd_hostile(const char *file, const char *want)
{
	int counts[256] = { 0 }, bad = 0, refused = 0, e;
	size_t i;

	memset(overlong, '1', sizeof(overlong) - 1);
	memset(long65, '0', sizeof(long65) - 1);
	long65[sizeof(long65) - 2] = '1';
	for (i = 0; i < N_HOSTILE; i++) {
		int fd = open(file, O_WRONLY);
		ssize_t r;

		if (fd < 0) {
			e = errno;
		} else {
			r = write(fd, hostile[i].bytes, hostile[i].len);
			e = r < 0 ? errno : 0;
			close(fd);
		}
		if (e == 0) {
			printf("accepted #%zu ", i);
			escape(hostile[i].bytes, hostile[i].len);
			putchar('\n');
			bad++;
			continue;
		}
		if (want && strcmp(errname(e), want)) {
			printf("#%zu refused with %s, not %s: ", i, errname(e), want);
			escape(hostile[i].bytes, hostile[i].len);
			putchar('\n');
			bad++;
		}
		refused++;
		counts[e & 255]++;
	}
	printf("refused %d of %zu:", refused, N_HOSTILE);
	for (e = 0; e < 256; e++)
		if (counts[e])
			printf(" %s %d", errname(e), counts[e]);
	putchar('\n');
	return bad ? 1 : 0;
}

/*
 * Opens file (before arming: open() allocates too), then arms fail-nth
 * through nth for the next call's Nth allocation. -1 on failure.
 */
static int open_armed(const char *file, int flags, int nth, int n)
{
	char buf[32];
	int fd = open(file, flags);

	if (fd < 0) {
		perror(file);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%d", n);
	if (write(nth, buf, strlen(buf)) < 0) {
		perror("fail-nth");
		return -1;
	}
	return fd;
}

/* Arms fail-nth through fd (opened beforehand), runs the call, reports. */
static int cmd_fault(int n, int argc, char **argv)
{
	char buf[32];
	int nth, fd, e = 0, injected;
	ssize_t r;

	nth = open("/proc/thread-self/fail-nth", O_RDWR);
	if (nth < 0) {
		perror("/proc/thread-self/fail-nth");
		return 2;
	}
	if (argc >= 3 && !strcmp(argv[0], "write")) {
		fd = open_armed(argv[1], O_WRONLY, nth, n);
		if (fd < 0)
			return 2;
		r = write(fd, argv[2], strlen(argv[2]));
		if (r < 0)
			e = errno;
	} else if (argc >= 2 && !strcmp(argv[0], "insmod")) {
		const char *params = argc >= 3 ? argv[2] : "";

		fd = open_armed(argv[1], O_RDONLY, nth, n);
		if (fd < 0)
			return 2;
		if (syscall(SYS_finit_module, fd, params, 0) < 0)
			e = errno;
	} else {
		fprintf(stderr, "fault: write FILE VALUE | insmod KO [PARAMS]\n");
		return 2;
	}
	r = pread(nth, buf, sizeof(buf) - 1, 0);
	buf[r > 0 ? r : 0] = '\0';
	injected = atoi(buf) == 0;
	/* Disarm, if the call made fewer allocations than n. */
	if (write(nth, "0", 1) < 0 && !injected)
		return 2;
	printf("injected %d result %s\n", injected, errname(e));
	return 0;
}

static int cmd_caller(const char *file, const char *stop, int nvalid, char **valid)
{
	long vals[MAX_VALUES], cnt[MAX_VALUES], calls = 0, wrong = 0, errors = 0;
	int nv = 0, i, fd;
	char buf[512];

	fd = open(file, O_RDONLY);
	if (fd < 0) {
		perror(file);
		return 2;
	}
	while (!stopped(stop)) {
		ssize_t r = pread(fd, buf, sizeof(buf) - 1, 0);
		char *p = buf, *end;

		if (r <= 0) {
			errors++;
			continue;
		}
		buf[r] = '\0';
		for (;;) {
			long v = strtol(p, &end, 10), c;

			if (end == p || *end != ':')
				break;
			c = strtol(end + 1, &p, 10);
			calls += c;
			for (i = 0; i < nvalid; i++)
				if (atol(valid[i]) == v)
					break;
			if (i == nvalid)
				wrong += c;
			for (i = 0; i < nv; i++)
				if (vals[i] == v)
					break;
			if (i == nv && nv < MAX_VALUES) {
				vals[nv] = v;
				cnt[nv++] = 0;
			}
			if (i < nv)
				cnt[i] += c;
		}
	}
	printf("calls %ld\nwrong %ld\nerrors %ld\n", calls, wrong, errors);
	for (i = 0; i < nv; i++)
		printf("value %ld %ld\n", vals[i], cnt[i]);
	return 0;
}

static int cmd_getpid(const char *stop)
{
	long calls = 0, wrong = 0, me = getpid(), i;

	while (!stopped(stop)) {
		for (i = 0; i < 10000; i++)
			if (syscall(SYS_getpid) != me)
				wrong++;
		calls += 10000;
	}
	printf("calls %ld\nwrong %ld\nerrors 0\n", calls, wrong);
	return 0;
}

static ssize_t slurp(const char *file, char *buf, size_t size)
{
	int fd = open(file, O_RDONLY);
	ssize_t n = 0, r;

	if (fd < 0)
		return -1;
	while ((size_t)n < size && (r = read(fd, buf + n, size - n)) > 0)
		n += r;
	close(fd);
	return n;
}

static int cmd_read(const char *file, const char *stop, int nvalid, char **valid)
{
	static char want[4][4096], got[4096];
	ssize_t wlen[4], n;
	long calls = 0, wrong = 0, errors = 0;
	int i;

	if (nvalid > 4)
		nvalid = 4;
	for (i = 0; i < nvalid; i++) {
		wlen[i] = slurp(valid[i], want[i], sizeof(want[i]));
		if (wlen[i] < 0) {
			perror(valid[i]);
			return 2;
		}
	}
	while (!stopped(stop)) {
		n = slurp(file, got, sizeof(got));
		calls++;
		if (n < 0) {
			errors++;
			continue;
		}
		for (i = 0; i < nvalid; i++)
			if (n == wlen[i] && !memcmp(got, want[i], n))
				break;
		if (i == nvalid)
			wrong++;
	}
	printf("calls %ld\nwrong %ld\nerrors %ld\n", calls, wrong, errors);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "hostile"))
		return cmd_hostile(argv[2], argc >= 4 ? argv[3] : NULL);
	if (argc >= 5 && !strcmp(argv[1], "fault"))
		return cmd_fault(atoi(argv[2]), argc - 3, argv + 3);
	if (argc >= 5 && !strcmp(argv[1], "caller"))
		return cmd_caller(argv[2], argv[3], argc - 4, argv + 4);
	if (argc == 3 && !strcmp(argv[1], "getpid"))
		return cmd_getpid(argv[2]);
	if (argc >= 5 && !strcmp(argv[1], "read"))
		return cmd_read(argv[2], argv[3], argc - 4, argv + 4);
	fprintf(stderr, "usage: see the comment at the top of stress_tool.c\n");
	return 2;
}
