/*
 * http_api_client.c — the client subcommands (deploy, invoke, jobs): one blocking HTTP/1.1
 * request per run, `Connection: close`, the reply body printed to stdout.
 *
 * Settings: TENSOR_WASM_URL / --url (http://HOST:PORT only), TENSOR_WASM_TOKEN / --token,
 * TENSOR_WASM_TENANT / --tenant, through the shared option table.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/options.h"
#include "http/http_api.h"

#define CLIENT_REPLY_MAX (64u * 1024 * 1024) /* the largest response the server sends */

struct client {
	struct tw_config cfg;
	int first;
};

static int client_parse(struct client *c, const char *cmd, int argc, char **argv, int start)
{
	char err[256];
	bool help = false;
	tw_config_defaults(&c->cfg);
	if (tw_config_parse(&c->cfg, TW_CMD_CLIENT, argc, argv, start, &c->first, &help, err,
			    sizeof(err)) != TW_ERR_OK) {
		fprintf(stderr, "tensor-wasm %s: %s\n", cmd, err);
		return 2;
	}
	if (help) {
		printf("options:\n");
		tw_config_print_help(stdout, TW_CMD_CLIENT);
		return 0;
	}
	return -1;
}

/* Send one request; print the body; return 0 for 2xx, 1 otherwise. */
static int client_request(const struct client *c, const char *cmd, const char *method,
			  const char *path, const char *ctype, const void *body, size_t len)
{
	const char *url = c->cfg.url;
	if (strncmp(url, "http://", 7) != 0) {
		fprintf(stderr, "tensor-wasm %s: only http:// URLs are supported\n", cmd);
		return 2;
	}
	char host[256], port[16] = "80";
	const char *h = url + 7, *slash = strchr(h, '/');
	size_t hl = slash ? (size_t)(slash - h) : strlen(h);
	if (hl >= sizeof(host))
		return 2;
	memcpy(host, h, hl);
	host[hl] = '\0';
	char *colon = strrchr(host, ':');
	if (colon && !strchr(colon, ']')) {
		snprintf(port, sizeof(port), "%s", colon + 1);
		*colon = '\0';
	}
	char *hn = host;
	if (*hn == '[') {
		hn++;
		char *rb = strchr(hn, ']');
		if (rb)
			*rb = '\0';
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	if (getaddrinfo(hn, port, &hints, &ai) != 0 || !ai) {
		fprintf(stderr, "tensor-wasm %s: cannot resolve %s\n", cmd, hn);
		return 2;
	}
	int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		fprintf(stderr, "tensor-wasm %s: cannot connect to %s: %s\n", cmd, url,
			strerror(errno));
		freeaddrinfo(ai);
		if (fd >= 0)
			close(fd);
		return 2;
	}
	freeaddrinfo(ai);
	char head[1024];
	char auth[300] = "";
	if (c->cfg.token[0])
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", c->cfg.token);
	int hn_len = snprintf(head, sizeof(head),
			      "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%s"
			      "X-TensorWasm-Tenant: %llu\r\nContent-Type: %s\r\n"
			      "Content-Length: %zu\r\n\r\n",
			      method, path, hn, auth, (unsigned long long)c->cfg.tenant,
			      ctype ? ctype : "application/json", len);
	int ret = 1;
	char *reply = NULL;
	if (send(fd, head, (size_t)hn_len, MSG_NOSIGNAL) != hn_len)
		goto out_io;
	for (size_t off = 0; off < len;) {
		ssize_t n = send(fd, (const char *)body + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			goto out_io;
		off += (size_t)n;
	}
	size_t cap = 65536, got = 0;
	reply = malloc(cap + 1);
	if (!reply)
		goto out_close;
	for (;;) {
		if (got == cap) {
			if (cap >= CLIENT_REPLY_MAX)
				break;
			char *p = realloc(reply, cap * 2 + 1);
			if (!p)
				goto out_close;
			reply = p, cap *= 2;
		}
		ssize_t n = recv(fd, reply + got, cap - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	reply[got] = '\0';
	int status = 0;
	if (sscanf(reply, "HTTP/1.%*d %d", &status) != 1)
		goto out_io;
	char *b = strstr(reply, "\r\n\r\n");
	if (b) {
		b += 4;
		fwrite(b, 1, got - (size_t)(b - reply), stdout);
		if (got > (size_t)(b - reply) && reply[got - 1] != '\n')
			putchar('\n');
	}
	if (status < 200 || status > 299)
		fprintf(stderr, "tensor-wasm %s: HTTP %d\n", cmd, status);
	ret = status >= 200 && status <= 299 ? 0 : 1;
	goto out_close;
out_io:
	fprintf(stderr, "tensor-wasm %s: connection failed\n", cmd);
out_close:
	free(reply);
	close(fd);
	return ret;
}

static bool read_file(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	size_t cap = 65536, n = 0;
	uint8_t *buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
		if (n == cap) {
			uint8_t *p = cap < CLIENT_REPLY_MAX ? realloc(buf, cap * 2) : NULL;
			if (!p) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = p, cap *= 2;
		}
	}
	fclose(f);
	*out = buf;
	*len = n;
	return buf != NULL;
}

static void url_encode(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	for (; *s && o + 4 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~')
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, cap - o, "%%%02X", ch);
	}
	out[o] = '\0';
}

/* Put client options ("--url U", "--token=T") before the positional arguments, so they may
 * come in any order on the command line; the option parser stops at the first positional. */
static int reorder(char **in, int n, char **out)
{
	int o = 0;
	for (int i = 0; i < n; i++) {
		if (strncmp(in[i], "--", 2) == 0) {
			out[o++] = in[i];
			if (!strchr(in[i], '=') && i + 1 < n)
				out[o++] = in[++i];
		}
	}
	for (int i = 0; i < n; i++) {
		if (strncmp(in[i], "--", 2) == 0) {
			if (!strchr(in[i], '=') && i + 1 < n)
				i++;
			continue;
		}
		out[o++] = in[i];
	}
	return o;
}

int http_api_cli_deploy(int argc, char **argv)
{
	const char *file = NULL, *name = NULL;
	char *rest[64];
	int nrest = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			name = argv[++i];
		else if (strncmp(argv[i], "--name=", 7) == 0)
			name = argv[i] + 7;
		else if (nrest < 63)
			rest[nrest++] = argv[i];
	}
	rest[nrest] = NULL;
	struct client c;
	char *cargv[66] = {argv[0]};
	reorder(rest, nrest, cargv + 1);
	int r = client_parse(&c, "deploy", nrest + 1, cargv, 1);
	if (r >= 0)
		return r;
	if (c.first < nrest + 1)
		file = cargv[c.first];
	if (!file) {
		fprintf(stderr, "usage: tensor-wasm deploy FILE.wasm --name NAME [--url URL] "
				"[--token T] [--tenant N]\n");
		return 2;
	}
	if (!name) {
		const char *base = strrchr(file, '/');
		name = base ? base + 1 : file;
	}
	uint8_t *bytes;
	size_t len;
	if (!read_file(file, &bytes, &len)) {
		fprintf(stderr, "tensor-wasm deploy: cannot read %s\n", file);
		return 2;
	}
	char enc[800], path[900];
	url_encode(name, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/functions?name=%s", enc);
	r = client_request(&c, "deploy", "POST", path, "application/wasm", bytes, len);
	free(bytes);
	return r;
}

/* An argument as JSON: numbers stay numbers; anything else becomes a string (i64 as text). */
static bool is_number(const char *s)
{
	char *end;
	errno = 0;
	strtod(s, &end);
	return *s && *end == '\0' && errno == 0;
}

int http_api_cli_invoke(int argc, char **argv)
{
	const char *exp = NULL;
	char *rest[64];
	int nrest = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--export") == 0 && i + 1 < argc)
			exp = argv[++i];
		else if (strncmp(argv[i], "--export=", 9) == 0)
			exp = argv[i] + 9;
		else if (nrest < 63)
			rest[nrest++] = argv[i];
	}
	struct client c;
	char *cargv[66] = {argv[0]};
	reorder(rest, nrest, cargv + 1);
	int r = client_parse(&c, "invoke", nrest + 1, cargv, 1);
	if (r >= 0)
		return r;
	if (c.first >= nrest + 1) {
		fprintf(stderr, "usage: tensor-wasm invoke ID [--export E] [ARGS..]\n");
		return 2;
	}
	const char *id = cargv[c.first];
	size_t cap = 256, o = 0;
	for (int i = c.first + 1; i < nrest + 1; i++)
		cap += strlen(cargv[i]) + 4;
	cap += exp ? strlen(exp) * 6 : 0;
	char *body = malloc(cap);
	if (!body)
		return 2;
	o += (size_t)snprintf(body + o, cap - o, "{");
	if (exp) {
		o += (size_t)snprintf(body + o, cap - o, "\"export\":\"");
		for (const char *p = exp; *p; p++) {
			if (*p == '"' || *p == '\\')
				body[o++] = '\\';
			body[o++] = *p;
		}
		o += (size_t)snprintf(body + o, cap - o, "\",");
	}
	o += (size_t)snprintf(body + o, cap - o, "\"args\":[");
	for (int i = c.first + 1; i < nrest + 1; i++) {
		const char *a = cargv[i];
		bool num = is_number(a) && !strchr(a, 'e') && !strchr(a, 'E') &&
			   (strchr(a, '.') || strlen(a) < 16);
		o += (size_t)snprintf(body + o, cap - o, num ? "%s%s" : "%s\"%s\"",
				      i > c.first + 1 ? "," : "", a);
	}
	o += (size_t)snprintf(body + o, cap - o, "]}");
	char path[128];
	snprintf(path, sizeof(path), "/functions/%.64s/invoke", id);
	r = client_request(&c, "invoke", "POST", path, "application/json", body, o);
	free(body);
	return r;
}

int http_api_cli_jobs(int argc, char **argv)
{
	struct client c;
	char *cargv[66] = {argv[0]};
	int n = reorder(argv + 1, argc - 1 < 64 ? argc - 1 : 64, cargv + 1);
	int r = client_parse(&c, "jobs", n + 1, cargv, 1);
	if (r >= 0)
		return r;
	if (c.first >= n + 1) {
		fprintf(stderr, "usage: tensor-wasm jobs ID\n");
		return 2;
	}
	char path[128];
	snprintf(path, sizeof(path), "/jobs/%.64s", cargv[c.first]);
	return client_request(&c, "jobs", "GET", path, NULL, NULL, 0);
}
