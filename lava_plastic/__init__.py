"""lava-plastic: backprop-free learning rules for spiking networks, in Lava and in a batched
engine. Everything it refuses raises :class:`LavaPlasticError` (:mod:`lava_plastic.errors`)."""
from lava_plastic.errors import LavaPlasticError

__all__ = ["LavaPlasticError"]
