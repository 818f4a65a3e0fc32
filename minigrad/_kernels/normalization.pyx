# cython: language_level=3
"""Batch normalisation over rows: the compiled twin of ``normalization_twin.py`` (read it first).

* ``batch_norm_forward(x, mean, variance, gamma, beta, epsilon)``
  -> (y, mean, variance, inv_std)
* ``batch_norm_backward(x, grad_y, mean, inv_std, gamma, batch_stats, with_gamma, with_beta)``
  -> (grad_x, grad_gamma or None, grad_beta or None)

Same results to rounding; what changes is the number of passes over the (P, C) matrices.
NumPy makes one pass per operation (x - mean, its square, the scale, the shift...), each with
a temporary as large as x, and its broadcasting runs short inner loops when C is small
(16 to 144 features in a MobileNet). Here:

* forward, training: one pass sums each column's deviations from its first row and their
  squares (a shifted sum: unlike sum(x^2) - P mean^2 it keeps the variance when the mean
  is large, see ``normalization.h``), and one writes ``y = (x - mean) * a + b``;
* backward: one pass sums ``g`` and ``g * (x - mean)`` per column, and one writes
  ``grad_x = g * a - (x - mean) * k - m`` (k and m are per-column constants built from
  those sums);
* the sums are kept in double for both dtypes, so float32 columns of many rows lose
  little to rounding.

The passes are in ``normalization.h``: each walks the rows in order with the columns as
the inner loop, which the compiler vectorizes; the per-column work (C numbers) is done with
NumPy around the passes. One thread: a small network's matrices are a few hundred KB to a
few MB, where a pass takes tens of microseconds, and waking a sleeping OpenMP thread costs
0.1-0.2 ms on the 2-core machine measured (see ``depthwise.pyx``). Sums in a fixed order
give the same bits on every run.
"""
import numpy as np

from . import guards
from . import normalization_twin as twin
from .buffers import empty_reused

from cython cimport floating

ctypedef Py_ssize_t isize


cdef extern from "normalization.h" nogil:
    void mg_column_moments_float(const float* x, isize P, isize C, double* mean,
                                 double* variance)
    void mg_column_moments_double(const double* x, isize P, isize C, double* mean,
                                  double* variance)
    void mg_affine_float(const float* x, const float* mean, const float* a, const float* b,
                         float* y, isize P, isize C)
    void mg_affine_double(const double* x, const double* mean, const double* a,
                          const double* b, double* y, isize P, isize C)
    void mg_gradient_sums_float(const float* x, const float* g, const float* mean, isize P,
                                isize C, double* sum_g, double* sum_gc)
    void mg_gradient_sums_double(const double* x, const double* g, const double* mean,
                                 isize P, isize C, double* sum_g, double* sum_gc)
    void mg_input_gradient_float(const float* x, const float* g, const float* mean,
                                 const float* a, const float* k, const float* m, float* y,
                                 isize P, isize C)
    void mg_input_gradient_double(const double* x, const double* g, const double* mean,
                                  const double* a, const double* k, const double* m,
                                  double* y, isize P, isize C)


# ----------------------------------------------------------------------------------------
# Dispatch on the dtype (one compiled copy per floating type), GIL released
# ----------------------------------------------------------------------------------------

def _run_column_moments(const floating[:, ::1] x, double[::1] mean, double[::1] variance):
    with nogil:
        if floating is float:
            mg_column_moments_float(&x[0, 0], x.shape[0], x.shape[1], &mean[0], &variance[0])
        else:
            mg_column_moments_double(&x[0, 0], x.shape[0], x.shape[1], &mean[0], &variance[0])


def _run_affine(const floating[:, ::1] x, const floating[::1] mean, const floating[::1] a,
                const floating[::1] b, floating[:, ::1] y):
    with nogil:
        if floating is float:
            mg_affine_float(&x[0, 0], &mean[0], &a[0], &b[0], &y[0, 0], x.shape[0], x.shape[1])
        else:
            mg_affine_double(&x[0, 0], &mean[0], &a[0], &b[0], &y[0, 0], x.shape[0], x.shape[1])


def _run_gradient_sums(const floating[:, ::1] x, const floating[:, ::1] g,
                       const floating[::1] mean, double[::1] sum_g, double[::1] sum_gc):
    with nogil:
        if floating is float:
            mg_gradient_sums_float(&x[0, 0], &g[0, 0], &mean[0], x.shape[0], x.shape[1],
                                   &sum_g[0], &sum_gc[0])
        else:
            mg_gradient_sums_double(&x[0, 0], &g[0, 0], &mean[0], x.shape[0], x.shape[1],
                                    &sum_g[0], &sum_gc[0])


