# cython: language_level=3
"""Pointwise (1x1) convolution kernels: register-blocked matrix products (``gemm.h``).

Same functions, same signatures and same results as ``pointwise_twin.py`` (read it first):

* ``pointwise_forward(x, w, bias)``        x (P, Cin), w (Cin, F), bias (F,)|None -> y (P, F)
* ``pointwise_backward_input(grad_y, w)``  -> grad_x (P, Cin) = grad_y @ w.T
* ``pointwise_backward_kernel(x, grad_y, with_bias)`` -> (x.T @ grad_y, grad_y.sum(0) or None)
* ``pointwise_backward(x, grad_y, w, with_bias)`` -> (grad_x, grad_w, grad_bias or None): the
  two gradients in one pass over ``grad_y``

The products are thin: P rows (every position of the batch) against small channel counts,
so the small matrix (the weights, or a block of rows) sits in cache and what matters is
keeping the multiply-adds in registers. ``gemm.h`` has the loop (a 6 x 16-float tile summed
in 12 vector registers) and explains it. Measured on a 2-core AVX2 machine, this reaches
1.5-2x the speed OpenBLAS's ``sgemm`` had on these shapes (see benchmarks/README.md).

* forward: ``y`` rows = ``x`` rows @ ``w``, the tile starting from the bias (no extra pass);
* input gradient: ``grad_x`` rows = ``grad_y`` rows @ ``w.T``;
* kernel gradient: ``grad_w.T += grad_y_block.T @ x_block`` over blocks of rows, and the
  bias gradient is summed over the same block while it is in cache; the fused backward
  computes the block's input gradient from the same ``grad_y`` block first.

The weights are copied once per call into the tile's "packed" layout (``mg_pack``). While a
block is computed, the next block's rows are prefetched a share per tile (``gemm.h``): its
input rows, and for the forward and the fused backward its output rows too, which a store
would otherwise first read from memory (measured single-threaded: 9-17% off the forward;
the input gradient alone came out 1-6% slower with it, so it prefetches its input only).

Threads: the worker pool (``pool.pyx``) shares blocks of ``BLOCK_ROWS`` rows. The kernel gradient's blocks are
grouped into a fixed number of chunks; each chunk sums into its own partial ``grad_w`` (and
``grad_bias``), and the partials are added at the end in chunk order: race-free, and bitwise
independent of scheduling and of the thread count (the number of chunks depends on the
problem alone; every row's result is the same chain of multiply-adds in any block).

float32 and float64 are one code path: the ``_run_*`` functions take typed memoryviews of
the fused type ``floating`` and Cython compiles one copy per dtype; the argument checks are
in ``guards.py``.
"""
import numpy as np

from ..threads import kernel_threads, sum_chunks
from . import guards
from .buffers import empty_output

from cython cimport floating
from .pool cimport run_parts

ctypedef Py_ssize_t isize

cdef extern from "gemm.h" nogil:
    void mg_pack_float(const float* b, isize bks, isize bjs, isize K, isize n, float* bp)
    void mg_pack_double(const double* b, isize bks, isize bjs, isize K, isize n, double* bp)
    void mg_gemm_float(const float* a, isize ars, isize aks, isize m, const float* b, isize ldb,
                       isize sstride, isize K, isize n, const float* init, float* c, isize ldc,
                       int add, const void* pf1, isize n1, const void* pf2, isize n2)
    void mg_gemm_double(const double* a, isize ars, isize aks, isize m, const double* b, isize ldb,
                        isize sstride, isize K, isize n, const double* init, double* c, isize ldc,
                        int add, const void* pf1, isize n1, const void* pf2, isize n2)
    void mg_pack_columns_float(const float* a, isize lda, isize K, isize m, float* ap)
    void mg_pack_columns_double(const double* a, isize lda, isize K, isize m, double* ap)
    void mg_gemm_packed_a_float(const float* ap, isize m, const float* b, isize ldb, isize sstride,
                                isize K, isize n, float* c, isize ldc, const void* pf1, isize n1,
                                const void* pf2, isize n2)
    void mg_gemm_packed_a_double(const double* ap, isize m, const double* b, isize ldb,
                                 isize sstride, isize K, isize n, double* c, isize ldc,
                                 const void* pf1, isize n1, const void* pf2, isize n2)
    enum: MG_GEMM_MR

