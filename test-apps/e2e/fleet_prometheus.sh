#!/usr/bin/env bash
# A fleet's setup, for real: Debian's Prometheus server (run here, on its own
# loopback port, storage in the test's directory; never the system service)
# scrapes `ringfence serve` every second and loads the alert rules, while a
# producer under the shim sends to the embedded broker and a program that
# leaks threads ends. Through Prometheus's HTTP API: the producer's series
# arrive with its pid, comm, client id and the count of messages it
# produced, its end shows as exited; every rule loads and evaluates without
# error; every query of the Grafana dashboard parses and returns data.
set -euo pipefail
source "$(dirname "$0")/serve_lib.sh"

rules=$RF_SOURCE_ROOT/share/prometheus/ringfence-alerts.yml
dashboard=$RF_SOURCE_ROOT/share/grafana/ringfence-dashboard.json
prometheus=${RF_PROMETHEUS:-/usr/bin/prometheus}
[ -x "$prometheus" ] || rf_fail "$prometheus not found (Debian: apt-get install prometheus)"
command -v promtool >/dev/null || rf_fail "promtool not found (Debian: apt-get install prometheus)"

rep_setup fleet
rf_broker_start --brokers 1
serve_start --leak-groups 5
target=${SERVE_URL#http://}

# Prometheus on a free loopback port of its own.
prom_dir=$rf_tmpdir/prometheus
mkdir -p "$prom_dir/data"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$prom_dir/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $rules
scrape_configs:
  - job_name: ringfence
    static_configs:
      - targets: ['${target%/}']
YML
"$prometheus" --config.file="$prom_dir/prometheus.yml" --storage.tsdb.path="$prom_dir/data" \
	--web.listen-address="127.0.0.1:$port" --log.level=warn >"$rf_tmpdir/prometheus.out" 2>&1 &
prom_pid=$!
rf_track "$prom_pid"
PROM=http://127.0.0.1:$port
rf_wait_until 60 "Prometheus to be ready" curl -sf -o /dev/null "$PROM/-/ready"
echo "ok: Prometheus ready on $PROM, scraping $SERVE_URL"

# query EXPR: the instant vector's values, one "labels value" line each.
query() {
	curl -sf --max-time 10 --data-urlencode "query=$1" "$PROM/api/v1/query" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["status"] == "success", r
for s in r["data"]["result"]:
    labels = ",".join(f"{k}={v}" for k, v in sorted(s["metric"].items()))
    print(labels, s["value"][1])'
}
# value_is EXPR VALUE: the one value of EXPR is VALUE.
value_is() {
	[ "$(query "$1" | awk '{ print $NF }')" = "$2" ]
}

# A producer under the shim that stays a while after its messages are
# delivered, handle up; a program that ends with threads it never joined.
RINGFENCE_HEAP_LIMIT=1G LD_PRELOAD=$RF_BUILD_ROOT/shim/libringfence.so \
	"$RF_BUILD_ROOT/test-apps/rf-producer" --bootstrap "$RF_BOOTSTRAP" --count 2000 \
	--linger-ms 6000 -X client.id=fleet-app >"$rf_tmpdir/producer.out" 2>"$rf_tmpdir/producer.err" &
producer=$!
rf_track "$producer"
LD_PRELOAD=$RF_BUILD_ROOT/shim/libringfence.so "$RF_BUILD_ROOT/test-apps/rf-threads-app" handler \
	--calls 2 --linger-ms 0 >"$rf_tmpdir/leaky.out" 2>&1 &
leaky=$!
rf_track "$leaky"
rf_run_wait leaky "$leaky" 30 0

sel="job=\"ringfence\",pid=\"$producer\""
rf_wait_until 30 "the producer alive in Prometheus" value_is "ringfence_up{$sel,comm=\"rf-producer\"}" 1
rf_wait_until 30 "the producer's 2000 messages in Prometheus" value_is "ringfence_produce_msgs_total{$sel}" 2000
query "ringfence_handle_poll_age_seconds{$sel,client_id=\"fleet-app\",handle=\"fleet-app#producer-1\"}" | grep -q . ||
	rf_fail "no poll age of the producer's handle with its client id"
value_is "ringfence_config_heap_limit_bytes{$sel}" 1073741824 || rf_fail "the heap limit is not in Prometheus"
value_is 'up{job="ringfence"}' 1 || rf_fail "the scrape of serve is not up"
echo "ok: the producer's series, with pid, comm and client id, read back through Prometheus"

rf_run_wait producer "$producer" 60 0
produced=$(python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["produced"])' <"$rf_tmpdir/producer.out")
rf_assert_eq 2000 "$produced" "what the producer says it produced"
rf_wait_until 20 "the producer's end in Prometheus" value_is "ringfence_process_state{$sel,state=\"exited\"}" 1
value_is "ringfence_up{$sel}" 0 || rf_fail "ringfence_up of the ended producer is not 0"
value_is "ringfence_exit_status{$sel}" 0 || rf_fail "the producer's exit status is not 0 in Prometheus"
rf_wait_until 20 "the leaky program's leak groups in Prometheus" \
	value_is "count(ringfence_leak_group_threads{job=\"ringfence\",pid=\"$leaky\",verdict=\"leaked\"} > 0) > 0" 1
echo "ok: its end, and the leaky program's leaked threads, read back through Prometheus"

# The rules: every alert of the file loaded in this server, each evaluated without error.
alerts=$(grep -c '^ *- alert: ' "$rules")
rules_state() {
	curl -sf --max-time 10 "$PROM/api/v1/rules" | python3 -c '
import json, sys
groups = json.load(sys.stdin)["data"]["groups"]
rules = [r for g in groups for r in g["rules"] if r["type"] == "alerting"]
print(len(rules), " ".join(sorted({r["health"] for r in rules})))'
}
rf_wait_until 20 "$alerts alert rules loaded and evaluated" test "$(rules_state)" = "$alerts ok"
echo "ok: the $alerts alert rules load in Prometheus and evaluate without error"

# Every query of the dashboard, its variables given their "All" values.
python3 - "$dashboard" >"$rf_tmpdir/exprs" <<'PY'
import json, sys
def panels(ps):
    for p in ps:
        yield p
        yield from panels(p.get("panels", []))
for p in panels(json.load(open(sys.argv[1]))["panels"]):
    for t in p.get("targets", []):
        expr = t["expr"].replace("$__rate_interval", "1m").replace("$instance", ".*").replace("$comm", ".*")
        print(p["title"] + "\t" + expr)
PY
[ "$(wc -l <"$rf_tmpdir/exprs")" -ge 10 ] || rf_fail "too few dashboard queries found"
while IFS=$'\t' read -r title expr; do
	promtool query instant -o json "$PROM" "$expr" >"$rf_tmpdir/q.json" 2>"$rf_tmpdir/q.err" ||
		rf_fail "dashboard panel '$title': promtool query failed: $(cat "$rf_tmpdir/q.err") ($expr)"
	python3 -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1])) else 1)' "$rf_tmpdir/q.json" ||
		rf_fail "dashboard panel '$title' returns no data: $expr"
done <"$rf_tmpdir/exprs"
echo "ok: the $(wc -l <"$rf_tmpdir/exprs") queries of the dashboard parse and return data"

kill -TERM "$prom_pid"
rf_run_wait prometheus "$prom_pid" 30 0
echo "PASS: fleet-prometheus"
