/* Register-blocked inner loops of the depthwise kernels (included by depthwise.pyx).
 *
 * Each function works on a block of channels (one or two 32-byte vectors: 8 or 16 floats,
 * 4 or 8 doubles) for one or several output positions. The accumulators are named vector
 * variables (GCC/Clang vector extensions), so the compiler keeps them in registers; a plain
 * C array of accumulators was kept in memory (2.5x slower). Any compiler without vector
 * extensions gets the same arithmetic as plain loops.
 *
 * What makes these loops fast, measured on AVX2 (16 vector registers): the multiply-adds
 * must not wait for loads. Every address in the inner loop is a register plus a constant
 * (tap tables read per tap cost a third of the speed), and a vector used by several
 * multiply-adds is loaded once (MG_IN_REGISTER below). In L1 cache the 3-wide blocks then
 * reach 4.5-6 G vector multiply-adds per second on one core of a Zen 3 EPYC (sgemm: 5.8 G);
 * out of cache, memory bounds them (see benchmarks/README.md).
 *
 * The vectors are 32 bytes wide whatever the target: with -march=native on an AVX-512
 * machine GCC still emits correct code for them (two AVX2-width halves or one AVX-512
 * register, its choice), and on a machine without AVX the generic vector code is split
 * into SSE halves. Streaming stores are used only when the compiler targets AVX (__AVX__),
 * which AVX2 and AVX-512 machines both define.
 *
 *   mg_sum_taps_block4_T  out[p+b, c] = sum_t ker[t][c] * src[t][((p+b)*step + off[t]), c],
 *                         b = 0..3 (four positions: each kernel vector loaded is used 4 times)
 *   mg_sum_taps_block1_T  the same for one position
 *   mg_dot_block_T        g[c] += sum_{p in [lo, hi)} x[p*step, c] * gy[p, c]
 *                         (four independent partial sums per channel, added at the end)
 *   mg_dot3_block_T       the same for three neighbouring taps at once (3-wide kernel rows)
 *   mg_sum_rows3_block_T  the interior of a row whose taps are R rows of 3 neighbouring
 *                         positions (stride and dilation 1; a row of 3n taps is n such
 *                         rows): 8 positions x one vector, the kernel row in registers,
 *                         each input vector loaded once for the three outputs it feeds
 *   mg_sum_rows_block_T   the same for rows of any width KW, 4 positions x 64 bytes: one
 *                         pointer per row and the kernel packed so that it is read in order
 *
 * and, built on them, whole rows of any number of channels (mg_sum_taps_T,
 * mg_dot_positions_T, described further down), which the loop nests in depthwise.pyx call.
 *
 * `src[t]` and `x` point at rows of positions x C channels (C = the row stride in elements).
 */
#ifndef MINIGRAD_SIMD_H
#define MINIGRAD_SIMD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef ptrdiff_t mg_isize;

#if defined(__AVX__)
#include <immintrin.h>
/* Streaming stores write an output without first reading its cache lines (it is written
   once and not read back soon), saving a third of the memory traffic. */
static inline void mg_stream_float(float *p, __m256 v) {
    if (((uintptr_t)p & 31) == 0) _mm256_stream_ps(p, v); else _mm256_storeu_ps(p, v);
}
static inline void mg_stream_double(double *p, __m256d v) {
    if (((uintptr_t)p & 31) == 0) _mm256_stream_pd(p, v); else _mm256_storeu_pd(p, v);
}
#define MG_STREAM(T, p, v) mg_stream_##T((p), (v))
static inline void mg_stream_fence(void) { _mm_sfence(); }
#else
#define MG_STREAM(T, p, v) mg_store_##T((p), (v))
static inline void mg_stream_fence(void) { }
#endif

#if defined(__GNUC__) || defined(__clang__)

typedef float mg_vec_float __attribute__((vector_size(32)));
typedef double mg_vec_double __attribute__((vector_size(32)));

/* Keep v in a register: an empty asm statement that "changes" v. Without it GCC folds a
   vector loaded once and used three times back into three loads from memory (one per
   multiply-add), which makes the loops bound by loads instead of multiply-adds. */
#define MG_IN_REGISTER(v) __asm__("" : "+x"(v))

#define MG_DEFINE_BLOCKS(T)                                                                 \
static inline mg_vec_##T mg_load_##T(const T *p) { mg_vec_##T v; memcpy(&v, p, sizeof v); return v; } \
static inline void mg_store_##T(T *p, mg_vec_##T v) { memcpy(p, &v, sizeof v); }          \
                                                                                            \
