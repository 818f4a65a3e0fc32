"""Differentiable arithmetic (add, subtract, multiply, divide, power, maximum, minimum,
negative, matmul), and the helpers every op module builds on.

Elementwise maths (exp, log, sqrt, ..., where) is in :mod:`minigrad.ops.elementwise`,
reductions (sum, mean, max, min and broadcast_to, their gradient) in
:mod:`minigrad.ops.reductions`, shape operations (reshape, transpose, indexing, pad,
concatenate, stack, cast) in :mod:`minigrad.ops.shapes`. All follow the pattern below.

Every op follows one pattern, forward and gradient side by side::

    def exp(x):
        x = as_tensor(x)
        out = np.exp(x.data)                 # forward: computed on plain arrays
        def gradient(g, inputs, out):        # g = dLoss/dout, same shape as out
            return (g * out,)                # one gradient per input: dLoss/dx
        return record("exp", (x,), out, gradient=gradient)

``record`` wraps the result in a Tensor and, if a tape is recording, stores the entry.
The gradient is written with operators and ops only (the "compute vs gradient" split):
when nothing records the backward pass the tape calls it with ndarrays (``g``, the
inputs' arrays, the output's array) and it is plain NumPy; when an enclosing tape is
recording, the tape calls it with the Tensors themselves, so the enclosing tape records
the gradient computation and can differentiate it again (second derivatives). Masks and
other constants may come from the forward pass's arrays; anything that depends on an
input must come from ``inputs``/``out``. :func:`dual` makes a function that does the
right thing for both (NumPy on arrays, the op on Tensors).

Binary ops broadcast like NumPy; they all go through :func:`_binary`, which takes the
NumPy forward and the two derivatives (dLoss/da, dLoss/db as functions of the incoming
gradient, both operands and the output) and sums each gradient back down to its input's
shape (:func:`unbroadcast`).
"""
from functools import partial

import numpy as np

from ..tensor import Tensor, _to_array
from ..tape import record


def as_tensor(x):
    """``x`` as a Tensor (a Tensor passes through): how every op takes its inputs.

    Args:
        x (Tensor or array-like): the value.

    Returns:
        Tensor
    """
    return x if isinstance(x, Tensor) else Tensor(x)


def dual(array_fn, op):
    """``f(x, ...)`` that runs ``array_fn`` (NumPy) on an ndarray and the differentiable
    ``op`` on a Tensor: what gradient functions call, so one formula serves both walks.

    Args:
        array_fn (callable): the NumPy function.
        op (callable): the differentiable op.

    Returns:
        callable
    """
    def fn(x, *args, **kwargs):
        if isinstance(x, Tensor):
            return op(x, *args, **kwargs)
        return array_fn(x, *args, **kwargs)
    fn.__name__ = fn.__qualname__ = f"dual_{op.__name__}"
    return fn


def value(x):
    """The array behind ``x`` (a Tensor or already an array): for masks and other
    constants inside gradient functions.

    Args:
        x (Tensor or ndarray): the value.

    Returns:
        ndarray
    """
    return x.data if isinstance(x, Tensor) else x


def unbroadcast(g, shape):
    """Sum ``g`` over the axes NumPy broadcasting added or stretched, giving ``shape``.
    Works on ndarrays and on Tensors (then it is recorded like any sum).

    Args:
        g (Tensor or ndarray): a gradient of the broadcast shape.
        shape (tuple of int): the shape of the input that was broadcast.

    Returns:
        Tensor or ndarray: of ``shape``.
    """
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    return g


def _constant(x, other):
    """The array (or number) behind a non-Tensor operand ``x``; ``other`` is the array on
    the other side of the op, or None.

    NumPy casts a Python number to the dtype of the array it meets (float32 * 2.0 is
    float32). Doing that cast here, once, to a 0-d array gives the same result, and on
    small arrays NumPy runs an op on two arrays much faster than on an array and a
    Python number; the backward pass reuses the 0-d array too.
    """
    if type(x) is float or type(x) is int:
        if other is not None and other.dtype.kind == "f":
            return np.asarray(x, other.dtype)
        return x                           # next to integers: NumPy's own rules
    return _to_array(x)


