/* Register-blocked matrix products for the pointwise kernels (included by pointwise.pyx).
 *
 * The pointwise (1x1) convolution's three products are thin: one side has P rows (every
 * position of the batch, 10^4-10^6), the other sides are channel counts (C, F: tens to a few
 * hundred). The small operand fits in L1/L2, so no cache blocking is needed, only register
 * blocking: a tile of MR x NR results (6 rows x two 32-byte vectors, i.e. 6 x 16 floats or
 * 6 x 8 doubles: 12 accumulators) is summed over the whole inner dimension K in registers
 * and stored once. Each step of that sum loads two vectors of B, broadcasts six numbers of A
 * and does 12 multiply-adds.
 *
 * B is first copied into a "packed" layout, NR columns at a time: strip s holds
 * bp[(s*K + k)*NR + j] = B[k, s*NR + j] (zero past the last column), so a tile reads one
 * contiguous stream, and a number of columns that is not a multiple of NR needs no special
 * code (the tile's extra columns are computed from zeros and not stored). A is read where it
 * lies, through two strides (next row, next k), which lets the same tile compute
 * ``z @ w`` (A = rows of z) and ``grad_y.T @ z`` (A = columns of grad_y). Rows past the
 * last are computed from row 0 again and not stored.
 *
 *   mg_pack_T(b, bks, bjs, K, n, bp)      bp = packed B, with B[k, j] = b[k*bks + j*bjs]
 *   mg_gemm_T(a, ars, aks, m, b, ldb, sstride, K, n, init, c, ldc, add, pf1, n1, pf2, n2)
 *       C[i, j] (= or +=) init[j] + sum_k A[i, k] * B[k, j]   for i < m, j < n, with
 *       A[i, k] = a[i*ars + k*aks] (aks == 1 or ars == 1), C[i, j] = c[i*ldc + j],
 *       strip s of B (columns s*NR...) read as b[s*sstride + k*ldb + j]: packed B is
 *       ldb = NR, sstride = K*NR; a row-major B whose n is a multiple of NR can be used
 *       where it lies (ldb = its row length, sstride = NR). init: NULL or n numbers
 *       (readable up to a multiple of NR). pf1, n1, pf2, n2: up to two ranges of bytes to
 *       prefetch (the next block's rows: its inputs, and its outputs, which a store would
 *       otherwise first read from memory), a share before each tile (NULL, 0: none).
 *   mg_pack_columns_T(a, lda, K, m, ap),
 *   mg_gemm_packed_a_T(ap, m, b, ldb, sstride, K, n, c, ldc, pf1, n1, pf2, n2)
 *       C += A @ B for an A read by columns (A[i, k] = a[k*lda + i], e.g. grad_y.T): its
 *       columns are first copied MR at a time into contiguous panels, so that the tile
 *       reads them as one stream (reading them in place, one cache line per k, measured
 *       20-60% slower on the kernel gradient's shapes).
 *
 * Every result is the same chain of multiply-adds over k = 0..K-1 in order, whichever tile
 * or thread computes it, so results do not depend on how the rows are split among threads.
 * The vectors are GCC/Clang vector extensions (AVX2 registers with -march=native; SSE
 * halves otherwise); other compilers get plain loops with the same arithmetic.
 */
#ifndef MINIGRAD_GEMM_H
#define MINIGRAD_GEMM_H

#include <stddef.h>
#include <string.h>

#define MG_GEMM_MR 6

#if defined(__GNUC__) || defined(__clang__)

typedef float mg_gvec_float __attribute__((vector_size(32)));
typedef double mg_gvec_double __attribute__((vector_size(32)));

