#!/usr/bin/env bash
# setup-venv.sh [VENV [EXTRA...]]: creates VENV (default .venv) with CPython 3.10 (Lava 0.10
# supports nothing else) and installs lava-plastic with all its dependencies, and the optional
# EXTRAs (run-tests makes .venv-netx with the netx extra: lava-dl). Idempotent: when
# pyproject.toml has not changed since the last successful install, it returns in well under a
# second.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/${1:-.venv}"
shift || true
extras="lava,test$(printf ',%s' "$@")"
extras="${extras%,}"
stamp="$venv/.lava-plastic-installed"

source "$root/scripts/venv-lib.sh"

want="$( (cat "$root/pyproject.toml"; [ "$extras" = "lava,test" ] || echo "$extras") | sha256sum | cut -d' ' -f1)"
if installed "$venv" "$stamp" "$want"; then
    exit 0
fi

if ! py="$(find_python 3.10 "${LAVA_PLASTIC_PYTHON:-}")"; then
    cat >&2 <<'MSG'
lava-plastic: no CPython 3.10 interpreter found.
Lava (lava-nc 0.10.0, lava-dl 0.6.0) installs only on Python 3.10. Get one, e.g.
    pyenv install 3.10.13        (then it is found under ~/.pyenv/versions/)
    apt-get install python3.10 python3.10-venv
or point LAVA_PLASTIC_PYTHON at a python3.10 executable, and run this again.
MSG
    exit 1
fi

if [ ! -x "$venv/bin/python" ] ||
    ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
    rm -rf "$venv"
    echo "lava-plastic: creating $(basename "$venv") with $py" >&2
    "$py" -m venv "$venv"
fi
echo "lava-plastic: installing the project and its dependencies into $(basename "$venv") (first time: a few minutes)" >&2
quiet_pip "$venv" install --quiet --no-cache-dir --upgrade "pip<25"
quiet_pip "$venv" install --quiet --no-cache-dir -e "$root[$extras]"
echo "$want" > "$stamp"