def _run_input_gradient(const floating[:, ::1] x, const floating[:, ::1] g,
                        const floating[::1] mean, const floating[::1] a, const floating[::1] k,
                        const floating[::1] m, floating[:, ::1] gx):
    cdef const floating* pk = NULL if k is None else &k[0]
    cdef const floating* pm = NULL if m is None else &m[0]
    with nogil:
        if floating is float:
            mg_input_gradient_float(&x[0, 0], &g[0, 0], &mean[0], &a[0], pk, pm, &gx[0, 0],
                                    x.shape[0], x.shape[1])
        else:
            mg_input_gradient_double(&x[0, 0], &g[0, 0], &mean[0], &a[0], pk, pm, &gx[0, 0],
                                     x.shape[0], x.shape[1])


# ----------------------------------------------------------------------------------------
# Public functions: check, then run
# ----------------------------------------------------------------------------------------

def _rows(name, a):
    guards.check_matrix(name, a, "(P, C)")
    return np.ascontiguousarray(a)


def _column(name, v, C, dtype):
    """A (C,) vector in x's dtype, or None when v is None."""
    if v is None:
        return None
    guards.check_array(name, v)
    if v.shape != (C,):
        raise ValueError(f"`{name}` must have shape ({C},), one number per column of x, "
                         f"received shape {v.shape}.")
    return np.ascontiguousarray(v, dtype=dtype)


def batch_norm_forward(x, mean, variance, gamma, beta, epsilon):
    """See the module docstring and ``normalization_twin.batch_norm_forward``."""
    x = _rows("x", x)
    P, C = x.shape
    dtype = x.dtype
    if (mean is None) != (variance is None):
        raise ValueError("`mean` and `variance` must both be arrays (inference) or both None "
                         f"(training), received mean={type(mean).__name__}, "
                         f"variance={type(variance).__name__}.")
    mean, variance, gamma, beta = (_column(n, v, C, dtype) for n, v in (
        ("mean", mean), ("variance", variance), ("gamma", gamma), ("beta", beta)))
    if P == 0 or C == 0:                  # nothing for the loops to walk
        return twin.batch_norm_forward(x, mean, variance, gamma, beta, epsilon)
    if mean is None:
        mean, variance = np.empty(C), np.empty(C)
        _run_column_moments(x, mean, variance)
        mean, variance = mean.astype(dtype), variance.astype(dtype)
    inv_std = (1.0 / np.sqrt(variance + dtype.type(epsilon))).astype(dtype, copy=False)
    a = gamma * inv_std if gamma is not None else inv_std
    y = empty_reused(x.shape, dtype)
    _run_affine(x, mean, a, beta if beta is not None else np.zeros(C, dtype), y)
    return y, mean, variance, inv_std


def batch_norm_backward(x, grad_y, mean, inv_std, gamma, batch_stats, with_gamma, with_beta):
    """See the module docstring and ``normalization_twin.batch_norm_backward``."""
    x, grad_y = _rows("x", x), _rows("grad_y", grad_y)
    guards.check_same_dtype(("x", "grad_y"), (x, grad_y))
    if grad_y.shape != x.shape:
        raise ValueError(f"`grad_y` must have x's shape {x.shape}, received {grad_y.shape}.")
    P, C = x.shape
    dtype = x.dtype
    mean, inv_std, gamma = (_column(n, v, C, dtype) for n, v in (
        ("mean", mean), ("inv_std", inv_std), ("gamma", gamma)))
    if mean is None or inv_std is None:
        raise TypeError("`mean` and `inv_std` must be arrays (the forward pass's), received None.")
    if P == 0 or C == 0:
        return twin.batch_norm_backward(x, grad_y, mean, inv_std, gamma, batch_stats,
                                        with_gamma, with_beta)
    a = gamma * inv_std if gamma is not None else inv_std
    grad_beta = s = k = m = None
    if batch_stats or with_gamma or with_beta:
        sum_g, sum_gc = np.empty(C), np.empty(C)
        _run_gradient_sums(x, grad_y, mean, sum_g, sum_gc)
        grad_beta, s = sum_g.astype(dtype), sum_gc.astype(dtype)
    if batch_stats:
        k = a * inv_std * inv_std * s / dtype.type(P)
        m = a * grad_beta / dtype.type(P)
    grad_x = empty_reused(x.shape, dtype)
    _run_input_gradient(x, grad_y, mean, a, k, m, grad_x)
    return (grad_x, s * inv_std if with_gamma else None,
            grad_beta if with_beta else None)
