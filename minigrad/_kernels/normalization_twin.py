"""Batch normalisation over rows in plain NumPy: the readable twin of ``normalization.pyx``.

In channels_last layout, batch normalisation sees a matrix: one row per position of the
batch (P rows), one column per feature (C). Each column is normalised by its own mean and
variance, then scaled and shifted::

    inv_std = 1 / sqrt(variance + epsilon)
    y       = (x - mean) * (gamma * inv_std) + beta

With ``mean`` and ``variance`` given (inference: the moving statistics) they are used as
they are; with ``None`` (training) they are this batch's, the variance biased (divided by
P, as Keras). Backward, with ``a = gamma * inv_std``, ``c = x - mean`` and g the incoming
gradient::

    grad_beta  = sum(g)          s = sum(g * c)          grad_gamma = s * inv_std
    inference:  grad_x = g * a
    training:   grad_x = g * a - c * (a * inv_std^2 * s / P) - a * grad_beta / P

(the two extra terms because the batch's mean and variance depend on x). Sums run over
the rows. ``gamma`` and ``beta`` may be ``None`` (1 and 0); their gradients are then
``None``. The compiled kernel computes the same in two passes over the rows each way.
"""
import numpy as np


def batch_norm_forward(x, mean, variance, gamma, beta, epsilon):
    """x (P, C); mean, variance (C,) or None for this batch's; gamma, beta (C,) or None
    -> (y (P, C), mean (C,), variance (C,), inv_std (C,)), all in x's dtype."""
    dtype = x.dtype
    P = x.shape[0]
    if mean is None:
        ones = np.ones(P, dtype)                 # the column sums as one BLAS product
        mean = (ones @ x) / dtype.type(P)
        centred = x - mean
        variance = np.einsum("ij,ij->j", centred, centred) / dtype.type(P)
    else:
        mean, variance = mean.astype(dtype, copy=False), variance.astype(dtype, copy=False)
        centred = x - mean
    inv_std = (1.0 / np.sqrt(variance + dtype.type(epsilon))).astype(dtype, copy=False)
    y = centred * (gamma * inv_std if gamma is not None else inv_std)
    if beta is not None:
        y += beta
    return y, mean, variance, inv_std


def batch_norm_backward(x, grad_y, mean, inv_std, gamma, batch_stats, with_gamma, with_beta):
    """x, grad_y (P, C); mean, inv_std (C,) from the forward; gamma (C,) or None;
    batch_stats: the forward used this batch's statistics
    -> (grad_x (P, C), grad_gamma (C,) or None, grad_beta (C,) or None)."""
    dtype = x.dtype
    P = dtype.type(x.shape[0])
    a = gamma * inv_std if gamma is not None else inv_std
    centred = x - mean
    grad_x = grad_y * a
    grad_beta = np.ones(x.shape[0], dtype) @ grad_y if with_beta or batch_stats else None
    s = np.einsum("ij,ij->j", grad_y, centred) if with_gamma or batch_stats else None
    if batch_stats:
        grad_x -= centred * (a * inv_std * inv_std * s / P)
        grad_x -= a * grad_beta / P
    return (grad_x, s * inv_std if with_gamma else None,
            grad_beta if with_beta else None)
