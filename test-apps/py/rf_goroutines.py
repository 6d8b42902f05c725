#!/usr/bin/python3
"""rf_goroutines.py - what the goroutine tests assert on a report of
`ringfence goroutines --json` or `ringfence check --json`.

Each subcommand reads one report, checks what the program is known to do,
prints one line per failed assertion on stderr (with the report) and exits 1
on any:

  leak REPORT --function F --line N --start S --step K --reason R
       --blocked-function BF --blocked-line BN [--absent-start X]
      exactly one leak group, created at F:N with start function S, stuck,
      grown by K or more, all waiting in R and blocked at BF:BN but for at
      most K (a batch the program may be starting or running as it is read);
      the runtime's groups are not leaks, nor X's
  noleak REPORT [--start S --max-count N]
      no leak group; at most N goroutines of start function S alive
  exact REPORT --function F --line N --start S --count C --growth G --cls V
       [--reason R] [--absent-start X]
      the group F:N S holds exactly C goroutines, grew by G, has verdict V,
      all waiting in R; no goroutine of start function X is left
  profile REPORT PROFILE
      the report agrees with the program's own goroutine profile
      (runtime/pprof, debug=2): every (creator, file:line, state) count
  expect REPORT CODE...
      each CODE is a Python expression that must hold; r is the report,
      leaks(x) the leak groups of a goroutine report x (default r), group(x,
      start) its group of start function start
"""
import argparse
import json
import re
import sys
from collections import Counter

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def load(path):
    with open(path) as f:
        return json.load(f)


def groups(rep, function=None, line=None, start=None):
    return [g for g in rep["groups"]
            if (function is None or g["created"]["function"] == function)
            and (line is None or g["created"]["line"] == line)
            and (start is None or g["start"] == start)]


def first_user(place):
    return place["frames"][place["first_user_frame"]]["inlined"][0]


def cmd_leak(a, rep):
    gs = groups(rep, a.function, a.line, a.start)
    if not check(len(gs) == 1, f"one group created at {a.function}:{a.line} start {a.start}, "
                               f"found {len(gs)}"):
        return
    g = gs[0]
    check(g["class"] == "stuck" and g["leak"], f"the group is stuck (a leak), got {g['class']}")
    settled = g["count"] - a.step
    check(g["growth"] >= a.step and g["count"] >= g["growth"],
          f"grown by {a.step} or more: count {g['count']}, growth {g['growth']}")
    check(list(g["wait_reasons"]) == [a.reason] and g["wait_reasons"][a.reason] >= settled,
          f"all of {g['count']} but at most {a.step} in '{a.reason}', got {g['wait_reasons']}")
    check(g["states"]["waiting"] >= settled, f"all but at most {a.step} waiting: {g['states']}")
    if check(len(g["blocked"]) >= 1, "a blocked place"):
        fu = first_user(g["blocked"][0])
        check(fu["function"] == a.blocked_function and fu["line"] == a.blocked_line,
              f"blocked at {a.blocked_function}:{a.blocked_line}, got "
              f"{fu['function']}:{fu['line']}")
        check(g["blocked"][0]["count"] >= settled,
              f"one blocked place for all but at most {a.step}: {g['blocked'][0]['count']}")
    leaks = [x for x in rep["groups"] if x["leak"]]
    check(len(leaks) == 1, "exactly one leak group, got " +
          ", ".join(f"{x['created']['function']}:{x['created']['line']}" for x in leaks))
    check(rep["leaked"] == g["verdicts"].get("stuck", 0),
          f"leaked in all, {rep['leaked']}, is the group's stuck count")
    for x in rep["groups"]:
        if x["kind"] == "runtime":
            check(x["start"].startswith("runtime.") and not x["leak"],
                  f"the runtime's group {x['start']} is not a leak")
        if a.absent_start and x["start"] == a.absent_start:
            check(not x["leak"], f"{a.absent_start} goroutines are not a leak")


def cmd_noleak(a, rep):
    leaks = [x for x in rep["groups"] if x["leak"]]
    check(not leaks and rep["leaked"] == 0,
          "no leak group, got " + ", ".join(f"{x['start']} x{x['count']}" for x in leaks))
    for x in groups(rep, start=a.start) if a.start else []:
        check(x["count"] <= a.max_count,
              f"{x['start']}: at most {a.max_count} alive, got {x['count']}")


def cmd_exact(a, rep):
    gs = groups(rep, a.function, a.line, a.start)
    if not check(len(gs) == 1, f"one group {a.function}:{a.line} {a.start}, found {len(gs)}"):
        return
    g = gs[0]
    check(g["count"] == a.count, f"count {a.count}, got {g['count']}")
    check(g["growth"] == a.growth, f"growth {a.growth}, got {g['growth']}")
    check(g["class"] == a.cls, f"verdict {a.cls}, got {g['class']}")
    if a.reason:
        check(g["wait_reasons"] == {a.reason: a.count},
              f"all {a.count} in '{a.reason}', got {g['wait_reasons']}")
    if a.absent_start:
        check(not groups(rep, start=a.absent_start), f"no goroutine of {a.absent_start} left")


