/* The input gradient of 3-wide kernel rows at horizontal stride 2, dilation 1, gathered:
 * the strided layers of MobileNet-like models (included by rows.h, after simd.h).
 *
 *   mg_input_grad3s2_T  out[iw, c] = sum_{j < R} sum_{jw < 3, 2*o + jw = iw + pw}
 *                                    k[j][jw*C + c] * gy[j][o, c],  iw < W, o < n_gy
 *
 * For iw = 2o - pw (an even iw + pw) the taps are jw = 0 at grad_y position o and jw = 2 at
 * o - 1; for iw = 2o + 1 - pw, jw = 1 at o. So one pass over the grad_y positions o writes
 * two outputs per position, from the vector at o and the one before it (kept in a register),
 * the kernel row's three vectors in registers: each grad_y vector is loaded once and every
 * output written once. The general strided path (one residue of the positions at a time,
 * through tap tables) was no faster than the scatter it replaced.
 */
#ifndef MINIGRAD_STRIDE2_H
#define MINIGRAD_STRIDE2_H

#include "simd.h"

/* channels [c_lo, C) in plain loops (the channels after the whole vectors; all of them
   without vector extensions); `add`: add to out instead of writing it */
#define MG_DEFINE_STRIDE2_REST(T)                                                           \
static void mg_input_grad3s2_rest_##T(T *out, mg_isize W, const T *const *gy,               \
                                      const T *const *k, mg_isize R, mg_isize pw,           \
                                      mg_isize n_gy, mg_isize C, mg_isize c_lo, int add) {  \
    for (mg_isize iw = 0; iw < W; iw++)                                                     \
        for (mg_isize c = c_lo; c < C; c++) {                                               \
            T s = 0;                                                                        \
            for (mg_isize j = 0; j < R; j++)                                                \
                for (mg_isize jw = 0; jw < 3; jw++) {                                       \
                    const mg_isize q = iw + pw - jw;      /* 2o */                          \
                    if (q >= 0 && q % 2 == 0 && q / 2 < n_gy)                               \
                        s += k[j][jw * C + c] * gy[j][(q / 2) * C + c];                     \
                }                                                                           \
            out[iw * C + c] = add ? out[iw * C + c] + s : s;                                \
        }                                                                                   \
}

#if (defined(__GNUC__) || defined(__clang__)) && !defined(MG_PLAIN_LOOPS)

#define MG_DEFINE_STRIDE2(T)                                                                \
/* one vector of channels c0; R (1..3) a compile-time constant where inlined */            \
static inline __attribute__((always_inline)) void                                         \
mg_input_grad3s2_body_##T(T *out, mg_isize W, const T *const *gy, const T *const *k,        \
                          const int R, mg_isize pw, mg_isize n_gy, mg_isize C, mg_isize c0, \
                          int add) {                                                        \
    const mg_vec_##T zero = {0};                                                            \
    mg_vec_##T k0[3], k1[3], k2[3], prev[3], cur[3];                                        \
    for (int j = 0; j < R; j++) {                                                           \
        k0[j] = mg_load_##T(k[j] + c0);                                                     \
        k1[j] = mg_load_##T(k[j] + C + c0);                                                 \
        k2[j] = mg_load_##T(k[j] + 2 * C + c0);                                             \
    }                                                                                       \
    const mg_isize oa = pw / 2, ob = (W - 1 + pw) / 2 + 1;   /* 2*oa - pw is 0 or -1 */     \
    for (int j = 0; j < R; j++)                                                             \
        prev[j] = oa >= 1 && oa - 1 < n_gy ? mg_load_##T(gy[j] + (oa - 1) * C + c0) : zero; \
    for (mg_isize o = oa; o < ob; o++) {                                                    \
        const mg_isize e = 2 * o - pw;                                                      \
        mg_vec_##T ye = zero, yo = zero;                                                    \
        for (int j = 0; j < R; j++) {                                                       \
            cur[j] = o < n_gy ? mg_load_##T(gy[j] + o * C + c0) : zero;                     \
            ye += k0[j] * cur[j] + k2[j] * prev[j];                                         \
            yo += k1[j] * cur[j];                                                           \
            prev[j] = cur[j];                                                               \
        }                                                                                   \
        if (e >= 0) {                                                                       \
            if (add) ye += mg_load_##T(out + e * C + c0);                                   \
            mg_store_##T(out + e * C + c0, ye);                                             \
        }                                                                                   \
        if (e + 1 < W) {                                                                    \
            if (add) yo += mg_load_##T(out + (e + 1) * C + c0);                             \
            mg_store_##T(out + (e + 1) * C + c0, yo);                                       \
        }                                                                                   \
    }                                                                                       \
}                                                                                           \
static MG_NOINLINE void mg_input_grad3s2_##T(T *out, mg_isize W, const T *const *gy, const T *const *k,  \
                                 mg_isize R, mg_isize pw, mg_isize n_gy, mg_isize C) {      \
    const mg_isize L = 32 / sizeof(T), cvec = C - C % L;                                    \
    for (mg_isize j = 0; j < R || j == 0; j += 3) {  /* kernel rows three at a time */       \
        const mg_isize r = R - j < 3 ? R - j : 3;                                           \
        const int add = j > 0;                                                              \
        for (mg_isize c0 = 0; c0 < cvec; c0 += L) {                                         \
            switch (r) {                                                                    \
            case 0:                    /* no kernel row meets grad_y: zeros */              \
                mg_input_grad3s2_body_##T(out, W, gy + j, k + j, 0, pw, n_gy, C, c0, add);  \
                break;                                                                      \
            case 1:                                                                         \
                mg_input_grad3s2_body_##T(out, W, gy + j, k + j, 1, pw, n_gy, C, c0, add);  \
                break;                                                                      \
            case 2:                                                                         \
                mg_input_grad3s2_body_##T(out, W, gy + j, k + j, 2, pw, n_gy, C, c0, add);  \
                break;                                                                      \
            default:                                                                        \
                mg_input_grad3s2_body_##T(out, W, gy + j, k + j, 3, pw, n_gy, C, c0, add);  \
                break;                                                                      \
            }                                                                               \
        }                                                                                   \
        mg_input_grad3s2_rest_##T(out, W, gy + j, k + j, r, pw, n_gy, C, cvec, add);        \
    }                                                                                       \
}

#else

#define MG_DEFINE_STRIDE2(T)                                                                \
static MG_NOINLINE void mg_input_grad3s2_##T(T *out, mg_isize W, const T *const *gy, const T *const *k,  \
                                 mg_isize R, mg_isize pw, mg_isize n_gy, mg_isize C) {      \
    mg_input_grad3s2_rest_##T(out, W, gy, k, R, pw, n_gy, C, 0, 0);                         \
}

#endif

MG_DEFINE_STRIDE2_REST(float)
MG_DEFINE_STRIDE2_REST(double)
MG_DEFINE_STRIDE2(float)
MG_DEFINE_STRIDE2(double)

#endif  /* MINIGRAD_STRIDE2_H */