static void mg_sum_taps_block4_##T(T *out, const T **src, const T **ker, const mg_isize *off, \
                                   mg_isize ntaps, mg_isize p, mg_isize step, mg_isize C,    \
                                   mg_isize c0) {                                          \
    const mg_isize L = 32 / sizeof(T), rs = step * C;                                       \
    mg_vec_##T a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0}, c0v = {0}, c1 = {0}, d0 = {0}, d1 = {0}; \
    for (mg_isize t = 0; t < ntaps; t++) {                                                  \
        const T *s = src[t] + (p * step + off[t]) * C + c0;                                 \
        const T *k = ker[t] + c0;                                                           \
        mg_vec_##T k0 = mg_load_##T(k), k1 = mg_load_##T(k + L);                            \
        a0 += k0 * mg_load_##T(s);           a1 += k1 * mg_load_##T(s + L);                 \
        b0 += k0 * mg_load_##T(s + rs);      b1 += k1 * mg_load_##T(s + rs + L);            \
        c0v += k0 * mg_load_##T(s + 2 * rs); c1 += k1 * mg_load_##T(s + 2 * rs + L);        \
        d0 += k0 * mg_load_##T(s + 3 * rs);  d1 += k1 * mg_load_##T(s + 3 * rs + L);        \
    }                                                                                       \
    T *o = out + p * C + c0;                                                                \
    MG_STREAM(T, o, a0);          MG_STREAM(T, o + L, a1);                                  \
    MG_STREAM(T, o + C, b0);      MG_STREAM(T, o + C + L, b1);                              \
    MG_STREAM(T, o + 2 * C, c0v); MG_STREAM(T, o + 2 * C + L, c1);                          \
    MG_STREAM(T, o + 3 * C, d0);  MG_STREAM(T, o + 3 * C + L, d1);                          \
}                                                                                           \
                                                                                            \
static void mg_sum_taps_block1_##T(T *out, const T **src, const T **ker, const mg_isize *off, \
                                   mg_isize ntaps, mg_isize p, mg_isize step, mg_isize C,    \
                                   mg_isize c0) {                                          \
    const mg_isize L = 32 / sizeof(T);                                                      \
    mg_vec_##T a0 = {0}, a1 = {0};                                                          \
    for (mg_isize t = 0; t < ntaps; t++) {                                                  \
        const T *s = src[t] + (p * step + off[t]) * C + c0;                                 \
        const T *k = ker[t] + c0;                                                           \
        a0 += mg_load_##T(k) * mg_load_##T(s);                                              \
        a1 += mg_load_##T(k + L) * mg_load_##T(s + L);                                      \
    }                                                                                       \
    mg_store_##T(out + p * C + c0, a0); mg_store_##T(out + p * C + c0 + L, a1);             \
}                                                                                           \
                                                                                            \
static void mg_dot_block_##T(T *g, const T *x, const T *gy, mg_isize lo, mg_isize hi,       \
                             mg_isize step, mg_isize C) {                                   \
    const mg_isize L = 32 / sizeof(T), xs = step * C;                                       \
    mg_vec_##T a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0}, c0v = {0}, c1 = {0}, d0 = {0}, d1 = {0}; \
    mg_isize p = lo;                                                                        \
    for (; p + 4 <= hi; p += 4) {                                                           \
        const T *xb = x + p * xs, *gb = gy + p * C;                                         \
        a0 += mg_load_##T(xb) * mg_load_##T(gb);                                            \
        a1 += mg_load_##T(xb + L) * mg_load_##T(gb + L);                                    \
        b0 += mg_load_##T(xb + xs) * mg_load_##T(gb + C);                                   \
        b1 += mg_load_##T(xb + xs + L) * mg_load_##T(gb + C + L);                           \
        c0v += mg_load_##T(xb + 2 * xs) * mg_load_##T(gb + 2 * C);                          \
        c1 += mg_load_##T(xb + 2 * xs + L) * mg_load_##T(gb + 2 * C + L);                   \
        d0 += mg_load_##T(xb + 3 * xs) * mg_load_##T(gb + 3 * C);                           \
        d1 += mg_load_##T(xb + 3 * xs + L) * mg_load_##T(gb + 3 * C + L);                   \
    }                                                                                       \
    for (; p < hi; p++) {                                                                   \
        a0 += mg_load_##T(x + p * xs) * mg_load_##T(gy + p * C);                            \
        a1 += mg_load_##T(x + p * xs + L) * mg_load_##T(gy + p * C + L);                    \
    }                                                                                       \
    mg_store_##T(g, mg_load_##T(g) + ((a0 + b0) + (c0v + d0)));                             \
    mg_store_##T(g + L, mg_load_##T(g + L) + ((a1 + b1) + (c1 + d1)));                      \
}                                                                                           \
                                                                                            \