#define MG_DEFINE_GEMM(T)                                                                    \
enum { MG_GEMM_NR_##T = 64 / sizeof(T) };                                                    \
static inline mg_gvec_##T mg_gload_##T(const T *p) { mg_gvec_##T v; memcpy(&v, p, sizeof v); return v; } \
static inline void mg_gstore_##T(T *p, mg_gvec_##T v) { memcpy(p, &v, sizeof v); }          \
                                                                                             \
/* One MR x NR tile; mr <= MR rows and nr <= NR columns of it are stored. */                 \
static inline __attribute__((always_inline)) void                                            \
mg_tile_##T(const T *a, ptrdiff_t ars, ptrdiff_t aks, const T *bp, ptrdiff_t ldb, ptrdiff_t K, \
            const T *init, T *c, ptrdiff_t ldc, int mr, int nr, int add) {                   \
    typedef mg_gvec_##T V;                                                                   \
    enum { L = 32 / sizeof(T) };                                                             \
    V i0 = {0}, i1 = {0};                                                                    \
    if (init) { i0 = mg_gload_##T(init); i1 = mg_gload_##T(init + L); }                      \
    V c00 = i0, c01 = i1, c10 = i0, c11 = i1, c20 = i0, c21 = i1;                            \
    V c30 = i0, c31 = i1, c40 = i0, c41 = i1, c50 = i0, c51 = i1;                            \
    const T *a0 = a, *a1 = a + (mr > 1) * ars, *a2 = a + (mr > 2) * 2 * ars;                 \
    const T *a3 = a + (mr > 3) * 3 * ars, *a4 = a + (mr > 4) * 4 * ars;                      \
    const T *a5 = a + (mr > 5) * 5 * ars;                                                    \
    for (ptrdiff_t k = 0; k < K; k++) {                                                      \
        V b0 = mg_gload_##T(bp), b1 = mg_gload_##T(bp + L);                                  \
        bp += ldb;                                                                           \
        T s;                                                                                 \
        s = a0[k * aks]; c00 += b0 * s; c01 += b1 * s;                                       \
        s = a1[k * aks]; c10 += b0 * s; c11 += b1 * s;                                       \
        s = a2[k * aks]; c20 += b0 * s; c21 += b1 * s;                                       \
        s = a3[k * aks]; c30 += b0 * s; c31 += b1 * s;                                       \
        s = a4[k * aks]; c40 += b0 * s; c41 += b1 * s;                                       \
        s = a5[k * aks]; c50 += b0 * s; c51 += b1 * s;                                       \
    }                                                                                        \
    V acc[MG_GEMM_MR][2] = {{c00, c01}, {c10, c11}, {c20, c21},                              \
                            {c30, c31}, {c40, c41}, {c50, c51}};                             \
    for (int i = 0; i < mr; i++) {                                                           \
        T *row = c + i * ldc;                                                                \
        if (nr == 2 * L) {                                                                   \
            if (add) {                                                                       \
                mg_gstore_##T(row, mg_gload_##T(row) + acc[i][0]);                           \
                mg_gstore_##T(row + L, mg_gload_##T(row + L) + acc[i][1]);                   \
            } else {                                                                         \
                mg_gstore_##T(row, acc[i][0]);                                               \
                mg_gstore_##T(row + L, acc[i][1]);                                           \
            }                                                                                \
        } else {                                                                             \
            T tmp[2 * L];                                                                    \
            mg_gstore_##T(tmp, acc[i][0]);                                                   \
            mg_gstore_##T(tmp + L, acc[i][1]);                                               \
            for (int j = 0; j < nr; j++) row[j] = add ? row[j] + tmp[j] : tmp[j];            \
        }                                                                                    \
    }                                                                                        \
}
#else   /* no vector extensions: the same arithmetic, one number at a time */

#define MG_DEFINE_GEMM(T)                                                                    \
enum { MG_GEMM_NR_##T = 64 / sizeof(T) };                                                    \
static void mg_tile_##T(const T *a, ptrdiff_t ars, ptrdiff_t aks, const T *bp, ptrdiff_t ldb, \
                        ptrdiff_t K, const T *init, T *c, ptrdiff_t ldc, int mr, int nr,     \
                        int add) {                                                           \
    for (int i = 0; i < mr; i++)                                                             \
        for (int j = 0; j < nr; j++) {                                                       \
            T s = init ? init[j] : 0;                                                        \
            for (ptrdiff_t k = 0; k < K; k++) s += a[i * ars + k * aks] * bp[k * ldb + j];    \
            c[i * ldc + j] = add ? c[i * ldc + j] + s : s;                                   \
        }                                                                                    \
}
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MG_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#else
#define MG_PREFETCH(p) ((void)(p))
#endif

/* Prefetching the next block while this one is computed. A block's rows come from memory
   (they were written long before); the tiles then read them across rows, a pattern the
   hardware prefetchers follow badly. So each call can be handed up to two byte ranges (the
   next block's rows) and touches a share of their cache lines before every tile: measured
   15-20% off the kernel gradient on a 2-core AVX2 machine. */
typedef struct { const char *p1; ptrdiff_t n1; const char *p2; ptrdiff_t n2; ptrdiff_t done, per; } mg_prefetch_t;

static inline void mg_prefetch_start(mg_prefetch_t *pf, const void *p1, ptrdiff_t n1,
                                     const void *p2, ptrdiff_t n2, ptrdiff_t ntiles) {
    pf->p1 = (const char *)p1; pf->n1 = p1 ? n1 : 0;
    pf->p2 = (const char *)p2; pf->n2 = p2 ? n2 : 0;
    pf->done = 0;
    pf->per = ((pf->n1 + pf->n2) / 64 + ntiles) / (ntiles > 0 ? ntiles : 1);
}

static inline void mg_prefetch_some(mg_prefetch_t *pf) {
    for (ptrdiff_t q = 0; q < pf->per; q++, pf->done += 64) {
        if (pf->done < pf->n1) MG_PREFETCH(pf->p1 + pf->done);
        else if (pf->done - pf->n1 < pf->n2) MG_PREFETCH(pf->p2 + (pf->done - pf->n1));
        else return;
    }
}

#define MG_DEFINE_GEMM_DRIVERS(T)                                                            \
static void mg_pack_##T(const T *b, ptrdiff_t bks, ptrdiff_t bjs, ptrdiff_t K, ptrdiff_t n,  \
                        T *bp) {                                                             \
    const ptrdiff_t NR = MG_GEMM_NR_##T;                                                     \
    for (ptrdiff_t s = 0; s * NR < n; s++)                                                   \
        for (ptrdiff_t k = 0; k < K; k++) {                                                  \
            T *dst = bp + (s * K + k) * NR;                                                  \
            if (bjs == 1 && (s + 1) * NR <= n) {                                             \
                memcpy(dst, b + k * bks + s * NR, NR * sizeof(T));                           \
                continue;                                                                    \
            }                                                                                \
            for (ptrdiff_t j = 0; j < NR; j++) {                                             \
                ptrdiff_t col = s * NR + j;                                                  \
                dst[j] = col < n ? b[k * bks + col * bjs] : 0;                               \
            }                                                                                \
        }                                                                                    \
}                                                                                            \
                                                                                             \
