"""The pointwise kernels (``pointwise.pyx`` on ``gemm.h``) against their twin.

The compiled products are register-blocked tiles of 6 rows x 16 floats / 8 doubles, over
blocks of ``BLOCK_ROWS`` rows shared by the threads; the kernel gradient packs ``x`` when
its channel count is not a multiple of the tile width. So the sizes drawn here cross every
edge: rows around the tile height and the block, channel counts below, at and around the
tile width, single rows and channels. ``pointwise_backward`` (grad_x, grad_w and grad_bias
in one pass over ``grad_y``) must equal the twin's functions, on 1 and 2 threads, and give
bitwise the same results on any thread count.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import _kernels
from minigrad import threads as mg_threads
from minigrad.ops.convolution import separable_conv, use_kernels

twin = _kernels.get_backend("numpy")
compiled = _kernels.compiled
pytestmark = pytest.mark.skipif(compiled is None, reason="compiled kernels not built")

SIZES = st.one_of(st.integers(1, 5), st.sampled_from([6, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 40]))
ROWS = st.one_of(st.integers(0, 13), st.sampled_from([95, 96, 97, 191, 250, 1000]))


def _array(rng, shape, dtype, layout):
    a = rng.uniform(-1, 1, shape).astype(dtype)
    if layout == "strided":                  # every other column of a wider array
        wide = np.zeros(shape[:-1] + (2 * shape[-1],), dtype)
        wide[..., ::2] = a
        return wide[..., ::2]
    return np.asfortranarray(a) if layout == "fortran" else a


def _tolerance(dtype, P):
    if dtype == np.float64:
        return dict(rtol=1e-12, atol=1e-12)
    return dict(rtol=1e-5, atol=1e-5 * max(1, P) ** 0.5)


@pytest.fixture
def small_problems_threaded():
    """Threads and several reduction chunks even on the small problems drawn here."""
    from minigrad._kernels import pointwise
    old = pointwise.PARALLEL_MIN_WORK
    pointwise.PARALLEL_MIN_WORK = 1
    yield
    pointwise.PARALLEL_MIN_WORK = old


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ROWS, SIZES, SIZES, st.booleans(), st.sampled_from([np.float32, np.float64]),
       st.sampled_from(["contiguous", "strided", "fortran"]), st.sampled_from([1, 2]),
       st.integers(0, 2**32 - 1))
def test_all_pointwise_kernels_agree_with_twin(small_problems_threaded, P, Cin, F, with_bias,
                                               dtype, layout, threads, seed):
    rng = np.random.default_rng(seed)
    x, w = _array(rng, (P, Cin), dtype, layout), _array(rng, (Cin, F), dtype, layout)
    grad_y = _array(rng, (P, F), dtype, layout)
    bias = _array(rng, (F,), dtype, layout) if with_bias else None
    tol = _tolerance(dtype, P)

    def same(got, want):
        assert got.shape == want.shape and got.dtype == want.dtype == dtype
        assert got.flags.c_contiguous
        np.testing.assert_allclose(got, want, **tol)

    with mg_threads.limit_kernel_threads(threads):
        same(compiled.pointwise_forward(x, w, bias), twin.pointwise_forward(x, w, bias))
        same(compiled.pointwise_backward_input(grad_y, w), twin.pointwise_backward_input(grad_y, w))
        gw, gb = compiled.pointwise_backward_kernel(x, grad_y, with_bias)
        fused = compiled.pointwise_backward(x, grad_y, w, with_bias)
    want_x, want_w, want_b = twin.pointwise_backward(x, grad_y, w, with_bias)
    same(fused[0], want_x)
    same(fused[1], want_w)
    same(gw, want_w)
    # the fused pass sums exactly as the kernel gradient alone does
    assert np.array_equal(fused[1], gw)
    if with_bias:
        same(fused[2], want_b)
        assert np.array_equal(fused[2], gb)
    else:
        assert fused[2] is None and gb is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("Cin, F", [(32, 64), (20, 37), (64, 128)])
def test_pointwise_results_are_bitwise_equal_on_any_thread_count(dtype, Cin, F):
    """Big enough for 16 reduction chunks; Cin = 20 takes the packed-x path, 32 and 64 the
    direct one; F = 37 ends in a partial tile."""
    rng = np.random.default_rng(5)
    P = 7 * 96 * 16 + 5
    x = rng.standard_normal((P, Cin)).astype(dtype)
    w = rng.standard_normal((Cin, F)).astype(dtype)
    grad_y = rng.standard_normal((P, F)).astype(dtype)
    results = {}
    for n in (1, 2, 16):
        with mg_threads.limit_kernel_threads(n):
            results[n] = (compiled.pointwise_forward(x, w, w[0]),) + \
                compiled.pointwise_backward(x, grad_y, w, True)
    for n in (2, 16):
        for got, want in zip(results[n], results[1]):
            assert np.array_equal(got, want), f"{n} threads differ from 1 thread"
    tol = _tolerance(dtype, P)
    np.testing.assert_allclose(results[1][2], x.T @ grad_y, **tol)
    np.testing.assert_allclose(results[1][1], grad_y @ w.T, **tol)


def test_pointwise_backward_rejects_bad_arguments():
    x, grad_y = np.zeros((5, 3), np.float32), np.zeros((5, 4), np.float32)
    with pytest.raises(ValueError, match="`w` must have shape"):
        compiled.pointwise_backward(x, grad_y, np.zeros((4, 3), np.float32), True)
    with pytest.raises(TypeError, match="dtype"):
        compiled.pointwise_backward(x, grad_y, np.zeros((3, 4)), True)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        compiled.pointwise_backward(x, grad_y, [[0.0] * 4] * 3, True)
    with pytest.raises(ValueError, match="rows"):
        compiled.pointwise_backward(x, grad_y[:4], np.zeros((3, 4), np.float32), True)
    with pytest.raises(ValueError, match="2D"):
        compiled.pointwise_backward(x, grad_y, np.zeros((3, 4, 1), np.float32), True)
    empty = compiled.pointwise_backward(x[:0], grad_y[:0], np.ones((3, 4), np.float32), True)
    assert empty[0].shape == (0, 3) and np.array_equal(empty[1], np.zeros((3, 4)))
    assert np.array_equal(empty[2], np.zeros(4))


@pytest.mark.parametrize("threads", [1, 2])
def test_gradcheck_separable_through_the_fused_pointwise_backward(small_problems_threaded, threads):
    """float64 central differences through separable_conv on the compiled kernels: 110 rows
    (two blocks, two chunks), C*M = 18 channels (packed x, a partial tile), 7 filters."""
    rng = np.random.default_rng(11)
    x = rng.uniform(-1, 1, (1, 110, 3))
    dk, pk, b = rng.uniform(-1, 1, (3, 3, 6)), rng.uniform(-1, 1, (1, 18, 7)), rng.uniform(-1, 1, 7)
    with use_kernels("cython"), mg_threads.limit_kernel_threads(threads):
        mg.gradcheck(lambda x, k, p, b: separable_conv(x, k, p, padding="same", bias=b),
                     [x, dk, pk, b])
