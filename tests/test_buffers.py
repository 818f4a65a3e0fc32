"""The kernels' output buffers (minigrad/_kernels/buffers.py): aligned, reused once free,
never reused while any view of them is alive, bounded."""
import gc

import numpy as np
import pytest

from minigrad._kernels import buffers

BIG = (300, 1024)                     # 1.2 MB of float32: above MIN_BYTES


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.setattr(buffers, "CACHE_BYTES", 64 << 20)
    buffers.clear()
    yield
    buffers.clear()


def test_small_arrays_are_plain_numpy_arrays():
    mapped = buffers.stats()["mapped"]
    for dtype in (np.float32, np.float64):
        a = buffers.empty_output((3, 5), dtype)
        assert a.shape == (3, 5) and a.dtype == dtype and a.flags.c_contiguous
        assert a.flags.owndata and a.base is None
    assert buffers.stats()["mapped"] == mapped


def test_large_buffer_is_reused_after_its_array_dies():
    reused = buffers.stats()["reused"]
    a = buffers.empty_output(BIG, np.float32)
    assert a.shape == BIG and a.flags.c_contiguous and a.flags.writeable
    assert a.ctypes.data % buffers.HUGE_PAGE == 0
    a[...] = 1.5
    address = a.ctypes.data
    del a
    gc.collect()
    b = buffers.empty_output(BIG, np.float32)
    assert b.ctypes.data == address
    assert buffers.stats()["reused"] == reused + 1


def test_a_live_view_keeps_its_buffer():
    reused = buffers.stats()["reused"]
    a = buffers.empty_output(BIG, np.float64)
    a[...] = 7.0
    view = a.reshape(-1)[::3]
    del a
    gc.collect()
    b = buffers.empty_output(BIG, np.float64)
    b[...] = -1.0
    assert (view == 7.0).all()
    assert buffers.stats()["reused"] == reused


def test_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(buffers, "CACHE_BYTES", 0)
    mapped = buffers.stats()["mapped"]
    a = buffers.empty_output(BIG, np.float32)      # the cache off: plain numpy memory
    assert buffers.stats()["mapped"] == mapped and a.flags.owndata
    monkeypatch.setattr(buffers, "CACHE_BYTES", 5 << 20)
    arrays = [buffers.empty_output(BIG, np.float32) for _ in range(3)]    # 4 MiB mappings
    del arrays
    gc.collect()
    assert buffers.stats()["cached"] <= 5 << 20


def test_bad_cache_setting_is_named(monkeypatch):
    monkeypatch.setenv("MINIGRAD_BUFFER_CACHE_MB", "lots")
    with pytest.raises(ValueError, match="MINIGRAD_BUFFER_CACHE_MB"):
        buffers._cache_limit()


