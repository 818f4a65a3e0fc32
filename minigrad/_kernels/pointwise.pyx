# cython: language_level=3
"""Pointwise (1x1) convolution kernels: one BLAS matrix product each, called from Cython.

Same functions, same signatures and same results as ``pointwise_twin.py`` (read it first):

* ``pointwise_forward(x, w, bias)``        x (P, Cin), w (Cin, F), bias (F,)|None -> y (P, F)
* ``pointwise_backward_input(grad_y, w)``  -> grad_x (P, Cin) = grad_y @ w.T
* ``pointwise_backward_kernel(x, grad_y, with_bias)`` -> (x.T @ grad_y, grad_y.sum(0) or None)

BLAS (``sgemm``/``dgemm`` from ``scipy.linalg.cython_blas``) is column-major while our arrays
are row-major (C order). A row-major (a, b) matrix is the same memory as a column-major (b, a)
matrix — its transpose — so ``y = x @ w`` is computed as the column-major product
``y.T = w.T @ x.T``, with every operand passed as it lies in memory, nothing copied.

The bias is fused into the forward product: ``y`` is first filled with the bias rows and the
product is accumulated on top of it (``beta = 1``). BLAS would otherwise spend the same pass
zeroing ``y``.
"""
import numpy as np

cimport numpy as cnp
cimport cython
from cython cimport floating
from cython.parallel cimport prange
from libc.string cimport memcpy, memset
from scipy.linalg.cython_blas cimport dgemm, sgemm

cnp.import_array()

ctypedef Py_ssize_t isize

# BLAS takes 32-bit int sizes.
cdef isize INT_MAX = 2147483647


cdef void _gemm(char transa, char transb, int m, int n, int k, floating alpha,
                const floating* a, int lda, const floating* b, int ldb, floating beta,
                floating* c, int ldc) noexcept nogil:
    """Column-major C (m, n) = alpha * op(A) @ op(B) + beta * C."""
    if floating is float:
        sgemm(&transa, &transb, &m, &n, &k, &alpha, <float*>a, &lda, <float*>b, &ldb, &beta, c, &ldc)
    else:
        dgemm(&transa, &transb, &m, &n, &k, &alpha, <double*>a, &lda, <double*>b, &ldb, &beta, c, &ldc)


cdef void _forward(const floating* x, const floating* w, const floating* bias, floating* y,
                   isize P, isize Cin, isize F, int nthreads) noexcept nogil:
    cdef isize p
    cdef floating beta = 0
    if bias != NULL:
        for p in prange(P, schedule="static", num_threads=nthreads):
            memcpy(y + p * F, bias, F * sizeof(floating))
        beta = 1
    # column-major: y.T (F, P) = w.T (F, Cin) @ x.T (Cin, P)
    _gemm(c'N', c'N', <int>F, <int>P, <int>Cin, 1, w, <int>F, x, <int>Cin, beta, y, <int>F)


cdef void _backward_input(const floating* gy, const floating* w, floating* gx,
                          isize P, isize Cin, isize F) noexcept nogil:
    # column-major: gx.T (Cin, P) = w (Cin, F) @ gy.T (F, P); w in memory is w.T column-major
    _gemm(c'T', c'N', <int>Cin, <int>P, <int>F, 1, w, <int>F, gy, <int>F, 0, gx, <int>Cin)


cdef void _backward_kernel(const floating* x, const floating* gy, floating* gw,
                           floating* partial_bias, isize nchunks,
                           isize P, isize Cin, isize F) noexcept nogil:
    # column-major: gw.T (F, Cin) = gy.T (F, P) @ x (P, Cin); x in memory is x.T column-major
    _gemm(c'N', c'T', <int>F, <int>Cin, <int>P, 1, gy, <int>F, x, <int>Cin, 0, gw, <int>F)
    if partial_bias == NULL:
        return
    # grad_bias = column sums of gy; chunk t sums rows [p0, p1) into its own partial row
    cdef isize t, p, f, p0, p1
    cdef floating* acc
    cdef const floating* row
    for t in prange(nchunks, schedule="static", chunksize=1, num_threads=nchunks):
        acc = partial_bias + t * F
        memset(acc, 0, F * sizeof(floating))
        p0 = t * P // nchunks
        p1 = (t + 1) * P // nchunks
        for p in range(p0, p1):
            row = gy + p * F
            for f in range(F):
                acc[f] += row[f]


