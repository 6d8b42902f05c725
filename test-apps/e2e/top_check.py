#!/usr/bin/env python3
"""top_check.py - what `ringfence top` must show, and whether it does.

  top_check.py expect DIR PID...
      The cells of each PID's row, from what the other commands say of it:
      DIR/stat0.PID.json and DIR/stat1.PID.json (`stat --json`, read some
      time apart: the rates between their publishes) and DIR/threads.PID.json
      (`threads --json --no-sample`: leaked and stuck). JSON on stdout.

  top_check.py check EXPECT FILE WHAT [ORDER]
      FILE is a screen (tmux capture-pane) or the output of `top --once`:
      its title counts the processes, its headings are top's, each pid of
      EXPECT has one row showing its state, budget, heap limit, leaked and
      stuck threads as expected; the figures of a process that ended are
      exactly its last ones, a live one's are within what it did (sizes
      within the budget, rates within a factor of 3 of the rates measured
      between the two `stat` reads). ORDER ("refusals desc") says how the
      rows must be sorted. WHAT names the check in a failure.

The cells are formatted as top formats them: sizes in bytes below 1024,
else K, M, G with one decimal below 10; rates with one decimal below 10,
whole numbers below 10000, then k, M, G.
"""
import json
import os
import re
import sys

HEADINGS = ["PID", "STATE", "USED", "PEAK", "BUDGET", "WAIT/s", "REF/s", "LEAK", "STUCK",
            "HEAP", "LIMIT", "COMMAND"]
SORT_COLUMN = {"pid": "PID", "used": "USED", "peak": "PEAK", "budget": "BUDGET",
               "waits": "WAIT/s", "refusals": "REF/s", "leaked": "LEAK", "stuck": "STUCK",
               "heap": "HEAP", "limit": "LIMIT"}


def fail(msg):
    sys.exit(f"FAIL: {msg}")


def size(v):
    if v < 1023.5:
        return "%.0f" % v
    v /= 1024
    u = 0
    while v >= 1023.5 and u < 5:
        v /= 1024
        u += 1
    return ("%.1f%s" if v < 9.95 else "%.0f%s") % (v, "KMGTPE"[u])


def parse_number(cell):
    """A size or rate cell as a number; None for '-'."""
    if cell == "-":
        return None
    m = re.fullmatch(r"([0-9]+(?:\.[0-9])?)([KMGTPEk]?)", cell)
    if not m:
        fail(f"'{cell}' is not a figure as top writes one")
    scale = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5,
             "E": 1024**6, "k": 1000}[m.group(2)]
    return float(m.group(1)) * scale


def parse_rate(cell):
    if cell == "-":
        return None
    m = re.fullmatch(r"([0-9]+(?:\.[0-9])?)([kMGTPE]?)", cell)
    if not m:
        fail(f"'{cell}' is not a rate as top writes one")
    return float(m.group(1)) * 1000 ** " kMGTPE".index(m.group(2) or " ")


def state_label(s):
    if s["state"] == "exited" and s["exit_status"] is not None:
        return "exited(%d)" % s["exit_status"]
    return s["state"]


def expect(directory, pids):
    out = {}
    for pid in pids:
        s0 = json.load(open(os.path.join(directory, f"stat0.{pid}.json")))
        s1 = json.load(open(os.path.join(directory, f"stat1.{pid}.json")))
        t = json.load(open(os.path.join(directory, f"threads.{pid}.json")))
        c = s1["counters"]
        heap_known = c.get("heap_interposed", 1) != 0
        rates = {}
        dt = (s1["publish_time_ns"] - s0["publish_time_ns"]) / 1e9
        for name, total in (("WAIT/s", lambda c: c["budget_waits"]),
                            ("REF/s", lambda c: c["budget_rejected"] + c["budget_oversized"])):
            rates[name] = (total(s1["counters"]) - total(s0["counters"])) / dt if dt > 0 else None
        words = s1["command"].split(" ")
        words[0] = words[0].rsplit("/", 1)[-1]
        out[pid] = {
            "alive": s1["state"] == "alive",
            "rates": rates,
            "budget_bytes": c["budget_bytes"],
            "cells": {
                "STATE": state_label(s1),
                "USED": size(c["budget_bytes"]),
                "PEAK": size(c["budget_bytes_peak"]),
                "BUDGET": size(s1["config"]["budget"]),
                "LEAK": str(t["totals"]["leaked"]),
                "STUCK": str(t["totals"]["stuck"]),
                "HEAP": size(c["heap_live_bytes"]) if heap_known else "-",
                "LIMIT": size(s1["config"]["heap_limit"]) if s1["config"]["heap_limit"] else "-",
                "COMMAND": " ".join(words),
            },
        }
    json.dump(out, sys.stdout)


