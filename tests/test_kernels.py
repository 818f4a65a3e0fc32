"""The compiled kernels agree with their NumPy twins, and reject bad arguments cleanly.

Hypothesis draws convolution geometries (rank 1/2, batch, spatial sizes, channels, depth
multiplier, kernel sizes, strides, dilation, any padding split), dtypes and memory layouts;
each of the six kernel functions must give the same result in both backends.
"""
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minigrad import _kernels

twin = _kernels.get_backend("numpy")
compiled = _kernels.compiled          # None when not built
needs_compiled = pytest.mark.skipif(compiled is None, reason="compiled kernels not built")

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
TOL = {np.float32: dict(rtol=2e-4, atol=2e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}


@st.composite
def geometries(draw):
    """A valid depthwise problem: shapes, strides, dilation, pads (output length >= 1)."""
    r = draw(st.integers(1, 2))
    # widths 6 and 9 run as rows of 3 taps, 5 and 7 tap by tap; pads past the kernel's width
    # come from explicit padding, and reach the row paths' rarer branches
    ks = tuple(draw(st.one_of(st.integers(1, 4), st.sampled_from([5, 6, 7, 9]))) for _ in range(r))
    strides = tuple(draw(st.integers(1, 3)) for _ in range(r))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(r))
    pad = st.one_of(st.integers(0, 4), st.integers(5, 12))
    pads = tuple((draw(pad), draw(pad)) for _ in range(r))
    spatial = []
    for k, d, (b, a) in zip(ks, dilation, pads):
        smallest = max(1, d * (k - 1) + 1 - b - a)        # keeps the output length >= 1
        spatial.append(draw(st.integers(smallest, smallest + (12 if r == 1 else 7))))
    N = draw(st.integers(1, 3))
    # C >= 16 (float32) / 8 (float64) reaches the register-blocked loops; the rest their edges
    C = draw(st.one_of(st.integers(1, 9), st.integers(15, 40)))
    M = draw(st.sampled_from([1, 1, 2, 3]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    layout = draw(st.sampled_from(["contiguous", "strided", "fortran"]))
    return dict(r=r, ks=ks, strides=strides, dilation=dilation, pads=pads, spatial=tuple(spatial),
                N=N, C=C, M=M, dtype=dtype, layout=layout)


def _array(rng, shape, dtype, layout):
    """Random values in a chosen memory layout (the kernels must accept any of them)."""
    if layout == "strided":                       # every other element of a bigger array
        big = rng.standard_normal(tuple(2 * n for n in shape)).astype(dtype)
        return big[tuple(slice(None, None, 2) for _ in shape)]
    a = rng.uniform(-1, 1, shape).astype(dtype)
    return np.asfortranarray(a) if layout == "fortran" else a


def _out_shape(g):
    return tuple((L + b + a - d * (k - 1) - 1) // s + 1
                 for L, k, s, d, (b, a) in zip(g["spatial"], g["ks"], g["strides"], g["dilation"],
                                                g["pads"]))


def _assert_same(got, expected, dtype):
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype == dtype
    np.testing.assert_allclose(got, expected, **TOL[dtype])


@needs_compiled
@SETTINGS
@given(geometries(), st.integers(0, 2**32 - 1))
def test_depthwise_agrees_with_twin(g, seed):
    rng = np.random.default_rng(seed)
    dtype, layout = g["dtype"], g["layout"]
    x = _array(rng, (g["N"],) + g["spatial"] + (g["C"],), dtype, layout)
    kernel = _array(rng, g["ks"] + (g["C"], g["M"]), dtype, layout)
    grad_y = _array(rng, (g["N"],) + _out_shape(g) + (g["C"] * g["M"],), dtype, layout)
    geometry = (g["strides"], g["dilation"], g["pads"])

    _assert_same(compiled.depthwise_forward(x, kernel, *geometry),
                 twin.depthwise_forward(x, kernel, *geometry), dtype)
    _assert_same(compiled.depthwise_backward_input(grad_y, kernel, x.shape, *geometry),
                 twin.depthwise_backward_input(grad_y, kernel, x.shape, *geometry), dtype)
    _assert_same(compiled.depthwise_backward_kernel(x, grad_y, kernel.shape, *geometry),
                 twin.depthwise_backward_kernel(x, grad_y, kernel.shape, *geometry), dtype)


@needs_compiled
@SETTINGS
@given(st.integers(0, 3000), st.integers(1, 40), st.integers(1, 40), st.booleans(),
       st.sampled_from([np.float32, np.float64]), st.sampled_from(["contiguous", "strided", "fortran"]),
       st.integers(0, 2**32 - 1))
def test_pointwise_agrees_with_twin(P, Cin, F, with_bias, dtype, layout, seed):
    rng = np.random.default_rng(seed)
    x = _array(rng, (P, Cin), dtype, layout)
    w = _array(rng, (Cin, F), dtype, layout)
    bias = _array(rng, (F,), dtype, layout) if with_bias else None
    grad_y = _array(rng, (P, F), dtype, layout)
    tol = dict(TOL[dtype])
    if dtype == np.float32:                      # sums of up to 3000 terms in float32
        tol = dict(rtol=1e-3, atol=1e-3 * max(1, P) ** 0.5)

    def same(a, b):
        assert a.shape == b.shape and a.dtype == b.dtype == dtype
        np.testing.assert_allclose(a, b, **tol)

    same(compiled.pointwise_forward(x, w, bias), twin.pointwise_forward(x, w, bias))
    same(compiled.pointwise_backward_input(grad_y, w), twin.pointwise_backward_input(grad_y, w))
    gw, gb = compiled.pointwise_backward_kernel(x, grad_y, with_bias)
    tw, tb = twin.pointwise_backward_kernel(x, grad_y, with_bias)
    same(gw, tw)
    if with_bias:
        same(gb, tb)
    else:
        assert gb is None and tb is None


@needs_compiled
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rank", [1, 2])
def test_large_problem_uses_tiles_and_threads(dtype, rank):
    """Several tiles per row and several threads: the blocking must not change results."""
    rng = np.random.default_rng(1)
    if rank == 1:
        x, kernel = rng.standard_normal((3, 301, 70)), rng.standard_normal((9, 70, 1))
        geometries = [((2,), (1,), ((4, 5),)), ((1,), (2,), ((8, 8),))]
    else:
        x, kernel = rng.standard_normal((2, 23, 150, 20)), rng.standard_normal((3, 3, 20, 2))
        geometries = [((1, 1), (2, 1), ((2, 2), (1, 1)))]
    x, kernel = x.astype(dtype), kernel.astype(dtype)
    for geometry in geometries:
        _check_large(x, kernel, geometry, dtype, rng)
    _check_large(x, kernel[..., :1], geometries[0], dtype, rng)            # M = 1 fast paths


def _check_large(x, kernel, geometry, dtype, rng):
    y = compiled.depthwise_forward(x, kernel, *geometry)
    _assert_same(y, twin.depthwise_forward(x, kernel, *geometry), dtype)
    grad_y = rng.standard_normal(y.shape).astype(dtype)
    _assert_same(compiled.depthwise_backward_input(grad_y, kernel, x.shape, *geometry),
                 twin.depthwise_backward_input(grad_y, kernel, x.shape, *geometry), dtype)
    tol = TOL[dtype] if dtype == np.float64 else dict(rtol=1e-3, atol=1e-2)
    np.testing.assert_allclose(compiled.depthwise_backward_kernel(x, grad_y, kernel.shape, *geometry),
                               twin.depthwise_backward_kernel(x, grad_y, kernel.shape, *geometry), **tol)


def test_known_answer_both_backends():
    """Keras's 'same' padding: L=6, k=3, s=2, 'same' (pads (0, 1)) on [1..6], taps [1, 10, 100]."""
    x = np.arange(1, 7, dtype=np.float64).reshape(1, 6, 1)
    kernel = np.array([1.0, 10.0, 100.0]).reshape(3, 1, 1)
    for backend in [twin] + ([compiled] if compiled else []):
        y = backend.depthwise_forward(x, kernel, (2,), (1,), ((0, 1),))
        np.testing.assert_array_equal(y.ravel(), [321, 543, 65])


# ----------------------------------------------------------------------------------------
# Validation: the compiled wrappers raise, they never crash
# ----------------------------------------------------------------------------------------

f32 = np.zeros((2, 8, 3), np.float32)
k32 = np.zeros((3, 3, 2), np.float32)
GOOD = ((1,), (1,), ((0, 0),))

FORWARD_ERRORS = [
    ((f32.astype(np.float64), k32) + GOOD, TypeError, "dtype"),
    ((f32.astype(np.int32), k32.astype(np.int32)) + GOOD, TypeError, "float32 or float64"),
    ((f32.tolist(), k32) + GOOD, TypeError, "numpy.ndarray"),
    ((f32[0], k32) + GOOD, ValueError, "rank 3"),
    ((f32, k32[0]) + GOOD, ValueError, "kernel must have rank"),
    ((np.zeros((2, 8, 4), np.float32), k32) + GOOD, ValueError, "channels"),
    ((f32, k32, (0,), (1,), ((0, 0),)), ValueError, "strides"),
    ((f32, k32, (1,), (-1,), ((0, 0),)), ValueError, "dilation"),
    ((f32, k32, (1, 1), (1,), ((0, 0),)), ValueError, "strides"),
    ((f32, k32, (1,), (1,), ((-1, 0),)), ValueError, "pads"),
    ((f32, k32, (1,), (1,), ((0, 0), (0, 0))), ValueError, "pads"),
    ((f32, k32, (1.5,), (1,), ((0, 0),)), TypeError, "strides"),
    ((f32, k32, (1,), (4,), ((0, 0),)), ValueError, "Computed output size"),
    ((f32, np.zeros((9, 3, 2), np.float32), (1,), (1,), ((0, 0),)), ValueError, "Computed output size"),
    ((np.zeros((2, 0, 3), np.float32), k32) + GOOD, ValueError, "positive"),
    ((f32, np.zeros((0, 3, 2), np.float32)) + GOOD, ValueError, "positive"),
]


@needs_compiled
@pytest.mark.parametrize("args, error, match", FORWARD_ERRORS)
def test_depthwise_forward_rejects(args, error, match):
    with pytest.raises(error, match=match):
        compiled.depthwise_forward(*args)


@needs_compiled
def test_depthwise_backward_rejects():
    grad_y = np.zeros((2, 6, 6), np.float32)
    compiled.depthwise_backward_input(grad_y, k32, f32.shape, *GOOD)          # the good call works
    compiled.depthwise_backward_kernel(f32, grad_y, k32.shape, *GOOD)
    with pytest.raises(ValueError, match="grad_y"):
        compiled.depthwise_backward_input(grad_y[:, :5], k32, f32.shape, *GOOD)
    with pytest.raises(ValueError, match="grad_y"):
        compiled.depthwise_backward_kernel(f32, np.zeros((2, 6, 3), np.float32), k32.shape, *GOOD)
    with pytest.raises(TypeError, match="dtype"):
        compiled.depthwise_backward_input(grad_y.astype(np.float64), k32, f32.shape, *GOOD)
    with pytest.raises(TypeError, match="dtype"):
        compiled.depthwise_backward_kernel(f32, grad_y.astype(np.float64), k32.shape, *GOOD)
    with pytest.raises(ValueError, match="input_shape"):
        compiled.depthwise_backward_input(grad_y, k32, (2, 8), *GOOD)
    with pytest.raises(ValueError, match="kernel_shape"):
        compiled.depthwise_backward_kernel(f32, grad_y, (3, 3), *GOOD)
    with pytest.raises(ValueError, match="Computed output size"):
        compiled.depthwise_backward_input(grad_y, k32, (2, 1, 3), *GOOD)
    with pytest.raises(ValueError, match="pads"):
        compiled.depthwise_backward_kernel(f32, grad_y, k32.shape, (1,), (1,), ((0, -2),))


@needs_compiled
def test_pointwise_rejects():
    x, w = np.zeros((5, 3), np.float32), np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match="channels"):
        compiled.pointwise_forward(x, np.zeros((2, 4), np.float32), None)
    with pytest.raises(TypeError, match="dtype"):
        compiled.pointwise_forward(x, w.astype(np.float64), None)
    with pytest.raises(TypeError, match="dtype"):
        compiled.pointwise_forward(x, w, np.zeros(4))
    with pytest.raises(ValueError, match="bias"):
        compiled.pointwise_forward(x, w, np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="2D"):
        compiled.pointwise_forward(x[None], w, None)
    with pytest.raises(ValueError, match="columns"):
        compiled.pointwise_backward_input(np.zeros((5, 3), np.float32), w)
    with pytest.raises(ValueError, match="rows"):
        compiled.pointwise_backward_kernel(x, np.zeros((4, 4), np.float32), True)
    with pytest.raises(TypeError, match="float32 or float64"):
        compiled.pointwise_backward_kernel(x.astype(np.int64), np.zeros((5, 4), np.int64), True)


@needs_compiled
def test_zero_batch():
    y = compiled.depthwise_forward(np.zeros((0, 8, 3), np.float32), k32, *GOOD)
    assert y.shape == (0, 6, 6)
    assert compiled.pointwise_forward(np.zeros((0, 3)), np.ones((3, 2)), None).shape == (0, 2)


def test_backend_switch_from_environment():
    code = ("import minigrad._kernels as k; from minigrad import ops; "
            "print(k.BACKEND, k.active().depthwise_forward.__module__)")
    env = dict(os.environ, MINIGRAD_KERNELS="numpy")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["numpy", "minigrad._kernels.depthwise_twin"]


def test_get_backend_names():
    assert twin.NAME == "numpy" and twin.depthwise_forward.__module__.endswith("depthwise_twin")
    assert _kernels.BACKEND in ("cython", "numpy")
    with pytest.raises(ValueError, match="cython"):
        _kernels.get_backend("fortran")


def test_use_kernels_is_one_switch():
    """ops.use_kernels is the switch of minigrad._kernels: plain call, block, and bad names."""
    from minigrad import ops
    assert ops.use_kernels is _kernels.use_kernels
    start = _kernels.active()
    try:
        ops.use_kernels("numpy")                          # a plain call switches from then on
        assert _kernels.active() is twin and _kernels.BACKEND == "numpy"
        if compiled is not None:
            with ops.use_kernels("cython") as backend:    # a block switches back at its end
                assert backend is compiled and _kernels.BACKEND == "cython"
            assert _kernels.active() is twin
        with pytest.raises(ValueError, match="expected 'cython' or 'numpy'"):
            ops.use_kernels("fortran")
        assert _kernels.active() is twin                  # a bad name changes nothing
        with pytest.raises(RuntimeError):
            with ops.use_kernels("numpy"):
                raise RuntimeError
        assert _kernels.active() is twin
    finally:
        ops.use_kernels(start.NAME)


def test_backward_uses_the_backend_of_its_forward(monkeypatch):
    """Switching between forward and backward does not mix backends within one op."""
    import minigrad as mg
    from minigrad import ops
    calls = []
    for name in ("depthwise_backward", "depthwise_backward_input", "depthwise_backward_kernel"):
        real = getattr(twin, name)         # (the fused one, or one alone: the op picks)
        monkeypatch.setattr(twin, name, lambda *a, real=real: calls.append("numpy") or real(*a))
    x = mg.Tensor(np.ones((1, 5, 2)))
    k = mg.Tensor(np.ones((3, 2, 1)))
    with mg.GradientTape() as tape:
        tape.watch(x)
        with ops.use_kernels("numpy"):
            y = ops.depthwise_conv(x, k)
    if compiled is not None:
        with ops.use_kernels("cython"):
            tape.gradient(y, x)
    else:
        tape.gradient(y, x)
    assert calls == ["numpy"]


@needs_compiled
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threaded_results_are_deterministic(dtype, monkeypatch):
    """Multi-threaded calls repeated on the same input give bit-identical results: every
    thread writes only its own rows or partial sums, and partial sums are added in a fixed
    order. A data race (e.g. a buffer shared between threads by mistake) shows up here."""
    from minigrad._kernels import depthwise as compiled_depthwise
    monkeypatch.setattr(compiled_depthwise, "PARALLEL_MIN_WORK", 1)   # threads even when small
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 40, 64, 24)).astype(dtype)
    kernel = rng.standard_normal((3, 3, 24, 1)).astype(dtype)
    geometry = ((1, 1), (1, 1), ((1, 1), (1, 1)))
    grad_y = rng.standard_normal(x.shape).astype(dtype)
    strided = ((2, 1), (1, 2), ((0, 1), (2, 2)))
    grad_y2 = rng.standard_normal(compiled.depthwise_forward(x, kernel, *strided).shape).astype(dtype)
    rows, w = x.reshape(-1, 24), rng.standard_normal((24, 40)).astype(dtype)
    grad_rows = rng.standard_normal((rows.shape[0], 40)).astype(dtype)
    calls = [
        lambda: compiled.depthwise_forward(x, kernel, *geometry),
        lambda: compiled.depthwise_backward_input(grad_y, kernel, x.shape, *geometry),
        lambda: compiled.depthwise_backward_kernel(x, grad_y, kernel.shape, *geometry),
        lambda: compiled.depthwise_backward_kernel(x, grad_y2, kernel.shape, *strided),
        lambda: compiled.depthwise_backward_input(grad_y2, kernel, x.shape, *strided),
        lambda: compiled.pointwise_forward(rows, w, w[0]),
        lambda: compiled.pointwise_backward_kernel(rows, grad_rows, True)[1],
    ]
    for call in calls:
        first = call()
        for _ in range(4):
            np.testing.assert_array_equal(call(), first)


