"""The base of every initializer: ``Initializer``, ``RandomInitializer`` (the seed rule of
``minigrad.initializers``'s docstring), the registry they are looked up in by name, and the
argument checks they share.

Every name here is also a ``minigrad.initializers`` name; the initializers themselves live in
``minigrad/initializers.py`` (constants, random, orthogonal, ``get``) and
``minigrad/variance_scaling.py`` (Glorot, He, LeCun and the fans).
"""
import math
import numbers

import numpy as np

from . import config
from . import random as mg_random
from .registry import Configurable, Registry

REGISTRY = Registry("initializer")


# ------------------------------------------------------------------------------ helpers
def _standardize_shape(shape):
    """``shape`` as a tuple of non-negative Python ints (an int means a 1-D shape)."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(f"`shape` must be a tuple of non-negative integers. Received: "
                         f"shape={shape!r}") from None
    if any(d is None for d in dims):
        raise ValueError("Shapes used to initialize variables must be fully-defined (no "
                         f"`None` dimensions). Received: shape={shape!r}")
    if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 0
               for d in dims):
        raise ValueError(f"`shape` must be a tuple of non-negative integers. Received: "
                         f"shape={shape!r}")
    return tuple(int(d) for d in dims)


def _standardize_dtype(dtype, owner, floating=True):
    dtype = np.dtype(config.floatx() if dtype is None else dtype)
    allowed = "f" if floating else "biuf"
    if dtype.kind not in allowed:
        kind = "a floating-point" if floating else "a numeric"
        raise ValueError(f"{owner} needs {kind} dtype, got dtype={dtype}.")
    return dtype


def _check_number(value, argument, positive=False, non_negative=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"Argument `{argument}` must be a finite number. Received: "
                         f"{argument}={value!r}")
    if positive and value <= 0:
        raise ValueError(f"Argument `{argument}` must be positive float. Received: "
                         f"{argument}={value!r}")
    if non_negative and value < 0:
        raise ValueError(f"Argument `{argument}` must be non-negative. Received: "
                         f"{argument}={value!r}")
    return value


def _truncated_standard_normal(rng, size):
    """N(0, 1) samples restricted to (-2, 2): out-of-range draws are drawn again."""
    z = rng.standard_normal(size)
    bad = np.abs(z) >= 2
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) >= 2
    return z

# ------------------------------------------------------------------------------ base
class Initializer(Configurable):
    """Base class: ``__call__(shape, dtype=None)`` returns an ndarray of that shape.

    ``dtype=None`` means ``mg.config.floatx()`` (float32 by default).

    Subclasses implement ``__call__`` and ``get_config``; takes no arguments.
    """

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__.")



class RandomInitializer(Initializer):
    """Base of the random initializers: owns the seed (see ``minigrad.initializers``).

    Args:
        seed (int or None, default None): an int gives the same values on every call; None
            draws a seed from :mod:`minigrad.random` at construction (see ``minigrad.initializers``).
    """

    def __init__(self, seed=None):
        if seed is not None:
            mg_random._check_seed(seed)
        self.seed = seed
        # Unseeded: a private generator seeded now, from the global RNG.
        self._rng = None if seed is not None else np.random.default_rng(mg_random.draw_seed())

    def _generator(self):
        return np.random.default_rng(self.seed) if self.seed is not None else self._rng

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape)
        dtype = _standardize_dtype(dtype, type(self).__name__)
        return np.asarray(self._sample(self._generator(), shape), dtype=dtype)

    def _sample(self, rng, shape):
        raise NotImplementedError

    def get_config(self):
        return {"seed": self.seed}
