#!/usr/bin/env python3
"""Interpreter speed, side by side: each CPU-bound C program in bench/guests/ built natively with
`gcc -O2` and for wasm32-wasi with `clang -O2`, run in one session by native code, tensor-wasm,
and for context Node's V8 and wabt's wasm-interp. Prints a table of medians and ratios to native
and their geometric means; writes build/bench-interp/results.json.

    bench/interp_vs_native.py [--runs N] [--peers node,wasm-interp] [--binary build/tensor-wasm]
    ninja bench-interp

Wall-clock times on a shared machine wander; run it on a quiet one and read the ratios, which are
measured in the same session. Every program's output is checked to be identical across runtimes.
wasm-interp is ~100x slower than native, so it runs once per program (--peers to leave it out).
"""
import argparse
import json
import math
import os
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
const wasi = new WASI({ version: 'preview1', args: [process.argv[2]], env: {} });
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
    return native, wasm


def timed(cmd):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr[-500:]))
    return dt, r.stdout


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
        row = {}
        expected = None
        for eng, prefix in engines.items():
            cmd = [native] if prefix is None else prefix + [wasm]
            runs = 1 if eng == "wasm-interp" else args.runs
            times = []
            for _ in range(runs):
                dt, out = timed(cmd)
                if expected is None:
                    expected = out
                elif out != expected:
                    raise RuntimeError("%s printed %r under %s, %r natively" %
                                       (name, out, eng, expected))
                times.append(dt)
            row[eng] = {"median_s": statistics.median(times), "runs": times}
            print("  %-8s %-12s median %.3f s over %d run(s)" %
                  (name, eng, row[eng]["median_s"], runs), flush=True)
        results[name] = row
    cols = [e for e in engines if e != "native"]
    print()
    print("| program | native (s) | " + " | ".join("%s (s) | x native" % c for c in cols) + " |")
    print("|---|---:|" + "---:|---:|" * len(cols))
    logs = {c: [] for c in cols}
    for name in names:
        nat = results[name]["native"]["median_s"]
        cells = ["%.3f" % nat]
        for c in cols:
            t = results[name][c]["median_s"]
            ratio = t / nat if nat > 0 else float("inf")
            logs[c].append(math.log(ratio))
            cells += ["%.3f" % t, "%.1f" % ratio]
        print("| %s | %s |" % (name, " | ".join(cells)))
    geo = {c: math.exp(sum(v) / len(v)) for c, v in logs.items() if v}
    print("| **geomean** | | " + " | ".join("| **%.1f**" % geo[c] for c in cols) + " |")
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"runs": args.runs, "results": results, "geomean_x_native": geo}, f, indent=1)
    worst = max(results[n]["tensor-wasm"]["median_s"] / results[n]["native"]["median_s"]
                for n in names)
    print("\ntensor-wasm: geomean %.1fx native (goal <= 6x), worst %.1fx (goal <= 10x)" %
          (geo["tensor-wasm"], worst))


if __name__ == "__main__":
    sys.exit(main())
