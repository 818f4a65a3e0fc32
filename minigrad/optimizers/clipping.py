"""Gradient clipping, step 2 of every optimizer step (``clipnorm``, ``global_clipnorm``,
``clipvalue``; ``minigrad/optimizers/base.py`` has the whole step). Each works on NumPy
arrays in the gradient's dtype; the three are ``minigrad.optimizers`` names too.
"""
import math

import numpy as np


def clip_by_norm(grad, clipnorm):
    """Rescale one gradient whose norm is larger than ``clipnorm`` down to ``clipnorm``.

    Formula:
        grad * clipnorm / max(||grad||, clipnorm)

    Args:
        grad (ndarray): the gradient.
        clipnorm (float): the largest norm let through, > 0.

    Returns:
        ndarray: the rescaled gradient, ``grad``'s dtype.

    Example:
        >>> optimizers.clip_by_norm(np.array([3.0, 4.0]), 1.0).round(4).tolist()
        [0.6, 0.8]
    """
    norm = np.sqrt(np.sum(np.square(grad, dtype=np.float64)))
    return grad * grad.dtype.type(clipnorm / max(norm, clipnorm))


def clip_by_global_norm(grads, clipnorm):
    """Rescale all gradients together so their joint norm G is at most ``clipnorm``.

    Formula:
        g_i * clipnorm / max(G, clipnorm),   G = sqrt(sum of every ||g_i||^2)
        (a non-finite G gives NaN gradients, as in Keras)

    Args:
        grads (list of ndarray): the gradients.
        clipnorm (float): the largest joint norm let through, > 0.

    Returns:
        list of ndarray: the rescaled gradients.

    Example:
        >>> grads = [np.array([3.0]), np.array([4.0])]
        >>> [g.tolist() for g in optimizers.clip_by_global_norm(grads, 1.0)]
        [[0.6000000000000001], [0.8]]
    """
    total = math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads))
    scale = clipnorm / max(total, clipnorm) if math.isfinite(total) else math.nan
    return [g * g.dtype.type(scale) for g in grads]


def clip_by_value(grad, clipvalue):
    """Clip every element of a gradient to ``[-clipvalue, clipvalue]``.

    Args:
        grad (ndarray): the gradient.
        clipvalue (float): the largest magnitude let through, >= 0.

    Returns:
        ndarray: the clipped gradient, ``grad``'s dtype.

    Example:
        >>> optimizers.clip_by_value(np.array([-3.0, 0.5, 2.0]), 1.0).tolist()
        [-1.0, 0.5, 1.0]
    """
    return np.clip(grad, grad.dtype.type(-clipvalue), grad.dtype.type(clipvalue))
