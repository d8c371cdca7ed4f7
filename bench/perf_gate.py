#!/usr/bin/env python3
"""The performance gate: instructions per iteration under callgrind against bench/baseline.json.

    bench/perf_gate.py --runner build/bench/tensor-wasm-bench [--baseline bench/baseline.json]
                       [--record [--machine-note TEXT] [--no-wall]] [--strict] [PATTERN...]

Wall-clock time on shared machines wanders by tens of percent, so the gate counts instructions
instead: the runner's --callgrind mode runs each benchmark for n and 2n iterations between
callgrind client requests, under `valgrind --tool=callgrind --collect-atstart=no`, with a fixed
environment. Instructions per iteration = (Ir(2n) - Ir(n)) / n, which cancels the fixed cost of
the call and of the loop set-up, and repeats exactly for the same binary on the same kind of CPU.

Gate (default): prints a table of every id (baseline, now, change, limit, status) and exits 1
when an id exceeds baseline * (1 + tolerance). Ids without a baseline are reported as NEW and
only fail with --strict; ids in the baseline that were not run are listed as not run.
Record (--record): measures the selected ids (all by default; TW_BENCH_FILTER or PATTERN narrow
it), plus a short wall-clock run for their median time and the machine it came from, and merges
them into the baseline file. Other ids keep their entries; re-recorded ids keep their tolerance.
Exit status: 0 pass, 1 regression, 2 the gate could not run.

Only Python's standard library is used.
"""

import argparse
import datetime
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_TOLERANCE = 0.05
FORMAT = "tensor-wasm-baseline/1"
TRIGGER = re.compile(r"^desc: Trigger: Client Request: tw-bench id=(\S+) iters=(\d+)\s*$", re.M)
TOTALS = re.compile(r"^(?:totals|summary): (\d+)", re.M)


class GateError(Exception):
    pass


# ---- measuring ---------------------------------------------------------------------------------

