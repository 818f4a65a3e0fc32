"""Initializers: ``init(shape, dtype=None) -> ndarray``, the starting values of weights.

Layers look them up by name (``"glorot_uniform"``) or take an object. Each is a small
class. The variance-scaling family (Glorot, He, LeCun) and the fans it scales by
(:func:`compute_fans`) live in ``minigrad/variance_scaling.py``, with its formula and the
fans of this project's kernels; the base classes and the registry in
``minigrad/initializer_base.py``. Every one of them is a name of this module too.

Seeds: ``seed=None`` draws a seed from the global RNG (:mod:`minigrad.random`) when the
initializer is constructed, then draws fresh values on every call from a generator of
its own — so ``mg.set_random_seed(n)`` makes a whole model reproducible. An integer seed
gives identical values on every call.

Deviations from Keras 3 (deliberate):
* The string ``"constant"`` gives ``Constant(0.0)`` (Keras raises ``KeyError``).
* An unseeded instance called twice gives two different draws (Keras 3 returns the
  same values each time). Seeded instances behave as in Keras.
"""
import math

import numpy as np

from .initializer_base import (  # noqa: F401  (the base and the registry are names here too)
    REGISTRY, Initializer, RandomInitializer, _check_number, _standardize_dtype,
    _standardize_shape, _truncated_standard_normal)
from .tensor import Tensor
from .variance_scaling import (  # noqa: F401  (the variance-scaling family is named here too)
    GlorotNormal, GlorotUniform, HeNormal, HeUniform, LecunNormal, LecunUniform, VarianceScaling,
    _VarianceScalingPreset, compute_fans)


# ------------------------------------------------------------------------------ constants
@REGISTRY.register("zeros", "Zeros", "zero")
class Zeros(Initializer):
    """All zeros (the default bias initializer).

    Takes no arguments.

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).

    Example:
        >>> initializers.Zeros()((2,), "float64").tolist()
        [0.0, 0.0]
    """

    def __call__(self, shape, dtype=None):
        return np.zeros(_standardize_shape(shape),
                        dtype=_standardize_dtype(dtype, "Zeros", floating=False))


@REGISTRY.register("ones", "Ones", "one")
class Ones(Initializer):
    """All ones (in the requested shape and dtype).

    Takes no arguments.

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).
    """

    def __call__(self, shape, dtype=None):
        return np.ones(_standardize_shape(shape),
                       dtype=_standardize_dtype(dtype, "Ones", floating=False))


@REGISTRY.register("constant", "Constant")
class Constant(Initializer):
    """``value`` everywhere (a scalar, or an array that broadcasts to the shape).

    The string ``"constant"`` means ``Constant(0.0)`` (Keras raises there).

    Args:
        value (float or array-like, default 0.0): the value, broadcast to the shape.

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).

    Example:
        >>> initializers.Constant(2.0)((2,)).tolist()
        [2.0, 2.0]
    """

    def __init__(self, value=0.0):
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
        if array.dtype.kind not in "biuf":
            raise ValueError(f"Argument `value` of Constant must be a number or an array "
                             f"of numbers. Received: value={value!r}")
        self.value = value if array.ndim == 0 and not isinstance(value, Tensor) else array

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape)
        dtype = _standardize_dtype(dtype, "Constant", floating=False)
        value = np.asarray(self.value, dtype=dtype)
        try:
            return np.array(np.broadcast_to(value, shape))
        except ValueError:
            raise ValueError(f"Constant value of shape {value.shape} cannot fill a weight of "
                             f"shape {shape}.") from None

    def get_config(self):
        value = self.value.tolist() if isinstance(self.value, np.ndarray) else self.value
        return {"value": value}


class FixedValue(Initializer):
    """A given array, used as-is. ``initializers.get(ndarray)`` returns one.

    The shape asked for must equal the array's shape.

    Args:
        value (array-like): the array returned (a copy, in the requested dtype).

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).

    Raises (when called):
        ValueError: if the shape asked for is not the array's shape.
    """

    def __init__(self, value):
        self.value = np.array(value.data if isinstance(value, Tensor) else value)
        if self.value.dtype.kind not in "biuf":
            raise ValueError(f"An array initializer must hold numbers, got dtype "
                             f"{self.value.dtype}.")

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape)
        if shape != self.value.shape:
            raise ValueError(f"The initial value has shape {self.value.shape} but the "
                             f"weight has shape {shape}.")
        dtype = _standardize_dtype(dtype, "FixedValue", floating=False)
        return self.value.astype(dtype, copy=True)

    def get_config(self):
        return {"value": self.value.tolist()}


