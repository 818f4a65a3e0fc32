"""Differentiable convolutions: depthwise, separable (depthwise then pointwise) and full.

Each op checks its arguments, runs the forward kernel from :mod:`minigrad._kernels`, and
keeps right below it the gradient that sends the upstream gradient to every input::

    y = depthwise_forward(x, kernel)                      # forward
    def gradient(g, inputs, out):                         # g = dLoss/dy
        return (depthwise_backward_input(g, kernel),     # dLoss/dx: a transposed conv
                depthwise_backward_kernel(x, g))         # dLoss/dkernel: a correlation

(on arrays the two run fused, ``depthwise_backward(g, x, kernel)``, in one pass). Those two
gradients are convolutions themselves, whose gradients are convolutions again
(:mod:`minigrad.ops.convolution_gradients`): when an enclosing tape records the backward
pass they are recorded ops, so every convolution here differentiates any number of times,
on the same kernels.

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

import math

import numpy as np

from .. import _kernels
from ..recording import needs_gradient
from ..tape import record
from ..tensor import Tensor
from .convolution_gradients import (DepthwiseFamily, PointwiseFamily, from_channels_last,
                                    to_channels_last)
from .geometry import ConvGeometry, conv_output_length, conv_padding
from .math import as_tensor
from .shapes import pad, scatter, stack, zero_padded

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


_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _checked(op, named_tensors):
    tensors = [_tensor(op, name, t) for name, t in named_tensors]
    dtype = tensors[0].data.dtype
    if dtype in _FLOAT_DTYPES and all(t.data.dtype == dtype for t in tensors):
        return tensors                        # (the usual case; else the checks name the fault)
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

    Args:
        x (Tensor or array-like): (N, *spatial, C), 1 or 2 spatial axes.
        kernel (Tensor or array-like): (*k, C, M).
        strides (int or tuple, default 1): s, the step of the window per spatial axis.
        padding (str or tuple, default "valid"): "valid", "same", "causal" (1D only), or
            explicit ``(before, after)`` pairs per spatial axis.
        data_format (str or None, default None): "channels_last" or "channels_first"; None
            means ``mg.config.image_data_format()``.
        dilation_rate (int or tuple, default 1): d, the spacing of the window's taps.

    Returns:
        Tensor: (N, *out, C*M) (channels first for channels_first input).

    Raises:
        ValueError: for shapes or arguments that do not fit, naming the argument and value.

    Example:
        >>> ops.depthwise_conv(np.ones((1, 8, 8, 3)), np.ones((3, 3, 3, 2)), strides=2).shape
        (1, 3, 3, 6)
    """
    op = "depthwise_conv"
    x, kernel = _checked(op, [("x", x), ("kernel", kernel)])
    g = ConvGeometry.of(op, x.shape, kernel.shape, strides, padding, data_format, dilation_rate)
    return _depthwise(op, x, kernel, g)


def _depthwise(op, x, kernel, g):
    """depthwise_conv on checked arguments, recorded as ``op``. A full convolution of a
    single input channel is one too: its kernel (*k, 1, F) is a depthwise kernel with
    M = F, and ``conv`` hands it here (a first layer on grey images)."""
    xd = g.to_channels_last(x.data)
    kd = np.ascontiguousarray(kernel.data)
    geometry = (g.strides, g.dilation, g.pads)
    kernels = _kernels.active()
    with g.memory_named():
        y = kernels.depthwise_forward(xd, kd, *geometry)
    family = DepthwiseFamily(kernels, xd.shape, kd.shape, *geometry)
    cf = g.channels_first
    need_x, need_kernel = needs_gradient(x), needs_gradient(kernel)

    def gradient(grad_y, inputs, result):
        if not isinstance(grad_y, Tensor):          # arrays: both gradients in one pass
            grad_y = g.to_channels_last(grad_y)
            if not need_x():                        # data no tape follows (a first layer)
                return None, kernels.depthwise_backward_kernel(xd, grad_y, kd.shape, *geometry)
            if not need_kernel():                   # a frozen kernel
                return g.from_channels_last(
                    kernels.depthwise_backward_input(grad_y, kd, xd.shape, *geometry)), None
            grad_x, grad_kernel = kernels.depthwise_backward(grad_y, xd, kd, *geometry)
            return g.from_channels_last(grad_x), grad_kernel
        x, grad_y = to_channels_last(inputs[0], cf), to_channels_last(grad_y, cf)
        return (from_channels_last(family.input_grad(grad_y, inputs[1]), cf),
                family.kernel_grad(x, grad_y))

    return record(op, (x, kernel), g.from_channels_last(y), gradient=gradient)


