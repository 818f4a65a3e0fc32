# What every public function of depthwise.pyx does around its loop nest, at the least cost
# per call (included there). A MobileNetV2 on 8x8 images makes ~16 depthwise calls a training
# step whose loops take a few microseconds each, so the fixed cost of a call is much of its
# time. It was ~17 us for a forward on one 8x8x16 image; the pieces that went:
#
# * the argument checks: valid calls come back with the same shapes and parameters at every
#   step, so a problem's checked geometry, shapes and sizes are kept in a ``_Plan``, found by
#   its arguments (guards.depthwise_geometry remembers its results too, but its key check
#   and the dict handed over as the ``Geometry`` struct, key by key, cost ~4 us);
# * the dtype dispatch of ``def`` functions with fused-type memoryviews (Cython inspects the
#   arguments at run time): the float32 or float64 copy is chosen here by itemsize;
# * the packed kernel, built with NumPy calls (~1.5 us): now a C loop over a few hundred
#   numbers inside the call;
# * small outputs come from numpy.empty directly (buffers.empty_output's Python costs ~1.5 us).

from libc.stdlib cimport calloc

from .buffers import MIN_BYTES

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


cdef class _Plan:
    """One checked problem: its ``Geometry`` and the shapes of its arrays (see _plan)."""
    cdef Geometry g
    cdef tuple x_shape, kernel_shape, out, y_shape, x4, y4, k3
    cdef object x_count, y_count, work    # Python ints: any shape a call names fits
    cdef isize fused_chunks, kernel_chunks

    def __init__(self, x_shape, kernel_shape, strides, dilation, pads, x_name):
        r, strides, dilation, pads, out = guards.depthwise_geometry(
            x_shape, kernel_shape, strides, dilation, pads, x_name)
        d = guards.as_rank2(r, strides, dilation, pads, out, x_shape, kernel_shape)
        self.g = d
        self.x_shape, self.kernel_shape, self.out = tuple(x_shape), tuple(kernel_shape), out
        self.y_shape = (d["N"],) + out + (d["C"] * d["M"],)
        # the loops' 4D views: the same tuples for a 2D problem (then no reshape is needed)
        self.x4 = self.x_shape if r == 2 else (d["N"], d["H"], d["W"], d["C"])
        self.y4 = self.y_shape if r == 2 else (d["N"], d["OH"], d["OW"], d["C"] * d["M"])
        self.k3 = (d["KH"], d["KW"], d["C"] * d["M"])
        self.x_count = d["N"] * d["H"] * d["W"] * d["C"]
        self.y_count = d["N"] * d["OH"] * d["OW"] * d["C"] * d["M"]
        self.work = d["N"] * d["OH"] * d["OW"] * d["C"] * d["M"] * d["KH"] * d["KW"]
        self.fused_chunks = _reduction_chunks(d["N"] * d["H"], self.work)
        self.kernel_chunks = _reduction_chunks(d["N"] * d["OH"], self.work)


_MEMO_SIZE = 512
cdef dict _plans = {}


cdef bint _plain(value, int depth=3):
    """guards.is_plain in C: an int (not a bool), a str, or tuples of those, nested at most
    ``depth`` deep (a key holds shapes, strides, dilation and pads of pairs: three levels;
    anything deeper is no key, and the recursion has an end). Only such keys are
    remembered: ``True`` and ``1.0`` equal 1 as keys, and must meet the full check."""
    cdef type kind = type(value)
    if kind is int or kind is str:
        return True
    if kind is not tuple or depth == 0:
        return False
    for item in <tuple>value:
        if not _plain(item, depth - 1):
            return False
    return True