static void mg_dot3_block_##T(T *g, mg_isize gs, const T *x, const T *gy, mg_isize lo,      \
                              mg_isize hi, mg_isize C, mg_isize xlo, mg_isize xhi) {        \
    const mg_isize L = 32 / sizeof(T), pb = hi < xhi - 2 ? hi : xhi - 2;                    \
    const mg_vec_##T zero = {0};                                                            \
    mg_vec_##T a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0}, c0v = {0}, c1 = {0};                 \
    /* u, v, w: x at positions p, p+1, p+2 (a window sliding with p), zero outside [xlo, xhi) */ \
    mg_vec_##T u0 = zero, u1 = zero, v0 = zero, v1 = zero, w0, w1, g0, g1;                  \
    if (lo >= xlo && lo < xhi) { u0 = mg_load_##T(x + lo * C); u1 = mg_load_##T(x + lo * C + L); } \
    if (lo + 1 >= xlo && lo + 1 < xhi) {                                                    \
        v0 = mg_load_##T(x + (lo + 1) * C); v1 = mg_load_##T(x + (lo + 1) * C + L);        \
    }                                                                                       \
    mg_isize p = lo;                                                                        \
    for (; p < pb; p++) {              /* x at p + 2 inside the row */                      \
        const T *xn = x + (p + 2) * C, *gp = gy + p * C;                                    \
        w0 = mg_load_##T(xn); w1 = mg_load_##T(xn + L);                                     \
        g0 = mg_load_##T(gp); g1 = mg_load_##T(gp + L);                                     \
        MG_IN_REGISTER(g0); MG_IN_REGISTER(g1);                                             \
        a0 += u0 * g0;  a1 += u1 * g1;                                                      \
        b0 += v0 * g0;  b1 += v1 * g1;                                                      \
        c0v += w0 * g0; c1 += w1 * g1;                                                      \
        u0 = v0; u1 = v1; v0 = w0; v1 = w1;                                                 \
    }                                                                                       \
    for (; p < hi; p++) {              /* the last one or two: x at p + 2 is padding */     \
        g0 = mg_load_##T(gy + p * C); g1 = mg_load_##T(gy + p * C + L);                     \
        a0 += u0 * g0;  a1 += u1 * g1;                                                      \
        b0 += v0 * g0;  b1 += v1 * g1;                                                      \
        u0 = v0; u1 = v1; v0 = zero; v1 = zero;                                             \
    }                                                                                       \
    mg_store_##T(g, mg_load_##T(g) + a0);               mg_store_##T(g + L, mg_load_##T(g + L) + a1); \
    mg_store_##T(g + gs, mg_load_##T(g + gs) + b0);     mg_store_##T(g + gs + L, mg_load_##T(g + gs + L) + b1); \
    mg_store_##T(g + 2 * gs, mg_load_##T(g + 2 * gs) + c0v); mg_store_##T(g + 2 * gs + L, mg_load_##T(g + 2 * gs + L) + c1); \
}                                                                                           \
                                                                                            \
/* the same for KW = 3, 8 positions x one vector of channels: the three kernel vectors of  \
   a row in registers, each input vector loaded once and used by the (up to) three output    \
   positions it meets; the channel vectors innermost, so that the two halves of an output   \
   cache line are written one after the other. Needs b - a >= 8. */                         \
static void mg_sum_rows3_block_##T(T *out, mg_isize a, mg_isize b, const T **row, const T **krow, \
                                   mg_isize R, mg_isize tstep, mg_isize kstride, mg_isize C, \
                                   mg_isize cfull) {                                        \
    const mg_isize L = 32 / sizeof(T), CB = 2 * L;                                          \
    for (mg_isize p = a; p < b; p += 8) {                                                   \
        if (p + 8 > b) p = b - 8;     /* the last block ends at b (rewrites a few outputs) */ \
        for (mg_isize c = 0; c < cfull; c += L) {                                           \
            mg_vec_##T y0 = {0}, y1 = {0}, y2 = {0}, y3 = {0}, y4 = {0}, y5 = {0}, y6 = {0}, y7 = {0}; \
            for (mg_isize j = 0; j < R; j++) {                                              \
                /* taps t = 0, 1, 2 read s + (b + t)*C for output p + b; a row read backwards \
                   (tstep = -C, the input gradient) is the same with the taps reversed */   \
                const T *k = krow[j] + (c / CB) * kstride + c % CB;                         \
                const mg_isize f = tstep > 0 ? 0 : 2, d = tstep > 0 ? CB : -CB;             \
                const mg_vec_##T k0 = mg_load_##T(k + f * CB), k1 = mg_load_##T(k + f * CB + d); \
                const mg_vec_##T k2 = mg_load_##T(k + f * CB + 2 * d);                      \
                const T *s = row[j] + (p - f) * C + c;                                      \
                mg_vec_##T v;                                                               \
                v = mg_load_##T(s);             MG_IN_REGISTER(v); y0 += k0 * v;           \
                v = mg_load_##T(s + C);     MG_IN_REGISTER(v); y1 += k0 * v; y0 += k1 * v; \
                v = mg_load_##T(s + 2 * C); MG_IN_REGISTER(v); y2 += k0 * v; y1 += k1 * v; y0 += k2 * v; \
                v = mg_load_##T(s + 3 * C); MG_IN_REGISTER(v); y3 += k0 * v; y2 += k1 * v; y1 += k2 * v; \
                v = mg_load_##T(s + 4 * C); MG_IN_REGISTER(v); y4 += k0 * v; y3 += k1 * v; y2 += k2 * v; \
                v = mg_load_##T(s + 5 * C); MG_IN_REGISTER(v); y5 += k0 * v; y4 += k1 * v; y3 += k2 * v; \
                v = mg_load_##T(s + 6 * C); MG_IN_REGISTER(v); y6 += k0 * v; y5 += k1 * v; y4 += k2 * v; \
                v = mg_load_##T(s + 7 * C); MG_IN_REGISTER(v); y7 += k0 * v; y6 += k1 * v; y5 += k2 * v; \
                v = mg_load_##T(s + 8 * C); MG_IN_REGISTER(v); y7 += k1 * v; y6 += k2 * v; \
                v = mg_load_##T(s + 9 * C); MG_IN_REGISTER(v); y7 += k2 * v;           \
            }                                                                               \
            T *o = out + p * C + c;                                                         \
            MG_STREAM(T, o, y0);         MG_STREAM(T, o + C, y1);                           \
            MG_STREAM(T, o + 2 * C, y2); MG_STREAM(T, o + 3 * C, y3);                       \
            MG_STREAM(T, o + 4 * C, y4); MG_STREAM(T, o + 5 * C, y5);                       \
            MG_STREAM(T, o + 6 * C, y6); MG_STREAM(T, o + 7 * C, y7);                       \
        }                                                                                   \
    }                                                                                       \
}                                                                                           \
                                                                                            \
