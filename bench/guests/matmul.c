/* matmul.c — f64 matrix math: C = A x B for 200x200 matrices, 24 times. */
#include <stdio.h>

#define N 200
static double a[N][N], b[N][N], c[N][N];

int main(void)
{
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++) {
			a[i][j] = (double)(i * N + j) / (N * N);
			b[i][j] = (double)(j * N + i) / (N * N) - 0.5;
		}
	double sum = 0;
	for (int r = 0; r < 24; r++) {
		for (int i = 0; i < N; i++)
			for (int j = 0; j < N; j++) {
				double s = 0;
				for (int k = 0; k < N; k++)
					s += a[i][k] * b[k][j];
				c[i][j] = s;
			}
		sum += c[r][r] + c[N - 1 - r][r];
		a[r][r] += 1.0;
	}
	printf("checksum %.17g\n", sum);
	return 0;
}