_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


@cython.boundscheck(True)
@cython.wraparound(True)
def _check_matrix(name, a, shape_doc):
    if not isinstance(a, np.ndarray):
        raise TypeError(f"`{name}` must be a numpy.ndarray, received {type(a).__name__}.")
    if a.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"`{name}` must have dtype float32 or float64, received dtype {a.dtype}.")
    if a.ndim != 2:
        raise ValueError(f"`{name}` must be a 2D array {shape_doc}, received shape {a.shape}.")
    if a.shape[0] > INT_MAX or a.shape[1] > INT_MAX:
        raise ValueError(f"`{name}` has shape {a.shape}; BLAS needs dimensions below 2**31.")


@cython.boundscheck(True)
@cython.wraparound(True)
def _check_dtypes(**arrays):
    if len({a.dtype for a in arrays.values()}) > 1:
        got = ", ".join(f"{n}={a.dtype}" for n, a in arrays.items())
        raise TypeError(f"All arrays must share one dtype, received {got}.")


@cython.boundscheck(True)
@cython.wraparound(True)
def _check_positive(name, a):
    if a.shape[1] == 0 or (name in ("w",) and a.shape[0] == 0):
        raise ValueError(f"`{name}` must have positive channel dimensions, received shape {a.shape}.")


@cython.boundscheck(True)
@cython.wraparound(True)
def _thread_count():
    import os
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


@cython.boundscheck(True)
@cython.wraparound(True)
def pointwise_forward(x, w, bias):
    """y = x @ w + bias. x (P, Cin), w (Cin, F), bias (F,) or None -> y (P, F)."""
    _check_matrix("x", x, "(P, Cin)")
    _check_matrix("w", w, "(Cin, F)")
    _check_dtypes(x=x, w=w)
    _check_positive("w", w)
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"`x` has {x.shape[1]} channels (shape {x.shape}) but `w` expects "
                         f"{w.shape[0]} (shape {w.shape}).")
    if bias is not None:
        if not isinstance(bias, np.ndarray):
            raise TypeError(f"`bias` must be a numpy.ndarray or None, received {type(bias).__name__}.")
        _check_dtypes(x=x, bias=bias)
        if bias.shape != (w.shape[1],):
            raise ValueError(f"`bias` must have shape ({w.shape[1]},), received {bias.shape}.")
        bias = np.ascontiguousarray(bias)
    x = np.ascontiguousarray(x)
    w = np.ascontiguousarray(w)
    cdef isize P = x.shape[0], Cin = x.shape[1], F = w.shape[1]
    y = np.empty((P, F), dtype=x.dtype)
    if P == 0:
        return y
    cdef const void* bp = NULL if bias is None else cnp.PyArray_DATA(bias)
    cdef void* p_x = cnp.PyArray_DATA(x)
    cdef void* p_w = cnp.PyArray_DATA(w)
    cdef void* p_y = cnp.PyArray_DATA(y)
    cdef int nthreads = 1 if P * F < 65536 else _thread_count()
    if x.dtype == np.float32:
        with nogil:
            _forward[float](<const float*>p_x, <const float*>p_w,
                            <const float*>bp,
                            <float*>p_y, P, Cin, F, nthreads)
    else:
        with nogil:
            _forward[double](<const double*>p_x, <const double*>p_w,
                             <const double*>bp,
                             <double*>p_y, P, Cin, F, nthreads)
    return y


