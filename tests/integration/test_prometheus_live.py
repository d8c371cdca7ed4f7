"""The operator's kit against a real Prometheus: every SLI record and every panel has data.

TestPrometheusLive starts the tensor-wasm server (TW_BINARY, `serve --listen 127.0.0.1:PORT
--workers 1`) and Debian's prometheus on loopback (scrape and rule evaluation every second, our
rules file loaded, storage in a temporary directory), checks that /metrics declares every family of
the inventory in docs/dashboards/README.md, drives mixed traffic (successes, 4xx, a guest that
traps, a guest that runs past its deadline, a burst that hits the rate limit), waits until
Prometheus has scraped after the traffic (polling, no fixed sleeps), then evaluates through the
HTTP API every SLI recording rule (records inlined, so no wait for the groups' first run) and
every panel expression of the three dashboards (Grafana's variables substituted), and requires
each to return data. It skips, saying why, while the binary has no `serve` command, /metrics
answers 404, or the function API is not there.

TestPrometheusHarness runs the same harness against contract_exporter.py, a stand-in that serves
every family of the contract: it proves the harness and the expressions on a contract-shaped
exposition today, and is no evidence about the server.

Both skip when /usr/bin/prometheus is absent. Every process started here is stopped in a finally.
"""

import base64
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import contract_exporter  # noqa: E402
import opskit  # noqa: E402

HAVE_PROMETHEUS = os.path.exists(opskit.PROMETHEUS)
NO_PROMETHEUS = "prometheus not found at %s (Debian package prometheus)" % opskit.PROMETHEUS
if not HAVE_PROMETHEUS:
    print("test_prometheus_live: SKIPPED: " + NO_PROMETHEUS, flush=True)
MODE_RECORDS = ("record tensor_wasm:sli_latency_http_invoke_host:p95_5m",
                "record tensor_wasm:sli_latency_http_invoke_gpu:p95_5m")


def evaluate_all(tc, prom):
    """Query every SLI record and panel expression; fail listing every empty one."""
    records = {r["record"]: r["expr"] for _, r in opskit.load_rules() if "record" in r}
    exprs = opskit.expressions_to_evaluate(records, opskit.load_dashboards())
    empty, nan, mode_hits = [], [], []
    for where, expr in exprs:
        try:
            result = prom.query(expr)
        except RuntimeError as e:
            empty.append("%s: query failed: %s" % (where, e))
            continue
        if where in MODE_RECORDS:
            # Host-only and with-GPU invoke latency exist in exclusive windows: one of the two.
            if result:
                mode_hits.append(where)
            continue
        if not result:
            empty.append("%s: no data\n    %s" % (where, " ".join(expr.split())))
        elif all(r["value"][1] == "NaN" for r in result):
            nan.append(where)
    if len(mode_hits) != 1:
        empty.append("exactly one of %s must have data, got %s" % (MODE_RECORDS, mode_hits))
    if nan:
        print("\n  NaN (defined only once events happen): " + "; ".join(nan), flush=True)
    tc.assertFalse(empty, "%d of %d expressions returned no data:\n  %s" %
                   (len(empty), len(exprs), "\n  ".join(empty)))
    return len(exprs)


def check_rules_loaded(tc, prom):
    groups = prom.api("rules")["groups"]
    names = {g["name"] for g in groups}
    want = {g for g, _ in opskit.load_rules()}
    tc.assertEqual(names, want, "prometheus did not load every rule group")
    for g in groups:
        for r in g["rules"]:
            tc.assertNotEqual(r.get("health"), "err", "%s: %s" % (r["name"], r.get("lastError")))


def wait_for_scrapes_after(prom, t_wall, n=2, timeout_s=20):
    """Wait until Prometheus holds n scrapes of the target taken after wall time t_wall."""
    def done():
        window_ms = int((time.time() - t_wall) * 1000)
        if window_ms < 1:
            return False
        v = prom.value('count_over_time(up{job="tensor-wasm"}[%dms])' % window_ms)
        return v is not None and v >= n
    opskit.wait_until("%d scrapes after the traffic" % n, done, timeout_s, 0.2)


