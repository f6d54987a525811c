#!/usr/bin/env python3
"""sushy-emulator, unchanged, with a per-system "BMC refuses power-off" switch for the chaos
cluster (scripts/cluster.sh starts it with the venv's python, in the bridge's namespace).

    python bmc.py REFUSE_FILE --config sushy.conf

sushy-tools can refuse power-off only for every system at once
(SUSHY_EMULATOR_DISABLE_POWER_OFF, read at start). scripts/chaos/bmc-fail needs one node's
BMC to fail while the others work, without restarting the emulator (a restart would also
forget the other systems' pending power changes). So this runs sushy's own `main()` with one
Flask `before_request` hook added: a ForceOff or GracefulShutdown for a system whose UUID is
listed in REFUSE_FILE (one per line; read at every request, so the switch takes effect at
once) is answered exactly as the global option answers it: sushy's BadRequest, HTTP 400.
Everything else, power-on included, goes to the emulator as usual.
"""

import sys

import flask
from sushy_tools import error
from sushy_tools.emulator import main as emulator

REFUSE_FILE = sys.argv.pop(1)


def refused():
    try:
        with open(REFUSE_FILE) as f:
            return set(f.read().split())
    except FileNotFoundError:
        return set()


@emulator.app.before_request
def refuse_power_off():
    request = flask.request
    parts = request.path.rstrip("/").split("/")
    # /redfish/v1/Systems/<identity>/Actions/ComputerSystem.Reset
    if request.method != "POST" or len(parts) != 7 or parts[3] != "Systems" or parts[6] != "ComputerSystem.Reset":
        return None
    reset_type = (request.get_json(silent=True) or {}).get("ResetType")
    if reset_type in ("ForceOff", "GracefulShutdown") and parts[4] in refused():
        emulator.app.logger.info('System "%s": power off refused (scripts/chaos/bmc-fail)', parts[4])
        raise error.BadRequest("Can not request power off transition: this BMC refuses it "
                               "(scripts/chaos/bmc-fail).")
    return None


if __name__ == "__main__":
    sys.exit(emulator.main())
