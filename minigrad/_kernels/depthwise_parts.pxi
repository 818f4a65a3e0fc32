# The depthwise loop nests on threads, included by depthwise.pyx (one compilation unit).
#
# The worker pool (pool.pyx, pool.h) runs a call's parts on the calling thread and its
# workers: a worker asleep when the call starts is not waited for. One ``Job`` describes a
# call; each part allocates its own row buffers. On one thread a nest runs directly, in one
# piece. The part runners take the Job as ``void*`` (the pool's callback) and pick the
# float32 or float64 copy of the nest from ``f64``.

ctypedef struct Job:
    const void* x           # input (N, H, W, C)
    const void* gy          # grad_y (N, OH, OW, C*M)
    const void* k           # kernel (KH, KW, C*M), and packed (_packed_kernel) or NULL
    const void* kp
    void* y                 # the output: y, or grad_x (N, H, W, C)
    void* partial           # the kernel gradient's partial sums (nchunks, KH*KW, C*M)
    isize nparts, nchunks
    bint with_kernel, f64   # f64: the arrays are float64 (else float32)
    Geometry g


cdef void _forward_part(void* job, isize i) noexcept nogil:
    """Output rows [i*rows/nparts, (i+1)*rows/nparts) of the forward pass."""
    cdef Job* j = <Job*>job
    cdef isize rows = j.g.N * j.g.OH, r0 = i * rows // j.nparts, r1 = (i + 1) * rows // j.nparts
    if j.f64:
        _forward_rows(<const double*>j.x, <const double*>j.k, <const double*>j.kp,
                      <double*>j.y, j.g, r0, r1)
    else:
        _forward_rows(<const float*>j.x, <const float*>j.k, <const float*>j.kp,
                      <float*>j.y, j.g, r0, r1)


cdef void _backward_rows_chunk(void* job, isize t) noexcept nogil:
    """Chunk t of the backward pass over grad_y (the input gradient, and the kernel's)."""
    cdef Job* j = <Job*>job
    if j.f64:
        _backward_rows_part(<const double*>j.gy, <const double*>j.k, <const double*>j.kp,
                            <const double*>j.x, <double*>j.y, <double*>j.partial,
                            j.nchunks, j.with_kernel, j.g, t, t + 1)
    else:
        _backward_rows_part(<const float*>j.gy, <const float*>j.k, <const float*>j.kp,
                            <const float*>j.x, <float*>j.y, <float*>j.partial,
                            j.nchunks, j.with_kernel, j.g, t, t + 1)


cdef void _backward_kernel_chunk(void* job, isize t) noexcept nogil:
    """Chunk t of the kernel gradient alone."""
    cdef Job* j = <Job*>job
    if j.f64:
        _backward_kernel_part(<const double*>j.x, <const double*>j.gy, <double*>j.partial,
                              j.nchunks, j.g, t, t + 1)
    else:
        _backward_kernel_part(<const float*>j.x, <const float*>j.gy, <float*>j.partial,
                              j.nchunks, j.g, t, t + 1)


cdef void _forward(const floating* x, const floating* k, const floating* kp, floating* y,
                   Geometry g, int nthreads) noexcept nogil:
    cdef Job job
    if nthreads == 1:
        _forward_rows(x, k, kp, y, g, 0, g.N * g.OH)
        return
    job.x, job.k, job.kp, job.y, job.g = x, k, kp, y, g
    job.f64 = sizeof(floating) == 8
    job.nparts = _imin(g.N * g.OH, 8 * nthreads)
    run_parts(_forward_part, &job, job.nparts, nthreads)


cdef void _backward_rows(const floating* gy, const floating* k, const floating* kp,
                         const floating* x, floating* gx, floating* partial, isize nchunks,
                         bint with_kernel, Geometry g, int nthreads) noexcept nogil:
    cdef Job job
    if nthreads == 1:
        _backward_rows_part(gy, k, kp, x, gx, partial, nchunks, with_kernel, g, 0, nchunks)
        return
    job.gy, job.k, job.kp, job.x, job.y, job.partial = gy, k, kp, x, gx, partial
    job.nchunks, job.with_kernel, job.g = nchunks, with_kernel, g
    job.f64 = sizeof(floating) == 8
    run_parts(_backward_rows_chunk, &job, nchunks, nthreads)


cdef void _backward_kernel(const floating* x, const floating* gy, floating* partial,
                           isize nchunks, Geometry g, int nthreads) noexcept nogil:
    cdef Job job
    if nthreads == 1:
        _backward_kernel_part(x, gy, partial, nchunks, g, 0, nchunks)
        return
    job.x, job.gy, job.partial, job.nchunks, job.g = x, gy, partial, nchunks, g
    job.f64 = sizeof(floating) == 8
    run_parts(_backward_kernel_chunk, &job, nchunks, nthreads)