def separable_conv(x, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1, bias=None):
    """Depthwise convolution, then a 1x1 convolution mixing its C*M channels into F (+ bias).

    x (N, *spatial, C), depthwise_kernel (*k, C, M), pointwise_kernel (1, [1,] C*M, F),
    bias (F,) or None -> (N, *out, F)::

        z = depthwise_conv(x, depthwise_kernel, ...)              # (N, *out, C*M)
        y[n, o, f] = sum_q z[n, o, q] * pointwise_kernel[..., q, f] + bias[f]

    Strides, padding and dilation apply to the depthwise stage only. Both stages are one
    recorded op; ``z`` is kept for the backward pass.

    Args:
        x (Tensor or array-like): (N, *spatial, C).
        depthwise_kernel (Tensor or array-like): (*k, C, M).
        pointwise_kernel (Tensor or array-like): (1, [1,] C*M, F).
        strides (int or tuple, default 1): s, the step of the window per spatial axis.
        padding (str or tuple, default "valid"): "valid", "same", "causal" (1D only), or
            explicit ``(before, after)`` pairs per spatial axis.
        data_format (str or None, default None): "channels_last" or "channels_first"; None
            means ``mg.config.image_data_format()``.
        dilation_rate (int or tuple, default 1): d, the spacing of the window's taps.
        bias (Tensor, array-like or None, default None): (F,).

    Returns:
        Tensor: (N, *out, F).

    Raises:
        ValueError: for shapes or arguments that do not fit, naming the argument and value.

    Example:
        >>> x, depthwise, pointwise = np.ones((1, 8, 8, 3)), np.ones((3, 3, 3, 1)), np.ones((1, 1, 3, 5))
        >>> ops.separable_conv(x, depthwise, pointwise).shape
        (1, 6, 6, 5)
    """
    op = "separable_conv"
    x, dk, pk = _checked(op, [("x", x), ("depthwise_kernel", depthwise_kernel),
                              ("pointwise_kernel", pointwise_kernel)])
    g = ConvGeometry.of(op, x.shape, dk.shape, strides, padding, data_format, dilation_rate)
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
    rows = N * math.prod(out)
    kernels = _kernels.active()
    with g.memory_named():
        z = kernels.depthwise_forward(xd, dkd, *geometry).reshape(rows, C * M)
        y = kernels.pointwise_forward(z, pkd, bd).reshape((N,) + out + (F,))
    cf = g.channels_first
    depthwise, pointwise = DepthwiseFamily(kernels, xd.shape, dkd.shape, *geometry), \
        PointwiseFamily(kernels)

    def gradient(grad_y, inputs, result):
        grad_y = to_channels_last(grad_y, cf).reshape(rows, F)
        if not isinstance(grad_y, Tensor):          # arrays: z from the forward pass
            grad_z, grad_pk, grad_bias = kernels.pointwise_backward(z, grad_y, pkd, bd is not None)
            grad_z = grad_z.reshape((N,) + out + (C * M,))
            grad_x, grad_dk = kernels.depthwise_backward(grad_z, xd, dkd, *geometry)
        else:                                       # Tensors: z recomputed, recorded
            x, dk, w = to_channels_last(inputs[0], cf), inputs[1], inputs[2].reshape(C * M, F)
            zr = depthwise.forward(x, dk).reshape(rows, C * M)
            grad_pk, grad_bias = pointwise.kernel_grad(zr, grad_y), grad_y.sum(axis=0)
            grad_z = pointwise.input_grad(grad_y, w).reshape((N,) + out + (C * M,))
            grad_x, grad_dk = depthwise.input_grad(grad_z, dk), depthwise.kernel_grad(x, grad_z)
        grads = (from_channels_last(grad_x, cf), grad_dk, grad_pk.reshape(pk.shape))
        return grads + ((grad_bias,) if bd is not None else ())

    return record(op, inputs, g.from_channels_last(y), gradient=gradient)


