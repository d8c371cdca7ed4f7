/* hash.c — bit-twiddling rounds: xorshift-multiply mixing over 60M words. */
#include <stdint.h>
#include <stdio.h>

int main(void)
{
	uint64_t h = 0x9e3779b97f4a7c15ull, x = 1;
	for (uint32_t i = 0; i < 60000000u; i++) {
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
