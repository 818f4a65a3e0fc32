# cython: language_level=3
"""Depthwise convolution kernels (1D and 2D, forward and gradients), Cython, on threads.

Same functions, same signatures and same results as ``depthwise_twin.py`` — read the twin
first for the maths. Layout is channels_last:

* ``x``       (N, *spatial, C)
* ``kernel``  (*k, C, M)
* ``y``       (N, *out, C*M), output channel ``o = c*M + m``

``y[n, o, c*M+m] = sum_j kernel[j, c, m] * xpad[n, o*s + j*d, c]`` per spatial axis.

How it is organised (one job per file):

* ``simd.h``: the innermost loops in C: blocks of output positions summed over kernel taps,
  and kernel-gradient dot products, with the channels in vector registers.
* ``rows.h``: whole rows in C on those blocks: the interior and border positions of a row,
  its leftover channels, and the depth-multiplier expansion. Beside it, for small images
  and strides: ``short_rows.h`` (rows of 4-7 positions), ``stride2.h`` (the input gradient
  of 3-wide kernels at stride 2), ``kernel_grad3.h`` (strided kernel gradients).
* ``guards.py``: the ``def`` functions' argument checks (types, dtypes, ranks, shapes,
  positive strides/dilation, non-negative pads, output length >= 1); only then is the GIL
  released and the ``cdef`` loops below run, without bounds checks.
* ``depthwise_rows.pxi`` (included here): the row primitives the loop nests share (sum a
  row over kernel taps, one kernel row's gradient, the M > 1 row expansion and its cache)
  and their calls into simd.h.
* here: the loop nests, one per job, each beside the twin's function of the same name.
  float32 and float64 are one code path: the calls take typed memoryviews of the fused type
  ``floating``, the loops pointers of it, and Cython compiles one copy per dtype.
* ``pool.pyx`` (C in ``pool.h``): the worker threads that share a call's rows (below).
* ``depthwise_parts.pxi`` (included here): the nests on threads (``pool.pyx``), one part of
  a call at a time.
* ``depthwise_calls.pxi`` (included here): what a public function does around its loops,
  kept cheap for small calls (checked problems remembered as plans, the kernel packing).

Ideas shared by every loop nest:

* A 1D convolution runs as a 2D one of height 1 (a free reshape). Padding is never
  materialised: per kernel tap the loops find the output positions that read real input.
* The channel axis is innermost, in blocks of 64 bytes held in vector registers, and a last
  32-byte vector where one is left (24 float32 channels: one block and one vector); only a
  rest smaller than a vector runs in plain loops.
* The kernel is first packed by channel blocks (``_packed_kernel``) so that the inner loops
  read it in order and keep a kernel row in registers (simd.h explains why that matters).
* ``depth_multiplier`` M > 1 runs on the M = 1 loops: an input row is first expanded to C*M
  channels (``x[w, c]`` repeated M times), after which every output channel ``c*M + m`` is
  an ordinary channel with its own kernel column. The input gradient sums the M channels of
  each input channel back at the end.
* The backward pass reads grad_y once for both gradients (at any stride: the input gradient
  is gathered, each grad_x row written once, never scattered). Its kernel gradient takes
  each input row against its grad_y rows, or (M = 1, kernels other than 3x3 at stride 1,
  rows up to 16 KB) each output row as soon as its last input row has come by.
* Threads share a call's rows in parts (``pool.pyx``, not OpenMP: the caller never waits for
  a worker still asleep, and workers stay awake for a moment between calls; the header says
  why and what it measured). The kernel gradient's sum over the batch
  is cut into chunks by problem size only (never by thread count), each with its own partial
  buffer, added in a fixed order: results are bitwise the same on 1, 2 or 16 threads.
"""
import numpy as np

from ..threads import kernel_thread_count, sum_chunks
from . import guards
from .buffers import empty_output

from cython cimport floating
from .pool cimport run_parts
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

ctypedef Py_ssize_t isize

# Every size of one problem, seen as 2D (a 1D problem has H = KH = OH = 1, sh = dh = 1, ph = 0).
ctypedef struct Geometry:
    isize N, H, W, C, M        # input (N, H, W, C); kernel (KH, KW, C, M)
    isize KH, KW, OH, OW       # kernel taps; output (N, OH, OW, C*M)
    isize sh, sw, dh, dw       # strides, dilation
    isize ph, pw               # padding before each axis (the output size covers the rest)

