/*
 * spec_main.c — the WebAssembly spec-suite runner: find, convert, run, report.
 *
 *   spec-runner --spec-dir DIR --work-dir DIR [--filter SUBSTR] [--expect-failures FILE]
 *               [--no-fork] [-v] [FILE.wast ...]
 *
 * Every top-level *.wast of the spec dir (the Wasm 2.0 suite; the wasm-3.0/ subfolder is not
 * read) is converted by wast2json into the work dir, unless the .json there is newer than the
 * .wast. Files whose name starts with "simd_" are skipped (the engine has no SIMD yet), and so
 * are files wast2json cannot convert: that is detected by wast2json failing, never by a list.
 *
 * Each file runs in a forked child with a time limit: a crash or a hang in the engine is
 * reported as that file's failure and the run goes on. Files listed in the known-failures file
 * (tests/spec/known_failures.txt by default, when present) have their failures counted as
 * "xfail": reported, but added to the skipped total instead of the failed one.
 *
 * Output: one line per file, "PASS|FAIL|XFAIL|SKIP file.wast: N passed, N failed, N skipped",
 * the first failures of a file indented below it, and as the last line exactly
 * "spec: N passed, N failed, N skipped". Counts are commands: assertions and actions; a module
 * that fails to load counts as one failure; a wholly skipped file counts as one skipped.
 * Exit status: 0 when nothing failed, 1 otherwise, 2 on a usage error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "tests/spec/spec.h"

/* A file that runs longer than this is killed and failed: the whole suite takes seconds. */
#define SPEC_FILE_TIMEOUT_S 30
#define SPEC_FILES_MAX 1024
#define SPEC_XFAIL_MAX 256

struct xfail {
	char file[128];
	char reason[256];
	bool seen;
};

struct runner {
	const char *spec_dir;
	const char *filter;
	const char *wast2json;
	bool fork_children;
	struct spec_opts opts;
	struct xfail xfails[SPEC_XFAIL_MAX];
	size_t nxfails;
	const char *xfail_path;
	uint64_t passed, failed, skipped, xfailed;
	uint32_t files_xfail, files_failed;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: spec-runner --spec-dir DIR --work-dir DIR [--filter SUBSTR]\n"
		     "                   [--expect-failures FILE | --no-expect-failures]\n"
		     "                   [--no-fork] [-v] [FILE.wast ...]\n");
}

