"""Shared helpers for the operator's-kit tests (alert rules, dashboards, runbooks, SLO doc).

Not a test module itself (no test_ prefix). Only Python's standard library is used, so the rules
file is read with a small parser for the block-style YAML subset it is written in: mappings,
sequences, `|` block scalars, quoted and plain scalars, and one-line `{k: v}` mappings and
`[a, b]` sequences. Anything
outside that subset raises, so a change of style fails loudly instead of being misread.
"""

import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = os.path.join(ROOT, "docs")
RULES = os.path.join(DOCS, "alerts", "tensor-wasm.rules.yml")
ALERT_TESTS = os.path.join(DOCS, "alerts", "tests")
DASHBOARDS = os.path.join(DOCS, "dashboards")
DASHBOARD_FILES = ["tensor-wasm-overview.json", "tensor-wasm-security.json",
                   "tensor-wasm-gpu.json"]
RUNBOOKS = os.path.join(DOCS, "runbooks")
PROMTOOL = os.environ.get("TW_PROMTOOL", "/usr/bin/promtool")
PROMETHEUS = os.environ.get("TW_PROMETHEUS", "/usr/bin/prometheus")

# The SLO windows of docs/SLO.md: the only fixed ranges a dashboard may use, and only in its SLO
# stat panels and burn-rate panels; everything else uses $__rate_interval.
SLO_WINDOWS = {"5m", "30m", "1h", "6h", "3d", "30d"}

# Labels every scraped series carries, whatever its family.
TARGET_LABELS = {"job", "instance"}


# ----------------------------------------------------------------------------------------------
# A small YAML subset reader

class YamlError(ValueError):
    pass


def _scalar(text, where):
    text = text.strip()
    if text.startswith('"'):
        if not text.endswith('"') or len(text) < 2:
            raise YamlError("%s: unterminated double-quoted scalar" % where)
        try:
            return json.loads(text)
        except ValueError as e:
            raise YamlError("%s: double-quoted scalar: %s" % (where, e))
    if text.startswith("'"):
        if not text.endswith("'") or len(text) < 2:
            raise YamlError("%s: unterminated single-quoted scalar" % where)
        return text[1:-1].replace("''", "'")
    if text.startswith("{"):
        if not text.endswith("}"):
            raise YamlError("%s: flow mapping must fit on one line" % where)
        out = {}
        body = text[1:-1].strip()
        if body:
            for part in body.split(","):
                k, sep, v = part.partition(":")
                if not sep:
                    raise YamlError("%s: bad flow mapping entry %r" % (where, part))
                out[k.strip()] = _scalar(v, where)
        return out
    if text.startswith("[") and text.endswith("]") and "[" not in text[1:] and "{" not in text:
        body = text[1:-1].strip()
        return [_scalar(v, where) for v in body.split(",")] if body else []
    if text.startswith(("[", "&", "*", "!", "|", ">")):
        raise YamlError("%s: unsupported YAML construct %r" % (where, text))
    m = re.search(r"\s#", text)
    if m:
        text = text[:m.start()].rstrip()
    return text