def conv(x, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1, bias=None):
    """Full convolution: every output filter sees every input channel.

    x (N, *spatial, Cin), kernel (*k, Cin, F), bias (F,) or None -> (N, *out, F)::

        y[n, o, f] = sum_j sum_c xpad[n, o*s + j*d, c] * kernel[j, c, f] + bias[f]

    Built from the pointwise kernel: for each tap ``j`` the input positions it reads form a
    strided slice of ``xpad``; that slice (flattened to rows) times ``kernel[j]`` is one
    matrix product, and the output is their sum over taps. When those slices side by side
    fit in ``IM2COL_MAX_BYTES`` they are gathered into one matrix and multiplied once by
    the whole kernel (one product with K = taps * C instead of thin ones with K = C: a
    first layer on 1-3 channels). A 1-wide kernel with stride 1 and no padding is a single
    pointwise product on the input itself.

    Args:
        x (Tensor or array-like): (N, *spatial, Cin).
        kernel (Tensor or array-like): (*k, Cin, F).
        strides (int or tuple, default 1): s, the step of the window per spatial axis.
        padding (str or tuple, default "valid"): "valid", "same", "causal" (1D only), or
            explicit ``(before, after)`` pairs per spatial axis.
        data_format (str or None, default None): "channels_last" or "channels_first"; None
            means ``mg.config.image_data_format()``.
        dilation_rate (int or tuple, default 1): d, the spacing of the window's taps.
        bias (Tensor, array-like or None, default None): (F,).

    Returns:
        Tensor: (N, *out, F).

    Raises:
        ValueError: for shapes or arguments that do not fit, naming the argument and value.

    Example:
        >>> ops.conv(np.ones((1, 5, 2)), np.ones((3, 2, 4)), padding="same").shape
        (1, 5, 4)
    """
    op = "conv"
    x, kernel = _checked(op, [("x", x), ("kernel", kernel)])
    g = ConvGeometry.of(op, x.shape, kernel.shape, strides, padding, data_format, dilation_rate)
    r, F = g.rank, kernel.shape[-1]
    inputs = (x, kernel)
    if bias is not None:
        bias = _check_bias(op, bias, F, x.dtype)
        inputs += (bias,)
    xd = g.to_channels_last(x.data)
    kd = np.ascontiguousarray(kernel.data)
    bd = None if bias is None else np.ascontiguousarray(bias.data)
    N, Cin, out = xd.shape[0], xd.shape[-1], g.out
    rows = N * math.prod(out)
    ksize = kd.shape[:r]
    kernels = _kernels.active()

    if all(k == 1 for k in ksize) and all(s == 1 for s in g.strides) and \
            all(p == (0, 0) for p in g.pads):
        x_rows, w = xd.reshape(rows, Cin), kd.reshape(Cin, F)
        y = kernels.pointwise_forward(x_rows, w, bd).reshape((N,) + out + (F,))
        pointwise, cf = PointwiseFamily(kernels), g.channels_first
        need_x = needs_gradient(x)

        def gradient(grad_y, inputs, result):
            grad_y = to_channels_last(grad_y, cf).reshape(rows, F)
            if not isinstance(grad_y, Tensor) and not need_x():  # data no tape follows
                grad_w, grad_bias = kernels.pointwise_backward_kernel(x_rows, grad_y,
                                                                      bd is not None)
                return (None, grad_w.reshape(kd.shape)) + ((grad_bias,) if bd is not None else ())
            if not isinstance(grad_y, Tensor):      # arrays: both in one pass over grad_y
                grad_x, grad_w, grad_bias = kernels.pointwise_backward(x_rows, grad_y, w,
                                                                       bd is not None)
            else:
                xr = to_channels_last(inputs[0], cf).reshape(rows, Cin)
                wr = inputs[1].reshape(Cin, F)
                grad_w, grad_bias = pointwise.kernel_grad(xr, grad_y), grad_y.sum(axis=0)
                grad_x = pointwise.input_grad(grad_y, wr)
            grad_x = grad_x.reshape(xd.shape)
            grads = (from_channels_last(grad_x, cf), grad_w.reshape(kd.shape))
            return grads + ((grad_bias,) if bd is not None else ())

        return record(op, inputs, g.from_channels_last(y), gradient=gradient)

    if Cin == 1 and bias is None:    # one input channel: a depthwise convolution, M = F
        return _depthwise(op, x, kernel, g)

    with g.memory_named():
        xpad = zero_padded(xd, ((0, 0),) + g.pads + ((0, 0),)) if any(map(any, g.pads)) \
            else xd

    def window(tap):
        """The rows of xpad that tap ``tap`` multiplies: (N * prod(out), Cin)."""
        index = (slice(None),) + tuple(slice(j * d, j * d + (o - 1) * s + 1, s)
                                       for j, o, s, d in zip(tap, out, g.strides, g.dilation))
        return index, np.ascontiguousarray(xpad[index]).reshape(rows, Cin)

    taps = list(np.ndindex(*ksize))
    if rows * len(taps) * Cin * xd.itemsize <= IM2COL_MAX_BYTES:
        return _conv_im2col(op, inputs, g, xd, xpad, kd, bd, taps, kernels)
    y = kernels.pointwise_forward(window(taps[0])[1], np.ascontiguousarray(kd[taps[0]]), bd)
    for tap in taps[1:]:
        y += kernels.pointwise_forward(window(tap)[1], np.ascontiguousarray(kd[tap]), None)
    y = y.reshape((N,) + out + (F,))

    def gradient(grad_y, inputs, result):
        if isinstance(grad_y, Tensor):
            return _conv_gradient_on_tensors(grad_y, inputs, g, taps, kd.shape, bd is not None,
                                             PointwiseFamily(kernels))
        grad_y = g.to_channels_last(grad_y).reshape(rows, F)
        grad_xpad = np.zeros(xpad.shape, dtype=xpad.dtype)
        grad_kernel = np.empty(kd.shape, dtype=kd.dtype)
        grad_bias = None
        for n, tap in enumerate(taps):
            index, x_rows = window(tap)
            grad_rows, grad_kernel[tap], gb = kernels.pointwise_backward(
                x_rows, grad_y, np.ascontiguousarray(kd[tap]), bd is not None and n == 0)
            grad_bias = gb if n == 0 else grad_bias
            grad_xpad[index] += grad_rows.reshape((N,) + out + (Cin,))
        crop = (slice(None),) + tuple(slice(b, b + L) for (b, _), L in zip(g.pads, xd.shape[1:1 + r]))
        grads = (g.from_channels_last(grad_xpad[crop]), grad_kernel)
        return grads + ((grad_bias,) if bd is not None else ())

    return record(op, inputs, g.from_channels_last(y), gradient=gradient)


