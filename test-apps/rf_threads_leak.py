#!/usr/bin/python3
"""rf_threads_leak.py - a Python `threading` leak, for /usr/bin/python3.

handle_request() starts 5 daemon consumers on a queue.Queue and never tells
them to stop: they block in q.get() for ever. Called --calls times,
--interval-ms apart. With --fixed each consumer gets a None to stop on and is
joined. Prints "ready" when done, stays --linger-ms, exits 0 (the daemon
threads are still alive then: leaked at exit).
"""
import argparse
import queue
import sys
import threading
import time


def consumer(q):
    while True:
        item = q.get()
        if item is None:
            return


def handle_request(fixed):
    q = queue.Queue()
    threads = [threading.Thread(target=consumer, args=(q,), daemon=True) for _ in range(5)]
    for t in threads:
        t.start()
    for i in range(10):
        q.put(i)
    if fixed:
        for _ in threads:
            q.put(None)
        for t in threads:
            t.join()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--calls", type=int, default=3)
    p.add_argument("--interval-ms", type=int, default=200)
    p.add_argument("--linger-ms", type=int, default=0)
    p.add_argument("--fixed", action="store_true")
    a = p.parse_args()
    for c in range(a.calls):
        handle_request(a.fixed)
        if c + 1 < a.calls:
            time.sleep(a.interval_ms / 1000)
    print("ready", flush=True)
    time.sleep(a.linger_ms / 1000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
