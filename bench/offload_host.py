#!/usr/bin/env python3
"""Loop offload in host mode vs the interpreter, side by side: each kernel of
tests/guests/offload_bench.c run by `tensor-wasm run` with --offload=off and --offload=host over
several lengths, REPS chosen so every row covers about the same number of elements. Prints a
table of best-of-N wall times per element and the speedup; checks both modes print the same
checksum.

    bench/offload_host.py [--runs N] [--binary build/tensor-wasm] [--elements E] [--sizes a,b]

Each row times REPS and 2*REPS repetitions (best of --runs each) and reports
(time(2*REPS) - time(REPS)) / (N * REPS): process start, the guest's set-up and the per-call
dispatch of the first REPS cancel out, so what remains is the loop itself, dispatch included.
"""
import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(binary, guest, mode, args, runs):
    best, out = None, None
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run([binary, "run", "--offload=" + mode, "--max-memory-pages=1024",
                            guest] + [str(a) for a in args], capture_output=True, text=True)
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            sys.exit("failed: %s %s: %s" % (mode, args, r.stderr))
        best = dt if best is None else min(best, dt)
        out = r.stdout
    return best, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "tensor-wasm"))
    ap.add_argument("--guest", default=os.path.join(ROOT, "build", "guests", "offload_bench.wasm"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--elements", type=int, default=8 << 20)
    ap.add_argument("--sizes", default="64,1024,16384,262144,1048576")
    args = ap.parse_args()
    print("%-7s %8s %6s %12s %12s %8s" % ("kernel", "n", "reps", "interp ns/el", "host ns/el",
                                          "speedup"))
    for kernel in ("saxpy", "iarith", "clamp", "dot"):
        for n in [int(x) for x in args.sizes.split(",")]:
            reps = max(1, args.elements // n)
            base = {}
            row = {}
            for mode in ("off", "host"):
                t1, out = timed(args.binary, args.guest, mode, [kernel, n, reps], args.runs)
                t2, _ = timed(args.binary, args.guest, mode, [kernel, n, 2 * reps], args.runs)
                base[mode] = out
                row[mode] = max(t2 - t1, 1e-9) / (n * reps) * 1e9
            if base["off"] != base["host"]:
                sys.exit("outputs differ: %r vs %r" % (base["off"], base["host"]))
            print("%-7s %8d %6d %12.2f %12.2f %7.1fx" % (kernel, n, reps, row["off"], row["host"],
                                                       row["off"] / row["host"]))


if __name__ == "__main__":
    main()
