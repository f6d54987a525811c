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
    silent-after-fault NODE  NODE's own event stream holds nothing from 1 s after its first
                             fault to the end (a paused node was never resumed)

With HA (Vigil without --no-ha), from the HA records — every running node's final
`vigil history --format json` (nodes/*/history.json, with the node's life) together with
every `ha` event in the recorded streams (which also hold what a node that died later saw)
— the power watcher's power.ndjson (when each BMC really went Off/On) and Masakari's
notifications (masakari.json):

    fenced-once NODE         exactly one life of NODE was recorded `fenced`, and its BMC went
                             Off exactly once (the watcher saw it)
    fenced-at-most-once NODE at most one life fenced, at most one power-off
    never-fenced NODE        no fence ordered for NODE (no `fencing`/`fenced` record) and its
                             BMC never went Off
    no-fences                no fence ordered for anyone and no BMC went Off
    bmc-stayed-on NODE       NODE's BMC never went Off (whatever was ordered)
    fences-only-by NODE,...  every fence step (`fencing`, `fenced`) was signed by one of these
    fence-resumed NODE       NODE's fence was confirmed under a later term, by another leader,
                             than the one that first ordered it (a new leader finished it)
    fenced-after-approval NODE
                             NODE was held by the brake (`awaiting-approval`), an operator
                             approved it, and no fence of NODE was ordered before the approval
    recovered-once NODE      Masakari holds exactly one notification for host NODE, a
                             `recovered` record exists, and the recovery was ordered only after
                             the fence was confirmed (first `recovering` not before first `fenced`)
    no-recovery NODE         no Masakari notification for NODE, no `recovering`/`recovered` record
    event-seen KIND NODE     some node's event stream holds an event KIND about NODE; KIND is a
                             `vigil monitor` event (`declared-failed`, ...) or `ha:PHASE`
    log-critical PHASE NODE  some agent logged `ha.changed` at critical for NODE in PHASE
                             (what an operator's log alerting sees)
    operator-sees PHASE NODE some running node's final `vigil fence status` lists NODE in PHASE
                             and exits 3 (waiting for an operator), and its history has PHASE

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

    ha = load_ha(run, names, events, scenario) if scenario.get("ha") else None
    if ha:
        # Per faulted node that HA acted on: ms from its first fault to the earliest sighting
        # of each step anywhere (histories and streams), and to its BMC going Off.
        timeline = {}
        for n in sorted(faulted):
            t0 = first_fault.get(n)
            if t0 is None:
                continue
            row = {}
            for phase in ("awaiting-approval", "approved", "fencing", "fence-failed", "fenced", "recovering", "recovered"):
                times = [r["t_ms"] for r in ha["steps"] + ha["seen"] if r["node"] == n and r["phase"] == phase
                         and r["t_ms"] is not None and r["t_ms"] >= t0]
                if times:
                    row[phase] = min(times) - t0
            offs = [p["t_ms"] for p in ha["power"] if p["node"] == n and p["state"] == "Off" and p["t_ms"] >= t0]
            if offs:
                row["bmc_off"] = min(offs) - t0
            failed_at = [t for t in failed_seen(n, t0).values()]
            if failed_at:
                row["failed"] = min(failed_at) - t0
            if row:
                timeline[n] = row
        ha["summary"]["timeline_ms"] = timeline
        ha["summary"]["timeline_what"] = ("ms from the node's first fault to the earliest sighting of each step "
                                          "(failed: first observer; bmc_off: the power watcher)")

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
        elif kind == "silent-after-fault":
            t0 = first_fault.get(arg)
            late = [e for e in events.get(arg, []) if t0 is not None and t0 + 1000 <= e["t_ms"] <= end]
            ok = t0 is not None and not late
            msg = (f"{arg} was never faulted" if t0 is None else
                   f"{arg} said nothing from 1 s after its fault to the end" if ok else
                   f"{arg} still produced {len(late)} event(s) after its fault, first at {iso(late[0]['t_ms'])}: "
                   f"{late[0].get('kind')} {late[0].get('member', '')} {late[0].get('status', late[0].get('phase', ''))}")
        elif ha is None and kind in HA_CHECKS:
            ok, msg = False, f"`{check}` needs HA, and this cluster ran without it"
        elif kind in HA_CHECKS:
            ok, msg = ha_check(ha, kind, words[1:], run, names)
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
        "fences": ha["fences"] if ha else [],
        "recoveries": ha["recoveries"] if ha else [],
        "ha": ha["summary"] if ha else "not configured",
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
    write_html(run, report, names, status_events, start, end, faults, ha)

    for r in results:
        print(f"  {'ok  ' if r['passed'] else 'FAIL'} {r['check']}: {r['detail']}")
    if detection:
        print(f"  detection_ms p50 {detection['p50']} max {detection['max']} ({detection['samples']} observations"
              + (f", undetected: {', '.join(detection['undetected'])}" if detection['undetected'] else "") + ")")
    print(f"  false_failures {false_failures or 'none'}; suspicions (observer, member) {sum(suspicions.values())};"
          f" bytes/node/s mean {traffic['mean']} max {traffic['max']}")
    if ha:
        print("  fences " + (", ".join(f"{f['node']} (life {f['life']}, term {f['term']}, by {f['leader']})" for f in ha["fences"]) or "none")
              + "; recoveries " + (", ".join(f"{r['node']} ({r['source']})" for r in ha["recoveries"]) or "none")
              + "; BMC power-offs " + (", ".join(p["node"] for p in ha["power"] if p["state"] == "Off") or "none"))
        for n, row in ha["summary"]["timeline_ms"].items():
            print(f"  timeline {n} (ms after its fault): " + ", ".join(f"{k} {v}" for k, v in sorted(row.items(), key=lambda kv: kv[1])))
    return 0 if passed else 1


HA_CHECKS = {"bmc-stayed-on", "fence-resumed", "fenced-once", "fenced-at-most-once", "never-fenced", "no-fences", "fences-only-by", "fenced-after-approval",
             "recovered-once", "no-recovery", "event-seen", "log-critical", "operator-sees"}
FENCE_PHASES = ("fencing", "fenced")


def parse_detail(detail):
    """(term, leader) from an `ha` event's detail, "term T, leader L: ..."."""
    try:
        head = detail.split(":", 1)[0]
        term_part, leader_part = head.split(", ", 1)
        return int(term_part.split()[1]), leader_part.split()[1]
    except (IndexError, ValueError, AttributeError):
        return None, None


def to_ms(stamp):
    try:
        return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)
    except (ValueError, AttributeError):
        return None


def load_ha(run, names, events, scenario):
    """Every HA step any node recorded or saw, the BMCs' real power changes and Masakari's
    notifications; the report's `fences`, `recoveries` and `ha` come from these."""
    records = {}  # (node, life, term, sequence, phase) -> row, from the histories
    for n in names:
        path = os.path.join(run, "nodes", n, "history.json")
        if not os.path.exists(path):
            continue
        try:
            with open(path) as f:
                rows = json.load(f).get("history", [])
        except ValueError:
            continue
        for r in rows:
            key = (r["node"], r["life"], r["term"], r["sequence"], r["phase"])
            t = to_ms(r.get("time"))
            old = records.get(key)
            if old is None or (t is not None and t < old["t_ms"]):
                records[key] = {"node": r["node"], "life": r["life"], "term": r["term"], "sequence": r["sequence"],
                                "phase": r["phase"], "leader": r["leader"], "detail": r.get("detail", ""), "t_ms": t,
                                "seen_on": n}
    steps = list(records.values())
    # The event streams: steps seen by nodes that may be dead now (the life is not in an event).
    seen = []
    for n in names:
        for e in events[n]:
            if e.get("kind") == "ha" and e.get("member"):
                term, leader = parse_detail(e.get("detail", ""))
                seen.append({"node": e["member"], "phase": e.get("phase"), "term": term, "leader": leader,
                             "detail": e.get("detail", ""), "t_ms": e["t_ms"], "seen_on": n})
    power = load_lines(os.path.join(run, "power.ndjson"))
    masakari = {}
    path = os.path.join(run, "masakari.json")
    if os.path.exists(path):
        try:
            with open(path) as f:
                masakari = json.load(f)
        except ValueError:
            masakari = {}
    notes = masakari.get("notifications", [])
    status = {}
    for n in names:
        path = os.path.join(run, "nodes", n, "fence-status.json")
        if os.path.exists(path):
            try:
                with open(path) as f:
                    status[n] = json.load(f)
            except ValueError:
                pass

    # Fences: one per (node, life, term) confirmed `fenced`; from the histories, and from
    # the streams for a confirmation no running node journaled.
    fences, confirmed = [], set()
    for r in sorted((r for r in steps if r["phase"] == "fenced"), key=lambda r: r["t_ms"] or 0):
        if (r["node"], r["life"], r["term"]) in confirmed:
            continue
        confirmed.add((r["node"], r["life"], r["term"]))
        fences.append({"node": r["node"], "life": r["life"], "term": r["term"], "leader": r["leader"],
                       "time": iso(r["t_ms"]) if r["t_ms"] else None, "detail": r["detail"], "source": "history"})
    for e in sorted((e for e in seen if e["phase"] == "fenced"), key=lambda e: e["t_ms"]):
        if any(f["node"] == e["node"] and f["term"] == e["term"] for f in fences):
            continue
        fences.append({"node": e["node"], "life": None, "term": e["term"], "leader": e["leader"], "time": iso(e["t_ms"]),
                       "detail": e["detail"], "source": f"events of {e['seen_on']}"})
    # Recoveries: one per Masakari notification, with the `recovered` record that names it
    # (its detail holds the notification's UUID); a `recovered` record naming no notification
    # Masakari holds is listed on its own (source history).
    recoveries, matched = [], set()
    recovered_rows = sorted((r for r in steps if r["phase"] == "recovered"), key=lambda r: r["t_ms"] or 0)
    for note in notes:
        uuid = note.get("notification_uuid") or "-"
        row = next((r for r in recovered_rows if uuid in r["detail"]), None)
        entry = {"node": note.get("hostname"), "source": "masakari", "notification": uuid, "status": note.get("status"),
                 "generated_time": note.get("generated_time"), "type": note.get("type")}
        if row:
            matched.add(id(row))
            entry.update({"life": row["life"], "term": row["term"], "leader": row["leader"],
                          "recorded": iso(row["t_ms"]) if row["t_ms"] else None})
        recoveries.append(entry)
    seen_lives = set()
    for r in recovered_rows:
        if id(r) in matched or (r["node"], r["life"]) in seen_lives:
            continue
        seen_lives.add((r["node"], r["life"]))
        if any(x.get("node") == r["node"] and x.get("life") == r["life"] for x in recoveries):
            continue
        recoveries.append({"node": r["node"], "source": "history", "life": r["life"], "term": r["term"],
                           "leader": r["leader"], "recorded": iso(r["t_ms"]) if r["t_ms"] else None, "detail": r["detail"]})
    leaders = sorted({(e.get("detail"), e.get("member")) for n in names for e in events[n] if e.get("kind") == "leader"
                      and e.get("member")}, key=lambda x: str(x))
    summary = {
        "configured": True,
        "what": "fences: every (node, life, term) recorded `fenced`; recoveries: Masakari's notifications and the "
                "`recovered` records; power: when the watcher saw each BMC go Off/On",
        "fenced_nodes": sorted({f["node"] for f in fences}),
        "recovered_nodes": sorted({r["node"] for r in recoveries if r["source"] == "masakari" and r["node"]}),
        "brake_held": sorted({r["node"] for r in steps + seen if r["phase"] == "awaiting-approval"}),
        "fence_failed": sorted({r["node"] for r in steps + seen if r["phase"] == "fence-failed"}),
        "fence_orders": sorted({(r["node"], r["term"]) for r in steps + seen if r["phase"] == "fencing"
                                and r["term"] is not None}),
        "leaders": [{"term": d, "leader": m} for d, m in leaders],
        "power": [{"time": iso(p["t_ms"]), "node": p["node"], "state": p["state"], "detail": p.get("detail")} for p in power],
        "masakari_notifications": len(notes),
        "fence_status_exit": {n: s.get("exit") for n, s in status.items()},
    }
    summary["fence_orders"] = [{"node": n, "term": t} for n, t in summary["fence_orders"]]
    return {"steps": steps, "seen": seen, "power": power, "notes": notes, "status": status, "fences": fences,
            "recoveries": recoveries, "summary": summary}


def ha_check(ha, kind, args, run, names):
    steps, seen = ha["steps"], ha["seen"]
    node = args[0] if args else None

    def about(n, phases):
        return [r for r in steps + seen if r["node"] == n and r["phase"] in phases]

    def offs(n=None):
        return [p for p in ha["power"] if p["state"] == "Off" and (n is None or p["node"] == n)]

    def earliest(rows):
        times = [r["t_ms"] for r in rows if r["t_ms"] is not None]
        return min(times) if times else None

    if kind in ("fenced-once", "fenced-at-most-once"):
        lives = sorted({r["life"] for r in steps if r["node"] == node and r["phase"] == "fenced"})
        terms = sorted({r["term"] for r in about(node, ("fenced",))})
        if not lives and terms:
            lives = ["? (seen in events only)"]
        off = offs(node)
        if kind == "fenced-once":
            ok = len(lives) == 1 and len(off) == 1
        else:
            ok = len(lives) <= 1 and len(off) <= 1
        msg = (f"{node}: {len(lives)} life fenced (lives {lives}, confirmed under terms {terms}), "
               f"its BMC went Off {len(off)} time(s)")
        return ok, msg
    if kind == "never-fenced":
        rows = about(node, FENCE_PHASES)
        off = offs(node)
        ok = not rows and not off
        return ok, (f"{node}: no fence ordered, BMC never Off" if ok else
                    f"{node}: {len(rows)} fence step(s) (terms {sorted({r['term'] for r in rows}, key=str)}), BMC Off {len(off)} time(s)")
    if kind == "no-fences":
        rows = [r for r in steps + seen if r["phase"] in FENCE_PHASES]
        off = offs()
        ok = not rows and not off
        return ok, ("no fence ordered, no BMC went Off" if ok else
                    f"fence steps for {sorted({r['node'] for r in rows})}; BMC Off: {sorted({p['node'] for p in off})}")
    if kind == "bmc-stayed-on":
        off = offs(node)
        return not off, (f"{node}: BMC never went Off" if not off else f"{node}: BMC went Off at {iso(off[0]['t_ms'])}")
    if kind == "fences-only-by":
        allowed = set(node.replace(",", " ").split()) if node else set()
        bad = sorted({(r["node"], r["leader"]) for r in steps + seen if r["phase"] in FENCE_PHASES
                      and r["leader"] not in allowed}, key=str)
        return not bad, (f"every fence step signed by one of {sorted(allowed)}" if not bad else
                         "fence steps signed by others: " + ", ".join(f"{n} by {l}" for n, l in bad))
    if kind == "fence-resumed":
        orders = sorted((r for r in about(node, ("fencing",)) if r["term"] is not None), key=lambda r: (r["t_ms"] or 0))
        done = [r for r in about(node, ("fenced",)) if r["term"] is not None]
        if not orders or not done:
            return False, f"{node}: {len(orders)} fence order(s), {len(done)} confirmation(s)"
        first = orders[0]
        ok = all(r["term"] > first["term"] and r["leader"] != first["leader"] for r in done)
        return ok, (f"{node}: first ordered under term {first['term']} by {first['leader']}, confirmed under term(s) "
                    f"{sorted({r['term'] for r in done})} by {sorted({r['leader'] for r in done})}")
    if kind == "fenced-after-approval":
        held = about(node, ("awaiting-approval",))
        approved = earliest(about(node, ("approved",)))
        fenced_at = earliest(about(node, ("fencing",)))
        if not held:
            return False, f"{node} was never held by the brake (no awaiting-approval record)"
        if approved is None:
            return False, f"{node} was held by the brake but no approval is recorded"
        if fenced_at is None:
            return False, f"{node} was approved at {iso(approved)} but no fence was ordered"
        ok = fenced_at >= approved
        return ok, (f"{node}: held from {iso(earliest(held))}, approved {iso(approved)}, first fence ordered {iso(fenced_at)}"
                    + ("" if ok else " — BEFORE the approval"))
    if kind == "recovered-once":
        notes = [n for n in ha["notes"] if n.get("hostname") == node]
        recovered = about(node, ("recovered",))
        first_recovering, first_fenced = earliest(about(node, ("recovering",))), earliest(about(node, ("fenced",)))
        ordered = first_recovering is not None and first_fenced is not None and first_recovering >= first_fenced
        ok = len(notes) == 1 and bool(recovered) and ordered
        return ok, (f"{node}: {len(notes)} Masakari notification(s), {'a' if recovered else 'no'} `recovered` record, "
                    f"recovery ordered {'after' if ordered else 'NOT after'} the fence was confirmed "
                    f"(fenced {iso(first_fenced) if first_fenced else '-'}, recovering {iso(first_recovering) if first_recovering else '-'})")
    if kind == "no-recovery":
        notes = [n for n in ha["notes"] if n.get("hostname") == node]
        rows = about(node, ("recovering", "recovered"))
        ok = not notes and not rows
        return ok, (f"{node}: no Masakari notification, no recovery step" if ok else
                    f"{node}: {len(notes)} Masakari notification(s), {len(rows)} recovery step(s)")
    if kind == "event-seen":
        what = args[0] if args else ""
        target = args[1] if len(args) > 1 else None
        if what.startswith("ha:"):
            hits = [e for e in seen if e["phase"] == what[3:] and (target is None or e["node"] == target)]
            by = sorted({e["seen_on"] for e in hits})
        else:
            hits, by = [], set()
            for n in names:
                for e in load_lines(os.path.join(run, "nodes", n, "events.ndjson")):
                    if e.get("kind") == what and (target is None or e.get("member") == target):
                        hits.append(e)
                        by.add(n)
            by = sorted(by)
        return bool(hits), (f"`{what}` about {target} seen by {', '.join(by)}" if hits else f"no `{what}` event about {target}")
    if kind == "log-critical":
        phase, target = args[0], args[1]
        found = []
        for n in names:
            path = os.path.join(run, "nodes", n, "agent.log")
            if not os.path.exists(path):
                continue
            with open(path, errors="replace") as f:
                for line in f:
                    if " critical " in line and "ha.changed" in line and f"ha.phase={phase} " in line \
                            and f"peer.name={target} " in line:
                        found.append(n)
                        break
        return bool(found), (f"critical `ha.changed` {phase} for {target} logged by {', '.join(found)}" if found else
                             f"no agent logged `ha.changed` {phase} for {target} at critical")
    if kind == "operator-sees":
        phase, target = args[0], args[1]
        shown = []
        for n, st in ha["status"].items():
            rows = [r for r in st.get("nodes", []) if r.get("name") == target and r.get("phase") == phase]
            if rows and st.get("exit") == 3 and any(r["seen_on"] == n and r["node"] == target and r["phase"] == phase
                                                    for r in steps):
                shown.append(n)
        return bool(shown), (f"`vigil fence status` (exit 3) and `vigil history` on {', '.join(shown)} show {target} {phase}"
                             if shown else f"no running node's `vigil fence status` showed {target} {phase} with exit 3 "
                             f"and in its history")
    return False, f"unknown HA check `{kind}`"


def write_html(run, report, names, status_events, start, end, faults, ha=None):
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
    for p in (ha["power"] if ha else []):
        if p["state"] == "Off" and p["node"] in own:
            opened.setdefault(p["node"], (p["t_ms"], "powered off"))
        elif p["state"] == "On" and p["node"] in opened:
            a, what = opened.pop(p["node"])
            own[p["node"]].append((a, p["t_ms"], what))
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
    for f in report["fences"]:
        t = to_ms(f["time"]) if f.get("time") else None
        if t is None or not (start <= t <= end):
            continue
        fx = x(t)
        marks.append(f'<line x1="{fx:.1f}" y1="{top - 8}" x2="{fx:.1f}" y2="{y}" stroke="#b71c1c" stroke-width="2">'
                     f'<title>{html.escape(f["node"])} fenced (term {f["term"]}, by {html.escape(str(f["leader"]))})</title></line>')
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
        f"false failures: {', '.join(report['false_failures']) or 'none'}; " + (
            "fences: " + (", ".join(f"{html.escape(f['node'])} (term {f['term']}, by {html.escape(str(f['leader']))})"
                                     for f in report["fences"]) or "none")
            + "; recoveries (Masakari): " + (", ".join(html.escape(str(r["node"])) for r in report["recoveries"]
                                                       if r["source"] == "masakari") or "none")
            if isinstance(report["ha"], dict) else f"fences/recoveries: HA {report['ha']}"),
        f"bytes per node per second (sent, unfaulted nodes): mean {report['bytes_per_node_per_s']['mean']}, "
        f"max {report['bytes_per_node_per_s']['max']}",
    ]
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>chaos: "
            + html.escape(report["scenario"]) + "</title></head><body style='font-family:sans-serif'>"
            + "".join(f"<p style='margin:4px 0'>{s}</p>" for s in summary)
            + f"<ul>{checks}</ul><p>Each row is one node; each stripe is what that node believed about one peer "
            f"(named on the right), over the scenario's time; a row is shaded while that node was itself killed, paused or powered off; a solid red line is a fence confirmed. {legend}</p>" + svg + "</body></html>\n")
    with open(os.path.join(run, "report.html"), "w") as f:
        f.write(page)


if __name__ == "__main__":
    sys.exit(main())
