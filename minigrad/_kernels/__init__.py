"""The kernels (convolutions, batch normalisation, the capped ReLU), and the one switch
between their two implementations.

Two backend modules compute the same functions with the same signatures:

* :mod:`.cython_backend` (``"cython"``) — ``depthwise.pyx``, ``pointwise.pyx``,
  ``normalization.pyx`` and ``activation.pyx``, compiled (loops on a worker pool, register-blocked
  matrix products, vectorized row passes).
* :mod:`.numpy_backend` (``"numpy"``) — ``depthwise_twin.py``, ``pointwise_twin.py``,
  ``normalization_twin.py`` and ``activation_twin.py``, plain NumPy, written to be read.

The ops in ``minigrad.ops.convolution``, ``minigrad.ops.normalization`` and
``minigrad.ops.nn`` (``capped_relu``) call ``active()`` to find the backend. Switch it with
``minigrad.ops.use_kernels("numpy" | "cython")``: called plainly it switches from then on,
used as ``with ops.use_kernels("numpy"): ...`` it switches back at the end of the block. The
environment variable ``MINIGRAD_KERNELS=numpy`` (read once, at import) picks the starting
backend; without it the compiled one is used, or the twins with a warning when it is not
built. ``BACKEND`` is the name of the active backend, ``get_backend(name)`` returns either
module explicitly (the tests compare them), ``compiled`` is the Cython module or ``None``.

What importing the kernels changes in the process: nothing.

* No environment variable and no OpenMP runtime. The kernels run on their own worker threads
  (``pool.pyx``, ``pool.h``), started at the first call that needs them; after a call they
  watch for the next for 0.3 ms, yielding the core to any other thread that wants it, and
  then sleep (see ``minigrad/threads.py``). Until 2026-11-30 the kernels used OpenMP and
  importing them set ``OMP_WAIT_POLICY=PASSIVE`` for the whole process.
* Nothing in the memory allocator. The kernels' large outputs (forward results, input
  gradients) come from a small cache of reused, huge-page-backed buffers (``buffers.py``),
  so a training step does not page-fault them in again every time; other arrays, and other
  libraries in the process, keep glibc's defaults (an earlier process-wide ``mallopt`` cost
  other code its transparent huge pages: see ``benchmarks/README.md``).
  ``MINIGRAD_BUFFER_CACHE_MB`` bounds the unused memory the cache keeps (default 256;
  0 turns it off).

Functions (all arrays channels_last, float32 or float64, one dtype per call; batch
normalisation sees x as rows (P, C))::

    depthwise_forward(x, kernel, strides, dilation, pads) -> y
    depthwise_backward_input(grad_y, kernel, input_shape, strides, dilation, pads) -> grad_x
    depthwise_backward_kernel(x, grad_y, kernel_shape, strides, dilation, pads) -> grad_kernel
    depthwise_backward(grad_y, x, kernel, strides, dilation, pads) -> (grad_x, grad_kernel)
    pointwise_forward(x, w, bias) -> y
    pointwise_backward_input(grad_y, w) -> grad_x
    pointwise_backward_kernel(x, grad_y, with_bias) -> (grad_w, grad_bias or None)
    pointwise_backward(x, grad_y, w, with_bias) -> (grad_x, grad_w, grad_bias or None)
    batch_norm_forward(x, mean, variance, gamma, beta, epsilon) -> (y, mean, variance, inv_std)
    batch_norm_backward(x, grad_y, mean, inv_std, gamma, batch_stats, with_gamma, with_beta)
        -> (grad_x, grad_gamma or None, grad_beta or None)
    capped_relu_forward(x, cap) -> y                       (any shape)
    capped_relu_backward(x, grad_y, cap) -> grad_x
"""
import os
import warnings

import numpy as np

from . import numpy_backend

try:
    from . import cython_backend
except ImportError as error:          # not built: the twins still compute everything
    cython_backend = None
    _import_error = error
else:
    _import_error = None

compiled = cython_backend


def get_backend(name):
    """The backend module ``"cython"`` or ``"numpy"`` (raises if the compiled one is missing).

    Args:
        name (str): ``"cython"`` or ``"numpy"``.

    Returns:
        module

    Raises:
        ValueError: for another name; ImportError for ``"cython"`` when it is not built.
    """
    if name == "numpy":
        return numpy_backend
    if name == "cython":
        if cython_backend is None:
            raise ImportError(f"The compiled minigrad kernels are not available ({_import_error}); "
                              "build them with `python setup.py build_ext --inplace` or `pip install -e .`.")
        return cython_backend
    raise ValueError(f"Unknown kernel backend {name!r}; expected 'cython' or 'numpy'.")


_requested = os.environ.get("MINIGRAD_KERNELS", "cython").strip().lower() or "cython"
if _requested not in ("cython", "numpy"):
    raise ValueError(f"MINIGRAD_KERNELS must be 'cython' or 'numpy', received {_requested!r}.")
if _requested == "cython" and cython_backend is None:
    warnings.warn("minigrad: the compiled kernels are not built in this install, so the NumPy twins "
                  "compute the convolutions (same results, slower). To build them, install a C compiler "
                  f"and reinstall minigrad (`pip install -e .`). [import said: {_import_error}]",
                  RuntimeWarning, stacklevel=2)
    _requested = "numpy"

_active = get_backend(_requested)


def active():
    """The backend module the convolution ops use now."""
    return _active


def active_for(dtype):
    """The active backend for arrays of ``dtype``; the twins for dtypes the compiled kernels
    do not take (anything but float32 and float64: float16, integers), which NumPy computes
    as it always does. For the ops that accept any dtype (batch normalisation, the capped
    ReLU)."""
    return _active if dtype == _FLOAT32 or dtype == _FLOAT64 else numpy_backend


_FLOAT32, _FLOAT64 = np.dtype(np.float32), np.dtype(np.float64)


class use_kernels:
    """Make ``"cython"`` or ``"numpy"`` the active kernel backend.

    ``use_kernels("numpy")`` switches from then on; ``with use_kernels("numpy"): ...`` switches
    for the block and restores the previous backend at its end (also on an exception).
    Exported as ``minigrad.ops.use_kernels``.

    Args:
        name (str): ``"cython"`` (the compiled kernels) or ``"numpy"`` (their twins).

    Raises:
        ValueError: for another name; ImportError for ``"cython"`` when the kernels are not
            built (nothing changes then).

    Example:
        >>> with ops.use_kernels("numpy"):
        ...     y = ops.depthwise_conv(np.ones((1, 4, 2)), np.ones((3, 2, 1)))
        >>> y.shape
        (1, 2, 2)
    """

    def __init__(self, name):
        global _active
        backend = get_backend(name)               # raises before anything changes
        self.backend, self._previous = backend, _active
        _active = backend

    def __enter__(self):
        return self.backend

    def __exit__(self, *exc):
        global _active
        _active = self._previous
        return False


def __getattr__(name):
    if name == "BACKEND":                 # the active backend's name, always current
        return _active.NAME
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BACKEND", "active", "compiled", "cython_backend", "get_backend",
           "numpy_backend", "use_kernels"]
