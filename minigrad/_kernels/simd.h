/* Register-blocked inner loops of the depthwise kernels (included by depthwise.pyx).
 *
 * Each function works on a block of channels (one or two 32-byte vectors: 8 or 16 floats,
 * 4 or 8 doubles) for one or several output positions. The accumulators are named vector
 * variables (GCC/Clang vector extensions), so the compiler keeps them in registers; a plain
 * C array of accumulators was kept in memory (2.5x slower). Any compiler without vector
 * extensions gets the same arithmetic as plain loops (-DMG_PLAIN_LOOPS forces those on GCC
 * too, to check that branch against the NumPy twins).
 *
 * What makes these loops fast, measured on AVX2 (16 vector registers): the multiply-adds
 * must not wait for loads. Every address in the inner loop is a register plus a constant
 * (tap tables read per tap cost a third of the speed), and a vector used by several
 * multiply-adds is loaded once (MG_IN_REGISTER below). On rows in L1 cache the 3-wide
 * blocks then run 4.4-5 G vector multiply-adds per second on one core of a Zen 3 EPYC
 * (sgemm: 5.8 G; a loop of independent multiply-adds: 8 G); out of cache, memory bounds
 * them (see benchmarks/README.md).
 *
 * The vectors are 32 bytes wide whatever the target: with -march=native on an AVX-512
 * machine GCC still emits correct code for them (two AVX2-width halves or one AVX-512
 * register, its choice), and on a machine without AVX the generic vector code is split
 * into SSE halves. Streaming stores are used only when the compiler targets AVX (__AVX__),
 * which AVX2 and AVX-512 machines both define.
 *
 *   mg_sum_taps_block1_T  out[p*OS + c] = sum_t ker[t][c] * src[t][p*step + off[t], c] for
 *                         one position p (the border positions, the taps on padding removed);
 *                         mg_sum_taps_vec1_T the same for one vector (a row's last, lone one)
 *   mg_dot_block_T        g[c] += sum_{p in [lo, hi)} x[p*step, c] * gy[p, c]
 *                         (four independent partial sums per channel, added at the end);
 *                         mg_dot_block1_T the same for one vector (a row's last, lone one)
 *   mg_dot3_block_T       the same for three neighbouring taps at once (3-wide kernel rows)
 *   mg_dot3x3_block1_T    the same for three kernel rows of 3 taps, one input row against
 *                         three grad_y rows, one vector of channels (nine accumulators)
 *   mg_sum_rows_block_T   the interior positions of a row: its taps are R kernel rows of KW
 *                         taps, tstep apart, each row read through one pointer, the kernel
 *                         packed to be read in order; 4 positions x 64 bytes of channels,
 *                         and 4 positions x the last, lone 32-byte vector where there is one
 *   mg_sum_rows3_block_T  the same for rows of 3 neighbouring taps (stride and dilation 1; a
 *                         row of 3n taps is n such rows): 8 positions x one vector, the kernel
 *                         row in registers, each input vector loaded once for the three
 *                         outputs it feeds; it prefetches the rows `ahead` (the next call's
 *                         new input row, and a row the caller reads next) position by
 *                         position as it goes, and takes the border positions too (their
 *                         padding taps read zero vectors)
 *
 * Whole rows of any number of channels are built on them in rows.h, which the loop nests
 * in depthwise.pyx call.
 *
 * `src[t]` and `x` point at rows of positions x C channels (C = the row stride in elements).
 * `out` is written at position stride `OS` (elements): C, or sw*C where one residue of a
 * strided input gradient goes straight into its row (rows.h).
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

/* Streaming stores pay off only where they write whole 64-byte cache lines: each output
   position's C channels (C * size bytes from `out`) must be whole lines, and `out` must start
   one. An output only 32-byte aligned (NumPy gives 16) had every pair of stores straddle two
   lines: 3x slower for an output of 192 KB, 2x for the M = 4 backward on two threads. */
static inline int mg_whole_lines(const void *out, mg_isize C, mg_isize size) {
    return (C * size) % 64 == 0 && ((uintptr_t)out & 63) == 0;
}

#if (defined(__GNUC__) || defined(__clang__)) && !defined(MG_PLAIN_LOOPS)

typedef float mg_vec_float __attribute__((vector_size(32)));
typedef double mg_vec_double __attribute__((vector_size(32)));

