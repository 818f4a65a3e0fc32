"""The activation functions themselves, by family: rectifiers, sigmoids, the tanh family,
smooth relus, shrinkage, normalisers. ``minigrad.activations`` gives each its names and looks
them up (``activations.get("relu")``); every function here is a name of that module too.

Each entry is one small function on Tensors. Most call the dedicated op in
:mod:`minigrad.ops.nn` (forward and derivative side by side there); the rest are
composed from differentiable ops (``where``, ``clip``, arithmetic), so the tape
differentiates them without new code (``sparsemax`` lives in :mod:`minigrad.ops.nn`).
"""
import math
import numbers

import numpy as np

from . import ops
from .ops.nn import capped_relu
from .tensor import as_tensor


def _const(value, x):
    """A constant in ``x``'s dtype (keeps float32 maths float32)."""
    return np.asarray(value, dtype=x.dtype if x.dtype.kind == "f" else None)


def _check_non_negative(value, argument, function):
    if type(value) in (float, int) and 0 <= value < math.inf:     # the usual case, at once
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"{function}: `{argument}` must be a non-negative number. "
                         f"Received: {argument}={value!r}")
    return value


# ------------------------------------------------------------------------ rectifiers
def linear(x):
    """The identity: f(x) = x (what ``activation=None`` means).

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    return as_tensor(x)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(x, 0), generalised as in Keras:

        f(x) = max_value                          if x >= max_value
             = x                                  if threshold < x < max_value
             = negative_slope * (x - threshold)   otherwise

    Args:
        x (Tensor or array-like): the input, any shape.
        negative_slope (float, default 0.0): the slope below the threshold, >= 0.
        max_value (float or None, default None): the ceiling, >= 0; None for none.
        threshold (float, default 0.0): inputs at or below it are damped, >= 0.

    Returns:
        Tensor: ``x``'s shape, differentiable.

    Raises:
        ValueError: for a negative ``negative_slope``, ``max_value`` or ``threshold``.

    Example:
        >>> activations.relu(np.array([-2.0, 1.0, 8.0]), max_value=6.0).numpy().tolist()
        [0.0, 1.0, 6.0]
    """
    _check_non_negative(negative_slope, "negative_slope", "relu")
    _check_non_negative(threshold, "threshold", "relu")
    if max_value is not None:
        _check_non_negative(max_value, "max_value", "relu")
    x = as_tensor(x)
    if negative_slope == 0 and max_value is None and threshold == 0:
        return ops.relu(x)
    if negative_slope != 0 and max_value is None and threshold == 0:
        return ops.leaky_relu(x, negative_slope)
    if negative_slope == 0 and max_value is not None and threshold == 0:
        return capped_relu(x, max_value)        # relu then clip, fused (same gradient)
    if threshold != 0:
        y = x * _const(x.data > threshold, x)          # x above the threshold, else 0
    else:
        y = ops.relu(x)
    if max_value is not None:
        y = ops.clip(y, _const(0, x), _const(max_value, x))
    if negative_slope != 0:
        y = y - _const(negative_slope, x) * ops.relu(_const(threshold, x) - x)
    return y


def relu6(x):
    """min(max(x, 0), 6).

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    return ops.relu6(x)


def leaky_relu(x, negative_slope=0.2):
    """x if x > 0 else negative_slope * x.

    Args:
        x (Tensor or array-like): the input, any shape.
        negative_slope (float, default 0.2): the slope for x <= 0.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    return ops.leaky_relu(x, negative_slope)


def elu(x, alpha=1.0):
    """x if x > 0 else alpha * (e^x - 1).

    Args:
        x (Tensor or array-like): the input, any shape.
        alpha (float, default 1.0): the scale of the negative part.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    return ops.elu(x, alpha)


def selu(x):
    """scale * elu(x, alpha), scale ~ 1.0507, alpha ~ 1.6733 (self-normalising).

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    return ops.selu(x)


def celu(x, alpha=1.0):
    """x if x > 0 else alpha * (e^(x / alpha) - 1) (continuously differentiable elu).

    Args:
        x (Tensor or array-like): the input, any shape.
        alpha (float, default 1.0): the scale of the negative part, > 0.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or alpha == 0:
        raise ValueError(f"celu: `alpha` must be a non-zero number. Received: alpha={alpha!r}")
    x = as_tensor(x)
    a = _const(alpha, x)
    negative_part = a * (ops.exp(ops.minimum(x, _const(0, x)) / a) - _const(1, x))
    return ops.where(x.data > 0, x, negative_part)


def gelu(x, approximate=False):
    """x * Phi(x), Phi the standard normal CDF (tanh approximation if ``approximate``).

    Args:
        x (Tensor or array-like): the input, any shape.
        approximate (bool, default False): use the tanh approximation.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    return ops.gelu(x, approximate=approximate)


# ------------------------------------------------------------------------ sigmoids
def sigmoid(x):
    """Sigmoid, 1 / (1 + e^-x), elementwise: values in (0, 1).

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    return ops.sigmoid(x)


def hard_sigmoid(x):
    """clip(x / 6 + 1/2, 0, 1) = relu6(x + 3) / 6.

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    return ops.hard_sigmoid(x)


def sparse_sigmoid(x):
    """0 if x <= -1, 1 if x >= 1, (x + 1) / 2 in between.

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    x = as_tensor(x)
    return ops.clip((x + _const(1, x)) * _const(0.5, x), _const(0, x), _const(1, x))


def silu(x):
    """x * sigmoid(x) (also called swish).

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    return ops.silu(x)


