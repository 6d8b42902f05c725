#!/usr/bin/env bash
# The alert rules (share/prometheus/ringfence-alerts.yml): promtool check
# rules passes them; promtool test rules runs their unit tests
# (test-apps/fleet/ringfence-alerts.test.yml), in which every alert has a
# case where it fires and cases where it must not; and every ringfence_
# series a rule or a dashboard panel names is a family serve writes.
set -euo pipefail
source "$(dirname "$0")/serve_lib.sh"

rules=$RF_SOURCE_ROOT/share/prometheus/ringfence-alerts.yml
tests=$RF_SOURCE_ROOT/test-apps/fleet/ringfence-alerts.test.yml
dashboard=$RF_SOURCE_ROOT/share/grafana/ringfence-dashboard.json
command -v promtool >/dev/null || rf_fail "promtool not found (Debian: apt-get install prometheus)"

promtool check rules "$rules" >"$rf_tmpdir/check" 2>&1 || {
	cat "$rf_tmpdir/check" >&2
	rf_fail "promtool check rules"
}
echo "ok: $(grep -o '[0-9]* rules found' "$rf_tmpdir/check")"
(cd "$(dirname "$tests")" && promtool test rules "$(basename "$tests")") >"$rf_tmpdir/test" 2>&1 || {
	cat "$rf_tmpdir/test" >&2
	rf_fail "promtool test rules"
}
echo "ok: promtool test rules passes"

# Every alert is tested, firing at least once and staying silent at least once.
python3 - "$rules" "$tests" <<'PY'
import re, sys
alerts = re.findall(r"^\s*- alert: (\w+)$", open(sys.argv[1]).read(), re.M)
cases = re.split(r"\n      - eval_time: ", open(sys.argv[2]).read())[1:]
fires, silent = set(), set()
for case in cases:
    name = re.search(r"alertname: (\w+)", case).group(1)
    (silent if "exp_alerts: []" in case else fires).add(name)
missing = [a for a in alerts if a not in fires or a not in silent]
if not alerts or missing:
    sys.exit(f"FAIL: alerts without a firing and a silent case: {missing or 'no alerts'}")
print(f"ok: each of the {len(alerts)} alerts has a case where it fires and one where it does not")
PY

# The families serve writes: a forged segment (a producer's threads, handle
# and leak groups) and a real process that exited with status 3, for the
# families only some processes have.
rep_setup rules
"$FORGE" "$PREFIX" "$REP_NO_PID" typical
LD_PRELOAD=$RF_BUILD_ROOT/shim/libringfence.so sh -c 'exit 3' || true
serve_start --leak-groups 5
rf_assert_eq 200 "$(serve_get metrics "$rf_tmpdir/prom")" "GET /metrics"
grep -q '^ringfence_exit_status{.*} 3$' "$rf_tmpdir/prom" || rf_fail "no exit status 3 in /metrics"
grep -o '^# TYPE ringfence_[a-z_]*' "$rf_tmpdir/prom" | cut -d' ' -f3 | sort -u >"$rf_tmpdir/families"
grep -oh 'ringfence_[a-z_]*' "$rules" "$dashboard" | sort -u >"$rf_tmpdir/named"
unknown=$(comm -23 "$rf_tmpdir/named" "$rf_tmpdir/families")
[ -z "$unknown" ] || rf_fail "rules or dashboard name series the reporter does not write: $unknown"
echo "ok: the $(wc -l <"$rf_tmpdir/named") series the rules and the dashboard name are all written"
echo "PASS: fleet-rules"
