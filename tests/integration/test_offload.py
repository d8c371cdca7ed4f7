"""Loop offload, differentially: every corpus guest run with --offload=off and --offload=host
prints the same bytes (checksums of each output and of the whole linear memory), the analysis
matches what should be matched and rejects the rest for the right reason, and the counters move.
"""

import os
import re
import subprocess
import unittest

BINARY = os.environ.get("TW_BINARY", "build/tensor-wasm")
GUESTS = os.environ.get("TW_GUESTS", "build/guests")
CORPUS = os.path.join(GUESTS, "offload_corpus.wasm")
TRAP = os.path.join(GUESTS, "offload_trap.wasm")

MATCHED = ["vadd_f32", "saxpy", "vmul_f64", "iarith", "clamp_f32", "clamp_i32", "cvt_i2d",
           "cvt_f2d", "div_i32", "lin_i64", "iota_i32", "scale_inplace", "sum_i32", "xor_i64", "dot_i32",
           "shift_add"]
REJECTED = {
    "prefix_sum": "loop-carried dependence through a local",
    "with_call": "call inside the loop",
    "find_first": "data-dependent exit",
    "bytes_inc": "8/16-bit load or store",
    "fsum": "reduction that is not an integer add/and/or/xor into one local",
}


def run(*args):
    return subprocess.run([BINARY] + list(args), capture_output=True, text=True, timeout=120)


def report(stderr):
    m = re.search(r"^offload: (.*)$", stderr, re.M)
    assert m, stderr
    return dict(kv.split("=", 1) for kv in m.group(1).split())


class Offload(unittest.TestCase):
    def test_analysis_verdicts(self):
        r = run("jit", "analyze", CORPUS)
        self.assertEqual(r.returncode, 0, r.stderr)
        verdicts = {}
        for line in r.stdout.splitlines():
            m = re.match(r"func \d+ \((\w+)\) loop \+\d+: (.*)$", line)
            if m:
                verdicts.setdefault(m.group(1), []).append(m.group(2))
        for name in MATCHED:
            self.assertTrue(any(v.startswith("matched") for v in verdicts[name]),
                            (name, verdicts.get(name)))
        for name, why in REJECTED.items():
            self.assertTrue(verdicts[name], name)
            for v in verdicts[name]:
                self.assertTrue(v.startswith("rejected: " + why), (name, v))
        key = re.search(r"\(saxpy\) loop \+\d+: matched map f32 .* key=([0-9a-f]{16})", r.stdout)
        self.assertIsNotNone(key)

    def test_corpus_host_equals_off(self):
        off = run("run", "--offload=off", CORPUS)
        self.assertEqual(off.returncode, 0, off.stderr)
        for extra in ([], ["--offload-min-elements=1"]):
            host = run("run", "--offload=host", "--offload-report", *extra, CORPUS)
            self.assertEqual(host.returncode, 0, host.stderr)
            self.assertEqual(off.stdout, host.stdout)
            self.assertRegex(off.stdout, r"memory \d+ bytes [0-9a-f]{16}")
            rep = report(host.stderr)
            self.assertEqual(rep["mode"], "host")
            self.assertGreater(int(rep["success"]), 40)
            self.assertGreater(int(rep["elements"]), 50000)
            # shift_add reads ib + 1 while writing ib: refused at run time, every time
            self.assertGreaterEqual(int(rep.get("fallback_overlap", 0)), 3)
            # NaN results (vadd_nan, scale_nan in place): the interpreter reruns the loop
            self.assertEqual(int(rep.get("fallback_nan_result", 0)), 2)
            if not extra:
                self.assertGreater(int(rep.get("fallback_below_threshold", 0)), 0)

    def test_oob_tail_traps_like_the_interpreter(self):
        off = run("run", "--offload=off", TRAP)
        host = run("run", "--offload=host", "--offload-report", "--offload-min-elements=1", TRAP)
        self.assertEqual(off.returncode, 134, off.stderr)
        self.assertEqual(host.returncode, 134, host.stderr)
        self.assertEqual(off.stdout, host.stdout)
        self.assertIn("out of bounds memory access", host.stderr)
        rep = report(host.stderr)
        self.assertEqual(rep["success"], "0")
        self.assertEqual(rep["fallback_out_of_bounds"], "1")

    def test_modes(self):
        self.assertEqual(run("run", "--offload=bogus", CORPUS).returncode, 1)
        # without a GPU, auto is off and counts nothing; gpu counts every matched entry
        auto = run("run", "--offload=auto", "--offload-report", CORPUS)
        self.assertEqual(auto.returncode, 0, auto.stderr)
        if "mode=off" in auto.stderr:
            self.assertEqual(report(auto.stderr)["entries"], "0")
            gpu = run("run", "--offload=gpu", "--offload-report", CORPUS)
            self.assertEqual(gpu.returncode, 0, gpu.stderr)
            rep = report(gpu.stderr)
            self.assertEqual(rep["success"], "0")
            self.assertGreater(int(rep["fallback_no_gpu"]), 40)
            off = run("run", "--offload=off", CORPUS)
            self.assertEqual(off.stdout, gpu.stdout)


class ServeOffload(unittest.TestCase):
    """serve: --offload per server, `offload` per function at deploy, counters on /metrics."""

    def test_per_function_override_and_metrics(self):
        from test_api import Server
        s = Server("--offload=off", "--offload-min-elements=1")
        try:
            with open(CORPUS, "rb") as f:
                wasm = f.read()
            st, doc, _ = s.json("POST", "/functions?name=c&offload=host", wasm,
                                {"Content-Type": "application/wasm"})
            self.assertEqual(st, 201, doc)
            host_id = doc["id"]
            st, doc, _ = s.json("POST", "/functions?name=d", wasm,
                                {"Content-Type": "application/wasm"})
            self.assertEqual(st, 201, doc)
            off_id = doc["id"]
            st, doc, _ = s.json("POST", "/functions?name=e&offload=fast", wasm,
                                {"Content-Type": "application/wasm"})
            self.assertEqual(st, 400, doc)
            import base64
            st, doc, _ = s.json("POST", "/functions", {
                "name": "j", "offload": "host", "wasm_b64": base64.b64encode(wasm).decode()})
            self.assertEqual(st, 201, doc)
            results = {}
            for fid in (host_id, off_id):
                st, doc, _ = s.json("POST", "/functions/%s/invoke" % fid,
                                    {"export": "sum_i32", "args": [4096, 1000]})
                self.assertEqual(st, 200, doc)
                results[fid] = doc
            self.assertEqual(results[host_id]["result"], results[off_id]["result"])
            st, _, body = s.request("GET", "/metrics")
            self.assertEqual(st, 200)
            text = body.decode()
            m = re.search(r"^tensor_wasm_offload_success_total (\d+)", text, re.M)
            self.assertIsNotNone(m, text[:2000])
            self.assertEqual(int(m.group(1)), 1)

            # the override is stored with the function: after a restart it still applies
            s.stop()
            s.start()
            for fid in (host_id, off_id):
                st, doc, _ = s.json("POST", "/functions/%s/invoke" % fid,
                                    {"export": "sum_i32", "args": [4096, 1000]})
                self.assertEqual(st, 200, doc)
                self.assertEqual(doc["result"], results[off_id]["result"])
            st, _, body = s.request("GET", "/metrics")
            m = re.search(r"^tensor_wasm_offload_success_total (\d+)", body.decode(), re.M)
            self.assertEqual(int(m.group(1)), 1)
        finally:
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
