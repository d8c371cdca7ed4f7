/* jit_ptx_test.c — emitted PTX: its shape, and ptxas accepting every built-in on sm_80/sm_90. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "jit/jit_builtin.h"
#include "jit/jit_ptx.h"

extern char **environ;

static char *emit_one(const struct jit_blueprint *bp, const char *arch)
{
	char *ptx;
	size_t len;
	cr_assert_eq(jit_ptx_emit(&bp, 1, jit_arch_find(arch), &ptx, &len), TW_ERR_OK, "%s",
		     bp->name);
	cr_assert_eq(strlen(ptx), len);
	return ptx;
}

Test(jit_ptx, arches)
{
	cr_assert_eq(jit_arch_find("sm_80")->ptx_major, 7);
	cr_assert_eq(jit_arch_find("sm_80")->ptx_minor, 0);
	cr_assert_eq(jit_arch_find("sm_90")->ptx_minor, 8);
	cr_assert_null(jit_arch_find("sm_81"));
	cr_assert_str_eq(jit_arch_for_cc(9, 0)->name, "sm_90");
	cr_assert_str_eq(jit_arch_for_cc(8, 9)->name, "sm_89");
	cr_assert_str_eq(jit_arch_for_cc(8, 8)->name, "sm_87", "highest known below");
	cr_assert_str_eq(jit_arch_for_cc(12, 1)->name, "sm_120");
	cr_assert_null(jit_arch_for_cc(6, 1));
}

Test(jit_ptx, shape_of_every_kernel)
{
	for (size_t i = 0; i < jit_builtin_count(); i++) {
		const struct jit_blueprint *bp = jit_builtin_get(i);
		char *ptx = emit_one(bp, i % 2 ? "sm_90" : "sm_80");
		cr_assert(strstr(ptx, i % 2 ? ".version 7.8\n.target sm_90\n"
					    : ".version 7.0\n.target sm_80\n"));
		cr_assert(strstr(ptx, ".address_size 64"));
		/* Grid-stride loop over 64-bit indices. */
		cr_assert(strstr(ptx, "%ctaid.x") && strstr(ptx, "%ntid.x") &&
			  strstr(ptx, "%tid.x") && strstr(ptx, "%nctaid.x"), "%s", bp->name);
		cr_assert(strstr(ptx, "setp.ge.u64"), "%s", bp->name);
		/* No contraction and no approximate or flushing float operations. */
		cr_assert_null(strstr(ptx, "fma"), "%s", bp->name);
		cr_assert_null(strstr(ptx, "mad."), "%s", bp->name);
		cr_assert_null(strstr(ptx, ".approx"), "%s", bp->name);
		cr_assert_null(strstr(ptx, ".ftz"), "%s", bp->name);
		if (bp->kind == JIT_REDUCE)
			cr_assert(strstr(ptx, "red.global."), "%s", bp->name);
		else
			cr_assert(strstr(ptx, "st.global."), "%s", bp->name);
		char entry[48];
		jit_ptx_entry_name(bp, entry);
		cr_assert(strstr(ptx, entry));
		free(ptx);
	}
	char *p = emit_one(jit_builtin_find("add_f32"), "sm_80");
	cr_assert(strstr(p, "add.rn.f32"));
	free(p);
	p = emit_one(jit_builtin_find("shl_i32"), "sm_80");
	cr_assert(strstr(p, ", 31;"), "shift count masked");
	free(p);
	p = emit_one(jit_builtin_find("div_f64"), "sm_80");
	cr_assert(strstr(p, "div.rn.f64"));
	free(p);
	p = emit_one(jit_builtin_find("sqrt_f32"), "sm_80");
	cr_assert(strstr(p, "sqrt.rn.f32"));
	free(p);
}

Test(jit_ptx, refuses_float_reduction)
{
	enum jit_type f = JIT_F32;
	struct jit_blueprint bp;
	jit_bp_init(&bp, "fsum", JIT_REDUCE, JIT_F32, 1, &f, 0, NULL);
	bp.reduce_op = JIT_RED_SUM;
	jit_bp_node(&bp, JIT_OP_INPUT, JIT_F32, 0, 0, 0, 0, 0);
	const struct jit_blueprint *p = &bp;
	char *ptx = (char *)1;
	size_t len = 1;
	cr_assert_eq(jit_ptx_emit(&p, 1, jit_arch_find("sm_80"), &ptx, &len), TW_ERR_UNSUPPORTED);
	cr_assert_null(ptx);
	bp.n_inputs = 0;
	cr_assert_eq(jit_ptx_emit(&p, 1, jit_arch_find("sm_80"), &ptx, &len), TW_ERR_INVALID_ARG);
}

