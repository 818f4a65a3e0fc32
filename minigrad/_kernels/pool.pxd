# The kernels' worker threads (pool.h), one pool for the whole process: the compiled modules
# cimport run_parts from here (Cython shares the C function between extension modules), so
# that a depthwise call and the pointwise call after it find the same workers awake.

ctypedef void (*task_fn)(void* job, Py_ssize_t part) noexcept nogil

cdef void run_parts(task_fn fn, void* job, Py_ssize_t nparts, int nthreads) noexcept nogil
