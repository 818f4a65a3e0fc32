"""Differentiable convolutions: depthwise, separable (depthwise then pointwise) and full.

Each op checks its arguments, runs the forward kernel from :mod:`minigrad._kernels`, and
keeps right below it the backward closure that sends the gradient to every input::

    y = depthwise_forward(x, kernel)                      # forward
    def backward(g):                                      # g = dLoss/dy
        return depthwise_backward(g, x, kernel)          # (dLoss/dx, dLoss/dkernel), one pass

Shapes (channels_last, the native layout; ``r`` = 1 or 2 spatial axes)::

    x                 (N, *spatial, C)
    depthwise kernel  (*k, C, M)        -> (N, *out, C*M), channel c*M + m
    pointwise kernel  (1, [1,] C*M, F)  -> (N, *out, F)
    conv kernel       (*k, C, F)        -> (N, *out, F)

``data_format="channels_first"`` (x of shape (N, C, *spatial)) is handled by transposing to
channels_last, convolving, and transposing back. ``padding`` is ``"valid"``, ``"same"``
(extra pad at the end), ``"causal"`` (1D only: ``d*(k-1)`` zeros on the left) or explicit
``(before, after)`` pairs, one per spatial axis. :mod:`minigrad.ops.geometry` checks these
arguments (and bounds them, so the compiled kernels' indices cannot overflow), turns
``padding`` into pairs and computes the output shape.

Which kernels run — the compiled ones or their NumPy twins — is the active backend of
:mod:`minigrad._kernels` (``MINIGRAD_KERNELS=numpy`` at start-up, :func:`use_kernels` from
then on); an op's backward uses the same backend as its forward.
"""

import numpy as np

from .. import _kernels
from ..tape import record
from .geometry import ConvGeometry, conv_output_length, conv_padding
from .math import as_tensor

# The one kernel switch lives in minigrad._kernels; ops.use_kernels is that function.
use_kernels = _kernels.use_kernels


# ----------------------------------------------------------------------------------------
# Argument checking, shared by the three ops (the geometry: ops/geometry.py)
# ----------------------------------------------------------------------------------------

def _float_dtype(op, name, t):
    if t.dtype not in (np.float32, np.float64):
        raise TypeError(f"{op}: `{name}` must be float32 or float64, received dtype {t.dtype}. "
                        f"Cast it first, e.g. with ops.cast({name}, 'float32').")


def _same_dtype(op, named):
    dtypes = {t.dtype for _, t in named}
    if len(dtypes) > 1:
        got = ", ".join(f"{n}: {t.dtype}" for n, t in named)
        raise TypeError(f"{op}: all inputs must share one float dtype (no implicit casts), "
                        f"received {got}. Cast one of them with ops.cast.")


def _tensor(op, name, value):
    try:
        return as_tensor(value)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{op}: `{name}` must be a float32 or float64 tensor or array. "
                        f"Received {name}={value!r:.80} ({e})") from None


def _checked(op, named_tensors):
    tensors = [_tensor(op, name, t) for name, t in named_tensors]
    named = [(name, t) for (name, _), t in zip(named_tensors, tensors)]
    for name, t in named:
        _float_dtype(op, name, t)
    _same_dtype(op, named)
    return tensors


def _check_bias(op, bias, n, dtype):
    bias = _tensor(op, "bias", bias)
    _float_dtype(op, "bias", bias)
    if bias.dtype != dtype:
        raise TypeError(f"{op}: `bias` has dtype {bias.dtype} but the inputs are {dtype}.")
    if bias.shape != (n,):
        raise ValueError(f"{op}: `bias` must have shape ({n},). Received bias shape {bias.shape}")
    return bias


# ----------------------------------------------------------------------------------------
# The ops
# ----------------------------------------------------------------------------------------

