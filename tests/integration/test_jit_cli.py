"""`tensor-wasm jit ...` and the GPU line of `tensor-wasm version`, against the real binary."""

import os
import shutil
import subprocess
import tempfile
import unittest

BINARY = os.environ.get("TW_BINARY", "build/tensor-wasm")


def run(*args):
    return subprocess.run([BINARY] + list(args), capture_output=True, text=True, timeout=120)


class JitCli(unittest.TestCase):
    def test_list(self):
        r = run("jit", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        names = [line.split()[0] for line in r.stdout.splitlines()]
        for want in ("saxpy_f32", "add_i32", "add_i64", "add_f32", "add_f64", "clamp_f32",
                     "select_i32", "cvt_f32_i32", "sum_i32", "sum_i64"):
            self.assertIn(want, names)
        self.assertEqual(len(names), len(set(names)))

    def test_emit(self):
        r = run("jit", "emit", "saxpy_f32")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(".target sm_80", r.stdout)
        self.assertIn(".entry tw_saxpy_f32", r.stdout)
        r = run("jit", "emit", "sum_i64", "--arch", "sm_90")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(".version 7.8\n.target sm_90", r.stdout)
        self.assertIn("red.global.add.u64", r.stdout)

    def test_emit_errors(self):
        self.assertEqual(run("jit", "emit", "no_such").returncode, 1)
        self.assertEqual(run("jit", "emit", "saxpy_f32", "--arch", "sm_12").returncode, 2)
        self.assertEqual(run("jit", "emit").returncode, 2)
        self.assertEqual(run("jit", "bogus").returncode, 2)

    @unittest.skipUnless(shutil.which("ptxas") or os.access("/usr/local/cuda/bin/ptxas",
                                                            os.X_OK), "ptxas absent")
    def test_emitted_text_assembles(self):
        ptxas = shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas"
        r = run("jit", "emit", "clamp_f64", "--arch", "sm_90")
        with tempfile.NamedTemporaryFile("w", suffix=".ptx") as f:
            f.write(r.stdout)
            f.flush()
            a = subprocess.run([ptxas, "-arch=sm_90", "-Werror", "-o", "/dev/null", f.name],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(a.returncode, 0, a.stderr)

    def test_selftest_and_version_gpu_line(self):
        v = run("version")
        self.assertEqual(v.returncode, 0)
        gpu = [line for line in v.stdout.splitlines() if line.startswith("gpu: ")]
        self.assertEqual(len(gpu), 1, v.stdout)
        r = run("jit", "selftest", "--quick")
        if gpu[0].startswith("gpu: none"):
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("no GPU: skipped", r.stdout)
            # the no-GPU reason is logged once, not per call
            self.assertLessEqual(r.stderr.count("no GPU"), 1, r.stderr)
        else:
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("selftest: ok", r.stdout)


if __name__ == "__main__":
    unittest.main()