@unittest.skipUnless(HAVE_PROMETHEUS, NO_PROMETHEUS)
class TestPrometheusHarness(unittest.TestCase):
    def test_every_expression_has_data_on_a_contract_shaped_exposition(self):
        inventory = opskit.load_inventory()
        exporter = contract_exporter.ContractExporter(inventory)
        prom = None
        tmp = tempfile.mkdtemp(prefix="tw-prom-harness-")
        try:
            exporter.start()
            prom = opskit.Prometheus(tmp, "127.0.0.1:%d" % exporter.port)
            prom.start()
            opskit.wait_until("first scrape",
                              lambda: prom.value('up{job="tensor-wasm"}') == 1, 20, 0.2)
            wait_for_scrapes_after(prom, time.time(), n=2)
            check_rules_loaded(self, prom)
            n = evaluate_all(self, prom)
            self.assertGreater(n, 80)
        finally:
            if prom:
                prom.stop()
            exporter.stop()
            shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------------------------------------
# The real server

def wasm_module():
    """A module exporting add(i32,i32)->i32, trap() (unreachable) and spin() (endless loop)."""
    def vec(items):
        return bytes([len(items)]) + b"".join(items)

    def name(s):
        return bytes([len(s)]) + s.encode()

    def section(sid, body):
        return bytes([sid, len(body)]) + body
    types = vec([b"\x60\x02\x7f\x7f\x01\x7f", b"\x60\x00\x00"])
    funcs = vec([b"\x00", b"\x01", b"\x01"])
    exports = vec([name("add") + b"\x00\x00", name("trap") + b"\x00\x01",
                   name("spin") + b"\x00\x02"])
    bodies = [b"\x00\x20\x00\x20\x01\x6a\x0b",   # local.get 0, local.get 1, i32.add
              b"\x00\x00\x0b",                   # unreachable
              b"\x00\x03\x40\x0c\x00\x0b\x0b"]   # loop, br 0, end
    code = vec([bytes([len(b)]) + b for b in bodies])
    return (b"\x00asm\x01\x00\x00\x00" + section(1, types) + section(3, funcs) +
            section(7, exports) + section(10, code))


class Client:
    def __init__(self, port):
        self.port = port
        self.sent = 0

    def request(self, method, path, body=None, headers=None, timeout=15):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
            h = {"Content-Type": "application/json"} if data is not None else {}
            h.update(headers or {})
            try:
                conn.request(method, path, body=data, headers=h)
                r = conn.getresponse()
                self.sent += 1
                return r.status, r.read()
            except (socket.timeout, TimeoutError):
                raise AssertionError("no answer to %s %s within %ds" % (method, path, timeout))
        finally:
            conn.close()


def skip(tc, reason):
    """Skip with the reason printed: the suite runner shows only an 's' otherwise."""
    print("\n  %s: SKIPPED: %s" % (tc.id().rsplit(".", 1)[-1], reason), flush=True)
    tc.skipTest(reason)


def has_serve(binary):
    try:
        r = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return any(line.split()[:1] == ["serve"] for line in r.stdout.splitlines())


