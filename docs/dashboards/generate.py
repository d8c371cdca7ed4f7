#!/usr/bin/env python3
"""Write the TensorWasm Grafana dashboards (docs/dashboards/tensor-wasm-*.json).

    docs/dashboards/generate.py          rewrite the three JSON files
    docs/dashboards/generate.py --check  exit 1 if a file differs from what would be written

The JSON files are what operators import; this script is their source so that panel ids, grid
positions, datasource references and variable matchers stay uniform. Edit here, regenerate, and
commit both (tests/integration/test_operator_kit.py fails when they disagree).

Conventions every expression follows (the tests check them):
- `$__rate_interval` in every rate()/increase() of a time-series panel; the SLO stat and burn-rate
  panels use the fixed SLO windows of docs/SLO.md (5m 30m 1h 6h 3d 30d).
- `$tenant` and `$route` are multi-value variables, so they are only used with `=~`.
- Series that exist only once something happened (a tenant's first instance, a first trap) fall
  back to `or on() vector(0)`: zero events is a true zero. Quantiles and ratios that are undefined
  without events fall back to NaN, never to a made-up 0.

Only Python's standard library is used.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DS = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}

INVOKE = "/functions/:id/invoke"
REQS = "tensor_wasm_http_requests_total"
DUR = "tensor_wasm_http_request_duration_seconds"


def zero(expr):
    return "%s or on() vector(0)" % expr


def nan(expr):
    return "%s or on() vector(NaN)" % expr


def p(q, metric, by="le", sel="", window="$__rate_interval"):
    return "histogram_quantile(%s, sum by (%s) (rate(%s_bucket%s[%s])))" % (q, by, metric, sel,
                                                                           window)


def err_ratio(window, route=None):
    r = 'route="%s",' % route if route else ""
    return ('(sum(rate(%s{%sstatus=~"5.."}[%s])) or vector(0)) / '
            'sum(rate(%s{%sstatus!~"4.."}[%s]))' % (REQS, r, window, REQS, r, window))


class Board:
    def __init__(self, title, description, tags):
        self.title = title
        self.description = description
        self.tags = tags
        self.panels = []
        self.next_id = 1
        self.x = 0
        self.y = 0
        self.row_h = 0
        self.kinds = set()

    def _place(self, w, h):
        if self.x + w > 24:
            self.x = 0
            self.y += self.row_h
            self.row_h = 0
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def row(self, title):
        if self.x:
            self.x = 0
            self.y += self.row_h
            self.row_h = 0
        self.panels.append({"id": self.next_id, "type": "row", "title": title, "collapsed": False,
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": []})
        self.next_id += 1
        self.y += 1

    def panel(self, kind, title, description, targets, w=8, h=8, unit=None, thresholds=None,
              options=None, field=None, min_=None, max_=None, decimals=None):
        self.kinds.add(kind)
        tg = []
        for i, t in enumerate(targets):
            expr, legend = t[0], t[1]
            extra = t[2] if len(t) > 2 else {}
            d = {"datasource": DS, "editorMode": "code", "expr": expr, "legendFormat": legend,
                 "range": True, "refId": chr(ord("A") + i)}
            if kind in ("stat", "table", "bargauge"):
                d["range"] = False
                d["instant"] = True
            d.update(extra)
            tg.append(d)
        defaults = {}
        if unit:
            defaults["unit"] = unit
        if decimals is not None:
            defaults["decimals"] = decimals
        if min_ is not None:
            defaults["min"] = min_
        if max_ is not None:
            defaults["max"] = max_
        if thresholds:
            defaults["thresholds"] = {"mode": "absolute", "steps": [
                {"color": c, "value": v} for c, v in thresholds]}
        if kind == "timeseries":
            defaults["custom"] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10,
                                  "showPoints": "never", "spanNulls": False}
        if field:
            defaults.update(field)
        opts = {}
        if kind == "timeseries":
            opts = {"legend": {"displayMode": "table", "placement": "bottom", "showLegend": True,
                               "calcs": ["mean", "max", "lastNotNull"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}}
        elif kind == "stat":
            opts = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "colorMode": "background", "graphMode": "none", "justifyMode": "auto",
                    "orientation": "auto", "textMode": "auto"}
        elif kind == "table":
            opts = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}}
        if options:
            opts.update(options)
        pnl = {"id": self.next_id, "type": kind, "title": title, "description": description,
               "datasource": DS, "gridPos": self._place(w, h), "targets": tg,
               "fieldConfig": {"defaults": defaults, "overrides": []}, "options": opts}
        if kind == "table":
            pnl["transformations"] = [{"id": "organize", "options": {
                                          "excludeByName": {"Time": True, "Value": True}}}]
        self.panels.append(pnl)
        self.next_id += 1

    def json(self):
        names = {"timeseries": "Time series", "stat": "Stat", "table": "Table",
                 "heatmap": "Heatmap"}
        requires = [{"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
                    {"type": "datasource", "id": "prometheus", "name": "Prometheus",
                     "version": "1.0.0"}]
        requires += [{"type": "panel", "id": k, "name": names[k], "version": ""}
                     for k in sorted(self.kinds)]
        var = {"type": "query", "datasource": DS, "hide": 0, "includeAll": True, "multi": True,
               "allValue": ".*", "options": [], "refresh": 2, "regex": "",
               "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
               "skipUrlSync": False, "sort": 1}
        tenant_q = "label_values(tensor_wasm_active_instances, tenant)"
        route_q = "label_values(%s, route)" % REQS
        templating = [
            dict(var, name="tenant", label="Tenant",
                 query={"query": tenant_q, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
                 description="Tenant ids (u64) seen on this fleet; matches `tenant` and "
                             "`tenant_id` labels."),
            dict(var, name="route", label="Route",
                 query={"query": route_q, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
                 description="Route templates of the HTTP router (`unknown` for unmatched paths)."),
        ]
        return {
            "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus",
                          "description": "The Prometheus that scrapes the tensor-wasm servers",
                          "type": "datasource", "pluginId": "prometheus",
                          "pluginName": "Prometheus"}],
            "__elements": {},
            "__requires": requires,
            "annotations": {"list": [{
                "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                "name": "Annotations & Alerts", "type": "dashboard"}]},
            "description": self.description,
            "editable": True,
            "fiscalYearStartMonth": 0,
            "graphTooltip": 1,
            "links": [{"asDropdown": True, "icon": "external link", "includeVars": True,
                       "keepTime": True, "tags": ["tensor-wasm"], "targetBlank": False,
                       "title": "TensorWasm", "tooltip": "", "type": "dashboards", "url": ""}],
            "liveNow": False,
            "panels": self.panels,
            "refresh": "30s",
            "schemaVersion": 38,
            "tags": self.tags,
            "templating": {"list": templating},
            "time": {"from": "now-6h", "to": "now"},
            "timepicker": {},
            "timezone": "",
            "title": self.title,
            "version": 1,
            "weekStart": "",
        }


# ----------------------------------------------------------------------------------------------

def overview():
    b = Board("TensorWasm / Overview",
              "Service level indicators, traffic, tenants, snapshots, JIT and back-pressure of "
              "a TensorWasm fleet. SLOs: docs/SLO.md. Alerts: docs/alerts/.",
              ["tensor-wasm"])
    red_green = lambda target: [("red", None), ("green", target)]
    green_red = lambda target: [("green", None), ("red", target)]

    b.row("Service level indicators (SLO targets as thresholds)")
    b.panel("stat", "Availability (30 d)",
            "availability_http: valid requests (4xx and 429 excluded) answered without a 5xx, "
            "over the 30-day SLO window. Target 99.5%.",
            [("1 - (%s)" % err_ratio("30d").replace("rate(", "increase("), "availability")],
            w=5, h=5, unit="percentunit", decimals=3, thresholds=red_green(0.995))
    b.panel("stat", "/healthz P95",
            "latency_http_healthz: P95 of GET /healthz over the last 5 minutes. Target 10 ms.",
            [(p(0.95, DUR, sel='{route="/healthz"}', window="5m"), "P95")],
            w=5, h=5, unit="s", thresholds=green_red(0.01))
    b.panel("stat", "Invoke P95",
            "latency_http_invoke: P95 of POST /functions/:id/invoke over the last 5 minutes. "
            "Target 100 ms host-only (green), 500 ms while kernels are dispatched to a GPU "
            "(yellow is within target only then; see 'Kernel dispatches/s').",
            [(p(0.95, DUR, sel='{route="%s"}' % INVOKE, window="5m"), "P95")],
            w=5, h=5, unit="s", thresholds=[("green", None), ("yellow", 0.1), ("red", 0.5)])
    b.panel("stat", "Kernel dispatch P95",
            "latency_dispatch_serial: P95 of tensor_wasm_kernel_latency_seconds over the last 5 "
            "minutes. Target 50 us. NaN while no kernel ran in the window.",
            [(p(0.95, "tensor_wasm_kernel_latency_seconds", window="5m"), "P95")],
            w=5, h=5, unit="s", thresholds=green_red(0.00005))
    b.panel("stat", "Invoke error rate (30 d)",
            "error_rate_invoke: valid invocations answered with a 5xx (504 invoke_timeout "
            "included) over the 30-day SLO window. Target at most 1%.",
            [(err_ratio("30d", INVOKE).replace("rate(", "increase("), "errors")],
            w=4, h=5, unit="percentunit", decimals=3, thresholds=green_red(0.01))

    b.row("Build and process")
    b.panel("table", "Build identity",
            "tensor_wasm_build_info (value 1) of every scraped server.",
            [("max by (instance, version, git_sha, compiler, profile, target) "
              "(tensor_wasm_build_info)", "", {"format": "table"})], w=12, h=5)
    b.panel("stat", "Uptime", "Since process start, per server.",
            [("time() - process_start_time_seconds{job=\"tensor-wasm\"}", "{{instance}}")],
            w=4, h=5, unit="s", thresholds=[("green", None)])
    b.panel("stat", "Resident memory", "process_resident_memory_bytes per server.",
            [("process_resident_memory_bytes{job=\"tensor-wasm\"}", "{{instance}}")],
            w=4, h=5, unit="bytes", thresholds=[("green", None)])
    b.panel("stat", "Open file descriptors", "process_open_fds per server.",
            [("process_open_fds{job=\"tensor-wasm\"}", "{{instance}}")],
            w=4, h=5, unit="short", thresholds=[("green", None)])
    b.panel("timeseries", "CPU (cores)", "process_cpu_seconds_total as cores busy, per server.",
            [("rate(process_cpu_seconds_total{job=\"tensor-wasm\"}[$__rate_interval])",
              "{{instance}}")], w=24, h=6, unit="short")

    b.row("HTTP traffic")
    b.panel("timeseries", "Requests/s by route", "All requests, by route template.",
            [("sum by (route) (rate(%s{route=~\"$route\"}[$__rate_interval]))" % REQS,
              "{{route}}")], unit="reqps")
    b.panel("timeseries", "Requests/s by status", "All requests of the selected routes, by status.",
            [("sum by (status) (rate(%s{route=~\"$route\"}[$__rate_interval]))" % REQS,
              "{{status}}")], unit="reqps")
    b.panel("timeseries", "5xx/s by route and status", "Server errors (these spend the budget).",
            [(zero("sum by (route, status) (rate(%s{route=~\"$route\",status=~\"5..\"}"
                   "[$__rate_interval]))" % REQS), "{{route}} {{status}}")], unit="reqps")
    b.panel("timeseries", "Latency P50 / P95 / P99 by route",
            "From tensor_wasm_http_request_duration_seconds (buckets from 5 us to 10 s).",
            [(p(q, DUR, by="le, route", sel='{route=~"$route"}'), "P%s {{route}}" % n)
             for q, n in ((0.5, "50"), (0.95, "95"), (0.99, "99"))], w=16, unit="s")
    b.panel("timeseries", "In flight by route", "Requests being served now.",
            [(zero("sum by (route) (tensor_wasm_http_requests_in_flight{route=~\"$route\"})"),
              "{{route}}")], unit="short")

    b.row("Tenants and instances")
    b.panel("timeseries", "Active instances by tenant", "Instances checked out of the pools.",
            [(zero("sum by (tenant) (tensor_wasm_active_instances{tenant=~\"$tenant\"})"),
              "tenant {{tenant}}")], unit="short")
    b.panel("timeseries", "GPU memory by tenant", "Device memory held for each tenant.",
            [(zero("sum by (tenant_id) (tensor_wasm_gpu_memory_bytes_per_tenant"
                   "{tenant_id=~\"$tenant\"})"), "tenant {{tenant_id}}")], unit="bytes")
    b.panel("timeseries", "Kernel dispatches/s by tenant", "GPU kernel launches.",
            [(zero("sum by (tenant) (rate(tensor_wasm_kernel_dispatches_total{tenant=~\"$tenant\"}"
                   "[$__rate_interval]))"), "tenant {{tenant}}")], unit="ops")
    b.panel("timeseries", "Instance spawns and terminations/s", "Instance churn.",
            [("sum(rate(tensor_wasm_instance_spawns_total[$__rate_interval]))", "spawns"),
             ("sum(rate(tensor_wasm_instance_terminations_total[$__rate_interval]))",
              "terminations")], w=12, unit="ops")
    b.panel("timeseries", "Async jobs active", "Jobs accepted by invoke-async and not finished.",
            [("sum(tensor_wasm_jobs_active)", "jobs")], w=12, unit="short")

    b.row("Snapshots")
    snaps = (("capture", "tensor_wasm_snapshot_capture_seconds"),
             ("restore", "tensor_wasm_snapshot_restore_seconds"),
             ("disk round trip", "tensor_wasm_snapshot_disk_round_trip_seconds"))
    b.panel("timeseries", "Snapshot P95", "NaN while no snapshot was taken in the window.",
            [(p(0.95, m), "P95 " + n) for n, m in snaps], w=12, unit="s")
    b.panel("timeseries", "Snapshots/s", "Captures, restores and disk round trips.",
            [("sum(rate(%s_count[$__rate_interval]))" % m, n) for n, m in snaps], w=12,
            unit="ops")

    b.row("JIT")
    hit = "sum(rate(tensor_wasm_jit_cache_warm_hit_total[$__rate_interval]))"
    miss = "sum(rate(tensor_wasm_jit_cache_cold_miss_then_insert_total[$__rate_interval]))"
    b.panel("timeseries", "Blueprint cache hit ratio",
            "Warm hits / (warm hits + cold misses). NaN while the cache was not consulted.",
            [("%s / (%s + %s)" % (hit, hit, miss), "hit ratio")], unit="percentunit",
            min_=0, max_=1)
    b.panel("timeseries", "Blueprint cache lookups/s", "Warm hits and cold misses (then insert).",
            [(hit, "warm hit"), (miss, "cold miss then insert")], unit="ops")
    b.panel("timeseries", "PTX text emit time P95 by blueprint",
            "tensor_wasm_jit_emit_text_seconds. NaN while nothing was emitted in the window.",
            [(nan(p(0.95, "tensor_wasm_jit_emit_text_seconds", by="le, blueprint")),
              "{{blueprint}}")], unit="s")

    b.row("GPU back-pressure")
    b.panel("timeseries", "Back-pressure permits", "The GPU launch semaphore: used and free.",
            [("sum(tensor_wasm_backpressure_permits_used)", "used"),
             ("sum(tensor_wasm_backpressure_permits_available)", "available")], w=24, h=6,
            unit="short")

    b.row("Trace export")
    b.panel("timeseries", "Spans exported and dropped/s",
            "What the OTLP exporter sent, and what it dropped by reason: ring_full means it "
            "fell behind (lower TENSOR_WASM_TRACE_SAMPLE_RATIO), export_failed that the "
            "collector refused or was unreachable. All zero when no endpoint is configured.",
            [("sum(rate(tensor_wasm_trace_spans_exported_total[$__rate_interval]))",
              "exported"),
             (zero("sum by (reason) (rate(tensor_wasm_trace_spans_dropped_total"
                   "[$__rate_interval]))"), "dropped {{reason}}")], w=24, h=6, unit="ops")

    b.row("Error budget burn rate (1 = spending exactly the budget)")
    burn_lines = {"custom": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 0,
                             "showPoints": "never", "spanNulls": False,
                             "thresholdsStyle": {"mode": "line"}}}
    thr = [("green", None), ("orange", 1), ("red", 6), ("dark-red", 14.4)]
    b.panel("timeseries", "Availability burn rate",
            "5xx ratio / 0.5% budget over the alert windows: pages above 14.4 (1h and 5m) and "
            "6 (6h and 30m), ticket above 1 (3d and 6h).",
            [("(%s) / 0.005" % err_ratio(w), w) for w in ("5m", "30m", "1h", "6h", "3d")],
            w=12, unit="short", thresholds=thr, field=burn_lines)
    b.panel("timeseries", "Invoke error burn rate",
            "Invoke 5xx ratio / 1% budget over the alert windows.",
            [("(%s) / 0.01" % err_ratio(w, INVOKE), w) for w in ("5m", "30m", "1h", "6h", "3d")],
            w=12, unit="short", thresholds=thr, field=burn_lines)
    return b


def security():
    b = Board("TensorWasm / Security",
              "Authentication and tenant-scope denials, rate limiting, guest traps, deadlines "
              "and rejected modules and PTX.", ["tensor-wasm", "security"])
    b.row("Access control")
    b.panel("timeseries", "Auth denials/s by reason",
            "tensor_wasm_auth_denials_total: 401 (unauthorized, invalid_auth) and 403 "
            "(tenant_scope_denied) refusals, by the error kind.",
            [(zero("sum by (reason) (rate(tensor_wasm_auth_denials_total[$__rate_interval]))"),
              "{{reason}}")], w=12)
    b.panel("timeseries", "401 / 403 responses/s by route", "As the HTTP layer counted them.",
            [(zero("sum by (route, status) (rate(%s{route=~\"$route\",status=~\"401|403\"}"
                   "[$__rate_interval]))" % REQS), "{{route}} {{status}}")], w=12, unit="reqps")
    b.panel("timeseries", "Tenant-scope denials/s",
            "A token used for a tenant outside its scope (403 before any 404).",
            [(zero("sum(rate(tensor_wasm_auth_denials_total{reason=\"tenant_scope_denied\"}"
                   "[$__rate_interval]))"), "tenant_scope_denied")], w=12, unit="ops")
    b.panel("timeseries", "Tenant header errors/s",
            "missing_tenant, invalid_tenant, duplicate_tenant_header.",
            [(zero("sum by (reason) (rate(tensor_wasm_auth_denials_total{reason=~"
                   "\"missing_tenant|invalid_tenant|duplicate_tenant_header\"}"
                   "[$__rate_interval]))"), "{{reason}}")], w=12, unit="ops")

    b.row("Rate limiting and capacity")
    b.panel("timeseries", "Rate-limited requests/s by tenant", "Token bucket refusals (429).",
            [(zero("sum by (tenant) (rate(tensor_wasm_rate_limited_total{tenant=~\"$tenant\"}"
                   "[$__rate_interval]))"), "tenant {{tenant}}")], w=12, unit="reqps")
    b.panel("timeseries", "429 and 503 responses/s",
            "429 rate_limited and 503 capacity_exhausted as answered.",
            [(zero("sum by (status) (rate(%s{route=~\"$route\",status=~\"429|503\"}"
                   "[$__rate_interval]))" % REQS), "{{status}}")], w=12, unit="reqps")

    b.row("Guests")
    b.panel("timeseries", "Guest traps/s by kind", "tensor_wasm_guest_traps_total.",
            [(zero("sum by (kind) (rate(tensor_wasm_guest_traps_total[$__rate_interval]))"),
              "{{kind}}")], w=12, unit="ops")
    b.panel("timeseries", "Deadline and fuel exhaustion/s",
            "504 invoke_timeout answers, and traps whose kind is a deadline or fuel exhaustion.",
            [(zero("sum(rate(%s{route=~\"/functions/:id/invoke.*\",status=\"504\"}"
                   "[$__rate_interval]))" % REQS), "504 invoke_timeout"),
             (zero("sum by (kind) (rate(tensor_wasm_guest_traps_total{kind=~\"deadline.*|fuel.*\"}"
                   "[$__rate_interval]))"), "trap {{kind}}")], w=12, unit="ops")

    b.row("Rejected code")
    b.panel("timeseries", "Rejected modules/s",
            "Deploys refused: 400 invalid_wasm (decode or validation), 413 module or memory too "
            "large.",
            [(zero("sum by (status) (rate(%s{route=\"/functions\",method=\"POST\","
                   "status=~\"400|413\"}[$__rate_interval]))" % REQS), "{{status}}")], w=12,
            unit="ops")
    b.panel("timeseries", "Rejected PTX and offload refusals/s",
            "tensor_wasm_offload_fallback_total by reason: a kernel the driver refused, or a "
            "loop the interpreter kept.",
            [(zero("sum by (reason) (rate(tensor_wasm_offload_fallback_total[$__rate_interval]))"),
              "{{reason}}")], w=12, unit="ops")
    return b


def gpu():
    b = Board("TensorWasm / GPU",
              "Kernel dispatch, offload decisions, device memory per tenant and back-pressure.",
              ["tensor-wasm", "gpu"])
    total = "(sum(tensor_wasm_gpu_memory_total_bytes) or on() vector(0))"
    used = "(sum(tensor_wasm_gpu_memory_used_bytes) or on() vector(0))"
    b.row("Device")
    b.panel("table", "Devices",
            "tensor_wasm_gpu_device_info; one row 'no GPU' where the driver found no device.",
            [("max by (instance, name, compute_capability) (tensor_wasm_gpu_device_info) "
              "or on() label_replace(vector(0), \"name\", \"no GPU\", \"\", \"\")", "",
              {"format": "table"})], w=12, h=6)
    b.panel("stat", "Device memory", "Total device memory of all GPUs (0 without a GPU).",
            [(total, "total")], w=4, h=6, unit="bytes", thresholds=[("green", None)])
    b.panel("stat", "Memory used", "tensor_wasm_gpu_memory_used_bytes.",
            [(used, "used")], w=4, h=6, unit="bytes", thresholds=[("green", None)])
    b.panel("stat", "Headroom", "Device total minus used.",
            [("%s - %s" % (total, used), "headroom")], w=4, h=6, unit="bytes",
            thresholds=[("red", None), ("green", 268435456)])

    b.row("Dispatch")
    b.panel("timeseries", "Kernel dispatches/s",
            "All tenants and the selected ones.",
            [(zero("sum(rate(tensor_wasm_kernel_dispatches_total[$__rate_interval]))"), "all"),
             (zero("sum by (tenant) (rate(tensor_wasm_kernel_dispatches_total{tenant=~\"$tenant\"}"
                   "[$__rate_interval]))"), "tenant {{tenant}}")], w=12, unit="ops")
    b.panel("timeseries", "Kernel latency P50 / P95 / P99",
            "tensor_wasm_kernel_latency_seconds; the SLO is P95 at most 50 us.",
            [(p(q, "tensor_wasm_kernel_latency_seconds"), "P" + n)
             for q, n in ((0.5, "50"), (0.95, "95"), (0.99, "99"))], w=12, unit="s")
    b.panel("heatmap", "Kernel latency distribution",
            "Dispatches per latency bucket (10 us to 10 s).",
            [("sum by (le) (increase(tensor_wasm_kernel_latency_seconds_bucket"
              "[$__rate_interval]))", "{{le}}", {"format": "heatmap"})], w=24, h=8,
            options={"calculate": False, "cellGap": 1, "color": {"mode": "scheme",
                     "scheme": "Oranges", "exponent": 0.5, "fill": "dark-orange",
                     "reverse": False, "steps": 64},
                     "yAxis": {"axisPlacement": "left", "unit": "s"},
                     "rowsFrame": {"layout": "auto"}, "legend": {"show": True},
                     "tooltip": {"show": True, "yHistogram": False}})

    b.row("Offload")
    succ = "sum(rate(tensor_wasm_offload_success_total[$__rate_interval]))"
    fall = "(sum(rate(tensor_wasm_offload_fallback_total[$__rate_interval])) or on() vector(0))"
    b.panel("timeseries", "Offload success vs fallback/s",
            "Loops run as kernels, and loops the interpreter ran itself, by reason.",
            [(succ, "success"),
             (zero("sum by (reason) (rate(tensor_wasm_offload_fallback_total"
                   "[$__rate_interval]))"), "fallback {{reason}}")], w=12, unit="ops")
    b.panel("timeseries", "Offload success ratio",
            "success / (success + fallback); NaN while no offload was decided.",
            [("%s / (%s + %s)" % (succ, succ, fall), "success ratio")], w=12,
            unit="percentunit", min_=0, max_=1)

    b.row("Guest CUDA calls (wasi_cuda)")
    b.panel("timeseries", "wasi_cuda calls/s by result",
            "Calls of the guest CUDA ABI by their status: quota_exceeded are tenant quota "
            "denials, launch_failed kernel errors, not_available calls on a server without a GPU.",
            [(zero("sum by (result) (rate(tensor_wasm_wasi_cuda_calls_total"
                   "[$__rate_interval]))"), "{{result}}")], w=12, unit="ops")
    b.panel("timeseries", "wasi_cuda errors/s by function",
            "Calls that returned an error code, by function.",
            [(zero("sum by (function) (rate(tensor_wasm_wasi_cuda_calls_total{result!=\"ok\"}"
                   "[$__rate_interval]))"), "{{function}}")], w=12, unit="ops")

    b.row("Memory and back-pressure")
    b.panel("timeseries", "GPU memory by tenant", "tensor_wasm_gpu_memory_bytes_per_tenant.",
            [(zero("sum by (tenant_id) (tensor_wasm_gpu_memory_bytes_per_tenant"
                   "{tenant_id=~\"$tenant\"})"), "tenant {{tenant_id}}")], w=12, unit="bytes")
    b.panel("timeseries", "Memory used and headroom", "Against the devices' total.",
            [(used, "used"), ("%s - %s" % (total, used), "headroom"), (total, "total")],
            w=12, unit="bytes")
    b.panel("timeseries", "Back-pressure permits", "Launch semaphore: used and free.",
            [("sum(tensor_wasm_backpressure_permits_used)", "used"),
             ("sum(tensor_wasm_backpressure_permits_available)", "available")], w=12,
            unit="short")
    b.panel("timeseries", "Back-pressure utilisation",
            "used / (used + available); NaN before the GPU layer sized the semaphore.",
            [("sum(tensor_wasm_backpressure_permits_used) / (sum(tensor_wasm_backpressure_"
              "permits_used) + sum(tensor_wasm_backpressure_permits_available))", "utilisation")],
            w=12, unit="percentunit", min_=0, max_=1)
    return b


BOARDS = {"tensor-wasm-overview.json": overview, "tensor-wasm-security.json": security,
          "tensor-wasm-gpu.json": gpu}


def render(fn):
    return json.dumps(fn().json(), indent=2, ensure_ascii=False) + "\n"


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for name, fn in BOARDS.items():
        path = os.path.join(HERE, name)
        text = render(fn)
        old = open(path).read() if os.path.exists(path) else None
        if old != text:
            stale.append(name)
            if not check:
                with open(path, "w") as f:
                    f.write(text)
    if check and stale:
        print("stale (run docs/dashboards/generate.py): " + " ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
