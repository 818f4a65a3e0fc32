"""A naive NumPy depthwise convolution, forward and backward: the baseline of bench_conv.py.

This is what one writes first: loop over every output position and every kernel tap, and
let NumPy vectorise only over the batch and channel axes (as the Keras test reference does).
Channels_last, x (N, *spatial, C), kernel (*k, C, M), explicit ``pads`` per spatial axis.
"""
import numpy as np


def _padded(x, pads):
    return np.pad(x, [(0, 0), *pads, (0, 0)])


def _out_shape(xp_spatial, ks, strides, dilation):
    return tuple((L - d * (k - 1) - 1) // s + 1 for L, k, s, d in zip(xp_spatial, ks, strides, dilation))


def depthwise_forward(x, kernel, strides, dilation, pads):
    r = kernel.ndim - 2
    ks, (C, M) = kernel.shape[:r], kernel.shape[r:]
    xp = _padded(x, pads)
    out = _out_shape(xp.shape[1:1 + r], ks, strides, dilation)
    y = np.zeros((x.shape[0], *out, C, M), dtype=x.dtype)
    for o in np.ndindex(*out):
        for j in np.ndindex(*ks):
            pos = tuple(oi * s + ji * d for oi, ji, s, d in zip(o, j, strides, dilation))
            y[(slice(None),) + o] += xp[(slice(None),) + pos][:, :, None] * kernel[j]
    return y.reshape(x.shape[0], *out, C * M)


def depthwise_backward(x, kernel, grad_y, strides, dilation, pads):
    """(grad_x, grad_kernel) for the upstream gradient grad_y (N, *out, C*M)."""
    r = kernel.ndim - 2
    ks, (C, M) = kernel.shape[:r], kernel.shape[r:]
    xp = _padded(x, pads)
    out = grad_y.shape[1:1 + r]
    g = grad_y.reshape(x.shape[0], *out, C, M)
    grad_xp = np.zeros_like(xp)
    grad_kernel = np.zeros_like(kernel)
    for o in np.ndindex(*out):
        go = g[(slice(None),) + o]                                   # (N, C, M)
        for j in np.ndindex(*ks):
            pos = (slice(None),) + tuple(oi * s + ji * d
                                         for oi, ji, s, d in zip(o, j, strides, dilation))
            grad_xp[pos] += (go * kernel[j]).sum(axis=-1)
            grad_kernel[j] += (xp[pos][:, :, None] * go).sum(axis=0)
    crop = (slice(None),) + tuple(slice(b, b + L) for (b, _), L in zip(pads, x.shape[1:1 + r]))
    return grad_xp[crop], grad_kernel
