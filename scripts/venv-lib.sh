# Shared by setup-venv.sh and setup-core-venv.sh (sourced, not run).

# find_python X.Y [INTERPRETER]: print the path of a CPython X.Y: INTERPRETER if it is one, else
# pythonX.Y on PATH, else one of pyenv's versions; fail when there is none.
find_python() {
    local version="$1" override="${2:-}" candidate
    for candidate in "$override" "python$version" \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version"*/bin/"python$version"; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$version'.split('.'))))" 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

# installed VENV STAMP WANT: true when VENV has a python and its install stamp says WANT (the
# hash of what it was installed from), i.e. nothing needs doing.
installed() {
    [ -x "$1/bin/python" ] && [ -f "$2" ] && [ "$(cat "$2")" = "$3" ]
}

# This machine's pip configuration names local package folders that may be absent; pip warns
# about each of them. Those warnings are dropped, everything else is shown.
quiet_pip() {
    local venv="$1"
    shift
    "$venv/bin/python" -m pip "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; } >&2
}