@cython.boundscheck(True)
@cython.wraparound(True)
def pointwise_backward_input(grad_y, w):
    """grad_x = grad_y @ w.T. grad_y (P, F), w (Cin, F) -> grad_x (P, Cin)."""
    _check_matrix("grad_y", grad_y, "(P, F)")
    _check_matrix("w", w, "(Cin, F)")
    _check_dtypes(grad_y=grad_y, w=w)
    _check_positive("w", w)
    if grad_y.shape[1] != w.shape[1]:
        raise ValueError(f"`grad_y` has {grad_y.shape[1]} columns (shape {grad_y.shape}) but `w` has "
                         f"{w.shape[1]} filters (shape {w.shape}).")
    grad_y = np.ascontiguousarray(grad_y)
    w = np.ascontiguousarray(w)
    cdef isize P = grad_y.shape[0], Cin = w.shape[0], F = w.shape[1]
    grad_x = np.empty((P, Cin), dtype=grad_y.dtype)
    if P == 0:
        return grad_x
    cdef void* p_grad_y = cnp.PyArray_DATA(grad_y)
    cdef void* p_w = cnp.PyArray_DATA(w)
    cdef void* p_grad_x = cnp.PyArray_DATA(grad_x)
    if grad_y.dtype == np.float32:
        with nogil:
            _backward_input[float](<const float*>p_grad_y, <const float*>p_w,
                                   <float*>p_grad_x, P, Cin, F)
    else:
        with nogil:
            _backward_input[double](<const double*>p_grad_y, <const double*>p_w,
                                    <double*>p_grad_x, P, Cin, F)
    return grad_x


@cython.boundscheck(True)
@cython.wraparound(True)
def pointwise_backward_kernel(x, grad_y, with_bias):
    """x (P, Cin), grad_y (P, F) -> (grad_w = x.T @ grad_y (Cin, F), grad_bias = grad_y.sum(0) or None)."""
    _check_matrix("x", x, "(P, Cin)")
    _check_matrix("grad_y", grad_y, "(P, F)")
    _check_dtypes(x=x, grad_y=grad_y)
    _check_positive("x", x)
    _check_positive("grad_y", grad_y)
    if x.shape[0] != grad_y.shape[0]:
        raise ValueError(f"`x` and `grad_y` must have the same number of rows, received shapes "
                         f"{x.shape} and {grad_y.shape}.")
    x = np.ascontiguousarray(x)
    grad_y = np.ascontiguousarray(grad_y)
    cdef isize P = x.shape[0], Cin = x.shape[1], F = grad_y.shape[1]
    cdef isize nchunks = max(1, min(_thread_count(), P * F // 65536))
    grad_w = np.empty((Cin, F), dtype=x.dtype)
    partial = np.empty((nchunks, F), dtype=x.dtype) if with_bias else None
    if P == 0:
        grad_w[...] = 0
        return grad_w, (np.zeros(F, dtype=x.dtype) if with_bias else None)
    cdef void* pb = NULL if partial is None else cnp.PyArray_DATA(partial)
    cdef void* p_x = cnp.PyArray_DATA(x)
    cdef void* p_grad_y = cnp.PyArray_DATA(grad_y)
    cdef void* p_grad_w = cnp.PyArray_DATA(grad_w)
    if x.dtype == np.float32:
        with nogil:
            _backward_kernel[float](<const float*>p_x, <const float*>p_grad_y,
                                    <float*>p_grad_w, <float*>pb, nchunks, P, Cin, F)
    else:
        with nogil:
            _backward_kernel[double](<const double*>p_x, <const double*>p_grad_y,
                                     <double*>p_grad_w, <double*>pb, nchunks, P, Cin, F)
    if not with_bias:
        return grad_w, None
    return grad_w, (partial[0].copy() if nchunks == 1 else partial.sum(axis=0))
