"""Differentiable shape operations: reshape, transpose, indexing, padding, joining, casting.

They move, copy or convert elements without computing new values, so each backward pass
puts the gradient back where its elements came from: reshape and transpose undo
themselves, indexing scatters (:func:`scatter`), padding crops, concatenate and stack cut
the gradient into pieces, cast converts it back. The pattern (forward and gradient side by
side, gradients written with ops so they can be differentiated again) is the one
:mod:`minigrad.ops.math` describes.
"""
import math
import numbers

import numpy as np

from ..tape import record
from ..tensor import Tensor
from .math import as_tensor, dual


def reshape(x, shape):
    """Same elements, new shape (one entry may be -1). Backward reshapes back.

    Args:
        x (Tensor or array-like): the input.
        shape (tuple of int): the new shape (as many elements).

    Returns:
        Tensor: of ``shape``.
    """
    x = as_tensor(x)
    shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
    try:
        out = x.data.reshape(shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                         f"({x.size} elements) into shape {shape}.") from None
    old = x.shape
    return record("reshape", (x,), out, gradient=lambda g, inputs, out: (g.reshape(old),))


def transpose(x, axes=None):
    """Permute axes (reverse them when ``axes`` is None). Backward applies the inverse.

    Args:
        x (Tensor or array-like): the input.
        axes (tuple of int or None, default None): the new order of the axes.

    Returns:
        Tensor
    """
    x = as_tensor(x)
    if axes is not None:
        axes = tuple(axes)
        if not all(isinstance(a, numbers.Integral) and -x.ndim <= a < x.ndim for a in axes) \
                or sorted(a % x.ndim for a in axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the "
                             f"{x.ndim} axes of a tensor of shape {x.shape}.")
    out = np.transpose(x.data, axes)
    inverse = None if axes is None else tuple(np.argsort([a % x.ndim for a in axes]))
    return record("transpose", (x,), out,
                  gradient=lambda g, inputs, out: (_transpose(g, inverse),))


_transpose = dual(np.transpose, transpose)


def _plain_index(index):
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def _is_basic(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (slice, numbers.Integral))
               for p in parts)


def getitem(x, index):
    """x[index] with NumPy indexing. Backward scatters the gradient back (adding repeats).

    Args:
        x (Tensor or array-like): the input.
        index (int, slice, tuple or array): any NumPy index.

    Returns:
        Tensor: ``x[index]``.

    Example:
        >>> x = mg.Variable([1.0, 2.0, 3.0])
        >>> with mg.GradientTape() as tape:
        ...     y = ops.sum(ops.getitem(x, [0, 0, 2]))
        >>> tape.gradient(y, x).numpy().tolist()
        [2.0, 0.0, 1.0]
    """
    x = as_tensor(x)
    index = _plain_index(index)
    try:
        out = x.data[index]
    except IndexError as e:
        raise IndexError(f"index {index!r} is invalid for a tensor of shape {x.shape}: {e}") \
            from None
    shape = x.shape
    return record("getitem", (x,), np.asarray(out),
                  gradient=lambda g, inputs, out: (_scatter(g, index, shape),))


def _scatter_array(g, index, shape):
    grad = np.zeros(shape, dtype=g.dtype)
    if _is_basic(index):
        grad[index] = g
    else:
        np.add.at(grad, index, g)            # repeated indices add up
    return grad


