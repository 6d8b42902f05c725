#!/usr/bin/env bash
# `meson install` into a temporary DESTDIR puts the reporter in bin/, the
# shim in the library directory, the man pages, the drop-in example and every
# file of share/ under share/ringfence/, and nothing else. From there, with
# no build tree in sight: kcat produces under the installed `ringfence run`,
# which preloads the installed shim; the drop-in's settings, given to kcat,
# are the shim's in force; the installed man pages are found by man and
# render without a warning, saying what the installed reporter does
# (man_pages.sh); the installed `ringfence serve` exports kcat's figures,
# which promtool accepts. Another --prefix, --bindir and --libdir
# (configured, not built) put everything under them, and the reporter finds
# the shim there.
#
# To check more of what is installed, add its files to expected_files and a
# block after "The installed reporter, on its own".
set -euo pipefail
source "$(dirname "$0")/lib.sh"

DEST=$rf_tmpdir/dest
PREFIX=rf-e2e-install-$$
rf_gc_at_exit "$PREFIX"

# Where the build says things go (meson introspect --installed: source file
# -> installed path), for this build's --prefix.
meson install -C "$RF_BUILD_ROOT" --destdir "$DEST" --no-rebuild >"$rf_tmpdir/install.log" 2>&1 ||
	rf_fail "meson install: $(tail -n 20 "$rf_tmpdir/install.log")"
meson introspect --installed "$RF_BUILD_ROOT" >"$rf_tmpdir/installed.json"
read -r bindir libdir mandir datadir < <(python3 - "$RF_BUILD_ROOT" <<'PY'
import json, subprocess, sys
opts = {o["name"]: o["value"] for o in json.loads(subprocess.check_output(
    ["meson", "introspect", "--buildoptions", sys.argv[1]]))}
p = opts["prefix"]
print(*[d if d.startswith("/") else f"{p}/{d}" for d in
        (opts["bindir"], opts["libdir"], opts["mandir"], opts["datadir"])])
PY
)
RF=$DEST$bindir/ringfence
SHIM=$DEST$libdir/libringfence.so

# Exactly these files: the programs, the pages, what share/ holds.
expected_files=(
	"$bindir/ringfence"
	"$libdir/libringfence.so"
	"$mandir/man1/ringfence.1"
	"$mandir/man7/libringfence.7"
	"$datadir/ringfence/systemd/ringfence.conf"
	"$datadir/ringfence/prometheus/ringfence-alerts.yml"
	"$datadir/ringfence/grafana/ringfence-dashboard.json"
)
printf '%s\n' "${expected_files[@]}" | sort >"$rf_tmpdir/expected"
(cd "$DEST" && find . -type f -o -type l) | sed 's|^\.||' | sort >"$rf_tmpdir/found"
diff "$rf_tmpdir/expected" "$rf_tmpdir/found" >"$rf_tmpdir/diff" ||
	rf_fail "installed files differ from the expected ones (< missing, > unexpected): $(cat "$rf_tmpdir/diff")"
[ -x "$RF" ] || rf_fail "$RF is not executable"
echo "ok: meson install put ${#expected_files[@]} files where they belong under $DEST"

# The installed reporter, on its own: nothing of the build tree or the
# environment tells it where the shim is.
unset RINGFENCE_SHIM LD_PRELOAD
"$RF" --version | grep -q '^ringfence ' || rf_fail "the installed ringfence --version"
# shellcheck disable=SC2016 # for the command's own shell
preload=$("$RF" run -- sh -c 'printf %s "$LD_PRELOAD"')
rf_assert_eq "$(realpath "$SHIM")" "$preload" "LD_PRELOAD the installed ringfence run gives"

