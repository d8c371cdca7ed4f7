"""`tensor-wasm run` against the real binary.

The C guests of tests/guests/ are built twice: to wasm32-wasi by the build (build/guests/) and
natively here with `cc -O2`; both must print the same stdout and stderr and exit with the same
code. Then --invoke on tests/guests/invoke.wat, traps, deadlines, and modules that are malformed,
invalid, unlinkable or unreadable, each with its documented exit status and message.

A check that reaches an engine feature that is not there yet (the engine answers "not
supported") is skipped with that reason; every other difference fails.
"""

import os
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("TW_BINARY", os.path.join(ROOT, "build", "tensor-wasm"))
GUESTS = os.environ.get("TW_GUESTS_DIR", os.path.join(ROOT, "build", "guests"))
SOURCES = os.path.join(ROOT, "tests", "guests")

EXIT_ERROR, EXIT_USAGE, EXIT_DEADLINE, EXIT_TRAP = 1, 2, 124, 134

# (guest, arguments, stdin bytes, extra environment)
CASES = [
    ("recursion", [], b"", {}),
    ("floats", [], b"", {}),
    ("bytes", [], b"", {}),
    ("formats", [], b"", {}),
    ("stdin_count", [], b"first line\n  second,  with words \n\nno newline at the end", {}),
    ("stdin_count", [], b"", {}),
    ("args_exit", ["7", "two words", "", "\u00e9t\u00e9"], b"", {"TW_GUEST_GREETING": "hi"}),
    ("args_exit", [], b"", {}),
    ("args_exit", ["300"], b"", {}),
]


def run(args, stdin=b"", env=None, timeout=60):
    return subprocess.run([BINARY, "run"] + args, input=stdin, capture_output=True,
                          timeout=timeout, env=env)


def skip_if_unsupported(test, r):
    """Skip when the engine reports a feature it does not have yet."""
    err = r.stderr.decode(errors="replace")
    if r.returncode == EXIT_ERROR and "not supported" in err:
        test.skipTest("engine: " + err.strip().splitlines()[-1])


def wasm_module(*sections):
    out = b"\0asm\x01\0\0\0"
    for sid, body in sections:
        out += bytes([sid, len(body)]) + body
    return out


# () -> i32 whose body is empty: "type mismatch".
INVALID = wasm_module((1, b"\x01\x60\x00\x01\x7f"), (3, b"\x01\x00"),
                      (10, b"\x01\x02\x00\x0b"))
# Imports env.missing : () -> ().
UNLINKABLE = wasm_module((1, b"\x01\x60\x00\x00"), (2, b"\x01\x03env\x07missing\x00\x00"))


class RunCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tw-run-cli-")
        cls.native = {}
        cc = shutil.which("cc")
        for name in sorted({c[0] for c in CASES}):
            exe = os.path.join(cls.tmp, name)
            if cc and subprocess.run([cc, "-O2", "-o", exe, os.path.join(SOURCES, name + ".c"),
                                      "-lm"], capture_output=True).returncode == 0:
                cls.native[name] = exe

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def guest(self, name):
        path = os.path.join(GUESTS, name + ".wasm")
        if not os.path.exists(path):
            self.skipTest("%s was not built (needs clang's wasm32-wasi target and wasi-libc, "
                          "or wat2wasm)" % path)
        return path

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    # ---- C guests: same output as natively -------------------------------------------------

    def test_guests_match_native(self):
        for name, args, stdin, extra in CASES:
            with self.subTest(guest=name, args=args):
                wasm = self.guest(name)
                if name not in self.native:
                    self.skipTest("no native C compiler (cc)")
                env = dict(os.environ, **extra)
                want = subprocess.run([self.native[name]] + args, input=stdin,
                                      capture_output=True, timeout=60, env=env)
                flags = []
                for k, v in extra.items():
                    flags += ["--env", "%s=%s" % (k, v)]
                got = run(flags + [wasm] + args, stdin)
                skip_if_unsupported(self, got)
                self.assertEqual(got.stdout.decode(errors="replace"),
                                 want.stdout.decode(errors="replace"))
                self.assertEqual(got.stderr.decode(errors="replace"),
                                 want.stderr.decode(errors="replace"))
                self.assertEqual(got.returncode, want.returncode)

    def test_small_fuel_slices_change_nothing(self):
        """Suspending every ~1000 units and resuming must not lose or corrupt state."""
        for name in ("recursion", "bytes", "floats"):
            with self.subTest(guest=name):
                wasm = self.guest(name)
                whole = run([wasm])
                sliced = run(["--fuel-per-slice", "997", wasm])
                skip_if_unsupported(self, sliced)
                self.assertEqual(whole.returncode, 0, whole.stderr)
                self.assertEqual((sliced.returncode, sliced.stdout, sliced.stderr),
                                 (whole.returncode, whole.stdout, whole.stderr))

    def test_wasi_error_paths(self):
        r = run([self.guest("wasi_checks")])
        skip_if_unsupported(self, r)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b"ok\n", b""),
                         "exit status = number of the first failing check in wasi_checks.wat")

    def test_trap_in_start(self):
        r = run([self.guest("trap")])
        skip_if_unsupported(self, r)
        self.assertEqual(r.returncode, EXIT_TRAP, r.stderr)
        self.assertEqual(r.stderr.decode().strip(), "tensor-wasm: trap: integer divide by zero")

    # ---- --invoke ----------------------------------------------------------------------------

    def invoke(self, name, *values, rc=0, timeout=60, opts=()):
        r = run(list(opts) + [self.guest("invoke"), "--invoke", name] + list(values),
                timeout=timeout)
        skip_if_unsupported(self, r)
        self.assertEqual(r.returncode, rc, r.stderr)
        return r.stdout.decode(), r.stderr.decode()

    def test_invoke_values(self):
        self.assertEqual(self.invoke("add", "2", "3")[0], "5\n")
        self.assertEqual(self.invoke("add", "-7", "0x10")[0], "9\n")
        self.assertEqual(self.invoke("add", "4294967295", "1")[0], "0\n")
        self.assertEqual(self.invoke("mul64", "4294967296", "-3")[0], "-12884901888\n")
        self.assertEqual(self.invoke("half32", "3")[0], "1.5\n")
        self.assertEqual(self.invoke("half32", "0x1p-1")[0], "0.25\n")
        self.assertEqual(self.invoke("half32", "-inf")[0], "-inf\n")
        self.assertEqual(self.invoke("sqrt64", "2")[0], "1.4142135623730951\n")
        self.assertIn("nan", self.invoke("sqrt64", "-1")[0])
        self.assertEqual(self.invoke("divmod", "7", "-2")[0], "-3\n1\n")
        self.assertEqual(self.invoke("nothing")[0], "")

    def test_invoke_traps(self):
        _, err = self.invoke("boom", rc=EXIT_TRAP)
        self.assertEqual(err.strip(), "tensor-wasm: trap: unreachable")
        _, err = self.invoke("divmod", "1", "0", rc=EXIT_TRAP)
        self.assertEqual(err.strip(), "tensor-wasm: trap: integer divide by zero")
        _, err = self.invoke("divmod", "-2147483648", "-1", rc=EXIT_TRAP)
        self.assertEqual(err.strip(), "tensor-wasm: trap: integer overflow")
        _, err = self.invoke("oob", rc=EXIT_TRAP)
        self.assertEqual(err.strip(), "tensor-wasm: trap: out of bounds memory access")
        _, err = self.invoke("recurse", "0", rc=EXIT_TRAP)
        self.assertEqual(err.strip(), "tensor-wasm: trap: call stack exhausted")

    def test_invoke_deadline(self):
        _, err = self.invoke("spin", rc=EXIT_DEADLINE, opts=["--deadline-ms", "200"],
                             timeout=30)
        self.assertIn("deadline of 200 ms exceeded", err)

    def test_invoke_errors(self):
        _, err = self.invoke("missing", rc=EXIT_ERROR)
        self.assertIn('no exported function "missing"', err)
        _, err = self.invoke("add", "1", rc=EXIT_ERROR)
        self.assertIn("takes 2 arguments, 1 given", err)
        _, err = self.invoke("add", "1", "x", rc=EXIT_ERROR)
        self.assertIn('"x" is not a valid i32', err)
        _, err = self.invoke("add", "1", "4294967296", rc=EXIT_ERROR)
        self.assertIn("is not a valid i32", err)

    # ---- bad modules and usage ------------------------------------------------------------

    def test_unreadable(self):
        r = run([os.path.join(self.tmp, "does-not-exist.wasm")])
        self.assertEqual(r.returncode, EXIT_ERROR)
        self.assertIn(b"cannot read", r.stderr)
        self.assertIn(b"No such file", r.stderr)

    def test_malformed(self):
        for name, data, text in [("bad-magic", b"\0asn\x01\0\0\0", "magic header not detected"),
                                 ("bad-version", b"\0asm\x02\0\0\0", "unknown binary version"),
                                 ("truncated", b"\0asm\x01\0", "unexpected end"),
                                 ("section-too-long", b"\0asm\x01\0\0\0\x01\x05\x01\x60",
                                  "length out of bounds"),
                                 ("empty", b"", "unexpected end")]:
            with self.subTest(module=name):
                r = run([self.write(name + ".wasm", data)])
                skip_if_unsupported(self, r)
                self.assertEqual(r.returncode, EXIT_ERROR, r.stderr)
                err = r.stderr.decode()
                self.assertIn("malformed module", err)
                self.assertIn(text, err)

    def test_invalid(self):
        r = run([self.write("invalid.wasm", INVALID)])
        skip_if_unsupported(self, r)
        self.assertEqual(r.returncode, EXIT_ERROR, r.stderr)
        self.assertIn("invalid module", r.stderr.decode())
        self.assertIn("type mismatch", r.stderr.decode())

    def test_unlinkable(self):
        r = run([self.write("unlinkable.wasm", UNLINKABLE)])
        skip_if_unsupported(self, r)
        self.assertEqual(r.returncode, EXIT_ERROR, r.stderr)
        self.assertIn("unknown import", r.stderr.decode())

    def test_no_start(self):
        r = run([self.guest("invoke")])
        skip_if_unsupported(self, r)
        self.assertEqual(r.returncode, EXIT_ERROR, r.stderr)
        self.assertIn('no exported function "_start"', r.stderr.decode())

    def test_usage(self):
        r = run([])
        self.assertEqual(r.returncode, EXIT_USAGE)
        self.assertIn(b"usage: tensor-wasm run", r.stderr)
        r = run(["--help"])
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"--invoke NAME", r.stdout)
        r = run(["--no-such-option", "x.wasm"])
        self.assertEqual(r.returncode, EXIT_USAGE)
        r = run(["--env", "NOEQUALS", "x.wasm"])
        self.assertEqual(r.returncode, EXIT_USAGE)


if __name__ == "__main__":
    unittest.main()
