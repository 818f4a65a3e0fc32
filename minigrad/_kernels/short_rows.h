/* Rows of 4 to 7 output positions for 3-wide kernel rows (included by rows.h, after simd.h).
 *
 * Small feature maps (a MobileNetV2 on 8x8 images has 4x4 ones) have rows too short for the
 * 3-wide blocks of 8 positions in simd.h; they used to run one position at a time through
 * the tap tables (mg_sum_taps_one), at a third of the speed. Here the same idea as
 * mg_rows3_cols, on 4 positions: the kernel row's three vectors in registers, each of the six
 * input vectors a block reads loaded once and used by every output it feeds, and padding
 * read as zero vectors, so that a row of 4 with 'same' padding is one block.
 *
 *   mg_sum_rows3_block4_T  positions [a, b), 4 <= b - a < 8, of rows of `n_in` positions, in
 *                          blocks of 4 (the second, if any, ends at b and rewrites a few
 *                          outputs); outputs [p, p + 4) read inputs p + first + i, i < 6, of
 *                          which at most two on either side are padding. Plain stores: the
 *                          rows are a few cache lines, read again soon.
 *   mg_sum_taps_block2_T   mg_sum_taps_block1 (simd.h: one position, the taps that read
 *                          padding removed) on 128 bytes of channels: four accumulators,
 *                          not two. A position sums only a few taps, so with two the
 *                          dependent multiply-adds left the loop waiting on their latency
 *                          (the border positions, and every position of the strided input
 *                          gradient).
 */
#ifndef MINIGRAD_SHORT_ROWS_H
#define MINIGRAD_SHORT_ROWS_H

#include "simd.h"

#if (defined(__GNUC__) || defined(__clang__)) && !defined(MG_PLAIN_LOOPS)

/* input vector i of a 4-position block (zero where it is padding) */
#define MG_VAT4(T, i) ((i) < zlo || (i) >= 6 - zhi ? zero : mg_load_##T(s + (i) * C))

#define MG_DEFINE_SHORT_ROWS(T)                                                             \
static inline void mg_sum_taps_block2_##T(T *out, mg_isize OS, const T **src, const T **ker, \
                                          const mg_isize *off, mg_isize ntaps, mg_isize p,  \
                                          mg_isize step, mg_isize C, mg_isize c0) {        \
    const mg_isize L = 32 / sizeof(T);                                                      \
    mg_vec_##T a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};                                      \
    for (mg_isize t = 0; t < ntaps; t++) {                                                  \
        const T *s = src[t] + (p * step + off[t]) * C + c0;                                 \
        const T *k = ker[t] + c0;                                                           \
        a0 += mg_load_##T(k) * mg_load_##T(s);                                              \
        a1 += mg_load_##T(k + L) * mg_load_##T(s + L);                                      \
        a2 += mg_load_##T(k + 2 * L) * mg_load_##T(s + 2 * L);                              \
        a3 += mg_load_##T(k + 3 * L) * mg_load_##T(s + 3 * L);                              \
    }                                                                                       \
    T *o = out + p * OS + c0;                                                               \
    mg_store_##T(o, a0); mg_store_##T(o + L, a1);                                           \
    mg_store_##T(o + 2 * L, a2); mg_store_##T(o + 3 * L, a3);                               \
}                                                                                           \
/* zlo, zhi (0..2) compile-time constants where inlined: the padding tests then vanish (as \
   branches in the loop they took a third of the time of a 4x4 map's rows) */              \
