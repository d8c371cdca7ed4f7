"""The operator's kit, checked statically: alert rules, their unit tests, dashboards, runbooks.

- `promtool check rules` on docs/alerts/tensor-wasm.rules.yml and `promtool test rules` on every
  docs/alerts/tests/*.yml (skipped, with the reason printed, only when promtool is absent);
- every alert has a severity, a runbook_url that resolves to a file, and that file has the
  sections a runbook needs; every runbook page belongs to an alert (or is rollback/paging);
- every dashboard is JSON that Grafana imports: __inputs with DS_PROMETHEUS, no pinned id/uid,
  templating with tenant and route, panels with unique ids and non-overlapping gridPos, targets
  with expr and refId, datasources that reference ${DS_PROMETHEUS};
- every panel expression, with Grafana's variables substituted, parses (written as recording rules
  into a temporary file for `promtool check rules`), and so does every ```promql block of the
  runbooks and docs/SLO.md;
- every metric name and selector label used anywhere belongs to the inventory in
  docs/dashboards/README.md, so a typo fails here rather than showing "No data" in production;
- rate()/increase() use $__rate_interval, except the documented SLO windows in SLO stat and
  burn-rate panels;
- the dashboards are what docs/dashboards/generate.py writes.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opskit  # noqa: E402

HAVE_PROMTOOL = os.path.exists(opskit.PROMTOOL) or shutil.which("promtool") is not None
PROMTOOL = opskit.PROMTOOL if os.path.exists(opskit.PROMTOOL) else shutil.which("promtool")
NO_PROMTOOL = "promtool not found at %s (Debian package prometheus)" % opskit.PROMTOOL

RUNBOOK_SECTIONS = ["## Meaning", "## First checks", "## Common causes", "## Mitigation",
                    "## Escalation"]
EXTRA_RUNBOOKS = {"rollback.md", "paging.md", "README.md"}
RANGE_FUNCS = {"rate", "irate", "increase", "delta", "idelta", "deriv"}


def promtool(*args, cwd=None):
    return subprocess.run([PROMTOOL] + list(args), capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def doc_promql():
    """(where, expr) for every ```promql block of the runbooks and the SLO document."""
    paths = sorted(glob.glob(os.path.join(opskit.RUNBOOKS, "*.md")))
    paths.append(os.path.join(opskit.DOCS, "SLO.md"))
    for path in paths:
        for i, block in enumerate(opskit.promql_blocks(path)):
            yield "%s block %d" % (os.path.relpath(path, opskit.ROOT), i + 1), block


if not HAVE_PROMTOOL:
    print("test_operator_kit: promtool checks SKIPPED: " + NO_PROMTOOL, flush=True)


class TestRules(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rules = opskit.load_rules()
        cls.alerts = [r for _, r in cls.rules if "alert" in r]
        cls.records = {r["record"]: r["expr"] for _, r in cls.rules if "record" in r}

    @unittest.skipUnless(HAVE_PROMTOOL, NO_PROMTOOL)
    def test_promtool_check_rules(self):
        r = promtool("check", "rules", opskit.RULES)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        m = re.search(r"SUCCESS: (\d+) rules found", r.stdout)
        self.assertTrue(m, r.stdout)
        self.assertEqual(int(m.group(1)), len(self.rules),
                         "promtool and our reader disagree on the number of rules")

    @unittest.skipUnless(HAVE_PROMTOOL, NO_PROMTOOL)
    def test_promtool_unit_tests(self):
        files = sorted(glob.glob(os.path.join(opskit.ALERT_TESTS, "*.yml")))
        self.assertGreaterEqual(len(files), 2)
        for path in files:
            with self.subTest(file=os.path.basename(path)):
                r = promtool("test", "rules", os.path.relpath(path, opskit.ALERT_TESTS),
                             cwd=opskit.ALERT_TESTS)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn("SUCCESS", r.stdout)

    def test_unit_tests_fix_the_group_order(self):
        """Without group_eval_order promtool evaluates groups in random order, and an alert may
        read a record from the previous tick: every test file lists every group, records first."""
        groups = []
        for g, _ in self.rules:
            if g not in groups:
                groups.append(g)
        for path in sorted(glob.glob(os.path.join(opskit.ALERT_TESTS, "*.yml"))):
            doc = opskit.load_yaml(path)
            self.assertEqual(doc.get("group_eval_order"), groups, os.path.basename(path))

    def test_every_alert_is_unit_tested_firing_and_silent(self):
        """Each alert appears in the unit tests at least once with alerts and once without."""
        text = ""
        for path in glob.glob(os.path.join(opskit.ALERT_TESTS, "*.yml")):
            with open(path) as f:
                text += f.read()
        cases = re.findall(r"alertname: (\w+)\n\s+exp_alerts:(.*?)(?=\n\s+- eval_time|\n\s*\n"
                           r"|\n\s+promql_expr_test|\n  - name|\Z)", text, re.S)
        firing, silent = set(), set()
        for name, body in cases:
            (silent if body.strip() == "[]" else firing).add(name)
        for a in self.alerts:
            self.assertIn(a["alert"], firing, "no unit test shows %s firing" % a["alert"])
            self.assertIn(a["alert"], silent, "no unit test shows %s silent" % a["alert"])

    def test_alerts_have_severity_and_runbook(self):
        self.assertGreaterEqual(len(self.alerts), 11)
        names = set()
        for a in self.alerts:
            name = a["alert"]
            with self.subTest(alert=name):
                self.assertNotIn(name, names, "duplicate alert name")
                names.add(name)
                self.assertIn(a.get("labels", {}).get("severity"), ("page", "ticket"))
                ann = a.get("annotations", {})
                for key in ("summary", "description", "runbook_url"):
                    self.assertTrue(ann.get(key), "missing annotation %s" % key)
                url = ann["runbook_url"]
                self.assertEqual(url, "docs/runbooks/%s.md" % name)
                path = os.path.join(opskit.ROOT, url)
                self.assertTrue(os.path.isfile(path), "runbook %s does not exist" % url)
                with open(path) as f:
                    text = f.read()
                self.assertTrue(text.startswith("# %s" % name), "%s must open with its alert "
                                "name as title" % url)
                for sec in RUNBOOK_SECTIONS:
                    self.assertIn(sec, text, "%s lacks section %r" % (url, sec))
                self.assertIn("```promql", text, "%s gives no PromQL to run" % url)

    def test_no_orphan_runbooks(self):
        alerts = {a["alert"] for a in self.alerts}
        for path in glob.glob(os.path.join(opskit.RUNBOOKS, "*.md")):
            base = os.path.basename(path)
            if base in EXTRA_RUNBOOKS:
                continue
            self.assertIn(base[:-3], alerts, "runbook %s has no alert" % base)
        for extra in ("rollback.md", "paging.md"):
            self.assertTrue(os.path.isfile(os.path.join(opskit.RUNBOOKS, extra)), extra)

    def test_burn_rate_windows_and_factors(self):
        """The three tiers of the SRE workbook, for both error-ratio SLOs."""
        want = [("Fast", "1h", "5m", "14.4", "page"), ("Medium", "6h", "30m", "6", "page"),
                ("Slow", "3d", "6h", "1", "ticket")]
        by_name = {a["alert"]: a for a in self.alerts}
        for slo, ratio, budget in (("Availability", "http_error_ratio", "0.005"),
                                   ("InvokeError", "invoke_error_ratio", "0.01")):
            for tier, long_w, short_w, factor, sev in want:
                a = by_name["TensorWasm%sBurn%s" % (slo, tier)]
                expr = " ".join(a["expr"].split())
                self.assertIn("tensor_wasm:%s:rate%s > (%s * %s)" % (ratio, long_w, factor,
                                                                     budget), expr)
                self.assertIn("tensor_wasm:%s:rate%s > (%s * %s)" % (ratio, short_w, factor,
                                                                     budget), expr)
                self.assertEqual(a["labels"]["severity"], sev)

    def test_metric_names_and_labels_in_inventory(self):
        inv = opskit.load_inventory()
        self.assertGreaterEqual(len(inv), 30)
        for name, expr in self.records.items():
            self.assertRegex(name, r"^tensor_wasm:[a-z0-9_]+:[a-z0-9_]+$")
        for _, r in self.rules:
            check_names(self, r.get("record") or r.get("alert"), r["expr"], inv, self.records)