# ``conv`` gathers every tap's window side by side (im2col) when that matrix is at most
# this big: one product with K = taps * Cin instead of one thin product (K = Cin) per tap.
IM2COL_MAX_BYTES = 16 * 2**20


def _conv_im2col(op, inputs, g, xd, xpad, kd, bd, taps, kernels):
    """``conv`` as one matrix product: the windows of every tap side by side form
    ``patches`` (rows, taps * Cin), whose column ``t * Cin + c`` holds tap t, channel c:
    exactly the rows of ``kernel.reshape(taps * Cin, F)``. Backward: the pointwise
    gradients of that product, then each tap's columns added back into its window."""
    N, Cin, F, out = xd.shape[0], xd.shape[-1], kd.shape[-1], g.out
    rows, T = N * math.prod(out), len(taps)
    index = [(slice(None),) + tuple(slice(j * d, j * d + (o - 1) * s + 1, s)
                                    for j, o, s, d in zip(tap, out, g.strides, g.dilation))
             for tap in taps]
    # every window at once: a strided view of xpad (N, *out, *k, Cin), copied in one go
    steps = xpad.strides[1:1 + g.rank]
    windows = np.lib.stride_tricks.as_strided(
        xpad, (N,) + out + tuple(kd.shape[:g.rank]) + (Cin,),
        (xpad.strides[0],) + tuple(st * s for st, s in zip(steps, g.strides))
        + tuple(st * d for st, d in zip(steps, g.dilation)) + (xpad.strides[-1],),
        writeable=False)
    with g.memory_named():
        patches = np.ascontiguousarray(windows).reshape(rows, T * Cin)
    w = kd.reshape(T * Cin, F)
    y = kernels.pointwise_forward(patches, w, bd).reshape((N,) + out + (F,))

    def gradient(grad_y, inputs, result):
        if isinstance(grad_y, Tensor):
            return _conv_gradient_on_tensors(grad_y, inputs, g, taps, kd.shape, bd is not None,
                                             PointwiseFamily(kernels))
        grad_y = g.to_channels_last(grad_y).reshape(rows, F)
        grad_patches, grad_w, grad_bias = kernels.pointwise_backward(patches, grad_y, w,
                                                                     bd is not None)
        grad_patches = grad_patches.reshape((N,) + out + (T, Cin))
        grad_xpad = np.zeros(xpad.shape, dtype=xpad.dtype)
        for t in range(T):
            grad_xpad[index[t]] += grad_patches[..., t, :]
        crop = (slice(None),) + tuple(slice(b, b + L) for (b, _), L in
                                      zip(g.pads, xd.shape[1:1 + g.rank]))
        grads = (g.from_channels_last(grad_xpad[crop]), grad_w.reshape(kd.shape))
        return grads + ((grad_bias,) if bd is not None else ())

    return record(op, inputs, g.from_channels_last(y), gradient=gradient)