#if HAVE_PTXAS

struct job {
	char path[256];
	char arch[16];
	pid_t pid;
};

static pid_t spawn_ptxas(const char *arch, const char *path, const char *log)
{
	char archflag[32];
	snprintf(archflag, sizeof(archflag), "-arch=%s", arch);
	char *argv[] = {(char *)TW_PTXAS_PATH, archflag, "-Werror", "-o", "/dev/null",
			(char *)path, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	pid_t pid = -1;
	if (posix_spawn(&pid, TW_PTXAS_PATH, &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

static void print_log(const char *log)
{
	FILE *f = fopen(log, "r");
	if (!f)
		return;
	char line[512];
	for (int i = 0; i < 20 && fgets(line, sizeof(line), f); i++)
		fprintf(stderr, "  %s", line);
	fclose(f);
}

/* One module per (element type, arch) with every built-in of that type, assembled in
 * parallel: 8 ptxas runs instead of one per kernel keep this test around a second. */
Test(jit_ptx, ptxas_accepts_every_builtin)
{
	if (access(TW_PTXAS_PATH, X_OK) != 0)
		cr_skip_test("ptxas not executable at %s", TW_PTXAS_PATH);
	char dir[] = "/tmp/tw-ptx-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	static const char *arches[2] = {"sm_80", "sm_90"};
	static const enum jit_type types[4] = {JIT_I32, JIT_I64, JIT_F32, JIT_F64};
	struct job jobs[8];
	size_t n_kernels = 0;
	for (int a = 0; a < 2; a++) {
		for (int t = 0; t < 4; t++) {
			const struct jit_blueprint *group[256];
			size_t n = 0;
			for (size_t i = 0; i < jit_builtin_count(); i++)
				if (jit_builtin_group(jit_builtin_get(i)) == types[t])
					group[n++] = jit_builtin_get(i);
			n_kernels += n;
			char *ptx;
			size_t len;
			cr_assert_eq(jit_ptx_emit(group, n, jit_arch_find(arches[a]), &ptx, &len),
				     TW_ERR_OK);
			struct job *j = &jobs[a * 4 + t];
			snprintf(j->path, sizeof(j->path), "%s/%s_%s.ptx", dir, arches[a],
				 jit_type_str(types[t]));
			snprintf(j->arch, sizeof(j->arch), "%s", arches[a]);
			FILE *f = fopen(j->path, "w");
			cr_assert_not_null(f);
			fwrite(ptx, 1, len, f);
			fclose(f);
			free(ptx);
		}
	}
	cr_assert_eq(n_kernels, 2 * jit_builtin_count());
	for (int i = 0; i < 8; i++) {
		char log[300];
		snprintf(log, sizeof(log), "%s.log", jobs[i].path);
		jobs[i].pid = spawn_ptxas(jobs[i].arch, jobs[i].path, log);
		cr_assert_gt(jobs[i].pid, 0);
	}
	int failures = 0;
	for (int i = 0; i < 8; i++) {
		int st = 0;
		waitpid(jobs[i].pid, &st, 0);
		char log[300];
		snprintf(log, sizeof(log), "%s.log", jobs[i].path);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "ptxas -arch=%s rejected %s:\n", jobs[i].arch, jobs[i].path);
			print_log(log);
			failures++;
		} else {
			unlink(jobs[i].path);
		}
		unlink(log);
	}
	if (failures == 0)
		rmdir(dir);
	cr_assert_eq(failures, 0, "%d modules rejected (kept under %s)", failures, dir);
}

/* The harness itself must notice a rejection. */
Test(jit_ptx, ptxas_rejects_broken_text)
{
	if (access(TW_PTXAS_PATH, X_OK) != 0)
		cr_skip_test("ptxas not executable at %s", TW_PTXAS_PATH);
	char path[] = "/tmp/tw-ptx-bad-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	char *ptx = emit_one(jit_builtin_find("add_i32"), "sm_80");
	char *p = strstr(ptx, "add.s32");
	cr_assert_not_null(p);
	memcpy(p, "add.q32", 7);
	cr_assert_eq(write(fd, ptx, strlen(ptx)), (ssize_t)strlen(ptx));
	close(fd);
	free(ptx);
	pid_t pid = spawn_ptxas("sm_80", path, "/dev/null");
	int st = 0;
	waitpid(pid, &st, 0);
	unlink(path);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0);
}

#else

Test(jit_ptx, ptxas_accepts_every_builtin)
{
	cr_skip_test("ptxas was not found at configure time (CUDA toolkit absent)");
}

#endif
