# cython: language_level=3
"""Depthwise convolution kernels (1D and 2D, forward and both gradients), Cython + OpenMP.

Same functions, same signatures and same results as ``depthwise_twin.py`` — read the twin
first for the maths. Layout is channels_last:

* ``x``       (N, *spatial, C)
* ``kernel``  (*k, C, M)
* ``y``       (N, *out, C*M), output channel ``o = c*M + m``

``y[n, o, c*M+m] = sum_j kernel[j, c, m] * xpad[n, o*s + j*d, c]`` per spatial axis.

How it is organised:

* The ``def`` functions at the bottom check every argument (types, dtypes, ranks, shapes,
  positive strides/dilation, non-negative pads, output length >= 1) and make contiguous
  copies where needed. Only then do they release the GIL and call the ``cdef`` loops, which
  are compiled without bounds checks and trust what they are given.
* A 1D convolution is run as a 2D one with a height of 1 (a free reshape), so there is one
  set of loops.
* Padding is never materialised: for every kernel tap the loops compute the range of output
  positions whose input index falls inside the real input, and skip the rest (those terms
  would multiply a padded zero).
* The channel axis is innermost in every loop, so the compiler vectorises it; a tap is
  applied to a short tile of output positions that stays in L1 cache.
* Work is shared between OpenMP threads by output rows (``prange``, guided schedule, so a
  thread delayed by another process leaves its rows to the others). The kernel gradient is a
  reduction over the whole batch: the rows are cut into a fixed number of chunks, each summed
  into its own partial buffer, and the partial buffers are added at the end, so no two
  threads ever write the same memory and the result does not depend on scheduling.
"""
import os

import numpy as np

from .buffers import empty_aligned as _empty_aligned

cimport numpy as cnp
cimport cython
from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.stdlib cimport free, malloc
from libc.string cimport memset

cnp.import_array()

ctypedef Py_ssize_t isize

# Output positions per tile: a tile of (positions x channels) accumulators is sized to stay
# in the L1 cache while every kernel tap is added into it.
cdef isize TILE_BYTES = 16384


