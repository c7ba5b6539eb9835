#!/usr/bin/env bash
# Creates .venv-core: lava-plastic's core without Lava, on the newest supported interpreter
# (CPython 3.12) with numpy 2, to show the core (rules, engine, fixed point, data) runs there.
# Idempotent like setup-venv.sh. Prints the venv's python on success; exits 3 when no Python
# 3.12 is found (the caller decides whether that is an error).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-core"
stamp="$venv/.lava-plastic-installed"

find_python312() {
    local candidate
    for candidate in "${LAVA_PLASTIC_CORE_PYTHON:-}" python3.12 \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

want="$( (cat "$root/pyproject.toml"; echo numpy2) | sha256sum | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "$venv/bin/python"
    exit 0
fi
if ! py="$(find_python312)"; then
    echo "lava-plastic: no CPython 3.12 found for the core check (LAVA_PLASTIC_CORE_PYTHON picks one)" >&2
    exit 3
fi
rm -rf "$venv"
echo "lava-plastic: creating .venv-core with $py (the core on Python 3.12 and numpy 2, no Lava)" >&2
"$py" -m venv "$venv"
quiet_pip() {
    "$venv/bin/python" -m pip "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; } >&2
}
quiet_pip install --quiet --upgrade pip
quiet_pip install --quiet -e "$root[test]" "numpy>=2"
echo "$want" > "$stamp"
echo "$venv/bin/python"
