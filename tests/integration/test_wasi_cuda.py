"""The wasi_cuda guest ABI bound in the engine, against the real binary: `tensor-wasm run` and the
HTTP function API (sync and async) link tests/guests/wasi_cuda.wat, every call returns -1
(NotAvailable) without a GPU, the calls are counted in /metrics by function and result, the GPU
gauges and the trace exporter's counters are exposed, and /healthz has the gpu line.

Without a GPU is the case checked here; on a machine with one the NotAvailable assertions skip
(the GPU path is covered by gpu_abi_test and `tensor-wasm jit selftest`).
"""
import os
import re
import socket
import subprocess
import time
import unittest

from test_api import BINARY, GUESTS, Server, guest

CUDA = os.path.join(GUESTS, "wasi_cuda.wasm")


def gpu_present():
    out = subprocess.run([BINARY, "version"], capture_output=True, text=True).stdout
    return "gpu: none" not in out


def sample(text, series):
    m = re.search(r"^%s (\S+)$" % re.escape(series), text, re.M)
    return float(m.group(1)) if m else None


@unittest.skipIf(gpu_present(), "a GPU is present: the NotAvailable path does not apply")
class RunCliTest(unittest.TestCase):
    def run_export(self, export):
        r = subprocess.run([BINARY, "run", CUDA, "--invoke", export], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def test_every_call_not_available(self):
        self.assertEqual(self.run_export("check"), "0")
        self.assertEqual(self.run_export("sync"), "-1")
        self.assertEqual(self.run_export("kernel"), "-1")

    def test_plain_run_has_no_wasi_cuda(self):
        """The engine's CLI alone does not know the module; the binding comes from main."""
        r = subprocess.run([BINARY, "run", os.path.join(GUESTS, "add.wasm"), "--invoke", "add",
                            "1", "2"], capture_output=True, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "3"))


@unittest.skipIf(gpu_present(), "a GPU is present: the NotAvailable path does not apply")
class HttpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server("--rate-burst", "1000", "--rate-per-second", "1000")
        st, doc, _ = cls.s.deploy("cuda", guest("wasi_cuda.wasm"),
                                  {"X-TensorWasm-Tenant": "7"})
        assert st == 201, (st, doc)
        cls.fn = doc["id"]

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def invoke(self, export, path="invoke"):
        return self.s.json("POST", "/functions/%s/%s" % (self.fn, path), {"export": export},
                           {"X-TensorWasm-Tenant": "7"})

    def metrics(self):
        st, _, body = self.s.request("GET", "/metrics")
        self.assertEqual(st, 200)
        return body.decode()

    def test_invoke_codes(self):
        st, doc, _ = self.invoke("check")
        self.assertEqual((st, doc["result"]), (200, [0]), doc)
        st, doc, _ = self.invoke("sync")
        self.assertEqual((st, doc["result"]), (200, [-1]))

    def test_async_invoke(self):
        st, doc, _ = self.invoke("check", "invoke-async")
        self.assertEqual(st, 202, doc)
        job = doc["job_id"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            st, doc, _ = self.s.json("GET", "/jobs/%s" % job, headers={"X-TensorWasm-Tenant": "7"})
            if doc.get("status") != "pending":
                break
            time.sleep(0.05)
        self.assertEqual(doc["status"], "completed", doc)
        self.assertEqual(doc["result"], [0])

    def test_calls_counted_by_function_and_result(self):
        before = self.metrics()
        key = 'tensor_wasm_wasi_cuda_calls_total{function="%s",result="%s"}'
        for fn in ("load_ptx", "launch", "sync", "alloc", "memcpy_d2h"):
            self.assertIsNotNone(sample(before, key % (fn, "ok")), fn)
            self.assertIsNotNone(sample(before, key % (fn, "quota_exceeded")), fn)
        st, doc, _ = self.invoke("check")
        self.assertEqual(doc["result"], [0])
        after = self.metrics()
        # check() calls load_ptx and d2h twice, the others once; all NotAvailable.
        for fn, n in (("load_ptx", 2), ("launch", 1), ("sync", 1), ("last_error_len", 1),
                      ("last_error_copy", 1), ("alloc", 1), ("free", 1), ("memcpy_h2d", 1),
                      ("memcpy_d2h", 2)):
            k = key % (fn, "not_available")
            self.assertEqual(sample(after, k) - sample(before, k), n, fn)
            self.assertEqual(sample(after, key % (fn, "ok")), 0, fn)

    def test_gpu_families_and_trace_counters(self):
        t = self.metrics()
        self.assertEqual(sample(t, "tensor_wasm_gpu_devices"), 0)
        self.assertEqual(sample(t, "tensor_wasm_gpu_memory_used_bytes"), 0)
        self.assertEqual(sample(t, "tensor_wasm_backpressure_permits_used"), 0)
        self.assertEqual(sample(t, "tensor_wasm_backpressure_permits_available"), 64)
        self.assertEqual(sample(t, 'tensor_wasm_kernel_dispatches_total{tenant="7"}'), 0)
        for reason in ("ring_full", "export_failed", "out_of_memory"):
            self.assertEqual(
                sample(t, 'tensor_wasm_trace_spans_dropped_total{reason="%s"}' % reason), 0)
        self.assertEqual(sample(t, "tensor_wasm_trace_spans_exported_total"), 0)

    def test_healthz_gpu_line(self):
        st, doc, _ = self.s.json("GET", "/healthz")
        self.assertEqual(st, 200)
        self.assertEqual(doc["details"]["gpu"]["present"], False)
        self.assertRegex(doc["details"]["gpu"]["status"], r"^none \(.+\)$")


class TraceDropCounterTest(unittest.TestCase):
    """Export to a port where nothing listens: every batch fails after its retries and the
    spans show up as dropped with reason export_failed."""

    def test_export_failures_are_counted(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
        s.close()
        srv = Server(env={"TENSOR_WASM_OTLP_ENDPOINT": "http://127.0.0.1:%d" % dead})
        try:
            for _ in range(3):
                srv.request("GET", "/healthz")
            key = 'tensor_wasm_trace_spans_dropped_total{reason="export_failed"}'
            deadline = time.monotonic() + 15
            v = 0
            while time.monotonic() < deadline:
                _, _, body = srv.request("GET", "/metrics")
                v = sample(body.decode(), key) or 0
                if v >= 3:
                    break
                time.sleep(0.2)
            self.assertGreaterEqual(v, 3)
        finally:
            srv.cleanup()


if __name__ == "__main__":
    unittest.main()
