/* Whole rows of the depthwise kernels, any number of channels, built on the vector blocks
 * of simd.h (included by depthwise.pyx through depthwise_rows.pxi).
 *
 * A row is positions x C channels, channels innermost (C = the row stride in elements; an
 * output row's position stride is `OS`, see mg_sum_taps_T).
 * These functions find which positions every kernel tap reads inside the row (the
 * interior, run in vector blocks) and which read the padding (the borders: in the 3-wide
 * blocks too where they can, with zero vectors for the padding; otherwise one position at a
 * time with those taps left out), and cut the channels into 64-byte blocks, one more
 * 32-byte vector where the 3-wide blocks run (a channel count such as 24 floats), and a
 * plain-loop remainder. Rows whose positions are not whole 64-byte blocks are written with
 * plain stores: streaming stores to parts of cache lines that plain stores also write made
 * such rows 4-16x slower.
 */
#ifndef MINIGRAD_ROWS_H
#define MINIGRAD_ROWS_H

#include "simd.h"

/* Whole rows, any number of channels, built on the blocks above.
 *
 *   mg_sum_taps_T      out[p*OS + c] = sum_t ker[t][c] * src[t][p*step + off[t], c] for
 *                      p < npos, skipping the taps whose source position falls outside
 *                      [0, n_in) (the padding). The forward pass, the stride-1 input
 *                      gradient and each residue of the strided one. `OS`, the elements
 *                      from one output position to the next: C, or sw*C for a residue
 *                      written straight into its row (every sw-th position; see mg_spread
 *                      below).
 *                      Its streaming stores are not fenced: a thread calls mg_stream_fence
 *                      once after its last row, before other threads may read its rows (a
 *                      fence after every row made the 2D forward 4-12% slower).
 *                      `fetch` (or NULL): a row of npos x C that the caller reads next,
 *                      brought into the cache by the 3-wide blocks as they go.
 *   mg_dot_positions_T g[c] += sum_{p in [lo, hi)} xrow[p*step + off, c] * gyrow[p, c]:
 *                      one tap's share of the kernel gradient.
 */
static inline mg_isize mg_ceil_div(mg_isize a, mg_isize b) {      /* b > 0, any sign of a */
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}
static inline mg_isize mg_imin(mg_isize a, mg_isize b) { return a < b ? a : b; }
static inline mg_isize mg_imax(mg_isize a, mg_isize b) { return a > b ? a : b; }

/* The row functions of the strided and short-row paths stay out of the loop nests that call
   them: inlined there, they made the stride-1 fused backward 10-15% slower in float64 (the
   nest's hot loops compiled worse), though those paths never ran. */
#if defined(__GNUC__) || defined(__clang__)
#define MG_NOINLINE __attribute__((noinline))
#else
#define MG_NOINLINE
#endif

/* the `bytes` from p into the cache (L2 and closer), ahead of a pass that reads them */
static inline void mg_prefetch_bytes(const void *p, mg_isize bytes) {
#if defined(__GNUC__) || defined(__clang__)
    for (mg_isize i = 0; i < bytes; i += 64) __builtin_prefetch((const char *)p + i, 0, 2);
#else
    (void)p; (void)bytes;
#endif
}

#include "short_rows.h"      /* (they use the three helpers above) */
#include "kernel_grad3.h"
#include "stride2.h"

#define MG_MAX_BORDER_TAPS 64
#define MG_MAX_ROWS 256     /* kernel rows (of 3 taps, or of KW) in the row-block paths */