# ----------------------------------------------------------------------------------------
# The fused backward, and results that do not depend on the thread count
# ----------------------------------------------------------------------------------------

@needs_compiled
@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(geometries(), st.integers(0, 2**32 - 1), st.sampled_from([1, 2]))
def test_fused_backward_agrees_with_twin(g, seed, threads):
    """depthwise_backward (both gradients in one pass when the horizontal stride is 1)
    equals the twin's two functions, on 1 and 2 threads."""
    from minigrad import threads as mg_threads
    from minigrad._kernels import depthwise as compiled_depthwise
    rng = np.random.default_rng(seed)
    dtype, layout = g["dtype"], g["layout"]
    x = _array(rng, (g["N"],) + g["spatial"] + (g["C"],), dtype, layout)
    kernel = _array(rng, g["ks"] + (g["C"], g["M"]), dtype, layout)
    grad_y = _array(rng, (g["N"],) + _out_shape(g) + (g["C"] * g["M"],), dtype, layout)
    geometry = (g["strides"], g["dilation"], g["pads"])
    expected = twin.depthwise_backward(grad_y, x, kernel, *geometry)
    old = compiled_depthwise.PARALLEL_MIN_WORK
    compiled_depthwise.PARALLEL_MIN_WORK = 1                  # threads even when small
    try:
        with mg_threads.limit_kernel_threads(threads):
            got = compiled.depthwise_backward(grad_y, x, kernel, *geometry)
    finally:
        compiled_depthwise.PARALLEL_MIN_WORK = old
    _assert_same(got[0], expected[0], dtype)
    _assert_same(got[1], expected[1], dtype)


