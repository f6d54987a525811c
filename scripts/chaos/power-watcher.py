#!/usr/bin/env python3
"""Makes the emulated BMCs' power real for the chaos cluster (scripts/cluster.sh starts it
in the bridge's namespace, where the emulator listens).

    power-watcher.py RUN_DIR

Every 500 ms it reads each node's PowerState from the emulator (sushy's fake driver applies
a power change only when a system is read, 1-11 s after the request, so reading is also
what makes the change happen). When a node's system goes Off, every process in the node's
namespace is killed (the agent, paused or not, and its event recorder): the host lost power.
When it goes On again, the agent and its recorder start again (scripts/chaos/lib.sh
start_agent, start_recorder): the host booted, a new life for Vigil. Each change is one line
of RUN_DIR/power.ndjson:

    {"t_ms": 1764588000123, "node": "n3", "state": "Off", "detail": "killed every process in vigil-n3"}

The state at start is the baseline (every system On: cluster.sh made them so); a read that
fails is retried next round and changes nothing.
"""

import base64
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request

RUN = sys.argv[1]
LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib.sh")
ENV = dict(line.strip().split("=", 1) for line in open(os.path.join(RUN, "cluster.env")) if "=" in line)
BMC = os.path.join(RUN, "bmc")
SYSTEMS = [line.split() for line in open(os.path.join(BMC, "systems")) if line.strip()]
PASSWORD = open(os.path.join(BMC, "bmc-password")).read().strip()
URL = f"https://{ENV['BMC_IP']}:{ENV['BMC_PORT']}/redfish/v1/Systems/"
CONTEXT = ssl.create_default_context(cafile=os.path.join(BMC, "cert.pem"))
AUTH = "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()


def power_state(uuid):
    request = urllib.request.Request(URL + uuid, headers={"Authorization": AUTH})
    with urllib.request.urlopen(request, timeout=5, context=CONTEXT) as answer:
        return json.load(answer).get("PowerState")


def act(node, state):
    """Runs the lib.sh helper that cuts or restores the node's power; returns what it said."""
    helper = "power_cut" if state == "Off" else "power_restore"
    done = subprocess.run(
        ["bash", "-c", 'set -euo pipefail; chaos_me=power-watcher; source "$1"; resolve_run "$2"; "$3" "$4"',
         "power-watcher", LIB, RUN, helper, node],
        capture_output=True, text=True)
    said = (done.stdout + done.stderr).strip().replace("\n", "; ")
    return said if done.returncode == 0 else f"FAILED (exit {done.returncode}): {said}"


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    known = {}
    with open(os.path.join(RUN, "power.ndjson"), "a", buffering=1) as log:
        while True:
            for node, uuid in SYSTEMS:
                try:
                    state = power_state(uuid)
                except Exception:  # the emulator busy or restarting: next round
                    continue
                if state not in ("On", "Off"):
                    continue
                before = known.get(node)
                known[node] = state
                if before is None or before == state:
                    continue
                t = int(time.time() * 1000)
                detail = act(node, state)
                log.write(json.dumps({"t_ms": t, "node": node, "state": state, "detail": detail}) + "\n")
                print(f"power-watcher: {node} {state}: {detail}", flush=True)
            time.sleep(0.5)  # 10 reads a second for 5 nodes: sushy (TLS, one process) then uses ~15% of a core


if __name__ == "__main__":
    main()
