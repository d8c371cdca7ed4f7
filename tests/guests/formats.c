/* formats.c — printf with varied conversions, flags, widths and precisions. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>

int main(void)
{
	printf("[%d] [%i] [%u] [%x] [%X] [%o]\n", -42, 42, 42u, 0xbeefu, 0xbeefu, 8u);
	printf("[%5d] [%-5d] [%05d] [%+d] [% d] [%.3d]\n", 42, 42, 42, 42, 42, 7);
	printf("[%c%c%c] [%s] [%10s] [%-10s] [%.3s]\n", 'a', 'b', 'c', "str", "right", "left",
	       "truncate");
	printf("[%ld] [%lld] [%llu] [%zu] [%hhd] [%hd]\n", -1234567L, LLONG_MIN, ULLONG_MAX,
	       sizeof(int64_t), (signed char)200, (short)70000);
	printf("[%" PRId64 "] [%" PRIx64 "] [%#x] [%#o]\n", INT64_MAX, UINT64_MAX, 255u, 8u);
	printf("[%f] [%.2f] [%10.4f] [%-10.1f] [%e] [%.0e] [%g] [%g]\n", 3.14159, 2.675, -1.5,
	       9.99, 123456.0, 5e10, 0.0001, 1e-5);
	printf("[%%] [%*d] [%-*d] [%.*f]\n", 6, 1, 6, 2, 3, 1.0 / 7);
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%s-%d-%s", "abc", 123, "a long tail that is cut");
	printf("snprintf returned %d: %s\n", n, buf);
	puts("puts line");
	fputs("fputs to stdout\n", stdout);
	for (int i = 0; i < 3; i++)
		putchar('0' + i);
	putchar('\n');
	fprintf(stderr, "this line goes to stderr\n");
	return 0;
}
