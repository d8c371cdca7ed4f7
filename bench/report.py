#!/usr/bin/env python3
"""Render the benchmark results as one self-contained HTML page with SVG plots.

    bench/report.py [--dir build/bench] [--runner build/bench/tensor-wasm-bench] [--out FILE]

Reads every <dir>/<id>/new.json the runner wrote (and base.json, the run before it) and writes
<dir>/report/index.html: a summary table, and per benchmark two plots, the samples (iterations
against total time) with the fitted slope of both runs, and the time per iteration of each sample
with Tukey's mild fences. No script, no external style sheet: the page opens from disk.
When there are no results yet and a runner is given, the runner is run first (TW_BENCH_FILTER
applies).

Only Python's standard library is used.
"""

import argparse
import glob
import html
import json
import math
import os
import subprocess
import sys

W, H = 520, 300
PAD_L, PAD_R, PAD_T, PAD_B = 70, 15, 20, 45
NEW_COLOUR, BASE_COLOUR = "#1f5fbf", "#d9822b"
OUTLIER_COLOURS = {0: None, 1: "#b00020", 2: "#e07a00", 3: "#e07a00", 4: "#b00020"}


def fmt_time(ns):
    if ns == 0:
        return "0"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3), ("ns", 1.0)):
        if abs(ns) >= scale:
            return "%.4g %s" % (ns / scale, unit)
    return "%.4g ps" % (ns * 1e3)


def nice_ticks(lo, hi, count=5):
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    ticks, t = [], first
    while t <= hi + step * 1e-9:
        if t >= lo - step * 1e-9:
            ticks.append(t)
        t += step
    return ticks, step


def tick_label(v, is_time):
    if is_time:
        return fmt_time(v)
    if v >= 1e6:
        return "%.3gM" % (v / 1e6)
    if v >= 1e3:
        return "%.3gk" % (v / 1e3)
    return "%g" % v


class Plot:
    """A scatter plot in SVG with linear axes from zero (or from the data's minimum)."""

    def __init__(self, title, xlabel, ylabel, xmax, ymin, ymax, y_is_time, x_is_time=False):
        self.parts = []
        self.x0, self.x1 = 0.0, xmax if xmax > 0 else 1.0
        self.y0, self.y1 = ymin, ymax if ymax > ymin else ymin + 1.0
        self.title = title
        self.xlabel, self.ylabel = xlabel, ylabel
        self.y_is_time, self.x_is_time = y_is_time, x_is_time

    def sx(self, x):
        return PAD_L + (x - self.x0) / (self.x1 - self.x0) * (W - PAD_L - PAD_R)

    def sy(self, y):
        return H - PAD_B - (y - self.y0) / (self.y1 - self.y0) * (H - PAD_T - PAD_B)

    def axes(self):
        p = self.parts
        p.append('<rect x="%d" y="%d" width="%d" height="%d" fill="#fff" stroke="#999"/>' %
                 (PAD_L, PAD_T, W - PAD_L - PAD_R, H - PAD_T - PAD_B))
        ticks, _ = nice_ticks(self.y0, self.y1)
        for t in ticks:
            y = self.sy(t)
            p.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/>' %
                     (PAD_L, W - PAD_R, y, y))
            p.append('<text x="%d" y="%.1f" text-anchor="end" font-size="10">%s</text>' %
                     (PAD_L - 4, y + 3, html.escape(tick_label(t, self.y_is_time))))
        ticks, _ = nice_ticks(self.x0, self.x1)
        for t in ticks:
            x = self.sx(t)
            p.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#eee"/>' %
                     (x, x, PAD_T, H - PAD_B))
            p.append('<text x="%.1f" y="%d" text-anchor="middle" font-size="10">%s</text>' %
                     (x, H - PAD_B + 14, html.escape(tick_label(t, self.x_is_time))))
        p.append('<text x="%d" y="%d" text-anchor="middle" font-size="11">%s</text>' %
                 ((PAD_L + W - PAD_R) // 2, H - 8, html.escape(self.xlabel)))
        p.append('<text x="12" y="%d" font-size="11" transform="rotate(-90 12 %d)" '
                 'text-anchor="middle">%s</text>' % ((PAD_T + H - PAD_B) // 2,
                                                     (PAD_T + H - PAD_B) // 2,
                                                     html.escape(self.ylabel)))

    def point(self, x, y, colour, r=2.5, title=None):
        t = "<title>%s</title>" % html.escape(title) if title else ""
        self.parts.append('<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s" fill-opacity="0.75">'
                          '%s</circle>' % (self.sx(x), self.sy(y), r, colour, t))

    def line(self, xa, ya, xb, yb, colour, dash=None, width=1.5):
        d = ' stroke-dasharray="%s"' % dash if dash else ""
        self.parts.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" '
                          'stroke-width="%.1f"%s/>' % (self.sx(xa), self.sy(ya), self.sx(xb),
                                                       self.sy(yb), colour, width, d))

    def svg(self):
        self.axes_done = True
        return ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
                'viewBox="0 0 %d %d" font-family="sans-serif" role="img">'
                '<title>%s</title>%s</svg>' % (W, H, W, H, html.escape(self.title),
                                               "".join(self.parts)))


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def samples_plot(run, base):
    xs, ys = run["samples"]["iters"], run["samples"]["ns"]
    allx = xs + (base["samples"]["iters"] if base else [])
    ally = ys + (base["samples"]["ns"] if base else [])
    p = Plot("samples of " + run["id"], "iterations per sample", "total time of the sample",
             max(allx) * 1.05, 0.0, max(ally) * 1.08, True)
    p.axes()
    xmax = p.x1
    if base:
        for x, y in zip(base["samples"]["iters"], base["samples"]["ns"]):
            p.point(x, y, BASE_COLOUR, 2, "base: %d iters, %s" % (x, fmt_time(y)))
        b = base["estimates"]["slope_ns"]["point"]
        p.line(0, 0, xmax, min(b * xmax, p.y1), BASE_COLOUR, "5,3")
    for x, y in zip(xs, ys):
        p.point(x, y, NEW_COLOUR, 2.5, "%d iters, %s" % (x, fmt_time(y)))
    s = run["estimates"]["slope_ns"]
    for v, dash, width in ((s["point"], None, 1.8), (s["lo"], "2,2", 0.8), (s["hi"], "2,2", 0.8)):
        xe = min(xmax, p.y1 / v) if v > 0 else xmax
        p.line(0, 0, xe, v * xe, NEW_COLOUR, dash, width)
    return p.svg()


