/* offload_trap.c — a data-parallel loop whose tail runs past the end of linear memory. The
 * offloader must leave it to the interpreter, which traps at the first out-of-bounds element
 * after storing every element before it; the guest prints a checksum first so a run that
 * offloaded (and so stored nothing, or everything) would differ. */
#include <stdint.h>
#include <stdio.h>

__attribute__((export_name("add_one"), noinline)) void add_one(int32_t *out, const int32_t *a,
							       int n)
{
	for (int i = 0; i < n; i++)
		out[i] = a[i] + 1;
}

static int32_t src[4096];

int main(void)
{
	for (int i = 0; i < 4096; i++)
		src[i] = i * 7;
	uint32_t end = (uint32_t)__builtin_wasm_memory_size(0) * 65536u;
	/* the last 100 elements of memory, then 28 more: the store at `end` traps */
	int32_t *out = (int32_t *)(uintptr_t)(end - 400);
	printf("before %d\n", src[5]);
	fflush(stdout);
	add_one(out, src, 128);
	printf("not reached\n");
	return 0;
}