def check(expect_file, path, what, order=None):
    exp = json.load(open(expect_file))
    lines = open(path).read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    alive = sum(1 for e in exp.values() if e["alive"])
    title = lines[0] if lines else ""
    m = re.fullmatch(r"top  \d\d:\d\d:\d\d  (\d+) alive, (\d+) ended  sort: (\w+) (asc|desc)(  \S*)?", title)
    if not m:
        fail(f"{what}: title line: {title!r}")
    if (int(m.group(1)), int(m.group(2))) != (alive, len(exp) - alive):
        fail(f"{what}: title counts {m.group(1)} alive, {m.group(2)} ended; expected {alive}, {len(exp) - alive}: {title!r}")
    heads = lines[1].split()
    if heads[:-1] != HEADINGS[:-1] or not "COMMAND".startswith(heads[-1]):
        fail(f"{what}: headings {lines[1]!r}")
    rows = {}
    order_seen = []
    for line in lines[2:]:
        cells = line.split(None, len(HEADINGS) - 1)
        if not cells or cells[0] not in exp:
            continue
        if cells[0] in rows:
            fail(f"{what}: pid {cells[0]} has two rows")
        if len(cells) < len(HEADINGS) - 1:
            fail(f"{what}: row of {cells[0]} has {len(cells)} cells: {line!r}")
        rows[cells[0]] = dict(zip(HEADINGS, cells + [""] * (len(HEADINGS) - len(cells))))
        order_seen.append(cells[0])
    missing = [pid for pid in exp if pid not in rows]
    if missing:
        fail(f"{what}: no row for pids {missing}:\n" + "\n".join(lines))
    for pid, e in exp.items():
        row, cells = rows[pid], e["cells"]
        fixed = ["STATE", "BUDGET", "LIMIT", "LEAK", "STUCK"]
        if not e["alive"]:
            fixed += ["USED", "PEAK", "HEAP"]
        for name in fixed:
            if row[name] != cells[name]:
                fail(f"{what}: pid {pid} {name} shows {row[name]!r}, expected {cells[name]!r} (stat, threads)")
        shown = row["COMMAND"]
        if shown.endswith("...") and cells["COMMAND"].startswith(shown[:-3]):
            pass
        elif shown != cells["COMMAND"] and not (shown == "" or cells["COMMAND"].startswith(shown)):
            fail(f"{what}: pid {pid} COMMAND shows {shown!r}, expected {cells['COMMAND']!r}")
        for name in ("WAIT/s", "REF/s"):
            shown_rate = parse_rate(row[name])
            if not e["alive"]:
                if shown_rate is not None:
                    fail(f"{what}: pid {pid} ended, yet {name} shows {row[name]!r}")
                continue
            measured = e["rates"][name]
            if shown_rate is None or measured is None:
                fail(f"{what}: pid {pid} {name} shows {row[name]!r}, measured {measured}")
            if measured < 1:
                if shown_rate >= 1:
                    fail(f"{what}: pid {pid} {name} shows {row[name]!r}, measured {measured:.2f}/s")
            elif not measured / 3 <= shown_rate <= measured * 3:
                fail(f"{what}: pid {pid} {name} shows {row[name]!r}, measured {measured:.1f}/s")
        if e["alive"]:
            budget = parse_number(cells["BUDGET"])
            for name in ("USED", "PEAK"):
                v = parse_number(row[name])
                if v is None or v > budget:
                    fail(f"{what}: pid {pid} {name} shows {row[name]!r}, budget {cells['BUDGET']}")
            if parse_number(row["HEAP"]) is None:
                fail(f"{what}: pid {pid} HEAP shows {row['HEAP']!r}")
    if order:
        key, direction = order.split()
        if key == "pid":
            values = [int(p) for p in order_seen]
        else:
            col = SORT_COLUMN[key]
            values = [parse_number(rows[p][col]) if col not in ("WAIT/s", "REF/s")
                      else parse_rate(rows[p][col]) for p in order_seen]
        known = [v for v in values if v is not None]
        if values[:len(known)] != known:
            fail(f"{what}: unknown values ('-') before known ones in {order}: {order_seen}")
        if known != sorted(known, reverse=direction == "desc"):
            fail(f"{what}: rows not in {order} order: {list(zip(order_seen, values))}")
        if m.group(3) != key or m.group(4) != direction:
            fail(f"{what}: title says sort {m.group(3)} {m.group(4)}, expected {order}")


if __name__ == "__main__":
    if sys.argv[1] == "expect":
        expect(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == "check":
        check(*sys.argv[2:])
    else:
        fail(f"unknown mode {sys.argv[1]}")
