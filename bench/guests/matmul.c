/* matmul.c — f64 matrix math: C = A x B for n x n matrices (n <= 200), repeated.
 * Arguments: n (default 200), repetitions (default 24, at most n). The default size runs code
 * specialised for it (constant bounds, as in a program written for one size); other sizes run
 * the same loops with bounds read at run time. */
#include <stdio.h>
#include <stdlib.h>

#define N 200
static double a[N][N], b[N][N], c[N][N];

static inline __attribute__((always_inline)) double run(int n, int reps)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			a[i][j] = (double)(i * n + j) / (n * n);
			b[i][j] = (double)(j * n + i) / (n * n) - 0.5;
		}
	double sum = 0;
	for (int r = 0; r < reps; r++) {
		for (int i = 0; i < n; i++)
			for (int j = 0; j < n; j++) {
				double s = 0;
				for (int k = 0; k < n; k++)
					s += a[i][k] * b[k][j];
				c[i][j] = s;
			}
		sum += c[r][r] + c[n - 1 - r][r];
		a[r][r] += 1.0;
	}
	return sum;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : N;
	int reps = argc > 2 ? atoi(argv[2]) : 24;
	if (n < 1 || n > N)
		n = N;
	if (reps < 0 || reps > n)
		reps = n;
	double sum = n == N ? run(N, reps) : run(n, reps);
	printf("checksum %.17g\n", sum);
	return 0;
}