def parse_profile(path):
    """Go's goroutine profile (debug=2): (creator, file, line, state) -> count."""
    counts = Counter()
    with open(path) as f:
        text = f.read()
    for block in text.strip().split("\n\n"):
        lines = block.split("\n")
        m = re.match(r"goroutine (\d+) \[([^\]]*)\]:", lines[0])
        if not m:
            continue
        state = m.group(2).split(",")[0]
        for i, line in enumerate(lines):
            if line.startswith("created by "):
                fn = line[len("created by "):].split(" in goroutine")[0]
                file, num = lines[i + 1].strip().split(" ")[0].rsplit(":", 1)
                counts[(fn, file, int(num), state)] += 1
    return counts


def cmd_profile(a, rep):
    want = parse_profile(a.profile)
    got = Counter()
    for g in rep["groups"]:
        # Go's profile leaves out the runtime's goroutines and names no creator for main's.
        if g["kind"] != "program" or g["start"] == "runtime.main":
            continue
        c = g["created"]
        for reason, n in g["wait_reasons"].items():
            got[(c["function"], c["file"], c["line"], reason)] += n
        for st in ("runnable", "running", "syscall"):
            if g["states"][st]:
                # Seen from another goroutine, a running one is running or runnable.
                key = "running" if st in ("runnable", "running") else st
                got[(c["function"], c["file"], c["line"], key)] += g["states"][st]
    for k in list(want):
        if k[3] == "runnable":
            want[(k[0], k[1], k[2], "running")] += want.pop(k)
    check(sum(want.values()) >= 100, f"the profile lists goroutines: {sum(want.values())}")
    for k in sorted(set(want) | set(got)):
        check(want[k] == got[k], f"{k[0]} {k[1]}:{k[2]} [{k[3]}]: Go says {want[k]}, "
                                 f"the reader says {got[k]}")
    for g in rep["groups"]:
        frames = [loc["function"] for b in g["blocked"] for f in b["frames"]
                  for loc in f["inlined"]]
        if g["start"] == "main.lockForever":
            check("sync.(*Mutex).Lock" in frames and "main.lockForever" in frames,
                  f"the lockers' frames show the inlined Mutex.Lock: {frames}")
        if g["start"] == "main.startReceivers.func1":
            check(g["wait_known"] == g["count"] and g["longest_wait_ns"] > 0,
                  "wait times known after runtime.GC()")


def cmd_expect(a, rep):
    def leaks(x=None):
        return [g for g in (x or rep)["groups"] if g["leak"]]

    def group(x, start):
        found = [g for g in x["groups"] if g["start"] == start]
        return found[0] if len(found) == 1 else None

    env = {"r": rep, "leaks": leaks, "group": group}
    for code in a.code:
        try:
            ok = eval(code, env)
        except Exception as e:  # an assertion that cannot be evaluated fails
            ok = False
            code += f"  ({e!r})"
        check(ok, f"does not hold: {code}")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("leak")
    s.add_argument("report")
    for opt in ("--function", "--start", "--reason", "--blocked-function"):
        s.add_argument(opt, required=True)
    for opt in ("--line", "--step", "--blocked-line"):
        s.add_argument(opt, type=int, required=True)
    s.add_argument("--absent-start")
    s.set_defaults(fn=cmd_leak)
    s = sub.add_parser("noleak")
    s.add_argument("report")
    s.add_argument("--start")
    s.add_argument("--max-count", type=int, default=0)
    s.set_defaults(fn=cmd_noleak)
    s = sub.add_parser("exact")
    s.add_argument("report")
    for opt in ("--function", "--start", "--cls"):
        s.add_argument(opt, required=True)
    for opt in ("--line", "--count"):
        s.add_argument(opt, type=int, required=True)
    s.add_argument("--growth", type=int, default=0)
    s.add_argument("--reason")
    s.add_argument("--absent-start")
    s.set_defaults(fn=cmd_exact)
    s = sub.add_parser("profile")
    s.add_argument("report")
    s.add_argument("profile")
    s.set_defaults(fn=cmd_profile)
    s = sub.add_parser("expect")
    s.add_argument("report")
    s.add_argument("code", nargs="+")
    s.set_defaults(fn=cmd_expect)
    a = p.parse_args()
    rep = load(a.report)
    a.fn(a, rep)
    if failures:
        print(json.dumps(rep, indent=1)[:6000], file=sys.stderr)
        for f in failures:
            print(f"FAIL: {f}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
