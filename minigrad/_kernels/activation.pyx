# cython: language_level=3
"""The capped ReLU: the compiled twin of ``activation_twin.py`` (read it first).

* ``capped_relu_forward(x, cap)`` -> y = min(max(x, 0), cap)
* ``capped_relu_backward(x, grad_y, cap)`` -> grad_x = grad_y * (0 < x <= cap)

One pass each over contiguous memory (the loops are in ``activation.h``); the gradient
reads x and grad_y once, where NumPy makes four passes and two boolean temporaries. One
thread, for the reason ``normalization.pyx`` gives.
"""
import numpy as np

from . import guards
from .buffers import empty_output

from cython cimport floating

ctypedef Py_ssize_t isize

cdef extern from "activation.h" nogil:
    void mg_capped_relu_float(const float* x, float cap, float* y, isize n)
    void mg_capped_relu_double(const double* x, double cap, double* y, isize n)
    void mg_capped_relu_gradient_float(const float* x, const float* g, float cap, float* gx,
                                       isize n)
    void mg_capped_relu_gradient_double(const double* x, const double* g, double cap,
                                        double* gx, isize n)


def _run_forward(const floating[::1] x, double cap, floating[::1] y):
    with nogil:
        if floating is float:
            mg_capped_relu_float(&x[0], <float>cap, &y[0], x.shape[0])
        else:
            mg_capped_relu_double(&x[0], cap, &y[0], x.shape[0])


def _run_backward(const floating[::1] x, const floating[::1] g, double cap, floating[::1] gx):
    with nogil:
        if floating is float:
            mg_capped_relu_gradient_float(&x[0], &g[0], <float>cap, &gx[0], x.shape[0])
        else:
            mg_capped_relu_gradient_double(&x[0], &g[0], cap, &gx[0], x.shape[0])


def _flat(name, a):
    guards.check_array(name, a)
    return np.ascontiguousarray(a).reshape(-1)


def _cap(cap):
    if isinstance(cap, (bool, np.bool_)) or not isinstance(cap, (int, float, np.integer,
                                                                    np.floating)):
        raise TypeError(f"`cap` must be a number, received {cap!r}.")
    if not cap >= 0:
        raise ValueError(f"`cap` must be a number >= 0, received {cap!r}.")
    return float(cap)


def capped_relu_forward(x, cap):
    """See the module docstring and ``activation_twin.capped_relu_forward``."""
    flat, cap = _flat("x", x), _cap(cap)
    y = empty_output(np.shape(x), flat.dtype)
    if flat.size:
        _run_forward(flat, cap, y.reshape(-1))
    return y


def capped_relu_backward(x, grad_y, cap):
    """See the module docstring and ``activation_twin.capped_relu_backward``."""
    flat, g, cap = _flat("x", x), _flat("grad_y", grad_y), _cap(cap)
    guards.check_same_dtype(("x", "grad_y"), (flat, g))
    if np.shape(grad_y) != np.shape(x):
        raise ValueError(f"`grad_y` must have x's shape {np.shape(x)}, received "
                         f"{np.shape(grad_y)}.")
    grad_x = empty_output(np.shape(x), flat.dtype)
    if flat.size:
        _run_backward(flat, g, cap, grad_x.reshape(-1))
    return grad_x