/* Keep v in a register: an empty asm statement that "changes" v. Without it GCC folds a
   vector loaded once and used three times back into three loads from memory (one per
   multiply-add), which makes the loops bound by loads instead of multiply-adds. Only with
   AVX does a 32-byte vector fit one register ("x": an xmm/ymm register); without it (a
   portable build: SSE2 only, or another architecture) the hint is left out. */
#if defined(__AVX__)
#define MG_IN_REGISTER(v) __asm__("" : "+x"(v))
#else
#define MG_IN_REGISTER(v) ((void)0)
#endif

/* input vector i of a 3-wide block's row (zero where it is padding: see mg_rows3_cols) */
#define MG_VAT(T, i) mg_vat_##T(s, (i), C, edge, zlo, zhi)

#define MG_DEFINE_BLOCKS(T)                                                                 \
static inline mg_vec_##T mg_load_##T(const T *p) { mg_vec_##T v; memcpy(&v, p, sizeof v); return v; } \
static inline void mg_store_##T(T *p, mg_vec_##T v) { memcpy(p, &v, sizeof v); }          \
/* an output vector: a streaming store where a row's positions are whole cache lines, else a \
   plain one (streaming stores to parts of lines that plain stores also write are slow) */ \
static inline void mg_put_##T(T *p, mg_vec_##T v, int stream) {                             \
    if (stream) MG_STREAM(T, p, v); else mg_store_##T(p, v);                                \
}                                                                                           \
                                                                                            \
static void mg_sum_taps_block1_##T(T *out, mg_isize OS, const T **src, const T **ker,       \
                                   const mg_isize *off,                                     \
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
    mg_store_##T(out + p * OS + c0, a0); mg_store_##T(out + p * OS + c0 + L, a1);           \
}                                                                                           \
/* the same for one vector of channels (a row's last, lone one) */                         \
static void mg_sum_taps_vec1_##T(T *out, mg_isize OS, const T **src, const T **ker,         \
                                 const mg_isize *off,                                       \
                                 mg_isize ntaps, mg_isize p, mg_isize step, mg_isize C,      \
                                 mg_isize c0) {                                            \
    mg_vec_##T a0 = {0};                                                                    \
    for (mg_isize t = 0; t < ntaps; t++)                                                    \
        a0 += mg_load_##T(ker[t] + c0) * mg_load_##T(src[t] + (p * step + off[t]) * C + c0); \
    mg_store_##T(out + p * OS + c0, a0);                                                    \
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
/* mg_dot_block for one vector of channels (the last, lone one of a row) */                 \
static void mg_dot_block1_##T(T *g, const T *x, const T *gy, mg_isize lo, mg_isize hi,      \
                              mg_isize step, mg_isize C) {                                  \
    const mg_isize xs = step * C;                                                           \
    mg_vec_##T a0 = {0}, b0 = {0}, c0v = {0}, d0 = {0};                                     \
    mg_isize p = lo;                                                                        \
    for (; p + 4 <= hi; p += 4) {                                                           \
        const T *xb = x + p * xs, *gb = gy + p * C;                                         \
        a0 += mg_load_##T(xb) * mg_load_##T(gb);                                            \
        b0 += mg_load_##T(xb + xs) * mg_load_##T(gb + C);                                   \
        c0v += mg_load_##T(xb + 2 * xs) * mg_load_##T(gb + 2 * C);                          \
        d0 += mg_load_##T(xb + 3 * xs) * mg_load_##T(gb + 3 * C);                           \
    }                                                                                       \
    for (; p < hi; p++)                                                                     \
        a0 += mg_load_##T(x + p * xs) * mg_load_##T(gy + p * C);                            \
    mg_store_##T(g, mg_load_##T(g) + ((a0 + b0) + (c0v + d0)));                             \
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
/* mg_dot3_block for one vector of channels (the last, lone vector of a row's channels) */ \
static void mg_dot3_block1_##T(T *g, mg_isize gs, const T *x, const T *gy, mg_isize lo,     \
                               mg_isize hi, mg_isize C, mg_isize xlo, mg_isize xhi) {       \
    const mg_isize pb = hi < xhi - 2 ? hi : xhi - 2;                                        \
    const mg_vec_##T zero = {0};                                                            \
    mg_vec_##T a0 = {0}, b0 = {0}, c0v = {0}, u0 = zero, v0 = zero, w0, g0;                 \
    if (lo >= xlo && lo < xhi) u0 = mg_load_##T(x + lo * C);                                \
    if (lo + 1 >= xlo && lo + 1 < xhi) v0 = mg_load_##T(x + (lo + 1) * C);                 \
    mg_isize p = lo;                                                                        \
    for (; p < pb; p++) {                                                                   \
        w0 = mg_load_##T(x + (p + 2) * C);                                                  \
        g0 = mg_load_##T(gy + p * C);                                                       \
        MG_IN_REGISTER(g0);                                                                 \
        a0 += u0 * g0; b0 += v0 * g0; c0v += w0 * g0;                                       \
        u0 = v0; v0 = w0;                                                                   \
    }                                                                                       \
    for (; p < hi; p++) {                                                                   \
        g0 = mg_load_##T(gy + p * C);                                                       \
        a0 += u0 * g0; b0 += v0 * g0;                                                       \
        u0 = v0; v0 = zero;                                                                 \
    }                                                                                       \
    mg_store_##T(g, mg_load_##T(g) + a0);                                                   \
    mg_store_##T(g + gs, mg_load_##T(g + gs) + b0);                                         \
    mg_store_##T(g + 2 * gs, mg_load_##T(g + 2 * gs) + c0v);                                \
}                                                                                           \
                                                                                            \
