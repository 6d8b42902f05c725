# shellcheck shell=bash
# .ci/lib.sh - shared by .ci/demo and .ci/test: install what a fresh Debian 12
# machine lacks, then configure and build. Sourced, not run.

RF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RF_BUILD=${RF_BUILD:-$RF_ROOT/build}

# Debian packages the build, the tests and the demo need.
RF_PACKAGES=(
	gcc g++ pkg-config meson ninja-build
	librdkafka-dev libunwind-dev uthash-dev libdw-dev
	kcat python3 python3-confluent-kafka
	libjemalloc2 libtcmalloc-minimal4 # other allocators preloaded with the shim (heap tests)
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
