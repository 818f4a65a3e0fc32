/* The kernel gradient of 3-wide kernel rows at any horizontal stride and dilation, one input
 * row against up to three grad_y rows (included by rows.h, after simd.h).
 *
 *   mg_dot3_rows_T  g[r][j*gs + c] += sum_{p in [lo, hi)} x[p*sw + j*dw, c] * gy[r][p, c]
 *                   for r < R (1..3), j < 3, where x positions outside [xlo, xhi) are
 *                   padding (read as zero).
 *
 * The fused backward calls it at horizontal strides > 1 (at stride 1 simd.h's sliding
 * windows, mg_dot3 and mg_dot3x3, load each input vector once and measured faster). Strided
 * rows used to run tap by tap (mg_dot_positions): a call per tap and 64-byte block, each a
 * short chain of dependent multiply-adds, with two integer divisions per tap to find its
 * positions; on the small images of a MobileNetV2 (rows of 2-4 grad_y positions) that was
 * most of the time. Here one vector of channels at a time takes all 3R taps: 3R independent
 * accumulators, each input vector loaded once for the R grad_y rows.
 */
#ifndef MINIGRAD_KERNEL_GRAD3_H
#define MINIGRAD_KERNEL_GRAD3_H

#include "simd.h"

#if (defined(__GNUC__) || defined(__clang__)) && !defined(MG_PLAIN_LOOPS)

/* x at position q of the row: loaded (x_in), or a zero vector over the padding (x_at) */
#define MG_X_IN(T, q) mg_load_##T(x + (q) * C)
#define MG_X_AT(T, q) ((q) >= xlo && (q) < xhi ? mg_load_##T(x + (q) * C) : zero)
/* one position p: its three input vectors against the R grad_y vectors */
#define MG_DOT3_STEP(T, XLOAD)                                                              \
    do {                                                                                    \
        const mg_isize q = p * sw;                                                          \
        u = XLOAD(T, q); v = XLOAD(T, q + dw); w = XLOAD(T, q + 2 * dw);                    \
        MG_IN_REGISTER(u); MG_IN_REGISTER(v); MG_IN_REGISTER(w);                            \
        h = mg_load_##T(gy[0] + p * C); MG_IN_REGISTER(h); a0 += u * h; a1 += v * h; a2 += w * h; \
        if (R > 1) {                                                                        \
            h = mg_load_##T(gy[1] + p * C); MG_IN_REGISTER(h); b0 += u * h; b1 += v * h; b2 += w * h; \
        }                                                                                   \
        if (R > 2) {                                                                        \
            h = mg_load_##T(gy[2] + p * C); MG_IN_REGISTER(h); e0 += u * h; e1 += v * h; e2 += w * h; \
        }                                                                                   \
    } while (0)
/* add the accumulators of grad_y row r into its kernel gradient row */
#define MG_FLUSH(T, r, a, b, c)                                                             \
    mg_store_##T(g[r] + c0, mg_load_##T(g[r] + c0) + a);                                    \
    mg_store_##T(g[r] + gs + c0, mg_load_##T(g[r] + gs + c0) + b);                          \
    mg_store_##T(g[r] + 2 * gs + c0, mg_load_##T(g[r] + 2 * gs + c0) + c)

#define MG_DEFINE_KERNEL_GRAD3(T)                                                           \
/* one vector of channels c0, R a compile-time constant where inlined (the unused           \
   accumulators and loads go); positions [pa, pb) read no padding and skip the tests */     \
