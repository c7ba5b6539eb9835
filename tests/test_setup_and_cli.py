"""The set-up script's refusal without Python 3.10, and the command line."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lava_plastic import cli

ROOT = Path(__file__).resolve().parents[1]


def test_setup_without_python310_says_how_to_get_one(tmp_path):
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    for script in ("setup-venv.sh", "venv-lib.sh"):
        shutil.copy(ROOT / "scripts" / script, repo / "scripts")
    shutil.copy(ROOT / "pyproject.toml", repo)
    bin_dir = tmp_path / "bin"   # a PATH with the basic tools and no python3.10
    bin_dir.mkdir()
    for tool in ("bash", "cat", "sha256sum", "cut", "dirname", "rm"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "nopyenv")}
    result = subprocess.run(["bash", str(repo / "scripts" / "setup-venv.sh")], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "no CPython 3.10 interpreter found" in result.stderr
    assert "pyenv install 3.10" in result.stderr
    assert not (repo / ".venv").exists()


def test_setup_is_idempotent_and_fast():
    result = subprocess.run(["bash", str(ROOT / "scripts" / "setup-venv.sh")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == ""


@pytest.mark.lava
@pytest.mark.usefixtures("lava_clean")
def test_selfcheck_passes(capsys):
    assert cli.main(["selfcheck", "--samples", "2", "--steps", "8", "--hidden", "8"]) == 0
    out = capsys.readouterr().out
    assert out.count("PASS") == 2 and "self-check passed" in out


def test_cli_rejects_bad_numbers(capsys):
    assert cli.main(["selfcheck", "--samples", "0"]) == 2
    assert "--samples must be a positive integer" in capsys.readouterr().err


def test_cli_unknown_command():
    result = subprocess.run([sys.executable, "-m", "lava_plastic.cli", "fly"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "invalid choice: 'fly'" in result.stderr
