"""Differentiable elementwise maths: ``exp``, ``log``, ``sqrt``, ``square``, ``erf``, ``abs``,
``clip``, ``where`` and ``stop_gradient``.

Each output element depends on the input element at the same place, so each gradient is the
incoming gradient times the derivative there (``where`` routes it to the chosen branch).
The pattern (forward and gradient side by side, gradients written with ops so they can be
differentiated again) is the one :mod:`minigrad.ops.math` describes.
"""
import numpy as np
from scipy import special

from ..tape import record
from ..tensor import Tensor, _to_array
from .math import _binary, as_tensor, dual


def exp(x):
    """e^x. d/dx = e^x (the output itself).

    Args:
        x (Tensor or array-like): the input.

    Returns:
        Tensor: ``x``'s shape, recorded on any active tape.

    Example:
        >>> x = mg.Variable([0.0, 1.0])
        >>> with mg.GradientTape() as tape:
        ...     y = ops.sum(ops.exp(x))
        >>> tape.gradient(y, x).numpy().round(4).tolist()
        [1.0, 2.7183]
    """
    x = as_tensor(x)
    return record("exp", (x,), np.exp(x.data), gradient=lambda g, inputs, out: (g * out,))


def log(x):
    """Natural logarithm. d/dx = 1/x.

    Args:
        x (Tensor or array-like): the input.

    Returns:
        Tensor: ``x``'s shape, recorded on any active tape.
    """
    x = as_tensor(x)
    return record("log", (x,), np.log(x.data),
                  gradient=lambda g, inputs, out: (g / inputs[0],))


def sqrt(x):
    """Square root. d/dx = 1 / (2 sqrt x).

    Args:
        x (Tensor or array-like): the input.

    Returns:
        Tensor: ``x``'s shape, recorded on any active tape.
    """
    x = as_tensor(x)
    return record("sqrt", (x,), np.sqrt(x.data),
                  gradient=lambda g, inputs, out: (g / (2 * out),))


def square(x):
    """x^2. d/dx = 2x.

    Args:
        x (Tensor or array-like): the input.

    Returns:
        Tensor: ``x``'s shape, recorded on any active tape.
    """
    x = as_tensor(x)
    xd = x.data
    return record("square", (x,), xd * xd,
                  gradient=lambda g, inputs, out: (2 * g * inputs[0],))


def erf(x):
    """The error function. d/dx = 2 / sqrt(pi) e^(-x^2).

    Args:
        x (Tensor or array-like): the input.

    Returns:
        Tensor: ``x``'s shape, recorded on any active tape.
    """
    x = as_tensor(x)
    c = 2 / np.sqrt(np.pi)

    def gradient(g, inputs, out):
        x = inputs[0]
        return (g * c * _exp(-(x * x)),)
    return record("erf", (x,), special.erf(x.data).astype(x.dtype, copy=False),
                  gradient=gradient)


def abs(x):  # noqa: A001
    """|x|. d/dx = sign(x) (0 at 0).

    Args:
        x (Tensor or array-like): the input.

    Returns:
        Tensor: ``x``'s shape, recorded on any active tape.
    """
    x = as_tensor(x)
    xd = x.data
    return record("abs", (x,), np.abs(xd),
                  gradient=lambda g, inputs, out: (g * np.sign(xd),))


def clip(x, min_value, max_value):
    """Limit values to [min_value, max_value]; the gradient passes only inside the range.

    Args:
        x (Tensor or array-like): the input.
        min_value (float or array-like): the lower bound.
        max_value (float or array-like): the upper bound.

    Returns:
        Tensor: ``x``'s shape.

    Example:
        >>> ops.clip(np.array([-2.0, 0.5, 2.0]), 0.0, 1.0).numpy().tolist()
        [0.0, 0.5, 1.0]
    """
    x = as_tensor(x)
    lo, hi = _to_array(min_value), _to_array(max_value)
    if (lo > hi).any():
        raise ValueError(f"clip: min_value {min_value!r} is larger than max_value "
                         f"{max_value!r}.")
    xd = x.data
    out = np.clip(xd, lo, hi).astype(xd.dtype, copy=False)
    return record("clip", (x,), out,
                  gradient=lambda g, inputs, out: (g * ((xd >= lo) & (xd <= hi)),))


def where(condition, a, b):
    """Elementwise ``a if condition else b``; each branch gets the gradient where chosen
    (``where`` again: its gradient is made of itself).

    Args:
        condition (array-like of bool): where to take ``a``; a constant.
        a (Tensor or array-like): the values where ``condition`` holds.
        b (Tensor or array-like): the values elsewhere; all three broadcast together.

    Returns:
        Tensor: the broadcast shape.

    Example:
        >>> ops.where(np.array([True, False]), np.array([1.0, 2.0]), 0.0).numpy().tolist()
        [1.0, 0.0]
    """
    cond = _to_array(condition).astype(bool)
    return _binary("where", a, b, lambda a, b: np.where(cond, a, b),
                   lambda g, a, b, out: _where(cond, g, 0),
                   lambda g, a, b, out: _where(cond, 0, g))


def _where(cond, a, b):
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return where(cond, a, b)
    return np.where(cond, a, b)


_exp = dual(np.exp, exp)
_log = dual(np.log, log)


def stop_gradient(x):
    """The same values, cut off from the tape: no gradient flows back through it.

    Args:
        x (Tensor or array-like): the input.

    Returns:
        Tensor: ``x``'s shape, recorded on any active tape.
    """
    x = as_tensor(x)
    return Tensor(x.data)