TILE_ROWS = MG_GEMM_MR       # rows of the register tile (gemm.h)
# Rows per block (a multiple of the tile's 6 rows): what one thread takes at a time, and the
# kernel gradient's unit of work (its x block and grad_y block stay in L1/L2).
BLOCK_ROWS = 96
# Products below this many multiply-adds stay on one thread (handing out parts costs more
# than a second thread saves); from it on, the kernel gradient's sum is split
# into MAX_REDUCTION_CHUNKS chunks whatever the thread count (bitwise equal results).
PARALLEL_MIN_WORK = 16 * 262144
MAX_REDUCTION_CHUNKS = 16


cdef inline void _pack(const floating* b, isize bks, isize bjs, isize K, isize n,
                       floating* bp) noexcept nogil:
    """bp = B (K, n), B[k, j] = b[k*bks + j*bjs], in the tiles' packed layout (gemm.h)."""
    if floating is float:
        mg_pack_float(b, bks, bjs, K, n, bp)
    else:
        mg_pack_double(b, bks, bjs, K, n, bp)


cdef inline void _gemm(const floating* a, isize ars, isize aks, isize m, const floating* b,
                       isize ldb, isize sstride, isize K, isize n, const floating* init,
                       floating* c, isize ldc, int add, const floating* pf1, isize n1,
                       const floating* pf2, isize n2) noexcept nogil:
    """C (m, n) (= or +=) init + A (m, K) @ B (K, n), prefetching n1 numbers from pf1 and n2
    from pf2: see gemm.h."""
    if floating is float:
        mg_gemm_float(a, ars, aks, m, b, ldb, sstride, K, n, init, c, ldc, add,
                      pf1, n1 * sizeof(float), pf2, n2 * sizeof(float))
    else:
        mg_gemm_double(a, ars, aks, m, b, ldb, sstride, K, n, init, c, ldc, add,
                       pf1, n1 * sizeof(double), pf2, n2 * sizeof(double))


cdef inline void _gemm_columns(const floating* a, isize lda, isize m, const floating* b,
                               isize ldb, isize sstride, isize K, isize n, floating* c,
                               floating* ap, const floating* pf1, isize n1, const floating* pf2,
                               isize n2) noexcept nogil:
    """C (m, n) += A (m, K) @ B (K, n) with A[i, k] = a[k*lda + i], through packed panels ap,
    prefetching n1 numbers from pf1 and n2 from pf2."""
    if floating is float:
        mg_pack_columns_float(a, lda, K, m, ap)
        mg_gemm_packed_a_float(ap, m, b, ldb, sstride, K, n, c, n, pf1, n1 * sizeof(float),
                               pf2, n2 * sizeof(float))
    else:
        mg_pack_columns_double(a, lda, K, m, ap)
        mg_gemm_packed_a_double(ap, m, b, ldb, sstride, K, n, c, n, pf1, n1 * sizeof(double),
                                pf2, n2 * sizeof(double))


cdef inline isize _next_rows(isize P, isize p0, isize rows, isize block) noexcept nogil:
    """How many rows the block after [p0, p0 + rows) has (0 at the end): the rows to prefetch."""
    cdef isize left = P - p0 - rows
    return left if left < block else block


cdef inline isize _nr(const floating* dummy) noexcept nogil:
    return 64 // sizeof(floating)          # the tile's columns: two 32-byte vectors


cdef void _forward_block(const floating* x, const floating* wp, const floating* bias,
                         floating* y, isize P, isize Cin, isize F, isize block,
                         isize b) noexcept nogil:
    """Block b of rows: y = x @ w + bias (wp: w (Cin, F) packed; bias: NULL or F numbers
    padded to the tile width)."""
    cdef isize p0 = b * block, NR = _nr(x)
    cdef isize rows = P - p0 if P - p0 < block else block
    cdef isize nxt = _next_rows(P, p0, rows, block)
    _gemm(x + p0 * Cin, Cin, 1, rows, wp, NR, Cin * NR, Cin, F, bias, y + p0 * F, F, 0,
          x + (p0 + rows) * Cin, nxt * Cin, y + (p0 + rows) * F, nxt * F)