rf_broker_start --brokers 1
seq -f 'line-%06g' 1 1000 >"$rf_tmpdir/in"
payload_bytes=$(($(wc -c <"$rf_tmpdir/in") - 1000))
# kcat_check NAME PID BUDGET POLICY: kcat's segment says it produced every line,
# exited 0 and ran with that budget and policy, not passive; the broker holds
# every line.
kcat_check() {
	local name=$1 pid=$2 budget=$3 policy=$4
	kcat -C -b "$RF_BOOTSTRAP" -t "e2e-install-$name" -e -o beginning -q | sort |
		cmp -s - "$rf_tmpdir/in" || rf_fail "$name: the broker does not hold what kcat sent"
	"$RF" stat --prefix "$PREFIX" --json "$pid" >"$rf_tmpdir/$name.json" ||
		rf_fail "$name: the installed ringfence stat $pid exited $?"
	python3 - "$rf_tmpdir/$name.json" "$payload_bytes" "$budget" "$policy" "$name" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
c = s["counters"]
entries = ("produce", "producev", "produceva", "produce_batch")
errors = []
if sum(c[f"{e}_msgs"] for e in entries) != 1000: errors.append("messages != 1000")
if sum(c[f"{e}_bytes"] for e in entries) != int(sys.argv[2]): errors.append("bytes differ")
if s["state"] != "exited" or s["exit_status"] != 0: errors.append(f"state {s['state']}({s['exit_status']})")
if s["passive"] or s["config_error"]: errors.append(f"passive: {s['config_error']}")
if s["config"]["budget"] != int(sys.argv[3]): errors.append(f"budget {s['config']['budget']}")
if s["config"]["policy"] != sys.argv[4]: errors.append(f"policy {s['config']['policy']}")
if "kcat" not in s["command"]: errors.append(f"command {s['command']!r}")
if errors:
    sys.exit(f"FAIL: {sys.argv[5]}: " + "; ".join(errors))
PY
}

"$RF" run --exec --prefix "$PREFIX" --budget 64K --policy fail -- \
	kcat -P -b "$RF_BOOTSTRAP" -t e2e-install-run <"$rf_tmpdir/in" &
pid=$!
wait "$pid" || rf_fail "kcat under the installed ringfence run exited $?"
kcat_check run "$pid" 65536 fail
echo "ok: kcat under the installed ringfence run, with the installed shim"

# The installed `ringfence serve` exports what kcat left in its segment, in
# an exposition promtool accepts without a lint message.
"$RF" serve --listen 127.0.0.1:0 --prefix "$PREFIX" >"$rf_tmpdir/serve.out" 2>"$rf_tmpdir/serve.err" &
serve_pid=$!
rf_track "$serve_pid"
rf_wait_until 10 "the installed ringfence serve to listen" grep -q 'listening on http://' "$rf_tmpdir/serve.out"
url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$rf_tmpdir/serve.out" | head -n 1)
curl -sf --max-time 10 -o "$rf_tmpdir/metrics" "${url}metrics" ||
	rf_fail "GET ${url}metrics from the installed ringfence serve failed"