def _conv_gradient_on_tensors(grad_y, inputs, g, taps, kernel_shape, with_bias, pointwise):
    """``conv``'s gradient built from recorded ops (an enclosing tape is recording): per
    tap, the kernel gradient is ``Pk(window of xpad, g)`` and the input gradient scatters
    ``Pi(g, kernel[tap])`` back into the window; pad, getitem and scatter close on
    themselves and the pointwise family does too, so this differentiates again."""
    x, kernel = to_channels_last(inputs[0], g.channels_first), inputs[1]
    N, Cin, r, F = x.shape[0], x.shape[-1], g.rank, kernel_shape[-1]
    rows = N * math.prod(g.out)
    gy = to_channels_last(grad_y, g.channels_first).reshape(rows, F)
    xpad = pad(x, ((0, 0),) + g.pads + ((0, 0),))
    grad_xpad, grad_taps = None, []
    for tap in taps:
        index = (slice(None),) + tuple(slice(j * d, j * d + (o - 1) * s + 1, s)
                                       for j, o, s, d in zip(tap, g.out, g.strides, g.dilation))
        grad_taps.append(pointwise.kernel_grad(xpad[index].reshape(rows, Cin), gy))
        part = pointwise.input_grad(gy, kernel[tap]).reshape((N,) + g.out + (Cin,))
        part = scatter(part, index, xpad.shape)
        grad_xpad = part if grad_xpad is None else grad_xpad + part
    crop = (slice(None),) + tuple(slice(b, b + L) for (b, _), L in zip(g.pads, x.shape[1:1 + r]))
    grads = (from_channels_last(grad_xpad[crop], g.channels_first),
             stack(grad_taps).reshape(kernel_shape))
    return grads + ((gy.sum(axis=0),) if with_bias else ())


__all__ = ["conv", "conv_output_length", "conv_padding", "depthwise_conv", "separable_conv",
           "use_kernels"]