def load_yaml(path):
    """Parse the block-style YAML subset of our rules file into dicts, lists and strings."""
    with open(path) as f:
        raw = f.read().split("\n")
    lines = []  # (indent, text, lineno), comments and blank lines dropped except in scalars
    for no, line in enumerate(raw, 1):
        if "\t" in line[:len(line) - len(line.lstrip())]:
            raise YamlError("%s:%d: tab in indentation" % (path, no))
        lines.append((len(line) - len(line.lstrip(" ")), line, no))
    pos = [0]

    def skip_blank():
        while pos[0] < len(lines):
            _, line, _ = lines[pos[0]]
            s = line.strip()
            if s and not s.startswith("#"):
                return True
            pos[0] += 1
        return False

    def block_scalar(parent_indent, keep_final):
        out = []
        indent = None
        while pos[0] < len(lines):
            ind, line, _ = lines[pos[0]]
            if line.strip() == "":
                out.append("")
                pos[0] += 1
                continue
            if ind <= parent_indent:
                break
            if indent is None:
                indent = ind
            out.append(line[indent:] if ind >= indent else line.strip())
            pos[0] += 1
        while out and out[-1] == "":
            out.pop()
        return "\n".join(out) + ("\n" if keep_final and out else "")

    def value_after(rest, indent, where):
        rest = rest.strip()
        if rest in ("|", "|-"):
            return block_scalar(indent, rest == "|")
        if rest == "" or rest.startswith("#"):
            if not skip_blank():
                return None
            ind = lines[pos[0]][0]
            text = lines[pos[0]][1].strip()
            if ind > indent or (ind == indent and text.startswith("- ")):
                return node(ind)
            return None
        return _scalar(rest, where)

    def mapping_entry(text, indent, where, into):
        key, sep, rest = text.partition(":")
        if not sep or (rest and not rest.startswith(" ")):
            raise YamlError("%s: expected 'key: value', got %r" % (where, text))
        key = key.strip()
        if key in into:
            raise YamlError("%s: duplicate key %r" % (where, key))
        into[key] = value_after(rest, indent, where)

    def node(indent):
        skip_blank()
        first = lines[pos[0]][1].strip()
        if first.startswith("- ") or first == "-":
            seq = []
            while skip_blank():
                ind, line, no = lines[pos[0]]
                text = line.strip()
                where = "%s:%d" % (path, no)
                if ind < indent or not (text.startswith("- ") or text == "-"):
                    break
                if ind > indent:
                    raise YamlError("%s: bad indentation" % where)
                item = text[2:].strip()
                pos[0] += 1
                if ":" in item and not item.startswith(('"', "'", "{")):
                    m = {}
                    mapping_entry(item, ind + 2, where, m)
                    while skip_blank():
                        ind2, line2, no2 = lines[pos[0]]
                        if ind2 != ind + 2 or line2.strip().startswith("- "):
                            break
                        pos[0] += 1
                        mapping_entry(line2.strip(), ind2, "%s:%d" % (path, no2), m)
                    seq.append(m)
                else:
                    seq.append(_scalar(item, where))
            return seq
        m = {}
        while skip_blank():
            ind, line, no = lines[pos[0]]
            if ind < indent:
                break
            if ind > indent:
                raise YamlError("%s:%d: bad indentation" % (path, no))
            if line.strip().startswith("- "):
                break
            pos[0] += 1
            mapping_entry(line.strip(), ind, "%s:%d" % (path, no), m)
        return m

    if not skip_blank():
        return None
    doc = node(0)
    if skip_blank():
        raise YamlError("%s:%d: unexpected content" % (path, lines[pos[0]][2]))
    return doc


def load_rules(path=RULES):
    """The rules file as a list of (group name, rule dict)."""
    doc = load_yaml(path)
    out = []
    for g in doc["groups"]:
        for r in g["rules"]:
            out.append((g["name"], r))
    return out


# ----------------------------------------------------------------------------------------------
# Dashboards

def load_dashboards():
    out = {}
    for name in DASHBOARD_FILES:
        with open(os.path.join(DASHBOARDS, name)) as f:
            out[name] = json.load(f)
    return out


def panel_exprs(dashboards):
    """Every (dashboard, panel, target) of every non-row panel, nested row panels included."""
    for name, d in dashboards.items():
        stack = list(d.get("panels", []))
        while stack:
            p = stack.pop(0)
            stack.extend(p.get("panels", []))
            for t in p.get("targets", []):
                yield name, p, t


GRAFANA_VARS = {
    "$__rate_interval": "1m", "${__rate_interval}": "1m",
    "$__interval": "1m", "${__interval}": "1m",
    "$__range": "1h", "${__range}": "1h",
    "${tenant}": ".*", "$tenant": ".*",
    "${route}": ".*", "$route": ".*",
}


def substitute(expr):
    """The expression as Grafana would send it with every variable at 'All'."""
    for k in sorted(GRAFANA_VARS, key=len, reverse=True):
        expr = expr.replace(k, GRAFANA_VARS[k])
    return expr