MAX_GEOMETRY = guards.MAX_GEOMETRY      # largest stride, dilation or pad (guards.py, the ops)
# Below this many multiply-adds a call runs on one thread: handing out parts costs more than
# a second thread saves (on two threads the calls of 1.2M multiply-adds and less measured the
# same as on one; those of 2.4M, 0.64-0.79x).
PARALLEL_MIN_WORK = 1 << 21
# The kernel gradient's chunks: one per REDUCTION_CHUNK_WORK multiply-adds, at most
# MAX_REDUCTION_CHUNKS (so a thread delayed by another process can leave its share).
REDUCTION_CHUNK_WORK = 1 << 20
MAX_REDUCTION_CHUNKS = 16
# Positions per tile of the kernel gradient: its input and gradient rows stay in L1.
cdef isize TILE_BYTES = 8192
# The fused backward prefetches input row ih (its kernel gradient reads it next) for rows up
# to this size, which fit L1 with three grad_y rows: 2D float32 -1..-6%, float64 +7-9%.
cdef isize FETCH_ROW_BYTES = 8192
# The fused backward's kernel gradient runs by output rows (see _backward_rows_part) for input
# rows up to this size: 5x5 and 7x7 kernels 5-37% faster with rows of 2-8 KB, 3x3 at stride
# 2 10-28%, while rows of 24-36 KB (float64, 96-144 channels) were 8-17% slower on one thread.
cdef isize BY_OUTPUTS_ROW_BYTES = 16384
# depthwise_backward runs its two passes apart for M > 1 at a horizontal stride > 1 with up to
# this many bytes of channels (C*M) a position: the fused pass was 1.06-1.29x slower there
# (8 channels, M = 2 and 4, float32 and float64, strides 2x2 and 1x2), and up to 15% faster
# with more channels (32 x 4 float32).
APART_MAX_CHANNEL_BYTES = 256


include "depthwise_rows.pxi"


# ----------------------------------------------------------------------------------------
# The loop nests (rank 2; rank 1 runs with H = KH = 1)
# ----------------------------------------------------------------------------------------

cdef isize* _row_buffers(const floating*** xrows, floating** xe, Geometry g) noexcept nogil:
    """The scratch of _next_input_rows for one part: ``xrows[0]``, KH row pointers; ``xe[0]``,
    for M > 1 the cache of KH input rows expanded to C*M channels (else NULL); and the block
    returned, 3*KH numbers: keys, then tags (what each cache slot holds: none yet, -1), then
    slot. The caller frees all three."""
    cdef isize* keys = <isize*>malloc(3 * g.KH * sizeof(isize))
    cdef isize i
    for i in range(g.KH, 2 * g.KH):
        keys[i] = -1
    xrows[0] = <const floating**>malloc(g.KH * sizeof(floating*))
    xe[0] = <floating*>malloc(g.KH * g.W * g.C * g.M * sizeof(floating)) if g.M > 1 else NULL
    return keys


cdef inline isize _xrow(isize n, isize ih, Geometry g) noexcept nogil:
    """Where row ih of image n starts in x (N, H, W, C), or in grad_x, in elements."""
    return (n * g.H + ih) * g.W * g.C


cdef inline isize _yrow(isize n, isize oh, Geometry g) noexcept nogil:
    """Where row oh of image n starts in y (N, OH, OW, C*M), or in grad_y, in elements."""
    return (n * g.OH + oh) * g.OW * g.C * g.M


cdef inline void _input_rows(const floating* x, isize n, isize oh,
                             const floating** xrows, isize* keys, Geometry g) noexcept nogil:
    """The input rows output row (n, oh) reads: xrows[jh] = row oh*sh + jh*dh - ph of image n
    for kernel row jh, NULL where that row is padding; keys[jh] its number n*H + ih, or -1."""
    cdef isize jh, ih
    for jh in range(g.KH):
        ih = oh * g.sh + jh * g.dh - g.ph
        keys[jh] = n * g.H + ih if 0 <= ih < g.H else -1
        xrows[jh] = x + _xrow(n, ih, g) if keys[jh] >= 0 else NULL


