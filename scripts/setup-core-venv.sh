#!/usr/bin/env bash
# setup-core-venv.sh X.Y VENV [PACKAGE...]: creates VENV (a folder in the repository) with
# lava-plastic's core and test tools, without Lava, on CPython X.Y with numpy 2 and the extra
# PACKAGEs, to show the core (rules, engine, fixed point, data) runs there. run-tests makes two:
# .venv-core (Python 3.12, the newest supported) and .venv-torch (Python 3.11 with torch's CPU
# build, for the engine on torch tensors and data-parallel training).
# Idempotent like setup-venv.sh. Prints the venv's python on success; exits 3 when no Python
# X.Y is found (the caller decides whether that is an error).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$1"
venv="$root/$2"
shift 2
stamp="$venv/.lava-plastic-installed"

source "$root/scripts/venv-lib.sh"

want="$( (cat "$root/pyproject.toml"; echo "$version numpy2 $*") | sha256sum | cut -d' ' -f1)"
if installed "$venv" "$stamp" "$want"; then
    echo "$venv/bin/python"
    exit 0
fi
if ! py="$(find_python "$version" "")"; then
    echo "lava-plastic: no CPython $version found for the core check in $(basename "$venv")" >&2
    exit 3
fi
rm -rf "$venv"
echo "lava-plastic: creating $(basename "$venv") with $py (the core on Python $version and numpy 2${*:+ with $*}, no Lava)" >&2
"$py" -m venv "$venv"
quiet_pip "$venv" install --quiet --no-cache-dir --upgrade pip
quiet_pip "$venv" install --quiet --no-cache-dir -e "$root[test]" "numpy>=2" "$@"
echo "$want" > "$stamp"
echo "$venv/bin/python"