/* mg_dot3_block1 for three kernel rows at once, the input row shared: g_r[j*gs + c] +=      \
   sum_{p in [lo, hi)} x[(p + j)*C + c] * gy_r[p*C + c], r, j = 0, 1, 2 (the fused backward's \
   kernel gradient of a 3x3 kernel: input row ih against the three grad_y rows it meets).   \
   Nine accumulators, one multiply-add each per position, so they do not wait for each      \
   other (the three of one kernel row at a time ran at 1.5 multiply-adds per cycle); each    \
   input vector loaded serves nine of them. */                                              \
static void mg_dot3x3_block1_##T(T *g0, T *g1, T *g2, mg_isize gs, const T *x, const T *gy0, \
                                 const T *gy1, const T *gy2, mg_isize lo, mg_isize hi,      \
                                 mg_isize C, mg_isize xlo, mg_isize xhi) {                  \
    const mg_isize pb = hi < xhi - 2 ? hi : xhi - 2;                                        \
    const mg_vec_##T zero = {0};                                                            \
    mg_vec_##T a0 = zero, a1 = zero, a2 = zero, b0 = zero, b1 = zero, b2 = zero;            \
    mg_vec_##T c0v = zero, c1 = zero, c2 = zero, u = zero, v = zero, w, h;                  \
    if (lo >= xlo && lo < xhi) u = mg_load_##T(x + lo * C);                                 \
    if (lo + 1 >= xlo && lo + 1 < xhi) v = mg_load_##T(x + (lo + 1) * C);                  \
    for (mg_isize p = lo; p < hi; p++) {                                                    \
        w = p < pb ? mg_load_##T(x + (p + 2) * C) : zero;   /* x at p + 2, or padding */    \
        MG_IN_REGISTER(w);                                                                  \
        h = mg_load_##T(gy0 + p * C); MG_IN_REGISTER(h); a0 += u * h; a1 += v * h; a2 += w * h; \
        h = mg_load_##T(gy1 + p * C); MG_IN_REGISTER(h); b0 += u * h; b1 += v * h; b2 += w * h; \
        h = mg_load_##T(gy2 + p * C); MG_IN_REGISTER(h); c0v += u * h; c1 += v * h; c2 += w * h; \
        u = v; v = w;                                                                       \
    }                                                                                       \
    mg_store_##T(g0, mg_load_##T(g0) + a0);                                                 \
    mg_store_##T(g0 + gs, mg_load_##T(g0 + gs) + a1);                                       \
    mg_store_##T(g0 + 2 * gs, mg_load_##T(g0 + 2 * gs) + a2);                               \
    mg_store_##T(g1, mg_load_##T(g1) + b0);                                                 \
    mg_store_##T(g1 + gs, mg_load_##T(g1 + gs) + b1);                                       \
    mg_store_##T(g1 + 2 * gs, mg_load_##T(g1 + 2 * gs) + b2);                               \
    mg_store_##T(g2, mg_load_##T(g2) + c0v);                                                \
    mg_store_##T(g2 + gs, mg_load_##T(g2 + gs) + c1);                                       \
    mg_store_##T(g2 + 2 * gs, mg_load_##T(g2 + 2 * gs) + c2);                               \
}                                                                                           \
                                                                                            \