static inline __attribute__((always_inline)) void                                         \
mg_dot3_rows_body_##T(T *const *g_, mg_isize gs, const T *x, const T *const *gy_, const int R, \
                      mg_isize lo, mg_isize pa, mg_isize pb, mg_isize hi, mg_isize sw,      \
                      mg_isize dw, mg_isize C, mg_isize xlo, mg_isize xhi, mg_isize c0) {   \
    const mg_vec_##T zero = {0};                                                            \
    mg_vec_##T a0 = zero, a1 = zero, a2 = zero, b0 = zero, b1 = zero, b2 = zero;            \
    mg_vec_##T e0 = zero, e1 = zero, e2 = zero, u, v, w, h;                                 \
    const T *gy[3] = {gy_[0] + c0, R > 1 ? gy_[1] + c0 : NULL, R > 2 ? gy_[2] + c0 : NULL}; \
    T *const *g = g_;                                                                       \
    mg_isize p = lo;                                                                        \
    x += c0;                                                                                \
    for (; p < pa; p++) MG_DOT3_STEP(T, MG_X_AT);                                           \
    for (; p < pb; p++) MG_DOT3_STEP(T, MG_X_IN);                                           \
    for (; p < hi; p++) MG_DOT3_STEP(T, MG_X_AT);                                           \
    MG_FLUSH(T, 0, a0, a1, a2);                                                             \
    if (R > 1) { MG_FLUSH(T, 1, b0, b1, b2); }                                              \
    if (R > 2) { MG_FLUSH(T, 2, e0, e1, e2); }                                              \
}                                                                                           \
static MG_NOINLINE void mg_dot3_rows_##T(T *const *g, mg_isize gs, const T *x, const T *const *gy,      \
                             mg_isize R, mg_isize lo, mg_isize hi, mg_isize sw, mg_isize dw, \
                             mg_isize C, mg_isize xlo, mg_isize xhi) {                      \
    const mg_isize L = 32 / sizeof(T), cvec = C - C % L;                                    \
    /* [pa, pb): the positions whose three taps all read the row, p*sw >= xlo and           \
       p*sw + 2*dw < xhi */                                                                 \
    const mg_isize pa = mg_imin(hi, mg_imax(lo, mg_ceil_div(xlo, sw)));                     \
    const mg_isize pb = mg_imax(pa, mg_imin(hi, mg_ceil_div(xhi - 2 * dw, sw)));            \
    for (mg_isize c0 = 0; c0 < cvec; c0 += L) {                                             \
        switch (R) {                                                                        \
        case 1: mg_dot3_rows_body_##T(g, gs, x, gy, 1, lo, pa, pb, hi, sw, dw, C, xlo, xhi, c0); break; \
        case 2: mg_dot3_rows_body_##T(g, gs, x, gy, 2, lo, pa, pb, hi, sw, dw, C, xlo, xhi, c0); break; \
        default: mg_dot3_rows_body_##T(g, gs, x, gy, 3, lo, pa, pb, hi, sw, dw, C, xlo, xhi, c0); break; \
        }                                                                                   \
    }                                                                                       \
    mg_dot3_rows_rest_##T(g, gs, x, gy, R, lo, hi, sw, dw, C, xlo, xhi, cvec);              \
}

#else  /* no vector extensions: every channel in the plain loop */

#define MG_DEFINE_KERNEL_GRAD3(T)                                                           \
static MG_NOINLINE void mg_dot3_rows_##T(T *const *g, mg_isize gs, const T *x, const T *const *gy,      \
                             mg_isize R, mg_isize lo, mg_isize hi, mg_isize sw, mg_isize dw, \
                             mg_isize C, mg_isize xlo, mg_isize xhi) {                      \
    mg_dot3_rows_rest_##T(g, gs, x, gy, R, lo, hi, sw, dw, C, xlo, xhi, 0);                 \
}

#endif

/* channels [c_lo, C) in plain loops (what is left after the whole vectors) */
#define MG_DEFINE_KERNEL_GRAD3_REST(T)                                                      \
static void mg_dot3_rows_rest_##T(T *const *g, mg_isize gs, const T *x, const T *const *gy, \
                                  mg_isize R, mg_isize lo, mg_isize hi, mg_isize sw,        \
                                  mg_isize dw, mg_isize C, mg_isize xlo, mg_isize xhi,      \
                                  mg_isize c_lo) {                                          \
    for (mg_isize r = 0; r < R; r++)                                                        \
        for (mg_isize p = lo; p < hi; p++)                                                  \
            for (mg_isize j = 0; j < 3; j++) {                                              \
                const mg_isize q = p * sw + j * dw;                                         \
                if (q >= xlo && q < xhi)                                                    \
                    for (mg_isize c = c_lo; c < C; c++)                                     \
                        g[r][j * gs + c] += x[q * C + c] * gy[r][p * C + c];                \
            }                                                                               \
}

MG_DEFINE_KERNEL_GRAD3_REST(float)
MG_DEFINE_KERNEL_GRAD3_REST(double)
MG_DEFINE_KERNEL_GRAD3(float)
MG_DEFINE_KERNEL_GRAD3(double)

#endif  /* MINIGRAD_KERNEL_GRAD3_H */
