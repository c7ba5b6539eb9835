"""Learning rules as small frozen values; their math as pure functions over arrays with a
leading batch axis (:mod:`~lava_plastic.rules.base`, :mod:`~lava_plastic.rules.feedback`)."""
from __future__ import annotations

from lava_plastic.rules.drtp import DFA, DRTP, SDFA

RULES = {rule.name: rule for rule in (DRTP, DFA, SDFA)}
"""Every rule by its command-line name."""


def make_rule(name: str, **hyper_parameters):
    """The rule called ``name`` (``drtp``, ``dfa``, ``sdfa``) with ``hyper_parameters``."""
    if name not in RULES:
        raise ValueError(f"unknown rule {name!r}; choose from {', '.join(RULES)}")
    return RULES[name](**hyper_parameters)
