/* strings.c — byte loops through libc: build, search and compare text.
 * Argument: rounds (default 8000). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 8000;
	static char buf[4096];
	unsigned long found = 0, cmp = 0;
	for (int r = 0; r < rounds; r++) {
		int n = 0;
		for (int i = 0; n < 3000; i++)
			n += snprintf(buf + n, sizeof(buf) - n, "%d:%x;", i * r, i ^ r);
		found += strstr(buf, "77:") != NULL;
		found += (unsigned long)(strchr(buf, ';') - buf);
		cmp += (unsigned long)(memcmp(buf, buf + 7, 64) > 0);
	}
	printf("found %lu cmp %lu\n", found, cmp);
	return 0;
}