def scatter(g, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index``: the gradient of ``x[index]``.
    Its own gradient gathers ``g[index]`` again, so indexing differentiates any number
    of times.

    Args:
        g (Tensor or array-like): the values added.
        index (int, slice, tuple or array): a NumPy index into an array of ``shape``.
        shape (tuple of int): the result's shape.

    Returns:
        Tensor: of ``shape``.
    """
    g = as_tensor(g)
    index = _plain_index(index)
    return record("scatter", (g,), _scatter_array(g.data, index, tuple(shape)),
                  gradient=lambda g, inputs, out: (g[index],))


_scatter = dual(_scatter_array, scatter)


def pad(x, pad_width, constant_values=0):
    """Constant padding (``np.pad`` with mode "constant"). Backward crops the padding off.

    Args:
        x (Tensor or array-like): the input.
        pad_width (sequence of pairs): ``(before, after)`` per axis, as for ``np.pad``.
        constant_values (float, default 0): the value padded in.

    Returns:
        Tensor: ``x`` with the padding around it.
    """
    x = as_tensor(x)
    if x.ndim == 0:
        raise ValueError("pad: a 0-d tensor has no axis to pad; reshape it first.")
    widths = _plain_pad_width(pad_width, x.ndim)
    if widths is None:                     # anything else: NumPy's rules, then the checks
        try:
            widths = np.asarray(pad_width)
            if widths.dtype.kind not in "iu":
                raise TypeError("pad_width holds non-integers")
            widths = np.broadcast_to(widths.astype(np.int64), (x.ndim, 2))
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"pad: pad_width must be an int, a (before, after) pair or one "
                             f"pair per axis ({x.ndim} for shape {x.shape}), got "
                             f"{pad_width!r}.") from None
        if (widths < 0).any():
            raise ValueError(f"pad: pad_width must be non-negative, got {pad_width!r}.")
        widths = tuple((int(lo), int(hi)) for lo, hi in widths)
    crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
    try:
        if type(constant_values) in (int, float) and constant_values == 0 \
                and math.copysign(1, constant_values) > 0:      # not -0.0
            out = zero_padded(x.data, widths)
        else:
            out = np.pad(x.data, widths, mode="constant", constant_values=constant_values)
    except (MemoryError, ValueError) as e:
        shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, widths))
        raise ValueError(f"pad: pad_width={pad_width!r} makes an array of shape {shape} "
                         f"({x.dtype.itemsize * math.prod(shape)} bytes), too "
                         f"large to allocate ({type(e).__name__}: {e}).") from None
    return record("pad", (x,), out, gradient=lambda g, inputs, out: (g[crop],))


def zero_padded(a, widths):
    """The array ``a`` with ``widths[i] = (before, after)`` zeros around axis i: what
    ``np.pad(a, widths)`` gives, made as ``a`` copied inside and zeros written around it
    (each number written once: a fraction of np.pad's argument handling on small arrays,
    and no pass of zeros under the copy on large ones). Widths are checked already.

    Args:
        a (ndarray): the array.
        widths (sequence of pairs of int): one ``(before, after)`` pair per axis.

    Returns:
        ndarray: a new array.
    """
    out = np.empty(tuple(n + lo + hi for n, (lo, hi) in zip(a.shape, widths)), a.dtype)
    out[tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, a.shape))] = a
    for axis, (lo, hi) in enumerate(widths):         # the borders, axis by axis
        before = (slice(None),) * axis
        if lo:
            out[before + (slice(0, lo),)] = 0
        if hi:
            out[before + (slice(out.shape[axis] - hi, None),)] = 0
    return out


def _plain_pad_width(pad_width, ndim):
    """``pad_width`` as a tuple of pairs when it is already ``ndim`` pairs (tuples or lists)
    of non-negative Python ints (what layers pass), else None."""
    if type(pad_width) not in (tuple, list) or len(pad_width) != ndim:
        return None
    for pair in pad_width:
        if (type(pair) not in (tuple, list) or len(pair) != 2 or type(pair[0]) is not int
                or type(pair[1]) is not int or pair[0] < 0 or pair[1] < 0):
            return None
    return tuple(tuple(pair) for pair in pad_width)


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis. Backward splits the gradient into the pieces.

    Args:
        tensors (list of Tensor or array-like): equal shapes except on ``axis``.
        axis (int, default 0): the axis joined along.

    Returns:
        Tensor
    """
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate needs at least one tensor.")
    try:
        out = np.concatenate([t.data for t in tensors], axis=axis)
    except (ValueError, np.exceptions.AxisError) as e:
        raise ValueError(f"concatenate along axis {axis}: shapes "
                         f"{[t.shape for t in tensors]} do not fit together ({e}).") from None
    ends = np.cumsum([t.shape[axis] for t in tensors])
    before = (slice(None),) * (axis % out.ndim)
    pieces = [before + (slice(int(e - t.shape[axis]), int(e)),) for t, e in zip(tensors, ends)]
    return record("concatenate", tuple(tensors), out,
                  gradient=lambda g, inputs, out: tuple(g[p] for p in pieces))


def stack(tensors, axis=0):
    """Join same-shaped tensors along a new axis. Backward takes each slice back out.

    Args:
        tensors (list of Tensor or array-like): of the same shape.
        axis (int, default 0): where the new axis goes.

    Returns:
        Tensor: with one more axis, of length ``len(tensors)``.
    """
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack needs at least one tensor.")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have the same shape, got "
                         f"{[t.shape for t in tensors]}.")
    out = np.stack([t.data for t in tensors], axis=axis)
    before = (slice(None),) * (axis % out.ndim)
    return record("stack", tuple(tensors), out, gradient=lambda g, inputs, out: tuple(
        g[before + (i,)] for i in range(len(inputs))))


def cast(x, dtype):
    """Convert to ``dtype`` (bool, integer or real floating, as Tensors hold); the gradient
    is converted back.

    Args:
        x (Tensor or array-like): the input.
        dtype (str or numpy dtype): the new dtype.

    Returns:
        Tensor: ``x``'s shape, in ``dtype``.
    """
    x = as_tensor(x)
    try:
        target = np.dtype(dtype)
    except TypeError:
        target = None
    if target is None or target.kind not in "biuf":
        raise TypeError(f"cast: `dtype` must be a bool, integer or real floating dtype (e.g. "
                        f"'float32'). Received: dtype={dtype!r}")
    dtype = target
    if x.dtype == dtype:
        return x
    src = x.dtype
    return record("cast", (x,), x.data.astype(dtype),
                  gradient=lambda g, inputs, out: (g.astype(src),))