cdef void _backward_input_block(const floating* gy, const floating* wtp, floating* gx,
                                isize P, isize Cin, isize F, isize block,
                                isize b) noexcept nogil:
    """Block b of rows: grad_x = grad_y @ w.T (wtp: w.T (F, Cin) packed)."""
    cdef isize p0 = b * block, NR = _nr(gy)
    cdef isize rows = P - p0 if P - p0 < block else block
    cdef isize nxt = _next_rows(P, p0, rows, block)
    _gemm(gy + p0 * F, F, 1, rows, wtp, NR, F * NR, F, Cin, NULL, gx + p0 * Cin, Cin, 0,
          gy + (p0 + rows) * F, nxt * F, <floating*>NULL, 0)


cdef void _backward_kernel_chunk(const floating* x, const floating* gy, const floating* wtp,
                                 floating* gx, floating* partial_wt, floating* partial_b,
                                 floating* pack, floating* pack_gy, isize nchunks, isize P,
                                 isize Cin, isize F, isize block, isize t) noexcept nogil:
    """Chunk t takes blocks [t*nb/nchunks, (t+1)*nb/nchunks): partial_wt[t] (F, Cin) +=
    grad_y_block.T @ x_block, partial_b[t] += the block's grad_y rows; with gx != NULL it
    first computes the block's grad_x = grad_y_block @ w.T (wtp: w.T packed). grad_y's block
    is packed into pack_gy[t] (columns in panels of MR), and when Cin is not a multiple of the
    tile width, x's block into pack[t]."""
    cdef isize nblocks = (P + block - 1) // block
    cdef isize NR = _nr(x), Cpad = (Cin + NR - 1) // NR * NR
    cdef isize Fpad = (F + MG_GEMM_MR - 1) // MG_GEMM_MR * MG_GEMM_MR
    cdef isize b, p0, rows, p, f, nxt
    cdef floating* gwt = partial_wt + t * F * Cin
    cdef floating* gb = NULL
    cdef floating* xp
    cdef floating* gyp
    cdef const floating* row
    for f in range(F * Cin):
        gwt[f] = 0
    if partial_b != NULL:
        gb = partial_b + t * F
        for f in range(F):
            gb[f] = 0
    for b in range(t * nblocks // nchunks, (t + 1) * nblocks // nchunks):
        p0 = b * block
        rows = P - p0 if P - p0 < block else block
        nxt = 0 if b + 1 >= (t + 1) * nblocks // nchunks else _next_rows(P, p0, rows, block)
        if gx != NULL:
            _gemm(gy + p0 * F, F, 1, rows, wtp, NR, F * NR, F, Cin, <floating*>NULL,
                  gx + p0 * Cin, Cin, 0, gx + (p0 + rows) * Cin, nxt * Cin,
                  <floating*>NULL, 0)
        # grad_w.T (F, Cin) += grad_y_block.T (F, rows) @ x_block (rows, Cin), while the
        # next block of the chunk is fetched
        gyp = pack_gy + t * block * Fpad
        if Cin % NR == 0:
            _gemm_columns(gy + p0 * F, F, F, x + p0 * Cin, Cin, NR, rows, Cin, gwt, gyp,
                          x + (p0 + rows) * Cin, nxt * Cin, gy + (p0 + rows) * F, nxt * F)
        else:
            xp = pack + t * block * Cpad
            _pack(x + p0 * Cin, Cin, 1, rows, Cin, xp)
            _gemm_columns(gy + p0 * F, F, F, xp, NR, rows * NR, rows, Cin, gwt, gyp,
                          x + (p0 + rows) * Cin, nxt * Cin, gy + (p0 + rows) * F, nxt * F)
        if gb != NULL:
            for p in range(p0, p0 + rows):
                row = gy + p * F
                for f in range(F):
                    gb[f] += row[f]


# ----------------------------------------------------------------------------------------
# The loops on threads (pool.pyx): blocks, or the kernel gradient's chunks, are the parts
# ----------------------------------------------------------------------------------------

ctypedef struct Job:
    const void* x           # x (P, Cin), or grad_y (P, F) for the input gradient
    const void* gy          # grad_y (P, F)
    const void* w           # w packed (forward), or w.T packed
    const void* bias        # NULL or the padded bias
    void* y                 # y, or grad_x (NULL: none wanted)
    void* partial_wt        # the kernel gradient's partial sums, and their scratch
    void* partial_b
    void* pack
    void* pack_gy
    isize P, Cin, F, block, nchunks
    bint f64                # the arrays are float64 (else float32)


cdef void _forward_part(void* job, isize b) noexcept nogil:
    cdef Job* j = <Job*>job
    if j.f64:
        _forward_block(<const double*>j.x, <const double*>j.w, <const double*>j.bias,
                       <double*>j.y, j.P, j.Cin, j.F, j.block, b)
    else:
        _forward_block(<const float*>j.x, <const float*>j.w, <const float*>j.bias,
                       <float*>j.y, j.P, j.Cin, j.F, j.block, b)


cdef void _backward_input_part(void* job, isize b) noexcept nogil:
    cdef Job* j = <Job*>job
    if j.f64:
        _backward_input_block(<const double*>j.gy, <const double*>j.w, <double*>j.y,
                              j.P, j.Cin, j.F, j.block, b)
    else:
        _backward_input_block(<const float*>j.gy, <const float*>j.w, <float*>j.y,
                              j.P, j.Cin, j.F, j.block, b)


cdef void _backward_kernel_part(void* job, isize t) noexcept nogil:
    cdef Job* j = <Job*>job
    if j.f64:
        _backward_kernel_chunk(<const double*>j.x, <const double*>j.gy, <const double*>j.w,
                               <double*>j.y, <double*>j.partial_wt, <double*>j.partial_b,
                               <double*>j.pack, <double*>j.pack_gy, j.nchunks, j.P, j.Cin,
                               j.F, j.block, t)
    else:
        _backward_kernel_chunk(<const float*>j.x, <const float*>j.gy, <const float*>j.w,
                               <float*>j.y, <float*>j.partial_wt, <float*>j.partial_b,
                               <float*>j.pack, <float*>j.pack_gy, j.nchunks, j.P, j.Cin,
                               j.F, j.block, t)


cdef void _forward(const floating* x, const floating* wp, const floating* bias, floating* y,
                   isize P, isize Cin, isize F, isize block, int nthreads) noexcept nogil:
    cdef Job job
    job.x, job.w, job.bias, job.y = x, wp, bias, y
    job.P, job.Cin, job.F, job.block, job.f64 = P, Cin, F, block, sizeof(floating) == 8
    run_parts(_forward_part, &job, (P + block - 1) // block, nthreads)


cdef void _backward_input(const floating* gy, const floating* wtp, floating* gx,
                          isize P, isize Cin, isize F, isize block, int nthreads) noexcept nogil:
    cdef Job job
    job.gy, job.w, job.y = gy, wtp, gx
    job.P, job.Cin, job.F, job.block, job.f64 = P, Cin, F, block, sizeof(floating) == 8
    run_parts(_backward_input_part, &job, (P + block - 1) // block, nthreads)


cdef void _backward_kernel(const floating* x, const floating* gy, const floating* wtp,
                           floating* gx, floating* partial_wt, floating* partial_b,
                           floating* pack, floating* pack_gy, isize nchunks, isize P, isize Cin,
                           isize F, isize block, int nthreads) noexcept nogil:
    cdef Job job
    job.x, job.gy, job.w, job.y = x, gy, wtp, gx
    job.partial_wt, job.partial_b, job.pack, job.pack_gy = partial_wt, partial_b, pack, pack_gy
    job.P, job.Cin, job.F, job.block, job.nchunks = P, Cin, F, block, nchunks
    job.f64 = sizeof(floating) == 8
    run_parts(_backward_kernel_part, &job, nchunks, nthreads)


# ----------------------------------------------------------------------------------------
# Dispatch on the dtype (one compiled copy per floating type), GIL released
# ----------------------------------------------------------------------------------------

def _run_forward(const floating[:, ::1] x, const floating[:, ::1] w, const floating[::1] bias,
                 floating[:, ::1] y, floating[::1] wp, isize block, int nthreads):
    cdef const floating* b = NULL if bias is None else &bias[0]
    with nogil:
        _pack(&w[0, 0], w.shape[1], 1, w.shape[0], w.shape[1], &wp[0])
        _forward(&x[0, 0], &wp[0], b, &y[0, 0], x.shape[0], x.shape[1], w.shape[1], block, nthreads)


def _run_backward_input(const floating[:, ::1] gy, const floating[:, ::1] w, floating[:, ::1] gx,
                        floating[::1] wtp, isize block, int nthreads):
    with nogil:
        _pack(&w[0, 0], 1, w.shape[1], w.shape[1], w.shape[0], &wtp[0])
        _backward_input(&gy[0, 0], &wtp[0], &gx[0, 0], gy.shape[0], w.shape[0], w.shape[1],
                        block, nthreads)


def _run_backward_kernel(const floating[:, ::1] x, const floating[:, ::1] gy,
                         const floating[:, ::1] w, floating[:, ::1] gx,
                         floating[:, :, ::1] partial_wt, floating[:, ::1] partial_b,
                         floating[::1] wtp, floating[::1] pack, floating[::1] pack_gy, isize block,
                         int nthreads):
    cdef floating* pb = NULL if partial_b is None else &partial_b[0, 0]
    cdef floating* pgx = NULL
    cdef isize Cin = x.shape[1], F = gy.shape[1]
    if gx is not None:
        pgx = &gx[0, 0]
    with nogil:
        if pgx != NULL:
            _pack(&w[0, 0], 1, F, F, Cin, &wtp[0])
        _backward_kernel(&x[0, 0], &gy[0, 0], &wtp[0], pgx, &partial_wt[0, 0, 0], pb, &pack[0],
                         &pack_gy[0], partial_wt.shape[0], x.shape[0], Cin, F, block, nthreads)


# ----------------------------------------------------------------------------------------
# Public functions: check, then run
# ----------------------------------------------------------------------------------------

def _check_dtypes(**arrays):
    guards.check_same_dtype(tuple(arrays), tuple(arrays.values()))


def _check_positive(name, a):
    if a.shape[1] == 0 or (name == "w" and a.shape[0] == 0):
        raise ValueError(f"`{name}` must have positive channel dimensions, received shape {a.shape}.")


def _threads(P, Cin, F):
    """Threads for a product of P x Cin x F multiply-adds (one for small problems)."""
    return max(1, min(kernel_threads(P * Cin * F, PARALLEL_MIN_WORK), -(-P // BLOCK_ROWS)))


def _padded(n, dtype):
    """n rounded up to the tiles' width (16 floats or 8 doubles)."""
    nr = 64 // np.dtype(dtype).itemsize
    return -(-n // nr) * nr


def pointwise_forward(x, w, bias):
    """y = x @ w + bias. x (P, Cin), w (Cin, F), bias (F,) or None -> y (P, F)."""
    if bias is None and guards.ready_matrices(x, w) and x.shape[1] == w.shape[0] > 0 \
            and w.shape[1] > 0:
        return _forward_checked(x, w, None)
    guards.check_matrix("x", x, "(P, Cin)")
    guards.check_matrix("w", w, "(Cin, F)")
    _check_dtypes(x=x, w=w)
    _check_positive("w", w)
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"`x` has {x.shape[1]} channels (shape {x.shape}) but `w` expects "
                         f"{w.shape[0]} (shape {w.shape}).")
    P, Cin, F = x.shape[0], x.shape[1], w.shape[1]
    if bias is not None:
        if not isinstance(bias, np.ndarray):
            raise TypeError(f"`bias` must be a numpy.ndarray or None, received {type(bias).__name__}.")
        _check_dtypes(x=x, bias=bias)
        if bias.shape != (F,):
            raise ValueError(f"`bias` must have shape ({F},), received {bias.shape}.")
        padded = np.zeros(_padded(F, x.dtype), dtype=x.dtype)   # the tiles read whole vectors
        padded[:F] = bias
        bias = padded
    return _forward_checked(x, w, bias)


def _forward_checked(x, w, bias):
    """pointwise_forward on checked arguments (bias: None or padded to whole tiles)."""
    P, Cin, F = x.shape[0], x.shape[1], w.shape[1]
    y = empty_output((P, F), x.dtype)
    if P == 0:
        return y
    wp = np.empty(_padded(F, x.dtype) * Cin, dtype=x.dtype)
    _run_forward(np.ascontiguousarray(x), np.ascontiguousarray(w), bias, y, wp, BLOCK_ROWS,
                 _threads(P, Cin, F))
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
    grad_x = empty_output((P, Cin), grad_y.dtype)
    if P == 0:
        return grad_x
    wtp = np.empty(_padded(Cin, w.dtype) * F, dtype=w.dtype)
    _run_backward_input(np.ascontiguousarray(grad_y), np.ascontiguousarray(w), grad_x, wtp,
                        BLOCK_ROWS, _threads(P, Cin, F))
    return grad_x


def _kernel_gradient(x, grad_y, w, with_bias):
    """grad_w and grad_bias (and grad_x when w is given) in one pass over grad_y's blocks."""
    P, Cin, F = x.shape[0], x.shape[1], grad_y.shape[1]
    dtype = x.dtype
    grad_x = None if w is None else empty_output((P, Cin), dtype)
    if P == 0:
        if grad_x is not None:
            grad_x = np.zeros((0, Cin), dtype)
        return grad_x, np.zeros((Cin, F), dtype), (np.zeros(F, dtype) if with_bias else None)
    # chunks with one partial sum each, their number from the problem size alone: the result
    # does not depend on scheduling or on the thread count
    nblocks = -(-P // BLOCK_ROWS)
    nchunks = 1 if P * Cin * F < PARALLEL_MIN_WORK else min(nblocks, MAX_REDUCTION_CHUNKS)
    partial_wt = np.empty((nchunks, F, Cin), dtype)
    partial_b = np.empty((nchunks, F), dtype) if with_bias else None
    Cpad = _padded(Cin, dtype)
    pack = np.empty(nchunks * BLOCK_ROWS * Cpad if Cpad != Cin else 1, dtype)
    wtp = np.empty(Cpad * F if w is not None else 1, dtype)
    pack_gy = np.empty(nchunks * BLOCK_ROWS * (-(-F // TILE_ROWS) * TILE_ROWS), dtype)
    _run_backward_kernel(np.ascontiguousarray(x), np.ascontiguousarray(grad_y),
                         np.ascontiguousarray(w) if w is not None else np.zeros((1, 1), dtype),
                         grad_x, partial_wt, partial_b, wtp, pack, pack_gy, BLOCK_ROWS,
                         min(_threads(P, Cin, F), nchunks))
    grad_w = np.ascontiguousarray((partial_wt[0] if nchunks == 1 else sum_chunks(partial_wt)).T)
    return grad_x, grad_w, (sum_chunks(partial_b) if with_bias else None)


def _check_kernel_gradient_args(x, grad_y):
    guards.check_matrix("x", x, "(P, Cin)")
    guards.check_matrix("grad_y", grad_y, "(P, F)")
    _check_dtypes(x=x, grad_y=grad_y)
    _check_positive("x", x)
    _check_positive("grad_y", grad_y)
    if x.shape[0] != grad_y.shape[0]:
        raise ValueError(f"`x` and `grad_y` must have the same number of rows, received shapes "
                         f"{x.shape} and {grad_y.shape}.")


def pointwise_backward_kernel(x, grad_y, with_bias):
    """x (P, Cin), grad_y (P, F) -> (grad_w = x.T @ grad_y (Cin, F), grad_bias = grad_y.sum(0) or None)."""
    _check_kernel_gradient_args(x, grad_y)
    _, grad_w, grad_bias = _kernel_gradient(x, grad_y, None, with_bias)
    return grad_w, grad_bias


def pointwise_backward(x, grad_y, w, with_bias):
    """Both gradients of ``y = x @ w (+ bias)`` in one pass over ``grad_y``.
    x (P, Cin), grad_y (P, F), w (Cin, F) -> (grad_x = grad_y @ w.T, grad_w = x.T @ grad_y,
    grad_bias = grad_y.sum(0) or None)."""
    if guards.ready_matrices(x, grad_y, w) and x.shape[0] == grad_y.shape[0] \
            and w.shape == (x.shape[1], grad_y.shape[1]) and x.shape[1] > 0 \
            and grad_y.shape[1] > 0:
        return _kernel_gradient(x, grad_y, w, with_bias)
    _check_kernel_gradient_args(x, grad_y)
    guards.check_matrix("w", w, "(Cin, F)")
    _check_dtypes(x=x, w=w)
    if w.shape != (x.shape[1], grad_y.shape[1]):
        raise ValueError(f"`w` must have shape (Cin, F) = {(x.shape[1], grad_y.shape[1])} for `x` of "
                         f"shape {x.shape} and `grad_y` of shape {grad_y.shape}, received {w.shape}.")
    return _kernel_gradient(x, grad_y, w, with_bias)
