/* offload_bench.c — `offload_bench KERNEL N REPS`: runs one data-parallel kernel REPS times over
 * N elements and prints a checksum, for timing --offload=host against the interpreter
 * (bench/offload_host.py). Kernels are those of the corpus, as clang -O2 emits them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KERNEL __attribute__((noinline))

KERNEL static void saxpy(float *restrict out, const float *x, const float *y, float a, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = a * x[i] + y[i];
}

KERNEL static void iarith(int32_t *out, const int32_t *a, const int32_t *b, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = (a[i] * 3 + b[i]) ^ (a[i] >> 2);
}

KERNEL static void clamp_f32(float *out, const float *x, int n, float lo, float hi)
{
	for (int i = 0; i < n; i++) {
		float v = x[i];
		out[i] = v < lo ? lo : (v > hi ? hi : v);
	}
}

KERNEL static int32_t dot_i32(const int32_t *x, const int32_t *y, int n)
{
	int32_t s = 0;
	for (int i = 0; i < n; i++)
		s += x[i] * y[i];
	return s;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: offload_bench saxpy|iarith|clamp|dot N REPS\n");
		return 2;
	}
	int n = atoi(argv[2]), reps = atoi(argv[3]);
	float *fx = malloc((size_t)n * 4 + 4), *fy = malloc((size_t)n * 4 + 4);
	float *fo = malloc((size_t)n * 4 + 4);
	int32_t *ix = (int32_t *)fx, *iy = (int32_t *)fy, *io = (int32_t *)fo;
	if (!fx || !fy || !fo)
		return 1;
	for (int i = 0; i < n; i++) {
		fx[i] = (float)(i % 1000) / 8.0f;
		fy[i] = (float)(i % 777) / 4.0f;
	}
	uint32_t check = 0;
	for (int r = 0; r < reps; r++) {
		if (strcmp(argv[1], "saxpy") == 0)
			saxpy(fo, fx, fy, 1.5f + (float)r, n);
		else if (strcmp(argv[1], "iarith") == 0)
			iarith(io, ix, iy, n);
		else if (strcmp(argv[1], "clamp") == 0)
			clamp_f32(fo, fx, n, 10.0f, 60.0f + (float)r);
		else
			check += (uint32_t)dot_i32(ix, iy, n);
	}
	for (int i = 0; i < n; i += 97)
		check = check * 31 + (uint32_t)io[i];
	printf("%s n=%d reps=%d check=%08x\n", argv[1], n, reps, check);
	return 0;
}
