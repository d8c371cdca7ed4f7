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
