# shellcheck shell=bash
# .ci/lib.sh - shared by .ci/demo and .ci/test: install what a fresh Debian 12
# machine lacks, then configure and build. Sourced, not run.

RF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RF_BUILD=${RF_BUILD:-$RF_ROOT/build}

# Debian packages the build, the tests and the demo need.
RF_PACKAGES=(
	gcc g++ pkg-config meson ninja-build
	librdkafka-dev libunwind-dev uthash-dev libdw-dev libelf-dev
	libncurses-dev # `ringfence top`'s screen
	kcat python3 python3-confluent-kafka
	clang-format # .ci/test checks the layout of every C and C++ file
	libjemalloc2 libtcmalloc-minimal4 # other allocators preloaded with the shim (heap tests)
	shellcheck # .ci/test checks the scripts in .ci/ and test-apps/
	# Real producers of the client tests (test-apps/e2e/client_*.sh, docs/clients.md);
	# Go also for the programs the goroutine tests read (test-apps/go/goroutines/),
	# built offline in GOPATH mode
	golang-go golang-github-confluentinc-confluent-kafka-go-dev
	rsyslog rsyslog-kafka collectd-core
	libmicrohttpd-dev # `ringfence serve`'s HTTP server
	curl # the scrapes of the serve, fleet and install tests
	prometheus # promtool, and the server the fleet test runs itself (never the system service)
	tmux procps # the terminal `ringfence top` is tested in, and ps to find it (e2e/top_screen.sh)
	man-db groff-base # render the man pages, and check they render without a warning
	clang libclang-rt-14-dev llvm # libFuzzer, its sanitizers and their symbolizer (.ci/fuzz)
)

rf_say() { printf '==> %s\n' "$*"; }

rf_deps_install() {
	local missing=() pkg
	for pkg in "${RF_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	rf_say "installing Debian packages: ${missing[*]}"
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || {
			echo "error: these packages are missing and installing them needs root: ${missing[*]}" >&2
			exit 1
		}
		sudo=(sudo)
	fi
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
	# Debian's prometheus starts its server once installed: the tests run their own.
	if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null &&
		systemctl is-active --quiet prometheus 2>/dev/null; then
		rf_say "stopping the prometheus server its package started (the tests run their own)"
		"${sudo[@]}" systemctl disable --now --quiet prometheus
	fi
}

# rf_build DIR [meson options...]: configure once, then build.
rf_build() {
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$RF_ROOT" -Dwerror=true "$@" >/dev/null
	fi
	ninja -C "$dir" >/dev/null
}

# rf_fuzz DIR SECONDS: build the libFuzzer targets (reporter/fuzz/) in DIR
# with clang under ASan and UBSan, write their seed corpora with the real
# writer (fuzz-seeds), and run each for SECONDS from its corpus in
# DIR/fuzz-corpus/TARGET, which is kept: the next run goes on from there. A
# crash, a sanitizer report or a broken output promise keeps its input in
# DIR/fuzz-crashes/ and makes the status 1. Prints runs and seconds per target,
# and counts the targets in RF_FUZZ_PASSED and RF_FUZZ_FAILED (the summary's).
RF_FUZZ_PASSED=0
RF_FUZZ_FAILED=0
rf_fuzz() {
	local dir=$1 seconds=$2 target log status=0 dict
	if [ ! -f "$dir/build.ninja" ]; then
		CC=clang CXX=clang++ meson setup "$dir" "$RF_ROOT" -Dwerror=true -Dfuzz=true \
			-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	fi
	ninja -C "$dir" reporter/fuzz/fuzz-segment reporter/fuzz/fuzz-config reporter/fuzz/fuzz-seeds \
		>/dev/null
	"$dir/reporter/fuzz/fuzz-seeds" "$dir/fuzz-seeds"
	mkdir -p "$dir/fuzz-crashes"
	for target in segment config; do
		mkdir -p "$dir/fuzz-corpus/$target"
		log=$dir/fuzz-$target.log
		dict=()
		if [ -f "$dir/fuzz-seeds/$target.dict" ]; then
			dict=(-dict="$dir/fuzz-seeds/$target.dict")
		fi
		if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
			"$dir/reporter/fuzz/fuzz-$target" -max_total_time="$seconds" -timeout=10 \
			-print_final_stats=1 -artifact_prefix="$dir/fuzz-crashes/$target-" "${dict[@]}" \
			"$dir/fuzz-corpus/$target" "$dir/fuzz-seeds/$target" >"$log" 2>&1; then
			rf_say "fuzz-$target: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" |
				sed 's/Done //; s/second/s/'), no crash ($log)"
			RF_FUZZ_PASSED=$((RF_FUZZ_PASSED + 1))
		else
			RF_FUZZ_FAILED=$((RF_FUZZ_FAILED + 1))
			tail -n 60 "$log" >&2
			echo "error: fuzz-$target failed: $log; its input is in $dir/fuzz-crashes/" >&2
			status=1
		fi
	done
	return $status
}