static void mg_sum_rows_block_##T(T *out, mg_isize a, mg_isize b, const T **row, const T **krow, \
                                  mg_isize R, mg_isize KW, mg_isize tstep, mg_isize kstride, \
                                  mg_isize C, mg_isize cfull) {                             \
    const mg_isize L = 32 / sizeof(T), CB = 2 * L;                                          \
    for (mg_isize p = a; p < b; p += 4) {                                                   \
        if (p + 4 > b) p = b - 4;     /* the last block ends at b (rewrites a few outputs) */ \
        for (mg_isize c0 = 0; c0 < cfull; c0 += CB) {                                       \
            mg_vec_##T a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0}, c0v = {0}, c1 = {0}, d0 = {0}, d1 = {0}; \
            for (mg_isize j = 0; j < R; j++) {                                              \
                const T *s = row[j] + p * C + c0, *k = krow[j] + (c0 / CB) * kstride;       \
                for (mg_isize t = 0; t < KW; t++, s += tstep, k += CB) {                    \
                    mg_vec_##T k0 = mg_load_##T(k), k1 = mg_load_##T(k + L);                \
                    a0 += k0 * mg_load_##T(s);          a1 += k1 * mg_load_##T(s + L);      \
                    b0 += k0 * mg_load_##T(s + C);      b1 += k1 * mg_load_##T(s + C + L);  \
                    c0v += k0 * mg_load_##T(s + 2 * C); c1 += k1 * mg_load_##T(s + 2 * C + L); \
                    d0 += k0 * mg_load_##T(s + 3 * C);  d1 += k1 * mg_load_##T(s + 3 * C + L); \
                }                                                                           \
            }                                                                               \
            T *o = out + p * C + c0;                                                        \
            MG_STREAM(T, o, a0);          MG_STREAM(T, o + L, a1);                          \
            MG_STREAM(T, o + C, b0);      MG_STREAM(T, o + C + L, b1);                      \
            MG_STREAM(T, o + 2 * C, c0v); MG_STREAM(T, o + 2 * C + L, c1);                  \
            MG_STREAM(T, o + 3 * C, d0);  MG_STREAM(T, o + 3 * C + L, d1);                  \
        }                                                                                   \
    }                                                                                       \
}