/* the same for KW = 3, 8 positions x one vector of channels: the three kernel vectors of  \
   a row in registers, each input vector loaded once and used by the (up to) three output    \
   positions it meets; the channel vectors innermost, so that the two halves of an output   \
   cache line are written one after the other. Channels [0, cvec), cvec whole vectors (a    \
   last lone vector is a 64-byte block's first half: krow is packed and zero-padded to      \
   whole blocks).                                                                           \
   A block of positions [p, p + 8) reads the ten input vectors at positions p + first + i,  \
   i < 10, of each row. Those outside [0, n_in) are padding: with edge set (a compile-time  \
   constant), the first zlo and the last zhi of them are zero instead of loaded, so that the \
   border positions of a row run in the same blocks as its interior. */                     \
static inline __attribute__((always_inline)) mg_vec_##T                                    \
mg_vat_##T(const T *s, mg_isize i, mg_isize C, const int edge, mg_isize zlo, mg_isize zhi) { \
    const mg_vec_##T zero = {0};                                                            \
    return edge && (i < zlo || i >= 10 - zhi) ? zero : mg_load_##T(s + i * C);              \
}                                                                                           \
static inline __attribute__((always_inline)) void                                         \
mg_rows3_cols_##T(T *out, mg_isize OS, mg_isize p, const T **row, const T **krow, mg_isize R, \
                  mg_isize tstep, mg_isize kstride, mg_isize C, mg_isize cvec,               \
                  const int edge, mg_isize zlo, mg_isize zhi) {                            \
    const mg_isize L = 32 / sizeof(T), CB = 2 * L;                                          \
    const int st = mg_whole_lines(out, C, sizeof(T));   /* streaming stores (mg_put) */     \
    mg_vec_##T half[8];           /* the first half of each output cache line, kept until the \
                                     second is done: the streaming stores then write whole \
                                     lines (half lines written apart made some calls 3x slower) */ \
    for (mg_isize c = 0; c < cvec; c += L) {                                                \
        mg_vec_##T y0 = {0}, y1 = {0}, y2 = {0}, y3 = {0}, y4 = {0}, y5 = {0}, y6 = {0}, y7 = {0}; \
        for (mg_isize j = 0; j < R; j++) {                                                  \
            /* taps t = 0, 1, 2 read s + (b + t)*C for output p + b; a row read backwards   \
               (tstep = -C, the input gradient) is the same with the taps reversed */       \
            const T *k = krow[j] + (c / CB) * kstride + c % CB;                             \
            const mg_isize f = tstep > 0 ? 0 : 2, d = tstep > 0 ? CB : -CB;                 \
            const mg_vec_##T k0 = mg_load_##T(k + f * CB), k1 = mg_load_##T(k + f * CB + d); \
            const mg_vec_##T k2 = mg_load_##T(k + f * CB + 2 * d);                          \
            const T *s = row[j] + (p - f) * C + c;                                          \
            mg_vec_##T v;                                                                   \
            v = MG_VAT(T, 0); MG_IN_REGISTER(v); y0 += k0 * v;                              \
            v = MG_VAT(T, 1); MG_IN_REGISTER(v); y1 += k0 * v; y0 += k1 * v;                \
            v = MG_VAT(T, 2); MG_IN_REGISTER(v); y2 += k0 * v; y1 += k1 * v; y0 += k2 * v;  \
            v = MG_VAT(T, 3); MG_IN_REGISTER(v); y3 += k0 * v; y2 += k1 * v; y1 += k2 * v;  \
            v = MG_VAT(T, 4); MG_IN_REGISTER(v); y4 += k0 * v; y3 += k1 * v; y2 += k2 * v;  \
            v = MG_VAT(T, 5); MG_IN_REGISTER(v); y5 += k0 * v; y4 += k1 * v; y3 += k2 * v;  \
            v = MG_VAT(T, 6); MG_IN_REGISTER(v); y6 += k0 * v; y5 += k1 * v; y4 += k2 * v;  \
            v = MG_VAT(T, 7); MG_IN_REGISTER(v); y7 += k0 * v; y6 += k1 * v; y5 += k2 * v;  \
            v = MG_VAT(T, 8); MG_IN_REGISTER(v); y7 += k1 * v; y6 += k2 * v;                \
            v = MG_VAT(T, 9); MG_IN_REGISTER(v); y7 += k2 * v;                              \
        }                                                                                   \
        if (c % CB == 0 && c + L < cvec) {    /* a second half follows */                   \
            half[0] = y0; half[1] = y1; half[2] = y2; half[3] = y3;                         \
            half[4] = y4; half[5] = y5; half[6] = y6; half[7] = y7;                         \
            continue;                                                                       \
        }                                                                                   \
        if (c % CB == 0) {                    /* the last, lone vector */                   \
            T *o = out + p * OS + c;                                                        \
            mg_store_##T(o, y0);         mg_store_##T(o + OS, y1);                          \
            mg_store_##T(o + 2 * OS, y2); mg_store_##T(o + 3 * OS, y3);                     \
            mg_store_##T(o + 4 * OS, y4); mg_store_##T(o + 5 * OS, y5);                     \
            mg_store_##T(o + 6 * OS, y6); mg_store_##T(o + 7 * OS, y7);                     \
            continue;                                                                       \
        }                                                                                   \
        T *o = out + p * OS + c - L;                                                        \
        mg_put_##T(o, half[0], st);         mg_put_##T(o + L, y0, st);                      \
        mg_put_##T(o + OS, half[1], st);     mg_put_##T(o + OS + L, y1, st);                \
        mg_put_##T(o + 2 * OS, half[2], st); mg_put_##T(o + 2 * OS + L, y2, st);            \
        mg_put_##T(o + 3 * OS, half[3], st); mg_put_##T(o + 3 * OS + L, y3, st);            \
        mg_put_##T(o + 4 * OS, half[4], st); mg_put_##T(o + 4 * OS + L, y4, st);            \
        mg_put_##T(o + 5 * OS, half[5], st); mg_put_##T(o + 5 * OS + L, y5, st);            \
        mg_put_##T(o + 6 * OS, half[6], st); mg_put_##T(o + 6 * OS + L, y6, st);            \
        mg_put_##T(o + 7 * OS, half[7], st); mg_put_##T(o + 7 * OS + L, y7, st);            \
    }                                                                                       \
}                                                                                           \
/* ahead[0], the row the next call reads, and ahead[1], a row of the output's shape that the \
   caller reads next (either may be NULL): their positions [p, p + 8) into the cache */    \
