"""Batch normalisation as one differentiable op (``layers.BatchNormalization`` calls it).

For a feature c (the ``axis``), over all other axes (m elements)::

    training:   mu = mean(x),  var = mean((x - mu)^2)        (biased, as Keras)
    inference:  mu, var = the moving statistics (constants)
    y = gamma * (x - mu) / sqrt(var + epsilon) + beta
"""
import numpy as np

from .. import _kernels
from ..tape import record
from ..tensor import Tensor
from .elementwise import sqrt


def batch_norm(x, mean, variance, gamma, beta, epsilon, axis, use_batch_stats):
    """The normalisation as one differentiable op (forward and backward together).

    x: Tensor of any rank; ``axis`` is its feature axis (size C).
    mean, variance: ndarrays (C,) — ignored when ``use_batch_stats`` (computed from x).
    gamma, beta: Tensors (C,) or None (then 1 and 0).
    Returns ``(y, batch_mean, batch_variance)``; the statistics are plain ndarrays.

    Backward, with xhat = (x - mu) * inv_std and g the incoming gradient:
        dbeta  = sum(g)             dgamma = sum(g * xhat)
        inference:  dx = g * gamma * inv_std           (mu, var are constants)
        training:   dx = gamma * inv_std * (g - mean(g) - xhat * mean(g * xhat))
    (the extra terms come from mu and var depending on x). Written with ops, so on
    Tensors (an enclosing tape recording) xhat and inv_std are recomputed from x and
    the gradient differentiates again.

    Args:
        x (Tensor): the input, any rank.
        mean (ndarray or None): (C,) moving mean; ignored when ``use_batch_stats``.
        variance (ndarray or None): (C,) moving variance; ignored when ``use_batch_stats``.
        gamma (Tensor or None): (C,) scale; None means 1.
        beta (Tensor or None): (C,) offset; None means 0.
        epsilon (float): added to the variance before the square root.
        axis (int): the feature axis.
        use_batch_stats (bool): normalise with this batch's statistics (training) instead of
            ``mean`` and ``variance``.

    Returns:
        tuple: ``(y, batch_mean, batch_variance)``: y a Tensor of ``x``'s shape, the
        statistics ndarrays (C,).

    Example:
        >>> x = mg.Tensor([[1.0], [3.0]])
        >>> y, batch_mean, batch_variance = ops.batch_norm(x, None, None, None, None, 0.0, -1, True)
        >>> y.numpy().tolist(), batch_mean.tolist(), batch_variance.tolist()
        ([[-1.0], [1.0]], [2.0], [1.0])
    """
    xd = x.data
    axis = axis % xd.ndim
    if axis == xd.ndim - 1 and xd.flags.c_contiguous:
        return _batch_norm_rows(x, mean, variance, gamma, beta, epsilon, use_batch_stats)
    reduce_axes, bshape = _axes(xd, axis)
    if use_batch_stats:
        mean = xd.mean(axis=reduce_axes)
        variance = np.square(xd - mean.reshape(bshape)).mean(axis=reduce_axes)
    moving_mean = mean.reshape(bshape).astype(xd.dtype)
    inv_std_array = (1.0 / np.sqrt(variance + epsilon)).reshape(bshape).astype(xd.dtype)
    xhat_array = (xd - moving_mean) * inv_std_array
    scale = gamma.data.reshape(bshape) if gamma is not None else np.ones(bshape, xd.dtype)
    out = xhat_array * scale
    if beta is not None:
        out = out + beta.data.reshape(bshape)

    def gradient(g, inputs, out):
        x = inputs[0]
        if not isinstance(x, Tensor):          # arrays: reuse the forward pass's values
            xhat, inv_std = xhat_array, inv_std_array
        else:
            return _gradient_on_tensors(g, inputs, gamma is not None, beta is not None,
                                        epsilon, use_batch_stats, reduce_axes, bshape,
                                        moving_mean, inv_std_array)
        gx = g * (inputs[1].reshape(bshape) if gamma is not None else 1.0) * inv_std
        if use_batch_stats:
            gx = gx - gx.mean(axis=reduce_axes, keepdims=True) \
                - xhat * (gx * xhat).mean(axis=reduce_axes, keepdims=True)
        grads = [gx]
        if gamma is not None:
            grads.append((g * xhat).sum(axis=reduce_axes))
        if beta is not None:
            grads.append(g.sum(axis=reduce_axes))
        return tuple(grads)
    inputs = (x,) + tuple(t for t in (gamma, beta) if t is not None)
    return record("batch_norm", inputs, out.astype(xd.dtype, copy=False),
                  gradient=gradient), mean, variance


