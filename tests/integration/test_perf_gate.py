"""The performance gate (bench/perf_gate.py): its arithmetic, and proof that it can fail.

The end-to-end part builds two benchmark runners from bench/*.c with the release build's compile
line (build/bench/build-info.json, written by configure.py): a normal one, and one compiled with
-DTW_BENCH_SLOWDOWN, which makes core/hash64/64 hash its input twice. The gate must accept the
normal runner (against a baseline recorded from it, and against the committed
bench/baseline.json) and reject the slowed one. Needs valgrind; skipped with a reason otherwise.
"""

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.dont_write_bytecode = True  # a bench/__pycache__ would make ninja re-run configure.py
import perf_gate  # noqa: E402

SLOWED_ID = "core/hash64/64"


def gate(*argv):
    """Run perf_gate.main with argv; (exit status, printed text)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        rc = perf_gate.main(list(argv))
    return rc, out.getvalue()


class GateArithmetic(unittest.TestCase):
    BASE = {"format": perf_gate.FORMAT, "tolerance_default": 0.05, "benchmarks": {
        "a/x": {"instructions_per_iter": 100.0, "tolerance": 0.05},
        "a/y": {"instructions_per_iter": 200.0},
        "a/gone": {"instructions_per_iter": 50.0},
    }}

    def status(self, rows, bid):
        return next(r[5] for r in rows if r[0] == bid)

    def test_within_tolerance_passes(self):
        rows, failed = perf_gate.compare(self.BASE, {"a/x": 105.0, "a/y": 190.0}, ran_all=False)
        self.assertFalse(failed)
        self.assertEqual(self.status(rows, "a/x"), "ok")
        self.assertEqual(self.status(rows, "a/y"), "ok")

    def test_over_tolerance_fails(self):
        rows, failed = perf_gate.compare(self.BASE, {"a/x": 105.1, "a/y": 200.0}, ran_all=False)
        self.assertTrue(failed)
        self.assertEqual(self.status(rows, "a/x"), "REGRESSED")
        row = next(r for r in rows if r[0] == "a/x")
        self.assertAlmostEqual(row[3], 0.051)
        self.assertIn("REGRESSED", perf_gate.format_table(rows, self.BASE))

    def test_improvement_and_new_ids_do_not_fail_unless_strict(self):
        now = {"a/x": 80.0, "a/y": 200.0, "a/new": 7.0}
        rows, failed = perf_gate.compare(self.BASE, now, ran_all=True)
        self.assertFalse(failed)
        self.assertTrue(self.status(rows, "a/x").startswith("improved"))
        self.assertTrue(self.status(rows, "a/new").startswith("NEW"))
        self.assertTrue(self.status(rows, "a/gone").startswith("not run"))
        _, failed = perf_gate.compare(self.BASE, now, strict=True)
        self.assertTrue(failed)

    def test_record_merges_and_keeps_tolerance(self):
        out = perf_gate.record(self.BASE, {"a/x": 90.0, "b/z": 3.0},
                               {"b/z": (1.25, "Some CPU, 2 CPUs")}, "shared VM", "abc")
        self.assertEqual(out["benchmarks"]["a/x"]["instructions_per_iter"], 90.0)
        self.assertEqual(out["benchmarks"]["a/x"]["tolerance"], 0.05)
        self.assertEqual(out["benchmarks"]["a/y"]["instructions_per_iter"], 200.0)
        self.assertEqual(out["benchmarks"]["b/z"]["wall_machine"], "Some CPU, 2 CPUs (shared VM)")
        self.assertEqual(list(out["benchmarks"]), sorted(out["benchmarks"]))
        base = json.loads(json.dumps(self.BASE))
        base["benchmarks"]["a/x"]["tolerance_reason"] = "why"
        out = perf_gate.record(base, {"a/x": 90.0}, {}, "", "abc")
        self.assertEqual(out["benchmarks"]["a/x"]["tolerance_reason"], "why")

    def test_dump_parsing_and_difference(self):
        dump = ("# callgrind format\nversion: 1\ndesc: Trigger: Client Request: tw-bench "
                "id=core/x/1 iters=200\n\npositions: line\nevents: Ir\nsummary: 1234\n")
        self.assertEqual(perf_gate.parse_dump(dump), ("core/x/1", 200, 1234))
        self.assertIsNone(perf_gate.parse_dump("desc: Trigger: Program termination\n"
                                               "summary: 0\n"))
        self.assertEqual(perf_gate.per_iteration({"core/x/1": {200: 1234, 400: 2434}}),
                         {"core/x/1": 6.0})
        with self.assertRaises(perf_gate.GateError):
            perf_gate.per_iteration({"core/x/1": {200: 1234}})


class CommittedBaseline(unittest.TestCase):
    def test_baseline_is_well_formed(self):
        path = os.path.join(ROOT, "bench", "baseline.json")
        with open(path) as f:
            base = json.load(f)
        self.assertEqual(base["format"], perf_gate.FORMAT)
        self.assertTrue(base["benchmarks"])
        for bid, e in base["benchmarks"].items():
            self.assertGreater(e["instructions_per_iter"], 0, bid)
            self.assertTrue(0 < e.get("tolerance", base["tolerance_default"]) < 1, bid)
            self.assertIn("wall_median_ns", e, bid)
            self.assertIn("wall_machine", e, bid)


class GateEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        build_dir = os.environ.get("TW_BUILD_DIR")
        if build_dir and os.path.normpath(build_dir) != os.path.join(ROOT, "build"):
            raise unittest.SkipTest("the gate measures the release build; it runs under "
                                    "ninja test, not for the %s variant" %
                                    os.path.basename(build_dir))
        if shutil.which("valgrind") is None:
            raise unittest.SkipTest("valgrind is not installed")
        info_path = os.path.join(ROOT, "build", "bench", "build-info.json")
        if not os.path.exists(info_path):
            raise unittest.SkipTest("build/bench/build-info.json missing: run ./configure.py")
        with open(info_path) as f:
            info = json.load(f)
        archives = [l for l in info["libs"] if l.endswith(".a")]
        missing = [a for a in archives if not os.path.exists(os.path.join(ROOT, a))]
        if missing:
            raise unittest.SkipTest("release libraries not built (%s): run ninja" %
                                    " ".join(missing))
        cls.tmp = tempfile.mkdtemp(prefix="tw-perf-gate-")
        harness = cls.compile(info, "harness", info["harness"], [])
        cls.normal = cls.link(info, "normal", harness + cls.compile(info, "normal",
                                                                   info["benches"], []))
        cls.slow = cls.link(info, "slow", harness + cls.compile(info, "slow", info["benches"],
                                                               ["-DTW_BENCH_SLOWDOWN"]))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def compile(cls, info, name, sources, defines):
        objs = []
        for src in sources:
            obj = os.path.join(cls.tmp, name, os.path.basename(src)[:-2] + ".o")
            os.makedirs(os.path.dirname(obj), exist_ok=True)
            cmd = [info["cc"]] + info["cflags"] + defines + ["-c", src, "-o", obj]
            subprocess.run(cmd, cwd=ROOT, check=True)
            objs.append(obj)
        return objs

    @classmethod
    def link(cls, info, name, objs):
        exe = os.path.join(cls.tmp, name, "tensor-wasm-bench")
        subprocess.run([info["cc"]] + info["ldflags"] + objs + info["libs"] + ["-o", exe],
                       cwd=ROOT, check=True)
        return exe

    def run_gate(self, runner, baseline, *extra):
        work = tempfile.mkdtemp(dir=self.tmp)
        return gate("--runner", runner, "--baseline", baseline, "--work-dir", work, *extra)

    def test_gate_accepts_normal_and_rejects_slowed_build(self):
        baseline = os.path.join(self.tmp, "baseline.json")
        rc, out = self.run_gate(self.normal, baseline, "--record", "--no-wall", "core/hash64/")
        self.assertEqual(rc, 0, out)
        with open(baseline) as f:
            recorded = json.load(f)["benchmarks"]
        self.assertEqual(sorted(recorded), ["core/hash64/4096", SLOWED_ID])

        rc, out = self.run_gate(self.normal, baseline, "core/hash64/")
        self.assertEqual(rc, 0, out)
        self.assertIn("perf-gate: ok", out)

        rc, out = self.run_gate(self.slow, baseline, "core/hash64/")
        self.assertEqual(rc, 1, out)
        line = next(l for l in out.splitlines() if l.startswith(SLOWED_ID + " "))
        self.assertIn("REGRESSED", line)
        other = next(l for l in out.splitlines() if l.startswith("core/hash64/4096"))
        self.assertTrue(other.rstrip().endswith("ok"), other)
        self.assertIn("perf-gate: FAILED: " + SLOWED_ID, out)

    def test_normal_build_passes_committed_baseline(self):
        rc, out = self.run_gate(self.normal, os.path.join(ROOT, "bench", "baseline.json"))
        self.assertEqual(rc, 0, "the release build exceeds bench/baseline.json; if the change "
                         "is intended, re-record it with ninja perf-baseline:\n" + out)


if __name__ == "__main__":
    unittest.main()