def clean_env():
    """The environment the runner sees under valgrind: fixed, so that code reading it (option
    parsing scans the environment) costs the same everywhere."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}


def run_callgrind(runner, patterns, work_dir):
    """Run the runner's --callgrind mode under valgrind; return {id: Ir per iteration}."""
    if shutil.which("valgrind") is None:
        raise GateError("valgrind is not installed (Debian package valgrind)")
    if not os.access(runner, os.X_OK):
        raise GateError("runner %s is not built (ninja %s)" % (runner, runner))
    os.makedirs(work_dir, exist_ok=True)
    for f in glob.glob(os.path.join(work_dir, "callgrind.out*")):
        os.remove(f)
    cmd = ["valgrind", "--tool=callgrind", "--collect-atstart=no",
           "--callgrind-out-file=" + os.path.join(work_dir, "callgrind.out"),
           stripped_copy(runner, work_dir), "--callgrind"] + list(patterns)
    r = subprocess.run(cmd, env=clean_env(), capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        raise GateError("%s failed (exit %d):\n%s%s" % (" ".join(cmd), r.returncode,
                                                       r.stdout[-2000:], r.stderr[-4000:]))
    counts = parse_dumps(work_dir)
    if not counts:
        raise GateError("no benchmark dumps in %s (no id matched %s?)" %
                        (work_dir, " ".join(patterns) or "anything"))
    return per_iteration(counts)


def stripped_copy(runner, work_dir):
    """The runner without debug information. Valgrind 3.19 gives up on some DWARF 5 forms that
    clang 14 emits, and instruction counts need no debug information, only symbols."""
    if shutil.which("objcopy") is None:
        return os.path.abspath(runner)
    out = os.path.join(work_dir, "tensor-wasm-bench.stripped")
    r = subprocess.run(["objcopy", "--strip-debug", runner, out], capture_output=True, text=True)
    if r.returncode != 0:
        raise GateError("objcopy --strip-debug %s failed: %s" % (runner, r.stderr))
    return out


def parse_dump(text):
    """(id, iters, Ir) of one callgrind dump written by the runner, or None for other dumps
    (the one at program exit)."""
    m = TRIGGER.search(text)
    t = TOTALS.search(text)
    if not m or not t:
        return None
    return m.group(1), int(m.group(2)), int(t.group(1))


def parse_dumps(work_dir):
    """{id: {iters: Ir}} from every dump file in work_dir."""
    counts = {}
    for path in sorted(glob.glob(os.path.join(work_dir, "callgrind.out*"))):
        with open(path, errors="replace") as f:
            got = parse_dump(f.read())
        if got:
            bid, iters, ir = got
            counts.setdefault(bid, {})[iters] = ir
    return counts


def per_iteration(counts):
    """Ir per iteration from the two runs of each id: the difference cancels fixed costs."""
    out = {}
    for bid, runs in counts.items():
        if len(runs) < 2:
            raise GateError("%s: expected two fixed-count runs, got %s" % (bid, sorted(runs)))
        lo, hi = min(runs), max(runs)
        out[bid] = round((runs[hi] - runs[lo]) / (hi - lo), 3)
    return out


def run_wall(runner, patterns, out_dir):
    """A short wall-clock run for the baseline's human-facing median; {id: (median_ns, machine)}."""
    cmd = [os.path.abspath(runner), "--out-dir", out_dir, "--warm-up-ms", "200",
           "--measure-ms", "1000"] + list(patterns)
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        raise GateError("wall-clock run failed (exit %d):\n%s" % (r.returncode, r.stderr[-4000:]))
    out = {}
    for path in glob.glob(os.path.join(out_dir, "**", "new.json"), recursive=True):
        with open(path) as f:
            run = json.load(f)
        out[run["id"]] = (run["estimates"]["median_ns"], run["machine"])
    return out


# ---- comparing ---------------------------------------------------------------------------------

def load_baseline(path):
    if not os.path.exists(path):
        return {"format": FORMAT, "tolerance_default": DEFAULT_TOLERANCE, "benchmarks": {}}
    with open(path) as f:
        base = json.load(f)
    if base.get("format") != FORMAT:
        raise GateError("%s: unknown format %r" % (path, base.get("format")))
    return base


def compare(baseline, now, strict=False, ran_all=True):
    """Rows (id, base Ir, now Ir, change, tolerance, status) for every id, and whether the gate
    fails. `now` holds the measured ids; `ran_all` says whether every registered id was run, so
    that baseline ids missing from `now` mean a removed benchmark rather than a filter."""
    entries = baseline.get("benchmarks", {})
    default_tol = baseline.get("tolerance_default", DEFAULT_TOLERANCE)
    rows, failed = [], False
    for bid in sorted(set(entries) | set(now)):
        e = entries.get(bid)
        if bid not in now:
            if ran_all:
                rows.append((bid, e["instructions_per_iter"], None, None,
                             e.get("tolerance", default_tol), "not run (removed?)"))
            continue
        cur = now[bid]
        if e is None:
            status = "NEW: record with ninja perf-baseline"
            failed |= strict
            rows.append((bid, None, cur, None, default_tol, status))
            continue
        base, tol = e["instructions_per_iter"], e.get("tolerance", default_tol)
        change = (cur - base) / base if base > 0 else (0.0 if cur == 0 else float("inf"))
        if cur > base * (1 + tol):
            status = "REGRESSED"
            failed = True
        elif cur < base * (1 - tol):
            status = "improved: consider ninja perf-baseline"
        else:
            status = "ok"
        rows.append((bid, base, cur, change, tol, status))
    return rows, failed


def format_table(rows, baseline=None):
    entries = (baseline or {}).get("benchmarks", {})
    head = "%-32s %14s %14s %9s %7s %12s  %s" % ("id", "baseline Ir/it", "now Ir/it", "change",
                                                "limit", "base wall", "status")
    lines = [head, "-" * len(head)]
    for bid, base, cur, change, tol, status in rows:
        wall = entries.get(bid, {}).get("wall_median_ns")
        lines.append("%-32s %14s %14s %9s %7s %12s  %s" % (
            bid, "-" if base is None else "%.2f" % base, "-" if cur is None else "%.2f" % cur,
            "-" if change is None else "%+.2f%%" % (100 * change), "+%.1f%%" % (100 * tol),
            "-" if wall is None else "%.1f ns" % wall, status))
    return "\n".join(lines)


def record(baseline, now, wall, note, git):
    """Merge measurements into the baseline (a new dict); other ids are kept."""
    out = json.loads(json.dumps(baseline))
    out["format"] = FORMAT
    out.setdefault("tolerance_default", DEFAULT_TOLERANCE)
    out.setdefault("comment", "Instructions per iteration under callgrind (bench/perf_gate.py); "
                   "re-record with ninja perf-baseline in a reviewed commit. Wall-clock medians "
                   "are for people, from the machine named beside them.")
    entries = out.setdefault("benchmarks", {})
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    for bid, ir in now.items():
        old = entries.get(bid, {})
        e = {"instructions_per_iter": ir,
             "tolerance": old.get("tolerance", out["tolerance_default"]),
             "recorded": today, "git": git}
        if "tolerance_reason" in old:
            e["tolerance_reason"] = old["tolerance_reason"]
        if bid in wall:
            median, machine = wall[bid]
            e["wall_median_ns"] = round(median, 3)
            e["wall_machine"] = machine + (" (%s)" % note if note else "")
        entries[bid] = e
    out["benchmarks"] = dict(sorted(entries.items()))
    return out


def git_sha():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "unknown"


def list_ids(runner):
    r = subprocess.run([os.path.abspath(runner), "--list"], env=clean_env(), capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise GateError("%s --list failed: %s" % (runner, r.stderr))
    return r.stdout.split()


# ---- main ----------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runner", default="build/bench/tensor-wasm-bench")
    ap.add_argument("--baseline", default=os.path.join(ROOT, "bench", "baseline.json"))
    ap.add_argument("--work-dir", help="where callgrind writes its dumps "
                    "(default: a callgrind folder beside the runner)")
    ap.add_argument("--record", action="store_true", help="re-record the baseline")
    ap.add_argument("--no-wall", action="store_true", help="with --record: skip the wall-clock run")
    ap.add_argument("--machine-note", default=os.environ.get("TW_BENCH_MACHINE_NOTE", ""),
                    help="with --record: words added to the machine description")
    ap.add_argument("--strict", action="store_true", help="fail on ids without a baseline")
    ap.add_argument("patterns", nargs="*", help="ids to run (substring or glob); default "
                    "TW_BENCH_FILTER, else all")
    args = ap.parse_args(argv)
    patterns = args.patterns or os.environ.get("TW_BENCH_FILTER", "").replace(",", " ").split()
    work = args.work_dir or os.path.join(os.path.dirname(os.path.abspath(args.runner)),
                                         "callgrind")
    try:
        baseline = load_baseline(args.baseline)
        now = run_callgrind(args.runner, patterns, work)
        if args.record:
            wall = {}
            if not args.no_wall:
                wall_dir = tempfile.mkdtemp(prefix="tw-bench-wall-")
                try:
                    wall = run_wall(args.runner, patterns, wall_dir)
                finally:
                    shutil.rmtree(wall_dir, ignore_errors=True)
            out = record(baseline, now, wall, args.machine_note, git_sha())
            with open(args.baseline + ".tmp", "w") as f:
                json.dump(out, f, indent=2)
                f.write("\n")
            os.replace(args.baseline + ".tmp", args.baseline)
            rows, _ = compare(baseline, now, ran_all=False)
            print(format_table(rows, baseline))
            print("perf-baseline: recorded %d ids into %s; commit it with the reason for the "
                  "change" % (len(now), args.baseline))
            return 0
        rows, failed = compare(baseline, now, strict=args.strict, ran_all=not patterns)
        print(format_table(rows, baseline))
        bad = [r[0] for r in rows if r[5] == "REGRESSED"]
        if failed:
            print("perf-gate: FAILED: %s" % (", ".join(bad) if bad else
                                             "ids without a baseline (--strict)"))
            return 1
        print("perf-gate: ok (%d ids within tolerance)" % len(now))
        return 0
    except GateError as e:
        print("perf-gate: cannot run: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
