#!/usr/bin/env python3
"""Holds back the frames of one NFQUEUE queue for a delay with jitter (scripts/chaos/delay).

    delayer.py --queue Q --delay-ms D [--jitter-ms J] [--ready FILE] [--seed S]

Runs inside the bridge's namespace, where an nftables rule `queue num Q bypass` hands it
the frames to or from one node (the kernel here has no netem). Each frame is released
(NF_ACCEPT) D ± J ms after it arrived, J drawn uniformly per frame, so that jitter
reorders frames as a real queueing network does. The frames wait in a heap; the queue's
socket and the next release time are the only things the loop waits on. Writes FILE once
it is bound (the rule is added after that, so no frame meets an unbound queue), counts
frames in its log every 10 s, and on SIGTERM releases what it holds and exits.
"""

import argparse
import heapq
import random
import select
import signal
import socket
import sys
import time

from netfilterqueue import NetfilterQueue


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--queue", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, required=True)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--ready")
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    held = []  # (release time, sequence, packet)
    counts = {"frames": 0, "max_held": 0}
    sequence = 0

    def hold(packet):
        nonlocal sequence
        delay = max(0.0, args.delay_ms + rng.uniform(-args.jitter_ms, args.jitter_ms)) / 1000
        sequence += 1
        heapq.heappush(held, (time.monotonic() + delay, sequence, packet))
        counts["frames"] += 1
        counts["max_held"] = max(counts["max_held"], len(held))

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    queue = NetfilterQueue()
    # A queue of 4096 frames: about 30 s of one node's traffic at its 130 frames/s.
    queue.bind(args.queue, hold, max_len=4096)
    sock = socket.fromfd(queue.get_fd(), socket.AF_UNIX, socket.SOCK_STREAM)
    if args.ready:
        with open(args.ready, "w") as f:
            f.write("bound\n")
    print(f"delayer: queue {args.queue}, {args.delay_ms:g} ms ± {args.jitter_ms:g} ms", flush=True)
    next_log = time.monotonic() + 10
    try:
        while not stopping:
            now = time.monotonic()
            while held and held[0][0] <= now:
                heapq.heappop(held)[2].accept()
            timeout = min(held[0][0] - now if held else 1.0, max(0.0, next_log - now), 1.0)
            try:
                readable, _, _ = select.select([sock], [], [], max(0.0, timeout))
            except InterruptedError:
                continue
            if readable:
                queue.run(block=False)
            if time.monotonic() >= next_log:
                print(f"delayer: {counts['frames']} frames delayed, at most {counts['max_held']} held at once", flush=True)
                next_log += 10
    finally:
        for _, _, packet in held:
            packet.accept()
        queue.unbind()
        print(f"delayer: stopped after {counts['frames']} frames", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