cdef _Plan _plan(x_shape, kernel_shape, strides, dilation, pads, x_name):
    """The checked plan of a problem (raises as guards.depthwise_geometry for bad ones)."""
    key = (x_shape, kernel_shape, strides, dilation, pads)
    cdef bint plain = _plain(key)         # (before the lookup: a list is no key at all)
    cdef _Plan p = _plans.get(key) if plain else None
    if p is not None:
        return p
    p = _Plan(x_shape, kernel_shape, strides, dilation, pads, x_name)
    if plain:
        if len(_plans) >= _MEMO_SIZE:
            _plans.clear()
        _plans[key] = p
    return p


def _reduction_chunks(rows, work):
    """Chunks of the kernel gradient's sum: from the problem size alone (bitwise the same
    results on any number of threads)."""
    return max(1, min(rows, MAX_REDUCTION_CHUNKS, work // REDUCTION_CHUNK_WORK))


cdef inline bint _same_float(a, b, c):
    """True for three ndarrays of one float dtype, the case the ops pass: the checks in
    guards.py can then be skipped (anything else meets them, and their messages)."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray or type(c) is not np.ndarray:
        return False
    dt = a.dtype
    return (dt is _F32 or dt is _F64) and b.dtype is dt and c.dtype is dt


cdef inline _check_grad_y(grad_y, _Plan p):
    if grad_y.shape != p.y_shape:
        guards.check_grad_y(grad_y, p.x_shape, p.kernel_shape, p.out)     # raises


cdef inline int _nthreads(_Plan p):
    return 1 if p.work < PARALLEL_MIN_WORK else kernel_thread_count()


cdef inline _output(tuple shape, count, dtype):
    """An output array: a small one from numpy.empty, a large one from the buffer cache."""
    if count * dtype.itemsize < MIN_BYTES:
        return np.empty(shape, dtype)
    return empty_output(shape, dtype)


cdef inline _c4(a, tuple shape):
    """A checked array as the C-contiguous 4D array of the loops (1D: H = 1)."""
    if not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)
    return a if a.shape == shape else a.reshape(shape)


cdef inline _k3(kernel, _Plan p):
    """The kernel (*k, C, M) as (KH, KW, C*M), C-contiguous."""
    return np.ascontiguousarray(kernel).reshape(p.k3)


cdef floating* _packed_kernel(const floating* k, Geometry g, void** block,
                              bint by_residue) noexcept nogil:
    """k (KH*KW taps, C*M) as (ceil(C*M / B), KH*KW, B), B = the channels of 64 bytes: for each
    channel block, its kernel taps one after the other (what _sum_taps reads in order through
    ``krow``). The last block is zero-padded: the 3-wide blocks read a last, lone vector of
    channels from it. It starts on a 64-byte boundary (its vectors then never straddle two
    cache lines) inside ``block[0]``, which the caller frees. NULL if out of memory: the
    loops then run without it (slower, same results).

    ``by_residue`` (the input gradient at a horizontal stride sw > 1): the taps ordered by
    the residue r of the input positions that take them (r + pw - jw*dw a multiple of sw),
    then by kernel row, then by jw, so that each residue's kernel rows are packed rows of
    their own (_input_grad_row_strided). Only the residues r < min(sw, W) that hold input
    positions, as _residue_taps (the stride may be up to MAX_GEOMETRY)."""
    cdef isize B = 64 // sizeof(floating), KK = g.KH * g.KW, CM = g.C * g.M
    cdef isize r, jh, jw, c, t = 0
    block[0] = calloc(_ceil_div(CM, B) * KK * B * sizeof(floating) + 64, 1)
    if block[0] == NULL:
        return NULL
    cdef floating* kp = <floating*>(<char*>block[0] + (-<size_t>block[0]) % 64)
    for r in range(_imin(g.sw, g.W) if by_residue else 1):
        for jh in range(g.KH):
            for jw in range(g.KW):
                if by_residue and (r + g.pw - jw * g.dw) % g.sw != 0:
                    continue
                for c in range(CM):    # packed tap t: tap jh*KW + jw, in its residue's order
                    kp[((c // B) * KK + t) * B + c % B] = k[(jh * g.KW + jw) * CM + c]
                t = t + 1
    return kp


# Dispatch on the dtype (one compiled copy per floating type, chosen by the callers), GIL released

cdef _go_forward(const floating[:, :, :, ::1] x, const floating[:, :, ::1] k,
                 floating[:, :, :, ::1] y, _Plan p, int nthreads):
    cdef void* block
    cdef floating* kp = _packed_kernel(&k[0, 0, 0], p.g, &block, False)
    with nogil:
        _forward(&x[0, 0, 0, 0], &k[0, 0, 0], kp, &y[0, 0, 0, 0], p.g, nthreads)
    free(block)


cdef _go_backward_rows(const floating[:, :, :, ::1] gy, const floating[:, :, ::1] k,
                       const floating[:, :, :, ::1] x, floating[:, :, :, ::1] gx,
                       floating[:, :, ::1] partial, isize nchunks, bint with_kernel, _Plan p,
                       int nthreads):
    cdef void* block
    cdef floating* kp = _packed_kernel(&k[0, 0, 0], p.g, &block, p.g.sw > 1)
    with nogil:
        _backward_rows(&gy[0, 0, 0, 0], &k[0, 0, 0], kp, &x[0, 0, 0, 0], &gx[0, 0, 0, 0],
                       &partial[0, 0, 0], nchunks, with_kernel, p.g, nthreads)
    free(block)


cdef _go_backward_kernel(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] gy,
                         floating[:, :, ::1] partial, _Plan p, int nthreads):
    with nogil:
        _backward_kernel(&x[0, 0, 0, 0], &gy[0, 0, 0, 0], &partial[0, 0, 0], partial.shape[0],
                         p.g, nthreads)


cdef _kernel_gradient(x, grad_y, kernel_shape, _Plan p):
    """grad_kernel alone (depthwise_backward_kernel's pass), for checked arguments."""
    if p.g.N == 0:
        return np.zeros(kernel_shape, dtype=x.dtype)
    partial = np.empty((p.kernel_chunks, p.g.KH * p.g.KW, p.g.C * p.g.M), dtype=x.dtype)
    if x.itemsize == 4:
        _go_backward_kernel[float](_c4(x, p.x4), _c4(grad_y, p.y4), partial, p, _nthreads(p))
    else:
        _go_backward_kernel[double](_c4(x, p.x4), _c4(grad_y, p.y4), partial, p, _nthreads(p))
    return sum_chunks(partial).reshape(kernel_shape)


cdef tuple _backward(grad_y, x, kernel, _Plan p, bint with_kernel):
    """grad_x, and with ``with_kernel`` grad_kernel in the same pass."""
    grad_x = _output(p.x_shape, p.x_count, grad_y.dtype)
    if p.g.N == 0:
        return grad_x, np.zeros(kernel.shape, dtype=grad_y.dtype)
    gx = grad_x if p.x4 is p.x_shape else grad_x.reshape(p.x4)
    # without the kernel gradient, chunks only share out the rows (no reduction)
    nchunks = p.fused_chunks if with_kernel else min(p.g.N * p.g.H, 64)
    shape = (1, 1, 1)
    if with_kernel:
        shape = (nchunks, p.g.KH * p.g.KW, p.g.C * p.g.M)
    partial = np.empty(shape, grad_y.dtype)
    xs = _c4(x, p.x4) if with_kernel else gx
    if grad_y.itemsize == 4:
        _go_backward_rows[float](_c4(grad_y, p.y4), _k3(kernel, p), xs, gx, partial, nchunks,
                                 with_kernel, p, _nthreads(p))
    else:
        _go_backward_rows[double](_c4(grad_y, p.y4), _k3(kernel, p), xs, gx, partial, nchunks,
                                  with_kernel, p, _nthreads(p))
    if not with_kernel:
        return grad_x, None
    return grad_x, sum_chunks(partial).reshape(kernel.shape)
