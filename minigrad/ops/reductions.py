"""Differentiable reductions: ``sum``, ``mean``, ``max``, ``min``, and ``broadcast_to``.

A reduction's gradient hands the incoming gradient back to every element it reduced:
``sum`` copies it (its gradient is :func:`broadcast_to`, whose own gradient sums again),
``mean`` divides it by the count, ``max`` / ``min`` give it to the extreme elements (split
on ties). ``axis`` is None (all axes), an int or a tuple of ints, negative counting from
the end. The pattern (forward and gradient side by side, gradients written with ops so they
can be differentiated again) is the one :mod:`minigrad.ops.math` describes.
"""
import builtins
import math
import numbers

import numpy as np

from ..tape import record
from .math import as_tensor, dual, unbroadcast


def _norm_axis(axis, ndim, op):
    """``axis`` (None, an int or a tuple of ints, negative counting from the end) as a
    sorted tuple of non-negative axes, or None for "all axes"."""
    if axis is None:
        return None
    if isinstance(axis, numbers.Integral):
        axes = (axis,)
    elif isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    else:
        raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}.")
    for ax in axes:
        if not isinstance(ax, numbers.Integral) or not -ndim <= ax < builtins.max(ndim, 1):
            raise ValueError(f"{op}: axis {axis!r} is out of range for a tensor with "
                             f"{ndim} dimensions.")
    if not ndim:
        return ()
    normalized = tuple(sorted(ax % ndim for ax in axes))
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{op}: axis {axis!r} names the same axis twice.")
    return normalized


def _expand(g, shape, axes, keepdims):
    """Give a reduced gradient back the reduced axes so it broadcasts against ``shape``."""
    if axes is None:
        g = g.reshape((1,) * len(shape))
    elif not keepdims:
        g = g.reshape(tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return _broadcast_to(g, shape)


def broadcast_to(x, shape):
    """``x`` repeated along new or length-1 axes to ``shape`` (NumPy's rules). Its
    gradient sums the copies back (:func:`unbroadcast`); sum's gradient is this op.

    Args:
        x (Tensor or array-like): the input.
        shape (tuple of int): the target shape.

    Returns:
        Tensor: of ``shape``.

    Example:
        >>> ops.broadcast_to(np.array([1.0, 2.0]), (2, 2)).numpy().tolist()
        [[1.0, 2.0], [1.0, 2.0]]
    """
    x = as_tensor(x)
    shape = tuple(shape)
    try:
        out = np.broadcast_to(x.data, shape)
    except ValueError:
        raise ValueError(f"broadcast_to: a tensor of shape {x.shape} cannot be broadcast "
                         f"to shape {shape}.") from None
    return record("broadcast_to", (x,), out,
                  gradient=lambda g, inputs, out: (unbroadcast(g, inputs[0].shape),))


_broadcast_to = dual(np.broadcast_to, broadcast_to)


def sum(x, axis=None, keepdims=False):  # noqa: A001  (mirrors numpy's name)
    """Sum over ``axis`` (all axes when None). Every input element gets the gradient 1.

    Args:
        x (Tensor or array-like): the input.
        axis (int, tuple or None, default None): the axes reduced; None for all.
        keepdims (bool, default False): keep the reduced axes with length 1.

    Returns:
        Tensor: ``x``'s shape without ``axis`` (or with length 1 there).

    Example:
        >>> ops.sum(np.ones((2, 3)), axis=0).numpy().tolist()
        [2.0, 2.0, 2.0]
    """
    x = as_tensor(x)
    axes = _norm_axis(axis, x.ndim, "sum")
    out = x.data.sum(axis=axes, keepdims=keepdims)     # the method: np.sum adds a layer
    shape = x.shape

    def gradient(g, inputs, out):
        return (_expand(g, shape, axes, keepdims),)
    return record("sum", (x,), np.asarray(out), gradient=gradient)


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis``. Every input element gets 1 / (number of elements averaged).

    Args:
        x (Tensor or array-like): the input.
        axis (int, tuple or None, default None): the axes reduced; None for all.
        keepdims (bool, default False): keep the reduced axes with length 1.

    Returns:
        Tensor: ``x``'s shape without ``axis`` (or with length 1 there).
    """
    x = as_tensor(x)
    axes = _norm_axis(axis, x.ndim, "mean")
    out = x.data.mean(axis=axes, keepdims=keepdims)
    shape = x.shape
    count = x.data.size if axes is None else math.prod([shape[a] for a in axes])

    def gradient(g, inputs, out):
        return (_expand(g / count, shape, axes, keepdims),)
    return record("mean", (x,), np.asarray(out), gradient=gradient)


def _extreme(x, axis, keepdims, reduce, name):
    x = as_tensor(x)
    if x.data.size == 0:
        raise ValueError(f"{name} of an empty tensor (shape {x.shape}) is undefined.")
    axes = _norm_axis(axis, x.ndim, name)
    out = reduce(x.data, axis=axes, keepdims=True)

    xd = x.data

    def gradient(g, inputs, result):
        # Ties share the gradient equally (as TensorFlow does); the share is a constant.
        mask = (xd == out).astype(g.dtype)
        share = mask / mask.sum(axis=axes, keepdims=True)
        return (_expand(g, xd.shape, axes, keepdims) * share,)
    result = out if keepdims else (np.squeeze(out, axis=axes) if axes is not None
                                   else out.reshape(()))
    return record(name, (x,), np.asarray(result), gradient=gradient)


def max(x, axis=None, keepdims=False):  # noqa: A001
    """Maximum over ``axis``; the gradient goes to the maximal elements (split on ties).

    Args:
        x (Tensor or array-like): the input.
        axis (int, tuple or None, default None): the axes reduced; None for all.
        keepdims (bool, default False): keep the reduced axes with length 1.

    Returns:
        Tensor: ``x``'s shape without ``axis`` (or with length 1 there).
    """
    return _extreme(x, axis, keepdims, np.max, "max")


def min(x, axis=None, keepdims=False):  # noqa: A001
    """Minimum over ``axis``; the gradient goes to the minimal elements (split on ties).

    Args:
        x (Tensor or array-like): the input.
        axis (int, tuple or None, default None): the axes reduced; None for all.
        keepdims (bool, default False): keep the reduced axes with length 1.

    Returns:
        Tensor: ``x``'s shape without ``axis`` (or with length 1 there).
    """
    return _extreme(x, axis, keepdims, np.min, "min")
