#!/usr/bin/env bash
# Creates .venv-core: lava-plastic's core without Lava, on the newest supported interpreter
# (CPython 3.12) with numpy 2, to show the core (rules, engine, fixed point, data) runs there.
# Idempotent like setup-venv.sh. Prints the venv's python on success; exits 3 when no Python
# 3.12 is found (the caller decides whether that is an error).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-core"
stamp="$venv/.lava-plastic-installed"

source "$root/scripts/venv-lib.sh"

want="$( (cat "$root/pyproject.toml"; echo numpy2) | sha256sum | cut -d' ' -f1)"
if installed "$venv" "$stamp" "$want"; then
    echo "$venv/bin/python"
    exit 0
fi
if ! py="$(find_python 3.12 "${LAVA_PLASTIC_CORE_PYTHON:-}")"; then
    echo "lava-plastic: no CPython 3.12 found for the core check (LAVA_PLASTIC_CORE_PYTHON picks one)" >&2
    exit 3
fi
rm -rf "$venv"
echo "lava-plastic: creating .venv-core with $py (the core on Python 3.12 and numpy 2, no Lava)" >&2
"$py" -m venv "$venv"
quiet_pip "$venv" install --quiet --upgrade pip
quiet_pip "$venv" install --quiet -e "$root[test]" "numpy>=2"
echo "$want" > "$stamp"
echo "$venv/bin/python"
