// SPDX-License-Identifier: GPL-2.0
/*
 * Load for test-getpid-load.sh: waits until the file argv[1] exists, then
 * calls getpid() in a loop until the file argv[2] exists. Exits 1 if
 * getpid() ever returned anything but this process's id.
 */
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	pid_t me = getpid();
	unsigned long n = 0;

	if (argc != 3)
		return 2;
	while (access(argv[1], F_OK) != 0)
		usleep(10000);
	for (;;) {
		if ((pid_t)syscall(SYS_getpid) != me) {
			fprintf(stderr, "getpid_loop %d: wrong pid after %lu calls\n", me, n);
			return 1;
		}
		if (++n % 4096 == 0 && access(argv[2], F_OK) == 0)
			return 0;
	}
}
