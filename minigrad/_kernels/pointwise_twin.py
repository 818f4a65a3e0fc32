"""Pointwise (1x1) convolution in plain NumPy: the readable twin of ``pointwise.pyx``.

A 1x1 convolution in channels_last layout mixes channels independently at every position,
so after flattening batch and spatial axes into rows it is one matrix product:

* ``x``     (P, Cin)   one row per position (P = N * prod(spatial))
* ``w``     (Cin, F)
* ``bias``  (F,) or None
* ``y``     (P, F)     ``y[p, f] = sum_c x[p, c] * w[c, f] + bias[f]``

The gradients are matrix products too: ``grad_x = grad_y @ w.T``,
``grad_w = x.T @ grad_y`` and ``grad_bias = grad_y.sum(axis=0)``; ``pointwise_backward``
returns all three (the compiled kernel computes them in one pass over ``grad_y``).
"""
import numpy as np


def pointwise_forward(x, w, bias):
    """x (P, Cin), w (Cin, F), bias (F,) or None -> y (P, F) = x @ w + bias."""
    y = x @ w
    if bias is not None:
        y += bias
    return y


def pointwise_backward_input(grad_y, w):
    """grad_y (P, F), w (Cin, F) -> grad_x (P, Cin) = grad_y @ w.T."""
    return grad_y @ w.T


def pointwise_backward_kernel(x, grad_y, with_bias):
    """x (P, Cin), grad_y (P, F) -> (grad_w (Cin, F) = x.T @ grad_y, grad_bias (F,) or None)."""
    grad_w = x.T @ grad_y
    grad_bias = grad_y.sum(axis=0) if with_bias else None
    return grad_w, grad_bias


def pointwise_backward(x, grad_y, w, with_bias):
    """x (P, Cin), grad_y (P, F), w (Cin, F) -> (grad_x, grad_w, grad_bias or None)."""
    grad_w, grad_bias = pointwise_backward_kernel(x, grad_y, with_bias)
    return pointwise_backward_input(grad_y, w), grad_w, grad_bias