def _binary(op, a, b, forward, grad_a, grad_b):
    """Record ``out = forward(a, b)`` for a broadcasting binary op.

    Only Tensor operands are tape inputs; numbers and arrays are constants.
    ``grad_a(g, a, b, out)`` is dLoss/da on plain arrays, before broadcasting is undone
    (likewise ``grad_b``); each is called only when that operand is a Tensor.
    """
    a_is, b_is = isinstance(a, Tensor), isinstance(b, Tensor)
    if a_is and b_is:
        ad, bd = a.data, b.data
        inputs = (a, b)
    elif a_is:
        ad = a.data
        bd = _constant(b, ad)
        inputs = (a,)
    elif b_is:
        bd = b.data
        ad = _constant(a, bd)
        inputs = (b,)
    else:
        ad, bd = _constant(a, None), _constant(b, None)
        inputs = ()
    try:
        out = forward(ad, bd)
    except ValueError as e:
        try:
            np.broadcast_shapes(np.shape(ad), np.shape(bd))
        except ValueError:
            raise ValueError(f"{op}: shapes {np.shape(ad)} and {np.shape(bd)} cannot be "
                             "broadcast together (trailing dimensions must be equal or 1).") \
                from None
        raise ValueError(f"{op}: {e}") from None     # e.g. integers to negative powers

    # A partial, not a closure: one small object per recorded op instead of a function
    # and a cell per captured variable (it shows when a tape holds thousands of ops).
    gradient = partial(_binary_gradient, grad_a if a_is else None, grad_b if b_is else None,
                       None if a_is else ad, None if b_is else bd)
    # NumPy returns scalars, not 0-d arrays, for 0-d operands; a Tensor always holds an array.
    return record(op, inputs, out if type(out) is np.ndarray else np.asarray(out),
                  gradient=gradient)


def _binary_gradient(grad_a, grad_b, a_const, b_const, g, inputs, out):
    """Gradient of a binary op: one per Tensor operand (``grad_a`` is None when ``a`` was
    a constant, which is then ``a_const``; likewise ``b``), each fitted to its operand."""
    if grad_a is None:
        b = inputs[0]
        return (_fit(grad_b(g, a_const, b, out), b),)
    a = inputs[0]
    if grad_b is None:
        return (_fit(grad_a(g, a, b_const, out), a),)
    b = inputs[1]
    return (_fit(grad_a(g, a, b, out), a), _fit(grad_b(g, a, b, out), b))


def _fit(grad, x):
    """``grad`` (shaped like the op's output) as a gradient for the input ``x``:
    summed over the axes broadcasting added, and in ``x``'s dtype (a float32 input
    mixed with a float64 one still gets a float32 gradient)."""
    if grad.shape != x.shape:
        grad = unbroadcast(grad, x.shape)
    if grad.dtype != x.dtype:
        grad = grad.astype(x.dtype)
    return grad


# ---------------------------------------------------------------------------- arithmetic
# Each binary op names its two derivatives, dLoss/da and dLoss/db as functions of
# (g, a, b, out), right below it. They are module-level functions rather than lambdas
# inside the op so that recording an op does not build two new function objects.
def add(a, b):
    """a + b (broadcasting). d/da = 1, d/db = 1.

    Args:
        a (Tensor or array-like): the first operand.
        b (Tensor or array-like): the second operand; ``a`` and ``b`` broadcast together.

    Returns:
        Tensor: the broadcast shape, recorded on any active tape.

    Example:
        >>> x = mg.Variable([1.0, 2.0])
        >>> with mg.GradientTape() as tape:
        ...     y = ops.sum(ops.add(x, 3.0))
        >>> tape.gradient(y, x).numpy().tolist()
        [1.0, 1.0]
    """
    return _binary("add", a, b, np.add, _identity, _identity)


def _identity(g, a, b, out):
    return g


def subtract(a, b):
    """a - b. d/da = 1, d/db = -1.

    Args:
        a (Tensor or array-like): the first operand.
        b (Tensor or array-like): the second operand; ``a`` and ``b`` broadcast together.

    Returns:
        Tensor: the broadcast shape, recorded on any active tape.
    """
    return _binary("subtract", a, b, np.subtract, _identity, _subtract_db)


def _subtract_db(g, a, b, out):
    return -g


def multiply(a, b):
    """a * b. d/da = b, d/db = a.

    Args:
        a (Tensor or array-like): the first operand.
        b (Tensor or array-like): the second operand; ``a`` and ``b`` broadcast together.

    Returns:
        Tensor: the broadcast shape, recorded on any active tape.

    Example:
        >>> ops.multiply(np.array([1.0, 2.0]), 3.0).numpy().tolist()
        [3.0, 6.0]
    """
    return _binary("multiply", a, b, np.multiply, _multiply_da, _multiply_db)


def _multiply_da(g, a, b, out):
    return g * b


def _multiply_db(g, a, b, out):
    return g * a


def divide(a, b):
    """a / b. d/da = 1/b, d/db = -a/b^2 = -out/b.

    Args:
        a (Tensor or array-like): the first operand.
        b (Tensor or array-like): the second operand; ``a`` and ``b`` broadcast together.

    Returns:
        Tensor: the broadcast shape, recorded on any active tape.
    """
    return _binary("divide", a, b, np.true_divide, _divide_da, _divide_db)


def _divide_da(g, a, b, out):
    return g / b


def _divide_db(g, a, b, out):
    return -g * out / b


