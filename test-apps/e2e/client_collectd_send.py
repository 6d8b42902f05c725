#!/usr/bin/python3
"""client_collectd_send.py - dispatch COUNT values to collectd through its
unixsock plugin, for e2e/client_collectd.sh: PUTVAL rfhost/rf-<i % 100>/gauge-v
<t0 + i // 100>:<i>, that is 100 identifiers with strictly increasing times
(collectd refuses a value not newer than the last of its identifier), so
that every value is distinct on the broker. Commands are pipelined in chunks
of 500; every reply must start with "0 ". Exits 0 when all were accepted.
"""
import argparse
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--count", type=int, required=True)
    a = ap.parse_args()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(a.socket)
    replies = s.makefile("rb")
    t0 = int(time.time()) - a.count // 100 - 10
    bad = 0
    for base in range(0, a.count, 500):
        n = min(500, a.count - base)
        s.sendall("".join(f"PUTVAL rfhost/rf-{i % 100}/gauge-v interval=10 {t0 + i // 100}:{i}\n"
                          for i in range(base, base + n)).encode())
        for _ in range(n):
            reply = replies.readline().decode(errors="replace")
            if not reply.startswith("0 "):
                bad += 1
                if bad <= 3:
                    print(f"refused: {reply.strip()}", file=sys.stderr)
    s.close()
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
