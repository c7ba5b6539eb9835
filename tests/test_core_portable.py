"""The core where Lava cannot run: whatever interpreter and numpy run this file (``run-tests``
runs it on Python 3.12 with numpy 2 as well), the command line trains every rule with the
engine and the Lava backend refuses in one line. On that interpreter ``test_golden`` proves the
engine's fixed-point integers identical to those recorded with numpy 1.26."""
import json
import subprocess
import sys

import pytest


@pytest.mark.parametrize("rule", ["drtp", "dfa", "sdfa"])
def test_cli_trains_with_the_engine(rule, tmp_path):
    out = tmp_path / rule
    result = subprocess.run(
        [sys.executable, "-m", "lava_plastic.cli", "train", "--rule", rule, "--epochs", "2",
         "--precision", "fixed", "--max-train", "400", "--max-test", "200", "--no-progress",
         "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    assert results["rule"] == rule and results["test_accuracy"] > 0.6  # chance: 0.1


def test_lava_backend_needs_lava_in_one_line(tmp_path):
    script = ("import sys; sys.modules['lava'] = None\n"
              "from lava_plastic import cli\n"
              f"sys.exit(cli.main(['train', '--backend', 'lava', '--out', {str(tmp_path)!r}]))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "the lava backend needs Lava" in lines[0]
