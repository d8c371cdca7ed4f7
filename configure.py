#!/usr/bin/env python3
"""Configure TensorWasm: probe the machine, write build/config.h and build.ninja.

    ./configure.py [--install-deps] [--mode=release|debug|asan] [--cc=clang]
                   [--spec-dir=../shared/wasm-spec-testsuite] [--cuda-home=/usr/local/cuda]

The probes compile tiny programs (liburing features, musttail, computed goto, libFuzzer, CUDA
headers, the wasm32-wasi toolchain) and record the answers as HAVE_* macros in build/config.h.
build.ninja is generated and not tracked: it re-runs this script (with the same arguments) when the
script changes or when a source folder gains or loses a file.

Source layout, discovered by convention so that adding a file needs no edit here:
  <floor>/*.c                  library code of that floor (core, metrics, wasm, gpu, jit, http),
                               one static library per floor, linked in floor order
  <floor>/*_test.c             a Criterion unit-test program each
  tests/unit/*_test.c          more Criterion unit-test programs
  tests/spec/*.c               the spec-suite runner (one program)
  tests/fuzz/fuzz_*.c          libFuzzer targets (clang, ASan+UBSan), one program each
  tests/integration/test_*.py  integration tests (Python unittest) against the real binary
  examples/*.c, tests/guests/*.c   guest programs, compiled to wasm32-wasi
  examples/*.wat, tests/guests/*.wat  guest programs in text form, assembled with wat2wasm

Only Python's standard library is used.
"""

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.abspath(__file__))
VERSION = "0.1.0"
FLOORS = ["core", "metrics", "wasm", "gpu", "jit", "http"]  # bottom to top
LLHTTP_SRC = "/usr/share/llhttp"
LLHTTP_INC = "/usr/share/include/llhttp"

# Debian packages, by what needs them. --install-deps installs the missing ones of every group.
DEPS = {
    "build": ["build-essential", "clang", "lld", "ninja-build", "python3", "liburing-dev",
              "node-llhttp", "libxxhash-dev", "libjansson-dev", "libsqlite3-dev"],
    "test": ["libcriterion-dev", "wabt", "valgrind", "libclang-rt-14-dev", "curl", "prometheus"],
    "guests": ["wasi-libc", "libclang-rt-14-dev-wasm32"],
    # ninja bench-interp: the native baseline built with the C library the wasm guests link
    "bench": ["musl-tools"],
}

# Release debug info is DWARF 4: clang 14 defaults to DWARF 5, which Debian 12's valgrind 3.19
# cannot read in a binary this size ("Possibly corrupted debuginfo file"), and callgrind on the
# release binary is how instruction counts are taken (docs/PERFORMANCE.md).
MODES = {
    "release": {"cflags": ["-O2", "-g", "-gdwarf-4"], "ldflags": []},
    "debug": {"cflags": ["-O0", "-g3"], "ldflags": []},
    "asan": {
        "cflags": ["-O1", "-g", "-fsanitize=address,undefined", "-fno-omit-frame-pointer",
                   "-fno-sanitize-recover=all"],
        "ldflags": ["-fsanitize=address,undefined"],
    },
}

WARNINGS = ["-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wstrict-prototypes",
            "-Wmissing-prototypes", "-Wno-unused-parameter"]
LIBS = ["-luring", "-lxxhash", "-ljansson", "-lsqlite3", "-ldl", "-lpthread", "-lm"]


def log(msg):
    print("configure: " + msg, flush=True)


# ----------------------------------------------------------------------------------------------
# Dependencies

def dpkg_installed(pkg):
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True,
                             text=True, check=False).stdout
    except FileNotFoundError:
        return True  # not a Debian system: nothing we can check, let the probes speak
    return "install ok installed" in out


