# cython: language_level=3
"""Pointwise (1x1) convolution kernels: BLAS matrix products called from Cython.

Same functions, same signatures and same results as ``pointwise_twin.py`` (read it first):

* ``pointwise_forward(x, w, bias)``        x (P, Cin), w (Cin, F), bias (F,)|None -> y (P, F)
* ``pointwise_backward_input(grad_y, w)``  -> grad_x (P, Cin) = grad_y @ w.T
* ``pointwise_backward_kernel(x, grad_y, with_bias)`` -> (x.T @ grad_y, grad_y.sum(0) or None)

BLAS (``sgemm``/``dgemm`` from ``scipy.linalg.cython_blas``) is column-major while our arrays
are row-major (C order). A row-major (a, b) matrix is the same memory as a column-major (b, a)
matrix — its transpose — so ``y = x @ w`` is computed as the column-major product
``y.T = w.T @ x.T``, with every operand passed as it lies in memory, nothing copied.

Threads: the P rows are cut into blocks and OpenMP threads share the blocks (guided
schedule), one BLAS call per block. Blocks are small enough (m*n*k below 262144) that OpenBLAS runs each call on the
calling thread, so the whole framework uses one thread pool — two pools spinning against
each other on a 2-core laptop (or a busy machine) cost far more than they save. Small blocks
also keep what surrounds the product in cache:

* forward: the block of ``y`` is filled with the bias rows, then the product is added on top
  (``beta = 1``) — the bias costs no extra pass over memory;
* kernel gradient: the blocks are grouped into a fixed number of chunks; each chunk
  accumulates ``x_block.T @ grad_y_block`` into its own partial ``grad_w`` and sums the
  blocks' ``grad_y`` rows into its own partial ``grad_bias`` while they are still in cache;
  the partials are added at the end (race-free, and independent of scheduling).
"""
import numpy as np

from .buffers import empty_aligned as _empty_aligned

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
# OpenBLAS computes a product on the calling thread when m*n*k is below this.
cdef isize SINGLE_THREAD_GEMM = 262144


cdef void _gemm(char transa, char transb, int m, int n, int k, floating alpha,
                const floating* a, int lda, const floating* b, int ldb, floating beta,
                floating* c, int ldc) noexcept nogil:
    """Column-major C (m, n) = alpha * op(A) @ op(B) + beta * C."""
    if floating is float:
        sgemm(&transa, &transb, &m, &n, &k, &alpha, <float*>a, &lda, <float*>b, &ldb, &beta, c, &ldc)
    else:
        dgemm(&transa, &transb, &m, &n, &k, &alpha, <double*>a, &lda, <double*>b, &ldb, &beta, c, &ldc)