@needs_compiled
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw, pads", [(3, (1, 1)), (3, (0, 2)), (3, (2, 0)), (3, (2, 3)), (3, (0, 0)),
                                      (5, (2, 2)), (9, (4, 4)), (9, (12, 3)), (2, (0, 1))])
@pytest.mark.parametrize("C, M", [(48, 1), (20, 1), (13, 3), (6, 4), (5, 8), (4, 5), (9, 2), (8, 1),
                                  (12, 1), (3, 8)])
def test_row_paths_agree_with_twin(dtype, kw, pads, C, M):
    """Rows long enough for every path of the compiled tap sums: the 3-wide blocks of 8
    positions (with padding in the first and last blocks, on rows as short as 9 positions), the
    blocks of 4 for other widths, strides and dilations, the border positions and leftover
    channels, read forwards (forward pass) and backwards (input gradient), fused or not."""
    rng = np.random.default_rng(kw * 100 + C)
    for spatial, ks, geometry in [((37,), (kw,), ((1,), (1,), (pads,))),
                                  ((5, 29), (3, kw), ((1, 1), (1, 1), ((1, 1), pads))),
                                  ((6, 23), (2, kw), ((2, 1), (2, 1), ((1, 0), pads))),
                                  ((5, 40), (3, kw), ((1, 2), (1, 1), ((1, 1), pads))),
                                  ((53,), (kw,), ((3,), (1,), (pads,))),
                                  ((4, 45), (3, kw), ((1, 1), (2, 2), ((2, 2), pads))),
                                  ((61,), (kw,), ((2,), (3,), (pads,))),
                                  ((9,), (kw,), ((1,), (1,), (pads,))),
                                  ((3, 11), (3, kw), ((1, 1), (1, 1), ((2, 0), pads)))]:
        x = rng.standard_normal((2,) + spatial + (C,)).astype(dtype)
        kernel = rng.standard_normal(ks + (C, M)).astype(dtype)
        y = compiled.depthwise_forward(x, kernel, *geometry)
        _assert_same(y, twin.depthwise_forward(x, kernel, *geometry), dtype)
        grad_y = rng.standard_normal(y.shape).astype(dtype)
        _assert_same(compiled.depthwise_backward_input(grad_y, kernel, x.shape, *geometry),
                     twin.depthwise_backward_input(grad_y, kernel, x.shape, *geometry), dtype)
        for got, expected in zip(compiled.depthwise_backward(grad_y, x, kernel, *geometry),
                                 twin.depthwise_backward(grad_y, x, kernel, *geometry)):
            _assert_same(got, expected, dtype)


