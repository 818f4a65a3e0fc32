"""Constraints: ``c(w) -> ndarray``, a projection optimizers apply after each step.

A layer attaches a constraint to a weight (``Variable.constraint``); the optimizer calls
it after every update (even a zero one) and assigns the result. Never at creation, on
``assign`` or on a forward pass. The projection runs outside the tape, so it is plain
NumPy, in the weight's own dtype.

With ``norms = sqrt(sum(w^2 over axis))`` (kept as broadcastable axes) and eps = 1e-7:

    MaxNorm(max_value, axis)                 w * clip(norms, 0, max_value) / (eps + norms)
    MinMaxNorm(min_value, max_value, rate)   desired = rate * clip(norms, min, max)
                                                       + (1 - rate) * norms
                                             w * desired / (eps + norms)
    UnitNorm(axis)                           w / (eps + norms)
    NonNeg()                                 max(w, 0)

Because of eps, a vector already inside the bound still shrinks by norms / (eps + norms).

What ``axis`` (default 0) means on this project's kernels:

    depthwise (k, C, M)            one norm per (c, m) filter over its k taps
    depthwise (kh, kw, C, M)       one norm per (column, c, m) over kh only;
                                   use axis=[0, 1] for whole-filter norms
    pointwise (1, C M, F)          axis 0 has length 1: the "norm" is |w| per element;
                                   use axis=[0, 1] (or -2) for per-filter norms
    bias (n,)                      the norm of the whole vector
"""
import math
import numbers

import numpy as np

from . import config
from .registry import Configurable, Registry
from .tensor import Tensor

REGISTRY = Registry("constraint")


def _as_array(w):
    """The weight's values as a float array (Tensors and Variables unwrapped)."""
    data = w.data if isinstance(w, Tensor) else np.asarray(w)
    if data.dtype.kind != "f":
        data = data.astype(config.floatx())
    return data


def _check_axis(axis):
    """``axis`` as an int or a tuple of ints (validated against a shape at call time)."""
    if isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
        return int(axis)
    if isinstance(axis, (list, tuple)) and axis and all(
            isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis):
        return tuple(int(a) for a in axis)
    raise ValueError(f"Argument `axis` must be an int or a non-empty list of ints. "
                     f"Received: axis={axis!r}")


def _check_value(value, argument):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"Argument `{argument}` must be a non-negative number. Received: "
                         f"{argument}={value!r}")
    return value


class Constraint(Configurable):
    """Base class: ``__call__(w)`` returns the projected weight as an ndarray.

    Subclasses implement ``__call__`` and ``get_config``; takes no arguments.
    """

    def __call__(self, w):
        return _as_array(w)



class _NormConstraint(Constraint):
    """Shared part of the norm constraints: ``norms`` along ``self.axis``."""

    def _norms(self, w):
        ndim = w.ndim
        axes = (self.axis,) if isinstance(self.axis, int) else self.axis
        for ax in axes:
            if not -ndim <= ax < ndim:
                raise ValueError(f"{type(self).__name__}: axis {self.axis!r} is out of range "
                                 f"for a weight of shape {w.shape} (rank {ndim}).")
        if len({ax % ndim for ax in axes}) != len(axes):
            raise ValueError(f"{type(self).__name__}: axis {self.axis!r} repeats an axis.")
        return np.sqrt(np.sum(np.square(w), axis=axes, keepdims=True))

    def _eps(self, w):
        return w.dtype.type(config.epsilon())