#define MG_DEFINE_ROWS(T)                                                                   \
/* one position p, channels [c_lo, c_hi), plain loops */                                   \
static void mg_sum_taps_at_##T(T *out, mg_isize OS, mg_isize p, mg_isize c_lo, mg_isize c_hi, \
                               const T **src, const T **ker, const mg_isize *off,           \
                               mg_isize ntaps, mg_isize step, mg_isize C, mg_isize n_in) {  \
    T *o = out + p * OS;                                                                    \
    for (mg_isize c = c_lo; c < c_hi; c++) o[c] = 0;                                        \
    for (mg_isize t = 0; t < ntaps; t++) {                                                  \
        mg_isize q = p * step + off[t];                                                     \
        if (q < 0 || q >= n_in) continue;                                                   \
        const T *s = src[t] + q * C, *k = ker[t];                                           \
        for (mg_isize c = c_lo; c < c_hi; c++) o[c] += k[c] * s[c];                         \
    }                                                                                       \
}                                                                                           \
/* one border position p: drop the taps that read padding, then whole vector blocks */     \
static void mg_sum_taps_one_##T(T *out, mg_isize OS, mg_isize p, const T **src, const T **ker, \
                                const mg_isize *off, mg_isize ntaps, mg_isize step,         \
                                mg_isize C, mg_isize n_in) {                                \
    const mg_isize CB = 64 / sizeof(T), cfull = C - C % CB, cvec = C - C % (CB / 2);        \
    const T *fsrc[MG_MAX_BORDER_TAPS], *fker[MG_MAX_BORDER_TAPS];                           \
    mg_isize foff[MG_MAX_BORDER_TAPS], n = 0;                                               \
    if (ntaps > MG_MAX_BORDER_TAPS) {                                                       \
        mg_sum_taps_at_##T(out, OS, p, 0, C, src, ker, off, ntaps, step, C, n_in);          \
        return;                                                                             \
    }                                                                                       \
    for (mg_isize t = 0; t < ntaps; t++) {                                                  \
        mg_isize q = p * step + off[t];                                                     \
        if (q >= 0 && q < n_in) { fsrc[n] = src[t]; fker[n] = ker[t]; foff[n] = off[t]; n++; } \
    }                                                                                       \
    mg_isize c0 = 0;                                                                        \
    for (; c0 + 2 * CB <= cfull; c0 += 2 * CB)                                              \
        mg_sum_taps_block2_##T(out, OS, fsrc, fker, foff, n, p, step, C, c0);               \
    if (c0 < cfull)                                                                         \
        mg_sum_taps_block1_##T(out, OS, fsrc, fker, foff, n, p, step, C, c0);               \
    if (cfull < cvec)                  /* a last, lone vector of channels */                \
        mg_sum_taps_vec1_##T(out, OS, fsrc, fker, foff, n, p, step, C, cfull);              \
    if (cvec < C)                                                                           \
        mg_sum_taps_at_##T(out, OS, p, cvec, C, fsrc, fker, foff, n, step, C, n_in);        \
}                                                                                           \
static void mg_sum_taps_##T(T *out, mg_isize OS, mg_isize npos, const T **src, const T **ker, \
                            const mg_isize *off, mg_isize ntaps, mg_isize step, mg_isize C, \
                            mg_isize n_in, const T **krow, mg_isize kstride, mg_isize KW,   \
                            const T *fetch) {                                               \
    /* cfull: the channels in whole 64-byte blocks; cvec: in whole vectors (32 bytes), which \
       the row blocks take (krow: every block packed, the last one zero-padded) */         \
    const mg_isize CB = 64 / sizeof(T), cfull = C - C % CB, cvec = C - C % (CB / 2);        \
    mg_isize done = cfull;             /* the channels the vector blocks computed */        \
    /* [a, b): the interior positions, where every tap is inside the row */                \
    mg_isize a = 0, b = npos, p;                                                            \
    for (mg_isize t = 0; t < ntaps; t++) {     /* (no divisions at stride 1: once per row) */ \
        mg_isize lo = step == 1 ? -off[t] : mg_ceil_div(-off[t], step);                     \
        mg_isize hi = step == 1 ? n_in - off[t] : mg_ceil_div(n_in - off[t], step);         \
        if (lo > a) a = lo;                                                                 \
        if (hi < b) b = hi;                                                                 \
    }                                                                                       \
    if (a > npos) a = npos;                                                                 \
    if (b < a) b = a;                                                                       \
    mg_isize lo = a, hi = b;           /* the positions the vector blocks computed */       \
    /* (row[] holds ntaps / KW rows and krow3[] ntaps / 3: both must fit; a row of no taps,   \
       all padding, is written by the per-position path as zeros) */                       \
    if (krow != NULL && ntaps > 0 && ntaps / KW <= MG_MAX_ROWS && ntaps / 3 <= MG_MAX_ROWS   \
            && (b - a >= 4 || (KW == 3 && npos >= 4))) {                                    \
        /* the taps are R kernel rows of KW taps each (krow: their packed kernel rows) */   \
        const T *row[MG_MAX_ROWS], *krow3[MG_MAX_ROWS];                                     \
        const mg_isize R = ntaps / KW, tstep = KW > 1 ? (off[1] - off[0]) * C : 0;          \
        for (mg_isize j = 0; j < R; j++) row[j] = src[j * KW] + off[j * KW] * C;            \
        /* with KW = 3 the blocks also take the positions whose padding is at most two of   \
           the ten inputs p + first + i, i < 10, that outputs [p, p + 8) read (every kernel  \
           row has the same offsets). A row of 3n taps, n > 1, runs on its interior only:    \
           first = 0 and nin = b + 10 tell the blocks that none of them reads padding. */   \
        mg_isize first = 0, nin = b + 10;                                                   \
        if (KW == 3) {                                                                      \
            first = off[0] - (tstep > 0 ? 0 : 2);                                           \
            lo = mg_imax(0, -2 - first);                                                    \
            hi = mg_imax(lo, mg_imin(npos, n_in - first));                                  \
            nin = n_in;                                                                     \
        }                                                                                   \
        const int threes = KW % 3 == 0 && step == 1 && (tstep == C || tstep == -C);         \
        if (threes && hi - lo >= 8) {                                                       \
            /* a row of 3n taps is n rows of 3 taps (taps 3i..3i+2 start 3i taps further) */ \
            for (mg_isize j = R - 1; j >= 0; j--)                                           \
                for (mg_isize i = KW / 3 - 1; i >= 0; i--) {                                \
                    krow3[j * (KW / 3) + i] = krow[j] + 3 * i * CB;                         \
                    row[j * (KW / 3) + i] = row[j] + 3 * i * tstep;                         \
                }                                                                           \
            /* with kernel rows over several input rows (2D), the next output row reads the \
               row after the newest one: the block prefetches it as it goes (the hardware   \
               prefetchers follow the rows read now, not the one to come: -7..-30%). The    \
               address may lie past the array; a prefetch never faults. */                  \
            const T *newest = src[0];                                                       \
            for (mg_isize j = 1; j < R; j++) if (src[j * KW] > newest) newest = src[j * KW]; \
            const char *ahead[2] = {                                                        \
                R > 1 ? (const char *)((uintptr_t)newest + n_in * C * sizeof(T)) : NULL,     \
                (const char *)fetch};                                                       \
            mg_sum_rows3_block_##T(out, OS, lo, hi, row, krow3, ntaps / 3, tstep, kstride, C, cvec, \
                                   ahead, first, nin);                                      \
            done = cvec;                                                                    \
        } else if (threes && KW == 3 && hi - lo >= 4) {      /* short rows (short_rows.h) */ \
            mg_sum_rows3_block4_##T(out, OS, lo, hi, row, krow, R, tstep, kstride, C, cvec, \
                                    first, nin);                                            \
            done = cvec;                                                                    \
        } else if (b - a >= 4) {                                                            \
            lo = a; hi = b;                                                                 \
            mg_sum_rows_block_##T(out, OS, a, b, row, krow, R, KW, tstep, kstride, C, cvec, step); \
            done = cvec;                                                                    \
        } else {                       /* no block: every position on its own, below */     \
            lo = hi = a;                                                                    \
        }                                                                                   \
        for (p = lo; p < hi && done < C; p++)                                               \
            mg_sum_taps_at_##T(out, OS, p, done, C, src, ker, off, ntaps, step, C, n_in);   \
    } else {       /* short rows, no packed kernel, or (many) hundreds of taps */           \
        for (p = a; p < b; p++) mg_sum_taps_one_##T(out, OS, p, src, ker, off, ntaps, step, C, n_in); \
    }                                                                                       \
    for (p = 0; p < lo; p++) mg_sum_taps_one_##T(out, OS, p, src, ker, off, ntaps, step, C, n_in); \
    for (p = hi; p < npos; p++) mg_sum_taps_one_##T(out, OS, p, src, ker, off, ntaps, step, C, n_in); \
}                                                                                           \
static void mg_dot_positions_##T(T *g, const T *xrow, const T *gyrow, mg_isize lo,          \
                                 mg_isize hi, mg_isize step, mg_isize off, mg_isize C) {    \
    const mg_isize CB = 64 / sizeof(T), cfull = C - C % CB, cvec = C - C % (CB / 2);        \
    for (mg_isize c0 = 0; c0 < cfull; c0 += CB)                                             \
        mg_dot_block_##T(g + c0, xrow + off * C + c0, gyrow + c0, lo, hi, step, C);          \
    if (cfull < cvec)                  /* a last, lone vector of channels */                \
        mg_dot_block1_##T(g + cfull, xrow + off * C + cfull, gyrow + cfull, lo, hi, step, C); \
    for (mg_isize p = lo; p < hi && cvec < C; p++) {                                        \
        const T *xb = xrow + (p * step + off) * C, *gb = gyrow + p * C;                     \
        for (mg_isize c = cvec; c < C; c++) g[c] += xb[c] * gb[c];                          \
    }                                                                                       \
}                                                                                           \
/* three neighbouring taps of one kernel row (horizontal stride and dilation 1) in one pass: \
   g[j*gs + c] += sum_{p in [lo, hi)} xrow[p + j, c] * gyrow[p, c] for j = 0, 1, 2, where    \
   positions p + j outside [xlo, xhi) are padding (zero). Each input vector loaded serves    \
   all three taps, and the border positions need no pass of their own. */                   \
