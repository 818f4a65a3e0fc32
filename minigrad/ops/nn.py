"""Differentiable activation functions (the elementwise non-linearities layers use).

Each one computes its output with NumPy and keeps, right below, the derivative that the
backward pass multiplies the incoming gradient by, written with operators and ops so that
it can be differentiated again (see :mod:`minigrad.ops.math`: on ndarrays when nothing
records the backward pass, on Tensors when an enclosing tape does). Masks come from the
forward pass's arrays; everything that depends on ``x`` is computed from ``inputs`` or
``out``. Formulas follow Keras 3.

Constants are Python floats, not NumPy scalars: NumPy lets a Python float take the
array's dtype, while ``np.float64`` values would turn float32 results into float64.
"""
import math

import numpy as np
from scipy import special

from .. import _kernels
from ..tape import record
from .elementwise import _exp, _where, erf
from .math import as_tensor, dual

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def relu(x):
    """max(x, 0). d/dx = 1 where x > 0, else 0.

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape and dtype, recorded on any active tape.

    Example:
        >>> ops.relu(np.array([-1.0, 2.0])).numpy().tolist()
        [0.0, 2.0]
    """
    x = as_tensor(x)
    xd = x.data
    return record("relu", (x,), np.maximum(xd, 0),
                  gradient=lambda g, inputs, out: (g * (xd > 0),))


def relu6(x):
    """min(max(x, 0), 6). d/dx = 1 on (0, 6), else 0.

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape and dtype, recorded on any active tape.
    """
    x = as_tensor(x)
    xd = x.data
    out = np.clip(xd, 0, 6).astype(xd.dtype, copy=False)
    return record("relu6", (x,), out,
                  gradient=lambda g, inputs, out: (g * ((xd > 0) & (xd < 6)),))


def capped_relu(x, max_value):
    """min(max(x, 0), max_value) as one op: what ``activations.relu(x, max_value=m)``
    computes as a relu followed by a clip, with one pass for the output and one mask for
    the gradient instead of two of each (MobileNets put one after every convolution).

    Args:
        x: Tensor or array.
        max_value: the cap, a non-negative number (6 for ReLU6).

    d/dx = 1 on 0 < x <= max_value, else 0: the convention of relu then clip, whose
    gradient passes at ``x == max_value`` (``relu6`` gives 0 there, as PyTorch does).
    """
    x = as_tensor(x)
    xd = x.data
    cap = float(max_value)
    kernels = _kernels.active_for(xd.dtype)    # one pass each way (_kernels/activation_twin.py)
    out = kernels.capped_relu_forward(xd, cap)

    def gradient(g, inputs, out):
        if type(g) is not np.ndarray or g.dtype != xd.dtype:   # Tensors (a tape records),
            return (g * ((xd > 0) & (xd <= cap)),)                # NumPy scalars: the mask
        return (kernels.capped_relu_backward(xd, g, cap),)
    return record("capped_relu", (x,), out, gradient=gradient)


def leaky_relu(x, negative_slope=0.2):
    """x if x > 0 else negative_slope * x (Keras 3 default slope 0.2).

    Args:
        x (Tensor or array-like): the input, any shape.
        negative_slope (float, default 0.2): the slope for x <= 0.

    Returns:
        Tensor: ``x``'s shape and dtype, recorded on any active tape.
    """
    x = as_tensor(x)
    xd = x.data
    slope = np.asarray(negative_slope, dtype=xd.dtype)
    positive = xd > 0
    out = np.where(positive, xd, slope * xd)
    return record("leaky_relu", (x,), out,
                  gradient=lambda g, inputs, out: (_where(positive, g, slope * g),))


def sigmoid(x):
    """1 / (1 + e^-x), computed without overflow. d/dx = s (1 - s).

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape and dtype, recorded on any active tape.

    Example:
        >>> ops.sigmoid(np.array([0.0])).numpy().tolist()
        [0.5]
    """
    x = as_tensor(x)
    out = special.expit(x.data)
    return record("sigmoid", (x,), out,
                  gradient=lambda g, inputs, out: (g * out * (1 - out),))


def tanh(x):
    """Hyperbolic tangent. d/dx = 1 - tanh^2.

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape and dtype, recorded on any active tape.
    """
    x = as_tensor(x)
    out = np.tanh(x.data)
    return record("tanh", (x,), out, gradient=lambda g, inputs, out: (g * (1 - out * out),))