def _all_kernel_calls(rng, dtype):
    """Every compiled kernel function on problems big enough to be cut into many chunks."""
    x = rng.standard_normal((8, 40, 64, 24)).astype(dtype)
    kernel = rng.standard_normal((3, 3, 24, 1)).astype(dtype)
    kernel4 = rng.standard_normal((3, 3, 24, 4)).astype(dtype)
    same = ((1, 1), (1, 1), ((1, 1), (1, 1)))
    strided = ((2, 1), (1, 2), ((0, 1), (2, 2)))
    gy = rng.standard_normal(x.shape).astype(dtype)
    gy4 = rng.standard_normal(x.shape[:3] + (96,)).astype(dtype)
    gy_s = rng.standard_normal(compiled.depthwise_forward(x, kernel, *strided).shape).astype(dtype)
    x1, k1 = rng.standard_normal((4, 700, 40)).astype(dtype), rng.standard_normal((9, 40, 1)).astype(dtype)
    gy1 = rng.standard_normal((4, 350, 40)).astype(dtype)
    rows, w = x.reshape(-1, 24), rng.standard_normal((24, 40)).astype(dtype)
    grad_rows = rng.standard_normal((rows.shape[0], 40)).astype(dtype)
    return {
        "forward": lambda: compiled.depthwise_forward(x, kernel, *same),
        "forward M=4": lambda: compiled.depthwise_forward(x, kernel4, *same),
        "backward input": lambda: compiled.depthwise_backward_input(gy, kernel, x.shape, *same),
        "backward input strided": lambda: compiled.depthwise_backward_input(gy_s, kernel, x.shape, *strided),
        "backward kernel": lambda: compiled.depthwise_backward_kernel(x, gy, kernel.shape, *same),
        "backward kernel strided": lambda: compiled.depthwise_backward_kernel(x, gy_s, kernel.shape, *strided),
        "backward kernel 1D": lambda: compiled.depthwise_backward_kernel(x1, gy1, k1.shape, (2,), (1,), ((4, 4),)),
        "fused": lambda: compiled.depthwise_backward(gy, x, kernel, *same),
        "fused M=4": lambda: compiled.depthwise_backward(gy4, x, kernel4, *same),
        "pointwise forward": lambda: compiled.pointwise_forward(rows, w, w[0]),
        "pointwise backward input": lambda: compiled.pointwise_backward_input(grad_rows, w),
        "pointwise backward kernel": lambda: compiled.pointwise_backward_kernel(rows, grad_rows, True),
    }


