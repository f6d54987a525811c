#!/usr/bin/env python3
"""Writes report.json and report.html for one chaos run (scripts/chaos.sh calls it).

    report.py RUN_DIR        # reads scenario.json, faults.ndjson, nodes/*/events.ndjson,
                             # nodes/*/members.final.json, bytes-start.json, bytes-end.json

Prints one line per check and exits 0 when every check of the scenario passed, 1 when one
failed. The checks are the scenario's expectation, listed in scenario.json by
scripts/chaos.sh next to the scenario itself:

    failed-everywhere NODE   every node running at the end, other than NODE, saw NODE
                             `failed` after NODE's first fault
    never-failed NODE        nobody saw NODE `failed` during the scenario
    no-false-failures        nobody saw a node `failed` that was not faulted
    all-alive-at-end         every node's final view lists all nodes `alive`
    no-oscillation NODE [S]  NODE ends stably failed or stably alive in every other node's
                             view: from S seconds (default 30) after NODE's first fault
                             on, each observer changes its status of NODE at most once
                             (suspect then failed counts as one change), and none ever
                             brings NODE back from `failed` to alive or suspect
    unaffected-except NODE   no node other than NODE saw any member other than NODE leave
                             `alive` (suspect, failed or left) during the scenario

and the process-fault checks (no-failures, no-false-suspicions, left-seen, clock-skewed,
throttled, log-says, log-warns, old-key-kept-out, key-rotated) listed in report_proc.py.

Detection (`detection_ms`) is the time from the fault to the first `failed` in each
observer's own event stream; percentiles are nearest-rank. Bytes come from the bridge
ports' counters: a node's port receives what the node sends (Ethernet frames, so 14 bytes
of header each on top of IP).
"""

import html
import json
import math
import os
import sys
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_proc  # noqa: E402 (the process-fault checks)

COLOURS = {"alive": "#43a047", "suspect": "#fb8c00", "failed": "#e53935", "left": "#9e9e9e", None: "#e0e0e0"}