cdef inline void _next_input_rows(const floating* x, isize n, isize oh, const floating** xrows,
                                  isize* keys, floating* xe, Geometry g) noexcept nogil:
    """_input_rows, and for M > 1 those rows expanded to C*M channels (_expand_rows: keys
    and the cache ``xe`` from _row_buffers)."""
    _input_rows(x, n, oh, xrows, keys, g)
    if g.M > 1:
        _expand_rows(xrows, xe, keys + g.KH, keys + 2 * g.KH, keys, g)


cdef void _forward_rows(const floating* x, const floating* k, const floating* kp, floating* y,
                        Geometry g,
                        isize r0, isize r1) noexcept nogil:
    """y[n, oh, ow] = sum_{jh, jw} k[jh, jw] * x[n, oh*sh + jh*dh - ph, ow*sw + jw*dw - pw].

    ``kp``: the kernel packed for _sum_taps's rows (``_packed_kernel``); without one (NULL)
    every position runs on its own, as the border positions do. Output rows (n, oh) in
    [r0, r1), numbered n*OH + oh."""
    cdef isize CM = g.C * g.M, row, n, oh, jh, jw, ntaps, nrows
    cdef bint packed = kp != NULL
    cdef isize B = 64 // sizeof(floating)     # channels per block of the packed kernel
    cdef const floating** krow
    cdef const floating** src
    cdef const floating** ker
    cdef isize* off
    cdef const floating** xrows
    cdef floating* xe
    # the taps that touch the current output row, and its input rows
    cdef isize* keys = _row_buffers(&xrows, &xe, g)
    src = <const floating**>malloc(g.KH * g.KW * sizeof(floating*))
    ker = <const floating**>malloc(g.KH * g.KW * sizeof(floating*))
    off = <isize*>malloc(g.KH * g.KW * sizeof(isize))
    krow = <const floating**>malloc(g.KH * sizeof(floating*))
    for row in range(r0, r1):
        n = row // g.OH
        oh = row - n * g.OH
        _next_input_rows(x, n, oh, xrows, keys, xe, g)
        ntaps = 0
        nrows = 0
        for jh in range(g.KH):
            if xrows[jh] == NULL:
                continue
            if packed:
                krow[nrows] = kp + jh * g.KW * B
            nrows = nrows + 1
            for jw in range(g.KW):
                src[ntaps] = xrows[jh]
                ker[ntaps] = k + (jh * g.KW + jw) * CM
                off[ntaps] = jw * g.dw - g.pw
                ntaps = ntaps + 1
        _sum_taps(y + _yrow(n, oh, g), CM, g.OW, src, ker, off, ntaps, g.sw, CM, g.W,
                  krow if packed else NULL, g.KH * g.KW * B, g.KW, NULL)
    mg_stream_fence()
    free(src)
    free(ker)
    free(off)
    free(xrows)
    free(krow)
    free(keys)
    free(xe)


cdef inline isize _last_row_outputs(isize ih, Geometry g, bint end) noexcept nogil:
    """The output rows whose last input row is ``ih`` (clamped to the image: the first
    row takes those that end above it, the last those that end in the padding below) are
    [_last_row_outputs(ih, g, False), _last_row_outputs(ih, g, True)). Output row oh's last
    input row is oh*sh - ph + (KH-1)*dh; every output row has exactly one such ih."""
    cdef isize c = (g.KH - 1) * g.dh - g.ph, v = ih + 1 if end else ih
    if end and ih == g.H - 1:
        return g.OH
    if not end and ih == 0:
        return 0
    return _imin(g.OH, _imax(0, _ceil_div(v - c, g.sh)))