static void mg_dot3_positions_##T(T *g, mg_isize gs, const T *xrow, const T *gyrow,         \
                                  mg_isize lo, mg_isize hi, mg_isize C, mg_isize xlo,       \
                                  mg_isize xhi) {                                           \
    const mg_isize CB = 64 / sizeof(T), cfull = C - C % CB, cvec = C - C % (CB / 2);        \
    if (lo < xlo - 2) lo = xlo - 2;    /* positions whose three taps all read padding */    \
    if (hi > xhi) hi = xhi;                                                                 \
    if (lo >= hi) return;                                                                   \
    for (mg_isize c0 = 0; c0 < cfull; c0 += CB)                                             \
        mg_dot3_block_##T(g + c0, gs, xrow + c0, gyrow + c0, lo, hi, C, xlo, xhi);          \
    if (cfull < cvec)                  /* a last, lone vector of channels */                \
        mg_dot3_block1_##T(g + cfull, gs, xrow + cfull, gyrow + cfull, lo, hi, C, xlo, xhi); \
    for (mg_isize p = lo; p < hi && cvec < C; p++)                                          \
        for (mg_isize j = 0; j < 3; j++)                                                    \
            if (p + j >= xlo && p + j < xhi)                                                \
                for (mg_isize c = cvec; c < C; c++)                                         \
                    g[j * gs + c] += xrow[(p + j) * C + c] * gyrow[p * C + c];              \
}                                                                                           \
/* mg_dot3_positions for a 3x3 kernel's three rows at once: g + r*3*gs (kernel row r) against \
   gyrow[r], the input row shared (the fused backward's kernel gradient); vector by vector  \
   over [lo, hi), a tile of positions whose rows stay in L1 cache */                         \