def depthwise_conv(x, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Depthwise convolution: each input channel convolved with its own M filters.

    x (N, *spatial, C) [or (N, C, *spatial) for channels_first], kernel (*k, C, M)
    -> (N, *out, C*M), with output channel ``c*M + m``::

        y[n, o, c*M+m] = sum_j kernel[j, c, m] * xpad[n, o*s + j*d, c]
    """
    op = "depthwise_conv"
    x, kernel = _checked(op, [("x", x), ("kernel", kernel)])
    g = ConvGeometry(op, x.shape, kernel.shape, strides, padding, data_format, dilation_rate)
    xd = g.to_channels_last(x.data)
    kd = np.ascontiguousarray(kernel.data)
    geometry = (g.strides, g.dilation, g.pads)
    kernels = _kernels.active()
    with g.memory_named():
        y = kernels.depthwise_forward(xd, kd, *geometry)

    def backward(grad_y):
        grad_y = g.to_channels_last(grad_y)
        grad_x, grad_kernel = kernels.depthwise_backward(grad_y, xd, kd, *geometry)
        return g.from_channels_last(grad_x), grad_kernel

    return record(op, (x, kernel), g.from_channels_last(y), backward)


def separable_conv(x, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1, bias=None):
    """Depthwise convolution, then a 1x1 convolution mixing its C*M channels into F (+ bias).

    x (N, *spatial, C), depthwise_kernel (*k, C, M), pointwise_kernel (1, [1,] C*M, F),
    bias (F,) or None -> (N, *out, F)::

        z = depthwise_conv(x, depthwise_kernel, ...)              # (N, *out, C*M)
        y[n, o, f] = sum_q z[n, o, q] * pointwise_kernel[..., q, f] + bias[f]

    Strides, padding and dilation apply to the depthwise stage only. Both stages are one
    recorded op; ``z`` is kept for the backward pass.
    """
    op = "separable_conv"
    x, dk, pk = _checked(op, [("x", x), ("depthwise_kernel", depthwise_kernel),
                              ("pointwise_kernel", pointwise_kernel)])
    g = ConvGeometry(op, x.shape, dk.shape, strides, padding, data_format, dilation_rate)
    C, M = dk.shape[-2:]
    expected = (1,) * g.rank + (C * M,)
    if pk.ndim != g.rank + 2 or pk.shape[:-1] != expected:
        raise ValueError(f"{op}: pointwise_kernel must have shape {expected + ('filters',)} for a "
                         f"depthwise kernel of shape {dk.shape}. Received pointwise_kernel shape {pk.shape}")
    F = pk.shape[-1]
    if F <= 0:
        raise ValueError(f"{op}: pointwise_kernel must have at least one filter. Received shape {pk.shape}")
    inputs = (x, dk, pk)
    if bias is not None:
        bias = _check_bias(op, bias, F, x.dtype)
        inputs += (bias,)
    xd = g.to_channels_last(x.data)
    dkd = np.ascontiguousarray(dk.data)
    pkd = np.ascontiguousarray(pk.data).reshape(C * M, F)
    bd = None if bias is None else np.ascontiguousarray(bias.data)
    geometry = (g.strides, g.dilation, g.pads)
    N, out = xd.shape[0], g.out
    rows = N * int(np.prod(out))
    kernels = _kernels.active()
    with g.memory_named():
        z = kernels.depthwise_forward(xd, dkd, *geometry).reshape(rows, C * M)
        y = kernels.pointwise_forward(z, pkd, bd).reshape((N,) + out + (F,))

    def backward(grad_y):
        grad_y = g.to_channels_last(grad_y).reshape(rows, F)
        grad_pk, grad_bias = kernels.pointwise_backward_kernel(z, grad_y, bd is not None)
        grad_z = kernels.pointwise_backward_input(grad_y, pkd).reshape((N,) + out + (C * M,))
        grad_x, grad_dk = kernels.depthwise_backward(grad_z, xd, dkd, *geometry)
        grads = (g.from_channels_last(grad_x), grad_dk, grad_pk.reshape(pk.shape))
        return grads + ((grad_bias,) if bd is not None else ())

    return record(op, inputs, g.from_channels_last(y), backward)


def conv(x, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1, bias=None):
    """Full convolution: every output filter sees every input channel.

    x (N, *spatial, Cin), kernel (*k, Cin, F), bias (F,) or None -> (N, *out, F)::

        y[n, o, f] = sum_j sum_c xpad[n, o*s + j*d, c] * kernel[j, c, f] + bias[f]

    Built from the pointwise kernel: for each tap ``j`` the input positions it reads form a
    strided slice of ``xpad``; that slice (flattened to rows) times ``kernel[j]`` is one
    matrix product, and the output is their sum over taps. A 1-wide kernel with stride 1
    and no padding is a single pointwise product on the input itself.
    """
    op = "conv"
    x, kernel = _checked(op, [("x", x), ("kernel", kernel)])
    g = ConvGeometry(op, x.shape, kernel.shape, strides, padding, data_format, dilation_rate)
    r, F = g.rank, kernel.shape[-1]
    inputs = (x, kernel)
    if bias is not None:
        bias = _check_bias(op, bias, F, x.dtype)
        inputs += (bias,)
    xd = g.to_channels_last(x.data)
    kd = np.ascontiguousarray(kernel.data)
    bd = None if bias is None else np.ascontiguousarray(bias.data)
    N, Cin, out = xd.shape[0], xd.shape[-1], g.out
    rows = N * int(np.prod(out))
    ksize = kd.shape[:r]
    kernels = _kernels.active()

    if all(k == 1 for k in ksize) and all(s == 1 for s in g.strides) and \
            all(p == (0, 0) for p in g.pads):
        x_rows, w = xd.reshape(rows, Cin), kd.reshape(Cin, F)
        y = kernels.pointwise_forward(x_rows, w, bd).reshape((N,) + out + (F,))

        def backward(grad_y):
            grad_y = g.to_channels_last(grad_y).reshape(rows, F)
            grad_w, grad_bias = kernels.pointwise_backward_kernel(x_rows, grad_y, bd is not None)
            grad_x = kernels.pointwise_backward_input(grad_y, w).reshape(xd.shape)
            grads = (g.from_channels_last(grad_x), grad_w.reshape(kd.shape))
            return grads + ((grad_bias,) if bd is not None else ())

        return record(op, inputs, g.from_channels_last(y), backward)

    with g.memory_named():
        xpad = np.pad(xd, ((0, 0),) + g.pads + ((0, 0),)) if any(map(any, g.pads)) else xd

    def window(tap):
        """The rows of xpad that tap ``tap`` multiplies: (N * prod(out), Cin)."""
        index = (slice(None),) + tuple(slice(j * d, j * d + (o - 1) * s + 1, s)
                                       for j, o, s, d in zip(tap, out, g.strides, g.dilation))
        return index, np.ascontiguousarray(xpad[index]).reshape(rows, Cin)

    taps = list(np.ndindex(*ksize))
    y = kernels.pointwise_forward(window(taps[0])[1], np.ascontiguousarray(kd[taps[0]]), bd)
    for tap in taps[1:]:
        y += kernels.pointwise_forward(window(tap)[1], np.ascontiguousarray(kd[tap]), None)
    y = y.reshape((N,) + out + (F,))

    def backward(grad_y):
        grad_y = g.to_channels_last(grad_y).reshape(rows, F)
        grad_xpad = np.zeros(xpad.shape, dtype=xpad.dtype)
        grad_kernel = np.empty(kd.shape, dtype=kd.dtype)
        grad_bias = None
        for n, tap in enumerate(taps):
            index, x_rows = window(tap)
            grad_kernel[tap], gb = kernels.pointwise_backward_kernel(x_rows, grad_y,
                                                                     bd is not None and n == 0)
            grad_bias = gb if n == 0 else grad_bias
            grad_rows = kernels.pointwise_backward_input(grad_y, np.ascontiguousarray(kd[tap]))
            grad_xpad[index] += grad_rows.reshape((N,) + out + (Cin,))
        crop = (slice(None),) + tuple(slice(b, b + L) for (b, _), L in zip(g.pads, xd.shape[1:1 + r]))
        grads = (g.from_channels_last(grad_xpad[crop]), grad_kernel)
        return grads + ((grad_bias,) if bd is not None else ())

    return record(op, inputs, g.from_channels_last(y), backward)


__all__ = ["conv", "conv_output_length", "conv_padding", "depthwise_conv", "separable_conv",
           "use_kernels"]
