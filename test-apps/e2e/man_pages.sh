#!/usr/bin/env bash
# The man pages: ringfence(1) and libringfence(7) render with no warning from
# groff (man --warnings, every warning) at every width from 60 to 200
# columns; ringfence(1) lists exactly the commands of `ringfence --help`, for
# each exactly the options of `ringfence help COMMAND` with their values, and
# the exit statuses of `ringfence --help`; libringfence(7) lists exactly the
# variables of RF_CONFIG (shim/shared/rf_shm.h), each with its default.
#
#   man_pages.sh [RINGFENCE PAGE1 PAGE7]
#
# checks the pages built (build/docs/man/) against the reporter built, or
# the pages and reporter given (install.sh: the installed ones).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RF=${1:-$RF_BUILD_ROOT/reporter/ringfence}
PAGE1=${2:-$RF_BUILD_ROOT/docs/man/ringfence.1}
PAGE7=${3:-$RF_BUILD_ROOT/docs/man/libringfence.7}
SHM_H=$RF_SOURCE_ROOT/shim/shared/rf_shm.h

command -v man >/dev/null || rf_fail "man (Debian's man-db, with groff-base) is needed to render the pages"
for page in "$PAGE1" "$PAGE7"; do
	[ -s "$page" ] || rf_fail "no page at $page"
	! grep -n '@[A-Z_]*@' "$page" || rf_fail "$page: a template marker is left"
	for width in 60 72 80 100 132 200; do
		# As man-db's manual says to check a page, and with every warning.
		LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=$width man --warnings -E UTF-8 -l -Tutf8 -Z \
			"$page" >/dev/null 2>"$rf_tmpdir/warnings"
		LC_ALL=C.UTF-8 MANWIDTH=$width man --warnings=all -l "$page" >"$rf_tmpdir/page.txt" \
			2>>"$rf_tmpdir/warnings"
		[ ! -s "$rf_tmpdir/warnings" ] ||
			rf_fail "$page at $width columns: $(cat "$rf_tmpdir/warnings")"
		[ "$(wc -l <"$rf_tmpdir/page.txt")" -gt 20 ] || rf_fail "$page at $width columns renders to nothing"
	done
done
echo "ok: both pages render without a warning from 60 to 200 columns"

# What the program says of itself.
"$RF" --help >"$rf_tmpdir/help"
mapfile -t commands < <(awk '/^Commands:$/ { on = 1; next } on && /^$/ { exit } on { print $1 }' \
	"$rf_tmpdir/help")