def _gradient_on_tensors(g, inputs, has_gamma, has_beta, epsilon, use_batch_stats,
                         reduce_axes, bshape, moving_mean, inv_std_array):
    """The backward of :func:`batch_norm` written with ops (an enclosing tape records it):
    xhat and inv_std are recomputed from x, so the gradient differentiates again."""
    x = inputs[0]
    if use_batch_stats:                        # mu and var depend on x
        centred = x - x.mean(axis=reduce_axes, keepdims=True)
        inv_std = 1.0 / sqrt((centred * centred).mean(axis=reduce_axes, keepdims=True)
                             + epsilon)
        xhat = centred * inv_std
    else:
        xhat, inv_std = (x - moving_mean) * inv_std_array, inv_std_array
    gx = g * (inputs[1].reshape(bshape) if has_gamma else 1.0) * inv_std
    if use_batch_stats:
        gx = gx - gx.mean(axis=reduce_axes, keepdims=True) \
            - xhat * (gx * xhat).mean(axis=reduce_axes, keepdims=True)
    grads = [gx]
    if has_gamma:
        grads.append((g * xhat).sum(axis=reduce_axes))
    if has_beta:
        grads.append(g.sum(axis=reduce_axes))
    return tuple(grads)


def _axes(xd, axis):
    """The axes a feature's statistics run over, and the shape of one per feature."""
    return (tuple(i for i in range(xd.ndim) if i != axis),
            tuple(xd.shape[axis] if i == axis else 1 for i in range(xd.ndim)))


def _batch_norm_rows(x, mean, variance, gamma, beta, epsilon, use_batch_stats):
    """:func:`batch_norm` when the feature axis is the last one of a contiguous array (the
    channels_last layout): x is then a matrix of m rows by C features, normalised by the
    kernels (``minigrad/_kernels/normalization_twin.py`` holds the formulas; the compiled
    ``normalization.pyx`` makes two passes over the rows each way, where NumPy makes one per
    operation)."""
    xd = x.data
    dtype = xd.dtype
    rows = xd.reshape(-1, xd.shape[-1])
    kernels = _kernels.active_for(dtype)
    gamma_d = None if gamma is None else gamma.data.astype(dtype, copy=False)
    beta_d = None if beta is None else beta.data.astype(dtype, copy=False)
    if not use_batch_stats:       # copies in x's dtype: the caller may change its arrays later
        mean, variance = np.array(mean, dtype=dtype), np.array(variance, dtype=dtype)
    out, mean, variance, inv_std = kernels.batch_norm_forward(
        rows, None if use_batch_stats else mean, None if use_batch_stats else variance,
        gamma_d, beta_d, epsilon)

    def gradient(g, inputs, out):
        if isinstance(inputs[0], Tensor):
            reduce_axes, bshape = _axes(xd, xd.ndim - 1)
            return _gradient_on_tensors(g, inputs, gamma is not None, beta is not None,
                                        epsilon, use_batch_stats, reduce_axes, bshape,
                                        mean.reshape(bshape), inv_std.reshape(bshape))
        gamma_now = None if gamma is None else inputs[1].astype(dtype, copy=False)
        g = np.asarray(g, dtype=dtype).reshape(rows.shape)     # the kernels take one dtype
        grad_x, grad_gamma, grad_beta = kernels.batch_norm_backward(
            rows, g, mean, inv_std, gamma_now, use_batch_stats, gamma is not None,
            beta is not None)
        grads = [grad_x.reshape(xd.shape)]
        if gamma is not None:
            grads.append(grad_gamma)
        if beta is not None:
            grads.append(grad_beta)
        return tuple(grads)
    inputs = (x,) + tuple(t for t in (gamma, beta) if t is not None)
    return record("batch_norm", inputs, out.reshape(xd.shape), gradient=gradient), \
        mean, variance
