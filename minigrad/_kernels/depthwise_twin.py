"""Depthwise convolution in plain NumPy: the readable twin of ``depthwise.pyx``.

Read this file first; the Cython module computes exactly the same thing, faster.

Layout is channels_last and the spatial rank ``r`` is 1 or 2:

* ``x``       (N, *spatial, C)        the input
* ``kernel``  (*k, C, M)              one small filter per input channel, M of them
* ``y``       (N, *out, C*M)          output channel ``o = c*M + m``

With ``xpad`` the input zero-padded by ``pads[i] = (before, after)`` on spatial axis ``i``::

    y[n, o_1..o_r, c*M + m] = sum_{j_1..j_r} kernel[j_1..j_r, c, m]
                                           * xpad[n, o_1*s_1 + j_1*d_1, .., o_r*s_r + j_r*d_r, c]

(cross-correlation, no kernel flip; ``s`` = strides, ``d`` = dilation). The output length of
axis ``i`` is ``(L_i + before_i + after_i - d_i*(k_i - 1) - 1) // s_i + 1``.

Every function loops over the kernel *taps* ``j``: for a fixed tap, the input positions
read by all outputs form one strided slice of ``xpad``, so each tap is a single vectorised
NumPy expression. That loop order is also the one the Cython kernels use.

These functions assume their arguments are valid (the Cython wrappers check them, and
``minigrad.ops.convolution`` checks before calling either backend).
"""
import numpy as np


def output_length(length, kernel_size, stride, dilation, pad_before, pad_after):
    """Output length of one spatial axis: ``(L + before + after - d*(k-1) - 1) // s + 1``."""
    return (length + pad_before + pad_after - dilation * (kernel_size - 1) - 1) // stride + 1


def _tap_slices(tap, out_shape, strides, dilation):
    """The slices of ``xpad`` (spatial axes only) that kernel tap ``tap`` reads.

    Output position ``o`` reads ``xpad[o*s + j*d]``, so along one axis the tap reads
    ``j*d, j*d + s, ..., j*d + (out-1)*s``.
    """
    return tuple(slice(j * d, j * d + (o - 1) * s + 1, s)
                 for j, o, s, d in zip(tap, out_shape, strides, dilation))


def _out_shape(spatial, kernel_size, strides, dilation, pads):
    return tuple(output_length(L, k, s, d, b, a)
                 for L, k, s, d, (b, a) in zip(spatial, kernel_size, strides, dilation, pads))


def depthwise_forward(x, kernel, strides, dilation, pads):
    """Depthwise convolution. x (N, *spatial, C), kernel (*k, C, M) -> y (N, *out, C*M)."""
    r = kernel.ndim - 2
    kernel_size, (C, M) = kernel.shape[:r], kernel.shape[r:]
    N = x.shape[0]
    out = _out_shape(x.shape[1:1 + r], kernel_size, strides, dilation, pads)
    xpad = np.pad(x, [(0, 0), *pads, (0, 0)])
    y = np.zeros((N, *out, C, M), dtype=x.dtype)
    for tap in np.ndindex(*kernel_size):
        window = xpad[(slice(None),) + _tap_slices(tap, out, strides, dilation)]  # (N, *out, C)
        y += window[..., None] * kernel[tap]                                      # (C, M) broadcast
    return y.reshape(N, *out, C * M)


def depthwise_backward_input(grad_y, kernel, input_shape, strides, dilation, pads):
    """Gradient of ``depthwise_forward`` w.r.t. ``x``.

    grad_y (N, *out, C*M), kernel (*k, C, M) -> grad_x of shape ``input_shape`` (N, *spatial, C)::

        grad_xpad[n, o*s + j*d, c] += sum_m kernel[j, c, m] * grad_y[n, o, c*M + m]

    then the padding is cut off again (padded zeros have no gradient to pass on).
    """
    r = kernel.ndim - 2
    kernel_size, (C, M) = kernel.shape[:r], kernel.shape[r:]
    N, out = grad_y.shape[0], grad_y.shape[1:1 + r]
    g = grad_y.reshape(N, *out, C, M)
    padded_shape = [L + b + a for L, (b, a) in zip(input_shape[1:1 + r], pads)]
    grad_xpad = np.zeros((N, *padded_shape, C), dtype=grad_y.dtype)
    for tap in np.ndindex(*kernel_size):
        sl = (slice(None),) + _tap_slices(tap, out, strides, dilation)
        grad_xpad[sl] += (g * kernel[tap]).sum(axis=-1)
    crop = tuple(slice(b, b + L) for L, (b, _) in zip(input_shape[1:1 + r], pads))
    return np.ascontiguousarray(grad_xpad[(slice(None),) + crop])


def depthwise_backward_kernel(x, grad_y, kernel_shape, strides, dilation, pads):
    """Gradient of ``depthwise_forward`` w.r.t. ``kernel``.

    x (N, *spatial, C), grad_y (N, *out, C*M) -> grad_kernel of shape ``kernel_shape`` (*k, C, M)::

        grad_kernel[j, c, m] = sum_{n, o} xpad[n, o*s + j*d, c] * grad_y[n, o, c*M + m]
    """
    r = len(kernel_shape) - 2
    kernel_size, (C, M) = tuple(kernel_shape[:r]), tuple(kernel_shape[r:])
    N, out = grad_y.shape[0], grad_y.shape[1:1 + r]
    g = grad_y.reshape(N, *out, C, M)
    xpad = np.pad(x, [(0, 0), *pads, (0, 0)])
    grad_kernel = np.zeros(tuple(kernel_shape), dtype=x.dtype)
    batch_and_spatial = tuple(range(r + 1))
    for tap in np.ndindex(*kernel_size):
        window = xpad[(slice(None),) + _tap_slices(tap, out, strides, dilation)]  # (N, *out, C)
        grad_kernel[tap] = (window[..., None] * g).sum(axis=batch_and_spatial)    # (C, M)
    return grad_kernel


def depthwise_backward(grad_y, x, kernel, strides, dilation, pads):
    """Both gradients of ``depthwise_forward``: ``(grad_x, grad_kernel)``.

    Here simply the two functions above; the compiled kernel computes both in one pass over
    ``grad_y`` (each grad_y row is read once, for the input gradient and the kernel gradient).
    """
    return (depthwise_backward_input(grad_y, kernel, x.shape, strides, dilation, pads),
            depthwise_backward_kernel(x, grad_y, kernel.shape, strides, dilation, pads))
