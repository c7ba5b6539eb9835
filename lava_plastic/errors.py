"""The library's own error type.

Everything lava-plastic refuses because of what it was given (a setting, an argument, a data
file, a checkpoint, an output folder) raises a :class:`LavaPlasticError`, or one of its kinds
(``DataError``, ``CheckpointError``, ``RunFilesError``), naming the problem. It is a
``ValueError``, so code that catches ``ValueError`` keeps working; anything else that escapes
the library is a bug."""


class LavaPlasticError(ValueError):
    """A value lava-plastic cannot use, with a message naming it."""
