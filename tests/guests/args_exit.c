/* args_exit.c — print the arguments, then exit with the code given as the first one (default
 * 0) through exit(), which flushes stdout first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	printf("argc = %d\n", argc - 1);
	for (int i = 1; i < argc; i++)
		printf("argv[%d] = \"%s\" (%zu bytes)\n", i, argv[i], strlen(argv[i]));
	const char *e = getenv("TW_GUEST_GREETING");
	printf("TW_GUEST_GREETING = %s\n", e ? e : "(unset)");
	exit(argc > 1 ? atoi(argv[1]) : 0);
}