@REGISTRY.register("max_norm", "MaxNorm")
class MaxNorm(_NormConstraint):
    """Rescale every slice along ``axis`` whose norm exceeds ``max_value``.

    Formula:
        w * clip(norms, 0, max_value) / (1e-7 + norms)

    Args:
        max_value (float, default 2): the largest norm kept, >= 0.
        axis (int or list of int, default 0): the axes each norm is taken over (see the
            module docstring for what 0 means on each kernel).

    Returns (when called on a weight w):
        ndarray: the projected weight, ``w``'s shape and dtype.

    Example:
        >>> constraints.MaxNorm(1.0)(np.array([[3.0], [4.0]])).round(4).tolist()
        [[0.6], [0.8]]
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = _check_value(max_value, "max_value")
        self.axis = _check_axis(axis)

    def __call__(self, w):
        w = _as_array(w)
        norms = self._norms(w)
        desired = np.clip(norms, 0, self.max_value).astype(w.dtype, copy=False)
        return w * (desired / (self._eps(w) + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


@REGISTRY.register("min_max_norm", "MinMaxNorm")
class MinMaxNorm(_NormConstraint):
    """Move every slice's norm into ``[min_value, max_value]``; ``rate`` in [0, 1] says
    how far (1 = all the way, the default).

    Formula:
        w * (rate * clip(norms, min_value, max_value) + (1 - rate) * norms) / (1e-7 + norms)

    Args:
        min_value (float, default 0.0): the smallest norm kept, >= 0.
        max_value (float, default 1.0): the largest norm kept, >= min_value.
        rate (float, default 1.0): how far to move, in [0, 1].
        axis (int or list of int, default 0): the axes each norm is taken over (see the
            module docstring for what 0 means on each kernel).

    Returns (when called on a weight w):
        ndarray: the projected weight, ``w``'s shape and dtype.

    Example:
        >>> constraints.MinMaxNorm(1.0, 2.0)(np.array([[0.3], [0.4]])).round(4).tolist()
        [[0.6], [0.8]]
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = _check_value(min_value, "min_value")
        self.max_value = _check_value(max_value, "max_value")
        if min_value > max_value:
            raise ValueError(f"Argument `min_value` must not exceed `max_value`. Received: "
                             f"min_value={min_value!r}, max_value={max_value!r}")
        self.rate = _check_value(rate, "rate")
        if rate > 1:
            raise ValueError(f"Argument `rate` must be between 0 and 1. Received: rate={rate!r}")
        self.axis = _check_axis(axis)

    def __call__(self, w):
        w = _as_array(w)
        norms = self._norms(w)
        clipped = np.clip(norms, self.min_value, self.max_value)
        desired = (self.rate * clipped + (1 - self.rate) * norms).astype(w.dtype, copy=False)
        return w * (desired / (self._eps(w) + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


@REGISTRY.register("unit_norm", "UnitNorm")
class UnitNorm(_NormConstraint):
    """Scale every slice along ``axis`` to (almost exactly) unit norm.

    Formula:
        w / (1e-7 + norms)

    Args:
        axis (int or list of int, default 0): the axes each norm is taken over (see the
            module docstring for what 0 means on each kernel).

    Returns (when called on a weight w):
        ndarray: the projected weight, ``w``'s shape and dtype.

    Example:
        >>> constraints.UnitNorm()(np.array([[3.0], [4.0]])).round(4).tolist()
        [[0.6], [0.8]]
    """

    def __init__(self, axis=0):
        self.axis = _check_axis(axis)

    def __call__(self, w):
        w = _as_array(w)
        return w / (self._eps(w) + self._norms(w))

    def get_config(self):
        return {"axis": self.axis}


@REGISTRY.register("non_neg", "NonNeg")
class NonNeg(Constraint):
    """Negative entries become 0 (NaN stays NaN).

    Formula:
        max(w, 0)

    Takes no arguments.

    Returns (when called on a weight w):
        ndarray: the projected weight, ``w``'s shape and dtype.

    Example:
        >>> constraints.NonNeg()(np.array([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """

    def __call__(self, w):
        w = _as_array(w)
        return np.maximum(w, w.dtype.type(0))


# Keras's lower-case aliases of the classes.
max_norm, min_max_norm, unit_norm, non_neg = MaxNorm, MinMaxNorm, UnitNorm, NonNeg


# A constraint as a Keras-style dict (None stays None), and back.
serialize = REGISTRY.serialize
deserialize = REGISTRY.deserialize


def get(identifier):
    """A constraint from a name, class, instance, config dict or any callable.

    None -> None; a :class:`Constraint` or any callable passes through; a class is
    instantiated with its defaults; strings: ``max_norm``, ``min_max_norm``,
    ``non_neg``, ``unit_norm`` and the class names.

    Args:
        identifier (str, type, Constraint, dict, callable or None): what to look up.

    Returns:
        Constraint, callable or None

    Raises:
        ValueError: for anything else, listing the valid names.

    Example:
        >>> constraints.get("non_neg")
        NonNeg()
    """
    return REGISTRY.resolve(identifier, Constraint)
