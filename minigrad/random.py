"""Seeding: one global NumPy ``Generator`` from which every unseeded random thing draws.

    mg.set_random_seed(42)           # initial weights, dropout masks, shuffles: reproducible
    layer_a = layers.Dense(4)        # its GlorotUniform draws its seed from the global RNG
                                     # when it is constructed

How seeds flow (as in Keras):

* An initializer built with ``seed=None`` draws an integer seed from :func:`global_rng`
  when it is *constructed*. So the order in which initializers are created, after
  :func:`set_random_seed`, decides their values, and re-seeding reproduces them.
* An initializer built with an integer seed ignores the global RNG entirely.
* Anything else that needs randomness (Dropout masks, ``fit`` shuffling) asks
  :func:`make_rng` for a Generator: seeded if given a seed, otherwise seeded from the
  global RNG.

Note: this module is ``minigrad.random``; inside the package ``import random`` still
means the standard-library module (imports are absolute).
"""
import numbers
import random as _py_random

import numpy as np

# Drawn seeds lie in [1, 2**31 - 1): positive, and fit in a C int anywhere they might go.
_SEED_HIGH = 2 ** 31 - 1

_global_rng = np.random.default_rng()


def _check_seed(seed, argument="seed"):
    """``seed`` as a Python int >= 0; bools, floats and negatives are rejected."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"`{argument}` must be a non-negative integer or None. "
                         f"Received: {argument}={seed!r} (of type {type(seed).__name__}).")
    return int(seed)


def set_random_seed(seed):
    """Make every random draw from now on reproducible.

    Re-creates minigrad's global Generator from ``seed`` and, like
    ``keras.utils.set_random_seed``, also seeds Python's ``random`` and NumPy's legacy
    global state (``np.random.seed``), so user code that uses those is reproducible too.

    Args:
        seed (int): the seed, >= 0.

    Example:
        >>> mg.set_random_seed(0); a = initializers.RandomNormal()((2,))
        >>> mg.set_random_seed(0); b = initializers.RandomNormal()((2,))
        >>> bool((a == b).all())
        True
    """
    global _global_rng
    seed = _check_seed(seed)
    _global_rng = np.random.default_rng(seed)
    _py_random.seed(seed)
    np.random.seed(seed % 2 ** 32)


def global_rng():
    """The global Generator (re-created by :func:`set_random_seed`; don't cache it)."""
    return _global_rng


def draw_seed():
    """A fresh integer seed drawn from the global Generator."""
    return int(_global_rng.integers(1, _SEED_HIGH))


def make_rng(seed=None):
    """A NumPy Generator: from ``seed`` if it is an int, from the global RNG if None.

    A Generator passed in is returned unchanged (so functions can take either).

    Args:
        seed (int, numpy.random.Generator or None, default None): where the Generator comes
            from.

    Returns:
        numpy.random.Generator
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng(draw_seed())
    return np.random.default_rng(_check_seed(seed))