@needs_compiled
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_results_are_bitwise_equal_on_any_thread_count(dtype):
    """The reductions are cut into chunks by problem size, not by thread count: 1, 2 and 16
    threads give bitwise the same results."""
    from minigrad import threads as mg_threads
    results = {}
    for n in (1, 2, 16):
        with mg_threads.limit_kernel_threads(n):
            calls = _all_kernel_calls(np.random.default_rng(3), dtype)
            results[n] = {name: call() for name, call in calls.items()}
    for n in (2, 16):
        for name, got in results[n].items():
            want = results[1][name]
            for a, b in zip(got if isinstance(got, tuple) else (got,),
                            want if isinstance(want, tuple) else (want,)):
                assert np.array_equal(a, b), f"{name}: {n} threads differ from 1 thread"


@needs_compiled
def test_training_steps_are_bitwise_equal_on_any_thread_count():
    """Three SGD steps of a separable convolution from the same start: the same weights,
    bit for bit, with 1, 2 or 16 kernel threads."""
    import minigrad as mg
    from minigrad import ops
    from minigrad import threads as mg_threads

    def train(n):
        rng = np.random.default_rng(5)
        x = mg.Tensor(rng.standard_normal((16, 48, 48, 16)).astype(np.float32))
        dk = rng.standard_normal((3, 3, 16, 2)).astype(np.float32)
        pk = rng.standard_normal((1, 1, 32, 24)).astype(np.float32)
        with mg_threads.limit_kernel_threads(n), ops.use_kernels("cython"):
            for _ in range(3):
                dkt, pkt = mg.Tensor(dk), mg.Tensor(pk)
                with mg.GradientTape() as tape:
                    tape.watch([dkt, pkt])
                    loss = ops.mean(ops.square(ops.separable_conv(x, dkt, pkt, padding="same")))
                gdk, gpk = tape.gradient(loss, [dkt, pkt])
                dk, pk = dk - 0.1 * gdk, pk - 0.1 * gpk
        return dk, pk

    one = train(1)
    for n in (2, 16):
        got = train(n)
        assert np.array_equal(got[0], one[0]) and np.array_equal(got[1], one[1]), n


def test_limit_kernel_threads_rejects_bad_counts():
    from minigrad import threads as mg_threads
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="positive int"):
            with mg_threads.limit_kernel_threads(bad):
                pass
