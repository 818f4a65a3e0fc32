# The row primitives of the depthwise kernels, included by depthwise.pyx (one compilation
# unit: Cython inlines them into the loop nests there). A row is positions x channels,
# channels innermost; the loops over a row are C, in rows.h (on the vector blocks of simd.h).

# ----------------------------------------------------------------------------------------
# Rows of channels: plain loops, and the calls into rows.h
# ----------------------------------------------------------------------------------------

cdef extern from "rows.h" nogil:
    # the row primitives in C (rows.h): see _sum_taps and _dot_positions below
    void mg_sum_taps_float(float* out, isize OS, isize npos, const float** src,
                           const float** ker, const isize* off, isize ntaps, isize step,
                           isize C, isize n_in, const float** krow, isize kstride, isize KW,
                           const float* fetch)
    void mg_sum_taps_double(double* out, isize OS, isize npos, const double** src,
                            const double** ker, const isize* off, isize ntaps, isize step,
                            isize C, isize n_in, const double** krow, isize kstride, isize KW,
                            const double* fetch)
    void mg_dot_positions_float(float* g, const float* xrow, const float* gyrow, isize lo, isize hi,
                                isize step, isize off, isize C)
    void mg_dot_positions_double(double* g, const double* xrow, const double* gyrow, isize lo,
                                 isize hi, isize step, isize off, isize C)
    void mg_dot3_positions_float(float* g, isize gs, const float* xrow, const float* gyrow,
                                 isize lo, isize hi, isize C, isize xlo, isize xhi)
    void mg_dot3_positions_double(double* g, isize gs, const double* xrow, const double* gyrow,
                                  isize lo, isize hi, isize C, isize xlo, isize xhi)
    void mg_dot3x3_positions_float(float* g, isize gs, const float* xrow, const float** gyrow,
                                   isize lo, isize hi, isize C, isize xlo, isize xhi)
    void mg_dot3x3_positions_double(double* g, isize gs, const double* xrow, const double** gyrow,
                                    isize lo, isize hi, isize C, isize xlo, isize xhi)
    void mg_spread_float(float* out, isize ostep, const float* t, isize npos, isize C, isize M)
    void mg_spread_double(double* out, isize ostep, const double* t, isize npos, isize C, isize M)
    void mg_dot3_rows_float(float** g, isize gs, const float* x, const float** gy, isize R,
                            isize lo, isize hi, isize sw, isize dw, isize C, isize xlo, isize xhi)
    void mg_dot3_rows_double(double** g, isize gs, const double* x, const double** gy, isize R,
                             isize lo, isize hi, isize sw, isize dw, isize C, isize xlo, isize xhi)
    void mg_input_grad3s2_float(float* out, isize W, const float** gy, const float** k, isize R,
                                isize pw, isize n_gy, isize C)
    void mg_input_grad3s2_double(double* out, isize W, const double** gy, const double** k,
                                 isize R, isize pw, isize n_gy, isize C)
    void mg_expand_float(float* xe, const float* x, isize W, isize C, isize M)
    void mg_expand_double(double* xe, const double* x, isize W, isize C, isize M)
    void mg_sum_over_m_float(float* gx, const float* t, isize W, isize C, isize M)
    void mg_sum_over_m_double(double* gx, const double* t, isize W, isize C, isize M)
    # after a thread's last _sum_taps row: its streaming stores reach memory before other
    # threads read them (an sfence; nothing without streaming stores)
    void mg_prefetch_bytes(const void* p, isize nbytes)
    void mg_stream_fence()
    # ceil(a / b) for b > 0 and any sign of a (C division truncates toward zero); min; max
    isize _ceil_div "mg_ceil_div"(isize a, isize b)
    isize _imin "mg_imin"(isize a, isize b)
    isize _imax "mg_imax"(isize a, isize b)


cdef inline void _expand(floating* xe, const floating* x, isize W, isize C, isize M) noexcept nogil:
    """xe[w, c*M + m] = x[w, c]: a row of C channels as C*M channels (for M > 1; in C, rows.h)."""
    if floating is float:
        mg_expand_float(xe, x, W, C, M)
    else:
        mg_expand_double(xe, x, W, C, M)


