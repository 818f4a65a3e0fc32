"""The depthwise kernels' paths for small images (MobileNetV2 on 8x8 digits) agree with the
NumPy twin, and stay bitwise the same on any thread count.

The paths: rows of 4-7 output positions in 3-wide blocks (short_rows.h), the strided fused
backward (its input gradient gathered: stride2.h for 3-wide kernels at stride 2, one residue
of the positions at a time otherwise; its kernel gradient three taps a pass, kernel_grad3.h),
the border positions on 128-byte channel blocks, and the per-call plan (depthwise_calls.pxi)
that remembers checked problems.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minigrad import _kernels
from minigrad import threads as mg_threads

twin = _kernels.get_backend("numpy")
compiled = _kernels.compiled
needs_compiled = pytest.mark.skipif(compiled is None, reason="compiled kernels not built")
TOL = {np.float32: dict(rtol=2e-4, atol=2e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}
SAME, VALID = ((1, 1), (1, 1)), ((0, 0), (0, 0))


@st.composite
def small_images(draw):
    """A small 2D problem whose rows reach the short-row and strided paths: widths 2-11,
    kernels 3 wide (other widths now and then), strides 1 or 2, any padding up to 3."""
    kw = draw(st.sampled_from([3, 3, 3, 1, 2, 5]))
    kh = draw(st.integers(1, 4))
    strides = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.sampled_from([1, 1, 1, 2])))
    pads = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(2))
    spatial = []
    for k, d, (b, a) in zip((kh, kw), dilation, pads):
        smallest = max(1, d * (k - 1) + 1 - b - a)
        spatial.append(draw(st.integers(smallest, smallest + 9)))
    return dict(ks=(kh, kw), strides=strides, dilation=dilation, pads=pads, spatial=tuple(spatial),
                N=draw(st.integers(1, 3)),
                C=draw(st.one_of(st.integers(1, 9), st.integers(15, 40), st.sampled_from([48, 96]))),
                M=draw(st.sampled_from([1, 1, 2, 3])), dtype=draw(st.sampled_from([np.float32, np.float64])),
                layout=draw(st.sampled_from(["contiguous", "strided"])))


def _array(rng, shape, dtype, layout):
    if layout == "strided":                       # every other element of a bigger array
        big = rng.standard_normal(tuple(2 * n for n in shape)).astype(dtype)
        return big[tuple(slice(None, None, 2) for _ in shape)]
    return rng.standard_normal(shape).astype(dtype)


def _problem(rng, g):
    dtype, layout = g["dtype"], g["layout"]
    x = _array(rng, (g["N"],) + g["spatial"] + (g["C"],), dtype, layout)
    kernel = _array(rng, g["ks"] + (g["C"], g["M"]), dtype, layout)
    geometry = (g["strides"], g["dilation"], g["pads"])
    y = twin.depthwise_forward(x, kernel, *geometry)
    grad_y = _array(rng, y.shape, dtype, layout)
    return x, kernel, grad_y, geometry


def _all_four(x, kernel, grad_y, geometry, threads):
    """forward, input gradient, kernel gradient and the fused backward on ``threads`` threads,
    every call threaded however small (PARALLEL_MIN_WORK = 1)."""
    from minigrad._kernels import depthwise
    old, depthwise.PARALLEL_MIN_WORK = depthwise.PARALLEL_MIN_WORK, 1
    try:
        with mg_threads.limit_kernel_threads(threads):
            return (compiled.depthwise_forward(x, kernel, *geometry),
                    compiled.depthwise_backward_input(grad_y, kernel, x.shape, *geometry),
                    compiled.depthwise_backward_kernel(x, grad_y, kernel.shape, *geometry),
                    *compiled.depthwise_backward(grad_y, x, kernel, *geometry))
    finally:
        depthwise.PARALLEL_MIN_WORK = old


def _expected(x, kernel, grad_y, geometry):
    gx = twin.depthwise_backward_input(grad_y, kernel, x.shape, *geometry)
    gk = twin.depthwise_backward_kernel(x, grad_y, kernel.shape, *geometry)
    return twin.depthwise_forward(x, kernel, *geometry), gx, gk, gx, gk


def _assert_all_close(got, expected, dtype):
    for a, b in zip(got, expected):
        assert a.shape == b.shape and a.dtype == b.dtype == dtype
        np.testing.assert_allclose(a, b, **TOL[dtype])


@needs_compiled
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(small_images(), st.integers(0, 2**32 - 1), st.sampled_from([1, 2]))
def test_small_images_agree_with_twin(g, seed, threads):
    rng = np.random.default_rng(seed)
    x, kernel, grad_y, geometry = _problem(rng, g)
    _assert_all_close(_all_four(x, kernel, grad_y, geometry, threads),
                      _expected(x, kernel, grad_y, geometry), g["dtype"])


# the 3x3 depthwise layers of the small MobileNetV2 (benchmarks/ab_builds.py --small), odd
# channel counts beside them (leftover vectors and channels), and stride 2 with padding
MOBILENET = [((32, 8, 8, 16), (1, 1), SAME), ((32, 9, 9, 96), (2, 2), VALID),
             ((32, 4, 4, 144), (1, 1), SAME), ((32, 5, 5, 144), (2, 2), VALID),
             ((3, 4, 7, 13), (1, 1), SAME), ((3, 9, 11, 21), (2, 2), SAME),
             ((2, 6, 10, 20), (2, 2), ((1, 0), (0, 1))), ((2, 5, 6, 36), (1, 2), ((2, 2), (2, 2)))]


@needs_compiled
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("M", [1, 2])
@pytest.mark.parametrize("shape, strides, pads", MOBILENET)
def test_mobilenet_shapes_agree_with_twin(shape, strides, pads, M, dtype):
    rng = np.random.default_rng(sum(shape) + M)
    x = rng.standard_normal(shape).astype(dtype)
    kernel = rng.standard_normal((3, 3, shape[-1], M)).astype(dtype)
    geometry = (strides, (1, 1), pads)
    grad_y = rng.standard_normal(twin.depthwise_forward(x, kernel, *geometry).shape).astype(dtype)
    expected = _expected(x, kernel, grad_y, geometry)
    for threads in (1, 2):
        _assert_all_close(_all_four(x, kernel, grad_y, geometry, threads), expected, dtype)


@needs_compiled
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, strides, pads", [((256, 4, 4, 144), (1, 1), SAME),
                                                  ((32, 33, 33, 96), (2, 2), VALID),
                                                  ((24, 9, 17, 40), (1, 2), SAME)])
def test_small_paths_are_bitwise_equal_on_any_thread_count(shape, strides, pads, dtype,
                                                          monkeypatch):
    """Problems large enough to be cut into several chunks of the kernel gradient's sum, run
    threaded however small (PARALLEL_MIN_WORK = 1: else the last one stays on one thread)."""
    from minigrad._kernels import depthwise
    monkeypatch.setattr(depthwise, "PARALLEL_MIN_WORK", 1)
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape).astype(dtype)
    kernel = rng.standard_normal((3, 3, shape[-1], 1)).astype(dtype)
    geometry = (strides, (1, 1), pads)
    grad_y = rng.standard_normal(compiled.depthwise_forward(x, kernel, *geometry).shape).astype(dtype)
    results = {}
    for n in (1, 2, 16):
        with mg_threads.limit_kernel_threads(n):
            results[n] = (compiled.depthwise_forward(x, kernel, *geometry),
                          *compiled.depthwise_backward(grad_y, x, kernel, *geometry),
                          compiled.depthwise_backward_input(grad_y, kernel, x.shape, *geometry),
                          compiled.depthwise_backward_kernel(x, grad_y, kernel.shape, *geometry))
    for n in (2, 16):
        for a, b in zip(results[n], results[1]):
            assert np.array_equal(a, b), n


@needs_compiled
def test_a_remembered_plan_still_rejects_bad_arguments():
    """After a valid call is remembered, equal-as-keys but invalid arguments, and arrays that
    do not fit it, still raise clear errors."""
    x = np.ones((2, 4, 4, 8), np.float32)
    k = np.ones((3, 3, 8, 1), np.float32)
    y = compiled.depthwise_forward(x, k, (1, 1), (1, 1), SAME)
    compiled.depthwise_backward(y, x, k, (1, 1), (1, 1), SAME)
    with pytest.raises(TypeError):
        compiled.depthwise_forward(x, k, (True, 1), (1, 1), SAME)
    with pytest.raises(TypeError):
        compiled.depthwise_forward(x, k, (1, 1), (1, 1), ((1, True), (1, 1)))
    with pytest.raises(TypeError):
        compiled.depthwise_forward(x, k.astype(np.float64), (1, 1), (1, 1), SAME)
    with pytest.raises(TypeError):
        compiled.depthwise_forward(x.tolist(), k, (1, 1), (1, 1), SAME)
    with pytest.raises(ValueError, match="grad_y"):
        compiled.depthwise_backward(y[:, :3], x, k, (1, 1), (1, 1), SAME)
    with pytest.raises(ValueError, match="grad_y"):
        compiled.depthwise_backward_input(y[:1], k, x.shape, (1, 1), (1, 1), SAME)
    with pytest.raises(ValueError, match="grad_y"):
        compiled.depthwise_backward_kernel(x, y[..., :4], k.shape, (1, 1), (1, 1), SAME)
    # a subclass of ndarray and numpy integers take the full checks, and pass them

    class Sub(np.ndarray):
        pass

    got = compiled.depthwise_forward(x.view(Sub), k, (np.int64(1), 1), (1, 1), SAME)
    np.testing.assert_array_equal(got, y)


@needs_compiled
def test_list_arguments_take_the_full_checks_and_pass_them():
    """Lists are no memo keys (unhashable): they meet the full checks, as in the twin, in
    every public function, before and after the same problem was remembered."""
    x = np.ones((2, 4, 4, 8), np.float32)
    k = np.ones((3, 3, 8, 1), np.float32)
    for _ in range(2):
        y = compiled.depthwise_forward(x, k, [1, 1], (1, 1), [[1, 1], [1, 1]])
        np.testing.assert_array_equal(y, twin.depthwise_forward(x, k, (1, 1), (1, 1), SAME))
        gx, gk = compiled.depthwise_backward(y, x, k, (1, 1), [1, 1], ((1, 1), [1, 1]))
        np.testing.assert_allclose(gx, compiled.depthwise_backward_input(
            y, k, x.shape, [1, 1], (1, 1), SAME), rtol=1e-6)
        np.testing.assert_allclose(gk, compiled.depthwise_backward_kernel(
            x, y, list(k.shape), (1, 1), (1, 1), [(1, 1), (1, 1)]), rtol=1e-5)


@needs_compiled
@pytest.mark.parametrize("KW", [1, 2, 3])
def test_kernels_of_many_rows_agree_with_twin(KW):
    """More kernel rows than the row blocks hold (256) take the per-position path (a kernel
    of 600 x 1 once overran the row table on the stack and crashed)."""
    rng = np.random.default_rng(KW)
    x = rng.standard_normal((1, 601, 6, 8)).astype(np.float32)
    kernel = rng.standard_normal((600, KW, 8, 1)).astype(np.float32)
    geometry = ((1, 1), (1, 1), ((0, 0), (0, 0)))
    np.testing.assert_allclose(compiled.depthwise_forward(x, kernel, *geometry),
                               twin.depthwise_forward(x, kernel, *geometry), rtol=1e-4, atol=1e-3)


@needs_compiled
def test_rows_of_padding_only_are_zeros():
    """A kernel row whose every tap reads padding (pads larger than the kernel's reach)."""
    x = np.ones((2, 1, 5, 16), np.float32)
    kernel = np.ones((3, 3, 16, 1), np.float32)
    geometry = ((1, 1), (1, 1), ((3, 3), (1, 1)))
    np.testing.assert_array_equal(compiled.depthwise_forward(x, kernel, *geometry),
                                  twin.depthwise_forward(x, kernel, *geometry))


@needs_compiled
def test_hostile_arguments_raise_and_never_reach_the_loops():
    x = np.ones((2, 4, 4, 8), np.float32)
    k = np.ones((3, 3, 8, 1), np.float32)
    nested = 1
    for _ in range(100_000):                  # no key, and no C recursion without end
        nested = (nested,)
    with pytest.raises((TypeError, ValueError, RecursionError)):
        compiled.depthwise_forward(x, k, (1, nested), (1, 1), SAME)
    with pytest.raises(ValueError):           # sizes past any memory: no OverflowError
        compiled.depthwise_backward_input(np.ones((1, 1, 1, 1), np.float32), k[..., :1, :],
                                          (2**32, 2**32, 1, 1), (1, 1), (1, 1), SAME)

    class Liar(np.ndarray):                   # a subclass whose shape is not its data's
        @property
        def shape(self):
            return (2, 64, 64, 8)

    got = compiled.depthwise_forward(x.view(Liar), k, (1, 1), (1, 1), SAME)
    np.testing.assert_array_equal(got, compiled.depthwise_forward(x, k, (1, 1), (1, 1), SAME))