/* ap = the columns of A (m, K), A[i, k] = a[k*lda + i], MR at a time: panel t holds       \
   ap[(t*K + k)*MR + i] = A[t*MR + i, k] (zero past the last row). */                       \
static void mg_pack_columns_##T(const T *a, ptrdiff_t lda, ptrdiff_t K, ptrdiff_t m, T *ap) { \
    for (ptrdiff_t k = 0; k < K; k++) {                                                      \
        const T *src = a + k * lda;                                                          \
        for (ptrdiff_t t = 0; t * MG_GEMM_MR < m; t++) {                                     \
            T *dst = ap + (t * K + k) * MG_GEMM_MR;                                          \
            if ((t + 1) * MG_GEMM_MR <= m) {                                                 \
                memcpy(dst, src + t * MG_GEMM_MR, MG_GEMM_MR * sizeof(T));                   \
            } else {                                                                         \
                for (ptrdiff_t i = 0; i < MG_GEMM_MR; i++)                                   \
                    dst[i] = t * MG_GEMM_MR + i < m ? src[t * MG_GEMM_MR + i] : 0;           \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* C (m, n) += A @ B with A given as packed columns (mg_pack_columns_T); B as in mg_gemm_T. */ \
static void mg_gemm_packed_a_##T(const T *ap, ptrdiff_t m, const T *b, ptrdiff_t ldb,        \
                                 ptrdiff_t sstride, ptrdiff_t K, ptrdiff_t n, T *c,          \
                                 ptrdiff_t ldc, const void *pf1, ptrdiff_t n1,               \
                                 const void *pf2, ptrdiff_t n2) {                            \
    const ptrdiff_t NR = MG_GEMM_NR_##T;                                                     \
    mg_prefetch_t pf;                                                                        \
    mg_prefetch_start(&pf, pf1, n1, pf2, n2, (m + MG_GEMM_MR - 1) / MG_GEMM_MR * ((n + NR - 1) / NR)); \
    for (ptrdiff_t i = 0; i < m; i += MG_GEMM_MR) {                                          \
        int mr = m - i < MG_GEMM_MR ? (int)(m - i) : MG_GEMM_MR;                             \
        for (ptrdiff_t s = 0; s * NR < n; s++) {                                             \
            int nr = n - s * NR < NR ? (int)(n - s * NR) : (int)NR;                          \
            mg_prefetch_some(&pf);                                                           \
            mg_tile_##T(ap + i * K, 1, MG_GEMM_MR, b + s * sstride, ldb, K, NULL,            \
                        c + i * ldc + s * NR, ldc, mr, nr, 1);                               \
        }                                                                                    \
    }                                                                                        \
}                                                                                            \
                                                                                             \
static void mg_gemm_##T(const T *a, ptrdiff_t ars, ptrdiff_t aks, ptrdiff_t m, const T *b,   \
                        ptrdiff_t ldb, ptrdiff_t sstride, ptrdiff_t K, ptrdiff_t n,          \
                        const T *init, T *c, ptrdiff_t ldc, int add,                         \
                        const void *pf1, ptrdiff_t n1, const void *pf2, ptrdiff_t n2) {      \
    const ptrdiff_t NR = MG_GEMM_NR_##T;                                                     \
    mg_prefetch_t pf;                                                                        \
    mg_prefetch_start(&pf, pf1, n1, pf2, n2, (m + MG_GEMM_MR - 1) / MG_GEMM_MR * ((n + NR - 1) / NR)); \
    for (ptrdiff_t i = 0; i < m; i += MG_GEMM_MR) {                                          \
        int mr = m - i < MG_GEMM_MR ? (int)(m - i) : MG_GEMM_MR;                             \
        for (ptrdiff_t s = 0; s * NR < n; s++) {                                             \
            int nr = n - s * NR < NR ? (int)(n - s * NR) : (int)NR;                          \
            mg_prefetch_some(&pf);                                                           \
            const T *in = init ? init + s * NR : NULL;                                       \
            if (aks == 1)        /* A = rows: the k-th numbers are adjacent */               \
                mg_tile_##T(a + i * ars, ars, 1, b + s * sstride, ldb, K, in,                \
                            c + i * ldc + s * NR, ldc, mr, nr, add);                         \
            else                 /* A = columns (ars == 1): the i-th numbers are adjacent */ \
                mg_tile_##T(a + i, 1, aks, b + s * sstride, ldb, K, in,                      \
                            c + i * ldc + s * NR, ldc, mr, nr, add);                         \
        }                                                                                    \
    }                                                                                        \
}

MG_DEFINE_GEMM(float)
MG_DEFINE_GEMM(double)
MG_DEFINE_GEMM_DRIVERS(float)
MG_DEFINE_GEMM_DRIVERS(double)

#endif
