"""A stand-in exporter that serves every family of the metrics contract, for the harness check.

test_prometheus_live.py runs the same Prometheus harness twice: against the real tensor-wasm
server (the proof the dashboards and rules work on what we emit), and against this exporter,
which serves each family of the inventory in docs/dashboards/README.md with the names, types and
labels the contract gives them, and values that grow at every scrape. The second run proves the
harness itself (Prometheus start-up, scraping, polling, evaluation of every expression) while the
server's /metrics does not exist yet, and keeps proving that every expression returns data on an
exposition shaped like the contract. It is not evidence about the server: only the first run is.

Runs in a thread of the test process (ThreadingHTTPServer); stop() shuts it down.
"""

import http.server
import threading

# Bucket bounds of the contract: those the SLOs rely on, plus finer ones below 1 ms for HTTP.
HTTP_BUCKETS = [5e-06, 1e-05, 2.5e-05, 5e-05, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.01, 0.025,
                0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
KERNEL_BUCKETS = [1e-05, 5e-05, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10]

# Label sets per family where one series is not enough to feed the panels and records.
SERIES = {
    "tensor_wasm_http_requests_total": [
        {"route": "/healthz", "method": "GET", "status": "200"},
        {"route": "/functions/:id/invoke", "method": "POST", "status": "200"},
        {"route": "/functions/:id/invoke", "method": "POST", "status": "504"},
        {"route": "/functions", "method": "POST", "status": "400"},
        {"route": "unknown", "method": "GET", "status": "404"},
    ],
    "tensor_wasm_http_request_duration_seconds": [
        {"route": "/healthz", "method": "GET", "status": "200"},
        {"route": "/functions/:id/invoke", "method": "POST", "status": "200"},
    ],
}
VALUES = {"route": "/healthz", "method": "GET", "status": "200", "tenant": "0", "tenant_id": "0",
          "reason": "tenant_scope_denied", "kind": "unreachable", "blueprint": "saxpy_f32",
          "device": "0", "name": "stand-in device", "compute_capability": "9.0", "version": "0.1.0",
          "git_sha": "0000000", "compiler": "clang 14", "profile": "release",
          "target": "x86_64-linux-gnu", "function": "launch", "result": "not_available"}


def _labels(d):
    if not d:
        return ""
    return "{" + ",".join('%s="%s"' % (k, v) for k, v in sorted(d.items())) + "}"


def exposition(families, n):
    """Text exposition 0.0.4 of every family after n scrapes' worth of activity."""
    out = []
    for fam in families.values():
        if fam.name == "up":
            continue
        kind = {"counter": "counter", "gauge": "gauge", "histogram": "histogram"}[fam.type]
        out.append("# HELP %s Stand-in series of the metrics contract." % fam.name)
        out.append("# TYPE %s %s" % (fam.name, kind))
        label_sets = SERIES.get(fam.name) or [{k: VALUES[k] for k in sorted(fam.labels)}]
        for ls in label_sets:
            if kind == "counter":
                out.append("%s%s %d" % (fam.name, _labels(ls), 3 * n))
            elif kind == "gauge":
                out.append("%s%s %d" % (fam.name, _labels(ls), 1 if n else 0))
            else:
                kernel = "kernel" in fam.name
                bounds = KERNEL_BUCKETS if kernel else HTTP_BUCKETS
                obs = 3e-05 if kernel else 0.003
                count = 4 * n
                for b in bounds:
                    out.append("%s_bucket%s %d" % (fam.name, _labels(dict(ls, le="%g" % b)),
                                                   count if obs <= b else 0))
                out.append("%s_bucket%s %d" % (fam.name, _labels(dict(ls, le="+Inf")), count))
                out.append("%s_sum%s %r" % (fam.name, _labels(ls), obs * count))
                out.append("%s_count%s %d" % (fam.name, _labels(ls), count))
    return "\n".join(out) + "\n"


class ContractExporter:
    def __init__(self, families):
        self.families = families
        self.scrapes = 0
        self.lock = threading.Lock()
        exporter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/metrics":
                    with exporter.lock:
                        exporter.scrapes += 1
                        body = exposition(exporter.families, exporter.scrapes).encode()
                    ctype = "text/plain; version=0.0.4; charset=utf-8"
                elif self.path == "/healthz":
                    body, ctype = b'{"status":"ok"}', "application/json"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, fmt, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
