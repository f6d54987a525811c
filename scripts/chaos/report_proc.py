"""The process-fault checks of scripts/chaos/report.py (skew, starve, restarts, key rotation),
kept apart so that report.py stays small. report.py calls check() for a check it does not
know itself, and retime_skewed() after loading the event streams.

    no-failures              nobody saw any node `failed` (faulted nodes included)
    no-false-suspicions      nobody saw a node `suspect` that was not faulted
    left-seen NODE           some other node saw NODE `left` (a graceful leave) during the scenario
    clock-skewed NODE S      NODE's own event times ran S seconds (±2, median) off their receive
                             times from its first skew fault to its next: the skew took effect
    throttled NODE           nodes/NODE/cpu.stat (the starve cgroup's, saved by the scenario)
                             counts nr_throttled > 0: the CPU cap bit
    log-says NODE TEXT       NODE's agent.log holds TEXT (one word)
    log-warns NODE           NODE's agent.log has a `warning` or `error` line stamped between
                             NODE's first restart and the next one (or the end): an operator
                             watching its log is told something
    old-key-kept-out NODE    between NODE's first restart and the next one, nobody saw NODE `alive`
    key-rotated              keys-before.json and keys-after.json (`vigil keys list --format json`
                             before and after the rotation): every member reported in the second
                             holds only its primary key, the same one, not the first's primary

A node with a `skew` fault stamps its events with its own (wrong) wall clock: its events are
re-timed by when the recorder received them (`recv_ms`); the stamp stays as `agent_t_ms`.
"""

import json
import re
import math
import os
from datetime import datetime


def load_faults(run):
    path = os.path.join(run, "faults.ndjson")
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    return out


def retime_skewed(run, events):
    """Events of a node with a skew fault: t_ms becomes the receive time, agent_t_ms its stamp."""
    skewed = {f["nodes"] for f in load_faults(run) if f.get("fault") == "skew"}
    for n in skewed & set(events):
        for e in events[n]:
            e["agent_t_ms"], e["t_ms"] = e["t_ms"], e.get("recv_ms", e["t_ms"])
        events[n].sort(key=lambda e: e["t_ms"])