def test_import_leaves_malloc_alone():
    """Large arrays elsewhere in the process still get their own mmap (and with it
    transparent huge pages): importing minigrad does not call mallopt."""
    import ctypes
    import os
    import subprocess
    import sys
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2
    except (OSError, AttributeError):
        pytest.skip("needs glibc >= 2.33 (mallinfo2)")
    code = ("import ctypes, numpy as np, minigrad\n"
            "class Info(ctypes.Structure):\n"
            "    _fields_ = [(n, ctypes.c_size_t) for n in ('arena', 'ordblks', 'smblks', 'hblks',\n"
            "                'hblkhd', 'usmblks', 'fsmblks', 'uordblks', 'fordblks', 'keepcost')]\n"
            "libc = ctypes.CDLL('libc.so.6'); libc.mallinfo2.restype = Info\n"
            "a = np.empty(64 << 20, np.uint8)\n"
            "print(libc.mallinfo2().hblkhd >= 64 << 20)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=root)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def test_out_of_memory_is_a_memory_error():
    """A request the system cannot map raises MemoryError, as numpy.empty would (the ops turn
    it into a ValueError naming the geometry)."""
    with pytest.raises(MemoryError, match="Unable to allocate"):
        buffers.empty_output((1 << 26, 1 << 26), np.float64)       # 2**55 bytes


def test_buffer_of_names_only_buffers_made_here():
    a = buffers.empty_output(BIG, np.float32)
    assert buffers.buffer_of(a) is a.base
    assert buffers.buffer_of(a.reshape(-1)) is a.base          # a view of the same buffer
    small = buffers.empty_output((3, 5), np.float32)            # numpy's own: not a buffer
    plain = np.zeros(BIG, np.float32)
    for b in (small, plain):
        assert buffers.buffer_of(b) is None and buffers.buffer_of(b[1:]) is None


@pytest.mark.skipif(__import__("minigrad")._kernels.compiled is None, reason="compiled kernels not built")
def test_tape_hands_out_a_kernel_gradient_without_copying_but_never_two_views_of_one_buffer():
    import minigrad as mg
    from minigrad import ops
    rng = np.random.default_rng(0)
    x = mg.Variable(rng.standard_normal((2, 64, 64, 32)).astype(np.float32))    # 1 MiB: cached
    k = mg.Variable(rng.standard_normal((3, 3, 32, 1)).astype(np.float32))
    with ops.use_kernels("cython"), mg.GradientTape() as tape:
        xr = ops.reshape(x, (2, 64, 64, 32))
        loss = ops.sum(ops.depthwise_conv(xr, k, padding="same"))
    gx, gxr = [g.numpy() for g in tape.gradient(loss, [x, xr])]
    np.testing.assert_array_equal(gx, gxr)
    assert not np.shares_memory(gx, gxr)       # one of the two views was copied
    # the other is the kernel's own buffer, handed out uncopied
    assert [buffers.buffer_of(g) is not None for g in (gx, gxr)] == [True, False]


def _misaligned(a):
    """A copy of ``a`` whose data starts 4 bytes past a 64-byte boundary."""
    raw = np.empty(a.size * a.itemsize + 128, np.uint8)
    start = (-raw.ctypes.data % 64) + 4
    out = raw[start:start + a.size * a.itemsize].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


@pytest.mark.skipif(__import__("minigrad")._kernels.compiled is None, reason="compiled kernels not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernels_take_arrays_at_any_alignment(dtype):
    """Small outputs are plain numpy.empty (no 64-byte alignment) and inputs may be views at
    any address: the compiled kernels must give the same numbers as on aligned arrays."""
    from minigrad._kernels import get_backend
    cy = get_backend("cython")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 9, 32)).astype(dtype)        # 64-byte channel blocks
    k = rng.standard_normal((3, 3, 32, 1)).astype(dtype)
    geometry = ((1, 1), (1, 1), ((1, 1), (1, 1)))
    y = cy.depthwise_forward(x, k, *geometry)
    gy = rng.standard_normal(y.shape).astype(dtype)
    w = rng.standard_normal((32, 24)).astype(dtype)
    rows = x.reshape(-1, 32)
    gp = rng.standard_normal((rows.shape[0], 24)).astype(dtype)
    aligned = [y, *cy.depthwise_backward(gy, x, k, *geometry), cy.pointwise_forward(rows, w, None),
               *cy.pointwise_backward(rows, gp, w, False)[:2],
               cy.batch_norm_forward(rows, None, None, None, None, 1e-3)[0]]
    xm, km, gym, wm, rowsm, gpm = (_misaligned(a) for a in (x, k, gy, w, rows, gp))
    shifted = [cy.depthwise_forward(xm, km, *geometry), *cy.depthwise_backward(gym, xm, km, *geometry),
               cy.pointwise_forward(rowsm, wm, None), *cy.pointwise_backward(rowsm, gpm, wm, False)[:2],
               cy.batch_norm_forward(rowsm, None, None, None, None, 1e-3)[0]]
    for a, b in zip(aligned, shifted):
        np.testing.assert_array_equal(a, b)
