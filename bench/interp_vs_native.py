#!/usr/bin/env python3
"""Interpreter speed, side by side: each CPU-bound C program in bench/guests/ built natively with
`gcc -O2` and for wasm32-wasi with `clang -O2`, run in one invocation by native code, tensor-wasm,
and for context Node's V8 and wabt's wasm-interp. Prints a table of medians and ratios to native
and their geometric means; writes build/bench-interp/results.json.

    bench/interp_vs_native.py [--runs N] [--peers node,wasm-interp] [--binary build/tensor-wasm]
    ninja bench-interp

Runs are interleaved (round r runs every runtime once, in turn), so drift in the machine's load
falls on all of them alike. Each run records the child's wall time and its CPU time (user + system,
from wait4): on a shared machine with more runnable threads than cores the wall time includes
waiting for a core, the CPU time does not, so the CPU-time ratios are the ones to read there and
the wall-time ratios on a quiet machine. Every program's output is checked to be identical across
runtimes. Arguments are chosen so native code runs for ~0.1 s or more and process start-up does
not decide the ratio. wasm-interp is ~100x slower than native, so it runs once per program.

Each program is also built natively against musl, statically ("native-musl"; musl-gcc, Debian's
musl-tools, which configure.py --install-deps installs). The wasm build links wasi-libc, which is
musl's code, so that native build runs the same C source as the wasm build, C library included:
the ratio to it is what the engine costs. The ratio to the glibc build ("native") also counts
the difference between two C libraries (glibc's printf and string functions are tuned by hand
and several times faster than musl's), so the goal (geomean <= 6x, none worse than 10x) is
judged against native-musl and the script prints both.
"""
import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUESTS = os.path.join(ROOT, "bench", "guests")
OUT = os.path.join(ROOT, "build", "bench-interp")

NODE_RUNNER = r"""
const { WASI } = require('node:wasi');
const fs = require('node:fs');
const wasi = new WASI({ version: 'preview1', args: process.argv.slice(2), env: {} });
const mod = new WebAssembly.Module(fs.readFileSync(process.argv[2]));
const inst = new WebAssembly.Instance(mod, wasi.getImportObject());
wasi.start(inst);
"""


def build(name):
    src = os.path.join(GUESTS, name + ".c")
    native = os.path.join(OUT, name)
    wasm = os.path.join(OUT, name + ".wasm")
    subprocess.run(["gcc", "-O2", src, "-o", native], check=True)
    subprocess.run(["clang", "--target=wasm32-wasi", "--sysroot=/usr", "-O2", src, "-o", wasm],
                   check=True)
    if shutil.which("musl-gcc"):
        subprocess.run(["musl-gcc", "-O2", "-static", src, "-o", native + "-musl"], check=True)
    return native, wasm


# Arguments per program (the programs' own defaults otherwise): enough work that native code
# runs for ~0.1 s.
ARGS = {"fib": ["38"]}