# ----------------------------------------------------------------------------------------------
# PromQL: just enough lexing to find metric names, label names and range windows

KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "offset", "bool", "inf", "nan", "Inf", "NaN", "atan2"}
AGGREGATORS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
               "bottomk", "topk", "quantile"}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<range>\[[^\]]*\])
  | (?P<num>0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){},])
""", re.X)


def lex(expr):
    out = []
    i = 0
    while i < len(expr):
        m = _TOKEN.match(expr, i)
        if not m:
            raise ValueError("cannot lex %r at %d: %r" % (expr, i, expr[i:i + 20]))
        i = m.end()
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group()))
    return out


class ExprFacts:
    def __init__(self):
        self.metrics = []          # metric names in selectors, in order
        self.selector_labels = []  # (metric or None, label, op, value)
        self.grouping_labels = []  # labels in by/without/on/ignoring/group_* lists
        self.ranges = []           # text inside [...] (range vectors and subqueries)
        self.functions = []


def analyse(expr):
    toks = lex(expr)
    f = ExprFacts()
    i = 0
    last_metric = None
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else (None, None)
        if kind == "range":
            f.ranges.append(text[1:-1].strip())
        elif kind == "ident":
            if text in GROUPING and nxt[1] == "(":
                j = i + 2
                while j < len(toks) and toks[j][1] != ")":
                    if toks[j][0] == "ident":
                        f.grouping_labels.append(toks[j][1])
                    j += 1
                i = j + 1
                continue
            if nxt[1] == "(":
                f.functions.append(text)
            elif text in KEYWORDS or (text in AGGREGATORS and nxt[1] in ("by", "without")):
                pass
            else:
                f.metrics.append(text)
                last_metric = text
                if nxt[1] != "{":
                    last_metric = None
        elif text == "{":
            j = i + 1
            while j < len(toks) and toks[j][1] != "}":
                if toks[j][0] == "ident" and j + 2 < len(toks) and toks[j + 2][0] == "str":
                    value = toks[j + 2][1][1:-1]
                    f.selector_labels.append((last_metric, toks[j][1], toks[j + 1][1], value))
                    j += 3
                else:
                    j += 1
            i = j + 1
            last_metric = None
            continue
        i += 1
    return f


# ----------------------------------------------------------------------------------------------
# Metric inventory (docs/dashboards/README.md, section "Metric inventory")

class Family:
    def __init__(self, name, type_, labels, status):
        self.name = name
        self.type = type_
        self.labels = set(labels)
        self.status = status


def load_inventory():
    path = os.path.join(DASHBOARDS, "README.md")
    with open(path) as f:
        text = f.read()
    m = re.search(r"^## Metric inventory\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not m:
        raise ValueError("%s has no '## Metric inventory' section" % path)
    fams = {}
    for line in m.group(1).split("\n"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].startswith("`"):
            continue
        name = cells[0].strip("`")
        labels = [l.strip().strip("`") for l in cells[2].split(",") if l.strip() not in ("", "—")]
        fams[name] = Family(name, cells[1], labels, cells[3])
    return fams


def resolve_metric(name, inventory, records):
    """The inventory family a selector's metric name belongs to, or None.

    Histograms own their _bucket, _sum and _count series; recorded series (level:metric:op)
    are resolved by the caller through `records`."""
    if name in records:
        return "record"
    if name in inventory:
        return inventory[name]
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            fam = inventory.get(name[:-len(suffix)])
            if fam and fam.type == "histogram":
                return fam
    return None


def allowed_labels(name, fam):
    labels = set(fam.labels) | TARGET_LABELS
    if name.endswith("_bucket"):
        labels.add("le")
    return labels


# ----------------------------------------------------------------------------------------------
# Markdown: ```promql blocks of the documents

def promql_blocks(path):
    with open(path) as f:
        text = f.read()
    return [b.strip() for b in re.findall(r"```promql\n(.*?)```", text, re.S)]


def yaml_rules_file(records):
    """A rules file (text) recording each (name, expr) pair, for `promtool check rules`."""
    out = ["groups:", "  - name: expression-check", "    rules:"]
    for name, expr in records:
        out.append("      - record: %s" % name)
        out.append("        expr: %s" % json.dumps(expr))
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------------------------
# A real Prometheus on loopback, for the live tests


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5.0, headers=None):
    """(status, body bytes); status 0 when nothing answered."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def wait_until(what, fn, timeout_s, interval_s=0.1):
    """Poll fn() until it returns a true value; bounded by timeout_s. Returns the value."""
    deadline = time.monotonic() + timeout_s
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError("timed out after %.0fs waiting for %s" % (timeout_s, what))
        time.sleep(interval_s)