cdef void _forward(const floating* x, const floating* w, const floating* bias, floating* y,
                   isize P, isize Cin, isize F, isize block, int nthreads) noexcept nogil:
    cdef isize b, p0, rows, p
    cdef floating beta
    for b in prange((P + block - 1) // block, schedule="guided", num_threads=nthreads):
        p0 = b * block
        rows = P - p0 if P - p0 < block else block
        beta = 0
        if bias != NULL:
            for p in range(p0, p0 + rows):
                memcpy(y + p * F, bias, F * sizeof(floating))
            beta = 1
        # column-major: y.T (F, rows) = w.T (F, Cin) @ x.T (Cin, rows)
        _gemm(c'N', c'N', <int>F, <int>rows, <int>Cin, 1, w, <int>F, x + p0 * Cin, <int>Cin,
              beta, y + p0 * F, <int>F)


cdef void _backward_input(const floating* gy, const floating* w, floating* gx,
                          isize P, isize Cin, isize F, isize block, int nthreads) noexcept nogil:
    cdef isize b, p0, rows
    for b in prange((P + block - 1) // block, schedule="guided", num_threads=nthreads):
        p0 = b * block
        rows = P - p0 if P - p0 < block else block
        # column-major: gx.T (Cin, rows) = w (Cin, F) @ gy.T (F, rows); w in memory is w.T
        _gemm(c'T', c'N', <int>Cin, <int>rows, <int>F, 1, w, <int>F, gy + p0 * F, <int>F,
              0, gx + p0 * Cin, <int>Cin)


cdef void _backward_kernel(const floating* x, const floating* gy, floating* partial_w,
                           floating* partial_b, isize nchunks, isize P, isize Cin, isize F,
                           isize block, int nthreads) noexcept nogil:
    # chunk t handles blocks [t*nb/nchunks, (t+1)*nb/nchunks) into partial_w[t], partial_b[t]
    cdef isize nblocks = (P + block - 1) // block
    cdef isize t, b, p0, rows, p, f
    cdef floating* gw
    cdef floating* gb
    cdef const floating* row
    for t in prange(nchunks, schedule="dynamic", chunksize=1, num_threads=nthreads):
        gw = partial_w + t * Cin * F
        memset(gw, 0, Cin * F * sizeof(floating))
        gb = NULL
        if partial_b != NULL:
            gb = partial_b + t * F
            memset(gb, 0, F * sizeof(floating))
        for b in range(t * nblocks // nchunks, (t + 1) * nblocks // nchunks):
            p0 = b * block
            rows = P - p0 if P - p0 < block else block
            # column-major: gw.T (F, Cin) += gy.T (F, rows) @ x (rows, Cin); x in memory is x.T
            _gemm(c'N', c'T', <int>F, <int>Cin, <int>rows, 1, gy + p0 * F, <int>F,
                  x + p0 * Cin, <int>Cin, 1, gw, <int>F)
            if gb != NULL:
                for p in range(p0, p0 + rows):
                    row = gy + p * F
                    for f in range(F):
                        gb[f] += row[f]


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
    env = os.environ.get("OMP_NUM_THREADS", "")
    try:
        n = int(env.split(",")[0]) if env else 0
    except ValueError:
        n = 0
    if n <= 0:
        try:
            n = len(os.sched_getaffinity(0))
        except AttributeError:
            n = os.cpu_count() or 1
    return max(1, n)


@cython.boundscheck(True)
@cython.wraparound(True)
def _block_and_threads(P, Cin, F):
    """Rows per BLAS call (a multiple of 8 when possible) and the number of threads."""
    block = max(1, (SINGLE_THREAD_GEMM - 1) // (Cin * F))
    if block > 8:
        block = block // 8 * 8
    block = min(block, max(P, 1))
    nblocks = -(-P // block)
    # Waking a sleeping OpenMP thread costs ~100-200 us here (see depthwise.pyx): small
    # products stay on the calling thread.
    threads = 1 if P * Cin * F < 16 * SINGLE_THREAD_GEMM else min(_thread_count(), nblocks)
    return block, max(1, threads)


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
    y = _empty_aligned((P, F), x.dtype)
    if P == 0:
        return y
    cdef const void* bp = NULL if bias is None else cnp.PyArray_DATA(bias)
    cdef void* p_x = cnp.PyArray_DATA(x)
    cdef void* p_w = cnp.PyArray_DATA(w)
    cdef void* p_y = cnp.PyArray_DATA(y)
    cdef isize block
    cdef int nthreads
    block, nthreads = _block_and_threads(P, Cin, F)
    if x.dtype == np.float32:
        with nogil:
            _forward[float](<const float*>p_x, <const float*>p_w,
                            <const float*>bp,
                            <float*>p_y, P, Cin, F, block, nthreads)
    else:
        with nogil:
            _forward[double](<const double*>p_x, <const double*>p_w,
                             <const double*>bp,
                             <double*>p_y, P, Cin, F, block, nthreads)
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
    grad_x = _empty_aligned((P, Cin), grad_y.dtype)
    if P == 0:
        return grad_x
    cdef void* p_grad_y = cnp.PyArray_DATA(grad_y)
    cdef void* p_w = cnp.PyArray_DATA(w)
    cdef void* p_grad_x = cnp.PyArray_DATA(grad_x)
    cdef isize block
    cdef int nthreads
    block, nthreads = _block_and_threads(P, Cin, F)
    if grad_y.dtype == np.float32:
        with nogil:
            _backward_input[float](<const float*>p_grad_y, <const float*>p_w,
                                   <float*>p_grad_x, P, Cin, F, block, nthreads)
    else:
        with nogil:
            _backward_input[double](<const double*>p_grad_y, <const double*>p_w,
                                    <double*>p_grad_x, P, Cin, F, block, nthreads)
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
    if P == 0:
        return np.zeros((Cin, F), dtype=x.dtype), (np.zeros(F, dtype=x.dtype) if with_bias else None)
    cdef isize block, nchunks
    cdef int nthreads
    block, nthreads = _block_and_threads(P, Cin, F)
    # a fixed number of chunks with one partial sum each (the result does not depend on
    # scheduling), several per thread so that one delayed thread does not hold up the rest
    nchunks = 1 if nthreads == 1 else min(-(-P // block), 8 * nthreads)
    partial_w = np.empty((nchunks, Cin, F), dtype=x.dtype)
    partial_b = np.empty((nchunks, F), dtype=x.dtype) if with_bias else None
    cdef void* p_pb = NULL if partial_b is None else cnp.PyArray_DATA(partial_b)
    cdef void* p_pw = cnp.PyArray_DATA(partial_w)
    cdef void* p_x = cnp.PyArray_DATA(x)
    cdef void* p_grad_y = cnp.PyArray_DATA(grad_y)
    if x.dtype == np.float32:
        with nogil:
            _backward_kernel[float](<const float*>p_x, <const float*>p_grad_y, <float*>p_pw,
                                    <float*>p_pb, nchunks, P, Cin, F, block, nthreads)
    else:
        with nogil:
            _backward_kernel[double](<const double*>p_x, <const double*>p_grad_y, <double*>p_pw,
                                     <double*>p_pb, nchunks, P, Cin, F, block, nthreads)
    grad_w = partial_w[0] if nchunks == 1 else partial_w.sum(axis=0)
    if not with_bias:
        return grad_w, None
    return grad_w, (partial_b[0] if nchunks == 1 else partial_b.sum(axis=0))
