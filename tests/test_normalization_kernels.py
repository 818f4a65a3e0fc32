"""The batch-normalisation kernels (``normalization.pyx`` on ``normalization.h``) against
their twin and against float64 arithmetic.

The compiled passes vectorize over the columns, so the column counts drawn cross the
vector widths (4 doubles, 8 floats, and their multiples) and the row counts include a
single row. Inputs are drawn with a large mean beside a small spread, where computing the
variance as sum(x^2)/P - mean^2 would lose it to rounding. In float64 the compiled kernels
must equal the twin to rounding; in float32 they must equal the twin run in float64 on
the same numbers (the float32 twin, whose sums are float32, is the less exact of the two).
Every output is compared column by column, in training (the batch's statistics) and
inference (given statistics), with and without gamma and beta, on contiguous and strided
inputs.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import _kernels, ops
from minigrad.gradcheck import gradcheck

twin = _kernels.get_backend("numpy")
compiled = _kernels.compiled
pytestmark = pytest.mark.skipif(compiled is None, reason="compiled kernels not built")

COLUMNS = st.one_of(st.integers(1, 9), st.sampled_from([15, 16, 17, 24, 32, 33, 96, 144]))
ROWS = st.one_of(st.integers(1, 9), st.sampled_from([31, 64, 127, 500]))


def _problem(rng, P, C, dtype, strided):
    x = (rng.normal(0, 1, (P, C)) * rng.uniform(0.01, 3, C) + rng.uniform(-50, 50, C))
    g = rng.uniform(-1, 1, (P, C))
    if strided:                               # every other column of wider arrays
        wide = np.zeros((P, 2 * C)), np.zeros((P, 2 * C))
        wide[0][:, ::2], wide[1][:, ::2] = x, g
        x, g = wide[0][:, ::2], wide[1][:, ::2]
    return x.astype(dtype, copy=False), g.astype(dtype, copy=False)


def _close(got, want, tol, size):
    """|got - want| <= tol * (the column's largest |want|) + 4 eps * size, column by column
    for matrices, entry by entry for vectors. ``size`` is the largest term the result is a
    sum or difference of (x - mean in y, say): in float32, rounding the mean alone moves y
    by eps * |x| * |a|, however small y is."""
    if want is None:
        assert got is None
        return
    assert got.shape == want.shape
    scale = np.abs(want).max(axis=0) if want.ndim == 2 and want.shape[0] else np.abs(want)
    bound = tol * scale + 4 * np.finfo(got.dtype).eps * size
    error = np.abs(got.astype(np.float64) - want)
    assert np.all(error <= bound), (
        f"worst: got {got.flat[np.argmax(error - bound)]}, want "
        f"{want.flat[np.argmax(error - bound)]}, error {np.max(error - bound)} above the bound")


@settings(max_examples=150, deadline=None)
@given(ROWS, COLUMNS, st.sampled_from([np.float32, np.float64]), st.booleans(),
       st.booleans(), st.booleans(), st.booleans(), st.integers(0, 2**32 - 1))
def test_batch_norm_kernels_agree_with_twin(P, C, dtype, batch_stats, with_gamma, with_beta,
                                            strided, seed):
    rng = np.random.default_rng(seed)
    x, g = _problem(rng, P, C, dtype, strided)
    gamma = rng.uniform(0.5, 2, C).astype(dtype) if with_gamma else None
    beta = rng.uniform(-1, 1, C).astype(dtype) if with_beta else None
    stats = (None, None) if batch_stats else (
        rng.uniform(-50, 50, C).astype(dtype), rng.uniform(0.5, 2, C).astype(dtype))
    wide = lambda a: None if a is None else a.astype(np.float64)      # noqa: E731
    tol = 1e-11 if dtype == np.float64 else 1e-4
    got = compiled.batch_norm_forward(x, *stats, gamma, beta, 1e-3)
    want = twin.batch_norm_forward(wide(x), *map(wide, stats), wide(gamma), wide(beta), 1e-3)
    X, G, inv = np.abs(x).max() + 50, np.abs(g).max(), want[3].max()
    A = inv * (2 if with_gamma else 1)
    for name, a, b, size in zip(("y", "mean", "variance", "inv_std"), got, want,
                                (X * A + 1, X, X * X, inv)):
        assert a.dtype == dtype, name
        _close(a, b, tol, size)
    got_grads = compiled.batch_norm_backward(x, g, got[1], got[3], gamma, batch_stats,
                                             with_gamma, with_beta)
    want_grads = twin.batch_norm_backward(wide(x), wide(g), want[1], want[3], wide(gamma),
                                          batch_stats, with_gamma, with_beta)
    for name, a, b, size in zip(("grad_x", "grad_gamma", "grad_beta"), got_grads, want_grads,
                                (G * A * (1 + X * inv), P * G * X * inv, P * G)):
        assert a is None or a.dtype == dtype, name
        _close(a, b, tol, size)


def test_mixed_dtypes_are_cast_to_x_dtype():
    rng = np.random.default_rng(4)
    x = rng.normal(2, 1, (40, 5)).astype(np.float32)
    stats = rng.uniform(-1, 1, 5), rng.uniform(0.5, 2, 5)           # float64
    gamma = rng.uniform(0.5, 2, 5)
    got = compiled.batch_norm_forward(x, *stats, gamma, None, 1e-3)
    want = compiled.batch_norm_forward(x, *(s.astype(np.float32) for s in stats),
                                       gamma.astype(np.float32), None, 1e-3)
    for a, b in zip(got, want):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)


def test_columns_without_rows_and_rows_without_columns():
    for shape in ((0, 3), (4, 0)):
        x = np.ones(shape, np.float32)
        with np.errstate(invalid="ignore", divide="ignore"):
            y, mean, variance, inv_std = compiled.batch_norm_forward(x, None, None, None, None,
                                                                     1e-3)
            grads = compiled.batch_norm_backward(x, x, mean, inv_std, None, True, False, False)
        assert y.shape == shape and mean.shape == (shape[1],) and grads[0].shape == shape


def test_variance_of_a_column_far_from_zero_is_not_lost():
    """The shifted sums keep the variance of 1e4 + small noise in float32 (sum(x^2)/P -
    mean^2, even in double, would be ~1% off here)."""
    rng = np.random.default_rng(0)
    x = (1e4 + rng.normal(0, 0.01, (4096, 8))).astype(np.float32)
    _, _, variance, _ = compiled.batch_norm_forward(x, None, None, None, None, 1e-3)
    exact = x.astype(np.float64).var(axis=0)
    np.testing.assert_allclose(variance, exact, rtol=1e-5)


def test_results_are_bitwise_repeatable():
    rng = np.random.default_rng(1)
    x, g = _problem(rng, 333, 24, np.float32, False)
    first = compiled.batch_norm_forward(x, None, None, None, None, 1e-3)
    again = compiled.batch_norm_forward(x.copy(), None, None, None, None, 1e-3)
    for a, b in zip(first, again):
        assert np.array_equal(a, b)
    grads = compiled.batch_norm_backward(x, g, first[1], first[3], None, True, False, False)
    assert np.array_equal(grads[0], compiled.batch_norm_backward(
        x, g.copy(), first[1], first[3], None, True, False, False)[0])


@pytest.mark.parametrize("call, error, match", [
    (lambda x, v: compiled.batch_norm_forward(x.tolist(), None, None, None, None, 1e-3),
     TypeError, "`x` must be a numpy.ndarray"),
    (lambda x, v: compiled.batch_norm_forward(x.astype(np.int64), None, None, None, None, 1e-3),
     TypeError, "`x` must have dtype float32 or float64"),
    (lambda x, v: compiled.batch_norm_forward(x[0], None, None, None, None, 1e-3),
     ValueError, r"`x` must be a 2D array \(P, C\)"),
    (lambda x, v: compiled.batch_norm_forward(x, v, None, None, None, 1e-3),
     ValueError, "`mean` and `variance` must both be arrays"),
    (lambda x, v: compiled.batch_norm_forward(x, None, None, v[:2], None, 1e-3),
     ValueError, r"`gamma` must have shape \(3,\)"),
    (lambda x, v: compiled.batch_norm_backward(x, x[:2], v, v, None, True, False, False),
     ValueError, "`grad_y` must have x's shape"),
    (lambda x, v: compiled.batch_norm_backward(x, x.astype(np.float32), v, v, None, True,
                                               False, False),
     TypeError, "share one dtype"),
    (lambda x, v: compiled.batch_norm_backward(x, x, None, v, None, True, False, False),
     TypeError, "`mean` and `inv_std` must be arrays"),
])
def test_bad_arguments_raise_before_the_loops(call, error, match):
    x, v = np.ones((5, 3)), np.ones(3)
    with pytest.raises(error, match=match):
        call(x, v)


@pytest.mark.parametrize("training", [True, False])
def test_gradcheck_through_the_compiled_kernels(training):
    """The op's channels_last fast path runs on the compiled kernels (active backend)."""
    rng = np.random.default_rng(2)
    x = mg.Tensor(rng.normal(3, 2, (4, 3, 5)))
    gamma, beta = mg.Variable(rng.uniform(0.5, 2, 5)), mg.Variable(rng.uniform(-1, 1, 5))
    mean, variance = rng.uniform(-1, 1, 5), rng.uniform(0.5, 2, 5)
    weights = rng.uniform(-1, 1, (4, 3, 5))

    def f(x, gamma, beta):
        y = ops.batch_norm(x, mean, variance, gamma, beta, 1e-3, -1, training)[0]
        return (y * weights).sum()
    with ops.use_kernels("cython"):
        assert gradcheck(f, [x, gamma, beta])


def test_other_dtypes_go_to_the_twin():
    """float16 (and integer moving statistics) take NumPy's path, as before the kernels."""
    x = np.random.default_rng(5).normal(3, 2, (6, 4)).astype(np.float16)
    y, mean, variance = ops.batch_norm(mg.Tensor(x), None, None, None, None, 1e-3, -1, True)
    assert y.dtype == np.float16 and mean.dtype == np.float16
    x32 = x.astype(np.float32)
    y, _, _ = ops.batch_norm(mg.Tensor(x32), np.zeros(4, np.int64), np.ones(4, np.int64), None,
                             None, 1e-3, -1, False)
    np.testing.assert_allclose(y.numpy(), x32 / np.sqrt(np.float32(1.001)), rtol=1e-6)