def per_iter_plot(run, base):
    xs, ys = run["samples"]["iters"], run["samples"]["ns"]
    per = [y / x for x, y in zip(xs, ys)]
    bper = [y / x for x, y in zip(base["samples"]["iters"], base["samples"]["ns"])] if base else []
    fences = run["outliers"]["fences_ns"]
    hi = max(per + bper + [fences[2]])
    lo = min(per + bper + [max(fences[1], 0)])
    span = hi - lo or hi or 1
    p = Plot("time per iteration of " + run["id"], "sample", "time per iteration",
             len(per) + 1, max(0.0, lo - 0.05 * span), hi + 0.08 * span, True)
    p.axes()
    for fence in fences[1:3]:
        if p.y0 <= fence <= p.y1:
            p.line(0, fence, p.x1, fence, "#999", "4,3", 1)
    for i, v in enumerate(bper):
        p.point(i + 1, v, BASE_COLOUR, 2, "base sample %d: %s" % (i + 1, fmt_time(v)))
    classes = run["samples"].get("outlier", [0] * len(per))
    names = run["outliers"].get("classes", [])
    for i, (v, c) in enumerate(zip(per, classes)):
        colour = OUTLIER_COLOURS.get(c) or NEW_COLOUR
        label = "sample %d: %s" % (i + 1, fmt_time(v))
        if c and c < len(names):
            label += " (%s outlier)" % names[c]
        p.point(i + 1, v, colour, 3 if c else 2.5, label)
    return p.svg()


def change_text(run):
    ch = run.get("change")
    if not ch:
        return "no previous run", ""
    r = ch["rel"]
    cls = "sig" if ch["significant"] else ""
    if ch["significant"] and r["point"] > 0 and "regressed" in ch["verdict"]:
        cls = "worse"
    elif ch["significant"] and "improved" in ch["verdict"]:
        cls = "better"
    return ("[%+.2f%% %+.2f%% %+.2f%%] %s" % (100 * r["lo"], 100 * r["point"], 100 * r["hi"],
                                              ch["verdict"]), cls)


def outlier_text(run):
    o = run["outliers"]
    n = len(run["samples"]["iters"])
    parts = ["%d %s" % (o[k], k.replace("_", " ")) for k in
             ("low_severe", "low_mild", "high_mild", "high_severe") if o[k]]
    total = sum(o[k] for k in ("low_severe", "low_mild", "high_mild", "high_severe"))
    return "%d of %d (%s)" % (total, n, ", ".join(parts)) if total else "none of %d" % n


STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1150px; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.worse { color: #b00020; font-weight: bold; } .better { color: #1b7f2a; font-weight: bold; }
.bench { margin-top: 2.5em; } .plots { display: flex; flex-wrap: wrap; gap: 10px; }
.legend span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px; }
code { background: #f4f4f4; padding: 1px 3px; }
"""


def render(runs):
    out = ["<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
           "<title>TensorWasm benchmarks</title><style>%s</style></head><body>" % STYLE,
           "<h1>TensorWasm benchmarks</h1>"]
    if runs:
        r0 = runs[0][0]
        out.append("<p>Machine: %s. Git %s. Each run: %d samples, %d ms of sampling, 95%% "
                   "bootstrap intervals (%d resamples). Time per iteration is the least-squares "
                   "slope of total time against iterations. See docs/PERFORMANCE.md for how "
                   "to read these numbers.</p>" % (
                       html.escape(r0["machine"]), html.escape(r0["git"]),
                       r0["config"]["samples"], r0["config"]["measure_ms"],
                       r0["config"]["resamples"]))
    out.append('<p class=legend><span style="background:%s"></span>this run'
               '<span style="background:%s"></span>previous run (base)'
               '<span style="background:#e07a00"></span>mild outlier'
               '<span style="background:#b00020"></span>severe outlier</p>' %
               (NEW_COLOUR, BASE_COLOUR))
    out.append("<table><tr><th>id</th><th>slope (95% CI)</th><th>median</th><th>R²</th>"
               "<th>outliers</th><th>change vs previous run</th></tr>")
    for run, _ in runs:
        s = run["estimates"]["slope_ns"]
        text, cls = change_text(run)
        out.append('<tr><td><a href="#%s">%s</a></td><td class=num>%s [%s, %s]</td>'
                   "<td class=num>%s</td><td class=num>%.3f</td><td>%s</td>"
                   '<td class="%s">%s</td></tr>' % (
                       html.escape(run["id"]), html.escape(run["id"]), fmt_time(s["point"]),
                       fmt_time(s["lo"]), fmt_time(s["hi"]),
                       fmt_time(run["estimates"]["median_ns"]), run["estimates"]["r2"],
                       outlier_text(run), cls, html.escape(text)))
    out.append("</table>")
    for run, base in runs:
        s = run["estimates"]["slope_ns"]
        text, cls = change_text(run)
        out.append('<div class=bench id="%s"><h2>%s</h2>' % (html.escape(run["id"]),
                                                             html.escape(run["id"])))
        out.append("<p>time per iteration <b>%s</b> [%s, %s]; mean %s; median %s; "
                   "MAD %s; outliers: %s.<br>change: <span class=\"%s\">%s</span>%s</p>" % (
                       fmt_time(s["point"]), fmt_time(s["lo"]), fmt_time(s["hi"]),
                       fmt_time(run["estimates"]["mean_ns"]["point"]),
                       fmt_time(run["estimates"]["median_ns"]),
                       fmt_time(run["estimates"]["mad_ns"]), outlier_text(run), cls,
                       html.escape(text),
                       " (base slope %s)" % fmt_time(run["change"]["base_slope_ns"])
                       if run.get("change") else ""))
        lat = run.get("latency")
        if lat:
            out.append("<p>latency of single iterations (%d): p50 %s, p95 %s, p99 %s, "
                       "p99.9 %s, max %s</p>" % (lat["samples"], fmt_time(lat["p50_ns"]),
                                                 fmt_time(lat["p95_ns"]), fmt_time(lat["p99_ns"]),
                                                 fmt_time(lat["p999_ns"]),
                                                 fmt_time(lat["max_ns"])))
        out.append("<div class=plots>%s%s</div></div>" % (samples_plot(run, base),
                                                          per_iter_plot(run, base)))
    if not runs:
        out.append("<p>No results yet: run <code>ninja bench</code>.</p>")
    out.append("</body></html>\n")
    return "\n".join(out)


def find_runs(root):
    runs = []
    for path in sorted(glob.glob(os.path.join(root, "**", "new.json"), recursive=True)):
        rel = os.path.relpath(path, root)
        if rel.split(os.sep)[0] in ("report", "callgrind"):
            continue
        run = load(path)
        if not run or run.get("format") != "tensor-wasm-bench/1":
            continue
        runs.append((run, load(os.path.join(os.path.dirname(path), "base.json"))))
    runs.sort(key=lambda rb: rb[0]["id"])
    return runs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default="build/bench")
    ap.add_argument("--runner", help="run this first when there are no results")
    ap.add_argument("--out", help="default: <dir>/report/index.html")
    args = ap.parse_args(argv)
    runs = find_runs(args.dir)
    if not runs and args.runner:
        print("bench-report: no results in %s yet; running %s" % (args.dir, args.runner),
              flush=True)
        r = subprocess.run([args.runner, "--out-dir", args.dir])
        if r.returncode != 0:
            return r.returncode
        runs = find_runs(args.dir)
    out = args.out or os.path.join(args.dir, "report", "index.html")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out + ".tmp", "w") as f:
        f.write(render(runs))
    os.replace(out + ".tmp", out)
    print("bench-report: %d benchmarks -> %s" % (len(runs), out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