static inline __attribute__((always_inline)) void                                         \
mg_prefetch_block_##T(const char *const *ahead, mg_isize p, mg_isize C) {                   \
    for (int r = 0; r < 2; r++)                                                             \
        if (ahead[r] != NULL)                                                               \
            for (mg_isize i = 0; i < 8 * C * (mg_isize)sizeof(T); i += 64)                  \
                __builtin_prefetch(ahead[r] + p * C * (mg_isize)sizeof(T) + i, 0, 3);       \
}                                                                                           \
/* the blocks of positions [a, b) (b - a >= 8; the last block ends at b and rewrites a few    \
   outputs), none of which reads padding */                                                  \
static inline __attribute__((always_inline)) void                                         \
mg_rows3_body_##T(T *out, mg_isize OS, mg_isize a, mg_isize b, const T **row, const T **krow, \
                  mg_isize R, mg_isize tstep, mg_isize kstride, mg_isize C, mg_isize cvec,   \
                  const char *const *ahead) {                                                     \
    for (mg_isize p = a; p < b; p += 8) {                                                   \
        if (p + 8 > b) p = b - 8;                                                           \
        mg_prefetch_block_##T(ahead, p, C);                                                 \
        mg_rows3_cols_##T(out, OS, p, row, krow, R, tstep, kstride, C, cvec, 0, 0, 0);      \
    }                                                                                       \
}                                                                                           \
/* blocks without padding, R (kernel rows of 3 taps) a compile-time constant for the common \
   1, 2, 3: the loop over the rows is then straight-line code, and the row pointers stay in   \
   registers (a function of its own: its code does not depend on what calls it) */          \
static __attribute__((noinline)) void                                                       \
mg_rows3_interior_##T(T *out, mg_isize OS, mg_isize a, mg_isize b, const T **row, const T **krow, \
                      mg_isize R, mg_isize tstep, mg_isize kstride, mg_isize C,             \
                      mg_isize cvec, const char *const *ahead) {                                  \
    switch (R) {                                                                            \
    case 1: mg_rows3_body_##T(out, OS, a, b, row, krow, 1, tstep, kstride, C, cvec, ahead); return; \
    case 2: mg_rows3_body_##T(out, OS, a, b, row, krow, 2, tstep, kstride, C, cvec, ahead); return; \
    case 3: mg_rows3_body_##T(out, OS, a, b, row, krow, 3, tstep, kstride, C, cvec, ahead); return; \
    }                                                                                       \
    mg_rows3_body_##T(out, OS, a, b, row, krow, R, tstep, kstride, C, cvec, ahead);         \
}                                                                                           \
/* one block that reads padding (at most two of its ten input positions on either side) */  \
static void mg_rows3_edge_##T(T *out, mg_isize OS, mg_isize p, const T **row,               \
                              const T **krow, mg_isize R,                                   \
                              mg_isize tstep, mg_isize kstride, mg_isize C, mg_isize cvec,   \
                              const char *const *ahead, mg_isize first, mg_isize n_in) {          \
    const mg_isize zlo = p + first < 0 ? -(p + first) : 0;                                  \
    const mg_isize zhi = p + first + 10 > n_in ? p + first + 10 - n_in : 0;                 \
    mg_prefetch_block_##T(ahead, p, C);                                                     \
    mg_rows3_cols_##T(out, OS, p, row, krow, R, tstep, kstride, C, cvec, 1, zlo, zhi);      \
}                                                                                           \
                                                                                            \