def load_lines(path):
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    return out


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def nearest_rank(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def port_bytes(path):
    """{port: (rx_bytes, tx_bytes)} from `ip -j -s link show` in the bridge namespace."""
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        links = json.load(f)
    return {link["ifname"]: (link["stats64"]["rx"]["bytes"], link["stats64"]["tx"]["bytes"]) for link in links}


def no_oscillation(node, settle_text, names, in_window, first_fault, start):
    """(passed, detail) for the check `no-oscillation NODE [SETTLE_S]`."""
    try:
        settle_ms = float(settle_text) * 1000
    except ValueError:
        return False, f"settle time must be seconds, got `{settle_text}`"
    t0 = first_fault.get(node, start)
    flips, revived = {}, []
    for obs in names:
        if obs == node:
            continue
        seen = [e for e in in_window[obs] if e["member"] == node and e["t_ms"] >= t0]
        previous = None
        for e in seen:
            if previous == "failed" and e["status"] in ("alive", "suspect"):
                revived.append(f"{obs} at +{(e['t_ms'] - start) / 1000:.1f}s")
            previous = e["status"]
        # Changes only: the same status reported again (serf's log repeats) is no change.
        late, previous = [], None
        for e in seen:
            if e["status"] != previous and e["t_ms"] >= t0 + settle_ms:
                late.append(e["status"])
            previous = e["status"]
        # Going failed passes through suspect: suspect then failed is one change.
        changes = [st for i, st in enumerate(late) if not (st == "suspect" and late[i + 1:i + 2] == ["failed"])]
        flips[obs] = changes
    shaky = {o: c for o, c in flips.items() if len(c) > 1}
    final = "; ".join(f"{o}: {len(c)}" for o, c in flips.items())
    if not shaky and not revived:
        return True, f"{node} stable in every view after {settle_ms / 1000:g} s (status changes after it, per observer: {final})"
    parts = []
    if revived:
        parts.append(f"{node} back from failed in " + ", ".join(revived[:10]))
    if shaky:
        parts.append(f"more than one status change of {node} after {settle_ms / 1000:g} s: "
                     + ", ".join(f"{o} {len(c)} ({' '.join(c[:8])}{' ...' if len(c) > 8 else ''})" for o, c in shaky.items()))
    return False, "; ".join(parts)


def main():
    run = sys.argv[1]
    with open(os.path.join(run, "scenario.json")) as f:
        scenario = json.load(f)
    names = [f"n{i}" for i in range(1, scenario["nodes"] + 1)]
    start, end = scenario["window"]["start_ms"], scenario["window"]["end_ms"]
    faults = [f for f in load_lines(os.path.join(run, "faults.ndjson")) if start <= f["t_ms"] <= end]
    faulted = set(scenario.get("faulted", []))
    first_fault = {}
    for f in faults:
        for n in f["nodes"].replace("|", " ").split():
            first_fault.setdefault(n, f["t_ms"])

    events = {}
    for n in names:
        events[n] = sorted(load_lines(os.path.join(run, "nodes", n, "events.ndjson")), key=lambda e: e["t_ms"])
    report_proc.retime_skewed(run, events)  # a skewed node stamps its events with its own clock
    status_events = {n: [e for e in events[n] if e.get("kind") == "member-status" and e.get("member") != n] for n in names}
    in_window = {n: [e for e in status_events[n] if start <= e["t_ms"] <= end] for n in names}

    finals = {}
    for n in names:
        path = os.path.join(run, "nodes", n, "members.final.json")
        if os.path.exists(path) and os.path.getsize(path) > 0:
            try:
                with open(path) as f:
                    finals[n] = {m["name"]: m["status"] for m in json.load(f)["members"]}
            except (ValueError, KeyError):
                pass

    def failed_seen(member, after=None):
        """{observer: first t_ms it saw member failed (after `after`)}"""
        seen = {}
        for obs in names:
            for e in in_window[obs]:
                if e["member"] == member and e["status"] == "failed" and (after is None or e["t_ms"] >= after):
                    seen.setdefault(obs, e["t_ms"])
        return seen

    # False failures: a node that was never faulted, marked failed by anyone in the window.
    false_events = [
        {"member": e["member"], "observer": obs, "time": iso(e["t_ms"]), "t_ms": e["t_ms"]}
        for obs in names
        for e in in_window[obs]
        if e["status"] == "failed" and e["member"] not in faulted
    ]
    false_failures = sorted({e["member"] for e in false_events})

    # Detection: fault -> each observer's first `failed` for the targets.
    detection = None
    detect = scenario.get("detect")
    if detect:
        by = {}
        undetected = []
        for target in detect["targets"]:
            t0 = first_fault.get(target, start)
            seen = failed_seen(target, t0)
            for obs in detect["observers"]:
                if obs in seen:
                    by[f"{obs}:{target}"] = seen[obs] - t0
                else:
                    undetected.append(f"{obs}:{target}")
        values = list(by.values())
        detection = {
            "p50": nearest_rank(values, 50),
            "max": max(values) if values else None,
            "min": min(values) if values else None,
            "samples": len(values),
            "by_observer": by,
            "undetected": undetected,
            "what": "ms from the fault to each observer's first `failed` for the target, from its own event stream ("
            + ", ".join(detect["observers"])
            + " observing "
            + ", ".join(detect["targets"])
            + ")",
        }

    # Checks: the scenario's expectation.
    results = []
    for check in scenario["checks"]:
        words = check.split()
        kind, arg = words[0], (words[1] if len(words) > 1 else None)
        if kind == "failed-everywhere":
            t0 = first_fault.get(arg, start)
            survivors = [n for n in names if n != arg and n in finals]
            seen = failed_seen(arg, t0)
            missing = [n for n in survivors if n not in seen]
            ok = not missing and bool(survivors)
            msg = f"{arg} marked failed by every survivor ({', '.join(survivors)})" if ok else \
                f"{arg} was not marked failed by {', '.join(missing) or 'anyone (no survivor answered)'}"
        elif kind == "never-failed":
            seen = failed_seen(arg)
            ok = not seen
            msg = f"{arg} never marked failed" if ok else f"{arg} marked failed by {', '.join(sorted(seen))}"
        elif kind == "no-false-failures":
            ok = not false_events
            msg = "no node that was not faulted was marked failed" if ok else "false failures: " + ", ".join(
                f"{e['member']} by {e['observer']} at {e['time']}" for e in false_events[:10])
        elif kind == "all-alive-at-end":
            bad = []
            for n in names:
                view = finals.get(n)
                if view is None:
                    bad.append(f"{n}: no final view")
                    continue
                for m in names:
                    if view.get(m) != "alive":
                        bad.append(f"{n} sees {m} {view.get(m, 'missing')}")
            ok = not bad
            msg = "every node sees every node alive at the end" if ok else "not all alive at the end: " + "; ".join(bad[:10])
        elif kind == "no-oscillation":
            ok, msg = no_oscillation(arg, words[2] if len(words) > 2 else "30", names, in_window, first_fault, start)
        elif kind == "unaffected-except":
            hits = [f"{e['member']} {e['status']} by {obs} at +{(e['t_ms'] - start) / 1000:.1f}s"
                    for obs in names if obs != arg for e in in_window[obs]
                    if e["member"] != arg and e["status"] != "alive"]
            ok = not hits
            msg = f"no node other than {arg} saw another member leave alive" if ok else \
                f"{len(hits)} status changes away from alive of members other than {arg}: " + ", ".join(hits[:10])
        else:
            ok, msg = report_proc.check(words, run, names, faults, in_window, events, faulted, start, iso) or \
                (False, f"unknown check `{check}`")
        results.append({"check": check, "passed": ok, "detail": msg})
    passed = all(r["passed"] for r in results)

    # Bytes per node per second, over the scenario window, from the bridge ports.
    b0, b1 = port_bytes(os.path.join(run, "bytes-start.json")), port_bytes(os.path.join(run, "bytes-end.json"))
    seconds = max(0.001, (scenario["window"]["bytes_end_ms"] - scenario["window"]["bytes_start_ms"]) / 1000)
    sent = {n: round((b1[n][0] - b0[n][0]) / seconds) for n in names if n in b0 and n in b1}
    received = {n: round((b1[n][1] - b0[n][1]) / seconds) for n in names if n in b0 and n in b1}
    steady = [sent[n] for n in sent if n not in faulted] or list(sent.values())
    traffic = {
        "mean": round(sum(steady) / len(steady)) if steady else None,
        "max": max(steady) if steady else None,
        "sent_by_node": sent,
        "received_by_node": received,
        "seconds": round(seconds, 1),
        "what": "bytes each node sent per second (its bridge port's rx_bytes: Ethernet frames) over the scenario; "
        "mean and max over the nodes that were not faulted",
    }

    views = {
        n: [
            {k: v for k, v in {"time": iso(e["t_ms"]), "rel_ms": e["t_ms"] - start, "member": e.get("member"),
                                "kind": e.get("kind"), "status": e.get("status"), "detail": e.get("detail")}.items()
             if v is not None}
            for e in events[n]
            # Lifeguard health changes are many (every few hundred ms under a partition): counted, not listed.
            if start <= e["t_ms"] <= end and e.get("kind") != "health"
        ]
        for n in names
    }
    suspicions = {}
    for obs in names:
        for e in in_window[obs]:
            if e["status"] == "suspect":
                suspicions[e["member"]] = suspicions.get(e["member"], 0) + 1
    health_changes = {n: sum(1 for e in events[n] if e.get("kind") == "health" and start <= e["t_ms"] <= end) for n in names}
    report = {
        "scenario": scenario["scenario"],
        "system": scenario["system"],
        "nodes": scenario["nodes"],
        "seed": scenario["seed"],
        "preset": scenario.get("preset"),
        "passed": passed,
        "expectation": scenario["expectation"],
        "checks": results,
        "detection_ms": detection,
        "false_failures": false_failures,
        "false_failure_events": false_events,
        "faulted": sorted(faulted),
        "suspicions": suspicions,
        "health_changes": health_changes,
        "fences": [],
        "recoveries": [],
        "ha": "not configured",
        "bytes_per_node_per_s": traffic,
        "faults": [{"time": iso(f["t_ms"]), "rel_ms": f["t_ms"] - start, "fault": f["fault"], "nodes": f["nodes"],
                    "detail": f["detail"]} for f in faults],
        "views": views,
        "final_views": finals,
        "window": {"start": iso(start), "end": iso(end), "seconds": round((end - start) / 1000, 1)},
        "notes": scenario.get("notes", []),
    }
    report["command"] = scenario.get("command")
    report.update(scenario.get("extra", {}))
    with open(os.path.join(run, "report.json"), "w") as f:
        json.dump(report, f, indent=2, sort_keys=False)
        f.write("\n")
    write_html(run, report, names, status_events, start, end, faults)

    for r in results:
        print(f"  {'ok  ' if r['passed'] else 'FAIL'} {r['check']}: {r['detail']}")
    if detection:
        print(f"  detection_ms p50 {detection['p50']} max {detection['max']} ({detection['samples']} observations"
              + (f", undetected: {', '.join(detection['undetected'])}" if detection['undetected'] else "") + ")")
    print(f"  false_failures {false_failures or 'none'}; suspicions (observer, member) {sum(suspicions.values())};"
          f" bytes/node/s mean {traffic['mean']} max {traffic['max']}")
    return 0 if passed else 1


def write_html(run, report, names, status_events, start, end, faults):
    """A self-contained page: one row per node, one stripe per peer, coloured by what that
    node believed about the peer; fault times as vertical lines; nothing fetched."""
    left, top, width, stripe, gap = 70, 60, 900, 9, 12
    span = max(1, end - start)

    def x(t):
        return left + (min(max(t, start), end) - start) / span * width

    # When a node was itself down (killed until restarted) or paused, its row is shaded:
    # what it "believed" then is only what it had last written down.
    own = {n: [] for n in names}
    opened = {}
    for f in faults:
        for n in f["nodes"].split():
            if f["fault"] in ("kill", "pause") and n in own:
                opened[n] = (f["t_ms"], "down" if f["fault"] == "kill" else "paused")
            elif f["fault"] in ("restart", "resume") and n in opened:
                a, what = opened.pop(n)
                own[n].append((a, f["t_ms"], what))
    for n, (a, what) in opened.items():
        own[n].append((a, end, what))
    rows = []
    y = top
    for obs in names:
        peers = [m for m in names if m != obs]
        row_top = y
        rows.append(f'<text x="{left - 8}" y="{y + stripe * len(peers) / 2 + 4}" text-anchor="end" '
                    f'font-weight="bold">{obs}</text>')
        for peer in peers:
            # Belief at the window start: the last status seen before it (the cluster was
            # converged: alive when nothing was seen).
            belief, since = "alive", start
            for e in status_events[obs]:
                if e["member"] == peer and e["t_ms"] < start:
                    belief = e["status"]
            spans = []
            for e in status_events[obs]:
                if e["member"] == peer and start <= e["t_ms"] <= end:
                    spans.append((since, e["t_ms"], belief))
                    belief, since = e["status"], e["t_ms"]
            spans.append((since, end, belief))
            for a, b, s in spans:
                rows.append(f'<rect x="{x(a):.1f}" y="{y}" width="{max(0.5, x(b) - x(a)):.1f}" height="{stripe - 1}" '
                            f'fill="{COLOURS.get(s, "#e0e0e0")}"><title>{obs} believed {peer} {s} '
                            f'from +{(a - start) / 1000:.2f}s to +{(b - start) / 1000:.2f}s</title></rect>')
            rows.append(f'<text x="{left + width + 6}" y="{y + stripe - 1}" font-size="9">{peer}</text>')
            y += stripe
        for a, b, what in own[obs]:
            rows.append(f'<rect x="{x(a):.1f}" y="{row_top}" width="{max(1.0, x(b) - x(a)):.1f}" height="{y - row_top}" '
                        f'fill="#000" fill-opacity="0.45"><title>{obs} {what} from +{(a - start) / 1000:.2f}s '
                        f'to +{(b - start) / 1000:.2f}s</title></rect>')
        y += gap
    marks = []
    for i, f in enumerate(faults):
        fx = x(f["t_ms"])
        marks.append(f'<line x1="{fx:.1f}" y1="{top - 8}" x2="{fx:.1f}" y2="{y}" stroke="#222" stroke-dasharray="3,3"/>')
        marks.append(f'<text x="{fx + 2:.1f}" y="{top - 12 - (i % 3) * 11}" font-size="10">'
                     f'{html.escape(f["fault"])} {html.escape(f["nodes"])} (+{(f["t_ms"] - start) / 1000:.1f}s)</text>')
    ticks = []
    step = max(1, round(span / 1000 / 10))
    for s in range(0, int(span / 1000) + 1, step):
        tx = left + s * 1000 / span * width
        ticks.append(f'<line x1="{tx:.1f}" y1="{y}" x2="{tx:.1f}" y2="{y + 4}" stroke="#000"/>'
                     f'<text x="{tx:.1f}" y="{y + 16}" text-anchor="middle" font-size="10">{s}s</text>')
    legend = "".join(f'<span style="background:{c};padding:0 8px;margin:0 4px"></span>{s}'
                     for s, c in COLOURS.items() if s)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 40}" height="{y + 30}" '
           f'font-family="sans-serif" font-size="12">' + "".join(rows + marks + ticks) + "</svg>")
    checks = "".join(f'<li style="color:{"#2e7d32" if r["passed"] else "#c62828"}">{"passed" if r["passed"] else "FAILED"}: '
                     f'{html.escape(r["check"])} — {html.escape(r["detail"])}</li>' for r in report["checks"])
    d = report["detection_ms"]
    summary = [
        f"<b>{html.escape(report['scenario'])}</b> on {report['nodes']} {html.escape(report['system'])} nodes, seed {report['seed']}, "
        f"{report['window']['start']} ({report['window']['seconds']} s)",
        f"expectation: {html.escape(report['expectation'])}",
        f"result: <b>{'passed' if report['passed'] else 'FAILED'}</b>",
        f"detection: p50 {d['p50']} ms, max {d['max']} ms" if d else "detection: not measured in this scenario",
        f"false failures: {', '.join(report['false_failures']) or 'none'}; fences/recoveries: HA {report['ha']}",
        f"bytes per node per second (sent, unfaulted nodes): mean {report['bytes_per_node_per_s']['mean']}, "
        f"max {report['bytes_per_node_per_s']['max']}",
    ]
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>chaos: "
            + html.escape(report["scenario"]) + "</title></head><body style='font-family:sans-serif'>"
            + "".join(f"<p style='margin:4px 0'>{s}</p>" for s in summary)
            + f"<ul>{checks}</ul><p>Each row is one node; each stripe is what that node believed about one peer "
            f"(named on the right), over the scenario's time; a row is shaded while that node was itself killed or paused. {legend}</p>" + svg + "</body></html>\n")
    with open(os.path.join(run, "report.html"), "w") as f:
        f.write(page)


if __name__ == "__main__":
    sys.exit(main())
