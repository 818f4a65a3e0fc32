/* The capped ReLU's element loops (activation.pyx), for float and double: n numbers each,
 * `restrict` so that the compiler vectorizes them (Cython cannot say that).
 *
 *   mg_capped_relu_T           y[i] = min(max(x[i], 0), cap)
 *   mg_capped_relu_gradient_T  gx[i] = g[i] * (0 < x[i] <= cap): g times the mask, as the
 *                              twin computes it (a NaN or infinite g[i] outside the mask
 *                              gives NaN in both)
 *
 * NaN in x: y[i] is NaN (as NumPy's clip gives) and the mask is 0 (comparisons are false).
 *
 * The mask is `(v > 0) & (v <= cap)`, both comparisons always made: with `&&` the second
 * is skipped when the first fails, GCC 12 then does not vectorize the loop, and on random
 * signs the branch costs 30x (1.1 ms against 37 us for 196,608 floats). */
#ifndef MINIGRAD_ACTIVATION_H
#define MINIGRAD_ACTIVATION_H

#include <stddef.h>

#define MG_CAPPED_RELU(T)                                                                  \
static void mg_capped_relu_##T(const T *restrict x, T cap, T *restrict y, ptrdiff_t n) {   \
    for (ptrdiff_t i = 0; i < n; i++) {                                                    \
        T v = x[i];                                                                        \
        y[i] = v > cap ? cap : (v < 0 ? (T)0 : v);                                         \
    }                                                                                      \
}                                                                                          \
static void mg_capped_relu_gradient_##T(const T *restrict x, const T *restrict g, T cap,   \
                                        T *restrict gx, ptrdiff_t n) {                     \
    for (ptrdiff_t i = 0; i < n; i++) {                                                    \
        T v = x[i];                                                                        \
        gx[i] = g[i] * (T)((v > 0) & (v <= cap));                                          \
    }                                                                                      \
}

MG_CAPPED_RELU(float)
MG_CAPPED_RELU(double)

#endif
