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
the inner loop, which the compiler vectorizes; the per-column work (C numbers) is done in
the Cython functions around them, so that a call costs a few microseconds besides its
passes. One thread: a small network's matrices are a few hundred KB to a few MB, where a
pass takes tens of microseconds, and waking a sleeping thread costs 0.1-0.25 ms on the
2-core machine measured (see ``minigrad/threads.py``). Sums in a fixed order give the same
bits on every run.
"""
import numpy as np

from . import guards
from . import normalization_twin as twin
from .buffers import empty_output

from cython cimport floating
from libc.math cimport sqrt
from libc.stdlib cimport free, malloc

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


cdef inline void _moments(const floating* x, isize P, isize C, double* mean,
                          double* variance) noexcept nogil:
    if floating is float:
        mg_column_moments_float(x, P, C, mean, variance)
    else:
        mg_column_moments_double(x, P, C, mean, variance)


cdef inline void _affine(const floating* x, const floating* mean, const floating* a,
                         const floating* b, floating* y, isize P, isize C) noexcept nogil:
    if floating is float:
        mg_affine_float(x, mean, a, b, y, P, C)
    else:
        mg_affine_double(x, mean, a, b, y, P, C)


cdef inline void _gradient_sums(const floating* x, const floating* g, const floating* mean,
                                isize P, isize C, double* sum_g, double* sum_gc) noexcept nogil:
    if floating is float:
        mg_gradient_sums_float(x, g, mean, P, C, sum_g, sum_gc)
    else:
        mg_gradient_sums_double(x, g, mean, P, C, sum_g, sum_gc)


cdef inline void _input_gradient(const floating* x, const floating* g, const floating* mean,
                                 const floating* a, const floating* k, const floating* m,
                                 floating* gx, isize P, isize C) noexcept nogil:
    if floating is float:
        mg_input_gradient_float(x, g, mean, a, k, m, gx, P, C)
    else:
        mg_input_gradient_double(x, g, mean, a, k, m, gx, P, C)


cdef int _forward(const floating* x, isize P, isize C, const floating* gamma,
                  const floating* beta, double epsilon, bint batch_stats, floating* mean,
                  floating* variance, floating* inv_std, floating* y) noexcept nogil:
    """The whole forward: the batch's mean and variance into mean, variance (training; else
    they are read), then inv_std and y. Returns -1 when out of memory (nothing written to y)."""
    cdef isize c
    cdef double* moments
    cdef floating* ab = <floating*>malloc(2 * C * sizeof(floating))   # a, then b
    if ab == NULL:
        return -1
    if batch_stats:
        moments = <double*>malloc(2 * C * sizeof(double))
        if moments == NULL:
            free(ab)
            return -1
        _moments(x, P, C, moments, moments + C)
        for c in range(C):
            mean[c] = <floating>moments[c]
            variance[c] = <floating>moments[C + c]
        free(moments)
    for c in range(C):
        inv_std[c] = <floating>(1.0 / sqrt(<double>variance[c] + epsilon))
        ab[c] = gamma[c] * inv_std[c] if gamma != NULL else inv_std[c]
        ab[C + c] = beta[c] if beta != NULL else 0
    _affine(x, mean, ab, ab + C, y, P, C)
    free(ab)
    return 0


cdef int _backward(const floating* x, const floating* g, isize P, isize C,
                   const floating* mean, const floating* inv_std, const floating* gamma,
                   bint batch_stats, floating* grad_gamma, floating* grad_beta,
                   floating* gx) noexcept nogil:
    """The whole backward: the column sums (when the batch's statistics were used or gamma
    or beta has a gradient; grad_gamma, grad_beta may be NULL), then gx. Returns -1 when out
    of memory."""
    cdef isize c
    cdef floating s, sum_g
    cdef double* sums = NULL
    cdef floating* akm = <floating*>malloc(3 * C * sizeof(floating))    # a, k, m
    if akm == NULL:
        return -1
    for c in range(C):
        akm[c] = gamma[c] * inv_std[c] if gamma != NULL else inv_std[c]
    if batch_stats or grad_gamma != NULL or grad_beta != NULL:
        sums = <double*>malloc(2 * C * sizeof(double))
        if sums == NULL:
            free(akm)
            return -1
        _gradient_sums(x, g, mean, P, C, sums, sums + C)
        for c in range(C):
            sum_g, s = <floating>sums[c], <floating>sums[C + c]
            if grad_beta != NULL:
                grad_beta[c] = sum_g
            if grad_gamma != NULL:
                grad_gamma[c] = s * inv_std[c]
            akm[C + c] = akm[c] * inv_std[c] * inv_std[c] * s / P
            akm[2 * C + c] = akm[c] * sum_g / P
        free(sums)
    if batch_stats:
        _input_gradient(x, g, mean, akm, akm + C, akm + 2 * C, gx, P, C)
    else:
        _input_gradient(x, g, mean, akm, <floating*>NULL, <floating*>NULL, gx, P, C)
    free(akm)
    return 0


# ----------------------------------------------------------------------------------------
# Dispatch on the dtype (one compiled copy per floating type), GIL released
# ----------------------------------------------------------------------------------------

def _run_forward(const floating[:, ::1] x, const floating[::1] gamma, const floating[::1] beta,
                 double epsilon, bint batch_stats, floating[::1] mean, floating[::1] variance,
                 floating[::1] inv_std, floating[:, ::1] y):
    cdef const floating* pg = NULL if gamma is None else &gamma[0]
    cdef const floating* pb = NULL if beta is None else &beta[0]
    cdef int status
    with nogil:
        status = _forward(&x[0, 0], x.shape[0], x.shape[1], pg, pb, epsilon, batch_stats,
                          &mean[0], &variance[0], &inv_std[0], &y[0, 0])
    if status:
        raise MemoryError("batch_norm_forward: no memory for its per-column work arrays.")


def _run_backward(const floating[:, ::1] x, const floating[:, ::1] g, const floating[::1] mean,
                  const floating[::1] inv_std, const floating[::1] gamma, bint batch_stats,
                  floating[::1] grad_gamma, floating[::1] grad_beta, floating[:, ::1] gx):
    cdef const floating* pg = NULL if gamma is None else &gamma[0]
    cdef floating* pgg = NULL if grad_gamma is None else &grad_gamma[0]
    cdef floating* pgb = NULL if grad_beta is None else &grad_beta[0]
    cdef int status
    with nogil:
        status = _backward(&x[0, 0], &g[0, 0], x.shape[0], x.shape[1], &mean[0], &inv_std[0],
                           pg, batch_stats, pgg, pgb, &gx[0, 0])
    if status:
        raise MemoryError("batch_norm_backward: no memory for its per-column work arrays.")


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
    if type(v) is np.ndarray and v.dtype == dtype and v.shape == (C,) and v.flags.c_contiguous:
        return v                          # what the op passes: nothing to check or convert
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
    mean, variance = _column("mean", mean, C, dtype), _column("variance", variance, C, dtype)
    gamma, beta = _column("gamma", gamma, C, dtype), _column("beta", beta, C, dtype)
    if P == 0 or C == 0:                  # nothing for the loops to walk
        return twin.batch_norm_forward(x, mean, variance, gamma, beta, epsilon)
    batch_stats = mean is None
    if batch_stats:
        mean, variance = np.empty(C, dtype), np.empty(C, dtype)
    inv_std = np.empty(C, dtype)
    y = empty_output(x.shape, dtype)
    _run_forward(x, gamma, beta, float(epsilon), batch_stats, mean, variance, inv_std, y)
    return y, mean, variance, inv_std


def batch_norm_backward(x, grad_y, mean, inv_std, gamma, batch_stats, with_gamma, with_beta):
    """See the module docstring and ``normalization_twin.batch_norm_backward``."""
    x, grad_y = _rows("x", x), _rows("grad_y", grad_y)
    guards.check_same_dtype(("x", "grad_y"), (x, grad_y))
    if grad_y.shape != x.shape:
        raise ValueError(f"`grad_y` must have x's shape {x.shape}, received {grad_y.shape}.")
    P, C = x.shape
    dtype = x.dtype
    mean, inv_std = _column("mean", mean, C, dtype), _column("inv_std", inv_std, C, dtype)
    gamma = _column("gamma", gamma, C, dtype)
    if mean is None or inv_std is None:
        raise TypeError("`mean` and `inv_std` must be arrays (the forward pass's), received None.")
    if P == 0 or C == 0:
        return twin.batch_norm_backward(x, grad_y, mean, inv_std, gamma, batch_stats,
                                        with_gamma, with_beta)
    grad_gamma = np.empty(C, dtype) if with_gamma else None
    grad_beta = np.empty(C, dtype) if with_beta else None
    grad_x = empty_output(x.shape, dtype)
    _run_backward(x, grad_y, mean, inv_std, gamma, bool(batch_stats), grad_gamma, grad_beta,
                  grad_x)
    return grad_x, grad_gamma, grad_beta