def run_one(cmd):
    """Runs cmd; returns (wall seconds, CPU seconds of the child, its stdout). The child is
    reaped by communicate(), so its usage is the increase of RUSAGE_CHILDREN (the script runs
    one child at a time)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, err[-500:]))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--peers", default="node,wasm-interp",
                    help="comma-separated context runtimes: node, wasm-interp (or empty)")
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "tensor-wasm"))
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    peers = [p for p in args.peers.split(",") if p]
    runner_js = os.path.join(OUT, "run_wasi.js")
    with open(runner_js, "w") as f:
        f.write(NODE_RUNNER)
    engines = {"native": None, "tensor-wasm": [args.binary, "run"]}
    if shutil.which("musl-gcc"):
        engines = {"native": None, "native-musl": "musl", "tensor-wasm": [args.binary, "run"]}
    else:
        print("native-musl: left out: musl-gcc not found (Debian package musl-tools; "
              "./configure.py --install-deps installs it); the goal is judged against it, so "
              "only the glibc ratios follow")
    if "node" in peers and shutil.which("node"):
        engines["node"] = ["node", "--no-warnings", runner_js]
    names = sorted(f[:-2] for f in os.listdir(GUESTS) if f.endswith(".c"))
    if "wasm-interp" in peers and shutil.which("wasm-interp"):
        _, probe = build(names[0])
        r = subprocess.run(["wasm-interp", "--wasi", probe], capture_output=True, text=True)
        if "not compiled in" in r.stderr:
            print("wasm-interp: left out: this build of wabt has no WASI support "
                  "(\"%s\")" % r.stderr.strip())
        else:
            engines["wasm-interp"] = ["wasm-interp", "--wasi"]
    results = {}
    for name in names:
        native, wasm = build(name)
        extra = ARGS.get(name, [])
        cmds = {eng: ([native] if prefix is None else [native + "-musl"] if prefix == "musl"
                      else prefix + [wasm]) + extra
                for eng, prefix in engines.items()}
        samples = {eng: {"wall": [], "cpu": []} for eng in engines}
        expected = None
        for r in range(args.runs):
            for eng, cmd in cmds.items():
                if eng == "wasm-interp" and r > 0:
                    continue
                wall, cpu, out = run_one(cmd)
                if expected is None:
                    expected = out
                elif out != expected:
                    raise RuntimeError("%s printed %r under %s, %r natively" %
                                       (name, out, eng, expected))
                samples[eng]["wall"].append(wall)
                samples[eng]["cpu"].append(cpu)
        row = {}
        for eng, smp in samples.items():
            row[eng] = {"median_s": statistics.median(smp["wall"]),
                        "median_cpu_s": statistics.median(smp["cpu"]),
                        "runs": smp["wall"], "cpu_runs": smp["cpu"]}
            print("  %-8s %-12s wall %.3f s, cpu %.3f s (medians of %d)" %
                  (name, eng, row[eng]["median_s"], row[eng]["median_cpu_s"],
                   len(smp["wall"])), flush=True)
        results[name] = row
    cols = [e for e in engines if e != "native"]
    geo = {}
    for key, label in (("median_cpu_s", "CPU time"), ("median_s", "wall time")):
        print()
        print("%s, medians (s) and ratios to native:" % label)
        print()
        print("| program | native | " + " | ".join("%s | x native" % c for c in cols) + " |")
        print("|---|---:|" + "---:|---:|" * len(cols))
        logs = {c: [] for c in cols}
        for name in names:
            nat = results[name]["native"][key]
            cells = ["%.3f" % nat]
            for c in cols:
                t = results[name][c][key]
                ratio = t / nat if nat > 0 else float("inf")
                logs[c].append(math.log(ratio))
                cells += ["%.3f" % t, "%.1f" % ratio]
            print("| %s | %s |" % (name, " | ".join(cells)))
        geo[key] = {c: math.exp(sum(v) / len(v)) for c, v in logs.items() if v}
        print("| **geomean** | | " + " | ".join("| **%.1f**" % geo[key][c] for c in cols) + " |")
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"runs": args.runs, "args": ARGS, "results": results,
                   "geomean_x_native": geo["median_s"],
                   "geomean_cpu_x_native": geo["median_cpu_s"]}, f, indent=1)
    print()
    baselines = [b for b in ("native-musl", "native") if b in engines]
    for base in baselines:
        what = ("the same C source on both sides, C library included" if base == "native-musl"
                else "glibc: also counts glibc's faster printf and string functions")
        print("tensor-wasm / %s (%s):" % (base, what))
        for key, label in (("median_s", "wall time"), ("median_cpu_s", "CPU time")):
            ratios = {n: results[n]["tensor-wasm"][key] / results[n][base][key] for n in names}
            gm = math.exp(sum(math.log(r) for r in ratios.values()) / len(ratios))
            worst = max(ratios, key=ratios.get)
            verdict = ""
            if base == baselines[0]:
                verdict = "  goal (geomean <= 6x, none > 10x): %s" % (
                    "met" if gm <= 6 and ratios[worst] <= 10 else "NOT met")
            print("  %-9s " % label + ", ".join("%s %.1fx" % (n, r) for n, r in ratios.items()) +
                  "; geomean %.1fx, worst %.1fx (%s)%s" % (gm, ratios[worst], worst, verdict))


if __name__ == "__main__":
    sys.exit(main())