/* Positions [a, b) (b - a >= 8) of rows of ``n_in`` positions, in blocks of 8 from a (the   \
   last one ends at b); outputs [p, p + 8) read inputs p + first + i, i < 10. The blocks      \
   without padding run in mg_rows3_interior; those with padding, the first and the last, one \
   by one (the border positions of 'same' and 'causal' padding: no pass of their own). */   \
static void mg_sum_rows3_block_##T(T *out, mg_isize OS, mg_isize a, mg_isize b,             \
                                   const T **row, const T **krow,                           \
                                   mg_isize R, mg_isize tstep, mg_isize kstride, mg_isize C, \
                                   mg_isize cvec, const char *const *ahead, mg_isize first,        \
                                   mg_isize n_in) {                                         \
    mg_isize p = a;                                                                         \
    for (; p < b && p + first < 0; p += 8)                                                  \
        mg_rows3_edge_##T(out, OS, p < b - 8 ? p : b - 8, row, krow, R, tstep, kstride, C, cvec, \
                          ahead, first, n_in);                                              \
    if (p >= b)                                                                             \
        return;                                                                             \
    const int tail = b - 8 + first + 10 > n_in;      /* the last block reads padding */     \
    const mg_isize end = tail ? b - 8 : b;                                                  \
    if (end - p >= 8) {                                                                     \
        mg_rows3_interior_##T(out, OS, p, end, row, krow, R, tstep, kstride, C, cvec, ahead); \
    } else if (end > p) {                /* fewer than 8 between: one more block */         \
        mg_rows3_edge_##T(out, OS, p < b - 8 ? p : b - 8, row, krow, R, tstep, kstride, C, cvec, \
                          ahead, first, n_in);                                              \
    }                                                                                       \
    if (tail)                                                                               \
        mg_rows3_edge_##T(out, OS, b - 8, row, krow, R, tstep, kstride, C, cvec, ahead, first, n_in); \
}                                                                                           \
static void mg_sum_rows_block_##T(T *out, mg_isize OS, mg_isize a, mg_isize b,              \
                                  const T **row, const T **krow,                            \
                                  mg_isize R, mg_isize KW, mg_isize tstep, mg_isize kstride, \
                                  mg_isize C, mg_isize cvec, mg_isize step) {               \
    const mg_isize L = 32 / sizeof(T), CB = 2 * L, rs = step * C, cfull = cvec - cvec % CB;  \
    const int st = mg_whole_lines(out, C, sizeof(T));   /* streaming stores (mg_put) */     \
    for (mg_isize p = a; p < b; p += 4) {                                                   \
        if (p + 4 > b) p = b - 4;     /* the last block ends at b (rewrites a few outputs) */ \
        if (cfull < cvec) {           /* a last, lone vector: the first half of its packed block */ \
            mg_vec_##T a0 = {0}, b0 = {0}, c0v = {0}, d0 = {0};                             \
            for (mg_isize j = 0; j < R; j++) {                                              \
                const T *s = row[j] + p * rs + cfull, *k = krow[j] + (cfull / CB) * kstride;  \
                for (mg_isize t = 0; t < KW; t++, s += tstep, k += CB) {                    \
                    mg_vec_##T k0 = mg_load_##T(k);                                         \
                    a0 += k0 * mg_load_##T(s);           b0 += k0 * mg_load_##T(s + rs);    \
                    c0v += k0 * mg_load_##T(s + 2 * rs); d0 += k0 * mg_load_##T(s + 3 * rs); \
                }                                                                           \
            }                                                                               \
            T *o = out + p * OS + cfull;                                                    \
            mg_store_##T(o, a0); mg_store_##T(o + OS, b0);                                  \
            mg_store_##T(o + 2 * OS, c0v); mg_store_##T(o + 3 * OS, d0);                    \
        }                                                                                   \
        for (mg_isize c0 = 0; c0 < cfull; c0 += CB) {                                       \
            mg_vec_##T a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0}, c0v = {0}, c1 = {0}, d0 = {0}, d1 = {0}; \
            for (mg_isize j = 0; j < R; j++) {                                              \
                const T *s = row[j] + p * rs + c0, *k = krow[j] + (c0 / CB) * kstride;       \
                for (mg_isize t = 0; t < KW; t++, s += tstep, k += CB) {                    \
                    mg_vec_##T k0 = mg_load_##T(k), k1 = mg_load_##T(k + L);                \
                    a0 += k0 * mg_load_##T(s);          a1 += k1 * mg_load_##T(s + L);      \
                    b0 += k0 * mg_load_##T(s + rs);      b1 += k1 * mg_load_##T(s + rs + L); \
                    c0v += k0 * mg_load_##T(s + 2 * rs); c1 += k1 * mg_load_##T(s + 2 * rs + L); \
                    d0 += k0 * mg_load_##T(s + 3 * rs);  d1 += k1 * mg_load_##T(s + 3 * rs + L); \
                }                                                                           \
            }                                                                               \
            T *o = out + p * OS + c0;                                                       \
            mg_put_##T(o, a0, st);          mg_put_##T(o + L, a1, st);                      \
            mg_put_##T(o + OS, b0, st);      mg_put_##T(o + OS + L, b1, st);                \
            mg_put_##T(o + 2 * OS, c0v, st); mg_put_##T(o + 2 * OS + L, c1, st);            \
            mg_put_##T(o + 3 * OS, d0, st);  mg_put_##T(o + 3 * OS + L, d1, st);            \
        }                                                                                   \
    }                                                                                       \
}