# rf_shell_scripts: the project's shell scripts, NUL-terminated, relative to
# RF_ROOT: the bash files in .ci/ (a bash shebang, or a shellcheck shell=bash
# directive for the sourced ones) and test-apps/**/*.sh. git names them, so a
# new script is checked once it is added; outside a git checkout, find does.
rf_shell_scripts() {
	local file first
	{
		if git -C "$RF_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
			git -C "$RF_ROOT" ls-files -z -- .ci 'test-apps/*.sh'
		else
			(cd "$RF_ROOT" && find .ci test-apps -type f \( -path '.ci/*' -o -name '*.sh' \) -print0)
		fi
	} | while IFS= read -r -d '' file; do
		[ -f "$RF_ROOT/$file" ] || continue
		case $file in
		test-apps/*) printf '%s\0' "$file" ;;
		*)
			first=
			IFS= read -r first <"$RF_ROOT/$file" || true
			case $first in
			'#!'*bash* | '# shellcheck shell=bash'*) printf '%s\0' "$file" ;;
			esac
			;;
		esac
	done
}

# rf_shellcheck: shellcheck every script (following what it sources, see
# .shellcheckrc); name each one that draws a warning and exit 1.
rf_shellcheck() {
	local scripts=() failed=() file
	while IFS= read -r -d '' file; do
		scripts+=("$file")
	done < <(rf_shell_scripts)
	[ ${#scripts[@]} -gt 0 ] || {
		echo "error: shellcheck: no scripts found under $RF_ROOT/.ci and $RF_ROOT/test-apps" >&2
		exit 1
	}
	rf_say "shellcheck: ${#scripts[@]} scripts in .ci/ and test-apps/"
	for file in "${scripts[@]}"; do
		(cd "$RF_ROOT" && shellcheck -x "$file") || failed+=("$file")
	done
	if [ ${#failed[@]} -gt 0 ]; then
		for file in "${failed[@]}"; do
			echo "error: shellcheck: warnings in $file (see above)" >&2
		done
		exit 1
	fi
}

# rf_c_sources: the C and C++ files of the tree, NUL-separated (git's list in
# a checkout, else every such file outside the build directories).
rf_c_sources() {
	if git -C "$RF_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$RF_ROOT" ls-files -z -- '*.c' '*.h' '*.cc' '*.cpp'
	else
		(cd "$RF_ROOT" && find shim reporter test-apps -type f \( -name '*.c' -o -name '*.h' \
			-o -name '*.cc' -o -name '*.cpp' \) -print0)
	fi
}

# rf_clang_format: every C and C++ file of the tree must be laid out as
# .clang-format says; name each one that is not and exit 1.
rf_clang_format() {
	local files=() failed=() file
	while IFS= read -r -d '' file; do
		files+=("$file")
	done < <(rf_c_sources)
	rf_say "clang-format: ${#files[@]} C and C++ files"
	for file in "${files[@]}"; do
		(cd "$RF_ROOT" && clang-format --dry-run --Werror "$file" 2>/dev/null) || failed+=("$file")
	done
	if [ ${#failed[@]} -gt 0 ]; then
		for file in "${failed[@]}"; do
			echo "error: clang-format: $file is not laid out as .clang-format says" \
				"(clang-format -i $file shows how)" >&2
		done
		exit 1
	fi
}
