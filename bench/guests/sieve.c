/* sieve.c — byte-array sieving: primes below n (n <= 8M), repeated.
 * Arguments: n (default 8M), rounds (default 5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 8000000
static unsigned char composite[N];

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : N;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	if (n < 2 || n > N)
		n = N;
	unsigned count = 0;
	for (int round = 0; round < rounds; round++) {
		memset(composite, 0, n);
		count = 0;
		for (unsigned i = 2; i < n; i++) {
			if (composite[i])
				continue;
			count++;
			for (unsigned j = i * 2; j < n; j += i)
				composite[j] = 1;
		}
	}
	printf("primes below %u: %u\n", n, count);
	return 0;
}
