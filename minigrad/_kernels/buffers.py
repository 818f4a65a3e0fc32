"""Work buffers for the kernels' outputs, kept and reused across training steps.

Why: a training step allocates the same large arrays every time (a convolution's output,
the input gradient), uses them for a few milliseconds and frees them. glibc's malloc gives
blocks that large back to the operating system, and the next step pays a page fault for
every 4 KiB of them again: about a third of a 2D depthwise training pass on a 2-core machine.
Changing malloc for the whole process (``mallopt``) avoids the faults but moves every large
array in the process, other libraries' included, off ``mmap`` and with that off transparent
huge pages, which made a plain NumPy 256 MB copy ~3x slower.

So the kernels allocate their large outputs here instead, and nothing else in the process
is affected:

* an array of at least ``MIN_BYTES`` gets its own anonymous ``mmap``, aligned to 2 MiB and
  marked ``MADV_HUGEPAGE`` (so it is backed by huge pages where the kernel allows them:
  512x fewer page faults and TLB misses than 4 KiB pages);
* when the last view of that array is gone, its mapping goes back into a small cache keyed
  by size instead of to the system, and the next request of that size reuses it, already
  faulted in;
* the cache holds at most ``MINIGRAD_BUFFER_CACHE_MB`` MiB of unused buffers (default 256);
  a buffer that does not fit is unmapped. ``MINIGRAD_BUFFER_CACHE_MB=0`` turns the cache off
  (every output then comes from ``numpy.empty``).

The large arrays handed out are ordinary NumPy arrays (their ``base`` is the ``mmap``),
C-contiguous, and live as long as the user keeps them. Being views, they would look shared
to code that copies any array with a ``base`` before handing it to a user (the tape does, for
gradients); :func:`buffer_of` tells such code which buffer made here an array views, so
the only view of a buffer needs no copy.
"""
import mmap
import os
import threading
import weakref

import numpy as np

MIN_BYTES = 1 << 20          # smaller arrays come from numpy.empty: malloc keeps those anyway
HUGE_PAGE = 1 << 21


def _cache_limit():
    value = os.environ.get("MINIGRAD_BUFFER_CACHE_MB", "256").strip()
    try:
        return max(0, int(value)) << 20
    except ValueError:
        raise ValueError(f"MINIGRAD_BUFFER_CACHE_MB must be a whole number of MiB (0 turns the cache "
                         f"off), received {value!r}.") from None


CACHE_BYTES = _cache_limit()

_lock = threading.Lock()
_roots = weakref.WeakValueDictionary()   # id -> the array that owns each buffer handed out
_free = {}                   # mapping size -> list of unused mmap objects
_state = {"cached": 0, "reused": 0, "mapped": 0}


def stats():
    """Counters: bytes cached now, buffers reused, buffers newly mapped (for tests/benchmarks)."""
    with _lock:
        return dict(_state)


def clear():
    """Drop every cached buffer (they are unmapped once nothing uses them)."""
    with _lock:
        _free.clear()
        _state["cached"] = 0


def _release(mm, size):
    """Called when the array over ``mm`` dies: keep the mapping for reuse if there is room."""
    with _lock:
        if _state["cached"] + size <= CACHE_BYTES:
            _free.setdefault(size, []).append(mm)
            _state["cached"] += size


def empty_output(shape, dtype):
    """An uninitialised C-contiguous array for a kernel's output. One of at least
    ``MIN_BYTES`` comes from the cache (its data starts on a 2 MiB boundary); a smaller one
    is ``numpy.empty``'s, which malloc keeps and hands back at no cost (the kernels check
    each vector store's alignment themselves, so they take any address)."""
    dtype = np.dtype(dtype)
    count = 1
    for d in shape:
        count *= int(d)
    nbytes = count * dtype.itemsize
    if nbytes < MIN_BYTES or CACHE_BYTES == 0:
        return np.empty(shape, dtype)
    # one spare huge page, so that the data can start on a 2 MiB boundary
    size = -(-nbytes // HUGE_PAGE) * HUGE_PAGE + HUGE_PAGE
    with _lock:
        stack = _free.get(size)
        mm = stack.pop() if stack else None
        if mm is not None:
            _state["cached"] -= size
            _state["reused"] += 1
        else:
            _state["mapped"] += 1
    if mm is None:
        try:
            mm = mmap.mmap(-1, size)
        except OSError as error:             # ENOMEM: the same error numpy.empty would raise
            raise MemoryError(f"Unable to allocate {nbytes} bytes for an array with shape "
                              f"{tuple(shape)} and data type {dtype}") from error
        if hasattr(mmap, "MADV_HUGEPAGE"):
            try:
                mm.madvise(mmap.MADV_HUGEPAGE)
            except OSError:                  # huge pages disabled: 4 KiB pages still work
                pass
    address = np.frombuffer(mm, np.uint8, 1).ctypes.data
    offset = -address % HUGE_PAGE
    base = np.frombuffer(mm, dtype, count, offset)
    weakref.finalize(base, _release, mm, size).atexit = False
    _roots[id(base)] = base
    return base.reshape(shape)


def buffer_of(a):
    """The cached buffer (an array made by :func:`empty_output`) that ``a`` is a view of, or
    None when ``a`` views anything else. Code that must not hand out two views of one memory
    compares these; a gradient that is the only view of its buffer needs no copy."""
    root = a.base
    return root if root is not None and _roots.get(id(root)) is root else None
