#!/usr/bin/env python3
"""Records one node's membership event stream for the chaos scripts.

Runs inside the node's network namespace (scripts/cluster.sh starts it) and follows the
node's own event stream — `vigil monitor --format json` or `serf monitor` — reconnecting
whenever the agent is gone (killed, restarted), until it is killed itself. Every line is
appended twice: as received, with the receive time, to events.raw, and normalised to
events.ndjson, one JSON object per line:

    {"t_ms": 1764588000123, "observer": "n1", "kind": "member-status",
     "member": "n3", "status": "failed", "source": "vigil"}

(an HA step: `"kind": "ha", "member": "n3", "phase": "fenced", "detail": "term 2, leader n1: ..."`)

t_ms is the agent's own event time for Vigil (its RFC 3339 `time`, milliseconds) and the
receive time for serf (serf's log lines carry whole seconds only; the lines serf replays
to a monitor that connects late keep their logged second, plus 500 ms, and
`"replayed": true`). Serf statuses come from
its log: EventMemberJoin → alive, memberlist's "Suspect X has failed" → suspect (only the
node that suspects logs it), EventMemberFailed → failed, EventMemberLeave → left.
"""

import argparse
import datetime
import json
import re
import signal
import subprocess
import sys
import time

SERF_EVENTS = [
    (re.compile(r"EventMemberJoin: (\S+)"), "alive"),
    (re.compile(r"EventMemberFailed: (\S+)"), "failed"),
    (re.compile(r"EventMemberLeave: (\S+)"), "left"),
    (re.compile(r"memberlist: Suspect (\S+) has failed"), "suspect"),
]


def now_ms():
    return int(time.time() * 1000)


def vigil_event(line):
    event = json.loads(line)
    stamp = event.get("time")
    t = None
    if stamp:
        t = int(datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)
    out = {"kind": event.get("event"), "member": event.get("member")}
    if event.get("event") == "member-status":
        out["status"] = event.get("to")
        out["from"] = event.get("from")
    elif event.get("event") == "ha":
        # An HA step about `member`: its phase; the detail says "term T, leader L: ...".
        out["phase"] = event.get("to")
    if event.get("detail"):
        out["detail"] = event["detail"]
    return t, out


SERF_STAMP = re.compile(r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[")


def serf_event(line):
    for pattern, status in SERF_EVENTS:
        match = pattern.search(line)
        if match:
            event = {"kind": "member-status", "member": match.group(1), "status": status}
            # serf replays its recent log to a monitor that connects: such a line is older
            # than its receive time by more than its whole-second stamp can explain.
            stamp = SERF_STAMP.search(line)
            if stamp:
                logged = int(time.mktime(time.strptime(stamp.group(1), "%Y/%m/%d %H:%M:%S")) * 1000)
                if now_ms() - logged > 2000:
                    event["replayed"] = True
                    return logged + 500, event
            return None, event
    return None, None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--system", choices=["vigil", "serf"], required=True)
    parser.add_argument("--node", required=True)
    parser.add_argument("--command", required=True, help="the monitor command line, JSON list")
    parser.add_argument("--raw", required=True)
    parser.add_argument("--events", required=True)
    args = parser.parse_args()
    command = json.loads(args.command)
    child = None

    def stop(*_):
        if child and child.poll() is None:
            child.kill()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    parse = vigil_event if args.system == "vigil" else serf_event
    with open(args.raw, "a", buffering=1) as raw, open(args.events, "a", buffering=1) as events:
        while True:
            child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            for line in child.stdout:
                received = now_ms()
                line = line.rstrip("\n")
                raw.write(f"{received} {line}\n")
                try:
                    t, event = parse(line)
                except (ValueError, KeyError):
                    continue
                if not event:
                    continue
                record = {"t_ms": t or received, "recv_ms": received, "observer": args.node, "source": args.system}
                record.update(event)
                events.write(json.dumps(record, sort_keys=True) + "\n")
            child.wait()
            time.sleep(0.2)  # the agent is gone (or not up yet): try again


if __name__ == "__main__":
    main()
