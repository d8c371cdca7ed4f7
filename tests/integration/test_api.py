"""The function API against the real binary: every route, status and error kind, tenants, token
scopes, rate limits, deadlines, restart durability and a kill -9 during concurrent deploys.

Each test class starts its own server on a free loopback port with a temporary --data-dir.
"""

import base64
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

BINARY = os.environ.get("TW_BINARY", "build/tensor-wasm")
GUESTS = os.environ.get("TW_GUESTS_DIR", "build/guests")


def guest(name):
    with open(os.path.join(GUESTS, name), "rb") as f:
        return f.read()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, *args, data_dir=None, env=None):
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="tw-api-")
        self.args = list(args)
        self.env = dict(os.environ)
        self.env.pop("TENSOR_WASM_API_TOKENS", None)
        self.env.update(env or {})
        self.proc = None
        self.start()

    def start(self):
        self.port = free_port()
        self.log = open(os.path.join(self.data_dir, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--listen", "127.0.0.1:%d" % self.port, "--workers", "2",
             "--pin-workers=false", "--data-dir", self.data_dir] + self.args,
            stdout=subprocess.PIPE, stderr=self.log, env=self.env)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: %s" % self.read_log())
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    c.close()
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def read_log(self):
        with open(os.path.join(self.data_dir, "server.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        if not self.log.closed:
            self.log.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def request(self, method, path, body=None, headers=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, hdrs, data

    def json(self, method, path, body=None, headers=None, timeout=30):
        status, hdrs, data = self.request(method, path, body, headers, timeout)
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            doc = data
        return status, doc, hdrs

    def deploy(self, name, wasm, headers=None):
        h = {"Content-Type": "application/wasm"}
        h.update(headers or {})
        return self.json("POST", "/functions?name=%s" % name, wasm, h)


def kind(doc):
    return doc["error"]["kind"]


class DevModeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server("--rate-burst", "10000", "--rate-per-second", "10000",
                       "--max-module-bytes", "200K", "--max-body-bytes", "256K",
                       "--max-tenant-instances", "2", "--max-memory-pages", "256")
        st, doc, _ = cls.s.deploy("add", guest("add.wasm"))
        assert st == 201, (st, doc)
        cls.add = doc["id"]
        st, doc, _ = cls.s.deploy("spin", guest("api_spin.wasm"))
        assert st == 201, (st, doc)
        cls.spin = doc["id"]

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def invoke(self, fid, body, headers=None, path="invoke"):
        return self.s.json("POST", "/functions/%s/%s" % (fid, path), body, headers)

    def test_deploy_raw_document(self):
        st, doc, _ = self.s.deploy("adder", guest("add.wasm"))
        self.assertEqual(st, 201)
        self.assertEqual(len(doc["id"]), 32)
        self.assertEqual(doc["name"], "adder")
        self.assertEqual(len(doc["xxh3"]), 32)
        self.assertEqual(doc["exports"],
                         [{"name": "add", "params": ["i32", "i32"], "results": ["i32"]}])

    def test_deploy_json_base64(self):
        b64 = base64.b64encode(guest("add.wasm")).decode()
        st, doc, _ = self.s.json("POST", "/functions", {"name": "b64 add", "wasm_b64": b64})
        self.assertEqual(st, 201, doc)
        st, doc, _ = self.invoke(doc["id"], {"export": "add", "args": [40, 2]})
        self.assertEqual((st, doc["result"]), (200, [42]))

    def test_deploy_errors(self):
        st, doc, _ = self.s.json("POST", "/functions", b"{nope", {"Content-Type": "application/json"})
        self.assertEqual((st, kind(doc)), (400, "invalid_json"))
        st, doc, _ = self.s.json("POST", "/functions", {"name": "", "wasm_b64": "AA=="})
        self.assertEqual((st, kind(doc)), (400, "invalid_name"))
        st, doc, _ = self.s.json("POST", "/functions", {"name": "a\nb", "wasm_b64": "AA=="})
        self.assertEqual((st, kind(doc)), (400, "invalid_name"))
        st, doc, _ = self.s.json("POST", "/functions", {"name": "x" * 257, "wasm_b64": "AA=="})
        self.assertEqual((st, kind(doc)), (400, "invalid_name"))
        st, doc, _ = self.s.deploy("bad%FF", guest("add.wasm"))
        self.assertEqual((st, kind(doc)), (400, "invalid_name"))
        st, doc, _ = self.s.deploy("caf%C3%A9", guest("add.wasm"))
        self.assertEqual((st, doc["name"]), (201, "caf\u00e9"))
        st, doc, _ = self.s.json("POST", "/functions", {"name": "x", "wasm_b64": "!!!"})
        self.assertEqual((st, kind(doc)), (400, "invalid_base64"))
        st, doc, _ = self.s.deploy("bad", b"\0asm\x02\0\0\0")
        self.assertEqual((st, kind(doc)), (400, "invalid_wasm"))
        self.assertTrue(doc["error"]["message"])
        st, doc, _ = self.s.json("POST", "/functions", b"\0asm", {"Content-Type": "application/wasm"})
        self.assertEqual((st, kind(doc)), (400, "invalid_name"))
        st, doc, _ = self.s.deploy("big", b"\0asm\1\0\0\0" + b"\0" * (210 * 1024))
        self.assertEqual((st, kind(doc)), (413, "module_too_large"))
        # (module (import "env" "f" (func))): only WASI preview1 can be linked.
        st, doc, _ = self.s.deploy("imp", bytes.fromhex(
            "0061736d0100000001040160000002090103656e7601660000"))
        self.assertEqual((st, kind(doc)), (400, "invalid_wasm"))
        self.assertIn("unknown import env.f", doc["error"]["message"])
        st, doc, _ = self.s.deploy("bigmem", guest("api_bigmem.wasm"))
        self.assertEqual((st, kind(doc)), (413, "module_memory_too_large"))
        st, doc, _ = self.s.deploy("bigmem-private", guest("api_bigmem_private.wasm"))
        self.assertEqual((st, kind(doc)), (413, "module_memory_too_large"))
        st, _, _ = self.s.request("POST", "/functions?name=huge", b"\0" * (300 * 1024),
                                  {"Content-Type": "application/wasm"})
        self.assertEqual(st, 413)

    def test_list_get_delete(self):
        ids = []
        for i in range(3):
            st, doc, _ = self.s.deploy("page%d" % i, guest("add.wasm"), {"X-TensorWasm-Tenant": "77"})
            self.assertEqual(st, 201)
            ids.append(doc["id"])
        h = {"X-TensorWasm-Tenant": "77"}
        st, doc, _ = self.s.json("GET", "/functions?limit=2", headers=h)
        self.assertEqual(st, 200)
        self.assertEqual(len(doc["functions"]), 2)
        self.assertIsNotNone(doc["next_after"])
        st, doc2, _ = self.s.json("GET", "/functions?limit=2&after=%s" % doc["next_after"], headers=h)
        seen = [f["id"] for f in doc["functions"] + doc2["functions"]]
        self.assertEqual(sorted(seen), sorted(ids))
        self.assertIsNone(doc2["next_after"])
        st, doc, _ = self.s.json("GET", "/functions?limit=0", headers=h)
        self.assertEqual(st, 400)
        st, doc, _ = self.s.json("GET", "/functions/%s" % ids[0], headers=h)
        self.assertEqual((st, doc["name"]), (200, "page0"))
        st, _, _ = self.s.request("DELETE", "/functions/%s" % ids[0], headers=h)
        self.assertEqual(st, 204)
        st, doc, _ = self.s.json("GET", "/functions/%s" % ids[0], headers=h)
        self.assertEqual((st, kind(doc)), (404, "not_found"))
        st, doc, _ = self.s.json("DELETE", "/functions/%s" % ids[0], headers=h)
        self.assertEqual((st, kind(doc)), (404, "not_found"))
        st, doc, _ = self.invoke(ids[0], {"export": "add", "args": [1, 2]}, h)
        self.assertEqual((st, kind(doc)), (404, "not_found"))

    def test_invoke_values(self):
        st, doc, _ = self.invoke(self.add, {"export": "add", "args": [2, 3]})
        self.assertEqual((st, doc), (200, {"function_id": self.add, "result": [5]}))
        st, doc, _ = self.invoke(self.add, {"export": "add", "args": [2147483647, 1]})
        self.assertEqual(doc["result"], [-2147483648])
        big = "9007199254740993"
        st, doc, _ = self.invoke(self.spin, {"export": "id64", "args": [big]})
        self.assertEqual((st, doc["result"]), (200, [int(big)]))
        st, doc, _ = self.invoke(self.spin, {"export": "id64", "args": ["-9223372036854775808"]})
        self.assertEqual(doc["result"], [-9223372036854775808])
        st, doc, _ = self.invoke(self.spin, {"export": "fsum", "args": [1.5, 2.25]})
        self.assertEqual(doc["result"], [3.75])
        st, doc, _ = self.invoke(self.spin, None)  # default export: main
        self.assertEqual((st, doc["result"]), (200, [42]))

    def test_pooled_instances_are_reset(self):
        st, doc, _ = self.s.deploy("mem", guest("api_mem.wasm"))
        self.assertEqual(st, 201, doc)
        for _ in range(6):
            st, doc2, _ = self.invoke(doc["id"], {"export": "f"})
            self.assertEqual((st, doc2["result"]), (200, [9]))
        for _ in range(3):
            self.invoke(self.spin, {"export": "boom"})
            st, doc2, _ = self.invoke(self.spin, {"export": "main"})
            self.assertEqual((st, doc2["result"]), (200, [42]))

    def test_invoke_errors(self):
        st, doc, _ = self.invoke(self.add, {"args": [1, 2]})
        self.assertEqual((st, kind(doc)), (404, "missing_export"))
        st, doc, _ = self.invoke(self.add, {"export": "nope"})
        self.assertEqual((st, kind(doc)), (404, "missing_export"))
        st, doc, _ = self.invoke(self.add, {"export": "add", "args": [1]})
        self.assertEqual((st, kind(doc)), (400, "invalid_args"))
        st, doc, _ = self.invoke(self.add, {"export": "add", "args": [1, "x"]})
        self.assertEqual((st, kind(doc)), (400, "invalid_args"))
        st, doc, _ = self.invoke(self.add, {"export": "add", "args": [1, 2 ** 40]})
        self.assertEqual((st, kind(doc)), (400, "invalid_args"))
        st, doc, _ = self.invoke(self.add, {"export": "add", "args": list(range(65))})
        self.assertEqual((st, kind(doc)), (400, "too_many_args"))
        st, doc, _ = self.invoke(self.add, b"[1,", {"Content-Type": "application/json"})
        self.assertEqual((st, kind(doc)), (400, "invalid_json"))
        st, doc, _ = self.invoke(self.spin, {"export": "boom"})
        self.assertEqual((st, kind(doc)), (422, "trap"))
        self.assertIn("unreachable", doc["error"]["message"])
        st, doc, _ = self.invoke(self.spin, {"export": "recurse", "args": [0]})
        self.assertEqual((st, kind(doc)), (422, "trap"))
        self.assertIn("stack", doc["error"]["message"])
        st, doc, _ = self.invoke("0" * 32, {"export": "add", "args": [1, 2]})
        self.assertEqual((st, kind(doc)), (404, "not_found"))

    def test_tenant_headers_and_isolation(self):
        st, doc, _ = self.s.json("GET", "/functions", headers={"X-TensorWasm-Tenant": "abc"})
        self.assertEqual((st, kind(doc)), (400, "invalid_tenant"))
        st, doc, _ = self.s.json("GET", "/functions",
                                 headers={"X-TensorWasm-Tenant": "99999999999999999999999"})
        self.assertEqual((st, kind(doc)), (400, "invalid_tenant"))
        c = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=10)
        c.putrequest("GET", "/functions")
        c.putheader("X-TensorWasm-Tenant", "1")
        c.putheader("X-TensorWasm-Tenant", "2")
        c.endheaders()
        r = c.getresponse()
        doc = json.loads(r.read())
        c.close()
        self.assertEqual((r.status, kind(doc)), (400, "duplicate_tenant_header"))
        st, doc, _ = self.s.deploy("mine", guest("add.wasm"), {"X-TensorWasm-Tenant": "5"})
        fid = doc["id"]
        other = {"X-TensorWasm-Tenant": "6"}
        st, doc, _ = self.s.json("GET", "/functions/%s" % fid, headers=other)
        self.assertEqual((st, kind(doc)), (404, "not_found"))
        st, doc, _ = self.invoke(fid, {"export": "add", "args": [1, 1]}, other)
        self.assertEqual(st, 404)
        st, doc, _ = self.s.json("GET", "/functions", headers=other)
        self.assertNotIn(fid, [f["id"] for f in doc["functions"]])
        st, doc, _ = self.s.json("DELETE", "/functions/%s" % fid, headers=other)
        self.assertEqual(st, 404)
        st, doc, _ = self.invoke(fid, {"export": "add", "args": [1, 1]}, {"X-TensorWasm-Tenant": "5"})
        self.assertEqual((st, doc["result"]), (200, [2]))

    def test_octet_stream_wasi(self):
        st, doc, _ = self.s.deploy("wc", guest("stdin_count.wasm"))
        if st == 413:
            self.skipTest("stdin_count.wasm is larger than this server's module cap")
        self.assertEqual(st, 201, doc)
        st, hdrs, body = self.s.request("POST", "/functions/%s/invoke" % doc["id"],
                                        b"hello world\nbye\n",
                                        {"Content-Type": "application/octet-stream"})
        self.assertEqual(st, 200, body)
        self.assertEqual(hdrs["x-tensorwasm-exit-code"], "0")
        self.assertIn(b"> HELLO WORLD\n> BYE\n", body)
        self.assertIn(b"2 lines, 3 words, 16 bytes", body)

    def test_async_job(self):
        st, doc, _ = self.invoke(self.add, {"export": "add", "args": [20, 22]}, path="invoke-async")
        self.assertEqual(st, 202)
        job = doc["job_id"]
        for _ in range(200):
            st, doc, _ = self.s.json("GET", "/jobs/%s" % job)
            self.assertEqual(st, 200)
            if doc["status"] != "pending":
                break
            time.sleep(0.02)
        self.assertEqual(doc["status"], "completed")
        self.assertEqual(doc["result"], [42])
        st, doc, _ = self.invoke(self.spin, {"export": "boom"}, path="invoke-async")
        job = doc["job_id"]
        for _ in range(200):
            st, doc, _ = self.s.json("GET", "/jobs/%s" % job)
            if doc["status"] != "pending":
                break
            time.sleep(0.02)
        self.assertEqual((doc["status"], doc["error"]["kind"]), ("failed", "trap"))
        st, doc, _ = self.s.json("GET", "/jobs/%s" % job, headers={"X-TensorWasm-Tenant": "3"})
        self.assertEqual((st, kind(doc)), (404, "not_found"))
        st, doc, _ = self.s.json("GET", "/jobs/%s" % ("f" * 32))
        self.assertEqual((st, kind(doc)), (404, "not_found"))
        st, doc, _ = self.invoke(self.add, {"export": "add"}, path="invoke-async")
        self.assertEqual((st, kind(doc)), (400, "invalid_args"))

    def test_deadline_keeps_core_serving(self):
        out = {}
        st, doc, _ = self.s.deploy("spin9", guest("api_spin.wasm"), {"X-TensorWasm-Tenant": "9"})
        spin9 = doc["id"]

        def spin():
            t0 = time.monotonic()
            out["r"] = self.invoke(spin9, {"export": "spin"},
                                   {"X-TensorWasm-Deadline-Ms": "1500", "X-TensorWasm-Tenant": "9"})
            out["t"] = time.monotonic() - t0

        threads = [threading.Thread(target=spin) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        # Both workers are running a spinning guest; others are still served.
        for _ in range(5):
            t0 = time.monotonic()
            st, _, _ = self.s.request("GET", "/healthz")
            self.assertEqual(st, 200)
            self.assertLess(time.monotonic() - t0, 0.5)
        st, doc, _ = self.invoke(self.add, {"export": "add", "args": [1, 2]})
        self.assertEqual((st, doc["result"]), (200, [3]))
        # The tenant's two instances are in use: a third call is refused.
        st, doc, _ = self.invoke(spin9, {"export": "main"}, {"X-TensorWasm-Tenant": "9"})
        self.assertEqual((st, kind(doc)), (503, "capacity_exhausted"))
        for t in threads:
            t.join()
        st, doc, _ = out["r"]
        self.assertEqual((st, kind(doc)), (504, "invoke_timeout"))
        self.assertLess(out["t"], 5)


class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server("--token", "root:tenant=*;one:tenant=1,3", "--require-tenant",
                       env={"TENSOR_WASM_API_TOKENS": "env2:tenant=2"})

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def h(self, token, tenant):
        h = {}
        if token:
            h["Authorization"] = "Bearer " + token
        if tenant is not None:
            h["X-TensorWasm-Tenant"] = str(tenant)
        return h

    def test_credentials(self):
        st, doc, _ = self.s.json("GET", "/functions", headers=self.h(None, 1))
        self.assertEqual((st, kind(doc)), (401, "unauthorized"))
        st, doc, _ = self.s.json("GET", "/functions", headers=self.h("wrong", 1))
        self.assertEqual((st, kind(doc)), (401, "invalid_auth"))
        st, doc, _ = self.s.json("GET", "/functions", headers={"Authorization": "Basic abc",
                                                               "X-TensorWasm-Tenant": "1"})
        self.assertEqual((st, kind(doc)), (401, "invalid_auth"))
        st, doc, _ = self.s.json("GET", "/functions", headers=self.h("one", None))
        self.assertEqual((st, kind(doc)), (400, "missing_tenant"))
        st, _, _ = self.s.request("GET", "/healthz")
        self.assertEqual(st, 200)

    def test_scopes(self):
        st, doc, _ = self.s.deploy("t1", guest("add.wasm"), self.h("one", 1))
        self.assertEqual(st, 201)
        fid = doc["id"]
        # Scope is checked before existence: 403 for a tenant outside the token's list.
        st, doc, _ = self.s.json("GET", "/functions/%s" % fid, headers=self.h("one", 2))
        self.assertEqual((st, kind(doc)), (403, "tenant_scope_denied"))
        st, doc, _ = self.s.json("GET", "/functions/%s" % ("0" * 32), headers=self.h("one", 2))
        self.assertEqual((st, kind(doc)), (403, "tenant_scope_denied"))
        st, doc, _ = self.s.json("GET", "/functions/%s" % fid, headers=self.h("root", 1))
        self.assertEqual(st, 200)
        st, doc, _ = self.s.json("GET", "/functions/%s" % fid, headers=self.h("env2", 2))
        self.assertEqual((st, kind(doc)), (404, "not_found"))
        st, doc, _ = self.s.json("POST", "/functions/%s/invoke" % fid,
                                 {"export": "add", "args": [3, 4]}, self.h("one", 1))
        self.assertEqual((st, doc["result"]), (200, [7]))


class RateLimitTest(unittest.TestCase):
    def test_bucket(self):
        s = Server("--rate-burst", "3", "--rate-per-second", "1")
        try:
            codes = [s.request("GET", "/functions")[0] for _ in range(3)]
            self.assertEqual(codes, [200] * 3)
            st, doc, hdrs = s.json("GET", "/functions")
            self.assertEqual((st, kind(doc)), (429, "rate_limited"))
            self.assertGreaterEqual(int(hdrs["retry-after"]), 1)
            # Another tenant has its own bucket; /healthz is never limited.
            st, _, _ = s.request("GET", "/functions", headers={"X-TensorWasm-Tenant": "4"})
            self.assertEqual(st, 200)
            for _ in range(10):
                self.assertEqual(s.request("GET", "/healthz")[0], 200)
        finally:
            s.cleanup()


class NonLoopbackTest(unittest.TestCase):
    def test_refuses_unauthenticated(self):
        env = dict(os.environ)
        env.pop("TENSOR_WASM_API_TOKENS", None)
        d = tempfile.mkdtemp(prefix="tw-api-")
        try:
            r = subprocess.run([BINARY, "serve", "--listen", "0.0.0.0:%d" % free_port(),
                                "--workers", "1", "--data-dir", d], env=env,
                               capture_output=True, timeout=15)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(b"allow-unauthenticated", r.stderr)
        finally:
            shutil.rmtree(d, ignore_errors=True)


class DurabilityTest(unittest.TestCase):
    def test_restart_keeps_functions_and_jobs(self):
        s = Server("--preload", os.path.join(GUESTS, "add.wasm") + ":add")
        try:
            st, doc, _ = s.deploy("keep", guest("add.wasm"), {"X-TensorWasm-Tenant": "8"})
            fid = doc["id"]
            st, doc, _ = s.json("POST", "/functions/%s/invoke-async" % fid,
                                {"export": "add", "args": [5, 6]}, {"X-TensorWasm-Tenant": "8"})
            job = doc["job_id"]
            for _ in range(200):
                st, doc, _ = s.json("GET", "/jobs/%s" % job, headers={"X-TensorWasm-Tenant": "8"})
                if doc["status"] == "completed":
                    break
                time.sleep(0.02)
            self.assertEqual(doc["status"], "completed")
            pre = s.proc.stdout.readline().decode()
            self.assertIn("preloaded add as ", pre)
            pre_id = pre.split()[-1]
            s.stop()
            s.start()
            st, doc, _ = s.json("GET", "/functions/%s" % fid, headers={"X-TensorWasm-Tenant": "8"})
            self.assertEqual((st, doc["name"]), (200, "keep"))
            st, doc, _ = s.json("GET", "/jobs/%s" % job, headers={"X-TensorWasm-Tenant": "8"})
            self.assertEqual((st, doc["status"], doc["result"]), (200, "completed", [11]))
            # The preloaded example keeps its id across restarts.
            st, doc, _ = s.json("POST", "/functions/%s/invoke" % pre_id,
                                {"export": "add", "args": [1, 1]})
            self.assertEqual((st, doc["result"]), (200, [2]))
        finally:
            s.cleanup()

    def test_kill9_during_concurrent_deploys(self):
        s = Server("--rate-burst", "10000", "--rate-per-second", "10000")
        acked = []
        lock = threading.Lock()
        wasm = guest("add.wasm")
        stop = threading.Event()

        def worker(k):
            for i in range(25):
                if stop.is_set():
                    return
                # Distinct bytes per deploy: a custom section carries the index.
                name = b"n%d-%d" % (k, i)
                body = wasm + b"\x00" + bytes([len(name) + 1, len(name)]) + name
                try:
                    st, doc, _ = s.deploy("f%d-%d" % (k, i), body)
                except (OSError, http.client.HTTPException):
                    return
                if st == 201:
                    with lock:
                        acked.append(doc["id"])

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with lock:
                if len(acked) >= 40:
                    break
            time.sleep(0.005)
        s.proc.kill()
        s.proc.wait()
        s.proc.stdout.close()
        stop.set()
        for t in threads:
            t.join()
        with lock:
            acked_ids = list(acked)
        self.assertGreater(len(acked_ids), 0)
        s.log.close()
        s.start()
        try:
            st, doc, _ = s.json("GET", "/functions?limit=1000")
            listed = {f["id"] for f in doc["functions"]}
            for fid in acked_ids:
                self.assertIn(fid, listed)
            # No half-written function: everything listed loads and runs.
            for fid in listed:
                st, doc, _ = s.json("POST", "/functions/%s/invoke" % fid,
                                    {"export": "add", "args": [1, 2]})
                self.assertEqual((st, doc["result"]), (200, [3]))
            self.assertIn("(0 unloadable)", s.read_log())
            self.assertEqual(os.listdir(os.path.join(s.data_dir, "tmp")), [])
        finally:
            s.cleanup()


class ClientTest(unittest.TestCase):
    def test_cli(self):
        s = Server()
        try:
            env = dict(os.environ, TENSOR_WASM_URL="http://127.0.0.1:%d" % s.port)
            r = subprocess.run([BINARY, "deploy", os.path.join(GUESTS, "add.wasm"), "--name",
                                "cli-add", "--tenant", "4"], env=env, capture_output=True,
                               timeout=15)
            self.assertEqual(r.returncode, 0, r.stderr)
            fid = json.loads(r.stdout)["id"]
            r = subprocess.run([BINARY, "invoke", fid, "--export", "add", "20", "22",
                                "--tenant", "4"], env=env, capture_output=True, timeout=15)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads(r.stdout)["result"], [42])
            r = subprocess.run([BINARY, "invoke", fid, "--export", "add", "1", "2"], env=env,
                               capture_output=True, timeout=15)
            self.assertEqual(r.returncode, 1)
            st, doc, _ = s.json("POST", "/functions/%s/invoke-async" % fid,
                                {"export": "add", "args": [1, 2]}, {"X-TensorWasm-Tenant": "4"})
            time.sleep(0.2)
            r = subprocess.run([BINARY, "jobs", doc["job_id"], "--tenant", "4"], env=env,
                               capture_output=True, timeout=15)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads(r.stdout)["job_id"], doc["job_id"])
        finally:
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
