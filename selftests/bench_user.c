// SPDX-License-Identifier: GPL-2.0
/*
 * Times the system call path end to end for the dynamos benchmarks:
 * "bench_user FILE N" opens FILE (/sys/kernel/debug/dynamos_bench/call1),
 * reads it N times with pread() at offset 0 (each read calls
 * dynamos_bench_f000() once in the kernel) and prints "calls N ns TOTAL",
 * TOTAL being the nanoseconds the N reads took together. Exits 1 if
 * anything fails or a read returns nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned long long now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts)) {
		perror("bench_user: clock_gettime");
		exit(1);
	}
	return (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	unsigned long long n, i, t0, t1;
	char buf[32];
	char *end;
	ssize_t r;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: %s FILE N\n", argv[0]);
		return 1;
	}
	errno = 0;
	n = strtoull(argv[2], &end, 10);
	if (errno || end == argv[2] || *end || argv[2][0] == '-') {
		fprintf(stderr, "bench_user: bad count '%s'\n", argv[2]);
		return 1;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "bench_user: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		r = pread(fd, buf, sizeof(buf), 0);
		if (r <= 0) {
			if (r < 0)
				fprintf(stderr, "bench_user: read %llu of %s: %s\n",
					i, argv[1], strerror(errno));
			else
				fprintf(stderr, "bench_user: read %llu of %s: nothing\n",
					i, argv[1]);
			return 1;
		}
	}
	t1 = now_ns();
	close(fd);
	printf("calls %llu ns %llu\n", n, t1 - t0);
	return 0;
}
