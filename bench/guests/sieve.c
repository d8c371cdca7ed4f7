/* sieve.c — byte-array sieving: primes below 8M, five times. */
#include <stdio.h>
#include <string.h>

#define N 8000000
static unsigned char composite[N];

int main(void)
{
	unsigned count = 0;
	for (int round = 0; round < 5; round++) {
		memset(composite, 0, sizeof(composite));
		count = 0;
		for (unsigned i = 2; i < N; i++) {
			if (composite[i])
				continue;
			count++;
			for (unsigned j = i * 2; j < N; j += i)
				composite[j] = 1;
		}
	}
	printf("primes below %u: %u\n", N, count);
	return 0;
}