static void mg_dot3x3_positions_##T(T *g, mg_isize gs, const T *xrow, const T **gyrow,      \
                                    mg_isize lo, mg_isize hi, mg_isize C, mg_isize xlo,     \
                                    mg_isize xhi) {                                         \
    const mg_isize CB = 64 / sizeof(T), cvec = C - C % (CB / 2);                            \
    if (lo < xlo - 2) lo = xlo - 2;    /* positions whose three taps all read padding */    \
    if (hi > xhi) hi = xhi;                                                                 \
    if (lo >= hi) return;                                                                   \
    for (mg_isize c0 = 0; c0 < cvec; c0 += CB / 2)                                          \
        mg_dot3x3_block1_##T(g + c0, g + 3 * gs + c0, g + 6 * gs + c0, gs, xrow + c0,       \
                             gyrow[0] + c0, gyrow[1] + c0, gyrow[2] + c0, lo, hi, C, xlo, xhi); \
    if (cvec < C)                      /* the channels after the last whole vector */       \
        for (mg_isize r = 0; r < 3; r++)                                                    \
            for (mg_isize p = lo; p < hi; p++)                                              \
                for (mg_isize j = 0; j < 3; j++)                                            \
                    if (p + j >= xlo && p + j < xhi)                                        \
                        for (mg_isize c = cvec; c < C; c++)                                 \
                            g[(3 * r + j) * gs + c] += xrow[(p + j) * C + c] * gyrow[r][p * C + c]; \
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

/* The input gradient at a horizontal stride sw > 1 with M > 1 sums the positions of one
 * residue of the stride (r, r + sw, r + 2*sw, ...) over C*M channels into one contiguous
 * row, on the row blocks of mg_sum_taps; this sums that row over m into its places (for
 * M = 1 mg_sum_taps writes them directly, `OS` = sw*C):
 *
 *   mg_spread_T   out[p*ostep, c] = sum_m t[p, c*M + m] for p < npos, c < C
 */
#define MG_DEFINE_SPREAD(T)                                                                 \
static MG_NOINLINE void mg_spread_##T(T *out, mg_isize ostep, const T *t, mg_isize npos,    \
                                      mg_isize C, mg_isize M) {                             \
    for (mg_isize p = 0; p < npos; p++)                                                     \
        mg_sum_over_m_##T(out + p * ostep * C, t + p * C * M, 1, C, M);                     \
}

MG_DEFINE_SPREAD(float)
MG_DEFINE_SPREAD(double)

#endif  /* MINIGRAD_ROWS_H */
