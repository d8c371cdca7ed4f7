/* stdin_count.c — read all of stdin: count lines, words and bytes, echo lines upper-cased. */
#include <ctype.h>
#include <stdio.h>

int main(void)
{
	unsigned long lines = 0, words = 0, bytes = 0;
	int c, in_word = 0, at_start = 1;
	while ((c = getchar()) != EOF) {
		bytes++;
		if (at_start) {
			printf("> ");
			at_start = 0;
		}
		putchar(toupper(c));
		if (c == '\n') {
			lines++;
			at_start = 1;
		}
		if (isspace(c)) {
			in_word = 0;
		} else if (!in_word) {
			in_word = 1;
			words++;
		}
	}
	if (!at_start)
		putchar('\n');
	printf("%lu lines, %lu words, %lu bytes\n", lines, words, bytes);
	return 0;
}
