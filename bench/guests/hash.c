/* hash.c — bit-twiddling rounds: xorshift-multiply mixing. Argument: rounds (default 60M). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	uint32_t rounds = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 60000000u;
	uint64_t h = 0x9e3779b97f4a7c15ull, x = 1;
	for (uint32_t i = 0; i < rounds; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		h ^= x + i;
		h = (h ^ (h >> 31)) * 0xbf58476d1ce4e5b9ull;
		h = (h << 27) | (h >> 37);
	}
	printf("hash %016llx\n", (unsigned long long)h);
	return 0;
}