_sigmoid = dual(special.expit, sigmoid)
_tanh = dual(np.tanh, tanh)


def softplus(x):
    """log(1 + e^x), stable for large |x|. d/dx = sigmoid(x).

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape and dtype, recorded on any active tape.
    """
    x = as_tensor(x)
    xd = x.data
    out = np.logaddexp(0, xd).astype(xd.dtype, copy=False)
    return record("softplus", (x,), out,
                  gradient=lambda g, inputs, out: (g * _sigmoid(inputs[0]),))


def softsign(x):
    """x / (1 + |x|). d/dx = 1 / (1 + |x|)^2.

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape and dtype, recorded on any active tape.
    """
    x = as_tensor(x)
    xd = x.data
    denom = 1 + np.abs(xd)

    def gradient(g, inputs, out):
        d = 1 + abs(inputs[0])               # |x| is an op on Tensors: its sign is constant
        return (g / (d * d),)
    return record("softsign", (x,), xd / denom, gradient=gradient)


def swish(x):
    """x * sigmoid(x) (also called silu). d/dx = s + x s (1 - s).

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape and dtype, recorded on any active tape.
    """
    x = as_tensor(x)
    xd = x.data
    s = special.expit(xd)

    def gradient(g, inputs, out):
        x = inputs[0]
        sx = s if type(x) is np.ndarray else _sigmoid(x)
        return (g * (sx + x * sx * (1 - sx)),)
    return record("swish", (x,), xd * s, gradient=gradient)


silu = swish


def elu(x, alpha=1.0):
    """x if x > 0 else alpha (e^x - 1). d/dx = 1 or alpha e^x.

    Args:
        x (Tensor or array-like): the input, any shape.
        alpha (float, default 1.0): the value e^x - 1 is scaled by for x <= 0.

    Returns:
        Tensor: ``x``'s shape and dtype, recorded on any active tape.
    """
    x = as_tensor(x)
    xd = x.data
    positive = xd > 0
    expm1 = np.expm1(np.minimum(xd, 0))
    out = np.where(positive, xd, alpha * expm1).astype(xd.dtype, copy=False)
    return record("elu", (x,), out, gradient=lambda g, inputs, out: (
        _where(positive, g, g * alpha * _exp(_where(positive, 0, inputs[0]))),))


