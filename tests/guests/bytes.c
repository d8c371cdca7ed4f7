/* bytes.c — byte loops over linear memory: a sieve of Eratosthenes, CRC-32, a byte histogram
 * and an in-place reversal. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define N 200000

static uint8_t composite[N + 1];
static uint8_t data[65536];

static uint32_t crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

int main(void)
{
	unsigned count = 0;
	uint64_t sum = 0;
	for (unsigned i = 2; i <= N; i++) {
		if (composite[i])
			continue;
		count++;
		sum += i;
		for (unsigned j = i * 2; j <= N; j += i)
			composite[j] = 1;
	}
	printf("primes <= %d: %u, sum %llu\n", N, count, (unsigned long long)sum);
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(data); i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (uint8_t)(x >> 16);
	}
	printf("crc32(data) = %08x\n", crc32(data, sizeof(data)));
	printf("crc32(\"123456789\") = %08x\n", crc32((const uint8_t *)"123456789", 9));
	unsigned hist[4] = {0};
	for (size_t i = 0; i < sizeof(data); i++)
		hist[data[i] >> 6]++;
	printf("histogram %u %u %u %u\n", hist[0], hist[1], hist[2], hist[3]);
	for (size_t i = 0, j = sizeof(data) - 1; i < j; i++, j--) {
		uint8_t t = data[i];
		data[i] = data[j];
		data[j] = t;
	}
	char text[64];
	memset(text, 'a', sizeof(text));
	memcpy(text + 10, "copied", 6);
	memmove(text + 12, text + 10, 20);
	text[40] = 0;
	printf("reversed crc %08x, text %s\n", crc32(data, sizeof(data)), text);
	return 0;
}
