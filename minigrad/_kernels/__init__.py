"""The convolution kernels, and the switch between their two implementations.

Two backends compute the same six functions with the same signatures:

* ``"cython"`` — ``depthwise.pyx`` and ``pointwise.pyx``, compiled (OpenMP loops and BLAS).
* ``"numpy"``  — ``depthwise_twin.py`` and ``pointwise_twin.py``, plain NumPy, written to be read.

The environment variable ``MINIGRAD_KERNELS=numpy`` (read once, at import) selects the twins.
Otherwise the compiled modules are used; if they cannot be imported (not built), the twins
are used and a warning says so. ``BACKEND`` tells which one is active, and
``get_backend("cython" | "numpy")`` returns either one explicitly (the tests compare them).

Memory: convolutions allocate large arrays every step (outputs, gradients) and free them
soon after. By default glibc hands such blocks back to the operating system and the next
step pays a page fault per 4 KiB to get them again (about a quarter of a depthwise training
step on a 2-core machine). On Linux/glibc, importing the kernels therefore asks malloc to keep
freed memory in the process (``mallopt``: no trimming below 1 GiB, no per-block ``mmap``),
the effect a caching allocator has. The setting is process-wide (other libraries in the
process benefit too). ``MINIGRAD_MALLOC_TUNING=0`` turns it off; it is also skipped when any
``MALLOC_*`` tunable is set in the environment.

Functions (all arrays channels_last, float32 or float64, one dtype per call)::

    depthwise_forward(x, kernel, strides, dilation, pads) -> y
    depthwise_backward_input(grad_y, kernel, input_shape, strides, dilation, pads) -> grad_x
    depthwise_backward_kernel(x, grad_y, kernel_shape, strides, dilation, pads) -> grad_kernel
    pointwise_forward(x, w, bias) -> y
    pointwise_backward_input(grad_y, w) -> grad_x
    pointwise_backward_kernel(x, grad_y, with_bias) -> (grad_w, grad_bias or None)
"""
import ctypes
import os
import sys
import types
import warnings

from . import depthwise_twin as _depthwise_twin
from . import pointwise_twin as _pointwise_twin

FUNCTIONS = (
    "depthwise_forward", "depthwise_backward_input", "depthwise_backward_kernel",
    "pointwise_forward", "pointwise_backward_input", "pointwise_backward_kernel",
)


def _namespace(name, depthwise, pointwise):
    module = types.SimpleNamespace(name=name)
    for fn in FUNCTIONS:
        setattr(module, fn, getattr(depthwise if fn.startswith("depthwise") else pointwise, fn))
    return module


twin = _namespace("numpy", _depthwise_twin, _pointwise_twin)

# Idle OpenMP threads sleep instead of spinning: spinning threads starve the BLAS calls
# between kernels on a 2-core machine (see minigrad/threads.py). The user's choice wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    from . import depthwise as _depthwise_compiled
    from . import pointwise as _pointwise_compiled
except ImportError as error:          # not built: the twins still compute everything
    compiled = None
    _import_error = error
else:
    compiled = _namespace("cython", _depthwise_compiled, _pointwise_compiled)
    _import_error = None


def get_backend(name):
    """The kernel namespace ``"cython"`` or ``"numpy"`` (raises if the compiled one is missing)."""
    if name == "numpy":
        return twin
    if name == "cython":
        if compiled is None:
            raise ImportError(f"The compiled minigrad kernels are not available ({_import_error}); "
                              "build them with `python setup.py build_ext --inplace` or `pip install -e .`.")
        return compiled
    raise ValueError(f"Unknown kernel backend {name!r}; expected 'cython' or 'numpy'.")


def _keep_freed_memory():
    """Ask glibc malloc to keep freed memory for reuse; True if it was done."""
    if os.environ.get("MINIGRAD_MALLOC_TUNING", "1").strip() == "0" or not sys.platform.startswith("linux"):
        return False
    if any(name.startswith("MALLOC_") for name in os.environ):      # the user's tuning wins
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
        return bool(libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)) and bool(libc.mallopt(M_MMAP_MAX, 0))
    except (OSError, AttributeError):                                # not glibc
        return False


MALLOC_TUNED = _keep_freed_memory()

_requested = os.environ.get("MINIGRAD_KERNELS", "cython").strip().lower() or "cython"
if _requested not in ("cython", "numpy"):
    raise ValueError(f"MINIGRAD_KERNELS must be 'cython' or 'numpy', received {_requested!r}.")
if _requested == "cython" and compiled is None:
    warnings.warn(f"minigrad: compiled kernels unavailable ({_import_error}); using the NumPy twins "
                  "(same results, slower). To build them, install a C compiler and reinstall minigrad "
                  "(`pip install -e .`).", RuntimeWarning, stacklevel=2)
    _requested = "numpy"

BACKEND = _requested
_active = get_backend(BACKEND)

depthwise_forward = _active.depthwise_forward
depthwise_backward_input = _active.depthwise_backward_input
depthwise_backward_kernel = _active.depthwise_backward_kernel
pointwise_forward = _active.pointwise_forward
pointwise_backward_input = _active.pointwise_backward_input
pointwise_backward_kernel = _active.pointwise_backward_kernel

__all__ = ["BACKEND", "MALLOC_TUNED", "get_backend", "twin", "compiled", *FUNCTIONS]