def hard_silu(x):
    """x * hard_sigmoid(x).

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    x = as_tensor(x)
    return x * ops.hard_sigmoid(x)


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x).

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    return ops.log_sigmoid(x)


# ------------------------------------------------------------------------ tanh family
def tanh(x):
    """Hyperbolic tangent.

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    return ops.tanh(x)


def hard_tanh(x):
    """clip(x, -1, 1).

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    x = as_tensor(x)
    return ops.clip(x, _const(-1, x), _const(1, x))


def tanh_shrink(x):
    """x - tanh(x).

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    x = as_tensor(x)
    return x - ops.tanh(x)


# ------------------------------------------------------------------------ smooth relus
def softplus(x):
    """log(1 + e^x).

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    return ops.softplus(x)


def softsign(x):
    """Softsign, x / (1 + |x|), elementwise: values in (-1, 1).

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    return ops.softsign(x)


def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2, a smooth relu (b >= 0 sets the curvature at 0).

    Args:
        x (Tensor or array-like): the input, any shape.
        b (float, default 4): the curvature at 0, >= 0.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    _check_non_negative(b, "b", "squareplus")
    x = as_tensor(x)
    return (x + ops.sqrt(ops.square(x) + _const(b, x))) * _const(0.5, x)


def sparse_plus(x):
    """0 if x <= -1, x if x >= 1, (x + 1)^2 / 4 in between.

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    x = as_tensor(x)
    middle = ops.square(x + _const(1, x)) * _const(0.25, x)
    upper = ops.where(x.data >= 1, x, middle)
    return ops.where(x.data <= -1, _const(0, x), upper)


def mish(x):
    """x * tanh(softplus(x)).

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    return ops.mish(x)


def exponential(x):
    """Exponential, e^x, elementwise.

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    return ops.exponential(x)


# ------------------------------------------------------------------------ shrinkage
def hard_shrink(x, threshold=0.5):
    """x if |x| > threshold else 0.

    Args:
        x (Tensor or array-like): the input, any shape.
        threshold (float, default 0.5): values with |x| <= threshold become 0.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    x = as_tensor(x)
    return ops.where(np.abs(x.data) > threshold, x, _const(0, x))


def soft_shrink(x, threshold=0.5):
    """x - threshold if x > threshold, x + threshold if x < -threshold, else 0.

    Args:
        x (Tensor or array-like): the input, any shape.
        threshold (float, default 0.5): how far values move towards 0.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    x = as_tensor(x)
    t = _const(threshold, x)
    below = ops.where(x.data < -threshold, x + t, _const(0, x))
    return ops.where(x.data > threshold, x - t, below)


def threshold(x, threshold, default_value):
    """x if x > threshold else default_value (both arguments required, as in Keras).

    Args:
        x (Tensor or array-like): the input, any shape.
        threshold (float): values at or below it are replaced.
        default_value (float): what they are replaced by.

    Returns:
        Tensor: ``x``'s shape, differentiable.

    Example:
        >>> activations.threshold(np.array([0.5, 2.0]), 1.0, -1.0).numpy().tolist()
        [-1.0, 2.0]
    """
    x = as_tensor(x)
    return ops.where(x.data > threshold, x, _const(default_value, x))


# ------------------------------------------------------------------------ normalisers
def softmax(x, axis=-1):
    """e^x / sum(e^x) along ``axis``.

    Args:
        x (Tensor or array-like): the input, any shape.
        axis (int, default -1): the axis the outputs sum to 1 over.

    Returns:
        Tensor: ``x``'s shape, differentiable.

    Example:
        >>> activations.get("softmax")(np.array([[0.0, 0.0]])).numpy().tolist()
        [[0.5, 0.5]]
    """
    return ops.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    """x - log(sum(e^x)) along ``axis``.

    Args:
        x (Tensor or array-like): the input, any shape.
        axis (int, default -1): the axis normalised over.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    return ops.log_softmax(x, axis=axis)


def glu(x, axis=-1):
    """Gated linear unit: split ``x`` in halves a, b along ``axis``; a * sigmoid(b).

    Args:
        x (Tensor or array-like): the input, any shape.
        axis (int, default -1): the axis split in two halves (its size must be even).

    Returns:
        Tensor: ``x``'s shape with ``axis`` halved.
    """
    x = as_tensor(x)
    size = x.shape[axis]
    if size % 2:
        raise ValueError(f"glu: the size of axis {axis} must be even to split it in two "
                         f"halves. Received: x.shape={x.shape}")
    ax = axis % x.ndim
    first = tuple(slice(None) for _ in range(ax)) + (slice(0, size // 2),)
    second = tuple(slice(None) for _ in range(ax)) + (slice(size // 2, size),)
    return x[first] * ops.sigmoid(x[second])


def sparsemax(x, axis=-1):
    """The Euclidean projection of ``x`` onto the probability simplex along ``axis``.

    Like softmax, but exact zeros for small inputs: ``max(x - tau, 0)`` with ``tau``
    chosen so that the outputs sum to 1 (Martins & Astudillo, 2016).
    Backward: on the support S (outputs > 0), dx = g - mean_S(g); 0 elsewhere.

    Args:
        x (Tensor or array-like): the input, any shape.
        axis (int, default -1): the axis the outputs sum to 1 over.

    Returns:
        Tensor: ``x``'s shape, differentiable.
    """
    return ops.sparsemax(x, axis=axis)
