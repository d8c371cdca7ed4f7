/* fib.c — calls and recursion: naive Fibonacci. */
#include <stdio.h>

static unsigned fib(unsigned n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int main(void)
{
	volatile unsigned n = 34; /* opaque to the optimiser */
	printf("fib(%u) = %u\n", n, fib(n));
	return 0;
}