#else  /* no vector extensions: the same arithmetic as plain loops */

#define MG_DEFINE_BLOCKS(T)                                                                 \
static void mg_sum_taps_block4_##T(T *out, const T **src, const T **ker, const mg_isize *off, \
                                   mg_isize ntaps, mg_isize p, mg_isize step, mg_isize C,    \
                                   mg_isize c0) {                                          \
    enum { LANES = 64 / sizeof(T) };                                                        \
    T acc[4][LANES] = {{0}};                                                                \
    for (mg_isize t = 0; t < ntaps; t++)                                                    \
        for (int b = 0; b < 4; b++)                                                         \
            for (int i = 0; i < LANES; i++)                                                 \
                acc[b][i] += ker[t][c0 + i] * src[t][((p + b) * step + off[t]) * C + c0 + i]; \
    for (int b = 0; b < 4; b++)                                                             \
        for (int i = 0; i < LANES; i++)                                                     \
            out[(p + b) * C + c0 + i] = acc[b][i];                                          \
}                                                                                           \
static void mg_sum_taps_block1_##T(T *out, const T **src, const T **ker, const mg_isize *off, \
                                   mg_isize ntaps, mg_isize p, mg_isize step, mg_isize C,    \
                                   mg_isize c0) {                                          \
    enum { LANES = 64 / sizeof(T) };                                                        \
    T acc[LANES] = {0};                                                                     \
    for (mg_isize t = 0; t < ntaps; t++)                                                    \
        for (int i = 0; i < LANES; i++)                                                     \
            acc[i] += ker[t][c0 + i] * src[t][(p * step + off[t]) * C + c0 + i];           \
    for (int i = 0; i < LANES; i++)                                                         \
        out[p * C + c0 + i] = acc[i];                                                       \
}                                                                                           \
static void mg_dot_block_##T(T *g, const T *x, const T *gy, mg_isize lo, mg_isize hi,       \
                             mg_isize step, mg_isize C) {                                   \
    enum { LANES = 64 / sizeof(T) };                                                        \
    for (mg_isize p = lo; p < hi; p++)                                                      \
        for (int i = 0; i < LANES; i++)                                                     \
            g[i] += x[p * step * C + i] * gy[p * C + i];                                    \
}                                                                                           \
static void mg_dot3_block_##T(T *g, mg_isize gs, const T *x, const T *gy, mg_isize lo,      \
                              mg_isize hi, mg_isize C, mg_isize xlo, mg_isize xhi) {        \
    enum { LANES = 64 / sizeof(T) };                                                        \
    T acc[3][LANES] = {{0}};                                                                \
    for (mg_isize p = lo; p < hi; p++)                                                      \
        for (int j = 0; j < 3; j++)                                                         \
            if (p + j >= xlo && p + j < xhi)                                                \
                for (int i = 0; i < LANES; i++)                                             \
                    acc[j][i] += x[(p + j) * C + i] * gy[p * C + i];                        \
    for (int j = 0; j < 3; j++)                                                             \
        for (int i = 0; i < LANES; i++)                                                     \
            g[j * gs + i] += acc[j][i];                                                     \
}                                                                                           \
static void mg_sum_rows_block_##T(T *out, mg_isize a, mg_isize b, const T **row, const T **krow, \
                                  mg_isize R, mg_isize KW, mg_isize tstep, mg_isize kstride, \
                                  mg_isize C, mg_isize cfull) {                             \
    enum { CB = 64 / sizeof(T) };                                                           \
    for (mg_isize p = a; p < b; p++)                                                        \
        for (mg_isize c0 = 0; c0 < cfull; c0 += CB)                                         \
            for (int i = 0; i < CB; i++) {                                                  \
                T acc = 0;                                                                  \
                for (mg_isize j = 0; j < R; j++)                                            \
                    for (mg_isize t = 0; t < KW; t++)                                       \
                        acc += krow[j][(c0 / CB) * kstride + t * CB + i]                    \
                               * row[j][p * C + t * tstep + c0 + i];                        \
                out[p * C + c0 + i] = acc;                                                  \
            }                                                                               \
}                                                                                           \
static void mg_sum_rows3_block_##T(T *out, mg_isize a, mg_isize b, const T **row, const T **krow, \
                                   mg_isize R, mg_isize tstep, mg_isize kstride, mg_isize C, \
                                   mg_isize cfull) {                                        \
    mg_sum_rows_block_##T(out, a, b, row, krow, R, 3, tstep, kstride, C, cfull);            \
}