def check(words, run, names, faults, in_window, events, faulted, start, iso):
    """(passed, detail) for the checks above; None for a check this module does not know.
    faults: those in the scenario window; in_window: each observer's member-status events
    in the window (not about itself); events: each node's whole stream."""
    kind, arg = words[0], (words[1] if len(words) > 1 else None)
    all_faults = load_faults(run)

    def restart_span(node):
        """(first restart of node in the window, the next one or infinity); (None, inf) if none."""
        times = sorted(f["t_ms"] for f in faults if f["fault"] == "restart" and f["nodes"] == node)
        return (times[0] if times else None), (times[1] if len(times) > 1 else math.inf)

    if kind == "no-failures":
        seen = sorted({f"{e['member']} by {obs}" for obs in names for e in in_window[obs] if e["status"] == "failed"})
        ok = not seen
        msg = "nobody marked any node failed" if ok else "marked failed: " + ", ".join(seen[:10])
    elif kind == "no-false-suspicions":
        seen = sorted({f"{e['member']} by {obs}" for obs in names for e in in_window[obs]
                       if e["status"] == "suspect" and e["member"] not in faulted})
        ok = not seen
        msg = "no node that was not faulted was suspected" if ok else "suspected though not faulted: " + ", ".join(seen[:10])
    elif kind == "left-seen":
        # Any time in the window: scripts/chaos/restart records its fault once the old
        # agent has stopped, that is after its leave.
        seen = sorted({obs for obs in names for e in in_window[obs] if e["member"] == arg and e["status"] == "left"})
        ok = bool(seen)
        msg = f"{arg} seen left (a graceful leave) by {', '.join(seen)}" if ok else f"nobody saw {arg} left during the scenario"
    elif kind == "clock-skewed":
        want = float(words[2]) if len(words) > 2 else 0.0
        # From the node's first skew to its next one (setting it right again).
        times = sorted(f["t_ms"] for f in all_faults if f["fault"] == "skew" and f["nodes"] == arg)
        t0, t1 = (times[0] if times else None), (times[1] if len(times) > 1 else math.inf)
        offsets = sorted((e["agent_t_ms"] - e["t_ms"]) / 1000 for e in events[arg]
                         if "agent_t_ms" in e and t0 is not None and t0 <= e["t_ms"] < t1)
        got = offsets[len(offsets) // 2] if offsets else None
        what = f"{arg}'s events ran {{:+.1f}} s off their receive times (median of {len(offsets)}; wanted {want:+.0f} s)"
        if got is None and t0 is not None:
            # A cut-off node has no events: its log's `agent.started` line for the life the
            # skew started, against the time of that restart (whole seconds in the log).
            restarts = sorted(f["t_ms"] for f in all_faults if f["fault"] == "restart" and f["nodes"] == arg)
            before = sum(1 for t in restarts if t < t0)
            after = [t for t in restarts if t >= t0]
            stamps = []
            path = os.path.join(run, "nodes", arg, "agent.log")
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    for line in f:
                        if line.rstrip().endswith("agent.started"):
                            try:
                                stamps.append(datetime.strptime(line.split(" ", 1)[0], "%Y-%m-%dT%H:%M:%S%z").timestamp() * 1000)
                            except ValueError:
                                pass
            # The first start is the cluster's own; each restart adds one.
            if after and len(stamps) > before + 1:
                got = (stamps[before + 1] - after[0]) / 1000
                what = f"{arg}'s log stamped its skewed start {{:+.1f}} s off the restart's time (no events to use; wanted {want:+.0f} s ±2)"
        ok = got is not None and abs(got - want) <= 2
        msg = what.format(got) if got is not None else f"no events or log of {arg} after its skew to measure the offset"
    elif kind == "log-says":
        text = " ".join(words[2:])
        path = os.path.join(run, "nodes", arg, "agent.log")
        hits = []
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                hits = [line.strip() for line in f if text in line]
        ok = bool(hits) and bool(text)
        msg = f"{arg}'s log says `{text}` ({len(hits)} lines; first: {hits[0][:200]})" if ok else \
            f"{arg}'s log never says `{text}`"
    elif kind == "throttled":
        stat = {}
        path = os.path.join(run, "nodes", arg, "cpu.stat")
        if os.path.exists(path):
            with open(path) as f:
                stat = dict(line.split() for line in f if len(line.split()) == 2)
        periods, throttled = int(stat.get("nr_periods", 0)), int(stat.get("nr_throttled", 0))
        ok = throttled > 0
        msg = (f"{arg}'s agent was throttled in {throttled} of {periods} periods "
               f"({int(stat.get('throttled_time', 0)) / 1e9:.1f} s held back)") if stat else f"no cpu.stat saved for {arg}"
    elif kind == "log-warns":
        t0, t1 = restart_span(arg)
        path = os.path.join(run, "nodes", arg, "agent.log")
        hits = []
        # A skewed node stamps its log with its own clock: the offset of the skew fault in
        # force at that restart (`skew` records "wall clock +60 s ..." as it restarts it).
        offset_ms = 0
        for f in sorted(all_faults, key=lambda f: f["t_ms"]):
            if f["fault"] == "skew" and f["nodes"] == arg and t0 is not None and f["t_ms"] <= t0 + 1000:
                m = re.search(r"wall clock ([+-]\d+(?:\.\d+)?) s", f.get("detail", ""))
                offset_ms = float(m.group(1)) * 1000 if m else 0
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                for line in f:
                    words_ = line.split(" ", 2)
                    if len(words_) < 3 or words_[1] not in ("warning", "error", "critical"):
                        continue
                    try:
                        stamp = datetime.strptime(words_[0], "%Y-%m-%dT%H:%M:%S%z").timestamp() * 1000
                    except ValueError:
                        continue
                    stamp -= offset_ms
                    if t0 is not None and t0 - 999 <= stamp < t1:  # the log's stamps have whole seconds
                        hits.append(line.strip())
        ok = bool(hits)
        when = f"between its restart at {iso(t0)} and {iso(t1) if t1 < math.inf else 'the end'}" if t0 else "(it was never restarted)"
        msg = f"{arg} logged {len(hits)} warnings/errors {when} (first: {hits[0][:200]})" if ok else \
            f"{arg} logged no warning or error {when}"
    elif kind == "old-key-kept-out":
        t0, t1 = restart_span(arg)
        seen = sorted({obs for obs in names for e in in_window[obs]
                       if t0 is not None and e["member"] == arg and e["status"] == "alive" and t0 <= e["t_ms"] < t1})
        ok = t0 is not None and not seen
        msg = f"nobody saw {arg} alive while it ran with the old key" if ok else \
            (f"{arg} seen alive with the old key by {', '.join(seen)}" if seen else f"{arg} was never restarted")
    elif kind == "key-rotated":
        try:
            with open(os.path.join(run, "keys-before.json")) as f:
                before = json.load(f)
            with open(os.path.join(run, "keys-after.json")) as f:
                after = json.load(f)
            old_primary = before["keyring"]["primary"]
            reports = after["reports"]
            primaries = {r["primary"] for r in reports}
            bad = [r["member"] for r in reports if r["installed"] != [r["primary"]]]
            new_primary = next(iter(primaries)) if len(primaries) == 1 else None
            ok = bool(reports) and new_primary not in (None, old_primary) and not bad and \
                sorted(r["member"] for r in reports) == sorted(after["members"])
            msg = (f"{len(reports)} members hold only key {new_primary} (was {old_primary})" if ok else
                   f"rotation incomplete: primaries {sorted(primaries)} (old {old_primary}), holding more than the primary: "
                   f"{', '.join(bad) or 'none'}, reported {len(reports)} of {len(after['members'])}")
        except (OSError, ValueError, KeyError, TypeError) as error:
            ok, msg = False, f"no key lists to compare: {error}"
    else:
        return None
    return ok, msg