#else  /* no vector extensions: the same arithmetic as plain loops */

#define MG_DEFINE_BLOCKS(T)                                                                 \
/* one position's channels [c0, c0 + lanes), lanes <= 64 bytes (the blocks below) */        \
static void mg_sum_taps_lanes_##T(T *out, mg_isize OS, const T **src, const T **ker,        \
                                  const mg_isize *off,                                      \
                                  mg_isize ntaps, mg_isize p, mg_isize step, mg_isize C,     \
                                  mg_isize c0, int lanes) {                                 \
    T acc[64 / sizeof(T)] = {0};                                                            \
    for (mg_isize t = 0; t < ntaps; t++)                                                    \
        for (int i = 0; i < lanes; i++)                                                     \
            acc[i] += ker[t][c0 + i] * src[t][(p * step + off[t]) * C + c0 + i];           \
    for (int i = 0; i < lanes; i++)                                                         \
        out[p * OS + c0 + i] = acc[i];                                                      \
}                                                                                           \
static void mg_sum_taps_block1_##T(T *out, mg_isize OS, const T **src, const T **ker,       \
                                   const mg_isize *off,                                     \
                                   mg_isize ntaps, mg_isize p, mg_isize step, mg_isize C,    \
                                   mg_isize c0) {                                          \
    mg_sum_taps_lanes_##T(out, OS, src, ker, off, ntaps, p, step, C, c0, 64 / sizeof(T));   \
}                                                                                           \
static void mg_sum_taps_vec1_##T(T *out, mg_isize OS, const T **src, const T **ker,         \
                                 const mg_isize *off,                                       \
                                 mg_isize ntaps, mg_isize p, mg_isize step, mg_isize C,      \
                                 mg_isize c0) {                                            \
    mg_sum_taps_lanes_##T(out, OS, src, ker, off, ntaps, p, step, C, c0, 32 / sizeof(T));   \
}                                                                                           \
/* g[i] += sum_p x[p*step, i] * gy[p, i] for the first `lanes` channels */                  \
static void mg_dot_lanes_##T(T *g, const T *x, const T *gy, mg_isize lo, mg_isize hi,       \
                             mg_isize step, mg_isize C, int lanes) {                        \
    for (mg_isize p = lo; p < hi; p++)                                                      \
        for (int i = 0; i < lanes; i++)                                                     \
            g[i] += x[p * step * C + i] * gy[p * C + i];                                    \
}                                                                                           \
static void mg_dot_block_##T(T *g, const T *x, const T *gy, mg_isize lo, mg_isize hi,       \
                             mg_isize step, mg_isize C) {                                   \
    mg_dot_lanes_##T(g, x, gy, lo, hi, step, C, 64 / sizeof(T));                            \
}                                                                                           \
static void mg_dot_block1_##T(T *g, const T *x, const T *gy, mg_isize lo, mg_isize hi,      \
                              mg_isize step, mg_isize C) {                                  \
    mg_dot_lanes_##T(g, x, gy, lo, hi, step, C, 32 / sizeof(T));                            \
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
static void mg_sum_rows_block_##T(T *out, mg_isize OS, mg_isize a, mg_isize b,              \
                                  const T **row, const T **krow,                            \
                                  mg_isize R, mg_isize KW, mg_isize tstep, mg_isize kstride, \
                                  mg_isize C, mg_isize cvec, mg_isize step) {               \
    enum { CB = 64 / sizeof(T) };                                                           \
    for (mg_isize p = a; p < b; p++)                                                        \
        for (mg_isize c = 0; c < cvec; c++) {                                               \
            T acc = 0;                                                                      \
            for (mg_isize j = 0; j < R; j++)                                                \
                for (mg_isize t = 0; t < KW; t++)                                           \
                    acc += krow[j][(c / CB) * kstride + t * CB + c % CB]                    \
                           * row[j][p * step * C + t * tstep + c];                          \
            out[p * OS + c] = acc;                                                          \
        }                                                                                   \
}                                                                                           \
static void mg_sum_rows3_block_##T(T *out, mg_isize OS, mg_isize a, mg_isize b,             \
                                   const T **row, const T **krow,                           \
                                   mg_isize R, mg_isize tstep, mg_isize kstride, mg_isize C, \
                                   mg_isize cvec, const char *const *ahead, mg_isize first,        \
                                   mg_isize n_in) {                                         \
    enum { CB = 64 / sizeof(T) };                                                           \
    const mg_isize dir = tstep > 0 ? 1 : -1, off0 = first + (tstep > 0 ? 0 : 2);            \
    (void)ahead;                                                                            \
    for (mg_isize p = a; p < b; p++)                                                        \
        for (mg_isize c = 0; c < cvec; c++) {                                               \
            T acc = 0;                                                                      \
            for (mg_isize j = 0; j < R; j++)                                                \
                for (mg_isize t = 0; t < 3; t++) {                                          \
                    const mg_isize q = p + off0 + t * dir;    /* the input position read */ \
                    if (q >= 0 && q < n_in)                                                 \
                        acc += krow[j][(c / CB) * kstride + t * CB + c % CB]                \
                               * row[j][p * C + t * tstep + c];                             \
                }                                                                           \
            out[p * OS + c] = acc;                                                          \
        }                                                                                   \
}                                                                                           \
static void mg_dot3x3_block1_##T(T *g0, T *g1, T *g2, mg_isize gs, const T *x, const T *gy0, \
                                 const T *gy1, const T *gy2, mg_isize lo, mg_isize hi,      \
                                 mg_isize C, mg_isize xlo, mg_isize xhi) {                  \
    enum { LANES = 32 / sizeof(T) };                                                        \
    T *gr[3] = {g0, g1, g2};                                                                \
    const T *gyr[3] = {gy0, gy1, gy2};                                                      \
    for (mg_isize p = lo; p < hi; p++)                                                      \
        for (int r = 0; r < 3; r++)                                                         \
            for (int j = 0; j < 3; j++)                                                     \
                if (p + j >= xlo && p + j < xhi)                                            \
                    for (int i = 0; i < LANES; i++)                                         \
                        gr[r][j * gs + i] += x[(p + j) * C + i] * gyr[r][p * C + i];        \
}                                                                                           \
static void mg_dot3_block1_##T(T *g, mg_isize gs, const T *x, const T *gy, mg_isize lo,     \
                               mg_isize hi, mg_isize C, mg_isize xlo, mg_isize xhi) {       \
    enum { LANES = 32 / sizeof(T) };                                                        \
    for (mg_isize p = lo; p < hi; p++)                                                      \
        for (int j = 0; j < 3; j++)                                                         \
            if (p + j >= xlo && p + j < xhi)                                                \
                for (int i = 0; i < LANES; i++)                                             \
                    g[j * gs + i] += x[(p + j) * C + i] * gy[p * C + i];                    \
}

#endif

/* (GCC cannot see that mg_rows3_cols reads half[i] only after the loop's previous vector
   wrote it, and warns when the line check above makes it compile two versions) */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
MG_DEFINE_BLOCKS(float)
MG_DEFINE_BLOCKS(double)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  /* MINIGRAD_SIMD_H */
