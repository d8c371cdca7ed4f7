#!/usr/bin/env python3
"""Run every TensorWasm test suite of one build variant and print one closing summary line.

    tests/run_tests.py --manifest build/test-manifest.json [--only SUITE[,SUITE]] [-k PATTERN]

Suites, in order:
  unit         the Criterion programs (core/*_test.c, tests/unit/*_test.c, ...)
  spec         the WebAssembly spec suite runner (tests/spec/), skipped with a reason when the
               suite is absent (its location: TW_SPEC_DIR or configure --spec-dir)
  integration  Python unittest modules in tests/integration/ against the real binary
  fuzz         a short smoke run of each libFuzzer target over its seed corpus

The last line is "tests: N passed, N failed, N skipped"; the exit status is 1 when anything failed.
Integration tests find what they need in the environment: TW_BINARY (the tensor-wasm binary),
TW_BUILD_DIR, TW_GUESTS_DIR (compiled guest programs) and TW_SPEC_DIR.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Test modules are imported from watched source folders: a __pycache__ appearing there would
# change the folder's mtime and make ninja re-run configure.py on the next build.
sys.dont_write_bytecode = True


class Totals:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.failures = []

    def add(self, suite, passed, failed, skipped=0, failure_names=()):
        self.passed += passed
        self.failed += failed
        self.skipped += skipped
        self.failures += ["%s: %s" % (suite, n) for n in failure_names]


def say(msg):
    print(msg, flush=True)


SYNTHESIS = re.compile(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| "
                       r"Crashing: (\d+)")


def run_unit(man, totals, pattern):
    for exe in man["unit"]:
        name = os.path.basename(exe)
        if pattern and pattern not in name:
            continue
        t0 = time.monotonic()
        r = subprocess.run([os.path.join(ROOT, exe), "-j2"], cwd=ROOT, capture_output=True,
                           text=True, errors="replace")
        out = r.stdout + r.stderr
        m = SYNTHESIS.search(out)
        if not m:
            say(out)
            say("unit %-32s CRASHED (exit %d, no synthesis)" % (name, r.returncode))
            totals.add("unit", 0, 1, failure_names=[name])
            continue
        tested, passing, failing, crashing = map(int, m.groups())
        bad = failing + crashing
        if bad or r.returncode != 0:
            say(out)
        say("unit %-32s %d passed, %d failed (%.1fs)" % (name, passing, bad,
                                                        time.monotonic() - t0))
        totals.add("unit", passing, bad or (1 if r.returncode else 0),
                   failure_names=[name] if bad or r.returncode else [])


SPEC_LINE = re.compile(r"^spec: (\d+) passed, (\d+) failed, (\d+) skipped", re.M)


def run_spec(man, totals, pattern):
    spec_dir = os.environ.get("TW_SPEC_DIR") or man["spec_dir"]
    spec_dir = os.path.normpath(os.path.join(ROOT, spec_dir))
    if not man.get("spec"):
        say("spec: SKIPPED: the spec runner is not built")
        return
    if not os.path.isdir(spec_dir):
        say("spec: SKIPPED: the WebAssembly spec suite was not found at %s "
            "(set TW_SPEC_DIR or ./configure.py --spec-dir=DIR)" % spec_dir)
        totals.add("spec", 0, 0, 1)
        return
    if not man["have"].get("HAVE_WAST2JSON"):
        say("spec: SKIPPED: wast2json (package wabt) is not installed")
        totals.add("spec", 0, 0, 1)
        return
    cmd = [os.path.join(ROOT, man["spec"]), "--spec-dir", spec_dir, "--work-dir",
           os.path.join(ROOT, os.path.dirname(man["spec"]), "spec-json")]
    if pattern:
        cmd += ["--filter", pattern]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, errors="replace")
    out = r.stdout + r.stderr
    sys.stdout.write(out)
    m = None
    for m in SPEC_LINE.finditer(out):
        pass
    if not m:
        say("spec: runner ended without a summary (exit %d)" % r.returncode)
        totals.add("spec", 0, 1, failure_names=["spec-runner"])
        return
    p, f, s = map(int, m.groups())
    totals.add("spec", p, f, s, ["spec-runner"] if f else [])
    if r.returncode != 0 and f == 0:
        totals.add("spec", 0, 1, failure_names=["spec-runner exit %d" % r.returncode])


def run_integration(man, totals, pattern):
    if not man["integration"]:
        return
    os.environ["TW_BINARY"] = os.path.join(ROOT, man["binary"])
    os.environ["TW_BUILD_DIR"] = os.path.join(ROOT, os.path.dirname(man["binary"]))
    os.environ["TW_GUESTS_DIR"] = os.path.join(ROOT, man["guests"])
    os.environ.setdefault("TW_SPEC_DIR", os.path.normpath(os.path.join(ROOT, man["spec_dir"])))
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    loader = unittest.TestLoader()
    if pattern:
        loader.testNamePatterns = ["*%s*" % pattern]
    for path in man["integration"]:
        modname = os.path.basename(path)[:-3]
        suite = loader.loadTestsFromName(modname)
        t0 = time.monotonic()
        runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=1)
        res = runner.run(suite)
        bad = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
        skipped = len(res.skipped)
        passed = res.testsRun - bad - skipped
        names = [str(t) for t, _ in res.failures + res.errors]
        say("integration %-25s %d passed, %d failed, %d skipped (%.1fs)" %
            (modname, passed, bad, skipped, time.monotonic() - t0))
        totals.add("integration", passed, bad, skipped, names)


def run_fuzz(man, totals, pattern):
    seconds = int(os.environ.get("TW_FUZZ_SMOKE_SECONDS", "10"))
    for exe in man.get("fuzz", []):
        name = os.path.basename(exe)
        if pattern and pattern not in name:
            continue
        seeds = os.path.join(ROOT, "tests", "fuzz", "corpus", name[len("fuzz_"):])
        work = tempfile.mkdtemp(prefix="tw-fuzz-")
        cmd = [os.path.join(ROOT, exe), "-max_total_time=%d" % seconds, "-timeout=10",
               "-rss_limit_mb=2048", "-artifact_prefix=" + work + "/", work]
        if os.path.isdir(seeds):
            cmd.append(seeds)
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, errors="replace")
        ok = r.returncode == 0
        if not ok:
            say(r.stderr[-4000:])
        runs = re.findall(r"#(\d+)\s+DONE", r.stderr)
        say("fuzz %-32s %s (%s runs in %ds)" % (name, "ok" if ok else "FAILED",
                                                 runs[-1] if runs else "?", seconds))
        totals.add("fuzz", 1 if ok else 0, 0 if ok else 1, failure_names=[] if ok else [name])
        shutil.rmtree(work, ignore_errors=True)


SUITES = {"unit": run_unit, "spec": run_spec, "integration": run_integration, "fuzz": run_fuzz}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--manifest", default="build/test-manifest.json")
    ap.add_argument("--only", help="comma-separated suites: " + ",".join(SUITES))
    ap.add_argument("-k", dest="pattern", help="run only tests whose name contains PATTERN")
    args = ap.parse_args()
    with open(os.path.join(ROOT, args.manifest)) as f:
        man = json.load(f)
    only = args.only.split(",") if args.only else list(SUITES)
    totals = Totals()
    t0 = time.monotonic()
    for name in SUITES:
        if name in only:
            SUITES[name](man, totals, args.pattern)
    if totals.failures:
        say("failed:")
        for n in totals.failures:
            say("  " + n)
    say("ran in %.1fs (%s build)" % (time.monotonic() - t0, man["mode"]))
    say("tests: %d passed, %d failed, %d skipped" % (totals.passed, totals.failed,
                                                    totals.skipped))
    sys.exit(1 if totals.failed else 0)


if __name__ == "__main__":
    main()
