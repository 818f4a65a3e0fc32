"""The gradients of a convolution are convolutions: a family of ops that closes on itself.

A depthwise convolution ``y = F(x, k)`` is linear in ``x`` and linear in ``k``. Its two
gradients are the two *adjoint* maps, and both are convolutions again:

* ``Bi(g, k)``, the input gradient, is a **transposed depthwise convolution** of the
  upstream gradient ``g`` with the same kernel: every output position hands ``g`` back to
  the inputs its window read, weighted by the kernel taps
  (``depthwise_backward_input`` in :mod:`minigrad._kernels`).
* ``Bk(x, g)``, the kernel gradient, is a **per-channel correlation** of the input with
  the upstream gradient: tap j of channel c sums ``x[o*s + j*d, c] * g[o, c]`` over the
  positions o (``depthwise_backward_kernel``).

All three are bilinear, and the adjoint of an adjoint is the map itself, so their own
gradients are members of the family (``h`` is the gradient arriving at each op)::

    y = F(x, k):    dx = Bi(h, k)     dk = Bk(x, h)
    u = Bi(g, k):   dg = F(h, k)      dk = Bk(h, g)
    v = Bk(x, g):   dx = Bi(g, h)     dg = F(x, h)

(each line is ``<h, op(a, b)>`` read as a function of ``a`` and of ``b``). So a
depthwise convolution can be differentiated any number of times and every derivative
runs on the same three kernels, compiled or NumPy twin. The pointwise (1x1) convolution,
a matrix product ``P(z, w) = z w`` on rows, closes the same way with
``Pi(g, w) = g w^T`` and ``Pk(z, g) = z^T g``.

Each function below computes on the kernels when given arrays (what a first-order
backward pass does) and records itself as an op, with the gradient above, when given a
Tensor (an enclosing tape recording the backward pass).
"""
import numpy as np

from ..tape import record
from ..tensor import Tensor
from .math import as_tensor
from .shapes import transpose


def _bilinear(name, compute, grad_a, grad_b, a, b):
    """``compute(a, b)`` on arrays, or as a recorded op when ``a`` or ``b`` is a Tensor,
    with ``grad_a(h, a, b)`` and ``grad_b(h, a, b)`` as its gradient."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        return compute(np.ascontiguousarray(a), np.ascontiguousarray(b))
    a, b = as_tensor(a), as_tensor(b)
    return record(name, (a, b), compute(np.ascontiguousarray(a.data),
                                        np.ascontiguousarray(b.data)),
                  gradient=lambda h, inputs, out: (grad_a(h, *inputs), grad_b(h, *inputs)))


class DepthwiseFamily:
    """F, Bi and Bk for one geometry (channels_last shapes of x and of the kernel,
    strides, dilation, pads) on one kernel backend."""

    def __init__(self, kernels, x_shape, kernel_shape, strides, dilation, pads):
        self.kernels = kernels
        self.x_shape, self.kernel_shape = tuple(x_shape), tuple(kernel_shape)
        self.geometry = (strides, dilation, pads)

    def forward(self, x, k):
        """y = F(x, k): the depthwise convolution."""
        return _bilinear("depthwise_conv",
                         lambda x, k: self.kernels.depthwise_forward(x, k, *self.geometry),
                         lambda h, x, k: self.input_grad(h, k),
                         lambda h, x, k: self.kernel_grad(x, h), x, k)

    def input_grad(self, g, k):
        """Bi(g, k): the transposed depthwise convolution of ``g`` with the kernel."""
        return _bilinear("depthwise_input_grad",
                         lambda g, k: self.kernels.depthwise_backward_input(
                             g, k, self.x_shape, *self.geometry),
                         lambda h, g, k: self.forward(h, k),
                         lambda h, g, k: self.kernel_grad(h, g), g, k)

    def kernel_grad(self, x, g):
        """Bk(x, g): the per-channel correlation of the input with ``g``."""
        return _bilinear("depthwise_kernel_grad",
                         lambda x, g: self.kernels.depthwise_backward_kernel(
                             x, g, self.kernel_shape, *self.geometry),
                         lambda h, x, g: self.input_grad(g, h),
                         lambda h, x, g: self.forward(x, h), x, g)


class PointwiseFamily:
    """P, Pi and Pk: the 1x1 convolution on rows (N * positions, channels)."""

    def __init__(self, kernels):
        self.kernels = kernels

    def forward(self, z, w):
        """P(z, w) = z w."""
        return _bilinear("pointwise_conv",
                         lambda z, w: self.kernels.pointwise_forward(z, w, None),
                         lambda h, z, w: self.input_grad(h, w),
                         lambda h, z, w: self.kernel_grad(z, h), z, w)

    def input_grad(self, g, w):
        """Pi(g, w) = g w^T."""
        return _bilinear("pointwise_input_grad",
                         lambda g, w: self.kernels.pointwise_backward_input(g, w),
                         lambda h, g, w: self.forward(h, w),
                         lambda h, g, w: self.kernel_grad(h, g), g, w)

    def kernel_grad(self, z, g):
        """Pk(z, g) = z^T g."""
        return _bilinear("pointwise_kernel_grad",
                         lambda z, g: self.kernels.pointwise_backward_kernel(z, g, False)[0],
                         lambda h, z, g: self.input_grad(g, h),
                         lambda h, z, g: self.forward(z, h), z, g)


def to_channels_last(a, channels_first):
    """(N, C, *spatial) -> (N, *spatial, C) when ``channels_first``; arrays come out
    C-contiguous (what the kernels need), Tensors through the transpose op."""
    if isinstance(a, Tensor):
        return transpose(a, (0,) + tuple(range(2, a.ndim)) + (1,)) if channels_first else a
    return np.ascontiguousarray(np.moveaxis(a, 1, -1) if channels_first else a)


def from_channels_last(a, channels_first):
    if not channels_first:
        return a
    if isinstance(a, Tensor):
        return transpose(a, (0, a.ndim - 1) + tuple(range(1, a.ndim - 1)))
    return np.moveaxis(a, -1, 1)