def power(a, b):
    """a ** b. d/da = b a^(b-1); d/db = a^b log a (taken as 0 where a <= 0).

    Args:
        a (Tensor or array-like): the first operand.
        b (Tensor or array-like): the second operand; ``a`` and ``b`` broadcast together.

    Returns:
        Tensor: the broadcast shape, recorded on any active tape.
    """
    return _binary("power", a, b, np.power, _power_da, _power_db)


def _power_da(g, a, b, out):
    return g * b * a ** (b - 1)


def _power_db(g, a, b, out):
    return g * out * _log(_where(value(a) > 0, a, 1))


def maximum(a, b):
    """Elementwise max; the gradient goes to the larger input (to ``a`` on ties).

    Args:
        a (Tensor or array-like): the first operand.
        b (Tensor or array-like): the second operand; ``a`` and ``b`` broadcast together.

    Returns:
        Tensor: the broadcast shape, recorded on any active tape.
    """
    return _binary("maximum", a, b, np.maximum, _maximum_da, _maximum_db)


def _maximum_da(g, a, b, out):
    return g * (value(a) >= value(b))


def _maximum_db(g, a, b, out):
    return g * (value(a) < value(b))


def minimum(a, b):
    """Elementwise min; the gradient goes to the smaller input (to ``a`` on ties).

    Args:
        a (Tensor or array-like): the first operand.
        b (Tensor or array-like): the second operand; ``a`` and ``b`` broadcast together.

    Returns:
        Tensor: the broadcast shape, recorded on any active tape.
    """
    return _binary("minimum", a, b, np.minimum, _minimum_da, _minimum_db)


def _minimum_da(g, a, b, out):
    return g * (value(a) <= value(b))


def _minimum_db(g, a, b, out):
    return g * (value(a) > value(b))


def negative(x):
    """-x, elementwise. d/dx = -1.

    Args:
        x (Tensor or array-like): the input.

    Returns:
        Tensor: ``x``'s shape, recorded on any active tape.
    """
    x = as_tensor(x)
    return record("negative", (x,), -x.data, gradient=lambda g, inputs, out: (-g,))


def matmul(a, b):
    """Matrix product a @ b with NumPy's rules (1-D operands, batched leading axes).

    a: (..., n, k) or (k,); b: (..., k, m) or (k,); out: (..., n, m) minus the axes of
    1-D operands. For 2-D: d/da = g @ b.T, d/db = a.T @ g; batch axes that were
    broadcast are summed back.

    Args:
        a (Tensor or array-like): (..., n, k) or (k,).
        b (Tensor or array-like): (..., k, m) or (k,).

    Returns:
        Tensor: (..., n, m), without the axes of 1-D operands.

    Raises:
        ValueError: if the inner sizes differ.

    Example:
        >>> ops.matmul(np.ones((2, 3)), np.ones((3, 4))).shape
        (2, 4)
    """
    ad = a.data if isinstance(a, Tensor) else _to_array(a)
    bd = b.data if isinstance(b, Tensor) else _to_array(b)
    if ad.ndim == 0 or bd.ndim == 0:
        raise ValueError(f"matmul: operands must have at least 1 dimension, got shapes "
                         f"{ad.shape} and {bd.shape}; use * for scalars.")
    if ad.shape[-1] != bd.shape[-2 if bd.ndim > 1 else 0]:
        raise ValueError(f"matmul: inner dimensions differ: a has shape {ad.shape} and b has "
                         f"shape {bd.shape} (a.shape[-1] must equal b.shape[-2]).")

    def as_matrices(g, a, b):
        """Treat a 1-D ``a`` as one row and a 1-D ``b`` as one column, and give ``g``
        back the axes that dropped out, so that one formula fits every case."""
        if bd.ndim == 1:
            g = g.reshape(g.shape + (1,))
        if ad.ndim == 1:
            g = g.reshape(g.shape[:-1] + (1, g.shape[-1]))
        return (a.reshape(1, -1) if ad.ndim == 1 else a), (b.reshape(-1, 1) if bd.ndim == 1
                                                            else b), g

    def grad_a(g, a, b, out):
        a2, b2, g2 = as_matrices(g, a, b)
        return unbroadcast(g2 @ _swap_last(b2), a2.shape).reshape(ad.shape)

    def grad_b(g, a, b, out):
        a2, b2, g2 = as_matrices(g, a, b)
        return unbroadcast(_swap_last(a2) @ g2, b2.shape).reshape(bd.shape)
    return _binary("matmul", a if isinstance(a, Tensor) else ad,
                   b if isinstance(b, Tensor) else bd, np.matmul, grad_a, grad_b)


def _swap_last(x):
    """``x`` with its last two axes swapped (an ndarray or a Tensor)."""
    perm = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return x.transpose(perm)


# power's gradient takes logarithms: ops/elementwise.py builds on the helpers above, so it is
# imported last
from .elementwise import _log, _where  # noqa: E402
