#!/usr/bin/env python3
"""Turns Vigil's benchmark results into BENCHMARKS.md and SVG plots (issue 6).

Run through scripts/bench-report.sh (see its header for the options). Standard library
only; the SVG is written by hand so the report needs nothing installed. Every number in
the report comes from a file under --in / --chaos, and every section says which command
produced it and when; an input that is missing is said to be missing.
"""
import argparse
import datetime
import glob
import html
import json
import math
import os
import re
import statistics
import sys

# Issue 6's targets, in the words the report uses.
TARGET_AGENT = ("idle agent in a 50-node cluster: no more CPU and RSS than serf, "
                "at most 2 KB/s sent per node")
TARGET_DETECTION = "detection beyond the pause tolerance at most 1 s at p99"
TARGET_ABSORB = "absorb at least 100,000 sealed packets/s on one core"
TARGET_SIM = "simulator: at least 1,000,000 protocol messages per wall second"
TARGET_SCALE = "bytes/node/s at N=10,000 within 25% of N=100"
KB = 2000  # "2 KB/s" read as 2,000 B/s (the stricter reading; 2 KiB would be 2,048)

PER_KILO = {"Codec.encodeFullPacket", "Codec.decodeFullPacket", "Phi.heartbeatThenPhi", "Seal.1KiB", "Open.1KiB"}
MICRO_COMMAND = ("swift package --package-path Benchmarks --allow-writing-to-package-directory "
                 "benchmark --format jsonSmallerIsBetter --path \"$PWD/bench-out/micro\"")


# ---------------------------------------------------------------- small helpers

def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"bench-report: skipping {path}: {e}", file=sys.stderr)
        return None


def mtime_utc(path):
    t = datetime.datetime.fromtimestamp(os.path.getmtime(path), datetime.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M UTC")


def stamp_from_name(name):
    """`agent-20261201-154324` or `absorb-20261201T150900Z.json` -> '2026-12-01 15:43 UTC'."""
    m = re.search(r"(\d{8})[-T](\d{6})", name)
    if not m:
        return None
    t = datetime.datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S")
    return t.strftime("%Y-%m-%d %H:%M UTC")


def get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def fmt(v, digits=0, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, (int, float)) and abs(v) >= 1000 and digits == 0:
        return f"{v:,.0f}{unit}"
    return f"{v:.{digits}f}{unit}"


def rank(values, p):
    """Nearest-rank percentile, as scripts/compare-serf.sh pools detection samples."""
    v = sorted(values)
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)] if v else None


class Paths:
    """Shows input paths as the repository names them (bench-out/..., chaos-out/...)."""

    def __init__(self, bench, chaos):
        self.roots = [(os.path.abspath(bench), "bench-out"), (os.path.abspath(chaos), "chaos-out")]

    def show(self, path):
        path = os.path.abspath(path)
        for root, name in self.roots:
            if path == root or path.startswith(root + os.sep):
                return name + path[len(root):]
        return path


# ---------------------------------------------------------------- SVG

PALETTE = {"vigil": "#1f77b4", "serf": "#d62728"}
EXTRA = ["#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"]


def color(name, i):
    return PALETTE.get(str(name).lower(), EXTRA[i % len(EXTRA)])


def nice_ticks(lo, hi, count=5):
    if hi <= lo:
        hi = lo + (abs(lo) or 1)
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    t = start
    while t <= hi + step * 0.5 and len(ticks) < 50:
        ticks.append(round(t, 10))
        t += step
    if ticks[-1] < hi:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def log_ticks(lo, hi):
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    if a == b:
        b += 1
    return [10 ** e for e in range(a, b + 1)]


def tick_label(v):
    if v == 0:
        return "0"
    if abs(v) >= 1e6 and v == int(v):
        return f"{v / 1e6:g}M"
    if abs(v) >= 1e4 and v == int(v):
        return f"{v / 1e3:g}k"
    if v == int(v):
        return f"{int(v):,}"
    return f"{v:g}"


class Svg:
    def __init__(self, width, height):
        self.w, self.h = width, height
        self.parts = []

    def add(self, s):
        self.parts.append(s)

    def text(self, x, y, s, size=12, anchor="start", rotate=None, color="#222", weight="normal"):
        rot = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate else ""
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
                 f'fill="{color}" font-weight="{weight}"{rot}>{html.escape(str(s))}</text>')

    def line(self, x1, y1, x2, y2, stroke="#222", width=1, dash=None):
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                 f'stroke="{stroke}" stroke-width="{width}"{d}/>')

    def save(self, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        body = "\n".join(self.parts)
        with open(path, "w") as f:
            f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w}" height="{self.h}" '
                    f'viewBox="0 0 {self.w} {self.h}" font-family="Helvetica, Arial, sans-serif">\n'
                    f'<rect width="100%" height="100%" fill="white"/>\n{body}\n</svg>\n')


