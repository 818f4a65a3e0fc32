"""The capped ReLU in plain NumPy: the readable twin of ``activation.pyx``.

``min(max(x, 0), cap)`` (ReLU6 when cap = 6) follows every convolution of a MobileNet, so
its two passes are worth a kernel::

    y      = min(max(x, 0), cap)
    grad_x = grad_y * (0 < x <= cap)        (grad_y where the mask is 1, else 0 * grad_y)

The gradient passes at ``x == cap``: the convention of a ReLU followed by a clip, which is
what ``activations.relu(x, max_value=cap)`` computes (see ``minigrad.ops.nn.capped_relu``).
NumPy needs four passes for the gradient (two comparisons, their "and", the product); the
compiled kernel makes one.
"""
import numpy as np


def capped_relu_forward(x, cap):
    """x (any shape), cap (a number >= 0) -> y = min(max(x, 0), cap), x's dtype."""
    return np.clip(x, 0, cap).astype(x.dtype, copy=False)


def capped_relu_backward(x, grad_y, cap):
    """x, grad_y (same shape) -> grad_x = grad_y * (0 < x <= cap): 0 outside the mask, but
    NaN where grad_y is NaN or infinite there (0 * inf), as any product with the mask gives."""
    return grad_y * ((x > 0) & (x <= cap))