@REGISTRY.register("identity", "Identity", "IdentityInitializer")
class Identity(Initializer):
    """``gain`` times the identity matrix (rank 2 only; rectangular is allowed).

    Args:
        gain (float, default 1.0): the value on the diagonal.

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).

    Example:
        >>> initializers.Identity()((2, 3)).tolist()
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """

    def __init__(self, gain=1.0):
        self.gain = _check_number(gain, "gain")

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape)
        if len(shape) != 2:
            raise ValueError("Identity matrix initializer can only be used for 2D matrices. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        dtype = _standardize_dtype(dtype, "Identity")
        return (self.gain * np.eye(*shape)).astype(dtype)

    def get_config(self):
        return {"gain": self.gain}


# ------------------------------------------------------------------------------ random
@REGISTRY.register("random_normal", "RandomNormal", "normal")
class RandomNormal(RandomInitializer):
    """N(mean, stddev^2).

    Args:
        mean (float, default 0.0): the mean.
        stddev (float, default 0.05): the standard deviation, >= 0.
        seed (int or None, default None): an int gives the same values on every call; None
            draws a seed from :mod:`minigrad.random` at construction (see the module docstring).

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = _check_number(mean, "mean")
        self.stddev = _check_number(stddev, "stddev", non_negative=True)
        super().__init__(seed)

    def _sample(self, rng, shape):
        return rng.normal(self.mean, self.stddev, shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


@REGISTRY.register("random_uniform", "RandomUniform", "uniform")
class RandomUniform(RandomInitializer):
    """U(minval, maxval).

    Args:
        minval (float, default -0.05): the lower bound.
        maxval (float, default 0.05): the upper bound, >= minval.
        seed (int or None, default None): an int gives the same values on every call; None
            draws a seed from :mod:`minigrad.random` at construction (see the module docstring).

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = _check_number(minval, "minval")
        self.maxval = _check_number(maxval, "maxval")
        if minval > maxval:
            raise ValueError(f"Argument `minval` must not exceed `maxval`. Received: "
                             f"minval={minval!r}, maxval={maxval!r}")
        super().__init__(seed)

    def _sample(self, rng, shape):
        return rng.uniform(self.minval, self.maxval, shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


@REGISTRY.register("truncated_normal", "TruncatedNormal")
class TruncatedNormal(RandomInitializer):
    """N(mean, stddev^2) restricted to mean +- 2 stddev (resampled, not clipped).

    ``stddev`` is the parameter before truncation; the realised std is 0.8796 stddev.

    Args:
        mean (float, default 0.0): the mean.
        stddev (float, default 0.05): the standard deviation before truncation, >= 0.
        seed (int or None, default None): an int gives the same values on every call; None
            draws a seed from :mod:`minigrad.random` at construction (see the module docstring).

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = _check_number(mean, "mean")
        self.stddev = _check_number(stddev, "stddev", non_negative=True)
        super().__init__(seed)

    def _sample(self, rng, shape):
        return self.mean + self.stddev * _truncated_standard_normal(rng, shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


@REGISTRY.register("orthogonal", "Orthogonal", "OrthogonalInitializer")
class Orthogonal(RandomInitializer):
    """A (semi-)orthogonal matrix times ``gain``, reshaped to the weight (rank >= 2).

    The weight is viewed as a ``prod(shape[:-1]) x shape[-1]`` matrix: its columns are
    orthonormal when it is tall, its rows when it is wide. Built from the QR
    decomposition of a Gaussian matrix, with Q's columns signed by diag(R) so the
    result is uniformly distributed.

    Args:
        gain (float, default 1.0): the factor the orthogonal matrix is multiplied by.
        seed (int or None, default None): an int gives the same values on every call; None
            draws a seed from :mod:`minigrad.random` at construction (see the module docstring).

    Returns (when called as ``init(shape, dtype=None)``):
        ndarray: of ``shape``, in ``dtype`` (None: ``mg.config.floatx()``).
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = _check_number(gain, "gain")
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape)
        if len(shape) < 2:
            raise ValueError("The tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        return super().__call__(shape, dtype)

    def _sample(self, rng, shape):
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.where(np.diag(r) < 0, -1.0, 1.0)
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


# ------------------------------------------------------------------------------ lookup
# An initializer as a Keras-style dict (None stays None), and back.
serialize = REGISTRY.serialize
deserialize = REGISTRY.deserialize


def get(identifier):
    """An initializer from a name, class, instance, config dict or fixed array.

    None -> None; an :class:`Initializer` (or any callable) passes through; a class is
    instantiated with its defaults; a string is looked up (class names, snake_case names,
    and the aliases ``normal``, ``uniform``, ``zero``, ``one``); an ndarray / Tensor
    becomes a :class:`FixedValue`. Anything else raises ValueError listing valid names.

    Args:
        identifier (str, type, Initializer, dict, ndarray, callable or None): what to look up.

    Returns:
        Initializer, callable or None

    Raises:
        ValueError: for anything else, listing the valid names.

    Example:
        >>> initializers.get("zeros")
        Zeros()
    """
    if isinstance(identifier, (np.ndarray, Tensor)):
        return FixedValue(identifier)
    return REGISTRY.resolve(identifier, Initializer)


# Keras's lower-case aliases of the classes.
zeros, ones, constant, identity = Zeros, Ones, Constant, Identity
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, orthogonal = VarianceScaling, Orthogonal
glorot_uniform, glorot_normal = GlorotUniform, GlorotNormal
he_uniform, he_normal, lecun_uniform, lecun_normal = HeUniform, HeNormal, LecunUniform, LecunNormal