[ ${#commands[@]} -gt 0 ] || rf_fail "no commands in ringfence --help"
for cmd in "${commands[@]}"; do
	"$RF" help "$cmd" >"$rf_tmpdir/help.$cmd"
done
LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$PAGE1" >"$rf_tmpdir/page1.txt"
LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$PAGE7" >"$rf_tmpdir/page7.txt"

python3 - "$rf_tmpdir" "$SHM_H" "${commands[@]}" <<'PY'
import re
import sys

tmp, shm_h, commands = sys.argv[1], sys.argv[2], sys.argv[3:]
errors = []
# An option as the help and the page write it: [-X, ]--name [VALUE], then
# its text (lower case) or nothing.
OPTION = re.compile(r"(?:-(\w), )?--([a-z0-9-]+)(?: ([A-Z][A-Z_]*))?(?: |$)")


def text(path):
    # Debian's groff writes \- as '-'; elsewhere it may be a minus or hyphen.
    return open(path, encoding="utf-8").read().replace("\u2212", "-").replace("\u2010", "-")


def sections(page):
    """{SECTION: [lines]} of a rendered page."""
    out, name = {}, None
    for line in page.split("\n"):
        if re.fullmatch(r"[A-Z][A-Z ]+", line):
            name = line
            out[name] = []
        elif name:
            out[name].append(line)
    return out


def help_block(help_text, heading):
    lines, on = [], False
    for line in help_text.split("\n"):
        if line == heading:
            on = True
        elif on and (line == "" or not line.startswith(" ")):
            break
        elif on:
            lines.append(line)
    return lines


def help_options(help_text):
    opts = set()
    for line in help_block(help_text, "Options:"):
        m = OPTION.match(line[2:]) if line.startswith("  -") else None
        if m:
            opts.add(m.groups())
    return opts


# ringfence(1): its commands, each with its options.
page1 = sections(text(f"{tmp}/page1.txt"))
man_cmds, cur, in_opts = {}, None, False
for line in page1.get("COMMANDS", []):
    m = re.fullmatch(r"   ringfence (\S+)", line)
    if m:
        cur, in_opts = m.group(1), False
        man_cmds[cur] = set()
    elif cur and line == "       Options:":
        in_opts = True
    elif cur and in_opts and line.startswith("       -"):
        m = OPTION.match(line[7:])
        if not m:
            errors.append(f"ringfence(1) {cur}: an option it cannot read: {line!r}")
        else:
            man_cmds[cur].add(m.groups())
    elif cur and in_opts and line.startswith("       ") and not line.startswith("        "):
        in_opts = False  # the notes after the options
if sorted(man_cmds) != sorted(commands):
    errors.append(f"ringfence(1) documents the commands {sorted(man_cmds)}, ringfence --help lists {sorted(commands)}")
for cmd in commands:
    want = help_options(text(f"{tmp}/help.{cmd}"))
    got = man_cmds.get(cmd, set())
    if not want:
        errors.append(f"no options read from ringfence help {cmd}")
    if got != want:
        errors.append(f"ringfence(1) {cmd}: options only on the page {sorted(got - want, key=str)}, "
                      f"only in the help {sorted(want - got, key=str)}")
synopsis = " ".join(page1.get("SYNOPSIS", []))
for cmd in commands:
    if f"ringfence {cmd} " not in synopsis:
        errors.append(f"ringfence(1) SYNOPSIS lacks {cmd}")

# Its exit statuses, as ringfence --help gives them.
want = {}
for line in help_block(text(f"{tmp}/help"), "Exit status:"):
    m = re.match(r"  (\d+) +(.*)", line)
    if m:
        want[m.group(1)] = m.group(2)
got = {}
for line in page1.get("EXIT STATUS", []):
    m = re.match(r" {7}(\d+) +(.*)", line)
    if m:
        got[m.group(1)] = m.group(2)
if not want or got != want:
    errors.append(f"ringfence(1) EXIT STATUS {got} != ringfence --help {want}")
statuses = len(got)

# libringfence(7): every variable of RF_CONFIG, with its default.
src = open(shm_h).read()
prefix_default = re.search(r'#define RF_SHM_PREFIX_DEFAULT "([^"]*)"', src).group(1)
config = src[src.index("#define RF_CONFIG(X)"):]
config = config[:config.index("\n\n")]
want = {}
for name, default in re.findall(r'X\(\w+, \w+, "(RINGFENCE_\w+)", ("[^"]*"|\w+)', config):
    want[name] = prefix_default if default == "RF_SHM_PREFIX_DEFAULT" else default.strip('"')
if len(want) < 10:
    errors.append(f"only {len(want)} variables read from RF_CONFIG in {shm_h}")
paragraphs, cur = {}, None
for line in sections(text(f"{tmp}/page7.txt")).get("ENVIRONMENT", []):
    m = re.fullmatch(r" {7}(RINGFENCE_\w+)", line)
    if m:
        cur = m.group(1)
        paragraphs[cur] = ""
    elif cur:
        paragraphs[cur] += " " + line.strip()
got = {}
for name, paragraph in paragraphs.items():
    m = re.search(r"Default: (\S*?)\.(?: |$)", paragraph)
    got[name] = m.group(1) if m else None
want_shown = {k: v or "none" for k, v in want.items()}
if got != want_shown:
    errors.append(f"libringfence(7) ENVIRONMENT {got} != RF_CONFIG {want_shown}")

if errors:
    sys.exit("FAIL: " + "\nFAIL: ".join(errors))
print(f"ok: ringfence(1) documents {len(commands)} commands with the options of their help, "
      f"and {statuses} exit statuses; libringfence(7) the {len(want)} variables of RF_CONFIG "
      "with their defaults")
PY
