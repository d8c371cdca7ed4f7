"""Tracing end to end: W3C trace context in, x-trace-id out, and the span tree of an invoke as an
OTLP/HTTP JSON receiver on loopback sees it.

The receiver is a real HTTP server in this process that accepts POST /v1/traces (protobuf-JSON
encoding) and keeps every span; the server under test exports to it through
TENSOR_WASM_OTLP_ENDPOINT. Exports are batched every 200 ms, so checks poll the receiver until
the spans they need have arrived (bounded).
"""
import http.client
import http.server
import json
import os
import re
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from test_api import Server, guest

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
SPAWN = "tensor_wasm_exec::executor::spawn_instance"
EXEC = "tensor_wasm_exec::executor::call_export_with_args"
TERMINATE = "tensor_wasm_exec::executor::terminate"


class Receiver:
    def __init__(self):
        self.spans = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ok = self.path == "/v1/traces"
                if ok:
                    doc = json.loads(body)
                    with outer.lock:
                        for rs in doc["resourceSpans"]:
                            for ss in rs["scopeSpans"]:
                                outer.spans.extend(ss["spans"])
                self.send_response(200 if ok else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, pred, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                spans = list(self.spans)
            if pred(spans):
                return spans
            time.sleep(0.05)
        with self.lock:
            return list(self.spans)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def attrs(span):
    out = {}
    for a in span.get("attributes", []):
        v = a["value"]
        out[a["key"]] = v.get("stringValue", v.get("intValue"))
    return out


def request(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, hdrs, data


class TracingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rx = Receiver()
        cls.srv = Server("--rate-burst", "1000", "--rate-per-second", "1000",
                         env={"TENSOR_WASM_OTLP_ENDPOINT": "http://127.0.0.1:%d" % cls.rx.port,
                              "OTEL_SERVICE_NAME": "tensor-wasm-test"})
        st, _, body = request(cls.srv.port, "POST", "/functions?name=add-traced",
                              guest("add.wasm"), {"Content-Type": "application/wasm"})
        assert st == 201, body
        cls.fn = json.loads(body)["id"]
        st, _, body = request(cls.srv.port, "POST", "/functions?name=cuda-traced",
                              guest("wasi_cuda.wasm"), {"Content-Type": "application/wasm"})
        assert st == 201, body
        cls.cuda = json.loads(body)["id"]
        st, _, body = request(cls.srv.port, "POST",
                              "/functions?name=offload-traced&offload=host",
                              guest("offload_corpus.wasm"), {"Content-Type": "application/wasm"})
        assert st == 201, body
        cls.offload = json.loads(body)["id"]

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.rx.close()

    def invoke(self, headers=None, path_suffix="invoke"):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return request(self.srv.port, "POST", "/functions/%s/%s" % (self.fn, path_suffix),
                       json.dumps({"export": "add", "args": [2, 3]}), h)

    def test_every_response_carries_a_trace_id(self):
        for method, path in [("GET", "/healthz"), ("GET", "/nope"), ("DELETE", "/healthz"),
                             ("GET", "/metrics")]:
            _, h, _ = request(self.srv.port, method, path)
            self.assertRegex(h.get("x-trace-id", ""), r"^[0-9a-f]{32}$", (method, path))
        _, h, _ = request(self.srv.port, "GET", "/healthz",
                          headers={"traceparent": "00-%s-%s-01" % (CALLER_TRACE, CALLER_SPAN)})
        self.assertEqual(h["x-trace-id"], CALLER_TRACE)
        for bad in ["00-%s-%s-01" % (CALLER_TRACE.upper(), CALLER_SPAN),
                    "00-%s-0000000000000000-01" % CALLER_TRACE, "garbage"]:
            _, h, _ = request(self.srv.port, "GET", "/healthz", headers={"traceparent": bad})
            self.assertNotEqual(h["x-trace-id"], CALLER_TRACE, bad)
            self.assertRegex(h["x-trace-id"], r"^[0-9a-f]{32}$")

    def test_sync_invoke_tree(self):
        st, h, body = self.invoke({"traceparent": "00-%s-%s-01" % (CALLER_TRACE, CALLER_SPAN)})
        self.assertEqual(st, 200, body)
        self.assertEqual(h["x-trace-id"], CALLER_TRACE)

        def complete(spans):
            names = {s["name"] for s in spans if s["traceId"] == CALLER_TRACE}
            return {"http.request", "http.invoke_function", "invoke.run"} <= names

        spans = [s for s in self.rx.wait_for(complete) if s["traceId"] == CALLER_TRACE]
        by_name = {}
        for s in spans:
            by_name.setdefault(s["name"], []).append(s)
        req = [s for s in by_name["http.request"]
               if attrs(s).get("route") == "/functions/:id/invoke"]
        self.assertEqual(len(req), 1)
        req = req[0]
        self.assertEqual(req["parentSpanId"], CALLER_SPAN, "the caller's span is the parent")
        a = attrs(req)
        self.assertEqual((a["method"], a["status"], a["version"]), ("POST", "200", "1.1"))
        self.assertRegex(a["request_id"], r"^[0-9a-f]{16}$")
        inv = by_name["http.invoke_function"][0]
        self.assertEqual(inv["parentSpanId"], req["spanId"])
        run = by_name["invoke.run"][0]
        self.assertEqual(run["parentSpanId"], inv["spanId"])
        ra = attrs(run)
        self.assertEqual(ra["tenant"], "0")
        self.assertEqual(ra["function_id"], self.fn)
        self.assertEqual(ra["export"], "add")
        self.assertGreater(int(ra["wasm_bytes_len"]), 8)
        self.assertLessEqual(int(req["startTimeUnixNano"]), int(run["startTimeUnixNano"]))
        # The executor: the call of the export always; spawn/terminate only when an instance
        # is really created/destroyed (add's instances are pooled per core).
        ex = by_name[EXEC]
        self.assertEqual(len(ex), 1)
        ea = attrs(ex[0])
        self.assertEqual(ex[0]["parentSpanId"], run["spanId"])
        self.assertEqual((ea["export"], int(ea["args_len"])), ("add", 2))
        self.assertRegex(ea["instance"], r"^[1-9][0-9]*$")
        for sp in by_name.get(SPAWN, []):
            self.assertEqual(sp["parentSpanId"], run["spanId"])
            self.assertEqual(attrs(sp)["tenant"], "0")
            self.assertEqual(attrs(sp)["instance_id"], ea["instance"])

    def cuda_tree(self, export, trace):
        st, h, body = request(self.srv.port, "POST", "/functions/%s/invoke" % self.cuda,
                              json.dumps({"export": export}),
                              {"Content-Type": "application/json",
                               "traceparent": "00-%s-%s-01" % (trace, CALLER_SPAN)})
        self.assertEqual(st, 200, body)
        return json.loads(body)["result"][0]

    def test_wasi_cuda_spans_without_gpu(self):
        """A guest of the wasi_cuda ABI: a fresh instance per call (it has imports), so the
        tree has spawn and terminate; each traced call is a span under the export's call, with
        its required attributes and the NotAvailable result as an error status."""
        trace = "5bf92f3577b34da6a3ce929d0e0e4737"
        result = self.cuda_tree("kernel", trace)
        if result != -1:
            self.skipTest("a GPU answered (result %d): this checks the no-GPU path" % result)
        want = {"http.request", "http.invoke_function", "invoke.run", SPAWN, EXEC, TERMINATE,
                "wasi_cuda.load_ptx", "wasi_cuda.launch", "wasi_cuda.dispatch",
                "wasi_cuda.sync"}

        def complete(spans):
            return want <= {s["name"] for s in spans if s["traceId"] == trace}

        spans = [s for s in self.rx.wait_for(complete) if s["traceId"] == trace]
        one = {}
        for s in spans:
            self.assertNotIn(s["name"], one, "%s twice" % s["name"])
            one[s["name"]] = s
        run, ex = one["invoke.run"], one[EXEC]
        for name in (SPAWN, EXEC, TERMINATE):
            self.assertEqual(one[name]["parentSpanId"], run["spanId"], name)
        inst = attrs(one[SPAWN])["instance_id"]
        self.assertRegex(inst, r"^[1-9][0-9]*$")
        self.assertEqual(attrs(ex)["instance"], inst)
        self.assertEqual(attrs(one[TERMINATE])["instance"], inst)
        self.assertEqual((attrs(ex)["export"], int(attrs(ex)["args_len"])), ("kernel", 0))
        self.assertLessEqual(int(ex["endTimeUnixNano"]),
                             int(one[TERMINATE]["startTimeUnixNano"]))
        for name in ("wasi_cuda.load_ptx", "wasi_cuda.launch", "wasi_cuda.sync"):
            self.assertEqual(one[name]["parentSpanId"], ex["spanId"], name)
            self.assertEqual(attrs(one[name])["result"], "not_available", name)
            self.assertEqual(one[name]["status"]["code"], 2, name)
        la = attrs(one["wasi_cuda.launch"])
        self.assertEqual((la["kernel"], la["grid"], la["block"], int(la["shared_mem"])),
                         ("unknown", "4x2x1", "256x1x1", 512))
        lp = attrs(one["wasi_cuda.load_ptx"])
        self.assertEqual((lp["kernel"], int(lp["ptx_bytes"])), ("unknown", 45))
        d = one["wasi_cuda.dispatch"]
        self.assertEqual(d["parentSpanId"], one["wasi_cuda.launch"]["spanId"])
        self.assertEqual(attrs(d)["result"], "not_available")
        self.assertEqual(attrs(d)["kernel"], "unknown")

    def test_offload_span(self):
        """A loop run by the offload dispatch (host mode) is a jit.offload span under the
        export's call, with its blueprint key and result."""
        trace = "6bf92f3577b34da6a3ce929d0e0e4738"
        st, _, body = request(self.srv.port, "POST", "/functions/%s/invoke" % self.offload,
                              json.dumps({"export": "sum_i32", "args": [4096, 1000]}),
                              {"Content-Type": "application/json",
                               "traceparent": "00-%s-%s-01" % (trace, CALLER_SPAN)})
        self.assertEqual(st, 200, body)

        def complete(spans):
            return {EXEC, "jit.offload"} <= {s["name"] for s in spans if s["traceId"] == trace}

        spans = [s for s in self.rx.wait_for(complete) if s["traceId"] == trace]
        ex = [s for s in spans if s["name"] == EXEC]
        off = [s for s in spans if s["name"] == "jit.offload"]
        self.assertEqual(len(ex), 1)
        self.assertEqual(len(off), 1, off)
        a = attrs(off[0])
        self.assertEqual(off[0]["parentSpanId"], ex[0]["spanId"])
        self.assertRegex(a["blueprint"], r"^[0-9a-f]{16}$")
        self.assertEqual((a["mode"], a["phase"], a["result"]), ("host", "entry", "ok"))
        self.assertGreaterEqual(int(a["loop_offset"]), 0)

    def test_concurrent_async_invokes(self):
        """64 concurrent async invokes: each request-path span exactly once per request, every
        parent present, and no x-trace-id shared by two requests."""
        def one(_):
            st, h, body = self.invoke(path_suffix="invoke-async")
            self.assertEqual(st, 202, body)
            return h["x-trace-id"]

        with ThreadPoolExecutor(16) as ex:
            ids = list(ex.map(one, range(64)))
        self.assertEqual(len(set(ids)), 64, "x-trace-id collisions")
        want = ["http.request", "http.invoke_function_async", "async_invoke.job", "invoke.run"]

        def complete(spans):
            for tid in ids:
                names = [s["name"] for s in spans if s["traceId"] == tid]
                if any(names.count(n) != 1 for n in want):
                    return False
            return True

        spans = self.rx.wait_for(complete, timeout=20)
        for tid in ids:
            mine = [s for s in spans if s["traceId"] == tid]
            names = [s["name"] for s in mine]
            for n in want:
                self.assertEqual(names.count(n), 1, "%s in trace %s: %s" % (n, tid, names))
            ids_here = {s["spanId"] for s in mine}
            for s in mine:
                if s["name"] != "http.request":
                    self.assertIn(s["parentSpanId"], ids_here, "orphan %s" % s["name"])
            chain = {s["name"]: s for s in mine}
            self.assertEqual(chain["async_invoke.job"]["parentSpanId"],
                             chain["http.invoke_function_async"]["spanId"])
            self.assertEqual(chain["invoke.run"]["parentSpanId"],
                             chain["async_invoke.job"]["spanId"])


if __name__ == "__main__":
    unittest.main()