def selu(x):
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al.

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape and dtype, recorded on any active tape.
    """
    x = as_tensor(x)
    xd = x.data
    positive = xd > 0
    expm1 = np.expm1(np.minimum(xd, 0))
    out = (_SELU_SCALE * np.where(positive, xd, _SELU_ALPHA * expm1)).astype(xd.dtype, copy=False)
    return record("selu", (x,), out, gradient=lambda g, inputs, out: (
        g * _SELU_SCALE * _where(positive, 1, _SELU_ALPHA * _exp(_where(positive, 0,
                                                                         inputs[0]))),))


def gelu(x, approximate=False):
    """x * Phi(x), Phi the standard normal CDF (tanh approximation when ``approximate``).

    Args:
        x (Tensor or array-like): the input, any shape.
        approximate (bool, default False): use 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    Returns:
        Tensor: ``x``'s shape and dtype, recorded on any active tape.
    """
    x = as_tensor(x)
    xd = x.data
    if approximate:
        c = math.sqrt(2 / math.pi)
        inner = c * (xd + 0.044715 * xd ** 3)
        out = 0.5 * xd * (1 + np.tanh(inner))

        def gradient(g, inputs, out):
            x = inputs[0]
            t = _tanh(c * (x + 0.044715 * x * x * x))
            d_inner = c * (1 + 3 * 0.044715 * x * x)
            return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner),)
    else:
        out = xd * 0.5 * (1 + special.erf(xd / math.sqrt(2)))

        def gradient(g, inputs, out):
            x = inputs[0]
            cdf = 0.5 * (1 + _erf(x / math.sqrt(2)))
            pdf = _exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
            return (g * (cdf + x * pdf),)
    return record("gelu", (x,), out.astype(xd.dtype, copy=False), gradient=gradient)


_erf = dual(special.erf, erf)


def exponential(x):
    """e^x as an activation. d/dx = e^x (the output itself).

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape and dtype, recorded on any active tape.
    """
    x = as_tensor(x)
    return record("exponential", (x,), np.exp(x.data),
                  gradient=lambda g, inputs, out: (g * out,))


def hard_sigmoid(x):
    """Piecewise-linear sigmoid: clip(x / 6 + 0.5, 0, 1) (Keras 3). d/dx = 1/6 inside.

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape and dtype, recorded on any active tape.
    """
    x = as_tensor(x)
    xd = x.data
    out = np.clip(xd / 6 + 0.5, 0, 1).astype(xd.dtype, copy=False)
    return record("hard_sigmoid", (x,), out,
                  gradient=lambda g, inputs, out: (g * ((xd > -3) & (xd < 3)) / 6,))


def softmax(x, axis=-1):
    """e^x / sum(e^x) along ``axis`` (max subtracted first for stability).

    Backward: dx = s * (g - sum(g * s)), the Jacobian-vector product of softmax.

    Args:
        x (Tensor or array-like): the input, any shape.
        axis (int, default -1): the axis the outputs sum to 1 over.

    Returns:
        Tensor: ``x``'s shape and dtype, recorded on any active tape.

    Example:
        >>> ops.softmax(np.array([[0.0, np.log(3.0)]])).numpy().round(4).tolist()
        [[0.25, 0.75]]
    """
    x = as_tensor(x)
    shifted = x.data - np.max(x.data, axis=axis, keepdims=True)
    e = np.exp(shifted)
    out = e / e.sum(axis=axis, keepdims=True)

    def gradient(g, inputs, out):
        return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)
    return record("softmax", (x,), out, gradient=gradient)


def log_softmax(x, axis=-1):
    """x - logsumexp(x) along ``axis``. Backward: dx = g - softmax(x) * sum(g).

    Args:
        x (Tensor or array-like): the input, any shape.
        axis (int, default -1): the axis normalised over.

    Returns:
        Tensor: ``x``'s shape and dtype, recorded on any active tape.
    """
    x = as_tensor(x)
    shifted = x.data - np.max(x.data, axis=axis, keepdims=True)
    out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

    def gradient(g, inputs, out):
        return (g - _exp(out) * g.sum(axis=axis, keepdims=True),)
    return record("log_softmax", (x,), out, gradient=gradient)


def mish(x):
    """x * tanh(softplus(x)).

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape and dtype, recorded on any active tape.
    """
    x = as_tensor(x)
    xd = x.data
    out = (xd * np.tanh(np.logaddexp(0, xd))).astype(xd.dtype, copy=False)

    def gradient(g, inputs, out):
        x = inputs[0]
        t = _tanh(_softplus(x))
        return (g * (t + x * (1 - t * t) * _sigmoid(x)),)
    return record("mish", (x,), out, gradient=gradient)


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x). d/dx = sigmoid(-x).

    Args:
        x (Tensor or array-like): the input, any shape.

    Returns:
        Tensor: ``x``'s shape and dtype, recorded on any active tape.
    """
    x = as_tensor(x)
    xd = x.data
    out = (-np.logaddexp(0, -xd)).astype(xd.dtype, copy=False)
    return record("log_sigmoid", (x,), out,
                  gradient=lambda g, inputs, out: (g * _sigmoid(-inputs[0]),))


def _softplus_array(x):
    return np.logaddexp(0, x).astype(x.dtype, copy=False)


_softplus = dual(_softplus_array, softplus)


def sparsemax(x, axis=-1):
    """The Euclidean projection of ``x`` onto the probability simplex along ``axis``.

    Like softmax, but exact zeros for small inputs: ``max(x - tau, 0)`` with ``tau``
    chosen so that the outputs sum to 1 (Martins & Astudillo, 2016).
    Backward: on the support S (outputs > 0), dx = g - mean_S(g); 0 elsewhere (a linear
    map of g with a constant support: its second derivative is 0).

    Args:
        x (Tensor or array-like): the input, any shape.
        axis (int, default -1): the axis the outputs sum to 1 over.

    Returns:
        Tensor: ``x``'s shape and dtype, recorded on any active tape.

    Example:
        >>> ops.sparsemax(np.array([[2.0, 0.5, -1.0]])).numpy().tolist()
        [[1.0, 0.0, 0.0]]
    """
    x = as_tensor(x)
    xd = np.moveaxis(x.data, axis, -1)
    z = -np.sort(-xd, axis=-1)                         # descending
    k = np.arange(1, z.shape[-1] + 1, dtype=xd.dtype)
    cumulative = np.cumsum(z, axis=-1)
    in_support = 1 + k * z > cumulative
    support_size = in_support.sum(axis=-1, keepdims=True)
    tau = (np.take_along_axis(cumulative, support_size - 1, axis=-1) - 1) / support_size
    out = np.moveaxis(np.maximum(xd - tau, 0), -1, axis).astype(x.dtype, copy=False)
    support = out > 0

    def gradient(g, inputs, out):
        mean_g = (g * support).sum(axis=axis, keepdims=True) / support.sum(axis=axis,
                                                                           keepdims=True)
        return (support * (g - mean_g),)
    return record("sparsemax", (x,), out, gradient=gradient)