cdef void _expand_rows(const floating** xrows, floating* xe, isize* tags, isize* slot,
                      const isize* keys, Geometry g) noexcept nogil:
    """For M > 1: xrows[jh] (input row number keys[jh], or -1 where the tap row is padding)
    replaced by its expansion to C*M channels, kept in one of KH slots of ``xe``.

    A per-thread cache: an output row shares KH - 1 input rows with the one before it (at
    stride 1), so a row whose number is still in ``tags`` (what each slot holds) is reused,
    not expanded again; a new row goes into a slot none of this output row's rows uses.
    """
    cdef isize CM = g.C * g.M, jh, s, j
    cdef bint taken
    for jh in range(g.KH):
        slot[jh] = -1
        for s in range(g.KH):
            if keys[jh] >= 0 and tags[s] == keys[jh]:
                slot[jh] = s
    for jh in range(g.KH):
        if keys[jh] < 0 or slot[jh] >= 0:
            continue
        for s in range(g.KH):                   # a free slot exists: at most KH rows are needed
            taken = False
            for j in range(g.KH):
                taken = taken or slot[j] == s
            if not taken:
                break
        _expand(xe + s * g.W * CM, xrows[jh], g.W, g.C, g.M)
        tags[s] = keys[jh]
        slot[jh] = s
    for jh in range(g.KH):
        if slot[jh] >= 0:
            xrows[jh] = xe + slot[jh] * g.W * CM


cdef inline void _sum_over_m(floating* gx, const floating* t, isize W, isize C, isize M) noexcept nogil:
    """gx[w, c] = sum_m t[w, c*M + m]: back from C*M channels to C (for M > 1; in C, rows.h)."""
    if floating is float:
        mg_sum_over_m_float(gx, t, W, C, M)
    else:
        mg_sum_over_m_double(gx, t, W, C, M)


cdef inline void _sum_taps(floating* out, isize OS, isize npos, const floating** src,
                           const floating** ker, const isize* off, isize ntaps, isize step,
                           isize C, isize n_in, const floating** krow, isize kstride, isize KW,
                           const floating* fetch) noexcept nogil:
    """out[p*OS + c] = sum_t ker[t][c] * src[t][p*step + off[t], c] for p in [0, npos).

    ``src[t]`` is a row of ``n_in`` positions x C channels; taps reading outside it (the
    padding) are skipped. ``OS``: elements from one output position to the next (C, or
    sw*C for a residue of the strided input gradient written into its row). The forward
    pass, the stride-1 input gradient and each residue of the strided one
    (_input_grad_row_strided) have this form. In C (rows.h on simd.h's blocks): the interior
    positions in vector blocks, the border positions and leftover channels with plain
    loops.

    The taps come in rows of ``KW`` (one kernel row each); ``krow[j]`` is kernel row j packed
    by 64-byte channel blocks (``_packed_kernel``, ``kstride`` elements from one block to the
    next), or ``krow`` is NULL when there is no whole block. The interior runs on one pointer
    per row, without the tap tables, a kernel row held in registers.

    ``fetch`` (or NULL): a row of ``npos`` positions x C channels that the caller reads
    next; the 3-wide blocks prefetch it position by position as they go.
    """
    if floating is float:
        mg_sum_taps_float(out, OS, npos, src, ker, off, ntaps, step, C, n_in, krow, kstride, KW,
                          fetch)
    else:
        mg_sum_taps_double(out, OS, npos, src, ker, off, ntaps, step, C, n_in, krow, kstride,
                           KW, fetch)


cdef inline void _dot_positions(floating* g, const floating* xrow, const floating* gyrow,
                                isize lo, isize hi, isize step, isize off, isize C) noexcept nogil:
    """g[c] += sum_{p in [lo, hi)} xrow[p*step + off, c] * gyrow[p, c] (one tap's kernel gradient;
    in C, simd.h: four partial sums per channel in vector registers)."""
    if floating is float:
        mg_dot_positions_float(g, xrow, gyrow, lo, hi, step, off, C)
    else:
        mg_dot_positions_double(g, xrow, gyrow, lo, hi, step, off, C)


