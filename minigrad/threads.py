"""Thread pools during training: one BLAS thread, kernel workers that sleep when idle.

Two thread pools live in a minigrad process: NumPy's OpenBLAS (Dense layers, ``@``) and the
compiled kernels' own workers (``minigrad/_kernels/pool.h``). After each call OpenBLAS's
threads *spin* for a while, waiting for more work, and on a 2-core machine spinning threads
take the cores the next call needs: a training step of the demo model measured ~330 ms with
default settings under load and ~4 ms with BLAS limited to one thread (and the kernels'
threads, then OpenMP's, told to sleep when idle). Training steps are many small matrix
products, which gain nothing from a second BLAS thread anyway. So
``fit``/``evaluate``/``predict`` run inside :func:`limit_blas_threads`.

The kernels' workers are minigrad's own, not OpenMP's, because both of OpenMP's ways of
waiting cost too much on a small virtual machine (measured on 2 cores, see
benchmarks/README.md):

* sleeping at once (``OMP_WAIT_POLICY=PASSIVE``, which minigrad used to set for the whole
  process at import): waking a thread took 0.1-0.25 ms, and an OpenMP region waits at its end
  for every thread of its team, so a depthwise forward of 2.4M multiply-adds took 2x as long
  on two threads as on one, and the benchmark's 2D forward 2.1 ms instead of 1.5;
* spinning (``GOMP_SPINCOUNT=10000``, ~0.3 ms): a depthwise call followed by three 2-thread
  128x128 float32 matrix products took 1.2 ms instead of 0.45, the spinning thread holding
  the core OpenBLAS's second thread needed.

The pool instead: the caller takes parts too and never waits for a worker that has not
started one (a call on two threads costs at most one part more than on one); an idle worker
watches for the next call for 0.3 ms, from its first microseconds on giving its core to any
other thread that wants it (``sched_yield``), then sleeps. Measured: a forward of 2.4-9.4M
multiply-adds on two threads took 0.58-0.85x its time on one; back to back, the benchmark's
1D and 2D forward calls went from 0.89 and 2.1 ms to 0.46-0.60 and 1.2-1.65 ms; three
2-thread 128x128 matrix products right after a depthwise call took as long as alone.

The kernels' thread count is one helper here, :func:`kernel_threads`, shared by
``depthwise.pyx`` and ``pointwise.pyx``; :func:`limit_kernel_threads` sets it for a block.
"""
import contextlib
import functools
import os

from .heap import keep_heap

# BLAS threads used inside fit/evaluate/predict; None leaves the pools as they are.
TRAINING_BLAS_THREADS = 1

_controller = None


def _get_controller():
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController     # a dependency, imported on first use
        _controller = ThreadpoolController()
    return _controller


@contextlib.contextmanager
def limit_blas_threads(n=None):
    """Run the block with at most ``n`` BLAS threads (default ``TRAINING_BLAS_THREADS``).

    Args:
        n (int or None, default None): the thread limit; None means ``TRAINING_BLAS_THREADS``.
    """
    n = TRAINING_BLAS_THREADS if n is None else n
    controller = _get_controller() if n is not None else False
    if not controller:
        yield
        return
    with controller.limit(limits=n, user_api="blas"):
        yield


def training_threads(method):
    """Decorator: run a training/inference method under :func:`limit_blas_threads`, with the
    C heap kept between steps (:func:`minigrad.heap.keep_heap`).

    Args:
        method (callable): a method of a model (``fit``, ``evaluate``...).

    Returns:
        callable: the wrapped method.
    """
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with limit_blas_threads(), keep_heap():
            return method(*args, **kwargs)
    return wrapper


# ----------------------------------------------------------------------------------------
# Threads of the compiled kernels (the worker pool, pool.h)
# ----------------------------------------------------------------------------------------

# None: OMP_NUM_THREADS if set, else every CPU this process may use. An int overrides both
# (set it with limit_kernel_threads). Results never depend on it: the kernels' reductions
# are split into a number of chunks chosen from the problem size, not the thread count.
KERNEL_THREADS = None


def kernel_thread_count():
    """Threads a large kernel call uses: ``KERNEL_THREADS``, else ``OMP_NUM_THREADS``, else the
    CPUs this process may run on."""
    if KERNEL_THREADS is not None:
        return max(1, int(KERNEL_THREADS))
    env = os.environ.get("OMP_NUM_THREADS", "")
    try:
        n = int(env.split(",")[0]) if env else 0
    except ValueError:
        n = 0
    if n <= 0:
        try:
            n = len(os.sched_getaffinity(0))
        except AttributeError:
            n = os.cpu_count() or 1
    return max(1, n)


def kernel_threads(work, min_work):
    """Threads for one kernel call of ``work`` multiply-adds: one below ``min_work`` (waking a
    sleeping thread costs more than it saves), else :func:`kernel_thread_count`.

    Args:
        work (int): the call's multiply-adds.
        min_work (int): below it, one thread.

    Returns:
        int
    """
    return 1 if work < min_work else kernel_thread_count()


@contextlib.contextmanager
def limit_kernel_threads(n):
    """Run the block with the compiled kernels on ``n`` threads (a positive int).

    Args:
        n (int): the number of threads, > 0.
    """
    global KERNEL_THREADS
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"limit_kernel_threads: `n` must be a positive int, received n={n!r}")
    previous, KERNEL_THREADS = KERNEL_THREADS, n
    try:
        yield
    finally:
        KERNEL_THREADS = previous


def sum_chunks(partial):
    """Add a kernel reduction's partial sums ``partial[0] + partial[1] + ...`` in chunk order
    (NumPy's ``sum(axis=0)`` may pair them differently). With the number of chunks chosen
    from the problem size, the result is bitwise the same on any number of threads.

    Args:
        partial (ndarray): the partial sums, one per chunk along axis 0.

    Returns:
        ndarray: their sum, ``partial[0]``'s shape.
    """
    total = partial[0].copy()
    for t in range(1, partial.shape[0]):
        total += partial[t]
    return total