def check_names(tc, where, expr, inv, records):
    facts = opskit.analyse(opskit.substitute(expr))
    all_labels = set(opskit.TARGET_LABELS) | {"le"}
    for fam in inv.values():
        all_labels |= fam.labels
    for m in facts.metrics:
        fam = opskit.resolve_metric(m, inv, records)
        tc.assertIsNotNone(fam, "%s: metric %r is not in the inventory of "
                                "docs/dashboards/README.md (typo?)" % (where, m))
    for metric, label, op, value in facts.selector_labels:
        if metric is None or metric in records:
            continue
        fam = opskit.resolve_metric(metric, inv, records)
        tc.assertIn(label, opskit.allowed_labels(metric, fam),
                    "%s: %s has no label %r" % (where, metric, label))
    for label in facts.grouping_labels:
        tc.assertIn(label, all_labels, "%s: grouping by unknown label %r" % (where, label))


class TestDashboards(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.boards = opskit.load_dashboards()
        cls.inventory = opskit.load_inventory()
        cls.records = {r["record"]: r["expr"] for _, r in opskit.load_rules() if "record" in r}

    def test_generated_files_are_current(self):
        r = subprocess.run([sys.executable, os.path.join(opskit.DASHBOARDS, "generate.py"),
                            "--check"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_structure(self):
        ds = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
        for name, d in self.boards.items():
            with self.subTest(dashboard=name):
                self.assertNotIn("uid", d, "pinned uid")
                self.assertIsNone(d.get("id"), "pinned id")
                self.assertTrue(d.get("title"))
                self.assertTrue(36 <= d["schemaVersion"] <= 39, d["schemaVersion"])
                inputs = {i["name"]: i for i in d["__inputs"]}
                self.assertIn("DS_PROMETHEUS", inputs)
                self.assertEqual(inputs["DS_PROMETHEUS"]["type"], "datasource")
                self.assertEqual(inputs["DS_PROMETHEUS"]["pluginId"], "prometheus")
                tvars = {v["name"]: v for v in d["templating"]["list"]}
                self.assertIn("tenant", tvars)
                self.assertIn("route", tvars)
                for v in tvars.values():
                    self.assertEqual(v["datasource"], ds)
                    self.assertTrue(v["query"]["query"].startswith("label_values("))
                ids = set()
                cells = []
                panels = list(d["panels"])
                self.assertGreater(len(panels), 3)
                while panels:
                    p = panels.pop(0)
                    panels.extend(p.get("panels", []))
                    where = "%s panel %s %r" % (name, p.get("id"), p.get("title"))
                    self.assertIsInstance(p.get("id"), int, where)
                    self.assertNotIn(p["id"], ids, where + ": duplicate id")
                    ids.add(p["id"])
                    self.assertTrue(p.get("type"), where)
                    self.assertTrue(p.get("title"), where)
                    g = p.get("gridPos")
                    self.assertIsInstance(g, dict, where + ": no gridPos")
                    for k in ("h", "w", "x", "y"):
                        self.assertIsInstance(g.get(k), int, where + ": gridPos." + k)
                    self.assertTrue(0 < g["w"] and g["x"] >= 0 and g["x"] + g["w"] <= 24, where)
                    for (x, y, w, h, other) in cells:
                        overlap = (g["x"] < x + w and x < g["x"] + g["w"] and
                                   g["y"] < y + h and y < g["y"] + g["h"])
                        self.assertFalse(overlap, "%s overlaps panel %s" % (where, other))
                    cells.append((g["x"], g["y"], g["w"], g["h"], p["id"]))
                    if p["type"] == "row":
                        self.assertFalse(p.get("targets"), where)
                        continue
                    self.assertEqual(p.get("datasource"), ds, where)
                    targets = p.get("targets") or []
                    self.assertTrue(targets, where + ": no targets")
                    refs = set()
                    for t in targets:
                        self.assertTrue(t.get("expr", "").strip(), where + ": empty expr")
                        self.assertTrue(t.get("refId"), where + ": no refId")
                        self.assertNotIn(t["refId"], refs, where + ": duplicate refId")
                        refs.add(t["refId"])
                        self.assertEqual(t.get("datasource"), ds, where)
                    if p["type"] == "stat":
                        steps = p["fieldConfig"]["defaults"]["thresholds"]["steps"]
                        self.assertIsNone(steps[0]["value"], where)
                text = json.dumps(d)
                self.assertNotRegex(text, r'"uid": "(?!\$\{DS_PROMETHEUS\}|-- Grafana --)',
                                    "a datasource uid other than ${DS_PROMETHEUS}")

    def test_slo_stat_thresholds_equal_targets(self):
        d = self.boards["tensor-wasm-overview.json"]
        stats = {p["title"]: p for p in d["panels"] if p["type"] == "stat"}
        want = {"Availability (30 d)": 0.995, "/healthz P95": 0.01, "Invoke P95": 0.1,
                "Kernel dispatch P95": 0.00005, "Invoke error rate (30 d)": 0.01}
        for title, target in want.items():
            steps = stats[title]["fieldConfig"]["defaults"]["thresholds"]["steps"]
            self.assertIn(target, [s["value"] for s in steps], title)

    def test_variables_and_windows(self):
        for name, p, t in opskit.panel_exprs(self.boards):
            expr = t["expr"]
            where = "%s / %s / %s" % (name, p["title"], t["refId"])
            # Multi-value variables only behind =~.
            uses = len(re.findall(r"\$\{?(tenant|route)\b", expr))
            good = 0
            for op, value in re.findall(r'(=~|!~|!=|=)\s*"([^"]*)"', expr):
                n = len(re.findall(r"\$\{?(tenant|route)\b", value))
                if n:
                    self.assertEqual(op, "=~", "%s: $var used with %s" % (where, op))
                    good += n
            self.assertEqual(uses, good, "%s: variable outside a =~ matcher" % where)
            facts = opskit.analyse(expr)
            fixed_ok = p["type"] == "stat" or "burn rate" in p["title"].lower()
            for rng in facts.ranges:
                if rng in ("$__rate_interval", "${__rate_interval}"):
                    continue
                self.assertTrue(fixed_ok and rng in opskit.SLO_WINDOWS,
                                "%s: range [%s] must be $__rate_interval (fixed SLO windows "
                                "only in SLO stat and burn-rate panels)" % (where, rng))
            if RANGE_FUNCS & set(facts.functions):
                self.assertTrue(facts.ranges, where)

    def test_metric_names_and_labels_in_inventory(self):
        for name, p, t in opskit.panel_exprs(self.boards):
            check_names(self, "%s / %s / %s" % (name, p["title"], t["refId"]), t["expr"],
                        self.inventory, {})
        for name, d in self.boards.items():
            for v in d["templating"]["list"]:
                m = re.match(r"label_values\((\w+),\s*(\w+)\)", v["query"]["query"])
                self.assertTrue(m, v["query"]["query"])
                fam = self.inventory.get(m.group(1))
                self.assertIsNotNone(fam, m.group(1))
                self.assertIn(m.group(2), fam.labels)

    def test_inventory_covers_the_contract(self):
        """The families the metrics contract promises are all in the inventory, and every
        inventory entry is used somewhere (no dead rows)."""
        contract = [
            "tensor_wasm_http_requests_total", "tensor_wasm_http_request_duration_seconds",
            "tensor_wasm_http_requests_in_flight", "tensor_wasm_active_instances",
            "tensor_wasm_instance_spawns_total", "tensor_wasm_instance_terminations_total",
            "tensor_wasm_kernel_dispatches_total", "tensor_wasm_kernel_latency_seconds",
            "tensor_wasm_offload_success_total", "tensor_wasm_offload_fallback_total",
            "tensor_wasm_gpu_memory_used_bytes", "tensor_wasm_gpu_memory_bytes_per_tenant",
            "tensor_wasm_jobs_active", "tensor_wasm_build_info",
            "tensor_wasm_snapshot_capture_seconds", "tensor_wasm_snapshot_restore_seconds",
            "tensor_wasm_snapshot_disk_round_trip_seconds", "tensor_wasm_jit_cache_warm_hit_total",
            "tensor_wasm_jit_cache_cold_miss_then_insert_total",
            "tensor_wasm_jit_emit_text_seconds", "tensor_wasm_backpressure_permits_used",
            "tensor_wasm_backpressure_permits_available", "process_cpu_seconds_total",
            "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"]
        for m in contract:
            self.assertIn(m, self.inventory)
        used = set()
        for _, _, t in opskit.panel_exprs(self.boards):
            used |= set(opskit.analyse(opskit.substitute(t["expr"])).metrics)
        for _, r in opskit.load_rules():
            used |= set(opskit.analyse(r["expr"]).metrics)
        for name in self.inventory:
            fam_used = any(u == name or u in (name + "_bucket", name + "_count", name + "_sum")
                           for u in used)
            self.assertTrue(fam_used, "inventory lists %s but nothing uses it" % name)

    @unittest.skipUnless(HAVE_PROMTOOL, NO_PROMTOOL)
    def test_every_expression_parses(self):
        """Panel expressions (variables substituted) and the docs' PromQL, through promtool."""
        records = []
        where = {}
        for name, p, t in opskit.panel_exprs(self.boards):
            rec = "dashboard_check:%s:p%d_%s" % (re.sub(r"\W", "_", name[:-5]), p["id"],
                                                 t["refId"])
            records.append((rec, opskit.substitute(t["expr"])))
            where[rec] = "%s / %s" % (name, p["title"])
        for i, (w, expr) in enumerate(doc_promql()):
            rec = "doc_check:block_%d" % i
            records.append((rec, expr))
            where[rec] = w
        self.assertGreater(len(records), 60)
        with tempfile.TemporaryDirectory(prefix="tw-opskit-") as tmp:
            path = os.path.join(tmp, "exprs.rules.yml")
            with open(path, "w") as f:
                f.write(opskit.yaml_rules_file(records))
            r = promtool("check", "rules", path)
            msg = r.stdout + r.stderr
            for rec, w in where.items():
                msg = msg.replace(rec, "%s (%s)" % (rec, w))
            self.assertEqual(r.returncode, 0, msg)
            self.assertIn("SUCCESS: %d rules found" % len(records), r.stdout)


GRAFANA_SCHEMA_DIR = os.environ.get("TW_GRAFANA_SCHEMA_DIR",
                                    os.path.join(opskit.ROOT, "build", "grafana-schema"))
GRAFANA_SCHEMA_INSTALL = ("npm install --prefix %s @grafana/schema@10.4 typescript@5.4"
                          % os.path.relpath(GRAFANA_SCHEMA_DIR, opskit.ROOT))


def grafana_schema_missing():
    if shutil.which("node") is None:
        return "node is not installed"
    for rel in ("node_modules/@grafana/schema/package.json", "node_modules/typescript/bin/tsc"):
        if not os.path.exists(os.path.join(GRAFANA_SCHEMA_DIR, rel)):
            return ("@grafana/schema and typescript are not installed in %s (to run this check: "
                    "%s)" % (GRAFANA_SCHEMA_DIR, GRAFANA_SCHEMA_INSTALL))
    return None


class TestDashboardsGrafanaSchema(unittest.TestCase):
    """The dashboards type-checked against Grafana's own schema types (the `Dashboard` type of
    @grafana/schema) with tsc. Optional: the packages come from npm, so this runs where they were
    installed (see GRAFANA_SCHEMA_INSTALL) and skips, saying so, elsewhere."""

    def test_dashboards_satisfy_the_grafana_schema_types(self):
        missing = grafana_schema_missing()
        if missing:
            print("\n  grafana schema check: SKIPPED: " + missing, flush=True)
            self.skipTest(missing)
        tmp = tempfile.mkdtemp(prefix="check-", dir=GRAFANA_SCHEMA_DIR)
        try:
            files = []
            for name, d in opskit.load_dashboards().items():
                # __inputs/__requires/__elements are import metadata, not the dashboard model.
                model = {k: v for k, v in d.items() if not k.startswith("__")}
                # ThresholdsMode is a TypeScript enum: its JSON string is not assignable as is.
                text = json.dumps(model, indent=1).replace('"mode": "absolute"',
                                                           '"mode": ThresholdsMode.Absolute')
                path = os.path.join(tmp, name[:-5].replace("-", "_") + ".ts")
                with open(path, "w") as f:
                    f.write("import { Dashboard, ThresholdsMode } from '@grafana/schema';\n"
                            "const d: Dashboard = %s;\nexport default d;\n" % text)
                files.append(path)
            tsc = os.path.join(GRAFANA_SCHEMA_DIR, "node_modules", "typescript", "bin", "tsc")
            r = subprocess.run(["node", tsc, "--noEmit", "--strict", "--skipLibCheck",
                                "--moduleResolution", "node"] + files, capture_output=True,
                               text=True, timeout=180, cwd=tmp)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class TestDocs(unittest.TestCase):
    def test_doc_promql_uses_known_metrics(self):
        inv = opskit.load_inventory()
        records = {r["record"]: r["expr"] for _, r in opskit.load_rules() if "record" in r}
        n = 0
        for w, expr in doc_promql():
            check_names(self, w, expr, inv, records)
            n += 1
        self.assertGreater(n, 20)

    def test_slo_document(self):
        with open(os.path.join(opskit.DOCS, "SLO.md")) as f:
            text = f.read()
        for sli in ("availability_http", "latency_http_healthz", "latency_http_invoke",
                    "latency_dispatch_serial", "error_rate_invoke"):
            self.assertIn(sli, text)
        for word in ("Measured / modeled", "Error budget", "Budget policy",
                     "Changing an SLO"):
            self.assertIn(word.lower(), text.lower(), "docs/SLO.md lacks %r" % word)
        records = {r["record"] for _, r in opskit.load_rules() if "record" in r}
        for rec in re.findall(r"`(tensor_wasm:[a-z0-9_:]+)`", text):
            self.assertIn(rec, records, "docs/SLO.md names a record the rules do not define")


if __name__ == "__main__":
    unittest.main()
