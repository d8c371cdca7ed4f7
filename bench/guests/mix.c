/* mix.c — a mix of the kinds of work embedded benchmarks weigh together: a linked list searched,
 * reversed and merge-sorted; a small integer matrix multiplied and reduced; a byte-driven state
 * machine classifying the tokens of a text; a CRC-16 over every result. Argument: iterations
 * (default 3000). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NODES 256
#define MAT 20
#define TEXT 512

struct node {
	struct node *next;
	int16_t data;
	int16_t idx;
};

static struct node pool[NODES];
static int16_t ma[MAT * MAT], mb[MAT * MAT];
static int32_t mc[MAT * MAT];
static char text[TEXT];

static uint16_t crc16(uint16_t crc, uint32_t v, int bits)
{
	for (int i = 0; i < bits; i++) {
		uint16_t bit = (uint16_t)((v >> i) & 1) ^ (crc & 1);
		crc >>= 1;
		if (bit)
			crc ^= 0xa001;
	}
	return crc;
}

/* ---- list ---------------------------------------------------------------------------------- */

static struct node *list_build(uint32_t seed)
{
	struct node *head = NULL;
	for (int i = NODES - 1; i >= 0; i--) {
		seed = seed * 1103515245u + 12345u;
		pool[i].data = (int16_t)(seed >> 16);
		pool[i].idx = (int16_t)i;
		pool[i].next = head;
		head = &pool[i];
	}
	return head;
}

static struct node *list_find(struct node *l, int16_t data)
{
	while (l && (l->data & 0xff) != (data & 0xff))
		l = l->next;
	return l;
}

static struct node *list_reverse(struct node *l)
{
	struct node *r = NULL;
	while (l) {
		struct node *n = l->next;
		l->next = r;
		r = l;
		l = n;
	}
	return r;
}

static int cmp_data(const struct node *a, const struct node *b)
{
	return a->data != b->data ? a->data - b->data : a->idx - b->idx;
}

static int cmp_idx(const struct node *a, const struct node *b)
{
	return a->idx - b->idx;
}

/* Bottom-up merge sort of a list by cmp (through a function pointer, as a library would). */
static struct node *list_sort(struct node *l, int (*cmp)(const struct node *, const struct node *))
{
	for (int width = 1;; width *= 2) {
		struct node *p = l, *tail = NULL;
		int merges = 0;
		l = NULL;
		while (p) {
			merges++;
			struct node *q = p;
			int psize = 0, qsize = width;
			for (int i = 0; i < width && q; i++, psize++)
				q = q->next;
			while (psize > 0 || (qsize > 0 && q)) {
				struct node *e;
				if (psize == 0) {
					e = q, q = q->next, qsize--;
				} else if (qsize == 0 || !q || cmp(p, q) <= 0) {
					e = p, p = p->next, psize--;
				} else {
					e = q, q = q->next, qsize--;
				}
				if (tail)
					tail->next = e;
				else
					l = e;
				tail = e;
			}
			p = q;
		}
		tail->next = NULL;
		if (merges <= 1)
			return l;
	}
}

static uint16_t list_work(uint16_t crc, uint32_t seed)
{
	struct node *l = list_build(seed);
	int found = 0;
	for (int i = 0; i < 16; i++) {
		struct node *n = list_find(l, (int16_t)(i * 37 + (int)seed));
		found += n ? n->idx : -1;
	}
	l = list_reverse(l);
	l = list_sort(l, cmp_data);
	crc = crc16(crc, (uint16_t)l->data, 16);
	crc = crc16(crc, (uint16_t)l->next->data, 16);
	l = list_sort(l, cmp_idx);
	for (struct node *n = l; n; n = n->next)
		crc = crc16(crc, (uint16_t)n->data, 8);
	return crc16(crc, (uint32_t)found, 16);
}

/* ---- matrix -------------------------------------------------------------------------------- */

