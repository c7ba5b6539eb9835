"""Learning rules as small frozen values; their math as pure functions over arrays with a
leading batch axis (:mod:`~lava_plastic.rules.base`, :mod:`~lava_plastic.rules.feedback`)."""
from __future__ import annotations

from lava_plastic.errors import LavaPlasticError
from lava_plastic.rules.drtp import DFA, DRTP, SDFA
from lava_plastic.rules.loco import LOCO, NP
from lava_plastic.rules.opzo import OPZO, OPZODFA, OTTTBP, ZO

RULES = {rule.name: rule for rule in (DRTP, DFA, SDFA, OPZO, ZO, OPZODFA, OTTTBP, NP, LOCO)}
"""Every rule by its command-line name."""


def make_rule(name: str, **hyper_parameters):
    """The rule called ``name`` (:data:`RULES`) with ``hyper_parameters``."""
    if name not in RULES:
        raise LavaPlasticError(f"unknown rule {name!r}; choose from {', '.join(RULES)}")
    return RULES[name](**hyper_parameters)
