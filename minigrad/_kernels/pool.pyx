# cython: language_level=3
"""The kernels' worker threads, one pool for the whole process (the C is in ``pool.h``).

``run_parts(fn, job, nparts, nthreads)`` runs ``fn(job, i)`` once for every part
``i < nparts`` on the calling thread and up to ``nthreads - 1`` workers, and returns when all
have run. ``depthwise.pyx`` and ``pointwise.pyx`` cimport it (``pool.pxd``).
"""

cdef extern from "pool.h" nogil:
    ctypedef void (*mg_task)(void* job, Py_ssize_t part) noexcept nogil
    void mg_pool_run(mg_task fn, void* job, Py_ssize_t nparts, int nthreads)
    int mg_pool_workers()


cdef void run_parts(task_fn fn, void* job, Py_ssize_t nparts, int nthreads) noexcept nogil:
    mg_pool_run(<mg_task>fn, job, nparts, nthreads)


def workers():
    """How many worker threads the pool has started in this process (0 until a call needed
    one; a child made by ``fork`` starts with 0)."""
    return mg_pool_workers()