#endif

MG_DEFINE_BLOCKS(float)
MG_DEFINE_BLOCKS(double)

/* Whole rows, any number of channels, built on the blocks above.
 *
 *   mg_sum_taps_T      out[p, c] = sum_t ker[t][c] * src[t][p*step + off[t], c] for p < npos,
 *                      skipping the taps whose source position falls outside [0, n_in)
 *                      (the padding). The forward pass and the stride-1 input gradient.
 *   mg_dot_positions_T g[c] += sum_{p in [lo, hi)} xrow[p*step + off, c] * gyrow[p, c]:
 *                      one tap's share of the kernel gradient.
 */
static inline mg_isize mg_ceil_div(mg_isize a, mg_isize b) {      /* b > 0, any sign of a */
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}
static inline mg_isize mg_imin(mg_isize a, mg_isize b) { return a < b ? a : b; }
static inline mg_isize mg_imax(mg_isize a, mg_isize b) { return a > b ? a : b; }

#define MG_MAX_BORDER_TAPS 64

#define MG_DEFINE_ROWS(T)                                                                   \
/* one position p, channels [c_lo, c_hi), plain loops */                                   \
static void mg_sum_taps_at_##T(T *out, mg_isize p, mg_isize c_lo, mg_isize c_hi,           \
                               const T **src, const T **ker, const mg_isize *off,           \
                               mg_isize ntaps, mg_isize step, mg_isize C, mg_isize n_in) {  \
    T *o = out + p * C;                                                                     \
    for (mg_isize c = c_lo; c < c_hi; c++) o[c] = 0;                                        \
    for (mg_isize t = 0; t < ntaps; t++) {                                                  \
        mg_isize q = p * step + off[t];                                                     \
        if (q < 0 || q >= n_in) continue;                                                   \
        const T *s = src[t] + q * C, *k = ker[t];                                           \
        for (mg_isize c = c_lo; c < c_hi; c++) o[c] += k[c] * s[c];                         \
    }                                                                                       \
}                                                                                           \
/* one border position p: drop the taps that read padding, then whole vector blocks */     \
static void mg_sum_taps_one_##T(T *out, mg_isize p, const T **src, const T **ker,           \
                                const mg_isize *off, mg_isize ntaps, mg_isize step,         \
                                mg_isize C, mg_isize n_in) {                                \
    const mg_isize CB = 64 / sizeof(T), cfull = C - C % CB;                                 \
    const T *fsrc[MG_MAX_BORDER_TAPS], *fker[MG_MAX_BORDER_TAPS];                           \
    mg_isize foff[MG_MAX_BORDER_TAPS], n = 0;                                               \
    if (ntaps > MG_MAX_BORDER_TAPS) {                                                       \
        mg_sum_taps_at_##T(out, p, 0, C, src, ker, off, ntaps, step, C, n_in);              \
        return;                                                                             \
    }                                                                                       \
    for (mg_isize t = 0; t < ntaps; t++) {                                                  \
        mg_isize q = p * step + off[t];                                                     \
        if (q >= 0 && q < n_in) { fsrc[n] = src[t]; fker[n] = ker[t]; foff[n] = off[t]; n++; } \
    }                                                                                       \
    for (mg_isize c0 = 0; c0 < cfull; c0 += CB)                                             \
        mg_sum_taps_block1_##T(out, fsrc, fker, foff, n, p, step, C, c0);                   \
    if (cfull < C)                                                                          \
        mg_sum_taps_at_##T(out, p, cfull, C, fsrc, fker, foff, n, step, C, n_in);           \
}                                                                                           \
static void mg_sum_taps_##T(T *out, mg_isize npos, const T **src, const T **ker,            \
                            const mg_isize *off, mg_isize ntaps, mg_isize step, mg_isize C, \
                            mg_isize n_in, const T **krow, mg_isize kstride, mg_isize KW) { \
    const mg_isize CB = 64 / sizeof(T), cfull = C - C % CB;                                 \
    /* [a, b): positions where every tap is inside the row; [a, bfull) in blocks of 4 */    \
    mg_isize a = 0, b = npos, p;                                                            \
    for (mg_isize t = 0; t < ntaps; t++) {     /* (no divisions at stride 1: once per row) */ \
        mg_isize lo = step == 1 ? -off[t] : mg_ceil_div(-off[t], step);                     \
        mg_isize hi = step == 1 ? n_in - off[t] : mg_ceil_div(n_in - off[t], step);         \
        if (lo > a) a = lo;                                                                 \
        if (hi < b) b = hi;                                                                 \
    }                                                                                       \
    if (a > npos) a = npos;                                                                 \
    if (b < a) b = a;                                                                       \
    const mg_isize bfull = a + (b - a) / 4 * 4;                                             \
    if (krow != NULL && step == 1 && b - a >= 4 && ntaps / 3 <= MG_MAX_BORDER_TAPS) {        \
        /* the taps are rows of KW neighbours (krow: their packed kernel rows) */           \
        const T *row[MG_MAX_BORDER_TAPS], *krow3[MG_MAX_BORDER_TAPS];                       \
        const mg_isize R = ntaps / KW, tstep = KW > 1 ? (off[1] - off[0]) * C : 0;          \
        for (mg_isize j = 0; j < R; j++) row[j] = src[j * KW] + off[j * KW] * C;            \
        if (KW % 3 == 0 && b - a >= 8) {                                                    \
            /* a row of 3n taps is n rows of 3 taps (taps 3i..3i+2 start 3i taps further) */ \
            for (mg_isize j = R - 1; j >= 0; j--)                                           \
                for (mg_isize i = KW / 3 - 1; i >= 0; i--) {                                \
                    krow3[j * (KW / 3) + i] = krow[j] + 3 * i * CB;                         \
                    row[j * (KW / 3) + i] = row[j] + 3 * i * tstep;                         \
                }                                                                           \
            mg_sum_rows3_block_##T(out, a, b, row, krow3, ntaps / 3, tstep, kstride, C, cfull); \
        } else {                                                                            \
            mg_sum_rows_block_##T(out, a, b, row, krow, R, KW, tstep, kstride, C, cfull);    \
        }                                                                                   \
        for (p = a; p < b && cfull < C; p++)                                                \
            mg_sum_taps_at_##T(out, p, cfull, C, src, ker, off, ntaps, step, C, n_in);      \
    } else {                                                                                \
        for (p = a; p < bfull; p += 4) {                                                    \
            for (mg_isize c0 = 0; c0 < cfull; c0 += CB)                                     \
                mg_sum_taps_block4_##T(out, src, ker, off, ntaps, p, step, C, c0);          \
            if (cfull < C)                                                                  \
                for (mg_isize i = 0; i < 4; i++)                                            \
                    mg_sum_taps_at_##T(out, p + i, cfull, C, src, ker, off, ntaps, step, C, n_in); \
        }                                                                                   \
        if (bfull < b && b - a >= 4) {   /* the last 1-3 interior positions: one more block \
                                            of 4 ending at b (rewrites a few, same values) */ \
            for (mg_isize c0 = 0; c0 < cfull; c0 += CB)                                     \
                mg_sum_taps_block4_##T(out, src, ker, off, ntaps, b - 4, step, C, c0);      \
            for (p = bfull; p < b && cfull < C; p++)                                        \
                mg_sum_taps_at_##T(out, p, cfull, C, src, ker, off, ntaps, step, C, n_in);  \
        } else {                                                                            \
            for (p = bfull; p < b; p++)                                                     \
                mg_sum_taps_one_##T(out, p, src, ker, off, ntaps, step, C, n_in);           \
        }                                                                                   \
    }                                                                                       \
    for (p = 0; p < a; p++) mg_sum_taps_one_##T(out, p, src, ker, off, ntaps, step, C, n_in); \
    for (p = b; p < npos; p++) mg_sum_taps_one_##T(out, p, src, ker, off, ntaps, step, C, n_in); \
    mg_stream_fence();                                                                      \
}                                                                                           \
static void mg_dot_positions_##T(T *g, const T *xrow, const T *gyrow, mg_isize lo,          \
                                 mg_isize hi, mg_isize step, mg_isize off, mg_isize C) {    \
    const mg_isize CB = 64 / sizeof(T), cfull = C - C % CB;                                 \
    for (mg_isize c0 = 0; c0 < cfull; c0 += CB)                                             \
        mg_dot_block_##T(g + c0, xrow + off * C + c0, gyrow + c0, lo, hi, step, C);          \
    for (mg_isize p = lo; p < hi && cfull < C; p++) {                                       \
        const T *xb = xrow + (p * step + off) * C, *gb = gyrow + p * C;                     \
        for (mg_isize c = cfull; c < C; c++) g[c] += xb[c] * gb[c];                         \
    }                                                                                       \
}                                                                                           \
/* three neighbouring taps of one kernel row (horizontal stride and dilation 1) in one pass: \
   g[j*gs + c] += sum_{p in [lo, hi)} xrow[p + j, c] * gyrow[p, c] for j = 0, 1, 2, where    \
   positions p + j outside [xlo, xhi) are padding (zero). Each input vector loaded serves    \
   all three taps, and the border positions need no pass of their own. */                   \