def stop_process(proc, grace_s=5.0):
    """Stop a child we started: SIGTERM, then SIGKILL after grace_s. Safe to call twice."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace_s)


class Prometheus:
    """Debian's prometheus scraping one loopback target every second, with our rules loaded."""

    def __init__(self, workdir, target, rules=RULES, job="tensor-wasm"):
        self.workdir = workdir
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.proc = None
        self.log_path = os.path.join(workdir, "prometheus.log")
        cfg = os.path.join(workdir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "  evaluation_interval: 1s\n"
                    "rule_files:\n  - %s\n"
                    "scrape_configs:\n  - job_name: %s\n    static_configs:\n"
                    "      - targets: [%s]\n" % (json.dumps(rules), job, json.dumps(target)))
        self.cmd = [PROMETHEUS, "--config.file=" + cfg,
                    "--storage.tsdb.path=" + os.path.join(workdir, "tsdb"),
                    "--web.listen-address=127.0.0.1:%d" % self.port,
                    "--storage.tsdb.retention.time=1h", "--log.level=warn"]

    def start(self, timeout_s=30):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.workdir)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("prometheus exited (%d): %s" % (self.proc.returncode,
                                                                   self.log_tail()))
            return http_get(self.url + "/-/ready", timeout=1)[0] == 200
        wait_until("prometheus to be ready", ready, timeout_s)

    def stop(self):
        stop_process(self.proc)
        if getattr(self, "log", None):
            self.log.close()

    def log_tail(self, n=3000):
        try:
            with open(self.log_path) as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def api(self, path, **params):
        url = "%s/api/v1/%s?%s" % (self.url, path, urllib.parse.urlencode(params))
        status, body = http_get(url, timeout=10)
        if status != 200:
            raise RuntimeError("GET %s: %d %s" % (url, status, body[:500]))
        doc = json.loads(body)
        if doc.get("status") != "success":
            raise RuntimeError("GET %s: %s" % (url, doc))
        return doc["data"]

    def query(self, expr):
        """The instant vector (or scalar) result of expr, as the API returns it."""
        data = self.api("query", query=expr)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        return data["result"]

    def value(self, expr):
        """The first sample's value as a float, or None when the result is empty."""
        r = self.query(expr)
        return float(r[0]["value"][1]) if r else None


def inline_records(expr, records):
    """expr with every recorded series replaced by its defining expression, so that it can be
    evaluated before the rule group has run."""
    for _ in range(10):
        changed = False
        for name in sorted(records, key=len, reverse=True):
            pat = re.compile(r"(?<![\w:])%s(?![\w:{])" % re.escape(name))
            if pat.search(expr):
                expr = pat.sub(lambda m: "(" + records[name].strip() + ")", expr)
                changed = True
        if not changed:
            return expr
    raise ValueError("recording rules nest too deep: " + expr)


def expressions_to_evaluate(records, dashboards):
    """(where, expr) for every SLI record and every panel target, ready for the query API."""
    out = []
    for name, expr in records.items():
        out.append(("record " + name, inline_records(expr, records)))
    for name, p, t in panel_exprs(dashboards):
        out.append(("%s / %s / %s" % (name, p["title"], t["refId"]), substitute(t["expr"])))
    return out


def families_in_exposition(text):
    """Family names declared by # TYPE lines of a Prometheus text exposition."""
    return set(re.findall(r"^# TYPE (\S+) \S+", text, re.M))
