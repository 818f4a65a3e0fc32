/* The capped ReLU's element loops (activation.pyx), for float and double: n numbers each,
 * `restrict` so that the compiler vectorizes them (Cython cannot say that).
 *
 *   mg_capped_relu_T           y[i] = min(max(x[i], 0), cap)
 *   mg_capped_relu_gradient_T  gx[i] = g[i] if 0 < x[i] <= cap, else 0
 *
 * NaN: y[i] is NaN (as NumPy's clip gives) and gx[i] is 0 (the comparisons are false). */
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
    for (ptrdiff_t i = 0; i < n; i++)                                                      \
        gx[i] = (x[i] > 0 && x[i] <= cap) ? g[i] : (T)0;                                   \
}

MG_CAPPED_RELU(float)
MG_CAPPED_RELU(double)

#endif