void spec_fail(struct spec_result *r, int line, const char *fmt, ...)
{
	r->failed++;
	if (r->shown >= SPEC_FAILURES_SHOWN && !getenv("SPEC_VERBOSE"))
		return;
	size_t cap = sizeof(r->log) - r->log_len;
	if (cap < 64)
		return;
	int n = snprintf(r->log + r->log_len, cap, "    line %d: ", line);
	if (n < 0 || (size_t)n >= cap)
		return;
	r->log_len += (size_t)n;
	cap -= (size_t)n;
	va_list ap;
	va_start(ap, fmt);
	n = vsnprintf(r->log + r->log_len, cap - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	r->log_len += (size_t)n < cap - 1 ? (size_t)n : cap - 2;
	r->log[r->log_len++] = '\n';
	r->log[r->log_len] = '\0';
	r->shown++;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Known failures: "file.wast  reason words", '#' starts a comment, blank lines ignored. */
static int load_xfails(struct runner *rn, const char *path, bool must_exist)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		if (must_exist) {
			fprintf(stderr, "spec-runner: cannot open %s: %s\n", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || *p == '\0')
			continue;
		if (rn->nxfails == SPEC_XFAIL_MAX)
			break;
		struct xfail *x = &rn->xfails[rn->nxfails++];
		size_t n = strcspn(p, " \t\n");
		snprintf(x->file, sizeof(x->file), "%.*s", (int)n, p);
		p += n;
		while (*p == ' ' || *p == '\t')
			p++;
		p[strcspn(p, "\n")] = '\0';
		snprintf(x->reason, sizeof(x->reason), "%s", *p ? p : "no reason given");
	}
	fclose(f);
	rn->xfail_path = path;
	return 0;
}

static struct xfail *find_xfail(struct runner *rn, const char *file)
{
	for (size_t i = 0; i < rn->nxfails; i++)
		if (strcmp(rn->xfails[i].file, file) == 0)
			return &rn->xfails[i];
	return NULL;
}

static bool newer(const char *a, const char *b)
{
	struct stat sa, sb;
	if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
		return false;
	if (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec)
		return sa.st_mtim.tv_sec > sb.st_mtim.tv_sec;
	return sa.st_mtim.tv_nsec > sb.st_mtim.tv_nsec;
}

/* Run argv with stdout and stderr sent to errbuf (first bytes kept). Returns the exit status,
 * or 128+signal, or -1 when it could not start. */
static int run_tool(char *const argv[], char *errbuf, size_t cap)
{
	int pfd[2];
	if (pipe(pfd) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		execv(argv[0], argv);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	size_t len = 0;
	char chunk[1024];
	ssize_t n;
	while ((n = read(pfd[0], chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR)) {
		if (n <= 0)
			continue;
		size_t take = (size_t)n;
		if (cap > 0 && len + take > cap - 1)
			take = cap - 1 - len;
		memcpy(errbuf + len, chunk, take);
		len += take;
	}
	close(pfd[0]);
	if (cap > 0)
		errbuf[len] = '\0';
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

/* The first line of wast2json's complaint, trimmed, for the skip reason. */
static void first_line(char *dst, size_t cap, const char *src)
{
	while (*src == '\n' || *src == ' ')
		src++;
	size_t n = strcspn(src, "\n");
	if (n > 90)
		n = 90;
	snprintf(dst, cap, "%.*s", (int)n, src);
}

/* Convert `wast` to `json` unless the cached copy is newer. Returns 0, or -1 with a reason. */
static int convert(struct runner *rn, const char *wast, const char *json, char *reason,
		   size_t cap)
{
	if (newer(json, wast))
		return 0;
	char out[4096];
	char *argv[] = {(char *)rn->wast2json, (char *)wast, "-o", (char *)json, NULL};
	int rc = run_tool(argv, out, sizeof(out));
	if (rc == 0)
		return 0;
	unlink(json);
	char line[128];
	/* "DIR/if.wast:533:33: error: ..." reads better as "if.wast:533:33: error: ...". */
	const char *msg = out;
	if (strncmp(msg, wast, strlen(wast)) == 0 && strrchr(wast, '/'))
		msg += strrchr(wast, '/') + 1 - wast;
	first_line(line, sizeof(line), msg);
	if (rc == 127 || rc < 0)
		snprintf(reason, cap, "%s could not be run (install wabt)", rn->wast2json);
	else if (rc > 128)
		snprintf(reason, cap, "wast2json cannot convert it (killed by signal %d%s%s)",
			 rc - 128, line[0] ? ": " : "", line);
	else
		snprintf(reason, cap, "wast2json cannot convert it%s%s", line[0] ? ": " : "",
			 line);
	return -1;
}

static void run_child(struct runner *rn, const char *json, struct spec_result *r)
{
	alarm(SPEC_FILE_TIMEOUT_S);
	spec_run_file(json, &rn->opts, r);
	r->done = true;
}

/* Run one file in a child (or in-process with --no-fork). Fills r; returns a short note when
 * the child died ("crashed: signal 11", "timed out") or NULL. */
static const char *run_file(struct runner *rn, const char *json, struct spec_result *r,
			    char *note, size_t cap)
{
	memset(r, 0, sizeof(*r));
	if (!rn->fork_children) {
		spec_run_file(json, &rn->opts, r);
		return NULL;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(note, cap, "fork failed: %s", strerror(errno));
		return note;
	}
	if (pid == 0) {
		run_child(rn, json, r);
		_exit(0);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			break;
	if (r->done)
		return NULL;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
		snprintf(note, cap, "timed out after %ds", SPEC_FILE_TIMEOUT_S);
	else if (WIFSIGNALED(st))
		snprintf(note, cap, "crashed: %s", strsignal(WTERMSIG(st)));
	else
		snprintf(note, cap, "child exited with status %d before the end", WEXITSTATUS(st));
	return note;
}

static void report_file(struct runner *rn, const char *name, struct spec_result *r,
			const char *note)
{
	struct xfail *x = find_xfail(rn, name);
	uint32_t failed = r->failed + (note ? 1 : 0);
	const char *verdict = failed ? (x ? "XFAIL" : "FAIL") : "PASS";
	printf("%s %s: %u passed, %u failed, %u skipped", verdict, name, r->passed, failed,
	       r->skipped);
	if (r->skipped && r->skip_reason[0])
		printf(" (skipped: %s)", r->skip_reason);
	printf("\n");
	if (x && failed)
		printf("    known failure: %s\n", x->reason);
	if (x && !failed)
		printf("    note: listed in %s but passes now; remove it from the list\n",
		       rn->xfail_path);
	if (note)
		printf("    %s\n", note);
	if (failed && r->log_len)
		fwrite(r->log, 1, r->log_len, stdout);
	if (failed > r->shown + (note ? 1 : 0) && !rn->opts.verbose)
		printf("    ... %u more failures\n", failed - r->shown - (note ? 1 : 0));
	rn->passed += r->passed;
	rn->skipped += r->skipped;
	if (x) {
		x->seen = true;
		rn->xfailed += failed;
		rn->skipped += failed;
		rn->files_xfail += failed ? 1 : 0;
	} else {
		rn->failed += failed;
		rn->files_failed += failed ? 1 : 0;
	}
}

static void skip_file(struct runner *rn, const char *name, const char *reason)
{
	printf("SKIP %s: 0 passed, 0 failed, 1 skipped (%s)\n", name, reason);
	rn->skipped++;
}

static bool selected(struct runner *rn, const char *name, char **only, int nonly)
{
	if (rn->filter && !strstr(name, rn->filter))
		return false;
	if (nonly == 0)
		return true;
	for (int i = 0; i < nonly; i++) {
		const char *o = strrchr(only[i], '/');
		o = o ? o + 1 : only[i];
		if (strcmp(o, name) == 0)
			return true;
	}
	return false;
}

static int mkdir_p(const char *path)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct runner rn;
	const char *xfail_file = NULL;
	bool no_xfail = false;
	char *only[SPEC_FILES_MAX];
	int nonly = 0;
	int ret = 1;

	rn.spec_dir = getenv("TW_SPEC_DIR");
	rn.fork_children = true;
	rn.wast2json = TW_WAST2JSON_PATH[0] ? TW_WAST2JSON_PATH : "wast2json";
	rn.opts.wat2wasm = TW_WAT2WASM_PATH[0] ? TW_WAT2WASM_PATH : "wat2wasm";
	rn.opts.work_dir = "build/tests/spec-json";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--spec-dir") == 0 && i + 1 < argc)
			rn.spec_dir = argv[++i];
		else if (strcmp(a, "--work-dir") == 0 && i + 1 < argc)
			rn.opts.work_dir = argv[++i];
		else if (strcmp(a, "--filter") == 0 && i + 1 < argc)
			rn.filter = argv[++i];
		else if (strcmp(a, "--expect-failures") == 0 && i + 1 < argc)
			xfail_file = argv[++i];
		else if (strcmp(a, "--no-expect-failures") == 0)
			no_xfail = true;
		else if (strcmp(a, "--no-fork") == 0)
			rn.fork_children = false;
		else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
			rn.opts.verbose = true;
		else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (a[0] == '-') {
			usage(stderr);
			return 2;
		} else if (nonly < SPEC_FILES_MAX)
			only[nonly++] = argv[i];
	}
	if (rn.opts.verbose)
		setenv("SPEC_VERBOSE", "1", 1);
	if (!rn.spec_dir)
		rn.spec_dir = TW_SPEC_DIR_DEFAULT;
	if (!no_xfail) {
		if (xfail_file) {
			if (load_xfails(&rn, xfail_file, true) != 0)
				return 2;
		} else {
			load_xfails(&rn, "tests/spec/known_failures.txt", false);
		}
	}

	DIR *d = opendir(rn.spec_dir);
	if (!d) {
		printf("spec: SKIPPED: the WebAssembly spec suite was not found at %s (%s); set "
		       "TW_SPEC_DIR or ./configure.py --spec-dir=DIR\n",
		       rn.spec_dir, strerror(errno));
		printf("spec: 0 passed, 0 failed, 1 skipped\n");
		return 0;
	}
	char *names[SPEC_FILES_MAX];
	size_t nnames = 0;
	struct dirent *e;
	while ((e = readdir(d)) && nnames < SPEC_FILES_MAX)
		if (ends_with(e->d_name, ".wast") && e->d_name[0] != '.')
			names[nnames++] = strdup(e->d_name);
	closedir(d);
	qsort(names, nnames, sizeof(names[0]), cmp_str);
	if (mkdir_p(rn.opts.work_dir) != 0) {
		fprintf(stderr, "spec-runner: cannot create %s: %s\n", rn.opts.work_dir,
			strerror(errno));
		goto out_free_names;
	}
	if (rn.xfail_path)
		printf("spec: known failures read from %s (%zu files); their failures count as "
		       "xfail, not failed\n",
		       rn.xfail_path, rn.nxfails);

	struct spec_result *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED) {
		fprintf(stderr, "spec-runner: mmap: %s\n", strerror(errno));
		goto out_free_names;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	size_t nrun = 0;
	for (size_t i = 0; i < nnames; i++) {
		const char *name = names[i];
		if (!selected(&rn, name, only, nonly))
			continue;
		nrun++;
		if (strncmp(name, "simd_", 5) == 0) {
			skip_file(&rn, name, "SIMD not supported yet");
			continue;
		}
		char wast[4096], json[4096], reason[256], note[128];
		snprintf(wast, sizeof(wast), "%s/%s", rn.spec_dir, name);
		snprintf(json, sizeof(json), "%s/%.*s.json", rn.opts.work_dir,
			 (int)(strlen(name) - 5), name);
		if (convert(&rn, wast, json, reason, sizeof(reason)) != 0) {
			skip_file(&rn, name, reason);
			continue;
		}
		const char *died = run_file(&rn, json, r, note, sizeof(note));
		report_file(&rn, name, r, died);
		fflush(stdout);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	munmap(r, sizeof(*r));
	if (nonly && nrun == 0)
		printf("spec: no file of %s matched the names given\n", rn.spec_dir);
	for (size_t i = 0; i < rn.nxfails; i++)
		if (!rn.xfails[i].seen && !rn.filter && !nonly)
			printf("spec: note: %s lists %s, which was not run\n", rn.xfail_path,
			       rn.xfails[i].file);
	printf("spec: %zu files in %.1fs; %u failing files, %u known-failing files (%llu xfail "
	       "counted as skipped)\n",
	       nrun,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       rn.files_failed, rn.files_xfail, (unsigned long long)rn.xfailed);
	printf("spec: %llu passed, %llu failed, %llu skipped\n", (unsigned long long)rn.passed,
	       (unsigned long long)rn.failed, (unsigned long long)rn.skipped);
	ret = rn.failed ? 1 : 0;
out_free_names:
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	return ret;
}
