"""The C heap during training: keep freed memory for the next step instead of returning it.

A training step allocates the same arrays every time (activations, their gradients, NumPy's
temporaries in batch normalization, ReLU6, padding...), frees them when the step ends, and
allocates them again in the next one. glibc's malloc gives the top of its heap back to the
operating system once more than ``M_TRIM_THRESHOLD`` bytes are free there, and serves blocks
above ``M_MMAP_THRESHOLD`` with ``mmap``, unmapped again on free. Either way the next step
pays a page fault for every 4 KiB it touches again: on the MobileNetV2 demo (batch 32, a
2-core machine) about 2,850 faults and 7-8 ms of system time in a 20-23 ms step.

So ``fit``, ``evaluate`` and ``predict`` run inside :func:`keep_heap`, which on glibc sets

* ``M_MMAP_THRESHOLD`` = 32 MiB: blocks below it come from the heap, and are reused;
* ``M_TRIM_THRESHOLD`` = 1 GiB: the heap is not trimmed while training;
* ``M_TOP_PAD`` = 64 MiB: the heap grows in large steps;

and on leaving sets the trim threshold to 64 MiB and the top pad back to 0: glibc's own
adaptive rule ends in that same state (mmap threshold 32 MiB, trim threshold twice that) as
soon as the process frees one 32 MiB block; minigrad only gets there at once. The heap is
not trimmed on leaving (glibc trims it at a later ``free`` once more than 64 MiB is unused at
its top): the next ``fit`` would only fault the same pages in again (measured: ~600 faults
and 4 ms of system time per call of a small model's one-epoch ``fit``). Blocks of 32 MiB and more still go to ``mmap``, where NumPy asks for
transparent huge pages. (An earlier import-time setting, ``M_MMAP_MAX=0``, moved *every* block
to the heap and lost those huge pages: a 256 MB NumPy copy fell from ~25 to 8 GB/s. The
compiled kernels' large outputs have their own cache, ``minigrad/_kernels/buffers.py``.)

``MINIGRAD_KEEP_HEAP=0`` turns this off; other C libraries than glibc are left alone.
"""
import contextlib
import ctypes
import os
import platform
import threading

MMAP_THRESHOLD = 32 << 20
TRAINING_TRIM_THRESHOLD = 1 << 30
TRAINING_TOP_PAD = 64 << 20
AFTER_TRIM_THRESHOLD = 2 * MMAP_THRESHOLD

# glibc's mallopt parameter numbers (malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3

_lock = threading.Lock()
_depth = 0
_libc = None


def _glibc():
    """glibc's mallopt, or None (another C library, or turned off)."""
    global _libc
    if os.environ.get("MINIGRAD_KEEP_HEAP", "1").strip() in ("0", ""):
        return None
    if _libc is None:
        _libc = False
        if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
            try:
                libc = ctypes.CDLL(None)
                libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
                _libc = libc
            except (OSError, AttributeError):
                pass
    return _libc or None


@contextlib.contextmanager
def keep_heap():
    """Run the block with the heap kept between steps (see the module docstring). Nested
    blocks (``fit`` calling ``evaluate``) change the settings once, at the outermost level."""
    global _depth
    libc = _glibc()
    if libc is None:
        yield
        return
    with _lock:
        _depth += 1
        if _depth == 1:
            libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            libc.mallopt(_M_TRIM_THRESHOLD, TRAINING_TRIM_THRESHOLD)
            libc.mallopt(_M_TOP_PAD, TRAINING_TOP_PAD)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                libc.mallopt(_M_TOP_PAD, 0)
                libc.mallopt(_M_TRIM_THRESHOLD, AFTER_TRIM_THRESHOLD)