def install_deps():
    wanted = [p for group in DEPS.values() for p in group]
    missing = [p for p in wanted if not dpkg_installed(p)]
    if not missing:
        log("all Debian packages present")
        return
    log("installing missing packages: " + " ".join(missing))
    prefix = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            sys.exit("configure: need root (or sudo) to install: " + " ".join(missing))
        prefix = ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(prefix + ["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(prefix + ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + missing,
                   check=True, env=env)


# ----------------------------------------------------------------------------------------------
# Probes

class Prober:
    def __init__(self, cc, cflags):
        self.cc = cc
        self.cflags = cflags
        self.tmp = tempfile.mkdtemp(prefix="tw-configure-")

    def compiles(self, src, extra=(), link=True, cc=None):
        path = os.path.join(self.tmp, "probe.c")
        with open(path, "w") as f:
            f.write(src)
        out = os.path.join(self.tmp, "probe.out")
        cmd = [cc or self.cc] + self.cflags + list(extra) + [path, "-o", out]
        if not link:
            cmd.insert(1, "-c")
        r = subprocess.run(cmd, capture_output=True, text=True)
        return r.returncode == 0

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def probe(args, cc):
    p = Prober(cc, ["-std=c17", "-D_GNU_SOURCE", "-Werror"])
    have = {}

    def check(name, ok, what):
        have[name] = bool(ok)
        log("checking %-40s %s" % (what + "...", "yes" if ok else "no"))
        return ok

    check("HAVE_LIBURING", p.compiles(
        "#include <liburing.h>\nint main(void){struct io_uring r;"
        "return io_uring_queue_init(8,&r,0);}", ["-luring"]), "liburing")
    if not have["HAVE_LIBURING"]:
        sys.exit("configure: liburing-dev is required (try --install-deps)")
    check("HAVE_IORING_SINGLE_ISSUER", p.compiles(
        "#include <liburing.h>\nint main(void){return IORING_SETUP_SINGLE_ISSUER;}",
        link=False), "IORING_SETUP_SINGLE_ISSUER")
    check("HAVE_IORING_DEFER_TASKRUN", p.compiles(
        "#include <liburing.h>\nint main(void){return IORING_SETUP_DEFER_TASKRUN;}",
        link=False), "IORING_SETUP_DEFER_TASKRUN")
    check("HAVE_IORING_BUF_RING", p.compiles(
        "#include <liburing.h>\nint main(void){struct io_uring r; struct io_uring_buf_reg g={0};"
        "io_uring_buf_ring_advance(0,0); return io_uring_register_buf_ring(&r,&g,0);}",
        ["-luring"]), "io_uring provided-buffer rings")
    check("HAVE_IORING_SETUP_BUF_RING", p.compiles(
        "#include <liburing.h>\nint main(void){struct io_uring r; int e;"
        "return io_uring_setup_buf_ring(&r,8,0,0,&e)!=0;}", ["-luring"]),
        "io_uring_setup_buf_ring")
    check("HAVE_IORING_ACCEPT_MULTISHOT", p.compiles(
        "#include <liburing.h>\nint main(void){struct io_uring_sqe s;"
        "io_uring_prep_multishot_accept(&s,0,0,0,0);return 0;}", link=False),
        "multishot accept")
    check("HAVE_IORING_RECV_MULTISHOT", p.compiles(
        "#include <liburing.h>\nint main(void){struct io_uring_sqe s;"
        "io_uring_prep_recv_multishot(&s,0,0,0,0);return 0;}", link=False),
        "multishot recv")
    check("HAVE_MUSTTAIL", p.compiles(
        "static int g(int x){return x;}\n"
        "static int f(int x){__attribute__((musttail)) return g(x);}\n"
        "int main(void){return f(0);}"), "__attribute__((musttail))")
    check("HAVE_COMPUTED_GOTO", p.compiles(
        "int main(void){static void *t[]={&&a}; goto *t[0]; a: return 0;}",
        ["-Wno-gnu-label-as-value", "-Wno-pedantic"]), "computed goto")
    for name, pkg in [("xxhash.h", "libxxhash-dev"), ("jansson.h", "libjansson-dev"),
                      ("sqlite3.h", "libsqlite3-dev")]:
        if not check("HAVE_" + name.split(".")[0].upper(),
                     p.compiles("#include <%s>\nint main(void){return 0;}" % name, link=False),
                     name):
            sys.exit("configure: %s is required (package %s; try --install-deps)" % (name, pkg))
    if not check("HAVE_LLHTTP", os.path.exists(os.path.join(LLHTTP_INC, "llhttp.h")) and
                 os.path.exists(os.path.join(LLHTTP_SRC, "llhttp.c")), "llhttp C sources"):
        sys.exit("configure: llhttp sources are required (package node-llhttp; try --install-deps)")
    check("HAVE_CRITERION", p.compiles(
        "#include <criterion/criterion.h>\nTest(a,b){cr_assert(1);}\n", ["-lcriterion"]),
        "Criterion")
    check("HAVE_LIBFUZZER", shutil.which("clang") is not None and p.compiles(
        "#include <stdint.h>\n#include <stddef.h>\n"
        "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\n"
        "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n){(void)d;(void)n;return 0;}",
        ["-fsanitize=fuzzer,address,undefined"], cc="clang"), "libFuzzer (clang)")
    check("HAVE_WASI_SYSROOT", shutil.which("clang") is not None and p.compiles(
        "#include <stdio.h>\nint main(void){puts(\"hi\");return 0;}",
        ["--target=wasm32-wasi", "--sysroot=/usr", "-O2"], cc="clang"),
        "clang wasm32-wasi + wasi-libc")
    for tool in ["wat2wasm", "wast2json", "valgrind", "ptxas"]:
        path = shutil.which(tool)
        if tool == "ptxas" and path is None:
            cand = os.path.join(args.cuda_home, "bin", "ptxas")
            path = cand if os.access(cand, os.X_OK) else None
        check("HAVE_" + tool.upper(), path, tool)
        have[tool.upper() + "_PATH"] = path or ""
    cuda_inc = os.path.join(args.cuda_home, "include")
    check("HAVE_CUDA_H", p.compiles("#include <cuda.h>\nint main(void){return CUDA_SUCCESS;}",
                                   ["-I" + cuda_inc], link=False), "CUDA Driver API header")
    have["CUDA_INCLUDE"] = cuda_inc if have["HAVE_CUDA_H"] else ""
    p.cleanup()
    return have


# ----------------------------------------------------------------------------------------------
# Sources

def rel(*parts):
    return os.path.join(*parts)


def listdir_c(folder, pred=lambda n: True):
    d = os.path.join(ROOT, folder)
    if not os.path.isdir(d):
        return []
    return sorted(rel(folder, n) for n in os.listdir(d) if n.endswith(".c") and pred(n))


def list_ext(folder, ext):
    d = os.path.join(ROOT, folder)
    if not os.path.isdir(d):
        return []
    return sorted(rel(folder, n) for n in os.listdir(d) if n.endswith(ext))


def sources():
    s = {}
    for floor in FLOORS:
        s[floor] = listdir_c(floor, lambda n: not n.endswith("_test.c") and
                             not (floor == "core" and n == "main.c"))
    s["unit"] = [f for floor in FLOORS for f in listdir_c(floor, lambda n: n.endswith("_test.c"))]
    s["unit"] += listdir_c("tests/unit", lambda n: n.endswith("_test.c"))
    s["spec"] = listdir_c("tests/spec")
    s["fuzz"] = listdir_c("tests/fuzz", lambda n: n.startswith("fuzz_"))
    s["integration"] = sorted(f for f in list_ext("tests/integration", ".py")
                              if os.path.basename(f).startswith("test_"))
    s["guests_c"] = listdir_c("examples") + listdir_c("tests/guests")
    s["guests_wat"] = list_ext("examples", ".wat") + list_ext("tests/guests", ".wat")
    s["llhttp"] = [os.path.join(LLHTTP_SRC, n) for n in ("api.c", "http.c", "llhttp.c")]
    return s


def watched_dirs():
    dirs = FLOORS + ["tests", "tests/unit", "tests/spec", "tests/fuzz", "tests/integration",
                     "tests/guests", "examples", "bench"]
    # "bench" is also the target that runs the benchmarks, so that folder is watched by its
    # absolute path: a relative one would make regenerating build.ninja run them.
    return [os.path.join(ROOT, d) if d == "bench" else d for d in dirs
            if os.path.isdir(os.path.join(ROOT, d))]


# ----------------------------------------------------------------------------------------------
# build/config.h

def write_config_h(path, have, args, mode):
    lines = ["/* Generated by configure.py; do not edit. */", "#ifndef TW_CONFIG_H",
             "#define TW_CONFIG_H", ""]
    for k in sorted(have):
        v = have[k]
        if isinstance(v, bool):
            lines.append("#define %s %d" % (k, 1 if v else 0))
        else:
            lines.append("#define TW_%s %s" % (k, json.dumps(v)))
    lines += ["", "#define TW_VERSION %s" % json.dumps(VERSION),
              "#define TW_BUILD_MODE %s" % json.dumps(mode),
              "#define TW_SPEC_DIR_DEFAULT %s" % json.dumps(args.spec_dir),
              "", "#endif", ""]
    write_if_changed(path, "\n".join(lines))


def write_if_changed(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        with open(path) as f:
            if f.read() == text:
                return
    with open(path, "w") as f:
        f.write(text)


# ----------------------------------------------------------------------------------------------
# build.ninja

class Ninja:
    def __init__(self):
        self.lines = []

    def w(self, s=""):
        self.lines.append(s)

    def var(self, k, v):
        self.w("%s = %s" % (k, v))

    def rule(self, name, command, description=None, **kw):
        self.w("rule " + name)
        self.w("  command = " + command)
        if description:
            self.w("  description = " + description)
        for k, v in kw.items():
            self.w("  %s = %s" % (k, v))
        self.w()

    def build(self, outs, rule, ins=(), implicit=(), order_only=(), **variables):
        outs = [outs] if isinstance(outs, str) else outs
        ins = [ins] if isinstance(ins, str) else ins
        s = "build %s: %s" % (" ".join(esc(o) for o in outs), rule)
        if ins:
            s += " " + " ".join(esc(i) for i in ins)
        if implicit:
            s += " | " + " ".join(esc(i) for i in implicit)
        if order_only:
            s += " || " + " ".join(esc(i) for i in order_only)
        self.w(s)
        for k, v in variables.items():
            self.w("  %s = %s" % (k, v))

    def text(self):
        return "\n".join(self.lines) + "\n"


def esc(path):
    return path.replace("$", "$$").replace(" ", "$ ").replace(":", "$:")


def obj_path(bdir, src):
    if src.startswith("/"):
        src = "ext/" + os.path.basename(src)
    return rel(bdir, "obj", src[:-2] + ".o")


def emit_variant(n, name, bdir, mode, cc, have, src, args, is_main):
    """One build variant (release/debug/asan) under bdir."""
    m = MODES[mode]
    incs = ["-I" + bdir] + (["-Ibuild"] if bdir != "build" else [])
    cflags = ["-std=c17", "-D_GNU_SOURCE"] + incs + ["-I.", "-I" + LLHTTP_INC]
    cflags += WARNINGS
    if cc.endswith("clang") or "clang" in os.path.basename(cc):
        cflags += ["-Wno-gnu-label-as-value"]
    if have["HAVE_CUDA_H"]:
        cflags.append("-isystem" + have["CUDA_INCLUDE"])
    cflags += m["cflags"]
    v = name
    n.var("cflags_" + v, " ".join(cflags))
    n.var("ldflags_" + v, " ".join(m["ldflags"] + ["-rdynamic"]))
    n.w()
    libs = []
    for floor in FLOORS + ["llhttp"]:
        objs = []
        for s in src[floor]:
            o = obj_path(bdir, s)
            extra = {"cflags": "$cflags_%s -w" % v} if floor == "llhttp" else \
                {"cflags": "$cflags_" + v}
            n.build(o, "cc", s, order_only=["build/version.h"], **extra)
            objs.append(o)
        if objs:
            lib = rel(bdir, "lib", "libtw_%s.a" % floor)
            n.build(lib, "ar", objs)
            libs.append(lib)
        n.w()
    # Link order: top floor first so that static archives resolve downwards.
    order = ["http", "jit", "gpu", "wasm", "metrics", "core", "llhttp"]
    libs_sorted = [l for f in order for l in libs if l.endswith("libtw_%s.a" % f)]
    link_libs = " ".join(libs_sorted + LIBS)
    main_o = obj_path(bdir, "core/main.c")
    n.build(main_o, "cc", "core/main.c", order_only=["build/version.h"],
            cflags="$cflags_" + v)
    binary = rel(bdir, "tensor-wasm")
    n.build(binary, "link", [main_o], implicit=libs_sorted, libs=link_libs,
            ldflags="$ldflags_" + v)
    n.w()
    manifest = {"binary": binary, "unit": [], "spec": None, "fuzz": [], "mode": mode,
                "integration": src["integration"], "spec_dir": args.spec_dir,
                "guests": rel(bdir, "guests"), "have": {k: have[k] for k in have}}
    tests = []
    if have["HAVE_CRITERION"]:
        for t in src["unit"]:
            name_ = os.path.basename(t)[:-2]
            o = obj_path(bdir, t)
            n.build(o, "cc", t, order_only=["build/version.h"], cflags="$cflags_" + v)
            exe = rel(bdir, "tests", name_)
            n.build(exe, "link", [o], implicit=libs_sorted, libs=link_libs + " -lcriterion",
                    ldflags="$ldflags_" + v)
            manifest["unit"].append(exe)
            tests.append(exe)
    if src["spec"]:
        objs = []
        for s in src["spec"]:
            o = obj_path(bdir, s)
            n.build(o, "cc", s, order_only=["build/version.h"], cflags="$cflags_" + v)
            objs.append(o)
        exe = rel(bdir, "tests", "spec-runner")
        n.build(exe, "link", objs, implicit=libs_sorted, libs=link_libs, ldflags="$ldflags_" + v)
        manifest["spec"] = exe
        tests.append(exe)
    n.w()
    # Guest programs (shared by every variant: they are wasm, not host code).
    guests = []
    if is_main:
        for s in src["guests_wat"]:
            out = rel("build", "guests", os.path.basename(s)[:-4] + ".wasm")
            if have["HAVE_WAT2WASM"]:
                n.build(out, "wat2wasm", s)
                guests.append(out)
        for s in src["guests_c"]:
            out = rel("build", "guests", os.path.basename(s)[:-2] + ".wasm")
            if have["HAVE_WASI_SYSROOT"]:
                n.build(out, "wasicc", s)
                guests.append(out)
    manifest["guests"] = rel("build", "guests")
    man_path = rel(bdir, "test-manifest.json")
    write_if_changed(os.path.join(ROOT, man_path), json.dumps(manifest, indent=1) + "\n")
    return binary, tests, libs_sorted, link_libs


def emit_fuzz(n, have, src):
    """libFuzzer targets: the floors rebuilt with clang, fuzzer instrumentation and sanitizers."""
    if not (have["HAVE_LIBFUZZER"] and src["fuzz"]):
        return []
    bdir = "build/fuzz"
    cflags = ["-std=c17", "-D_GNU_SOURCE", "-Ibuild", "-I.", "-I" + LLHTTP_INC] + WARNINGS + \
        ["-Wno-gnu-label-as-value", "-O1", "-g", "-fno-omit-frame-pointer",
         "-fsanitize=fuzzer-no-link,address,undefined", "-fno-sanitize-recover=all",
         "-DTW_FUZZING=1"]
    if have["HAVE_CUDA_H"]:
        cflags.append("-isystem" + have["CUDA_INCLUDE"])
    n.var("cflags_fuzz", " ".join(cflags))
    libs = []
    for floor in FLOORS + ["llhttp"]:
        objs = []
        for s in src[floor]:
            o = obj_path(bdir, s)
            n.build(o, "fuzzcc", s, order_only=["build/version.h"],
                    cflags="$cflags_fuzz" + (" -w" if floor == "llhttp" else ""))
            objs.append(o)
        if objs:
            lib = rel(bdir, "lib", "libtw_%s.a" % floor)
            n.build(lib, "ar", objs)
            libs.append(lib)
    order = ["http", "jit", "gpu", "wasm", "metrics", "core", "llhttp"]
    libs = [l for f in order for l in libs if l.endswith("libtw_%s.a" % f)]
    outs = []
    for s in src["fuzz"]:
        o = obj_path(bdir, s)
        n.build(o, "fuzzcc", s, order_only=["build/version.h"], cflags="$cflags_fuzz")
        exe = rel(bdir, os.path.basename(s)[:-2])
        n.build(exe, "fuzzlink", [o], implicit=libs, libs=" ".join(libs + LIBS))
        outs.append(exe)
    n.w()
    return outs


def emit_bench_guests(n, have):
    """bench/guests/*.c -> build/guests/bench_NAME.wasm: the CPU-bound guests of bench-interp,
    which the instruction gate also runs at small sizes (bench/guest_bench.c). Returns them."""
    if not have["HAVE_WASI_SYSROOT"]:
        return []
    outs = []
    for s in listdir_c(os.path.join("bench", "guests")):
        out = rel("build", "guests", "bench_" + os.path.basename(s)[:-2] + ".wasm")
        n.build(out, "wasicc", s)
        outs.append(out)
    return outs


def emit_bench(n, args, cc, results, have):
    """bench/: the benchmark runner and its targets (bench, bench-report, perf-gate, perf-baseline).

    The runner is build/bench/tensor-wasm-bench, linked from every bench/*.c (the harness and each
    *_bench.c) with the release libraries. Its objects are linked directly, never archived, since
    benchmarks register themselves through a linker section that nothing else references. The
    compile and link lines also go to build/bench/build-info.json, which the perf-gate test uses
    to build a deliberately slowed runner of its own.
    """
    harness = listdir_c("bench", lambda f: not f.endswith(("_bench.c", "_test.c")))
    benches = listdir_c("bench", lambda f: f.endswith("_bench.c"))
    if not harness or "release" not in results:
        return
    bdir = "build" if args.mode == "release" else rel("build", "release")
    _, _, libs, link_libs = results["release"]
    objs = []
    for s in harness + benches:
        o = obj_path(bdir, s)
        n.build(o, "cc", s, order_only=["build/version.h"], cflags="$cflags_release")
        objs.append(o)
    runner = rel("build", "bench", "tensor-wasm-bench")
    n.build(runner, "link", objs, implicit=libs, libs=link_libs, ldflags="$ldflags_release")
    guests = emit_bench_guests(n, have)
    py = shlex.quote(sys.executable)
    n.build("bench", "run", implicit=[runner] + guests, cmd=runner,
            desc="BENCH (filter: TW_BENCH_FILTER)")
    n.build("bench-report", "run", implicit=[runner, "bench/report.py"] + guests,
            cmd="%s bench/report.py --dir build/bench --runner %s" % (py, runner),
            desc="BENCH-REPORT build/bench/report/index.html")
    gate = "%s bench/perf_gate.py --runner %s --baseline bench/baseline.json" % (py, runner)
    n.build("perf-gate", "run", implicit=[runner, "bench/perf_gate.py"] + guests, cmd=gate,
            desc="PERF-GATE")
    n.build("perf-baseline", "run", implicit=[runner, "bench/perf_gate.py"] + guests,
            cmd=gate + " --record", desc="PERF-BASELINE")
    # Interpreter vs native, node and wasm-interp on bench/guests/*.c, side by side.
    n.build("bench-interp", "run", implicit=["build/tensor-wasm", "bench/interp_vs_native.py"],
            cmd="%s bench/interp_vs_native.py --binary build/tensor-wasm" % py,
            desc="BENCH-INTERP")
    n.w()
    var = dict(l.split(" = ", 1) for l in n.lines if l.startswith(("cflags_release = ",
                                                                   "ldflags_release = ")))
    info = {"cc": cc, "cflags": shlex.split(var["cflags_release"]),
            "ldflags": shlex.split(var["ldflags_release"]), "libs": shlex.split(link_libs),
            "harness": harness, "benches": benches, "runner": runner}
    write_if_changed(os.path.join(ROOT, "build", "bench", "build-info.json"),
                     json.dumps(info, indent=1) + "\n")


def write_ninja(args, cc, have):
    src = sources()
    n = Ninja()
    n.w("# Generated by configure.py from: %s" % " ".join(shlex.quote(a) for a in sys.argv))
    n.w("# Edit configure.py, not this file; it re-runs itself when its inputs change.")
    n.w("ninja_required_version = 1.10")
    n.var("cc", cc)
    n.var("configure_args", " ".join(shlex.quote(a) for a in sys.argv[1:]
                                     if a != "--install-deps"))
    n.w()
    n.rule("cc", "$cc -MMD -MF $out.d $cflags -c $in -o $out", "CC $out", depfile="$out.d",
           deps="gcc")
    n.rule("fuzzcc", "clang -MMD -MF $out.d $cflags -c $in -o $out", "CC $out",
           depfile="$out.d", deps="gcc")
    n.rule("ar", "rm -f $out && ar crs $out $in", "AR $out")
    n.rule("link", "$cc $ldflags $in $libs -o $out", "LINK $out")
    n.rule("fuzzlink", "clang -fsanitize=fuzzer,address,undefined $in $libs -o $out",
           "LINK $out")
    n.rule("wat2wasm", "wat2wasm --enable-all $in -o $out", "WAT2WASM $out")
    n.rule("wasicc", "clang --target=wasm32-wasi --sysroot=/usr -O2 -Wall -Werror $in -o $out",
           "WASICC $out")
    n.rule("configure", "%s configure.py $configure_args" % shlex.quote(sys.executable),
           "CONFIGURE", generator="1", pool="console")
    n.rule("version", "%s configure.py --write-version $out" % shlex.quote(sys.executable),
           "VERSION $out", restat="1")
    n.rule("run", "$cmd", "$desc", pool="console")
    n.w()
    n.build("build.ninja", "configure", implicit=["configure.py"] + watched_dirs())
    n.build("build/version.h", "version", implicit=["always"])
    n.build("always", "phony")
    n.w()

    variants = [(args.mode, "build", True)]
    variants += [(m, rel("build", m), False) for m in ("release", "debug", "asan")
                 if m != args.mode]
    results = {}
    for mode, bdir, is_main in variants:
        if not is_main:
            write_config_h(os.path.join(ROOT, bdir, "config.h"), have, args, mode)
        results[mode] = emit_variant(n, mode, bdir, mode, cc, have, src, args, is_main)
    n.w()
    fuzzers = emit_fuzz(n, have, src)
    emit_bench(n, args, cc, results, have)

    main_bin, main_tests, _, _ = results[args.mode]
    guests = [l.split(": ")[0].split(" ", 1)[1] for l in n.lines
              if l.startswith("build build/guests/")]
    runner = "%s tests/run_tests.py" % shlex.quote(sys.executable)
    n.build("test", "run", implicit=[main_bin] + main_tests + guests + fuzzers +
            ["tests/run_tests.py"],
            cmd="%s --manifest build/test-manifest.json" % runner, desc="TEST")
    if "asan" in results and args.mode != "asan":
        abin, atests, _, _ = results["asan"]
        n.build("test-asan", "run", implicit=[abin] + atests + guests,
                cmd="%s --manifest build/asan/test-manifest.json" % runner, desc="TEST asan")
    if main_tests and results[args.mode][1]:
        spec = [t for t in main_tests if t.endswith("spec-runner")]
        if spec:
            n.build("spec", "run", implicit=[main_bin] + spec,
                    cmd="%s --manifest build/test-manifest.json --only spec" % runner,
                    desc="SPEC")
    n.build("fuzz", "phony", fuzzers)
    n.build("guests", "phony", guests)
    n.build("run", "run", implicit=[main_bin] + guests,
            cmd="%s serve --listen 127.0.0.1:8080 --preload build/guests/add.wasm:add" % main_bin,
            desc="RUN")
    n.build("all", "phony", [main_bin] + main_tests + guests + fuzzers)
    n.w("default %s" % main_bin)
    manifest_path = os.path.join(ROOT, "build", "test-manifest.json")
    with open(manifest_path) as f:
        man = json.load(f)
    man["fuzz"] = fuzzers
    write_if_changed(manifest_path, json.dumps(man, indent=1) + "\n")
    # Always rewrite: build.ninja depends on the source folders' mtimes, and ninja needs the
    # regenerated file to be newer than them even when its text did not change.
    with open(os.path.join(ROOT, "build.ninja"), "w") as f:
        f.write(n.text())


# ----------------------------------------------------------------------------------------------
# build/version.h: written at build time so the git sha follows commits.

def write_version(path):
    try:
        sha = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "-uno"],
                               capture_output=True, text=True).stdout.strip()
        if dirty:
            sha += "-dirty"
    except (subprocess.CalledProcessError, FileNotFoundError):
        sha = "unknown"
    text = ("/* Generated at build time by configure.py --write-version. */\n"
            "#ifndef TW_VERSION_H\n#define TW_VERSION_H\n"
            "#define TW_GIT_SHA %s\n#endif\n" % json.dumps(sha))
    write_if_changed(path, text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--install-deps", action="store_true",
                    help="install missing Debian packages with apt-get first")
    ap.add_argument("--mode", choices=sorted(MODES), default="release",
                    help="build mode of build/ (default release); the other modes are "
                    "available under build/<mode>/")
    ap.add_argument("--cc", default=os.environ.get("CC") or
                    ("clang" if shutil.which("clang") else "cc"),
                    help="C compiler (default: clang when present)")
    ap.add_argument("--spec-dir", default=os.environ.get("TW_SPEC_DIR",
                                                         "../shared/wasm-spec-testsuite"),
                    help="WebAssembly spec test suite (default ../shared/wasm-spec-testsuite)")
    ap.add_argument("--cuda-home", default=os.environ.get("CUDA_HOME", "/usr/local/cuda"),
                    help="CUDA toolkit, for cuda.h and ptxas (optional)")
    ap.add_argument("--write-version", metavar="PATH", help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.chdir(ROOT)
    if args.write_version:
        write_version(args.write_version)
        return
    if args.install_deps:
        install_deps()
    cc = args.cc
    if shutil.which(cc) is None:
        sys.exit("configure: C compiler %r not found (try --install-deps)" % cc)
    log("compiler %s, mode %s" % (cc, args.mode))
    have = probe(args, cc)
    write_config_h(os.path.join(ROOT, "build", "config.h"), have, args, args.mode)
    write_version(os.path.join(ROOT, "build", "version.h"))
    write_ninja(args, cc, have)
    log("wrote build/config.h and build.ninja; now run: ninja")


if __name__ == "__main__":
    main()