cdef void _backward_rows_part(const floating* gy, const floating* k, const floating* kp,
                              const floating* x, floating* gx, floating* partial,
                              isize nchunks, bint with_kernel, Geometry g,
                              isize t0, isize t1) noexcept nogil:
    """grad_x row by row, and (``with_kernel``) the kernel gradient in the same pass over
    grad_y — the fused backward.

    grad_x[n, ih, iw] = sum_{jh, jw} k[jh, jw] * gy[n, oh, ow], oh*sh = ih + ph - jh*dh and
    ow*sw = iw + pw - jw*dw: at horizontal stride 1 the "sum over taps" of the forward pass,
    reading grad_y rows; at a larger one, the same per residue of iw mod sw
    (_input_grad_row_strided). The kernel gradient pairs the same grad_y rows with input row
    ih, or (``by_outputs`` below) takes whole output rows, each at its last input row. Input
    rows are cut into ``nchunks`` chunks; chunk t adds its kernel gradient into partial[t].
    Here chunks [t0, t1). ``kp`` as in _forward_rows; at sw > 1 packed by residue.
    """
    cdef isize CM = g.C * g.M, KK = g.KH * g.KW
    cdef isize rows = g.N * g.H
    cdef isize t, row, n, ih, jh, jw, q, oh, ntaps, nrows
    cdef bint packed = kp != NULL
    cdef isize B = 64 // sizeof(floating)     # channels per block of the packed kernel
    cdef const floating** krow
    cdef floating* acc
    cdef floating* out
    cdef const floating* gyrow
    cdef const floating* xrow
    cdef const floating** src
    cdef const floating** ker
    cdef const floating** xrows
    cdef isize* off
    cdef isize* ohs
    cdef floating* tmp
    cdef floating* rt
    cdef void* rt_block
    cdef isize* res
    cdef const floating** gyrows
    cdef floating** gp
    cdef const floating** gyp
    cdef isize* keys
    # a 3x3 kernel, stride and dilation 1 along the rows: the kernel gradient of an input row
    # against its three grad_y rows in one pass (_kernel_grad_rows3)
    cdef bint rows3 = g.KH == 3 and g.KW == 3 and g.sw == 1 and g.dw == 1
    cdef bint fetch = with_kernel and g.W * CM * <isize>sizeof(floating) <= FETCH_ROW_BYTES
    # the other kernels of M = 1, rows up to BY_OUTPUTS_ROW_BYTES: the kernel gradient by
    # output rows
    cdef bint by_outputs = (g.M == 1 and not rows3
                            and g.W * CM * <isize>sizeof(floating) <= BY_OUTPUTS_ROW_BYTES)
    gyrows = <const floating**>malloc(3 * sizeof(floating*))
    gp = <floating**>malloc(g.KH * sizeof(floating*))
    gyp = <const floating**>malloc(g.KH * sizeof(floating*))
    src = <const floating**>malloc(KK * sizeof(floating*))
    ker = <const floating**>malloc(KK * sizeof(floating*))
    off = <isize*>malloc(KK * sizeof(isize))
    ohs = <isize*>malloc(g.KH * sizeof(isize))
    xrows = <const floating**>malloc(g.KH * sizeof(floating*))
    krow = <const floating**>malloc(g.KH * sizeof(floating*))
    keys = <isize*>malloc(g.KH * sizeof(isize))
    tmp = <floating*>malloc(2 * g.W * CM * sizeof(floating)) if g.M > 1 else NULL
    rt = <floating*>_residue_row(&rt_block, sizeof(floating), g)
    res = _residue_taps(g)
    for t in range(t0, t1):
        acc = NULL
        if with_kernel:
            acc = partial + t * KK * CM
            for q in range(KK * CM):
                acc[q] = 0
        for row in range(t * rows // nchunks, (t + 1) * rows // nchunks):
            n = row // g.H
            ih = row - n * g.H
            ntaps = 0
            nrows = 0
            for jh in range(g.KH):
                ohs[jh] = -1
                q = ih + g.ph - jh * g.dh
                if q < 0 or q % g.sh != 0 or q // g.sh >= g.OH:
                    continue
                ohs[jh] = q // g.sh
                gyrow = gy + _yrow(n, ohs[jh], g)
                if packed:
                    krow[nrows] = kp + jh * g.KW * B
                nrows = nrows + 1
                for jw in range(g.KW if g.sw == 1 else 0):    # (strided: per residue, below)
                    src[ntaps] = gyrow
                    ker[ntaps] = k + (jh * g.KW + jw) * CM
                    off[ntaps] = g.pw - jw * g.dw
                    ntaps = ntaps + 1
            out = gx + _xrow(n, ih, g)
            if g.sw > 1:
                if with_kernel and nrows > 0:   # the kernel gradient reads x row ih next
                    mg_prefetch_bytes(x + _xrow(n, ih, g), g.W * g.C * sizeof(floating))
                _input_grad_row_strided(out, tmp, rt, res, src, ker, off, krow,
                                        gy + _yrow(n, 0, g), ohs, k, kp, g)
            elif g.M == 1:
                _sum_taps(out, CM, g.W, src, ker, off, ntaps, 1, CM, g.OW,
                          krow if packed else NULL, KK * B, g.KW,
                          x + _xrow(n, ih, g) if fetch else NULL)
            else:
                _sum_taps(tmp, CM, g.W, src, ker, off, ntaps, 1, CM, g.OW,
                          krow if packed else NULL, KK * B, g.KW, NULL)
                _sum_over_m(out, tmp, g.W, g.C, g.M)
            if not with_kernel:
                continue
            if by_outputs:
                # by output rows, as the kernel gradient alone does: one call per output row
                # with all its input rows (a call per input row and tap row was 1.2-1.4x
                # slower on 5x5 kernels), each output row at its last input row, whose rows
                # are then in cache (rows past the image's end: at its last row)
                for oh in range(_last_row_outputs(ih, g, False), _last_row_outputs(ih, g, True)):
                    _input_rows(x, n, oh, xrows, keys, g)
                    _kernel_grad_row(acc, xrows, gy + _yrow(n, oh, g), g)
                continue
            if nrows == 0:
                continue
            # kernel gradient: every valid tap row pairs input row ih with grad_y row ohs[jh]
            xrow = x + _xrow(n, ih, g)
            if g.M > 1:
                _expand(tmp + g.W * CM, xrow, g.W, g.C, g.M)
                xrow = tmp + g.W * CM
            if rows3 and ohs[0] >= 0 and ohs[1] >= 0 and ohs[2] >= 0:
                for jh in range(3):
                    gyrows[jh] = gy + _yrow(n, ohs[jh], g)
                _kernel_grad_rows3(acc, xrow, gyrows, g)
                continue
            if g.KW == 3 and g.sw > 1:      # three taps a pass (at stride 1: mg_dot3, faster)
                _kernel_grad_taps3(acc, xrow, gy + _yrow(n, 0, g), ohs, gp, gyp, g)
                continue
            for jh in range(g.KH):
                if ohs[jh] < 0:
                    continue
                for q in range(g.KH):
                    xrows[q] = xrow if q == jh else NULL
                _kernel_grad_row(acc, xrows, gy + _yrow(n, ohs[jh], g), g)
    mg_stream_fence()
    free(gyrows)
    free(gp)
    free(gyp)
    free(src)
    free(ker)
    free(off)
    free(ohs)
    free(xrows)
    free(krow)
    free(keys)
    free(tmp)
    free(rt_block)
    free(res)


cdef void _backward_kernel_part(const floating* x, const floating* gy, floating* partial,
                                isize nchunks, Geometry g, isize t0, isize t1) noexcept nogil:
    """partial[t, jh*KW + jw] = sum over output rows of chunk t of
    sum_ow x[n, oh*sh + jh*dh - ph, ow*sw + jw*dw - pw] * gy[n, oh, ow], for chunks [t0, t1)."""
    cdef isize CM = g.C * g.M, KK = g.KH * g.KW
    cdef isize rows = g.N * g.OH
    cdef isize t, row, n, oh, q
    cdef floating* acc
    cdef const floating** xrows
    cdef floating* xe
    cdef isize* keys = _row_buffers(&xrows, &xe, g)
    for t in range(t0, t1):
        acc = partial + t * KK * CM
        for q in range(KK * CM):
            acc[q] = 0
        for row in range(t * rows // nchunks, (t + 1) * rows // nchunks):
            n = row // g.OH
            oh = row - n * g.OH
            _next_input_rows(x, n, oh, xrows, keys, xe, g)
            _kernel_grad_row(acc, xrows, gy + _yrow(n, oh, g), g)
    free(xrows)
    free(keys)
    free(xe)


include "depthwise_parts.pxi"
include "depthwise_calls.pxi"


# ----------------------------------------------------------------------------------------
# Public functions: check, look up the problem's plan, run
# ----------------------------------------------------------------------------------------

def depthwise_forward(x, kernel, strides, dilation, pads):
    """Depthwise convolution. x (N, *spatial, C), kernel (*k, C, M) -> y (N, *out, C*M).

    ``strides``, ``dilation``: tuples of r positive ints; ``pads``: r ``(before, after)``
    pairs of non-negative ints (explicit zero padding). See ``depthwise_twin`` for the formula.
    """
    if not _same_float(x, kernel, kernel):
        guards.check_array("x", x)
        guards.check_array("kernel", kernel)
        guards.check_same_dtype(("x", "kernel"), (x, kernel))
        x, kernel = np.asarray(x), np.asarray(kernel)      # (a subclass: its real shape)
    cdef _Plan p = _plan(x.shape, kernel.shape, strides, dilation, pads, "x")
    y = _output(p.y_shape, p.y_count, x.dtype)
    if p.g.N == 0:
        return y
    y4 = y if p.y4 is p.y_shape else y.reshape(p.y4)
    if x.itemsize == 4:
        _go_forward[float](_c4(x, p.x4), _k3(kernel, p), y4, p, _nthreads(p))
    else:
        _go_forward[double](_c4(x, p.x4), _k3(kernel, p), y4, p, _nthreads(p))
    return y


def depthwise_backward_input(grad_y, kernel, input_shape, strides, dilation, pads):
    """Gradient w.r.t. the input: grad_y (N, *out, C*M), kernel (*k, C, M) -> grad_x (input_shape)."""
    if not _same_float(grad_y, kernel, kernel):
        guards.check_array("grad_y", grad_y)
        guards.check_array("kernel", kernel)
        guards.check_same_dtype(("grad_y", "kernel"), (grad_y, kernel))
        grad_y, kernel = np.asarray(grad_y), np.asarray(kernel)
    if kernel.ndim not in (3, 4):
        raise ValueError(f"The kernel must have rank 3 or 4, received kernel shape {kernel.shape}.")
    input_shape = guards.shape_tuple("input_shape", input_shape, kernel.ndim)
    cdef _Plan p = _plan(input_shape, kernel.shape, strides, dilation, pads, "input_shape")
    _check_grad_y(grad_y, p)
    return _backward(grad_y, None, kernel, p, False)[0]


def depthwise_backward_kernel(x, grad_y, kernel_shape, strides, dilation, pads):
    """Gradient w.r.t. the kernel: x (N, *spatial, C), grad_y (N, *out, C*M) -> grad_kernel (kernel_shape)."""
    if not _same_float(x, grad_y, grad_y):
        guards.check_array("x", x)
        guards.check_array("grad_y", grad_y)
        guards.check_same_dtype(("x", "grad_y"), (x, grad_y))
        x, grad_y = np.asarray(x), np.asarray(grad_y)
    if x.ndim not in (3, 4):
        raise ValueError(f"`x` must have rank 3 (N, L, C) or 4 (N, H, W, C), received shape {x.shape}.")
    kernel_shape = guards.shape_tuple("kernel_shape", kernel_shape, x.ndim)
    cdef _Plan p = _plan(x.shape, kernel_shape, strides, dilation, pads, "x")
    _check_grad_y(grad_y, p)
    return _kernel_gradient(x, grad_y, kernel_shape, p)


def depthwise_backward(grad_y, x, kernel, strides, dilation, pads):
    """Both gradients in one pass over grad_y: grad_y (N, *out, C*M), x (N, *spatial, C),
    kernel (*k, C, M) -> (grad_x, grad_kernel)."""
    if not _same_float(grad_y, x, kernel):
        guards.check_array("grad_y", grad_y)
        guards.check_array("x", x)
        guards.check_array("kernel", kernel)
        guards.check_same_dtype(("grad_y", "x", "kernel"), (grad_y, x, kernel))
        grad_y, x, kernel = np.asarray(grad_y), np.asarray(x), np.asarray(kernel)
    cdef _Plan p = _plan(x.shape, kernel.shape, strides, dilation, pads, "x")
    _check_grad_y(grad_y, p)
    if p.g.M > 1 and p.g.sw > 1 and p.g.C * p.g.M * grad_y.itemsize <= APART_MAX_CHANNEL_BYTES:
        return _backward(grad_y, x, kernel, p, False)[0], _kernel_gradient(x, grad_y, kernel.shape, p)
    return _backward(grad_y, x, kernel, p, True)
