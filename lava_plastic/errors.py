"""The library's own error type.

Everything lava-plastic refuses because of what it was given (a setting, an argument, a data
file, a checkpoint, an output folder) raises a :class:`LavaPlasticError`, or one of its kinds
(``DataError``, ``CheckpointError``, ``RunFilesError``), naming the problem. It is a
``ValueError``, so code that catches ``ValueError`` keeps working; anything else that escapes
the library is a bug."""
import zipfile
import zlib


class LavaPlasticError(ValueError):
    """A value lava-plastic cannot use, with a message naming it."""


DAMAGED_ARCHIVE = (OSError, ValueError, EOFError, KeyError, zlib.error, zipfile.BadZipFile,
                   NotImplementedError, RuntimeError, MemoryError)
"""What reading a damaged ``.npz`` archive can raise: zipfile's errors (a flipped byte can name
an unknown compression method, ``NotImplementedError``, or encryption, ``RuntimeError``),
zlib's, numpy's header checks (``ValueError``), and ``MemoryError`` for a header that declares
an array too large to hold. The readers turn each into their own error."""