def sigmoid_cross_entropy_with_logits(labels, logits):
    """Elementwise ``-(t log sigmoid(x) + (1-t) log(1 - sigmoid(x)))`` without overflow:
    ``max(x, 0) - x t + log(1 + e^-|x|)``. Gradient w.r.t. x: ``sigmoid(x) - t``.

    Args:
        labels (ndarray): the targets t in [0, 1], a constant.
        logits (Tensor): the raw scores x, ``labels``'s shape.

    Returns:
        Tensor: the elementwise loss, ``logits``'s shape and dtype.
    """
    x = logits.data
    out = np.maximum(x, 0) - x * labels + np.log1p(np.exp(-np.abs(x)))
    return record("sigmoid_cross_entropy", (logits,), out.astype(x.dtype, copy=False),
                  gradient=lambda g, inputs, out: (g * (_sigmoid(inputs[0]) - labels),))


def sparse_softmax_cross_entropy_with_logits(labels, logits):
    """``-log_softmax(x)[label]`` over the last axis as one op, where log_softmax, a one-hot
    product and a sum record four; gradient ``g softmax(x) - g onehot(label)``, as theirs.

    Args:
        labels (ndarray of int): class indices in [0, K), ``logits.shape[:-1]`` (checked).
        logits (Tensor): the raw scores x, (..., K).

    Returns:
        Tensor: each sample's loss, ``logits.shape[:-1]``, in ``logits``'s dtype.
    """
    xd = logits.data
    shifted = xd - np.max(xd, axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))   # log_softmax
    pick = np.asarray(labels)[..., None]
    onehot = (pick == np.arange(xd.shape[-1])).astype(xd.dtype)

    def gradient(g, inputs, out):
        p = _exp(log_softmax(inputs[0])) if not isinstance(g, np.ndarray) else np.exp(log_p)
        g = g.reshape(tuple(g.shape) + (1,))
        return (g * p - g * onehot,)
    return record("sparse_softmax_cross_entropy", (logits,),
                  -np.take_along_axis(log_p, pick, axis=-1)[..., 0], gradient=gradient)


def dropout(x, rate, rng, noise_shape=None):
    """Inverted dropout: zero each element with probability ``rate``, scale the rest by
    ``1 / (1 - rate)`` so the expected value is unchanged. The gradient goes through the
    same mask and scale (a constant, so the gradient differentiates again).

    rng: a ``numpy.random.Generator`` drawing the mask.
    noise_shape: shape of the random mask, broadcast against ``x`` (e.g. ``(N, 1, C)``
    drops whole channels of an (N, L, C) input).

    Args:
        x (Tensor or array-like): the input.
        rate (float): the probability of zeroing an element, in [0, 1).
        rng (numpy.random.Generator): draws the mask.
        noise_shape (tuple or None, default None): the mask's shape, broadcast against ``x``;
            None is ``x.shape``.

    Returns:
        Tensor: ``x``'s shape and dtype.

    Example:
        >>> y = ops.dropout(np.ones(1000), 0.5, np.random.default_rng(0))
        >>> sorted(set(y.numpy().tolist()))
        [0.0, 2.0]
    """
    x = as_tensor(x)
    shape = x.shape if noise_shape is None else noise_shape
    keep = rng.random(shape) >= rate
    mask = (keep / (1.0 - rate)).astype(x.dtype)      # 0 or 1/(1-rate)
    return record("dropout", (x,), x.data * mask, gradient=lambda g, inputs, out: (g * mask,))
