/*
 * hello.c — a WASI program for `tensor-wasm run` and the byte-oriented invoke mode.
 *
 * Greets each argument, or reads standard input and answers with its line and byte counts:
 *     build/tensor-wasm run build/guests/hello.wasm Ada Grace
 *     echo hi | build/tensor-wasm run build/guests/hello.wasm
 *     curl --data-binary @README.md -H 'Content-Type: application/octet-stream' \
 *          localhost:8080/functions/<id>/invoke
 */
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			printf("hello, %s\n", argv[i]);
		return 0;
	}
	unsigned long lines = 0, bytes = 0;
	int c;
	while ((c = getchar()) != EOF) {
		bytes++;
		lines += c == '\n';
	}
	printf("%lu lines, %lu bytes\n", lines, bytes);
	return 0;
}
