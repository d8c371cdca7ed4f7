/* recursion.c — deep and branchy recursion: Fibonacci, Ackermann, Towers of Hanoi. */
#include <stdio.h>

static unsigned fib(unsigned n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static unsigned long ack(unsigned long m, unsigned long n)
{
	if (m == 0)
		return n + 1;
	if (n == 0)
		return ack(m - 1, 1);
	return ack(m - 1, ack(m, n - 1));
}

static unsigned long moves;

static void hanoi(int n, int from, int to, int via)
{
	if (n == 0)
		return;
	hanoi(n - 1, from, via, to);
	moves++;
	hanoi(n - 1, via, to, from);
}

int main(void)
{
	for (unsigned i = 0; i <= 24; i += 4)
		printf("fib(%u) = %u\n", i, fib(i));
	for (unsigned long m = 0; m <= 3; m++)
		printf("ack(%lu, 4) = %lu\n", m, ack(m, 4));
	hanoi(16, 1, 3, 2);
	printf("hanoi(16) moves = %lu\n", moves);
	return 0;
}