class Axes:
    """One plot area with linear or log axes, ticks, labels, grid."""

    def __init__(self, svg, box, xr, yr, xlog=False, ylog=False, xlabel="", ylabel="", title="",
                 xticks=None, xticklabels=None):
        self.svg, self.xlog, self.ylog = svg, xlog, ylog
        self.x0, self.y0, self.x1, self.y1 = box  # left, top, right, bottom
        if xticks is None:
            xticks = log_ticks(*xr) if xlog else nice_ticks(*xr)
        yticks = log_ticks(*yr) if ylog else nice_ticks(*yr)
        self.xr = (min(xticks[0], xr[0]), max(xticks[-1], xr[1]))
        self.yr = (min(yticks[0], yr[0]), max(yticks[-1], yr[1]))
        s = svg
        s.add(f'<rect x="{self.x0}" y="{self.y0}" width="{self.x1 - self.x0}" height="{self.y1 - self.y0}" '
              f'fill="none" stroke="#222"/>')
        for i, t in enumerate(xticks):
            x = self.px(t)
            s.line(x, self.y0, x, self.y1, stroke="#ddd")
            s.line(x, self.y1, x, self.y1 + 5)
            s.text(x, self.y1 + 18, xticklabels[i] if xticklabels else tick_label(t), size=11, anchor="middle")
        for t in yticks:
            y = self.py(t)
            s.line(self.x0, y, self.x1, y, stroke="#ddd")
            s.line(self.x0 - 5, y, self.x0, y)
            s.text(self.x0 - 8, y + 4, tick_label(t), size=11, anchor="end")
        s.text((self.x0 + self.x1) / 2, self.y1 + 38, xlabel, size=12, anchor="middle")
        s.text(self.x0 - 52, (self.y0 + self.y1) / 2, ylabel, size=12, anchor="middle", rotate=-90)
        s.text((self.x0 + self.x1) / 2, self.y0 - 12, title, size=14, anchor="middle", weight="bold")

    def _frac(self, v, r, log):
        if log:
            return (math.log10(v) - math.log10(r[0])) / (math.log10(r[1]) - math.log10(r[0]))
        return (v - r[0]) / ((r[1] - r[0]) or 1)

    def px(self, v):
        return self.x0 + self._frac(v, self.xr, self.xlog) * (self.x1 - self.x0)

    def py(self, v):
        return self.y1 - self._frac(v, self.yr, self.ylog) * (self.y1 - self.y0)

    def series(self, points, stroke, label=None, dash=None, marker="circle", labels=None):
        pts = [(self.px(x), self.py(y)) for x, y in points]
        if len(pts) > 1:
            d = f' stroke-dasharray="{dash}"' if dash else ""
            self.svg.add('<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>'
                         % (stroke, d, " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)))
        for i, (x, y) in enumerate(pts):
            if marker == "square":
                self.svg.add(f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{stroke}"/>')
            else:
                self.svg.add(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{stroke}"/>')
            if labels and labels[i]:
                self.svg.text(x + 6, y - 6, labels[i], size=10, color=stroke)

    def hline(self, y, label, stroke="#555"):
        if self.yr[0] <= y <= self.yr[1]:
            py = self.py(y)
            self.svg.line(self.x0, py, self.x1, py, stroke=stroke, dash="6,4", width=1.5)
            self.svg.text(self.x1 - 4, py - 5, label, size=10, anchor="end", color=stroke)


def legend(svg, x, y, entries):
    for i, (label, stroke, dash, *marker) in enumerate(entries):
        yy = y + i * 18
        d = f' stroke-dasharray="{dash}"' if dash else ""
        svg.add(f'<line x1="{x}" y1="{yy}" x2="{x + 24}" y2="{yy}" stroke="{stroke}" stroke-width="2"{d}/>')
        if marker and marker[0] == "square":
            svg.add(f'<rect x="{x + 8.5}" y="{yy - 3.5}" width="7" height="7" fill="{stroke}"/>')
        else:
            svg.add(f'<circle cx="{x + 12}" cy="{yy}" r="3.5" fill="{stroke}"/>')
        svg.text(x + 30, yy + 4, label, size=11)


def note(svg, x, y, lines):
    for i, s in enumerate(lines):
        svg.text(x, y + i * 15, s, size=10, color="#555")


def span(values, pad_low=0.0, pad=0.1, log=False):
    values = [v for v in values if v is not None]
    lo, hi = min(values), max(values)
    if log:
        return lo / 1.5, hi * 1.5
    lo = min(0.0, lo) if pad_low == 0 else lo - (hi - lo) * pad_low
    return lo, hi + (hi - lo) * pad or 1


def line_plot(path, title, xlabel, ylabel, series, xlog=False, ylog=False, hlines=(), notes=(),
              point_labels=None):
    """series: [(label, [(x, y)], color, dash)]."""
    xs = [x for _, pts, *_ in series for x, _ in pts]
    ys = [y for _, pts, *_ in series for _, y in pts] + [h for h, _ in hlines]
    svg = Svg(800, 430 + 15 * len(notes))
    xr = span(xs, log=True) if xlog else span(xs, pad_low=0.1)
    if not xlog and len(set(xs)) == 1:
        xr = (xs[0] * 0.5, xs[0] * 1.5 or 1)
    yr = span(ys, log=True) if ylog else span(ys)
    ax = Axes(svg, (80, 40, 520, 360), xr, yr, xlog=xlog, ylog=ylog, xlabel=xlabel, ylabel=ylabel, title=title)
    for label, pts, stroke, dash, *marker in series:
        ax.series(pts, stroke, dash=dash, labels=(point_labels or {}).get(label), marker=(marker or ["circle"])[0])
    for y, label in hlines:
        ax.hline(y, label)
    legend(svg, 540, 60, [(label, stroke, dash, *m) for label, _, stroke, dash, *m in series]
           + [(label, "#555", "6,4") for _, label in hlines])
    note(svg, 20, 410, notes)
    svg.save(path)


def draw_bars(svg, ax, groups, systems, values, value_labels):
    """One bar per (group, system) with a value, side by side within each group's slot."""
    bw = 0.8 / len(systems)
    for g, group in enumerate(groups):
        for s, system in enumerate(systems):
            v = values.get((group, system))
            if v is None:
                continue
            x0, x1 = ax.px(g + 0.1 + s * bw), ax.px(g + 0.1 + (s + 1) * bw)
            y = ax.py(v)
            svg.add(f'<rect x="{x0:.1f}" y="{y:.1f}" width="{x1 - x0:.1f}" height="{ax.py(0) - y:.1f}" '
                    f'fill="{color(system, s)}"/>')
            if value_labels:
                svg.text((x0 + x1) / 2, y - 4, f"{v:.3g}" if v < 100 else tick_label(round(v)), size=10,
                         anchor="middle")


def bar_panels(path, title, groups, systems, panels, notes=()):
    """panels: [(panel title, unit, {(group, system): value}, target or None, target label)]."""
    width = 40 + 300 * len(panels)
    svg = Svg(width, 400 + 15 * len(notes))
    svg.text(width / 2, 22, title, size=15, anchor="middle", weight="bold")
    for p, (ptitle, unit, values, target, tlabel) in enumerate(panels):
        left = 70 + 300 * p
        vals = [v for v in values.values() if v is not None] + ([target] if target else [])
        top = max(vals) * 1.15 if vals else 1
        slots = len(groups)
        ax = Axes(svg, (left, 60, left + 220, 320), (0, slots), (0, top), xlabel="", ylabel=unit,
                  title=ptitle, xticks=[i + 0.5 for i in range(slots)], xticklabels=groups)
        draw_bars(svg, ax, groups, systems, values, value_labels=True)
        if target:
            ax.hline(target, tlabel)
    legend(svg, 70, 370, [(s, color(s, i), None) for i, s in enumerate(systems)])
    note(svg, 250, 365, notes)
    svg.save(path)


# ---------------------------------------------------------------- sections

class Report:
    def __init__(self, args):
        self.args = args
        self.paths = Paths(args.bench, args.chaos)
        self.md = []
        self.targets = []  # (target, measured, source, status)
        self.svgs = []
        self.tolerance = {}  # preset -> pause tolerance (ms), as the simulator reports it

    def w(self, s=""):
        self.md.append(s)

    def svg_path(self, name):
        self.svgs.append(name)
        return os.path.join(self.args.svg_dir, name)

    def svg_link(self, name, alt):
        rel = os.path.relpath(os.path.join(self.args.svg_dir, name), os.path.dirname(os.path.abspath(self.args.out)))
        self.w(f"![{alt}]({rel})")
        self.w()

    # ---- scale simulator
    def scale(self):
        d = os.path.join(self.args.bench, "scale")
        self.w("## Scale: the simulator at several N")
        self.w()
        runs = {}
        for p in glob.glob(os.path.join(d, "n*.json")):
            m = re.fullmatch(r"n(\d+)\.json", os.path.basename(p))
            if m and not os.path.exists(p[:-5] + ".failed"):
                r = load_json(p)
                if r is not None:
                    runs[int(m.group(1))] = (p, r)
        others = {}
        for kind in ("skipped", "failed"):
            for p in glob.glob(os.path.join(d, f"n*.{kind}")):
                n = int(re.search(r"n(\d+)\.", os.path.basename(p)).group(1))
                others[n] = kind + (f" (needs about {open(p).read().strip()} GiB)" if kind == "skipped" else "")
        if not runs:
            self.w(f"Not measured: no `{self.paths.show(d)}/n*.json`. Run `bash scripts/bench-scale.sh`.")
            self.w()
            for t in (TARGET_DETECTION, TARGET_SIM, TARGET_SCALE):
                self.targets.append((t, "not measured", "bench-scale.sh", "not measured"))
            return
        header = None
        md = os.path.join(d, "scale.md")
        if os.path.exists(md):
            header = open(md).readline().strip()
        when = {n: mtime_utc(p) for n, (p, _) in runs.items()}
        commands = {}
        for n in runs:
            tp = os.path.join(d, f"n{n}.time")
            if os.path.exists(tp):
                m = re.search(r'Command being timed: "(.*)"', open(tp).read())
                if m:
                    commands[n] = m.group(1)
        self.w(f"Source: `{self.paths.show(d)}/` (one `vigil simulate` report per N, `/usr/bin/time -v` beside it).")
        if header:
            self.w(f"Its `scale.md` says: {header}")
        else:
            self.w("No `scale.md` beside them: the command below is each run's own (from its `.time` file).")
        self.w()
        self.w("| N | measured (file time) | detection p50 / p99 (failed everywhere) | first suspicion p50 "
               "| undetected | false failures | bytes/node/s mean (max) | messages/node/s | peak memory "
               "| wall s (CPU s) | messages / wall s (/ CPU s) |")
        self.w("|---|---|---|---|---|---|---|---|---|---|---|")
        rows = {}
        for n in sorted(set(runs) | set(others)):
            if n not in runs:
                self.w(f"| {n} | | {others[n]} | | | | | | | | |")
                continue
            p, r = runs[n]
            det = get(r, "detection", "failed_everywhere_ms") or {}
            sus = get(r, "detection", "first_suspect_ms") or {}
            bytes_ = get(r, "traffic", "bytes_sent_per_node_per_s") or {}
            msgs = get(r, "traffic", "messages_sent_per_node_per_s", "mean")
            thr = r.get("throughput") or {}
            text = open(os.path.join(d, f"n{n}.time")).read() if os.path.exists(os.path.join(d, f"n{n}.time")) else ""
            kb = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
            user = re.search(r"User time \(seconds\): ([\d.]+)", text)
            system = re.search(r"System time \(seconds\): ([\d.]+)", text)
            cpu = float(user.group(1)) + float(system.group(1)) if user and system else None
            mem = int(kb.group(1)) / 1024 if kb else None
            memtext = "n/a" if mem is None else (f"{mem / 1024:.1f} GiB" if mem >= 1024 else f"{mem:.0f} MiB")
            per_cpu = thr["messages"] / cpu if cpu and "messages" in thr else None
            if get(r, "scenario", "pause_tolerance_ms") and r.get("preset"):
                self.tolerance[r["preset"]] = get(r, "scenario", "pause_tolerance_ms")
            rows[n] = dict(p50=det.get("p50"), p99=det.get("p99"), sus=sus.get("p50"), bytes=bytes_.get("mean"),
                           rate=thr.get("messages_per_wall_s"), per_cpu=per_cpu,
                           tolerance=get(r, "scenario", "pause_tolerance_ms"), undetected=get(r, "detection", "undetected"))
            self.w(f"| {n} | {when[n]} | {fmt(det.get('p50'))} / {fmt(det.get('p99'))} ms | {fmt(sus.get('p50'))} ms "
                   f"| {fmt(get(r, 'detection', 'undetected'))} | {fmt(r.get('false_failures'))} "
                   f"| {fmt(bytes_.get('mean'))} ({fmt(bytes_.get('max'))}) | {fmt(msgs, 1)} | {memtext} "
                   f"| {fmt(r.get('wall_seconds'))} ({fmt(cpu)}) | {fmt(thr.get('messages_per_wall_s'))} ({fmt(per_cpu)}) |")
        self.w()
        for n in sorted(commands):
            self.w(f"- N={n}: `{commands[n]}` (preset {runs[n][1].get('preset', '?')}, seed {runs[n][1].get('seed', '?')}, "
                   f"{runs[n][1].get('scenario_seconds', '?')} s of scenario)")
        self.w()
        self.w("Detection is crash → the crashed node is failed in every survivor's view, in virtual time; "
               "`n/a` with `undetected 1` means not every node held it failed by the end of the run. "
               "Wall time is on a shared machine; CPU time is the run's own.")
        self.w()

        det_series = []
        for key, label, dash in (("p50", "failed everywhere p50", None), ("p99", "failed everywhere p99", "4,3"),
                                 ("sus", "first suspicion p50", "2,3")):
            pts = [(n, rows[n][key]) for n in sorted(rows) if rows[n][key] is not None]
            if pts:
                det_series.append((label, pts, EXTRA[len(det_series)] if key == "sus" else PALETTE["vigil"], dash,
                                   "square" if key == "p99" else "circle"))
        missing = [f"N={n}: {'not detected everywhere' if n in rows else others[n]}"
                   for n in sorted(set(rows) | set(others)) if n not in rows or rows[n]["p50"] is None]
        tol = next((rows[n]["tolerance"] for n in sorted(rows) if rows[n]["tolerance"]), None)
        if det_series:
            line_plot(self.svg_path("detection-vs-n.svg"), "Detection time vs N (simulator, one crash, 1% loss)",
                      "cluster size N", "ms", det_series, xlog=True,
                      hlines=[(tol + 1000, "target: tolerance + 1 s")] if tol else [],
                      notes=(["no point: " + "; ".join(missing)] if missing else []) + [f"source: {self.paths.show(d)}"])
            self.svg_link("detection-vs-n.svg", "Detection time vs N")
        else:
            self.w("No detection plot: no run detected its crash everywhere (" + "; ".join(missing) + ").")
            self.w()
        bpts = [(n, rows[n]["bytes"]) for n in sorted(rows) if rows[n]["bytes"] is not None]
        if bpts:
            base = bpts[0][1]
            line_plot(self.svg_path("bytes-vs-n.svg"), "Bytes sent per node per second vs N (simulator)",
                      "cluster size N", "bytes / node / s (mean over nodes)",
                      [("Vigil (mean)", bpts, PALETTE["vigil"], None)], xlog=True,
                      hlines=[(base * 1.25, f"target: N={bpts[0][0]} + 25%")],
                      notes=[f"not run: N={n} ({others[n]})" for n in sorted(others)] + [f"source: {self.paths.show(d)}"])
            self.svg_link("bytes-vs-n.svg", "Bytes per node per second vs N")

        # Targets from the simulator.
        beyond = [(n, rows[n]["p99"] - rows[n]["tolerance"]) for n in sorted(rows)
                  if rows[n]["p99"] is not None and rows[n]["tolerance"]]
        if beyond:
            worst = max(beyond, key=lambda t: t[1])
            undetected = [n for n in rows if rows[n]["p99"] is None]
            status = "met" if worst[1] <= 1000 and not undetected else "not met"
            extra = f"; N={', '.join(map(str, undetected))} not detected everywhere" if undetected else ""
            self.targets.append((TARGET_DETECTION, f"{worst[1]:.0f} ms beyond {rows[worst[0]]['tolerance']:.0f} ms "
                                 f"(p99 {rows[worst[0]]['p99']:.0f} ms at N={worst[0]}, worst of "
                                 f"{len(beyond)} size(s)){extra}", "simulator (bench-scale.sh)", status))
        else:
            self.targets.append((TARGET_DETECTION, "no run with a detection p99 and a pause tolerance",
                                 "simulator (bench-scale.sh)", "not measured"))
        rates = [(rows[n]["rate"], n) for n in rows if rows[n]["rate"]]
        if rates:
            best = max(rates)
            cpu = rows[best[1]]["per_cpu"]
            self.targets.append((TARGET_SIM, f"{best[0]:,.0f} per wall s at N={best[1]}"
                                 + (f" ({cpu:,.0f} per CPU s)" if cpu else ""), "simulator (bench-scale.sh)",
                                 "met" if best[0] >= 1_000_000 else "not met"))
        else:
            self.targets.append((TARGET_SIM, "no `throughput` in the reports", "simulator", "not measured"))
        if 100 in rows and 10000 in rows and rows[100]["bytes"] and rows[10000]["bytes"]:
            g = rows[10000]["bytes"] / rows[100]["bytes"] - 1
            self.targets.append((TARGET_SCALE, f"{rows[100]['bytes']:.0f} → {rows[10000]['bytes']:.0f} B/s ({g:+.0%})",
                                 "simulator (bench-scale.sh)", "met" if abs(g) <= 0.25 else "not met"))
        else:
            largest = max(n for n in rows if rows[n]["bytes"])
            measured = "N=10,000 not run" + (f" ({others[10000]})" if 10000 in others else "")
            if 100 in rows and largest != 100:
                measured += (f"; N=100 → N={largest}: {rows[100]['bytes']:.0f} → {rows[largest]['bytes']:.0f} B/s "
                             f"({rows[largest]['bytes'] / rows[100]['bytes'] - 1:+.0%})")
            self.targets.append((TARGET_SCALE, measured, "simulator (bench-scale.sh --nodes 100,1000,10000)",
                                 "not measured"))

    # ---- agent cost
    def agent(self):
        self.w("## Agent cost: real agents, Vigil and serf")
        self.w()
        dirs = sorted(d for d in glob.glob(os.path.join(self.args.bench, "agent-*")) if os.path.isdir(d))
        if not dirs:
            self.w("Not measured: no `bench-out/agent-*/`. Run `bash scripts/bench-agent.sh` (as root; 50 nodes by default).")
            self.w()
            self.targets.append((TARGET_AGENT, "not measured", "bench-agent.sh", "not measured"))
            return
        d = dirs[-1]
        results = {}
        for system in ("vigil", "serf"):
            p = os.path.join(d, f"{system}.json")
            if os.path.exists(p):
                r = load_json(p)
                if r:
                    results[system] = r
        summary = os.path.join(d, "summary.md")
        first = open(summary).readline().strip() if os.path.exists(summary) else None
        self.w(f"Source: `{self.paths.show(d)}/` (the latest of {len(dirs)} run(s) by name; started "
               f"{stamp_from_name(os.path.basename(d))}). "
               + (f"Its `summary.md` says: {first}" if first else "No `summary.md` (the run may not have finished)."))
        self.w()
        if not results:
            self.w("Neither `vigil.json` nor `serf.json` is there: the run did not finish.")
            self.w()
            self.targets.append((TARGET_AGENT, f"{self.paths.show(d)} has no results", "bench-agent.sh", "not measured"))
            return
        self.w("| system | version | nodes | window | CPU per agent median / max (% of a core) "
               "| RSS median / max (MB) | sent per node median / max (B/s) |")
        self.w("|---|---|---|---|---|---|---|")
        for system, r in results.items():
            for window in ("idle", "churn"):
                x = r.get(window)
                if not x:
                    continue
                self.w(f"| {system} | {r.get('version', '?')} | {r.get('nodes', '?')} | {window} "
                       f"({fmt(x.get('seconds'), 1)} s, {x.get('agents_measured', '?')} agents) "
                       f"| {fmt(get(x, 'cpu_percent', 'median'), 3)} / {fmt(get(x, 'cpu_percent', 'max'), 3)} "
                       f"| {fmt(get(x, 'rss_mb', 'median'), 1)} / {fmt(get(x, 'rss_mb', 'max'), 1)} "
                       f"| {fmt(get(x, 'sent_bytes_per_s', 'median'))} / {fmt(get(x, 'sent_bytes_per_s', 'max'))} |")
        missing = [s for s in ("vigil", "serf") if s not in results]
        if missing:
            self.w()
            self.w(f"Not in this run: {', '.join(missing)} (`--system both` measures both).")
        self.w()
        self.w("CPU from /proc/PID/stat over the window, RSS is VmRSS at its end, bytes sent are the node's "
               "bridge port's rx_bytes (Ethernet frames).")
        self.w()
        windows = [w for w in ("idle", "churn") if any(r.get(w) for r in results.values())]
        systems = list(results)
        panels = []
        for title, key, unit, target, tlabel in (("CPU per agent", "cpu_percent", "% of one core", None, ""),
                                                 ("RSS per agent", "rss_mb", "MB", None, ""),
                                                 ("Sent per node", "sent_bytes_per_s", "B/s", KB, "2 KB/s target")):
            values = {(w, s): get(results[s], w, key, "median") for w in windows for s in systems}
            panels.append((title, unit, values, target, tlabel))
        nodes = {r.get("nodes") for r in results.values()}
        bar_panels(self.svg_path("agent-cost.svg"), "Agent cost, Vigil vs serf (median over agents)",
                   windows, systems, panels,
                   notes=[f"{'/'.join(map(str, nodes))} nodes; {self.paths.show(d)}"])
        self.svg_link("agent-cost.svg", "Agent cost, Vigil vs serf")

        v, s = get(results, "vigil", "idle"), get(results, "serf", "idle")
        if not v:
            self.targets.append((TARGET_AGENT, "no Vigil idle window", "bench-agent.sh", "not measured"))
            return
        vn = results["vigil"].get("nodes")
        parts, ok = [], True
        sent = get(v, "sent_bytes_per_s", "median")
        parts.append(f"Vigil sends {fmt(sent)} B/s per node (median)")
        ok &= sent is not None and sent <= KB
        if s:
            for key, label in (("cpu_percent", "CPU %"), ("rss_mb", "RSS MB")):
                a, b = get(v, key, "median"), get(s, key, "median")
                parts.append(f"{label} {a} vs serf {b}")
                ok &= a is not None and b is not None and a <= b
        else:
            parts.append("serf not measured in this run")
        status = ("met" if ok else "not met") if s else ("not met" if not ok else "not measured")
        if vn != 50:
            status = f"{status} at {vn} nodes; 50 nodes not measured"
        self.targets.append((TARGET_AGENT, "; ".join(parts) + f" ({vn} nodes)", self.paths.show(d), status))

    # ---- absorb
    def absorb(self):
        self.w("## Absorbing load: sealed packets per second on one core")
        self.w()
        files = sorted(glob.glob(os.path.join(self.args.bench, "absorb*.json")))
        runs = [(p, r) for p in files for r in [load_json(p)] if isinstance(r, dict)]
        if not runs:
            self.w("Not measured: no `bench-out/absorb-*.json`. Run `scripts/bench-absorb.sh` "
                   "(as root for a namespace of its own; `--message gossip` for unanswered packets).")
            self.w()
            self.targets.append((TARGET_ABSORB, "not measured", "bench-absorb.sh", "not measured"))
            return
        self.w(f"Source: {len(runs)} run(s) of `scripts/bench-absorb.sh` in `bench-out/` (each file's `date` is when it ended).")
        self.w()
        self.w("| file | date | commit | message | highest rate without drops | agent CPU at that rate "
               "| first rate with drops | generator's highest rate | isolation |")
        self.w("|---|---|---|---|---|---|---|---|---|")
        for p, r in runs:
            first = r.get("lowest_rate_with_drops")
            self.w(f"| `{self.paths.show(p)}` | {r.get('date', mtime_utc(p))} | {r.get('commit', '?')} | {r.get('message', '?')} "
                   f"| {fmt(r.get('highest_rate_without_drops'))}/s | {fmt(r.get('agent_cpu_percent_at_that_rate'))}% "
                   f"| {fmt(first) + '/s' if first else 'none (generator-limited)'} "
                   f"| {fmt(r.get('generator_highest_rate'))}/s | {str(r.get('isolation', '?')).split(':')[0]} |")
        self.w()
        best_p, best = max(runs, key=lambda t: t[1].get("highest_rate_without_drops") or 0)
        rate = best.get("highest_rate_without_drops")
        limited = not best.get("lowest_rate_with_drops")
        status = "met" if rate and rate >= 100_000 else "not met"
        if status == "not met" and limited:
            status = "not measured (generator-limited below the target)"
        self.targets.append((TARGET_ABSORB, f"{fmt(rate)}/s without drops at {fmt(best.get('agent_cpu_percent_at_that_rate'))}% "
                             f"of one core ({best.get('message', '?')}, {best.get('date', '?')})", self.paths.show(best_p), status))

    # ---- chaos comparison
    def compare(self):
        self.w("## Vigil vs serf under chaos: `scripts/compare-serf.sh`")
        self.w()
        dirs = sorted(d for d in glob.glob(os.path.join(self.args.chaos, "compare-*")) if os.path.isdir(d))
        if not dirs:
            self.w("Not measured: no `chaos-out/compare-*/`. Run `bash scripts/compare-serf.sh` (as root, about 35 minutes).")
            self.w()
            return
        d = dirs[-1]
        runs = {}
        for p in glob.glob(os.path.join(d, "*", "report.json")):
            m = re.fullmatch(r"(.+)-(vigil|serf)-(\d+)", os.path.basename(os.path.dirname(p)))
            r = load_json(p)
            if m and r:
                runs.setdefault((m.group(1), m.group(2)), []).append((int(m.group(3)), r))
        if not runs:
            self.w(f"`{self.paths.show(d)}/` holds no `report.json`: the run did not finish.")
            self.w()
            return
        scenarios = sorted({sc for sc, _ in runs})
        seeds = sorted({seed for v in runs.values() for seed, _ in v})
        nodes = sorted({r.get("nodes") for v in runs.values() for _, r in v})
        starts = [get(r, "window", "start") for v in runs.values() for _, r in v if get(r, "window", "start")]
        ends = [get(r, "window", "end") for v in runs.values() for _, r in v if get(r, "window", "end")]
        soak = None
        for (sc, _), v in runs.items():
            if sc == "loss-10":
                m = re.search(r"for (\d+) s", v[0][1].get("expectation", ""))
                soak = m.group(1) if m else None
        command = (f"bash scripts/compare-serf.sh --seeds \"{' '.join(map(str, seeds))}\" --nodes {'/'.join(map(str, nodes))}"
                   + (f" --soak {soak}" if soak else "") + " " + " ".join(scenarios))
        self.w(f"Source: `{self.paths.show(d)}/` (the latest of {len(dirs)} comparison(s) by name), "
               f"runs from {min(starts)[:16].replace('T', ' ')} to {max(ends)[:16].replace('T', ' ')} UTC. "
               f"The command, as read back from its run folders: `{command}`. Pooled as compare-serf.sh pools: "
               "detection p50 / p99 / max over every (observer, target) sample of every seed, false failures summed, "
               "bytes/node/s the mean over the runs.")
        self.w()
        self.w("| scenario | system | runs passed | detection p50 | detection p99 | detection max | false failures | bytes/node/s |")
        self.w("|---|---|---|---|---|---|---|---|")
        pooled = {}
        for sc in scenarios:
            for system in ("vigil", "serf"):
                reports = [r for _, r in sorted(runs.get((sc, system), []), key=lambda t: t[0])]
                if not reports:
                    self.w(f"| {sc} | {system} | no report | | | | | |")
                    continue
                samples = [v for r in reports if r.get("detection_ms")
                           for v in (get(r, "detection_ms", "by_observer") or {}).values()]
                passed = sum(1 for r in reports if r.get("passed"))
                false = sum(len(r.get("false_failure_events") or []) for r in reports)
                traffic = [get(r, "bytes_per_node_per_s", "mean") for r in reports]
                traffic = [t for t in traffic if t is not None]
                bps = sum(traffic) / len(traffic) if traffic else None
                p = dict(p50=rank(samples, 50), p99=rank(samples, 99), max=max(samples) if samples else None, bytes=bps)
                pooled[(sc, system)] = p
                ms = lambda v: "-" if v is None else f"{v} ms"
                self.w(f"| {sc} | {system} | {passed} of {len(reports)} | {ms(p['p50'])} | {ms(p['p99'])} | {ms(p['max'])} "
                       f"| {false} | {fmt(bps)} |")
        self.w()
        # Real agents against the detection target: the preset's tolerance is the simulator's figure.
        presets = {r.get("preset") for (sc, system), v in runs.items() if system == "vigil" for _, r in v}
        preset = presets.pop() if len(presets) == 1 else None
        beyond = [(pooled[(sc, "vigil")]["p99"], sc) for sc in scenarios
                  if (sc, "vigil") in pooled and pooled[(sc, "vigil")]["p99"] is not None]
        if beyond and preset in self.tolerance:
            p99, sc = max(beyond)
            over = p99 - self.tolerance[preset]
            self.targets.append((TARGET_DETECTION, f"real agents: {over:.0f} ms beyond {self.tolerance[preset]:.0f} ms "
                                 f"(p99 {p99} ms in {sc}, worst of {len(beyond)} scenario(s); preset {preset}'s "
                                 "tolerance as the simulator reports it)", self.paths.show(d),
                                 "met" if over <= 1000 else "not met"))
        det_sc = [sc for sc in scenarios if any((pooled.get((sc, s)) or {}).get("p50") for s in ("vigil", "serf"))]
        systems = [s for s in ("vigil", "serf") if any(k[1] == s for k in pooled)]
        if det_sc:
            panels = [("Detection p50", "ms", {(sc, s): get(pooled, (sc, s), "p50") if (sc, s) in pooled else None
                                               for sc in det_sc for s in systems}, None, ""),
                      ("Detection max", "ms", {(sc, s): pooled[(sc, s)]["max"] if (sc, s) in pooled else None
                                               for sc in det_sc for s in systems}, None, ""),
                      ("Bytes per node", "B/s", {(sc, s): pooled[(sc, s)]["bytes"] if (sc, s) in pooled else None
                                                 for sc in scenarios for s in systems}, None, "")]
            # The traffic panel covers every scenario; the two detection panels only those with a fault to detect.
            self._compare_svg(det_sc, scenarios, systems, panels, d)

    def _compare_svg(self, det_sc, scenarios, systems, panels, d):
        width = 40 + 330 * 3
        svg = Svg(width, 420)
        svg.text(width / 2, 22, "Vigil vs serf, real agents under chaos (pooled over seeds)", size=15,
                 anchor="middle", weight="bold")
        for p, (ptitle, unit, values, _, _) in enumerate(panels):
            groups = det_sc if p < 2 else scenarios
            left = 70 + 330 * p
            vals = [v for v in values.values() if v is not None]
            ax = Axes(svg, (left, 60, left + 250, 300), (0, len(groups)), (0, max(vals) * 1.15 if vals else 1),
                      ylabel=unit, title=ptitle, xticks=[i + 0.5 for i in range(len(groups))], xticklabels=[""] * len(groups))
            for g, group in enumerate(groups):
                svg.text(ax.px(g + 0.5), 312, group, size=10, anchor="end", rotate=-30)
            draw_bars(svg, ax, groups, systems, values, value_labels=False)
        legend(svg, 70, 395, [(s, color(s, i), None) for i, s in enumerate(systems)])
        note(svg, 250, 399, [f"source: {self.paths.show(d)}"])
        svg.save(self.svg_path("compare-serf.svg"))
        self.svg_link("compare-serf.svg", "Vigil vs serf under chaos")

    # ---- curve
    def curve(self):
        self.w("## Detection against cost: Vigil presets vs serf profiles (`scripts/bench-curve.sh`)")
        self.w()
        files = sorted(glob.glob(os.path.join(self.args.bench, "curve", "*.json")))
        points = []
        for p in files:
            r = load_json(p)
            if isinstance(r, dict):
                r = r.get("points") or [r]
            for x in r if isinstance(r, list) else []:
                if isinstance(x, dict):
                    points.append((p, x))
        if not points:
            self.w("Not measured: no `bench-out/curve/*.json`. Run `bash scripts/bench-curve.sh` "
                   "(a JSON list of points: system, profile, detection_ms {p50, max}, bytes_per_node_per_s, "
                   "pause_tolerance_ms, false_failures_loss20, measured_at).")
            self.w()
            return
        self.w(f"Source: {', '.join('`' + self.paths.show(p) + '` (' + mtime_utc(p) + ')' for p in files)}, "
               "written by `bash scripts/bench-curve.sh`.")
        self.w()
        self.w("| system | profile | detection p50 / max | bytes/node/s | pause tolerance | false failures at 20% loss | measured |")
        self.w("|---|---|---|---|---|---|---|")
        for p, x in points:
            self.w(f"| {x.get('system', '?')} | {x.get('profile', '?')} | {fmt(get(x, 'detection_ms', 'p50'))} / "
                   f"{fmt(get(x, 'detection_ms', 'max'))} ms | {fmt(x.get('bytes_per_node_per_s'))} "
                   f"| {fmt(x.get('pause_tolerance_ms'), unit=' ms') if x.get('pause_tolerance_ms') is not None else 'n/a'} "
                   f"| {fmt(x.get('false_failures_loss20'))} "
                   f"| {x.get('measured_at') or mtime_utc(p)} |")
        self.w()
        for xkey, name, xlabel, title in (("bytes_per_node_per_s", "curve-detection-vs-bytes.svg", "bytes / node / s",
                                           "Detection time vs traffic, per profile"),
                                          ("pause_tolerance_ms", "curve-detection-vs-tolerance.svg", "pause tolerance (ms)",
                                           "Detection time vs pause tolerance, per profile")):
            series, labels, skipped = [], {}, []
            for i, system in enumerate(sorted({str(x.get("system")) for _, x in points})):
                pts = []
                for _, x in points:
                    if str(x.get("system")) != system:
                        continue
                    xv, yv, ym = x.get(xkey), get(x, "detection_ms", "p50"), get(x, "detection_ms", "max")
                    if isinstance(xv, (int, float)) and isinstance(yv, (int, float)) and xv > 0:
                        pts.append((xv, yv, x.get("profile", ""), ym if isinstance(ym, (int, float)) else None))
                    else:
                        skipped.append(f"{system}/{x.get('profile', '?')}")
                pts.sort()
                if pts:
                    label = f"{system} (p50)"
                    series.append((label, [(a, b) for a, b, _, _ in pts], color(system, i), None))
                    labels[label] = [c for _, _, c, _ in pts]
                    maxima = [(a, m) for a, _, _, m in pts if m is not None]
                    if maxima:
                        series.append((f"{system} (max)", maxima, color(system, i), "4,3", "square"))
            if not series:
                self.w(f"No plot of detection against {xlabel}: no point has both.")
                self.w()
                continue
            xs = [x for _, pts, *_ in series for x, _ in pts]
            line_plot(self.svg_path(name), title, xlabel, "detection (ms)", series, xlog=max(xs) / min(xs) > 20,
                      notes=([f"no {xkey}: " + ", ".join(skipped)] if skipped else []), point_labels=labels)
            self.svg_link(name, title)
        # The pause-tolerance target, where a Vigil point carries both (max bounds p99 from above).
        vig = [(x, p) for p, x in points if str(x.get("system")) == "vigil" and get(x, "detection_ms", "max") is not None
               and x.get("pause_tolerance_ms")]
        if vig:
            worst, p = max(vig, key=lambda t: t[0]["detection_ms"]["max"] - t[0]["pause_tolerance_ms"])
            over = worst["detection_ms"]["max"] - worst["pause_tolerance_ms"]
            self.targets.append((TARGET_DETECTION, f"max {worst['detection_ms']['max']} ms is {over} ms beyond "
                                 f"{worst['pause_tolerance_ms']} ms (profile {worst.get('profile')}, worst of {len(vig)})",
                                 self.paths.show(p), "met" if over <= 1000 else "not met (max; p99 may be lower)"))

    # ---- micro
    # Benchmarks that run 1,000 operations per sample (`scalingFactor: .kilo` in
    # Benchmarks/Benchmarks/VigilBenchmarks/VigilBenchmarks.swift).
    def micro(self):
        self.w("## Micro-benchmarks (`Benchmarks/`, ordo-one/benchmark)")
        self.w()
        files = sorted(glob.glob(os.path.join(self.args.bench, "micro", "*.json")))
        rows = []
        for p in files:
            r = load_json(p)
            if isinstance(r, list):
                rows += [(p, x) for x in r if isinstance(x, dict) and "name" in x and "value" in x]
        if not rows:
            self.w(f"Not measured: no `bench-out/micro/*.json`. Run `mkdir -p bench-out/micro && {MICRO_COMMAND}` "
                   "from the repository root (writes `Current_run.json`: p99 per benchmark and metric).")
            self.w()
            return
        self.w(f"Source: {', '.join('`' + self.paths.show(p) + '` (' + mtime_utc(p) + ')' for p in files)}, "
               f"the `jsonSmallerIsBetter` export of `{MICRO_COMMAND}` "
               "(`--format jsonBiggerIsBetter` gives throughput the same way). Values are p99 "
               "per operation (the export gives the benchmarks that run 1,000 operations per sample per 1,000; shown divided); p80 and p95 where the export gives them.")
        self.w()
        self.w("| benchmark | metric | p99 | p80 / p95 |")
        self.w("|---|---|---|---|")
        for p, x in rows:
            name, _, metric = str(x["name"]).rpartition(" - ")
            extra = str(x.get("extra") or "")
            p80 = re.search(r"80th percentile: ([\d.]+)", extra)
            p95 = re.search(r"95th percentile: ([\d.]+)", extra)
            unit = x.get("unit") or ""
            values = [float(x["value"])] + ([float(p80.group(1)), float(p95.group(1))] if p80 and p95 else [])
            if name in PER_KILO:
                # The export gives these per sample of 1,000 operations: one step down the units.
                # (A plain `#` count is already per operation in the export.)
                unit = {"s": "ms", "ms": "μs", "μs": "ns", "us": "ns", "K": "#", "M": "K"}.get(unit, unit)
            shown = [f"{v:g}" for v in values]
            pp = f"{shown[1]} / {shown[2]} {unit}" if len(shown) == 3 else ""
            self.w(f"| {name or x['name']} | {metric} | {shown[0]} {unit} | {pp} |")
        self.w()

    # ---- assemble
    def render(self):
        body = self.md
        self.md = []
        self.w("# Benchmarks")
        self.w()
        self.w("Generated by `scripts/bench-report.sh` from the raw results in `bench-out/` and `chaos-out/` "
               "(both ignored by git); rerun it after any benchmark. Each section names the command that produced "
               "its numbers and when; what was not measured is said so.")
        self.w()
        self.w("## Issue 6's targets")
        self.w()
        self.w("| target | measured | from | status |")
        self.w("|---|---|---|---|")
        order = [TARGET_AGENT, TARGET_DETECTION, TARGET_ABSORB, TARGET_SIM, TARGET_SCALE]
        for t, m, src, st in sorted(self.targets, key=lambda row: order.index(row[0])):
            self.w(f"| {t} | {m} | {src} | **{st}** |")
        self.w()
        self.w(f"\"2 KB/s\" is read as {KB:,} B/s. Detection beyond the pause tolerance is the detection time minus "
               "the preset's pause tolerance (the simulator reports both). What cheaper variants of the "
               "default preset would send and detect: `bash scripts/sim-variants.sh` (README, \"What 2 KB/s per "
               "node would cost\").")
        self.w()
        return "\n".join(self.md + body).rstrip() + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--in", dest="bench", default="bench-out")
    ap.add_argument("--chaos", default="chaos-out")
    ap.add_argument("--out", default="BENCHMARKS.md")
    ap.add_argument("--svg-dir", default="docs/bench")
    args = ap.parse_args()
    # Neither folder there is most likely the wrong checkout (a worktree has none): stop rather
    # than overwrite the report with "not measured" everywhere.
    if not os.path.isdir(args.bench) and not os.path.isdir(args.chaos):
        sys.exit(f"bench-report: neither `{args.bench}` nor `{args.chaos}` exists; run a scripts/bench-*.sh first, "
                 "or pass --in DIR / --chaos DIR (e.g. another checkout's bench-out)")
    r = Report(args)
    r.scale()
    r.agent()
    r.absorb()
    r.compare()
    r.curve()
    r.micro()
    text = r.render()
    with open(args.out, "w") as f:
        f.write(text)
    # Plots this run did not draw (an input gone) would show stale numbers: remove them.
    for old in glob.glob(os.path.join(args.svg_dir, "*.svg")):
        if os.path.basename(old) not in r.svgs:
            os.remove(old)
    print(f"bench-report: wrote {args.out} and {len(r.svgs)} plot(s) in {args.svg_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
