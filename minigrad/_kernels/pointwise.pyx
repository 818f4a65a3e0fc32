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

float32 and float64 are one code path: the ``_run_*`` functions take typed memoryviews of
the fused type ``floating`` and Cython compiles one copy per dtype; the argument checks are
in ``guards.py``.

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
  the partials are added at the end in chunk order (race-free, and bitwise independent of
  scheduling and of the thread count: the number of chunks depends on the problem alone).
"""
import numpy as np

from ..threads import kernel_threads, sum_chunks
from . import guards
from .buffers import empty_aligned

from cython cimport floating
from cython.parallel cimport prange
from libc.string cimport memcpy, memset
from scipy.linalg.cython_blas cimport dgemm, sgemm

ctypedef Py_ssize_t isize

# OpenBLAS computes a product on the calling thread when m*n*k is below this.
cdef isize SINGLE_THREAD_GEMM = 262144
# Products below this many multiply-adds stay on one thread (waking a sleeping OpenMP thread
# costs ~100-200 us here, see depthwise.pyx); from it on, the kernel gradient's sum is split
# into MAX_REDUCTION_CHUNKS chunks whatever the thread count (bitwise equal results).
PARALLEL_MIN_WORK = 16 * 262144
MAX_REDUCTION_CHUNKS = 16


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


# ----------------------------------------------------------------------------------------
# Dispatch on the dtype (one compiled copy per floating type), GIL released
# ----------------------------------------------------------------------------------------

def _run_forward(const floating[:, ::1] x, const floating[:, ::1] w, const floating[::1] bias,
                 floating[:, ::1] y, isize block, int nthreads):
    cdef const floating* b = NULL if bias is None else &bias[0]
    with nogil:
        _forward(&x[0, 0], &w[0, 0], b, &y[0, 0], x.shape[0], x.shape[1], w.shape[1], block, nthreads)


def _run_backward_input(const floating[:, ::1] gy, const floating[:, ::1] w, floating[:, ::1] gx,
                        isize block, int nthreads):
    with nogil:
        _backward_input(&gy[0, 0], &w[0, 0], &gx[0, 0], gy.shape[0], w.shape[0], w.shape[1],
                        block, nthreads)


def _run_backward_kernel(const floating[:, ::1] x, const floating[:, ::1] gy,
                         floating[:, :, ::1] partial_w, floating[:, ::1] partial_b,
                         isize block, int nthreads):
    cdef floating* pb = NULL if partial_b is None else &partial_b[0, 0]
    with nogil:
        _backward_kernel(&x[0, 0], &gy[0, 0], &partial_w[0, 0, 0], pb, partial_w.shape[0],
                         x.shape[0], x.shape[1], gy.shape[1], block, nthreads)


# ----------------------------------------------------------------------------------------
# Public functions: check, then run
# ----------------------------------------------------------------------------------------

def _check_dtypes(**arrays):
    guards.check_same_dtype(tuple(arrays), tuple(arrays.values()))


def _check_positive(name, a):
    if a.shape[1] == 0 or (name == "w" and a.shape[0] == 0):
        raise ValueError(f"`{name}` must have positive channel dimensions, received shape {a.shape}.")


def _block_and_threads(P, Cin, F):
    """Rows per BLAS call (a multiple of 8 when possible) and the number of threads."""
    block = max(1, (SINGLE_THREAD_GEMM - 1) // (Cin * F))
    if block > 8:
        block = block // 8 * 8
    block = min(block, max(P, 1))
    threads = min(kernel_threads(P * Cin * F, PARALLEL_MIN_WORK), -(-P // block))
    return block, max(1, threads)


def pointwise_forward(x, w, bias):
    """y = x @ w + bias. x (P, Cin), w (Cin, F), bias (F,) or None -> y (P, F)."""
    guards.check_matrix("x", x, "(P, Cin)")
    guards.check_matrix("w", w, "(Cin, F)")
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
    P, Cin, F = x.shape[0], x.shape[1], w.shape[1]
    y = empty_aligned((P, F), x.dtype)
    if P == 0:
        return y
    block, nthreads = _block_and_threads(P, Cin, F)
    _run_forward(np.ascontiguousarray(x), np.ascontiguousarray(w), bias, y, block, nthreads)
    return y


def pointwise_backward_input(grad_y, w):
    """grad_x = grad_y @ w.T. grad_y (P, F), w (Cin, F) -> grad_x (P, Cin)."""
    guards.check_matrix("grad_y", grad_y, "(P, F)")
    guards.check_matrix("w", w, "(Cin, F)")
    _check_dtypes(grad_y=grad_y, w=w)
    _check_positive("w", w)
    if grad_y.shape[1] != w.shape[1]:
        raise ValueError(f"`grad_y` has {grad_y.shape[1]} columns (shape {grad_y.shape}) but `w` has "
                         f"{w.shape[1]} filters (shape {w.shape}).")
    P, Cin, F = grad_y.shape[0], w.shape[0], w.shape[1]
    grad_x = empty_aligned((P, Cin), grad_y.dtype)
    if P == 0:
        return grad_x
    block, nthreads = _block_and_threads(P, Cin, F)
    _run_backward_input(np.ascontiguousarray(grad_y), np.ascontiguousarray(w), grad_x, block, nthreads)
    return grad_x


def pointwise_backward_kernel(x, grad_y, with_bias):
    """x (P, Cin), grad_y (P, F) -> (grad_w = x.T @ grad_y (Cin, F), grad_bias = grad_y.sum(0) or None)."""
    guards.check_matrix("x", x, "(P, Cin)")
    guards.check_matrix("grad_y", grad_y, "(P, F)")
    _check_dtypes(x=x, grad_y=grad_y)
    _check_positive("x", x)
    _check_positive("grad_y", grad_y)
    if x.shape[0] != grad_y.shape[0]:
        raise ValueError(f"`x` and `grad_y` must have the same number of rows, received shapes "
                         f"{x.shape} and {grad_y.shape}.")
    P, Cin, F = x.shape[0], x.shape[1], grad_y.shape[1]
    if P == 0:
        return np.zeros((Cin, F), dtype=x.dtype), (np.zeros(F, dtype=x.dtype) if with_bias else None)
    block, nthreads = _block_and_threads(P, Cin, F)
    # chunks with one partial sum each, their number from the problem size alone: the result
    # does not depend on scheduling or on the thread count
    nchunks = 1 if P * Cin * F < PARALLEL_MIN_WORK else min(-(-P // block), MAX_REDUCTION_CHUNKS)
    partial_w = np.empty((nchunks, Cin, F), dtype=x.dtype)
    partial_b = np.empty((nchunks, F), dtype=x.dtype) if with_bias else None
    _run_backward_kernel(np.ascontiguousarray(x), np.ascontiguousarray(grad_y), partial_w, partial_b,
                         block, nthreads)
    grad_w = sum_chunks(partial_w)
    return grad_w, (sum_chunks(partial_b) if with_bias else None)