cdef inline isize _ceil_div(isize a, isize b) noexcept nogil:
    """ceil(a / b) for b > 0 and any sign of a (C division truncates toward zero)."""
    if a >= 0:
        return (a + b - 1) // b
    return -((-a) // b)


cdef inline isize _imin(isize a, isize b) noexcept nogil:
    return a if a < b else b


cdef inline isize _imax(isize a, isize b) noexcept nogil:
    return a if a > b else b


# ----------------------------------------------------------------------------------------
# Inner loops over the channel axis (one output position, one kernel tap).
# ----------------------------------------------------------------------------------------

cdef inline void _add_tap(floating* y, const floating* k, const floating* x,
                          isize C, isize M) noexcept nogil:
    """y[c*M+m] += k[c*M+m] * x[c]."""
    cdef isize c, m
    cdef floating xv
    if M == 1:
        for c in range(C):
            y[c] += k[c] * x[c]
    else:
        for c in range(C):
            xv = x[c]
            for m in range(M):
                y[c * M + m] += k[c * M + m] * xv


cdef inline void _add_tap_transposed(floating* gx, const floating* k, const floating* gy,
                                     isize C, isize M) noexcept nogil:
    """gx[c] += sum_m k[c*M+m] * gy[c*M+m]."""
    cdef isize c, m
    cdef floating s
    if M == 1:
        for c in range(C):
            gx[c] += k[c] * gy[c]
    else:
        for c in range(C):
            s = 0
            for m in range(M):
                s = s + k[c * M + m] * gy[c * M + m]
            gx[c] += s


cdef inline void _add_outer(floating* gk, const floating* x, const floating* gy,
                            isize C, isize M) noexcept nogil:
    """gk[c*M+m] += x[c] * gy[c*M+m]."""
    cdef isize c, m
    cdef floating xv
    if M == 1:
        for c in range(C):
            gk[c] += x[c] * gy[c]
    else:
        for c in range(C):
            xv = x[c]
            for m in range(M):
                gk[c * M + m] += xv * gy[c * M + m]



# ----------------------------------------------------------------------------------------
# Register-blocked loops for depth_multiplier M = 1 (the common case)
# ----------------------------------------------------------------------------------------
# A block is 4 neighbouring positions x 64 bytes of channels (16 floats or 8 doubles). Its
# accumulators are a small local array that the compiler keeps in vector registers while all
# kernel taps are added, so each result is stored once and each kernel vector loaded is used
# for 4 positions. Positions next to the padding and leftover channels take the plain loop.

# The innermost block of the forward pass, in C: 4 output positions x 2 vectors of channels
# (16 floats or 8 doubles), accumulated in 8 named vector variables. Written this way (GCC /
# Clang vector extensions) the accumulators provably stay in registers; a plain C array would
# be kept in memory. Other compilers get the same arithmetic as plain loops.
cdef extern from *:
    """
    #include <string.h>
    #include <stdint.h>
    #if defined(__AVX__)
    #include <immintrin.h>
    /* Streaming stores write the output without first reading its cache lines (the output
       is written once and not read back soon), saving a third of the memory traffic. */
    static inline void mg_stream_float(float *p, __m256 v) {
        if (((uintptr_t)p & 31) == 0) _mm256_stream_ps(p, v); else _mm256_storeu_ps(p, v); }
    static inline void mg_stream_double(double *p, __m256d v) {
        if (((uintptr_t)p & 31) == 0) _mm256_stream_pd(p, v); else _mm256_storeu_pd(p, v); }
    #define MG_STREAM(T, p, v) mg_stream_##T((p), (v))
    static inline void mg_stream_fence(void) { _mm_sfence(); }
    #else
    #define MG_STREAM(T, p, v) mg_store_##T((p), (v))
    static inline void mg_stream_fence(void) { }
    #endif
    #if defined(__GNUC__) || defined(__clang__)
    typedef float mg_vec_float __attribute__((vector_size(32)));
    typedef double mg_vec_double __attribute__((vector_size(32)));
    #define MG_DEFINE_BLOCK4(T)                                                              \
    static inline mg_vec_##T mg_load_##T(const T *p) { mg_vec_##T v; memcpy(&v, p, sizeof v); return v; } \
    static inline void mg_store_##T(T *p, mg_vec_##T v) { memcpy(p, &v, sizeof v); }       \
    static void mg_sum_taps_block4_##T(T *out, const T **src, const T **ker,                \
                                       const Py_ssize_t *off, Py_ssize_t ntaps, Py_ssize_t p, \
                                       Py_ssize_t step, Py_ssize_t C, Py_ssize_t c0) {      \
        const Py_ssize_t L = 32 / sizeof(T), rs = step * C;                                  \
        mg_vec_##T a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0}, c0v = {0}, c1 = {0}, d0 = {0}, d1 = {0}; \
        for (Py_ssize_t t = 0; t < ntaps; t++) {                                             \
            const T *s = src[t] + (p * step + off[t]) * C + c0;                              \
            const T *k = ker[t] + c0;                                                        \
            mg_vec_##T k0 = mg_load_##T(k), k1 = mg_load_##T(k + L);                         \
            a0 += k0 * mg_load_##T(s);          a1 += k1 * mg_load_##T(s + L);               \
            b0 += k0 * mg_load_##T(s + rs);     b1 += k1 * mg_load_##T(s + rs + L);          \
            c0v += k0 * mg_load_##T(s + 2 * rs); c1 += k1 * mg_load_##T(s + 2 * rs + L);     \
            d0 += k0 * mg_load_##T(s + 3 * rs); d1 += k1 * mg_load_##T(s + 3 * rs + L);      \
        }                                                                                    \
        T *o = out + p * C + c0;                                                             \
        MG_STREAM(T, o, a0);         MG_STREAM(T, o + L, a1);                                \
        MG_STREAM(T, o + C, b0);     MG_STREAM(T, o + C + L, b1);                            \
        MG_STREAM(T, o + 2 * C, c0v); MG_STREAM(T, o + 2 * C + L, c1);                       \
        MG_STREAM(T, o + 3 * C, d0); MG_STREAM(T, o + 3 * C + L, d1);                        \
    }                                                                                        \
    static void mg_sum_taps_block1_##T(T *out, const T **src, const T **ker,                \
                                       const Py_ssize_t *off, Py_ssize_t ntaps, Py_ssize_t p, \
                                       Py_ssize_t step, Py_ssize_t C, Py_ssize_t c0) {      \
        const Py_ssize_t L = 32 / sizeof(T);                                                 \
        mg_vec_##T a0 = {0}, a1 = {0};                                                       \
        for (Py_ssize_t t = 0; t < ntaps; t++) {                                             \
            const T *s = src[t] + (p * step + off[t]) * C + c0;                              \
            const T *k = ker[t] + c0;                                                        \
            a0 += mg_load_##T(k) * mg_load_##T(s);                                           \
            a1 += mg_load_##T(k + L) * mg_load_##T(s + L);                                   \
        }                                                                                    \
        mg_store_##T(out + p * C + c0, a0); mg_store_##T(out + p * C + c0 + L, a1);          \
    }                                                                                        \
    static void mg_dot_block_##T(T *g, const T *x, const T *gy, Py_ssize_t lo, Py_ssize_t hi, \
                                 Py_ssize_t step, Py_ssize_t C) {                            \
        const Py_ssize_t L = 32 / sizeof(T), xs = step * C;                                  \
        mg_vec_##T a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0}, c0v = {0}, c1 = {0}, d0 = {0}, d1 = {0}; \
        Py_ssize_t p = lo;                                                                   \
        for (; p + 4 <= hi; p += 4) {                                                        \
            const T *xb = x + p * xs, *gb = gy + p * C;                                      \
            a0 += mg_load_##T(xb) * mg_load_##T(gb);                                         \
            a1 += mg_load_##T(xb + L) * mg_load_##T(gb + L);                                 \
            b0 += mg_load_##T(xb + xs) * mg_load_##T(gb + C);                                \
            b1 += mg_load_##T(xb + xs + L) * mg_load_##T(gb + C + L);                        \
            c0v += mg_load_##T(xb + 2 * xs) * mg_load_##T(gb + 2 * C);                       \
            c1 += mg_load_##T(xb + 2 * xs + L) * mg_load_##T(gb + 2 * C + L);                \
            d0 += mg_load_##T(xb + 3 * xs) * mg_load_##T(gb + 3 * C);                        \
            d1 += mg_load_##T(xb + 3 * xs + L) * mg_load_##T(gb + 3 * C + L);                \
        }                                                                                    \
        for (; p < hi; p++) {                                                                \
            a0 += mg_load_##T(x + p * xs) * mg_load_##T(gy + p * C);                         \
            a1 += mg_load_##T(x + p * xs + L) * mg_load_##T(gy + p * C + L);                 \
        }                                                                                    \
        mg_store_##T(g, mg_load_##T(g) + ((a0 + b0) + (c0v + d0)));                          \
        mg_store_##T(g + L, mg_load_##T(g + L) + ((a1 + b1) + (c1 + d1)));                   \
    }
    #else
    #define MG_DEFINE_BLOCK4(T)                                                              \
    static void mg_sum_taps_block4_##T(T *out, const T **src, const T **ker,                \
                                       const Py_ssize_t *off, Py_ssize_t ntaps, Py_ssize_t p, \
                                       Py_ssize_t step, Py_ssize_t C, Py_ssize_t c0) {      \
        enum { LANES = 64 / sizeof(T) };                                                     \
        T acc[4][LANES] = {{0}};                                                             \
        for (Py_ssize_t t = 0; t < ntaps; t++)                                               \
            for (int b = 0; b < 4; b++)                                                      \
                for (int i = 0; i < LANES; i++)                                              \
                    acc[b][i] += ker[t][c0 + i] * src[t][((p + b) * step + off[t]) * C + c0 + i]; \
        for (int b = 0; b < 4; b++)                                                          \
            for (int i = 0; i < LANES; i++)                                                  \
                out[(p + b) * C + c0 + i] = acc[b][i];                                       \
    }                                                                                        \
    static void mg_sum_taps_block1_##T(T *out, const T **src, const T **ker,                \
                                       const Py_ssize_t *off, Py_ssize_t ntaps, Py_ssize_t p, \
                                       Py_ssize_t step, Py_ssize_t C, Py_ssize_t c0) {      \
        enum { LANES = 64 / sizeof(T) };                                                     \
        T acc[LANES] = {0};                                                                  \
        for (Py_ssize_t t = 0; t < ntaps; t++)                                               \
            for (int i = 0; i < LANES; i++)                                                  \
                acc[i] += ker[t][c0 + i] * src[t][(p * step + off[t]) * C + c0 + i];        \
        for (int i = 0; i < LANES; i++)                                                      \
            out[p * C + c0 + i] = acc[i];                                                    \
    }                                                                                        \
    static void mg_dot_block_##T(T *g, const T *x, const T *gy, Py_ssize_t lo, Py_ssize_t hi, \
                                 Py_ssize_t step, Py_ssize_t C) {                            \
        enum { LANES = 64 / sizeof(T) };                                                     \
        for (Py_ssize_t p = lo; p < hi; p++)                                                 \
            for (int i = 0; i < LANES; i++)                                                  \
                g[i] += x[p * step * C + i] * gy[p * C + i];                                 \
    }
    #endif
    MG_DEFINE_BLOCK4(float)
    MG_DEFINE_BLOCK4(double)
    """
    void mg_sum_taps_block4_float(float* out, const float** src, const float** ker, const isize* off,
                                  isize ntaps, isize p, isize step, isize C, isize c0) noexcept nogil
    void mg_sum_taps_block4_double(double* out, const double** src, const double** ker, const isize* off,
                                   isize ntaps, isize p, isize step, isize C, isize c0) noexcept nogil
    void mg_sum_taps_block1_float(float* out, const float** src, const float** ker, const isize* off,
                                  isize ntaps, isize p, isize step, isize C, isize c0) noexcept nogil
    void mg_sum_taps_block1_double(double* out, const double** src, const double** ker, const isize* off,
                                   isize ntaps, isize p, isize step, isize C, isize c0) noexcept nogil
    void mg_stream_fence() noexcept nogil
    void mg_dot_block_float(float* g, const float* x, const float* gy, isize lo, isize hi,
                            isize step, isize C) noexcept nogil
    void mg_dot_block_double(double* g, const double* x, const double* gy, isize lo, isize hi,
                             isize step, isize C) noexcept nogil

cdef void _sum_taps_at(floating* out, isize p, isize c_lo, isize c_hi,
                       const floating** src, const floating** ker, const isize* off,
                       isize ntaps, isize step, isize C, isize n_in) noexcept nogil:
    """Plain loop for one position p: out[c] = sum over in-range taps t of ker[t][c] * src[t][q, c]."""
    cdef isize t, q, c
    cdef const floating* s
    cdef const floating* kt
    for c in range(c_lo, c_hi):
        out[c] = 0
    for t in range(ntaps):
        q = p * step + off[t]
        if q < 0 or q >= n_in:
            continue
        s = src[t] + q * C
        kt = ker[t]
        for c in range(c_lo, c_hi):
            out[c] += kt[c] * s[c]


cdef enum:
    MAX_BORDER_TAPS = 64


cdef void _sum_taps_one(floating* out, isize p, const floating** src, const floating** ker,
                        const isize* off, isize ntaps, isize step, isize C, isize n_in,
                        bint check) noexcept nogil:
    """One position p, all channels: vector blocks, then the leftover channels.

    With ``check``, taps reading outside the row (padding) are dropped first (p is a
    border position).
    """
    cdef isize CB = 16 if floating is float else 8
    cdef isize cfull = C - C % CB, c0, t, q, n = 0
    cdef const floating* fsrc[MAX_BORDER_TAPS]
    cdef const floating* fker[MAX_BORDER_TAPS]
    cdef isize foff[MAX_BORDER_TAPS]
    if check:
        if ntaps > MAX_BORDER_TAPS:
            _sum_taps_at(out + p * C, p, 0, C, src, ker, off, ntaps, step, C, n_in)
            return
        for t in range(ntaps):
            q = p * step + off[t]
            if 0 <= q < n_in:
                fsrc[n] = src[t]
                fker[n] = ker[t]
                foff[n] = off[t]
                n = n + 1
        src, ker, off, ntaps = fsrc, fker, foff, n
    c0 = 0
    while c0 < cfull:
        if floating is float:
            mg_sum_taps_block1_float(out, src, ker, off, ntaps, p, step, C, c0)
        else:
            mg_sum_taps_block1_double(out, src, ker, off, ntaps, p, step, C, c0)
        c0 += CB
    if cfull < C:
        _sum_taps_at(out + p * C, p, cfull, C, src, ker, off, ntaps, step, C, n_in)


cdef void _sum_taps(floating* out, isize npos, const floating** src, const floating** ker,
                    const isize* off, isize ntaps, isize step, isize C, isize n_in) noexcept nogil:
    """out[p, c] = sum_t ker[t][c] * src[t][p*step + off[t], c] for p in [0, npos).

    ``src[t]`` is a row of ``n_in`` positions x C channels; taps reading outside it (the
    padding) are skipped. The forward pass and the stride-1 input gradient both have this form.
    """
    cdef isize CB = 16 if floating is float else 8
    cdef isize a = 0, b = npos, t, p, c0, cfull = C - C % CB, bfull
    # [a, b): positions where every tap is inside the row; [a, bfull) in whole blocks of 4
    for t in range(ntaps):
        a = _imax(a, _ceil_div(-off[t], step))
        b = _imin(b, _ceil_div(n_in - off[t], step))
    a = _imin(a, npos)
    b = _imax(a, b)
    bfull = a + (b - a) // 4 * 4
    p = a
    while p < bfull:
        c0 = 0
        while c0 < cfull:
            if floating is float:
                mg_sum_taps_block4_float(out, src, ker, off, ntaps, p, step, C, c0)
            else:
                mg_sum_taps_block4_double(out, src, ker, off, ntaps, p, step, C, c0)
            c0 += CB
        if cfull < C:
            for t in range(4):
                _sum_taps_at(out + (p + t) * C, p + t, cfull, C, src, ker, off, ntaps, step, C, n_in)
        p += 4
    for p in range(bfull, b):
        _sum_taps_one(out, p, src, ker, off, ntaps, step, C, n_in, False)
    for p in range(0, a):
        _sum_taps_one(out, p, src, ker, off, ntaps, step, C, n_in, True)
    for p in range(b, npos):
        _sum_taps_one(out, p, src, ker, off, ntaps, step, C, n_in, True)
    mg_stream_fence()


cdef void _dot_positions(floating* g, const floating* xrow, const floating* gyrow,
                         isize lo, isize hi, isize step, isize off, isize C) noexcept nogil:
    """g[c] += sum_{p in [lo, hi)} xrow[p*step + off, c] * gyrow[p, c] (one tap's kernel gradient).

    Channels go in blocks of 64 bytes; within a block, four partial sums per channel
    (positions p, p+1, p+2, p+3) keep independent chains of multiply-adds in flight.
    """
    cdef isize CB = 16 if floating is float else 8
    cdef isize p, c0, c, cfull = C - C % CB
    cdef const floating* xb
    cdef const floating* gb
    c0 = 0
    while c0 < cfull:
        if floating is float:
            mg_dot_block_float(g + c0, xrow + off * C + c0, gyrow + c0, lo, hi, step, C)
        else:
            mg_dot_block_double(g + c0, xrow + off * C + c0, gyrow + c0, lo, hi, step, C)
        c0 += CB
    for p in range(lo, hi):
        xb = xrow + (p * step + off) * C
        gb = gyrow + p * C
        for c in range(cfull, C):
            g[c] += xb[c] * gb[c]


cdef void _forward_m1(const floating* x, const floating* k, floating* y,
                      isize N, isize H, isize W, isize C,
                      isize KH, isize KW, isize sh, isize sw, isize dh, isize dw,
                      isize ph, isize pw, isize OH, isize OW, int nthreads) noexcept nogil:
    cdef isize row, n, oh, jh, jw, ih, ntaps
    cdef const floating** src
    cdef const floating** ker
    cdef isize* off
    with parallel(num_threads=nthreads):
        # per-thread lists of the taps that touch the current output row
        src = <const floating**>malloc(KH * KW * sizeof(floating*))
        ker = <const floating**>malloc(KH * KW * sizeof(floating*))
        off = <isize*>malloc(KH * KW * sizeof(isize))
        for row in prange(N * OH, schedule="guided"):
            n = row // OH
            oh = row - n * OH
            ntaps = 0
            for jh in range(KH):
                ih = oh * sh + jh * dh - ph
                if ih < 0 or ih >= H:
                    continue
                for jw in range(KW):
                    src[ntaps] = x + (n * H + ih) * W * C
                    ker[ntaps] = k + (jh * KW + jw) * C
                    off[ntaps] = jw * dw - pw
                    ntaps = ntaps + 1
            _sum_taps(y + row * OW * C, OW, src, ker, off, ntaps, sw, C, W)
        free(src)
        free(ker)
        free(off)


cdef void _backward_input_m1s1(const floating* gy, const floating* k, floating* gx,
                               isize N, isize H, isize W, isize C,
                               isize KH, isize KW, isize sh, isize dh, isize dw,
                               isize ph, isize pw, isize OH, isize OW, int nthreads) noexcept nogil:
    # With a horizontal stride of 1, grad_x[iw] = sum_taps k[jh, jw] * grad_y[oh, iw + pw - jw*dw]:
    # the same "sum over taps" as the forward pass, reading grad_y rows.
    cdef isize row, n, ih, jh, jw, t, oh, ntaps
    cdef const floating** src
    cdef const floating** ker
    cdef isize* off
    with parallel(num_threads=nthreads):
        src = <const floating**>malloc(KH * KW * sizeof(floating*))
        ker = <const floating**>malloc(KH * KW * sizeof(floating*))
        off = <isize*>malloc(KH * KW * sizeof(isize))
        for row in prange(N * H, schedule="guided"):
            n = row // H
            ih = row - n * H
            ntaps = 0
            for jh in range(KH):
                t = ih + ph - jh * dh
                if t < 0 or t % sh != 0 or t // sh >= OH:
                    continue
                oh = t // sh
                for jw in range(KW):
                    src[ntaps] = gy + (n * OH + oh) * OW * C
                    ker[ntaps] = k + (jh * KW + jw) * C
                    off[ntaps] = pw - jw * dw
                    ntaps = ntaps + 1
            _sum_taps(gx + row * W * C, W, src, ker, off, ntaps, 1, C, OW)
        free(src)
        free(ker)
        free(off)


cdef void _backward_kernel_m1(const floating* x, const floating* gy, floating* partial,
                              isize nchunks, isize N, isize H, isize W, isize C,
                              isize KH, isize KW, isize sh, isize sw, isize dh, isize dw,
                              isize ph, isize pw, isize OH, isize OW, int nthreads) noexcept nogil:
    cdef isize KSIZE = KH * KW * C
    cdef isize rows = N * OH
    # positions per tile: the tile's input and gradient rows (about 2 x tile x C values) stay
    # in cache while every tap and channel block passes over them
    cdef isize tile = _imax(4, (8192 // sizeof(floating)) // C // 4 * 4)
    cdef isize t, r0, r1, row, n, oh, jh, ih, jw, off, lo, hi, p0
    cdef floating* acc
    for t in prange(nchunks, schedule="dynamic", chunksize=1, num_threads=nthreads):
        acc = partial + t * KSIZE
        memset(acc, 0, KSIZE * sizeof(floating))
        r0 = t * rows // nchunks
        r1 = (t + 1) * rows // nchunks
        for row in range(r0, r1):
            n = row // OH
            oh = row - n * OH
            p0 = 0
            while p0 < OW:
                for jh in range(KH):
                    ih = oh * sh + jh * dh - ph
                    if ih < 0 or ih >= H:
                        continue
                    for jw in range(KW):
                        off = jw * dw - pw
                        lo = _imax(p0, _ceil_div(-off, sw))
                        hi = _imin(_imin(OW, p0 + tile), _ceil_div(W - off, sw))
                        _dot_positions(acc + (jh * KW + jw) * C, x + (n * H + ih) * W * C,
                                       gy + row * OW * C, lo, hi, sw, off, C)
                p0 = p0 + tile

# ----------------------------------------------------------------------------------------
# The three loop nests, written for rank 2 (rank 1 runs with H = KH = 1).
# ----------------------------------------------------------------------------------------

cdef void _forward(const floating* x, const floating* k, floating* y,
                   isize N, isize H, isize W, isize C, isize M,
                   isize KH, isize KW, isize sh, isize sw, isize dh, isize dw,
                   isize ph, isize pw, isize OH, isize OW, isize tile,
                   int nthreads) noexcept nogil:
    cdef isize CM = C * M
    cdef isize ntiles = _ceil_div(OW, tile)
    cdef isize item, row, n, oh, ow0, ow1, jh, jw, ih, off, lo, hi, ow
    cdef floating* yrow
    cdef const floating* xrow
    cdef const floating* kt
    if M == 1:
        _forward_m1(x, k, y, N, H, W, C, KH, KW, sh, sw, dh, dw, ph, pw, OH, OW, nthreads)
        return
    for item in prange(N * OH * ntiles, schedule="guided", num_threads=nthreads):
        row = item // ntiles
        ow0 = (item - row * ntiles) * tile
        ow1 = _imin(ow0 + tile, OW)
        n = row // OH
        oh = row - n * OH
        yrow = y + row * OW * CM
        memset(yrow + ow0 * CM, 0, (ow1 - ow0) * CM * sizeof(floating))
        for jh in range(KH):
            ih = oh * sh + jh * dh - ph
            if ih < 0 or ih >= H:
                continue
            xrow = x + (n * H + ih) * W * C
            for jw in range(KW):
                off = jw * dw - pw
                # outputs ow whose input column ow*sw + off lies in [0, W)
                lo = _imax(ow0, _ceil_div(-off, sw))
                hi = _imin(ow1, _ceil_div(W - off, sw))
                kt = k + (jh * KW + jw) * CM
                for ow in range(lo, hi):
                    _add_tap(yrow + ow * CM, kt, xrow + (ow * sw + off) * C, C, M)


cdef void _backward_input(const floating* gy, const floating* k, floating* gx,
                          isize N, isize H, isize W, isize C, isize M,
                          isize KH, isize KW, isize sh, isize sw, isize dh, isize dw,
                          isize ph, isize pw, isize OH, isize OW, isize tile,
                          int nthreads) noexcept nogil:
    # Each thread owns whole tiles of grad_x rows, so the scatter below never races.
    cdef isize CM = C * M
    cdef isize ntiles = _ceil_div(W, tile)
    cdef isize item, row, n, ih, iw0, iw1, jh, jw, t, oh, off, lo, hi, ow
    cdef floating* gxrow
    cdef const floating* gyrow
    cdef const floating* kt
    if M == 1 and sw == 1:
        _backward_input_m1s1(gy, k, gx, N, H, W, C, KH, KW, sh, dh, dw, ph, pw, OH, OW, nthreads)
        return
    for item in prange(N * H * ntiles, schedule="guided", num_threads=nthreads):
        row = item // ntiles
        iw0 = (item - row * ntiles) * tile
        iw1 = _imin(iw0 + tile, W)
        n = row // H
        ih = row - n * H
        gxrow = gx + row * W * C
        memset(gxrow + iw0 * C, 0, (iw1 - iw0) * C * sizeof(floating))
        for jh in range(KH):
            # output row oh with oh*sh + jh*dh - ph == ih, if any
            t = ih + ph - jh * dh
            if t < 0 or t % sh != 0:
                continue
            oh = t // sh
            if oh >= OH:
                continue
            gyrow = gy + (n * OH + oh) * OW * CM
            for jw in range(KW):
                off = jw * dw - pw
                # outputs ow whose input column ow*sw + off lies in this tile [iw0, iw1)
                lo = _imax(0, _ceil_div(iw0 - off, sw))
                hi = _imin(OW, _ceil_div(iw1 - off, sw))
                kt = k + (jh * KW + jw) * CM
                for ow in range(lo, hi):
                    _add_tap_transposed(gxrow + (ow * sw + off) * C, kt, gyrow + ow * CM, C, M)


cdef void _backward_kernel(const floating* x, const floating* gy, floating* partial,
                           isize nchunks,
                           isize N, isize H, isize W, isize C, isize M,
                           isize KH, isize KW, isize sh, isize sw, isize dh, isize dw,
                           isize ph, isize pw, isize OH, isize OW, int nthreads) noexcept nogil:
    # Chunk t sums the contribution of output rows [r0, r1) into partial[t]; the caller
    # adds the partial buffers. Every chunk writes only its own buffer: race-free.
    cdef isize CM = C * M
    cdef isize KSIZE = KH * KW * CM
    cdef isize rows = N * OH
    cdef isize t, r0, r1, row, n, oh, jh, ih, ow, jw, jw_lo, jw_hi, base
    cdef floating* acc
    cdef const floating* xrow
    cdef const floating* gyrow
    if M == 1:
        _backward_kernel_m1(x, gy, partial, nchunks, N, H, W, C, KH, KW, sh, sw, dh, dw,
                            ph, pw, OH, OW, nthreads)
        return
    for t in prange(nchunks, schedule="dynamic", chunksize=1, num_threads=nthreads):
        acc = partial + t * KSIZE
        memset(acc, 0, KSIZE * sizeof(floating))
        r0 = t * rows // nchunks
        r1 = (t + 1) * rows // nchunks
        for row in range(r0, r1):
            n = row // OH
            oh = row - n * OH
            gyrow = gy + row * OW * CM
            for jh in range(KH):
                ih = oh * sh + jh * dh - ph
                if ih < 0 or ih >= H:
                    continue
                xrow = x + (n * H + ih) * W * C
                # output position outer, taps inner: consecutive updates go to different
                # accumulators (one line of C*M per tap), so they do not wait on each other
                for ow in range(OW):
                    base = ow * sw - pw
                    jw_lo = _imax(0, _ceil_div(-base, dw))
                    jw_hi = _imin(KW, _ceil_div(W - base, dw))
                    for jw in range(jw_lo, jw_hi):
                        _add_outer(acc + (jh * KW + jw) * CM, xrow + (base + jw * dw) * C,
                                   gyrow + ow * CM, C, M)


# ----------------------------------------------------------------------------------------
# Argument checking (Python level, before any nogil code runs)
# ----------------------------------------------------------------------------------------

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# Largest stride, dilation or pad accepted: the bound of minigrad/ops/geometry.py (whose
# docstring shows why every index the loops form then fits in Py_ssize_t).
MAX_GEOMETRY = 2**31 - 1


@cython.boundscheck(True)
@cython.wraparound(True)
def _thread_count():
    """Threads OpenMP will use: OMP_NUM_THREADS if set, else the CPUs this process may use."""
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


# Below this many multiply-adds a call runs on one thread: waking a second thread costs more
# than it saves, and much more when another process is keeping the other core busy. Idle
# OpenMP threads sleep (OMP_WAIT_POLICY=PASSIVE, see minigrad/threads.py), and waking one
# took ~100-200 us on this 2-core VM, about what one thread needs for 1M multiply-adds:
# the demo model's layers (~0.3M each) ran 2-3x faster on one thread than on two.
PARALLEL_MIN_WORK = 1 << 21


@cython.boundscheck(True)
@cython.wraparound(True)
def _threads_for(work):
    return 1 if work < PARALLEL_MIN_WORK else _thread_count()


def _check_array(name, a):
    if not isinstance(a, np.ndarray):
        raise TypeError(f"`{name}` must be a numpy.ndarray, received {type(a).__name__}.")
    if a.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"`{name}` must have dtype float32 or float64, received dtype {a.dtype}.")


@cython.boundscheck(True)
@cython.wraparound(True)
def _check_same_dtype(names, arrays):
    dtypes = {a.dtype for a in arrays}
    if len(dtypes) > 1:
        got = ", ".join(f"{n}={a.dtype}" for n, a in zip(names, arrays))
        raise TypeError(f"All arrays must share one dtype, received {got}.")


@cython.boundscheck(True)
@cython.wraparound(True)
def _int_tuple(name, value, r, minimum):
    """A tuple of r Python ints >= minimum, or a clear error."""
    try:
        items = tuple(value)
    except TypeError:
        raise TypeError(f"`{name}` must be a tuple of {r} integers, received {value!r}.") from None
    if len(items) != r:
        raise ValueError(f"`{name}` must be a tuple of {r} integers, received {value!r}.")
    out = []
    for v in items:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"`{name}` must be a tuple of {r} integers, received {value!r}.")
        if v < minimum:
            raise ValueError(f"`{name}` must contain integers >= {minimum}, received {value!r}.")
        out.append(int(v))
    return tuple(out)


@cython.boundscheck(True)
@cython.wraparound(True)
def _pads_tuple(pads, r):
    try:
        items = tuple(pads)
    except TypeError:
        raise TypeError(f"`pads` must be a tuple of {r} (before, after) pairs, received {pads!r}.") from None
    if len(items) != r:
        raise ValueError(f"`pads` must be a tuple of {r} (before, after) pairs, received {pads!r}.")
    return tuple(_int_tuple(f"pads[{i}]", p, 2, 0) for i, p in enumerate(items))


@cython.boundscheck(True)
@cython.wraparound(True)
def _shape_tuple(name, shape, ndim):
    shape = _int_tuple(name, shape, ndim, 0)
    return shape


@cython.boundscheck(True)
@cython.wraparound(True)
def _geometry(x_shape, kernel_shape, strides, dilation, pads, x_name):
    """Check shapes and parameters; return (r, strides, dilation, pads, out_shape)."""
    r = len(kernel_shape) - 2
    if r not in (1, 2):
        raise ValueError(f"The kernel must have rank 3 (1D: k, C, M) or 4 (2D: kh, kw, C, M), "
                         f"received kernel shape {tuple(kernel_shape)}.")
    if len(x_shape) != r + 2:
        raise ValueError(f"`{x_name}` must have rank {r + 2} (N, *spatial, C) for a kernel of shape "
                         f"{tuple(kernel_shape)}, received shape {tuple(x_shape)}.")
    if any(v <= 0 for v in kernel_shape):
        raise ValueError(f"Kernel dimensions must be positive, received kernel shape {tuple(kernel_shape)}.")
    if any(v <= 0 for v in x_shape[1:]):
        raise ValueError(f"Spatial and channel dimensions of `{x_name}` must be positive, "
                         f"received shape {tuple(x_shape)}.")
    if x_shape[-1] != kernel_shape[-2]:
        raise ValueError(f"`{x_name}` has {x_shape[-1]} channels (shape {tuple(x_shape)}) but the kernel "
                         f"expects {kernel_shape[-2]} (kernel shape {tuple(kernel_shape)}).")
    strides = _int_tuple("strides", strides, r, 1)
    dilation = _int_tuple("dilation", dilation, r, 1)
    pads = _pads_tuple(pads, r)
    for name, values in (("strides", strides), ("dilation", dilation), ("pads", sum(pads, ()))):
        if max(values) > MAX_GEOMETRY:
            raise ValueError(f"`{name}` must contain integers <= {MAX_GEOMETRY} (larger ones would "
                             f"overflow the kernels' index arithmetic), received {name}="
                             f"{pads if name == 'pads' else values}.")
    out = []
    for i in range(r):
        L, k = x_shape[1 + i], kernel_shape[i]
        o = (L + pads[i][0] + pads[i][1] - dilation[i] * (k - 1) - 1) // strides[i] + 1
        if o < 1:
            raise ValueError(
                f"Computed output size would be zero or negative: input shape {tuple(x_shape)}, "
                f"kernel shape {tuple(kernel_shape)}, strides={strides}, dilation={dilation}, "
                f"pads={pads} give output length {o} on spatial axis {i}.")
        out.append(o)
    return r, strides, dilation, pads, tuple(out)


@cython.boundscheck(True)
@cython.wraparound(True)
def _as_rank2(r, strides, dilation, pads, out, x_shape, kernel_shape):
    """Every size the loops need, with a 1D problem seen as 2D of height 1:
    ((sh, sw), (dh, dw), (ph, pw), (OH, OW), (H, W), (KH, KW)). Only the padding *before*
    each axis is needed: the output size already accounts for the padding after."""
    if r == 1:
        strides, dilation, pads, out = (1,) + strides, (1,) + dilation, ((0, 0),) + pads, (1,) + out
        x_shape, kernel_shape = (x_shape[0], 1) + tuple(x_shape[1:]), (1,) + tuple(kernel_shape)
    return (strides, dilation, (pads[0][0], pads[1][0]), out,
            (x_shape[1], x_shape[2]), (kernel_shape[0], kernel_shape[1]))


@cython.boundscheck(True)
@cython.wraparound(True)
def _tile(CM, itemsize):
    return max(1, TILE_BYTES // (CM * itemsize))


# ----------------------------------------------------------------------------------------
# Public functions
# ----------------------------------------------------------------------------------------

@cython.boundscheck(True)
@cython.wraparound(True)
def depthwise_forward(x, kernel, strides, dilation, pads):
    """Depthwise convolution. x (N, *spatial, C), kernel (*k, C, M) -> y (N, *out, C*M).

    ``strides``, ``dilation``: tuples of r positive ints; ``pads``: r ``(before, after)``
    pairs of non-negative ints (explicit zero padding). See ``depthwise_twin`` for the formula.
    """
    cdef isize N, H, W, C, M, KH, KW, sh, sw, dh, dw, ph, pw, OH, OW, tile, nchunks
    cdef int nthreads
    _check_array("x", x)
    _check_array("kernel", kernel)
    _check_same_dtype(("x", "kernel"), (x, kernel))
    r, strides, dilation, pads, out = _geometry(x.shape, kernel.shape, strides, dilation, pads, "x")
    x = np.ascontiguousarray(x)
    kernel = np.ascontiguousarray(kernel)
    N, C, M = x.shape[0], kernel.shape[-2], kernel.shape[-1]
    y = _empty_aligned((N,) + out + (C * M,), x.dtype)
    (sh, sw), (dh, dw), (ph, pw), (OH, OW), (H, W), (KH, KW) = _as_rank2(
        r, strides, dilation, pads, out, x.shape, kernel.shape)
    tile = _tile(C * M, x.itemsize)
    nthreads = _threads_for(N * OH * OW * C * M * KH * KW)
    cdef void* p_x = cnp.PyArray_DATA(x)
    cdef void* p_kernel = cnp.PyArray_DATA(kernel)
    cdef void* p_y = cnp.PyArray_DATA(y)
    if x.dtype == np.float32:
        with nogil:
            _forward[float](<const float*>p_x, <const float*>p_kernel,
                            <float*>p_y, N, H, W, C, M, KH, KW, sh, sw, dh, dw,
                            ph, pw, OH, OW, tile, nthreads)
    else:
        with nogil:
            _forward[double](<const double*>p_x, <const double*>p_kernel,
                             <double*>p_y, N, H, W, C, M, KH, KW, sh, sw, dh, dw,
                             ph, pw, OH, OW, tile, nthreads)
    return y


@cython.boundscheck(True)
@cython.wraparound(True)
def depthwise_backward_input(grad_y, kernel, input_shape, strides, dilation, pads):
    """Gradient w.r.t. the input: grad_y (N, *out, C*M), kernel (*k, C, M) -> grad_x (input_shape)."""
    cdef isize N, H, W, C, M, KH, KW, sh, sw, dh, dw, ph, pw, OH, OW, tile, nchunks
    cdef int nthreads
    _check_array("grad_y", grad_y)
    _check_array("kernel", kernel)
    _check_same_dtype(("grad_y", "kernel"), (grad_y, kernel))
    if kernel.ndim not in (3, 4):
        raise ValueError(f"The kernel must have rank 3 or 4, received kernel shape {kernel.shape}.")
    input_shape = _shape_tuple("input_shape", input_shape, kernel.ndim)
    r, strides, dilation, pads, out = _geometry(input_shape, kernel.shape, strides, dilation, pads,
                                                "input_shape")
    N, C, M = input_shape[0], kernel.shape[-2], kernel.shape[-1]
    expected = (N,) + out + (C * M,)
    if grad_y.shape != expected:
        raise ValueError(f"`grad_y` must have shape {expected} for input shape {input_shape} and kernel "
                         f"shape {kernel.shape}, received {grad_y.shape}.")
    grad_y = np.ascontiguousarray(grad_y)
    kernel = np.ascontiguousarray(kernel)
    grad_x = _empty_aligned(input_shape, grad_y.dtype)
    (sh, sw), (dh, dw), (ph, pw), (OH, OW), (H, W), (KH, KW) = _as_rank2(
        r, strides, dilation, pads, out, input_shape, kernel.shape)
    tile = _tile(C, grad_y.itemsize)
    nthreads = _threads_for(N * OH * OW * C * M * KH * KW)
    cdef void* p_grad_y = cnp.PyArray_DATA(grad_y)
    cdef void* p_kernel = cnp.PyArray_DATA(kernel)
    cdef void* p_grad_x = cnp.PyArray_DATA(grad_x)
    if grad_y.dtype == np.float32:
        with nogil:
            _backward_input[float](<const float*>p_grad_y,
                                   <const float*>p_kernel, <float*>p_grad_x,
                                   N, H, W, C, M, KH, KW, sh, sw, dh, dw, ph, pw, OH, OW, tile, nthreads)
    else:
        with nogil:
            _backward_input[double](<const double*>p_grad_y,
                                    <const double*>p_kernel, <double*>p_grad_x,
                                    N, H, W, C, M, KH, KW, sh, sw, dh, dw, ph, pw, OH, OW, tile, nthreads)
    return grad_x


@cython.boundscheck(True)
@cython.wraparound(True)
def depthwise_backward_kernel(x, grad_y, kernel_shape, strides, dilation, pads):
    """Gradient w.r.t. the kernel: x (N, *spatial, C), grad_y (N, *out, C*M) -> grad_kernel (kernel_shape)."""
    cdef isize N, H, W, C, M, KH, KW, sh, sw, dh, dw, ph, pw, OH, OW, tile, nchunks
    cdef int nthreads
    _check_array("x", x)
    _check_array("grad_y", grad_y)
    _check_same_dtype(("x", "grad_y"), (x, grad_y))
    if x.ndim not in (3, 4):
        raise ValueError(f"`x` must have rank 3 (N, L, C) or 4 (N, H, W, C), received shape {x.shape}.")
    kernel_shape = _shape_tuple("kernel_shape", kernel_shape, x.ndim)
    r, strides, dilation, pads, out = _geometry(x.shape, kernel_shape, strides, dilation, pads, "x")
    N, C, M = x.shape[0], kernel_shape[-2], kernel_shape[-1]
    expected = (N,) + out + (C * M,)
    if grad_y.shape != expected:
        raise ValueError(f"`grad_y` must have shape {expected} for input shape {x.shape} and kernel "
                         f"shape {kernel_shape}, received {grad_y.shape}.")
    x = np.ascontiguousarray(x)
    grad_y = np.ascontiguousarray(grad_y)
    (sh, sw), (dh, dw), (ph, pw), (OH, OW), (H, W), (KH, KW) = _as_rank2(
        r, strides, dilation, pads, out, x.shape, kernel_shape)
    nthreads = _threads_for(N * OH * OW * C * M * KH * KW)
    # a fixed number of chunks, each with its own partial sum (so the result does not depend
    # on which thread ran what), several per thread so that a thread held up by another
    # process does not hold up the others
    nchunks = 1 if nthreads == 1 else max(1, min(8 * nthreads, N * OH))
    partial = np.empty((nchunks,) + kernel_shape, dtype=x.dtype)
    cdef void* p_x = cnp.PyArray_DATA(x)
    cdef void* p_grad_y = cnp.PyArray_DATA(grad_y)
    cdef void* p_partial = cnp.PyArray_DATA(partial)
    if x.dtype == np.float32:
        with nogil:
            _backward_kernel[float](<const float*>p_x, <const float*>p_grad_y,
                                    <float*>p_partial, nchunks,
                                    N, H, W, C, M, KH, KW, sh, sw, dh, dw, ph, pw, OH, OW, nthreads)
    else:
        with nogil:
            _backward_kernel[double](<const double*>p_x, <const double*>p_grad_y,
                                     <double*>p_partial, nchunks,
                                     N, H, W, C, M, KH, KW, sh, sw, dh, dw, ph, pw, OH, OW, nthreads)
    return partial[0].copy() if nchunks == 1 else partial.sum(axis=0)