@unittest.skipUnless(HAVE_PROMETHEUS, NO_PROMETHEUS)
class TestPrometheusLive(unittest.TestCase):
    def test_every_sli_and_panel_has_data_from_the_real_server(self):
        binary = os.environ.get("TW_BINARY", "")
        if not binary or not os.access(binary, os.X_OK):
            skip(self, "TW_BINARY is not set to the tensor-wasm binary")
        if not has_serve(binary):
            skip(self, "the tensor-wasm binary has no 'serve' command yet")
        t0 = time.monotonic()
        tmp = tempfile.mkdtemp(prefix="tw-prom-live-")
        server = prom = None
        server_log = open(os.path.join(tmp, "server.log"), "w")
        try:
            port = opskit.free_port()
            # cwd is the temporary directory, so the default ./data store lands there.
            # Dev mode (no API tokens, open /metrics) whatever the caller's environment says.
            env = {k: v for k, v in os.environ.items()
                   if k not in ("TENSOR_WASM_API_TOKENS", "TENSOR_WASM_API_METRICS_TOKEN")}
            server = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:%d" % port,
                                       "--workers", "1"], cwd=tmp, env=env,
                                      stdin=subprocess.DEVNULL, stdout=server_log,
                                      stderr=subprocess.STDOUT)
            base = "http://127.0.0.1:%d" % port

            def up():
                if server.poll() is not None:
                    raise RuntimeError("server exited (%d): %s" % (server.returncode,
                                                                   self._log(tmp)))
                return opskit.http_get(base + "/healthz", timeout=1)[0] == 200
            opskit.wait_until("the server's /healthz", up, 15)

            status, body = opskit.http_get(base + "/metrics")
            if status == 404:
                skip(self, "the server has no /metrics yet (404)")
            self.assertEqual(status, 200, body[:300])
            declared = opskit.families_in_exposition(body.decode("utf-8", "replace"))
            missing = sorted(n for n in opskit.load_inventory() if n != "up" and
                             n not in declared)
            self.assertFalse(missing, "families in the inventory that /metrics does not "
                                      "declare (# TYPE): %s" % ", ".join(missing))

            c = Client(port)
            status, body = c.request("POST", "/functions", {
                "name": "operator-kit", "wasm_b64": base64.b64encode(wasm_module()).decode()})
            if status in (404, 405):
                skip(self, "the function API is not there yet (POST /functions: %d)" % status)
            self.assertEqual(status, 201, body[:300])
            fid = json.loads(body)["id"]

            prom = opskit.Prometheus(tmp, "127.0.0.1:%d" % port)
            prom.start()
            opskit.wait_until("first scrape",
                              lambda: prom.value('up{job="tensor-wasm"}') == 1, 20, 0.2)

            statuses = []
            invoke = "/functions/%s/invoke" % fid
            for i in range(5):
                statuses.append(c.request("POST", invoke, {"export": "add", "args": [i, 2]})[0])
                statuses.append(c.request("GET", "/healthz")[0])
            self.assertIn(200, statuses[::2], "no invoke of add succeeded: %s" % statuses)
            statuses.append(c.request("POST", invoke, {"export": "add", "args": ["x"]})[0])
            statuses.append(c.request("POST", invoke, {"export": "nope"})[0])
            statuses.append(c.request("POST", "/functions/ffffffffffffffff/invoke",
                                      {"export": "add", "args": [1, 2]})[0])
            statuses.append(c.request("POST", "/functions", {
                "name": "not-wasm", "wasm_b64": base64.b64encode(b"\0asm\x09garbage").decode()})[0])
            statuses.append(c.request("GET", "/no/such/route")[0])
            statuses.append(c.request("POST", invoke, {"export": "trap"})[0])
            statuses.append(c.request("POST", invoke, {"export": "spin"},
                                      headers={"X-TensorWasm-Deadline-Ms": "200"})[0])
            for _ in range(30):  # one tenant's burst, past the default bucket of 20
                statuses.append(c.request("GET", "/functions",
                                          headers={"X-TensorWasm-Tenant": "9"})[0])
            print("\n  traffic: %d requests, statuses %s" %
                  (c.sent, sorted(set(statuses))), flush=True)
            self.assertTrue(any(400 <= s < 500 for s in statuses), statuses)
            self.assertTrue(any(s >= 500 for s in statuses),
                            "neither the trap nor the deadline gave a 5xx: %s" % statuses)

            wait_for_scrapes_after(prom, time.time(), n=2)
            check_rules_loaded(self, prom)
            n = evaluate_all(self, prom)
            print("  %d expressions evaluated with data in %.1fs" % (n, time.monotonic() - t0),
                  flush=True)
        finally:
            if prom:
                prom.stop()
            opskit.stop_process(server)
            server_log.close()
            shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def _log(tmp):
        try:
            with open(os.path.join(tmp, "server.log")) as f:
                return f.read()[-3000:]
        except OSError:
            return ""


if __name__ == "__main__":
    unittest.main()