rf_assert_eq 1000 "$(awk -v key="{pid=\"$pid\",comm=\"kcat\"}" '
	$1 ~ /^ringfence_produce(|v|va|_batch)_msgs_total[{]/ && substr($1, index($1, "{")) == key { n += $2 }
	END { print n + 0 }' "$rf_tmpdir/metrics")" "kcat's messages exported by the installed ringfence serve"
if ! promtool check metrics <"$rf_tmpdir/metrics" >"$rf_tmpdir/promtool.out" 2>&1 ||
	[ -s "$rf_tmpdir/promtool.out" ]; then
	rf_fail "promtool check metrics on the installed serve's exposition: $(head -n 5 "$rf_tmpdir/promtool.out")"
fi
kill "$serve_pid"
wait "$serve_pid" || true
echo "ok: the installed ringfence serve exports kcat's figures (${url}metrics)"

# The drop-in example: its LD_PRELOAD is where the shim was installed, and
# its variables are the shim's in force when a program gets them.
dropin=$DEST$datadir/ringfence/systemd/ringfence.conf
grep -qx '\[Service\]' "$dropin" || rf_fail "$dropin has no [Service] section"
env_args=()
while IFS= read -r assignment; do
	env_args+=("$assignment")
done < <(sed -n 's/^Environment=//p' "$dropin")
rf_assert_eq "LD_PRELOAD=$libdir/libringfence.so" "${env_args[0]}" "the drop-in's first Environment="
env_args[0]=LD_PRELOAD=$SHIM # under DESTDIR here
env "${env_args[@]}" RINGFENCE_SHM_PREFIX="$PREFIX" \
	kcat -P -b "$RF_BOOTSTRAP" -t e2e-install-dropin <"$rf_tmpdir/in" &
pid=$!
wait "$pid" || rf_fail "kcat with the drop-in's environment exited $?"
budget=$(sed -n 's/^Environment=RINGFENCE_BUDGET=//p' "$dropin")
policy=$(sed -n 's/^Environment=RINGFENCE_POLICY=//p' "$dropin")
[[ $budget == *M ]] || rf_fail "the drop-in's budget '$budget' is not in MiB"
kcat_check dropin "$pid" $((${budget%M} * 1024 * 1024)) "$policy"
echo "ok: the drop-in's settings are the shim's in force ($budget, $policy)"
rf_broker_stop

# The installed pages: man finds them by name, they render without a warning
# and say what the installed reporter does.
MANPATH=$DEST$mandir man -w ringfence >"$rf_tmpdir/where1"
MANPATH=$DEST$mandir man -w 7 libringfence >"$rf_tmpdir/where7"
rf_assert_eq "$DEST$mandir/man1/ringfence.1" "$(cat "$rf_tmpdir/where1")" "man -w ringfence"
rf_assert_eq "$DEST$mandir/man7/libringfence.7" "$(cat "$rf_tmpdir/where7")" "man -w 7 libringfence"
MANWIDTH=200 man -l "$DEST$mandir/man7/libringfence.7" | grep -qF "LD_PRELOAD=$libdir/libringfence.so" ||
	rf_fail "libringfence(7) does not name the installed shim $libdir/libringfence.so"
"$(dirname "$0")/man_pages.sh" "$RF" "$DEST$mandir/man1/ringfence.1" "$DEST$mandir/man7/libringfence.7"

# Another prefix and layout, configured only: where everything would go, and
# the way from the reporter to the shim.
meson setup "$rf_tmpdir/other" "$RF_SOURCE_ROOT" --prefix /opt/rf-e2e --bindir sbin \
	--libdir lib64/rf --mandir man --datadir data >"$rf_tmpdir/setup.log" 2>&1 ||
	rf_fail "meson setup with another prefix: $(tail -n 20 "$rf_tmpdir/setup.log")"
meson introspect --installed "$rf_tmpdir/other" >"$rf_tmpdir/other.json"
python3 - "$rf_tmpdir/other" "$rf_tmpdir/other.json" <<'PY'
import json, os, re, sys
build = sys.argv[1]
installed = set(json.load(open(sys.argv[2])).values())
want = {"/opt/rf-e2e/sbin/ringfence", "/opt/rf-e2e/lib64/rf/libringfence.so",
        "/opt/rf-e2e/man/man1/ringfence.1", "/opt/rf-e2e/man/man7/libringfence.7",
        "/opt/rf-e2e/data/ringfence/systemd/ringfence.conf"}
errors = [f"{w} not installed" for w in sorted(want - installed)]
config = open(os.path.join(build, "rf_build_config.h")).read()
rel = re.search(r'RF_SHIM_RELPATH_INSTALLED "([^"]*)"', config).group(1)
absolute = re.search(r'RF_SHIM_INSTALLED "([^"]*)"', config).group(1)
if os.path.normpath(os.path.join("/opt/rf-e2e/sbin", rel)) != "/opt/rf-e2e/lib64/rf/libringfence.so":
    errors.append(f"from sbin, {rel} is not the shim")
if absolute != "/opt/rf-e2e/lib64/rf/libringfence.so":
    errors.append(f"RF_SHIM_INSTALLED {absolute}")
dropin = open(os.path.join(build, "share", "ringfence.conf")).read()
if "Environment=LD_PRELOAD=/opt/rf-e2e/lib64/rf/libringfence.so\n" not in dropin:
    errors.append("the drop-in does not preload /opt/rf-e2e/lib64/rf/libringfence.so")
if errors:
    sys.exit("FAIL: another prefix: " + "; ".join(errors))
PY
echo "ok: another --prefix, --bindir, --libdir: everything under them, the shim found from sbin"
