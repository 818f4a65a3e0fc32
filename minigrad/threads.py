"""Thread pools during training: one BLAS thread, OpenMP threads that sleep when idle.

Three thread pools live in a minigrad process: NumPy's OpenBLAS (Dense layers, ``@``),
SciPy's OpenBLAS (the pointwise kernel calls it from Cython) and OpenMP (the depthwise
kernels). After each call, OpenBLAS and OpenMP threads *spin* for a while waiting for more
work. On a 2-core machine those spinning threads take the cores the next call needs: a
training step of the demo model measured ~330 ms with default settings under load and
~4 ms with BLAS limited to one thread and OpenMP told to sleep when idle. Training steps
are many small matrix products, which gain nothing from a second BLAS thread anyway.

So ``fit``/``evaluate``/``predict`` run inside :func:`limit_blas_threads`, and
``minigrad._kernels`` sets ``OMP_WAIT_POLICY=PASSIVE`` unless the user chose a policy.
"""
import contextlib
import functools

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
    """Run the block with at most ``n`` BLAS threads (default ``TRAINING_BLAS_THREADS``)."""
    n = TRAINING_BLAS_THREADS if n is None else n
    controller = _get_controller() if n is not None else False
    if not controller:
        yield
        return
    with controller.limit(limits=n, user_api="blas"):
        yield


def training_threads(method):
    """Decorator: run a training/inference method under :func:`limit_blas_threads`."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with limit_blas_threads():
            return method(*args, **kwargs)
    return wrapper