static uint16_t matrix_work(uint16_t crc, int16_t k)
{
	for (int i = 0; i < MAT * MAT; i++) {
		ma[i] = (int16_t)((i * 7 + k) & 0x3ff) - 0x200;
		mb[i] = (int16_t)((i * 13 - k) & 0x1ff);
	}
	for (int i = 0; i < MAT; i++)
		for (int j = 0; j < MAT; j++) {
			int32_t s = 0;
			for (int x = 0; x < MAT; x++)
				s += (int32_t)ma[i * MAT + x] * mb[x * MAT + j];
			mc[i * MAT + j] = s;
		}
	int32_t acc = 0;
	for (int i = 0; i < MAT * MAT; i++) {
		int32_t v = mc[i] + k;
		acc += (v >> 3) & 0x7f;
		if (v > acc)
			acc ^= v;
	}
	return crc16(crc, (uint32_t)acc, 32);
}

/* ---- state machine ------------------------------------------------------------------------- */

enum state { S_START, S_INT, S_SIGN, S_DOT, S_FRAC, S_EXP, S_EXPSIGN, S_SCI, S_HEX0, S_HEX, S_BAD };

static void text_build(uint32_t seed)
{
	static const char *const pieces[] = {"5012", "1.23e4", "-874", "0x1f", "+.5", "3.14",
					     "12e-3", "0xbeef", "-", "7a", "6.02e23", "42"};
	int n = 0;
	while (n < TEXT - 12) {
		seed = seed * 1664525u + 1013904223u;
		const char *p = pieces[(seed >> 24) % 12];
		while (*p)
			text[n++] = *p++;
		text[n++] = (seed >> 8) & 1 ? ',' : ' ';
	}
	text[n] = 0;
}

static uint16_t scan_work(uint16_t crc)
{
	uint32_t counts[S_BAD + 1] = {0};
	enum state s = S_START;
	for (const char *p = text;; p++) {
		char ch = *p;
		if (ch == ',' || ch == ' ' || ch == 0) {
			counts[s]++;
			s = S_START;
			if (!ch)
				break;
			continue;
		}
		int digit = ch >= '0' && ch <= '9';
		switch (s) {
		case S_START:
			s = digit ? (ch == '0' ? S_HEX0 : S_INT)
			    : ch == '+' || ch == '-' ? S_SIGN
			    : ch == '.' ? S_DOT
					: S_BAD;
			break;
		case S_HEX0:
			s = ch == 'x' ? S_HEX : digit ? S_INT : ch == '.' ? S_FRAC : S_BAD;
			break;
		case S_SIGN:
			s = digit ? S_INT : ch == '.' ? S_DOT : S_BAD;
			break;
		case S_INT:
			s = digit ? S_INT : ch == '.' ? S_FRAC : ch == 'e' || ch == 'E' ? S_EXP : S_BAD;
			break;
		case S_DOT:
			s = digit ? S_FRAC : S_BAD;
			break;
		case S_FRAC:
			s = digit ? S_FRAC : ch == 'e' || ch == 'E' ? S_EXP : S_BAD;
			break;
		case S_EXP:
			s = digit ? S_SCI : ch == '+' || ch == '-' ? S_EXPSIGN : S_BAD;
			break;
		case S_EXPSIGN:
		case S_SCI:
			s = digit ? S_SCI : S_BAD;
			break;
		case S_HEX:
			s = digit || (ch >= 'a' && ch <= 'f') ? S_HEX : S_BAD;
			break;
		case S_BAD:
			break;
		}
	}
	for (int i = 0; i <= S_BAD; i++)
		crc = crc16(crc, counts[i], 16);
	return crc;
}

int main(int argc, char **argv)
{
	int iters = argc > 1 ? atoi(argv[1]) : 3000;
	uint16_t crc = 0;
	for (int it = 0; it < iters; it++) {
		crc = list_work(crc, (uint32_t)it * 2654435761u);
		crc = matrix_work(crc, (int16_t)it);
		if (it % 8 == 0)
			text_build((uint32_t)it);
		crc = scan_work(crc);
	}
	printf("mix: %d iterations, crc 0x%04x\n", iters, crc);
	return 0;
}