static void mg_dot3_positions_##T(T *g, mg_isize gs, const T *xrow, const T *gyrow,         \
                                  mg_isize lo, mg_isize hi, mg_isize C, mg_isize xlo,       \
                                  mg_isize xhi) {                                           \
    const mg_isize CB = 64 / sizeof(T), cfull = C - C % CB;                                 \
    if (lo < xlo - 2) lo = xlo - 2;    /* positions whose three taps all read padding */    \
    if (hi > xhi) hi = xhi;                                                                 \
    if (lo >= hi) return;                                                                   \
    for (mg_isize c0 = 0; c0 < cfull; c0 += CB)                                             \
        mg_dot3_block_##T(g + c0, gs, xrow + c0, gyrow + c0, lo, hi, C, xlo, xhi);          \
    for (mg_isize p = lo; p < hi && cfull < C; p++)                                         \
        for (mg_isize j = 0; j < 3; j++)                                                    \
            if (p + j >= xlo && p + j < xhi)                                                \
                for (mg_isize c = cfull; c < C; c++)                                        \
                    g[j * gs + c] += xrow[(p + j) * C + c] * gyrow[p * C + c];              \
}

MG_DEFINE_ROWS(float)
MG_DEFINE_ROWS(double)

/* depth_multiplier M > 1: a row of C channels as C*M channels and back.
 *
 *   mg_expand_T       xe[w, c*M + m] = x[w, c]
 *   mg_sum_over_m_T   gx[w, c] = sum_m t[w, c*M + m]   (m in order)
 *
 * Written once per M that is a compile-time constant (2, 3, 4, 8: the loops then
 * vectorise), plus any other M with the same arithmetic. */