static inline __attribute__((always_inline)) void                                         \
mg_rows3_cols4_##T(T *out, mg_isize OS, mg_isize p, const T **row, const T **krow, mg_isize R, \
                   mg_isize tstep, mg_isize kstride, mg_isize C, mg_isize cvec,             \
                   const mg_isize zlo, const mg_isize zhi) {                                \
    const mg_isize L = 32 / sizeof(T), CB = 2 * L;                                          \
    const mg_isize f = tstep > 0 ? 0 : 2, d = tstep > 0 ? CB : -CB;   /* as mg_rows3_cols */ \
    const mg_vec_##T zero = {0};                                                            \
    for (mg_isize c = 0; c < cvec; c += L) {                                                \
        mg_vec_##T y0 = zero, y1 = zero, y2 = zero, y3 = zero;                              \
        for (mg_isize j = 0; j < R; j++) {                                                  \
            const T *k = krow[j] + (c / CB) * kstride + c % CB;                             \
            const mg_vec_##T k0 = mg_load_##T(k + f * CB), k1 = mg_load_##T(k + f * CB + d); \
            const mg_vec_##T k2 = mg_load_##T(k + f * CB + 2 * d);                          \
            const T *s = row[j] + (p - f) * C + c;                                          \
            mg_vec_##T v;                                                                   \
            v = MG_VAT4(T, 0); MG_IN_REGISTER(v); y0 += k0 * v;                             \
            v = MG_VAT4(T, 1); MG_IN_REGISTER(v); y1 += k0 * v; y0 += k1 * v;               \
            v = MG_VAT4(T, 2); MG_IN_REGISTER(v); y2 += k0 * v; y1 += k1 * v; y0 += k2 * v; \
            v = MG_VAT4(T, 3); MG_IN_REGISTER(v); y3 += k0 * v; y2 += k1 * v; y1 += k2 * v; \
            v = MG_VAT4(T, 4); MG_IN_REGISTER(v); y3 += k1 * v; y2 += k2 * v;               \
            v = MG_VAT4(T, 5); MG_IN_REGISTER(v); y3 += k2 * v;                             \
        }                                                                                   \
        T *o = out + p * OS + c;                                                            \
        mg_store_##T(o, y0);         mg_store_##T(o + OS, y1);                              \
        mg_store_##T(o + 2 * OS, y2); mg_store_##T(o + 3 * OS, y3);                         \
    }                                                                                       \
}                                                                                           \
static MG_NOINLINE void mg_sum_rows3_block4_##T(T *out, mg_isize OS, mg_isize a,            \
                                                mg_isize b, const T **row,                  \
                                    const T **krow, mg_isize R, mg_isize tstep,             \
                                    mg_isize kstride, mg_isize C, mg_isize cvec,            \
                                    mg_isize first, mg_isize n_in) {                        \
    for (mg_isize p = a; p < b; p += 4) {                                                   \
        if (p + 4 > b) p = b - 4;                                                           \
        const mg_isize zlo = p + first < 0 ? -(p + first) : 0;                              \
        const mg_isize zhi = p + first + 6 > n_in ? p + first + 6 - n_in : 0;               \
        switch (zlo * 3 + zhi) {                                                            \
        case 0: mg_rows3_cols4_##T(out, OS, p, row, krow, R, tstep, kstride, C, cvec, 0, 0); break; \
        case 1: mg_rows3_cols4_##T(out, OS, p, row, krow, R, tstep, kstride, C, cvec, 0, 1); break; \
        case 2: mg_rows3_cols4_##T(out, OS, p, row, krow, R, tstep, kstride, C, cvec, 0, 2); break; \
        case 3: mg_rows3_cols4_##T(out, OS, p, row, krow, R, tstep, kstride, C, cvec, 1, 0); break; \
        case 4: mg_rows3_cols4_##T(out, OS, p, row, krow, R, tstep, kstride, C, cvec, 1, 1); break; \
        case 5: mg_rows3_cols4_##T(out, OS, p, row, krow, R, tstep, kstride, C, cvec, 1, 2); break; \
        case 6: mg_rows3_cols4_##T(out, OS, p, row, krow, R, tstep, kstride, C, cvec, 2, 0); break; \
        case 7: mg_rows3_cols4_##T(out, OS, p, row, krow, R, tstep, kstride, C, cvec, 2, 1); break; \
        default: mg_rows3_cols4_##T(out, OS, p, row, krow, R, tstep, kstride, C, cvec, 2, 2); break; \
        }                                                                                   \
    }                                                                                       \
}

#else  /* no vector extensions: simd.h's plain blocks take rows of any length */

#define MG_DEFINE_SHORT_ROWS(T)                                                             \
static void mg_sum_taps_block2_##T(T *out, mg_isize OS, const T **src, const T **ker,       \
                                   const mg_isize *off,                                     \
                                   mg_isize ntaps, mg_isize p, mg_isize step, mg_isize C,   \
                                   mg_isize c0) {                                           \
    mg_sum_taps_block1_##T(out, OS, src, ker, off, ntaps, p, step, C, c0);                  \
    mg_sum_taps_block1_##T(out, OS, src, ker, off, ntaps, p, step, C, c0 + 64 / sizeof(T)); \
}                                                                                           \
static MG_NOINLINE void mg_sum_rows3_block4_##T(T *out, mg_isize OS, mg_isize a,            \
                                                mg_isize b, const T **row,                  \
                                    const T **krow, mg_isize R, mg_isize tstep,             \
                                    mg_isize kstride, mg_isize C, mg_isize cvec,            \
                                    mg_isize first, mg_isize n_in) {                        \
    mg_sum_rows3_block_##T(out, OS, a, b, row, krow, R, tstep, kstride, C, cvec, NULL, first, n_in); \
}

#endif

MG_DEFINE_SHORT_ROWS(float)
MG_DEFINE_SHORT_ROWS(double)

#endif  /* MINIGRAD_SHORT_ROWS_H */
