"""Golden files: what the DRTP code learnt when the file was recorded, required today.

Parity tests cannot see a change that moves the engine and the Lava graph together; these can.
``golden/make_drtp_golden.py`` records the file and holds the runs compared here. Fixed point:
identical integers (weights and every sample's output counts, engine and Lava graph, 2- and
3-layer nets). Float: weights within atol 1e-12 weight units, identical counts.
"""
from pathlib import Path

import numpy as np
import pytest

from golden import make_drtp_golden as golden

GOLDEN = np.load(Path(__file__).parent / "golden" / "drtp_v2.npz")


def assert_matches(prefix, weights, seen, test, exact=True):
    for k, w in enumerate(weights):
        expected = GOLDEN[f"{prefix}_w{k}"]
        if exact:
            np.testing.assert_array_equal(np.asarray(w), expected, err_msg=f"{prefix} layer {k}")
        else:
            np.testing.assert_allclose(np.asarray(w), expected, rtol=0, atol=1e-12,
                                       err_msg=f"{prefix} layer {k}")
    assert len(weights) == len([key for key in GOLDEN.files if key.startswith(f"{prefix}_w")])
    np.testing.assert_array_equal(seen, GOLDEN[f"{prefix}_seen"], err_msg=f"{prefix} seen")
    np.testing.assert_array_equal(test, GOLDEN[f"{prefix}_test"], err_msg=f"{prefix} test")


@pytest.mark.parametrize("case", sorted(golden.CASES))
def test_engine_fixed_point_matches_golden(case):
    assert_matches(f"{case}_engine_fixed", *golden.engine_run(*golden.CASES[case], "fixed"))


def test_engine_float_matches_golden():
    assert_matches("two_engine_float", *golden.engine_run(*golden.CASES["two"], "float"),
                   exact=False)


@pytest.mark.lava
@pytest.mark.usefixtures("lava_clean")
@pytest.mark.parametrize("case", sorted(golden.CASES))
def test_lava_graph_fixed_point_matches_golden(case):
    assert_matches(f"{case}_lava_fixed", *golden.lava_run(*golden.CASES[case]))
