#!/usr/bin/python3
"""client_rsyslog_send.py - feed COUNT syslog lines to a TCP syslog input
(LF framing), for e2e/client_rsyslog.sh.

Line i carries "rsl:<i>:" then filler up to --size bytes of message text, so
that the broker's copy can be counted by id ('rsl:([0-9]+):'). --rate N
paces at N lines a second (0: as fast as the socket takes them). Exits 0
once every line was written and the socket closed.
"""
import argparse
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--rate", type=float, default=0)
    a = ap.parse_args()
    fill = "abcdefghijklmnopqrstuvwxyz" * (a.size // 26 + 2)
    s = socket.create_connection(("127.0.0.1", a.port), timeout=60)
    t0 = time.monotonic()
    batch = []
    for i in range(a.count):
        head = f"rsl:{i}:"
        batch.append(f"<14>Dec  7 12:00:00 rfhost rfsend: {head}{fill[:max(0, a.size - len(head))]}\n")
        if len(batch) == 500 or i == a.count - 1:
            s.sendall("".join(batch).encode())
            batch = []
            if a.rate:
                ahead = (i + 1) / a.rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
    s.shutdown(socket.SHUT_WR)
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