cdef inline void _dot3_positions(floating* g, isize gs, const floating* xrow, const floating* gyrow,
                                 isize lo, isize hi, isize C, isize xlo, isize xhi) noexcept nogil:
    """g[j*gs + c] += sum_{p in [lo, hi)} xrow[p + j, c] * gyrow[p, c] for j = 0, 1, 2, where
    positions p + j outside [xlo, xhi) are padding: three neighbouring taps of one kernel row
    at once (in C, simd.h: a sliding window of input vectors, zero over the padding)."""
    if floating is float:
        mg_dot3_positions_float(g, gs, xrow, gyrow, lo, hi, C, xlo, xhi)
    else:
        mg_dot3_positions_double(g, gs, xrow, gyrow, lo, hi, C, xlo, xhi)


cdef void _kernel_grad_rows3(floating* acc, const floating* xrow, const floating** gyrows,
                             Geometry g) noexcept nogil:
    """acc[jh, jw, :] += sum_ow xrow[ow + jw - pw, :] * gyrows[jh][ow, :] for a 3x3 kernel at
    stride and dilation 1 along the row: one input row against the three grad_y rows it meets,
    all nine taps in one pass (in C, simd.h: nine accumulators, each input vector loaded once
    for the nine), in tiles of output positions read once per vector of channels. Small
    tiles measured fastest, though all sizes tried fit L1 cache: 2 KB of each of the four rows
    for float32 (2-6% faster than 1 KB), 1 KB for float64 (5-9% faster than 2 KB, 13% than
    4 KB)."""
    cdef isize CM = g.C * g.M
    cdef isize tile_bytes = TILE_BYTES // 4 if floating is float else TILE_BYTES // 8
    cdef isize tile = _imax(4, (tile_bytes // sizeof(floating)) // CM // 4 * 4)
    cdef isize i, p0, p1
    for i in range(_ceil_div(g.OW, tile)):
        p0 = i * tile
        p1 = _imin(g.OW, p0 + tile)
        if floating is float:
            mg_dot3x3_positions_float(acc, CM, xrow - g.pw * CM, gyrows, p0, p1, CM, g.pw,
                                      g.W + g.pw)
        else:
            mg_dot3x3_positions_double(acc, CM, xrow - g.pw * CM, gyrows, p0, p1, CM, g.pw,
                                       g.W + g.pw)


cdef void _kernel_grad_row(floating* acc, const floating** xrows, const floating* gyrow,
                           Geometry g) noexcept nogil:
    """acc[jh, jw, :] += sum_ow xrows[jh][ow*sw + jw*dw - pw, :] * gyrow[ow, :] for the taps
    whose input row exists (``xrows[jh]`` not NULL), tile by tile of output positions.

    At stride and dilation 1 along the row, a kernel row of 3n taps (the common 3-wide
    kernel, n = 1) goes three neighbouring taps per pass (``_dot3_positions``: each input
    vector loaded serves the three taps, and the padding at the row's ends reads as zeros);
    any other row tap by tap, each over the positions where it reads the real input.
    """
    cdef isize CM = g.C * g.M
    cdef isize tile = _imax(4, (TILE_BYTES // sizeof(floating)) // CM // 4 * 4)
    cdef isize i, p0, p1, jh, jw, off, lo, hi
    cdef bint threes = g.KW % 3 == 0 and g.sw == 1 and g.dw == 1
    for i in range(_ceil_div(g.OW, tile)):
        p0 = i * tile
        p1 = _imin(g.OW, p0 + tile)
        if threes:          # taps jw .. jw+2 read x[p + jw - pw .. p + jw + 2 - pw]
            for jh in range(g.KH):
                if xrows[jh] == NULL:
                    continue
                for jw in range(0, g.KW, 3):
                    _dot3_positions(acc + (jh * g.KW + jw) * CM, CM, xrows[jh] + (jw - g.pw) * CM,
                                    gyrow, p0, p1, CM, g.pw - jw, g.W + g.pw - jw)
            continue
        for jw in range(g.KW):  # the range of a tap column, once for its rows (divisions)
            off = jw * g.dw - g.pw
            if g.sw == 1:
                lo = _imax(p0, -off)
                hi = _imin(p1, g.W - off)
            else:
                lo = _imax(p0, _ceil_div(-off, g.sw))
                hi = _imin(p1, _ceil_div(g.W - off, g.sw))
            for jh in range(g.KH):
                if xrows[jh] != NULL:
                    _dot_positions(acc + (jh * g.KW + jw) * CM, xrows[jh], gyrow, lo, hi, g.sw, off, CM)


cdef void* _residue_row(void** block, isize itemsize, Geometry g) noexcept nogil:
    """Scratch for _input_grad_row_strided with M > 1: one residue's positions (at most
    ceil(W / sw)) x C*M channels of ``itemsize`` bytes, inside ``block[0]``, which the caller
    frees (NULL at horizontal stride 1 or M = 1). It starts 32 bytes past a 64-byte
    boundary: the row blocks then write it with plain stores (their streaming stores, for
    outputs of whole cache lines, would send it to memory just before it is read back)."""
    block[0] = NULL
    if g.sw == 1 or g.M == 1:
        return NULL
    block[0] = malloc(_ceil_div(g.W, g.sw) * g.C * g.M * itemsize + 96)
    return <char*>block[0] + (-<size_t>block[0]) % 64 + 32


cdef isize* _residue_taps(Geometry g) noexcept nogil:
    """For _input_grad_row_strided, the taps of each residue r < min(sw, W) of the input
    positions (iw = r + sw*u; a stride past the row's width has fewer residues), found once
    per part (made per row, their divisions were the hottest instructions of the loop nest):
    six numbers at 6*r, its taps per kernel row (``width``: the jw with r + pw - jw*dw a
    multiple of sw), the first of them (jw0), the step between them (sw / gcd(sw, dw)), the
    first one's grad_y offset ((r + pw - jw0*dw) / sw), the step back between their offsets
    (dw / gcd(sw, dw)) and where its packed kernel rows start (the taps of the residues before
    it times KH: _packed_kernel by residue). NULL at horizontal stride 1."""
    cdef isize r, jw, q, a = g.sw, b = g.dw, base = 0, nres = _imin(g.sw, g.W)
    cdef isize* t
    if g.sw == 1:
        return NULL
    while b != 0:                      # a = gcd(sw, dw)
        a, b = b, a % b
    t = <isize*>malloc(6 * nres * sizeof(isize))
    for r in range(nres):
        t[6 * r] = 0
        t[6 * r + 1] = 0
        t[6 * r + 3] = 0
        for jw in range(g.KW - 1, -1, -1):     # (downwards: the first tap is the last seen)
            q = r + g.pw - jw * g.dw
            if q % g.sw == 0:          # (C remainder: zero exactly when sw divides q)
                t[6 * r] = t[6 * r] + 1
                t[6 * r + 1] = jw
                t[6 * r + 3] = q // g.sw
        t[6 * r + 2] = g.sw // a
        t[6 * r + 4] = g.dw // a
        t[6 * r + 5] = base
        base = base + g.KH * t[6 * r]
    return t


cdef void _input_grad_row_strided(floating* out, floating* tmp, floating* rt, const isize* res,
                                  const floating** src, const floating** ker, isize* off,
                                  const floating** krow, const floating* gyn, const isize* ohs,
                                  const floating* k, const floating* kp,
                                  Geometry g) noexcept nogil:
    """One grad_x row at a horizontal stride sw > 1, gathered (each output written once):
    out[iw] = sum k[jh, jw] * gy[ohs[jh], (iw + pw - jw*dw) / sw] over the taps for which
    that division is exact, ``gyn`` = gy[n] and ohs[jh] the grad_y row of kernel row jh (or
    -1).

    The positions iw = r + sw*u of one residue r all take the same taps: in every kernel row
    the taps jw with r + pw - jw*dw a multiple of sw, at grad_y position
    u + (r + pw - jw*dw) / sw. Those are every sw/gcd(sw, dw)-th tap of the row, each reading
    dw/gcd(sw, dw) positions before the one before it (``res``: _residue_taps): per residue,
    a sum over taps at step 1 read backwards, as the stride-1 input gradient is. So each
    residue runs on the row blocks (_sum_taps), for M = 1 straight into out[r + sw*u] (an
    output position stride of sw*C), for M > 1 into ``rt`` (_residue_row), contiguous, then
    summed over m into its places (mg_spread). Its kernel rows come packed from
    ``kp`` (_packed_kernel by residue), or ``kp`` is NULL and every position runs on its own.
    ``src``, ``ker``, ``off``: KH*KW entries, ``krow``: KH (scratch).

    A kernel 3 wide at stride 2 has a faster path of its own (stride2.h: one pass over
    grad_y, no tap tables), which for M > 1 writes the row of C*M channels to ``tmp`` (W*C*M
    elements) and sums it to C.
    """
    cdef isize CM = g.C * g.M, KK = g.KH * g.KW, B = 64 // sizeof(floating)
    cdef isize r, jh, i, ntaps, nrows, npos, width, jw0, jstep, off0, ostep, base
    cdef floating* full = out if g.M == 1 else tmp
    if g.KW == 3 and g.sw == 2 and g.dw == 1:          # (stride2.h)
        ntaps = 0
        for jh in range(g.KH):
            if ohs[jh] >= 0:
                src[ntaps] = gyn + ohs[jh] * g.OW * CM
                ker[ntaps] = k + jh * 3 * CM
                ntaps = ntaps + 1
        if floating is float:
            mg_input_grad3s2_float(full, g.W, src, ker, ntaps, g.pw, g.OW, CM)
        else:
            mg_input_grad3s2_double(full, g.W, src, ker, ntaps, g.pw, g.OW, CM)
        if g.M > 1:
            _sum_over_m(out, full, g.W, g.C, g.M)
        return
    for r in range(_imin(g.sw, g.W)):
        width, jw0, jstep, off0, ostep, base = (res[6 * r], res[6 * r + 1], res[6 * r + 2],
                                                res[6 * r + 3], res[6 * r + 4], res[6 * r + 5])
        ntaps = 0
        nrows = 0
        for jh in range(g.KH):
            if ohs[jh] < 0:
                continue
            if kp != NULL:
                krow[nrows] = kp + (base + jh * width) * B
            nrows = nrows + 1
            for i in range(width):     # tap jw0 + i*jstep at grad_y position u + off0 - i*ostep
                src[ntaps] = gyn + ohs[jh] * g.OW * CM
                ker[ntaps] = k + (jh * g.KW + jw0 + i * jstep) * CM
                off[ntaps] = off0 - i * ostep
                ntaps = ntaps + 1
        npos = _ceil_div(g.W - r, g.sw)
        # M = 1: straight into every sw-th position of the row; M > 1: into rt, then below
        _sum_taps(out + r * CM if g.M == 1 else rt, g.sw * CM if g.M == 1 else CM, npos, src,
                  ker, off, ntaps, 1, CM, g.OW, krow if kp != NULL and width > 0 else NULL,
                  KK * B, _imax(width, 1), NULL)
        if g.M == 1:
            continue
        if floating is float:
            mg_spread_float(out + r * g.C, g.sw, rt, npos, g.C, g.M)
        else:
            mg_spread_double(out + r * g.C, g.sw, rt, npos, g.C, g.M)


cdef void _kernel_grad_taps3(floating* acc, const floating* xrow, const floating* gyn,
                             const isize* ohs, floating** gp, const floating** gyp,
                             Geometry g) noexcept nogil:
    """acc[jh, jw, :] += sum_ow xrow[ow*sw + jw*dw - pw, :] * gy[ohs[jh], ow, :] for a kernel
    three taps wide and the kernel rows jh that meet a grad_y row (ohs[jh] >= 0): up to three
    such rows per pass (mg_dot3_rows), in tiles of output positions as _kernel_grad_rows3.
    ``gp``, ``gyp``: KH pointers each (scratch)."""
    cdef isize CM = g.C * g.M, R = 0, jh, i, j, p0, p1
    cdef isize tile_bytes = TILE_BYTES // 4 if floating is float else TILE_BYTES // 8
    cdef isize tile = _imax(4, (tile_bytes // sizeof(floating)) // CM // 4 * 4)
    for jh in range(g.KH):
        if ohs[jh] >= 0:
            gp[R] = acc + jh * 3 * CM
            gyp[R] = gyn + ohs[jh] * g.OW * CM
            R = R + 1
    for i in range(_ceil_div(g.OW, tile)):
        p0 = i * tile
        p1 = _imin(g.OW, p0 + tile)
        for j in range(0, R, 3):
            if floating is float:
                mg_dot3_rows_float(gp + j, CM, xrow - g.pw * CM, gyp + j, _imin(3, R - j), p0, p1,
                                   g.sw, g.dw, CM, g.pw, g.W + g.pw)
            else:
                mg_dot3_rows_double(gp + j, CM, xrow - g.pw * CM, gyp + j, _imin(3, R - j), p0, p1,
                                    g.sw, g.dw, CM, g.pw, g.W + g.pw)