#define MG_DEFINE_DEPTH(T, M)                                                               \
static void mg_expand_##M##_##T(T *xe, const T *x, mg_isize n) {                            \
    for (mg_isize i = 0; i < n; i++)                                                        \
        for (mg_isize m = 0; m < M; m++) xe[i * M + m] = x[i];                              \
}                                                                                           \
static void mg_sum_over_##M##_##T(T *gx, const T *t, mg_isize n) {                          \
    for (mg_isize i = 0; i < n; i++) {                                                      \
        T s = 0;                                                                            \
        for (mg_isize m = 0; m < M; m++) s += t[i * M + m];                                 \
        gx[i] = s;                                                                          \
    }                                                                                       \
}
#define MG_DEFINE_DEPTHS(T)                                                                 \
MG_DEFINE_DEPTH(T, 2) MG_DEFINE_DEPTH(T, 3) MG_DEFINE_DEPTH(T, 4) MG_DEFINE_DEPTH(T, 8)    \
static void mg_expand_##T(T *xe, const T *x, mg_isize W, mg_isize C, mg_isize M) {          \
    const mg_isize n = W * C;           /* (w, c) pairs: one input element each */         \
    switch (M) {                                                                            \
    case 2: mg_expand_2_##T(xe, x, n); return;                                              \
    case 3: mg_expand_3_##T(xe, x, n); return;                                              \
    case 4: mg_expand_4_##T(xe, x, n); return;                                              \
    case 8: mg_expand_8_##T(xe, x, n); return;                                              \
    }                                                                                       \
    for (mg_isize i = 0; i < n; i++)                                                        \
        for (mg_isize m = 0; m < M; m++) xe[i * M + m] = x[i];                              \
}                                                                                           \
static void mg_sum_over_m_##T(T *gx, const T *t, mg_isize W, mg_isize C, mg_isize M) {     \
    const mg_isize n = W * C;                                                               \
    switch (M) {                                                                            \
    case 2: mg_sum_over_2_##T(gx, t, n); return;                                            \
    case 3: mg_sum_over_3_##T(gx, t, n); return;                                            \
    case 4: mg_sum_over_4_##T(gx, t, n); return;                                            \
    case 8: mg_sum_over_8_##T(gx, t, n); return;                                            \
    }                                                                                       \
    for (mg_isize i = 0; i < n; i++) {                                                      \
        T s = 0;                                                                            \
        for (mg_isize m = 0; m < M; m++) s += t[i * M + m];                                 \
        gx[i] = s;                                                                          \
    }                                                                                       \
}

MG_DEFINE_DEPTHS(float)
MG_DEFINE_DEPTHS(double)

#endif  /* MINIGRAD_SIMD_H */
