/* The row passes of batch normalisation (normalization.pyx), for float and double.
 *
 * x, g, y are P rows of C numbers (row-major); vectors are C numbers. Every pass walks
 * the rows in order with the columns innermost, so the compiler vectorizes the inner loop.
 * It can only do that if it knows the per-column sums are not stored inside the rows it
 * reads: hence `restrict` on every pointer (Cython cannot say that, so the loops are here).
 * The sums are doubles for both element types.
 *
 *   mg_column_moments_T      mean[c] = sum_p x[p, c] / P,
 *                            variance[c] = sum_p (x[p, c] - mean[c])^2 / P, in one pass:
 *                            the sums are of d = x[p, c] - x[0, c], in double (a "shifted"
 *                            sum: the first row is at most sqrt(P - 1) standard deviations
 *                            from the mean however far the mean is from zero, so
 *                            E[d^2] - E[d]^2 loses at most about P * 2^-53 of the variance,
 *                            where E[x^2] - E[x]^2 would lose it all to rounding; the clamp
 *                            at 0 only absorbs that rounding)
 *   mg_affine_T              y[p, c]  = (x[p, c] - mean[c]) * a[c] + b[c]
 *   mg_gradient_sums_T       sum_g[c] = sum_p g[p, c],
 *                            sum_gc[c] = sum_p g[p, c] * (x[p, c] - mean[c])
 *   mg_input_gradient_T      y[p, c] = g[p, c] * a[c] - (x[p, c] - mean[c]) * k[c] - m[c],
 *                            or g[p, c] * a[c] when k is NULL (x, mean, m unused then)
 */
#ifndef MINIGRAD_NORMALIZATION_H
#define MINIGRAD_NORMALIZATION_H

#include <stddef.h>

#define MG_NORM_PASSES(T)                                                                  \
static void mg_column_moments_##T(const T *restrict x, ptrdiff_t P, ptrdiff_t C,          \
                                  double *restrict mean, double *restrict variance) {      \
    /* sums of d = x - x[0, c] and of d^2, then mean = x[0, c] + E[d],                     \
     * variance = E[d^2] - E[d]^2 (see the comment above) */                               \
    for (ptrdiff_t c = 0; c < C; c++) mean[c] = variance[c] = 0;                           \
    for (ptrdiff_t p = 0; p < P; p++) {                                                    \
        const T *restrict row = x + p * C;                                                 \
        for (ptrdiff_t c = 0; c < C; c++) {                                                \
            double d = (double)row[c] - (double)x[c];                                      \
            mean[c] += d;                                                                  \
            variance[c] += d * d;                                                          \
        }                                                                                  \
    }                                                                                      \
    for (ptrdiff_t c = 0; c < C; c++) {                                                    \
        double shift = mean[c] / (double)P;                                                \
        variance[c] = variance[c] / (double)P - shift * shift;                             \
        if (variance[c] < 0) variance[c] = 0;                                              \
        mean[c] = (double)x[c] + shift;                                                    \
    }                                                                                      \
}                                                                                          \
static void mg_affine_##T(const T *restrict x, const T *restrict mean, const T *restrict a, \
                          const T *restrict b, T *restrict y, ptrdiff_t P, ptrdiff_t C) {  \
    for (ptrdiff_t p = 0; p < P; p++) {                                                    \
        const T *restrict row = x + p * C;                                                 \
        T *restrict out = y + p * C;                                                       \
        for (ptrdiff_t c = 0; c < C; c++) out[c] = (row[c] - mean[c]) * a[c] + b[c];       \
    }                                                                                      \
}                                                                                          \
static void mg_gradient_sums_##T(const T *restrict x, const T *restrict g,                 \
                                 const T *restrict mean, ptrdiff_t P, ptrdiff_t C,         \
                                 double *restrict sum_g, double *restrict sum_gc) {        \
    for (ptrdiff_t c = 0; c < C; c++) sum_g[c] = sum_gc[c] = 0;                            \
    for (ptrdiff_t p = 0; p < P; p++) {                                                    \
        const T *restrict row = x + p * C, *restrict grow = g + p * C;                     \
        for (ptrdiff_t c = 0; c < C; c++) {                                                \
            sum_g[c] += grow[c];                                                           \
            sum_gc[c] += grow[c] * (row[c] - mean[c]);                                     \
        }                                                                                  \
    }                                                                                      \
}                                                                                          \
static void mg_input_gradient_##T(const T *restrict x, const T *restrict g,                \
                                  const T *restrict mean, const T *restrict a,             \
                                  const T *restrict k, const T *restrict m,                \
                                  T *restrict y, ptrdiff_t P, ptrdiff_t C) {               \
    for (ptrdiff_t p = 0; p < P; p++) {                                                    \
        const T *restrict grow = g + p * C;                                                \
        T *restrict out = y + p * C;                                                       \
        if (k == NULL) {                                                                   \
            for (ptrdiff_t c = 0; c < C; c++) out[c] = grow[c] * a[c];                     \
        } else {                                                                           \
            const T *restrict row = x + p * C;                                             \
            for (ptrdiff_t c = 0; c < C; c++)                                              \
                out[c] = grow[c] * a[c] - (row[c] - mean[c]) * k[c] - m[c];                \
        }                                                                                  \
    }                                                                                      \
}

MG_NORM_PASSES(float)
MG_NORM_PASSES(double)

#endif
